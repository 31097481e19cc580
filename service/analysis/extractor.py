"""The DSP extractor's identity and its vector's layout: name, version, feature names (no numpy).

Kept apart from `features` so the API and the store check can learn the vector's name and size without
loading the analysis code.
"""

from __future__ import annotations

EXTRACTOR = "librosa"
VERSION = 1
VECTOR_NAME = f"{EXTRACTOR}_v{VERSION}"

N_MFCC = 20
CONTRAST_BANDS = 6  # librosa's default: 6 octave bands from 200 Hz + the residual top band = 7 values
_NOTES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]

# (group, feature names). The order is the vector's order; never reorder within a version.
GROUPS: list[tuple[str, list[str]]] = [
    ("mfcc_mean", [f"mfcc{i}_mean" for i in range(N_MFCC)]),
    ("mfcc_std", [f"mfcc{i}_std" for i in range(N_MFCC)]),
    ("chroma", [f"chroma_{n}" for n in _NOTES]),
    (
        "spectral",
        [
            "centroid_log2hz_mean",
            "centroid_log2hz_std",
            "bandwidth_log2hz_mean",
            "rolloff_log2hz_mean",
            "flatness_log10_mean",
        ],
    ),
    ("contrast", [f"contrast{i}_mean" for i in range(CONTRAST_BANDS + 1)]),
    ("dynamics", ["rms_db_mean", "rms_db_std", "zcr_mean"]),
    ("rhythm", ["onset_mean", "onset_std", "tempo_log2bpm", "pulse_clarity"]),
]

NAMES: list[str] = [n for _, names in GROUPS for n in names]
VECTOR_SIZE = len(NAMES)  # 71
