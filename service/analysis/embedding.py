"""The learned audio embedding `musicnn_v2`: musicnn's MSD model through onnxruntime, beside the DSP features.

Input: the same decoded windows the DSP extractor reads (`decode.decode_for_analysis`: mono float32 at
22,050 Hz, 3 × 10 s from the body of the track), so a track is decoded once for both vectors. Each window is
resampled to 16 kHz (a polyphase FIR, scipy), turned into musicnn's log-mel spectrogram (n_fft 512, hop 256,
96 Slaney mel bands, log10(10000·mel + 1)), and cut into 187-frame (3 s) patches: 2 side by side in the middle of
each 10 s window, 6 per track (`window_patches` resamples and transforms only that middle 6 s). The network gives
a 200-d `penultimate` vector and 50 tag probabilities per patch; the embedding is the mean of the patch vectors,
the track's tags the mean of the patch probabilities. The network is the int8 model (its two timbral convolutions
quantised, `scripts/quantise_musicnn.py`); the fp32 model it was made from is the reference the tests hold it to.

Everything here is a pure function except the onnxruntime session, created once per process with one
intra-op and one inter-op thread (a worker process uses one core). No TensorFlow, no librosa at run time.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np
import scipy.fft
import scipy.signal

from service.analysis.embedding_spec import (
    HOP,
    INPUT_NAME,
    MODEL_FILE,
    MODEL_SHA256,
    N_FFT,
    N_MELS,
    OUTPUTS,
    PATCH_FRAMES,
    PATCHES_PER_TRACK,
    REFERENCE_MODEL_FILE,
    REFERENCE_MODEL_SHA256,
    SAMPLE_RATE,
    TAGS,
    VECTOR_NAME,
    VECTOR_SIZE,
)
from service.analysis.filterbanks import mel_filters
from service.errors import AudioError

__all__ = [
    "Embedding",
    "VECTOR_NAME",
    "VECTOR_SIZE",
    "embed",
    "embed_patches",
    "log_mel",
    "model_path",
    "patch_starts",
    "patches",
    "reference_session",
    "resample",
    "session",
    "top_tags",
    "window_patches",
]


@dataclass(frozen=True)
class Embedding:
    vector: np.ndarray  # float32 (VECTOR_SIZE,): mean of the patches' penultimate activations (not normalised)
    tags: np.ndarray  # float32 (len(TAGS),): mean tag probability over the patches, TAGS order
    n_patches: int


# ---------------------------------------------------------------------------------------------------------
# front end (musicnn's extractor.batch_data, in numpy)


@functools.cache
def _resample_filter(up: int, down: int) -> np.ndarray:
    """scipy.signal.resample_poly's own default filter (Kaiser β 5, 10 zero crossings), designed once."""
    max_rate = max(up, down)
    return scipy.signal.firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))


def resample(y: np.ndarray, sr: int) -> np.ndarray:
    """Mono audio at `sr` → float32 at the model's 16 kHz (polyphase FIR; 22,050 → 16,000 is 320/441)."""
    y = np.asarray(y, np.float32).ravel()
    if sr == SAMPLE_RATE:
        return y
    g = math.gcd(int(sr), SAMPLE_RATE)
    up, down = SAMPLE_RATE // g, int(sr) // g
    out = scipy.signal.resample_poly(y, up, down, window=_resample_filter(up, down))
    return out.astype(np.float32, copy=False)


@functools.cache
def _front_end_constants() -> tuple[np.ndarray, np.ndarray]:
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)  # periodic Hann, as librosa
    mel = mel_filters(SAMPLE_RATE, N_FFT, N_MELS).astype(np.float32)  # = librosa.filters.mel (Slaney)
    return window, mel


def log_mel(y16k: np.ndarray) -> np.ndarray:
    """16 kHz mono audio → musicnn's log-mel spectrogram, (frames, 96) float32.

    = librosa.feature.melspectrogram(y, sr=16000, n_fft=512, hop_length=256, n_mels=96) (power 2, centred
    frames, zero padding as librosa ≥ 0.10), cast to float16 as musicnn does, then log10(10000·mel + 1)
    computed in float32: a literal port under numpy 2 keeps float16 through `10000 * mel` and overflows to inf.
    """
    y = np.ascontiguousarray(y16k, dtype=np.float32).ravel()
    return _frames_log_mel(np.pad(y, N_FFT // 2))


def _frames_log_mel(yp: np.ndarray) -> np.ndarray:
    """Log-mel of the frames yp[j·HOP : j·HOP + N_FFT] (yp already padded as the frames need)."""
    window, mel = _front_end_constants()
    yp = np.ascontiguousarray(yp, dtype=np.float32)
    n = 1 + (yp.size - N_FFT) // HOP
    if n < 1:
        return np.zeros((0, N_MELS), np.float32)
    frames = np.lib.stride_tricks.as_strided(
        yp, shape=(n, N_FFT), strides=(yp.strides[0] * HOP, yp.strides[0]), writeable=False
    )
    spec = scipy.fft.rfft(frames * window, axis=1, workers=1)  # (frames, bins)
    power = spec.real**2 + spec.imag**2
    m = (power @ mel.T).astype(np.float16).astype(np.float32)
    return np.log10(10000.0 * m + 1.0, dtype=np.float32)


def patch_starts(n_frames: int, k: int) -> list[int]:
    """First frames of k adjacent patches centred in a spectrogram of n_frames (one patch: centred); when k patches
    do not fit side by side, k evenly spaced ones. Adjacent patches in the middle of each 10 s window (its central
    6 s) scored higher on the tuning albums than patches spread to the window's edges (README)."""
    if n_frames <= PATCH_FRAMES:
        return [0]
    if k <= 1:
        return [(n_frames - PATCH_FRAMES) // 2]
    if k * PATCH_FRAMES <= n_frames:
        first = (n_frames - k * PATCH_FRAMES) // 2
        return [first + i * PATCH_FRAMES for i in range(k)]
    return [int(round(s)) for s in np.linspace(0, n_frames - PATCH_FRAMES, k)]


def _patch_plan(n_frames: int, n_windows: int) -> list[int]:
    """First frames of the patches one window of n_frames log-mel frames gives (see `patches`)."""
    per_window = math.ceil(PATCHES_PER_TRACK / n_windows)
    k = max(1, min(per_window, n_frames // PATCH_FRAMES))
    return patch_starts(n_frames, k)


def _cut(m: np.ndarray, starts: list[int], first_frame: int = 0) -> list[np.ndarray]:
    out = []
    for s in starts:
        p = m[s - first_frame : s - first_frame + PATCH_FRAMES]
        if p.shape[0] < PATCH_FRAMES:
            p = np.pad(p, ((0, PATCH_FRAMES - p.shape[0]), (0, 0)))
        out.append(p)
    return out


def patches(windows16k: list[np.ndarray]) -> np.ndarray:
    """16 kHz windows → (n, 187, 96) float32 log-mel patches: PATCHES_PER_TRACK spread over the windows.

    Each window gives ceil(PATCHES_PER_TRACK / windows) patches side by side in its middle (2 per window, its
    central 6 s, for the usual three 10 s windows), at most as many as fit in it without overlap, at least one; a
    window shorter than a patch is padded with log-mel zeros (silence). The whole-window definition: the analysis
    calls `window_patches`, which computes the same patches from less audio and is tested against this.
    """
    mels = [log_mel(w) for w in windows16k if np.size(w) >= N_FFT]
    if not mels:
        raise AudioError("no audio to embed")
    out = [p for m in mels for p in _cut(m, _patch_plan(m.shape[0], len(mels)))]
    return np.stack(out).astype(np.float32, copy=False)


def _resampled_length(n: int, up: int, down: int) -> int:
    return -(-n * up // down)  # resample_poly's output length, ceil(n·up/down)


def window_patches(windows: list[np.ndarray], sr: int) -> np.ndarray:
    """= `patches([resample(w, sr) for w in windows])`, computing only the audio the patches cover.

    The patches take the central 6 s of each 10 s window, so resampling and transforming the whole window spent
    ~40 % of the front end on audio nobody reads. Each window's patch plan is made from the length its
    resampled spectrogram would have; then only the input samples under those frames (plus the resampling
    filter's reach, from a multiple of the decimation factor so the output phase is the same) are resampled,
    and only those frames computed. Same numbers as the whole-window path to float rounding (tested).
    """
    g = math.gcd(int(sr), SAMPLE_RATE)
    up, down = SAMPLE_RATE // g, int(sr) // g
    reach = len(_resample_filter(up, down)) // (2 * up) + 2 if sr != SAMPLE_RATE else 0  # input samples
    kept = [np.asarray(w, np.float32).ravel() for w in windows]
    kept = [w for w in kept if _resampled_length(w.size, up, down) >= N_FFT]
    if not kept:
        raise AudioError("no audio to embed")
    out = []
    for w in kept:
        n16 = _resampled_length(w.size, up, down)
        n_frames = 1 + n16 // HOP
        starts = _patch_plan(n_frames, len(kept))
        first, last = min(starts), min(max(starts) + PATCH_FRAMES, n_frames)  # frames [first, last)
        a16, b16 = first * HOP - N_FFT // 2, (last - 1) * HOP + N_FFT // 2  # samples those frames read
        lo = max(0, a16 * down // up - reach) // down * down  # input start: a multiple of `down`
        hi = min(w.size, -(-b16 * down // up) + reach)
        segment = resample(w[lo:hi], sr)
        offset = lo // down * up  # output index of segment[0]
        if hi == w.size:  # the segment ends where the window ends: same length as the whole resample
            segment = segment[: n16 - offset]
        y = np.zeros(b16 - a16, np.float32)  # zero padding outside the window, as log_mel's centring
        src0, src1 = max(a16, 0), min(b16, n16)
        y[src0 - a16 : src1 - a16] = segment[src0 - offset : src1 - offset]
        out.extend(_cut(_frames_log_mel(y), starts, first))
    return np.stack(out).astype(np.float32, copy=False)


# ---------------------------------------------------------------------------------------------------------
# the network


def model_path(name: str = MODEL_FILE):
    """A packaged ONNX file (an importlib.resources Traversable): the shipped model unless named."""
    return resources.files("service.analysis").joinpath("models", name)


@functools.cache
def _session(name: str, sha256: str):
    import onnxruntime as ort

    data = model_path(name).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise RuntimeError(f"{name}: sha256 {digest} is not the pinned {sha256}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])


def session():
    """The analysis's onnxruntime session, once per process: CPU, 1 intra-op thread, 1 inter-op thread, sequential.

    The file's sha256 is checked against the pinned one first (a re-made or corrupted model would make vectors that
    are not comparable with the stored ones).
    """
    return _session(MODEL_FILE, MODEL_SHA256)


def reference_session():
    """The fp32 model the int8 one was made from (the tests compare both, and it with TensorFlow's outputs)."""
    return _session(REFERENCE_MODEL_FILE, REFERENCE_MODEL_SHA256)


def embed_patches(batch: np.ndarray, *, reference: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(n, 187, 96) log-mel patches → (penultimate (n, 200), tag probabilities (n, 50)), float32; `reference`: with
    the fp32 model instead of the shipped int8 one."""
    x = np.ascontiguousarray(batch, dtype=np.float32)
    if x.ndim != 3 or x.shape[1:] != (PATCH_FRAMES, N_MELS):
        raise ValueError(f"patches must be (n, {PATCH_FRAMES}, {N_MELS}), got {x.shape}")
    # one patch per run: the front end's feature maps (9 MB a patch) then stay in cache between the convolution
    # and its max-pool; a batch of 6 measured ~5 % slower on one core. The outputs do not depend on the batching.
    network = reference_session() if reference else session()
    runs = [network.run(list(OUTPUTS), {INPUT_NAME: x[i : i + 1]}) for i in range(x.shape[0])]
    if not runs:
        return np.zeros((0, VECTOR_SIZE), np.float32), np.zeros((0, len(TAGS)), np.float32)
    return np.concatenate([r[0] for r in runs]), np.concatenate([r[1] for r in runs])


def embed(windows: list[np.ndarray], sr: int) -> Embedding:
    """Decoded mono windows at `sr` (the DSP extractor's, 22,050 Hz) → the track's embedding and tags."""
    batch = window_patches(windows, sr)
    penultimate, tags = embed_patches(batch)
    vector = penultimate.mean(axis=0, dtype=np.float64).astype(np.float32)
    if vector.shape != (VECTOR_SIZE,) or not np.isfinite(vector).all():
        raise AudioError("audio gives a non-finite embedding")
    return Embedding(vector=vector, tags=tags.mean(axis=0, dtype=np.float64).astype(np.float32), n_patches=len(batch))


def top_tags(tags: np.ndarray, k: int = 5, min_probability: float = 0.0) -> list[tuple[str, float]]:
    """The k most probable tags, (name, probability) highest first, those below `min_probability` left out."""
    p = np.asarray(tags, np.float64).ravel()
    if p.size != len(TAGS):
        raise ValueError(f"expected {len(TAGS)} tag probabilities, got {p.size}")
    order = np.argsort(-p, kind="stable")[: max(0, k)]
    return [(TAGS[i], round(float(p[i]), 4)) for i in order if p[i] >= min_probability]
