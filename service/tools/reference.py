"""The replaced service's analysis, kept as the reference for benchmarks (never used to serve).

04mscott/Recommendation-API loaded the whole file with librosa at 22,050 Hz, made one librosa call per
feature (each computing its own STFT), ran beat tracking, and compared the unscaled means with cosine.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np

REFERENCE_SR = 22050
REFERENCE_N_MFCC = 13
EXTRA = "musicrec[bench]"  # the optional dependencies that bring librosa


def available() -> bool:
    """Whether librosa is installed, without importing it (that compiles numba kernels: ~1 s)."""
    return importlib.util.find_spec("librosa") is not None


def replaced_features(path: str | Path) -> tuple[np.ndarray, float, float, float]:
    """(30-dim vector, load s, features s, audio duration s) the way the replaced service computed them."""
    import librosa

    t0 = time.perf_counter()
    y, sr = librosa.load(str(path), sr=REFERENCE_SR)
    t1 = time.perf_counter()
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=REFERENCE_N_MFCC)
    chroma = librosa.feature.chroma_stft(y=y, sr=sr)
    centroid = librosa.feature.spectral_centroid(y=y, sr=sr)
    bandwidth = librosa.feature.spectral_bandwidth(y=y, sr=sr)
    rms = librosa.feature.rms(y=y)
    zcr = librosa.feature.zero_crossing_rate(y)
    tempo, _beats = librosa.beat.beat_track(y=y, sr=sr)
    vector = np.concatenate(
        [
            mfcc.mean(axis=1),
            chroma.mean(axis=1),
            [centroid.mean(), bandwidth.mean(), rms.mean(), zcr.mean(), float(np.atleast_1d(tempo)[0])],
        ]
    ).astype(np.float64)
    t2 = time.perf_counter()
    return vector, t1 - t0, t2 - t1, y.size / sr
