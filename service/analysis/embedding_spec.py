"""The learned embedding's identity and layout: name, size, model file, front-end constants, tag names (no numpy).

Kept apart from `embedding` (numpy, scipy, onnxruntime) so the API and the store checks can learn the vector's
name and size, and the tag names, without loading the model. The DSP extractor's counterpart is `extractor`.

Changing anything that alters the vector (model file, front end, patch plan) needs a new VERSION and a new
VECTOR_NAME: vectors of different versions are not comparable.
"""

from __future__ import annotations

EMBEDDER = "musicnn"
# 2: the int8 model (its two timbral convolutions quantised, ~40 % less network time); 1 was the fp32 model. The
# vectors differ slightly (cosine ~0.998 between the two), so stores made with 1 are rebuilt by `musicrec reindex`.
VERSION = 2
VECTOR_NAME = f"{EMBEDDER}_v{VERSION}"  # musicnn_v2
VECTOR_SIZE = 200  # the MSD_musicnn model's penultimate layer
DISTANCE = "Cosine"

# the model the analysis runs: musicnn 0.1.0's MSD_musicnn converted to ONNX by scripts/convert_musicnn.py, its front
# end rewritten by scripts/optimise_musicnn.py (same outputs, less work), its timbral convolutions quantised to int8
# by scripts/quantise_musicnn.py (see models/README.md)
MODEL_FILE = "musicnn_msd_int8.onnx"
MODEL_SHA256 = "7ab93887076cf1c503e159a2e4b3235dd640bc6f822870d4a72e4e18e6c2552e"
# the fp32 model it was made from: the reference the tests compare with TensorFlow's outputs and the int8 model with
REFERENCE_MODEL_FILE = "musicnn_msd.onnx"
REFERENCE_MODEL_SHA256 = "7bc8359a6d99a939b2f1793a5bb252630866e5f32a7166bec76873bb71dc8a11"
INPUT_NAME = "melspec"
OUTPUTS = ("penultimate", "tags")

# musicnn's front end (its configuration.py and extractor.batch_data)
SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # 3 s: librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
# Patches per track: taken from the DSP features' decoded windows (3 × 10 s → 2 patches each); a track short
# enough to be analysed as one window gets up to this many from it.
PATCHES_PER_TRACK = 6

# musicnn's configuration.MSD_LABELS, the order of the `tags` output (Last.fm tags, spelling kept)
TAGS: tuple[str, ...] = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock",
    "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow",
    "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient",
    "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening",
    "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad",
    "House", "happy",
)  # fmt: skip
