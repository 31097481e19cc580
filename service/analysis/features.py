"""Versioned audio → vector extractor (librosa filter banks, numpy maths). Pure functions, no I/O.

The input is what `service.analysis.decode.decode_for_analysis` returns: a few mono float32 windows at 22,050 Hz
taken from the body of a track (see `plan_windows`). Per window ONE magnitude STFT is computed and every
spectral feature is derived from it; per-window statistics are averaged over the windows (weighted by
window length); then the versioned scaler standardises each dimension and a per-group weight is applied.

Changing anything that alters the raw vector (features, window plan, sample rate) needs a new VERSION,
a new VECTOR_NAME and a refitted scaler: vectors of different versions are not comparable.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import scipy.fft

from service.analysis.extractor import (
    CONTRAST_BANDS,
    EXTRACTOR,
    GROUPS,
    N_MFCC,
    NAMES,
    VECTOR_NAME,
    VECTOR_SIZE,
    VERSION,
)
from service.analysis.filterbanks import chroma_filters, mel_filters
from service.errors import AudioError

SAMPLE_RATE = 22050
N_FFT = 2048
HOP = 512
N_MELS = 128
WINDOW_S = 10.0
N_WINDOWS = 3
MIN_TEMPO, MAX_TEMPO = 40.0, 240.0


# Per-group weights applied AFTER standardisation. Each standardised dimension has unit variance, so
# without weights a group's pull on the cosine grows with its size (MFCC mean+std = 40 of 71 dims would
# drown tempo, brightness and chroma). Each dimension is multiplied by sqrt(share / n_dims): the group
# then contributes `share` of the expected squared norm, whatever its size. Shares sum to 1.
_GROUP_SHARES: dict[str, float] = {
    "mfcc_mean": 0.30,  # timbre
    "mfcc_std": 0.15,  # timbre movement
    "chroma": 0.10,  # harmony / key
    "spectral": 0.15,  # brightness, noisiness
    "contrast": 0.10,  # peaks vs valleys: tonal vs noisy textures
    "dynamics": 0.10,  # loudness, dynamic range, percussiveness
    "rhythm": 0.10,  # tempo, pulse
}

_WEIGHTS = np.concatenate(
    [np.full(len(names), math.sqrt(_GROUP_SHARES[g] / len(names)), np.float64) for g, names in GROUPS]
)


def feature_names() -> list[str]:
    return list(NAMES)


def plan_windows(duration_s: float) -> list[tuple[float, float]]:
    """(start, length) in seconds of the windows to analyse.

    Three 10 s windows centred at 25 %, 50 % and 75 % of the track (the body: no intro, no fade-out),
    clamped inside it; a track shorter than 30 s is analysed whole, as one window.
    """
    d = float(duration_s)
    if not math.isfinite(d) or d <= 0:
        return []
    if d < N_WINDOWS * WINDOW_S:
        return [(0.0, d)]
    out = []
    for frac in (0.25, 0.5, 0.75):
        start = min(max(frac * d - WINDOW_S / 2, 0.0), d - WINDOW_S)
        out.append((round(start, 3), WINDOW_S))
    return out


@dataclass(frozen=True)
class Analysis:
    vector: np.ndarray  # float32, scaled + weighted, VECTOR_SIZE; the vector that goes into Qdrant
    raw: np.ndarray  # float64, unscaled features (what the scaler is fitted on)
    tempo: float  # BPM, > 0
    descriptors: dict[str, float] = field(default_factory=dict)  # human-meaningful numbers (see _describe)


# ---------------------------------------------------------------------------------------------------------
# filter banks, built once per process


@functools.cache
def _banks(sr: int) -> dict[str, np.ndarray]:
    # The filter banks are librosa's (tests check them against librosa.filters), rebuilt here in numpy:
    # importing librosa compiles its numba kernels (~1 s per process, ~10 s on a cold numba cache).
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / sr)
    # octave bands of librosa.feature.spectral_contrast (fmin 200 Hz, 6 bands)
    octa = np.zeros(CONTRAST_BANDS + 2)
    octa[1:] = 200.0 * (2.0 ** np.arange(0, CONTRAST_BANDS + 1))
    bands = []  # (rows of the band, how many rows make its peak / valley), exactly as librosa picks them
    for k, (f_low, f_high) in enumerate(zip(octa[:-1], octa[1:], strict=True)):
        current = (freqs >= f_low) & (freqs <= f_high)
        idx = np.flatnonzero(current)
        if k > 0:
            current[idx[0] - 1] = True
        if k == CONTRAST_BANDS:
            current[idx[-1] + 1 :] = True
        rows = np.flatnonzero(current)
        if k < CONTRAST_BANDS:
            rows = rows[:-1]
        bands.append((rows, max(1, int(np.rint(0.02 * current.sum())))))
    return {
        "freqs": freqs.astype(np.float32),
        "mel": mel_filters(sr).astype(np.float32),
        "chroma": chroma_filters(sr).astype(np.float32),
        "window": np.hanning(N_FFT + 1)[:-1].astype(np.float32),  # periodic Hann, as librosa
        "dct": scipy.fft.dct(np.eye(N_MELS), type=2, norm="ortho", axis=0)[:N_MFCC].astype(np.float32),
        "bands": bands,  # type: ignore[dict-item]
    }


@functools.cache
def _scaler() -> tuple[np.ndarray, np.ndarray]:
    path = resources.files("service.analysis").joinpath("scalers", f"{VECTOR_NAME}.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("extractor") != EXTRACTOR or data.get("version") != VERSION or data.get("names") != NAMES:
        raise RuntimeError(f"scaler {path} does not match extractor {VECTOR_NAME} ({VECTOR_SIZE} features)")
    mean = np.asarray(data["mean"], np.float64)
    std = np.asarray(data["std"], np.float64)
    return mean, std


def scale(raw: np.ndarray) -> np.ndarray:
    """Raw feature vector → the stored vector: standardised with the versioned scaler, group-weighted."""
    mean, std = _scaler()
    return ((np.asarray(raw, np.float64) - mean) / std * _WEIGHTS).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------
# per-window features


def _frames(y: np.ndarray) -> np.ndarray:
    """Centred framing, zero-padded like librosa.stft(center=True): (n_frames, N_FFT) view."""
    yp = np.pad(y, N_FFT // 2)
    n = 1 + (yp.size - N_FFT) // HOP
    return np.lib.stride_tricks.as_strided(yp, shape=(n, N_FFT), strides=(yp.strides[0] * HOP, yp.strides[0]))


def _db(x: np.ndarray) -> np.ndarray:
    """librosa.power_to_db(x) with its defaults: ref 1, amin 1e-10, top_db 80."""
    db = 10.0 * np.log10(np.maximum(x, 1e-10))
    return np.maximum(db, db.max() - 80.0)


def _window_stats(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """One window → (per-window statistics vector without tempo fields, autocorrelation of its onsets)."""
    b = _banks(sr)
    frames = _frames(np.ascontiguousarray(y, dtype=np.float32))
    mag = np.abs(scipy.fft.rfft(frames * b["window"], axis=1, workers=1)).T  # (bins, frames), float32
    power = mag * mag
    freqs = b["freqs"][:, None]
    eps = 1e-10

    # mel → dB → MFCC (librosa.feature.mfcc on a power mel spectrogram)
    mel_db = _db(b["mel"] @ power)
    mfcc = b["dct"] @ mel_db  # (20, frames)

    # chroma from the same power spectrum, each frame normalised by its max (librosa chroma_stft)
    chroma = b["chroma"] @ power
    chroma /= np.maximum(chroma.max(axis=0, keepdims=True), eps)

    # spectral shape on the magnitude spectrum (librosa semantics)
    msum = np.maximum(mag.sum(axis=0), eps)
    centroid = (freqs * mag).sum(axis=0) / msum
    bandwidth = np.sqrt((mag * (freqs - centroid) ** 2).sum(axis=0) / msum)
    cum = np.cumsum(mag, axis=0)
    rolloff = b["freqs"][np.argmax(cum >= 0.85 * cum[-1:], axis=0)]
    flatness = np.exp(np.mean(np.log(np.maximum(power, eps)), axis=0)) / np.maximum(power.mean(axis=0), eps)
    audible = mag.sum(axis=0) > 1e-3  # spectral shape is meaningless on silent frames
    if not audible.any():
        audible[:] = True
    to_log2 = lambda hz: np.log2(np.maximum(hz[audible], 20.0))  # noqa: E731

    # spectral contrast (librosa: quantile 0.02 of each octave band, peak vs valley in dB)
    peaks, valleys = [], []
    for rows, k in b["bands"]:
        sub = np.sort(mag[rows], axis=0)
        valleys.append(sub[:k].mean(axis=0))
        peaks.append(sub[-k:].mean(axis=0))
    contrast_arr = _db(np.asarray(peaks)) - _db(np.asarray(valleys))

    # dynamics on the time-domain frames
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    rms_db = 20.0 * np.log10(np.maximum(rms, 1e-5))
    signs = np.signbit(frames)
    zcr = np.mean(signs[:, 1:] != signs[:, :-1], axis=1)

    # onset strength (librosa.onset.onset_strength: positive first difference of mel dB, mean over bands)
    onset = np.maximum(0.0, np.diff(mel_db, axis=1)).mean(axis=0)
    ac = _autocorr(onset)

    stats = np.concatenate(
        [
            mfcc.mean(axis=1),
            mfcc.std(axis=1),
            chroma.mean(axis=1),
            [
                to_log2(centroid).mean(),
                to_log2(centroid).std(),
                to_log2(bandwidth).mean(),
                to_log2(rolloff).mean(),
                np.log10(np.maximum(flatness[audible], 1e-6)).mean(),
            ],
            contrast_arr.mean(axis=1),
            [rms_db.mean(), rms_db.std(), zcr.mean()],
            [onset.mean(), onset.std()],
        ]
    ).astype(np.float64)
    # linear-domain extras for the descriptors, not part of the vector
    extras = np.array([20.0 * math.log10(max(float(np.sqrt(np.mean(rms**2))), 1e-5)), centroid[audible].mean()])
    return np.concatenate([stats, extras]), ac


_MAX_LAG = int(math.ceil(60.0 * SAMPLE_RATE / HOP / MIN_TEMPO)) + 2


def _autocorr(onset: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation of the (mean-removed) onset envelope, lags 0.._MAX_LAG."""
    x = onset - onset.mean()
    n = x.size
    spec = scipy.fft.rfft(x, n=2 * n, workers=1)
    ac = scipy.fft.irfft(np.abs(spec) ** 2, workers=1)[: min(n, _MAX_LAG + 1)]
    ac = ac / max(float(ac[0]), 1e-12) if ac.size else ac
    out = np.zeros(_MAX_LAG + 1)
    out[: ac.size] = ac
    # lags beyond the window's length carry less overlap; that bias is the same for every track
    return out


def _tempo(ac: np.ndarray, sr: int) -> tuple[float, float]:
    """Autocorrelation → (BPM, pulse clarity 0..1). Log-normal prior around 120 BPM, as librosa's tempo."""
    lags = np.arange(1, ac.size)
    bpm = 60.0 * sr / (HOP * lags)
    ok = (bpm >= MIN_TEMPO) & (bpm <= MAX_TEMPO)
    values = ac[1:][ok]
    bpm = bpm[ok]
    if values.size == 0 or not np.isfinite(values).all():
        return 120.0, 0.0
    prior = np.exp(-0.5 * (np.log2(bpm / 120.0)) ** 2)
    best = int(np.argmax(np.maximum(values, 0.0) * prior))
    clarity = float(np.clip(values.max(), 0.0, 1.0))
    if values[best] <= 0:  # no periodicity at all (drones, noise): report the prior's mode
        return 120.0, clarity
    # parabolic interpolation between neighbouring lags for a finer estimate
    tempo = float(bpm[best])
    if 0 < best < values.size - 1:
        a, c0, c = values[best - 1], values[best], values[best + 1]
        denom = a - 2 * c0 + c
        if denom < 0:
            shift = 0.5 * (a - c) / denom
            lag = float(lags[ok][best]) + shift
            tempo = 60.0 * sr / (HOP * lag)
    return tempo, clarity


def raw_features(windows: list[np.ndarray], sr: int = SAMPLE_RATE) -> tuple[np.ndarray, float, np.ndarray]:
    """Windows → (raw vector, tempo BPM, extras). Raises AudioError when there is nothing to analyse."""
    windows = [np.asarray(w, np.float32).ravel() for w in windows]
    windows = [w for w in windows if w.size >= N_FFT]
    if not windows:
        raise AudioError("no audio window long enough to analyse")
    weights = np.array([w.size for w in windows], np.float64)
    weights /= weights.sum()
    per = [_window_stats(w, sr) for w in windows]
    stats = sum(wt * s for wt, (s, _) in zip(weights, per, strict=True))
    ac = sum(wt * a for wt, (_, a) in zip(weights, per, strict=True))
    tempo, clarity = _tempo(ac, sr)
    n_stats = VECTOR_SIZE - 2  # the window stats end with onset_mean, onset_std; tempo + clarity follow
    raw = np.concatenate([stats[:n_stats], [math.log2(tempo), clarity]])
    return raw, tempo, stats[n_stats:]


def _describe(raw: np.ndarray, tempo: float, extras: np.ndarray) -> dict[str, float]:
    """Human-meaningful numbers, used for soft targets and filters (0..1 unless a unit is named)."""
    loudness_db = float(extras[0])  # RMS over the analysed windows, dBFS
    centroid_hz = float(extras[1])
    idx = {n: i for i, n in enumerate(NAMES)}
    flat = float(raw[idx["flatness_log10_mean"]])
    clip = lambda v: float(min(1.0, max(0.0, v)))  # noqa: E731
    return {
        "tempo": round(float(tempo), 2),
        "loudnessDb": round(loudness_db, 2),
        # -45 dBFS (very quiet) → 0, -5 dBFS (brick-walled) → 1; typical masters land 0.6-0.9
        "energy": round(clip((loudness_db + 45.0) / 40.0), 4),
        # spectral centroid 250 Hz → 0, 6 kHz → 1 on a log scale
        "brightness": round(clip(math.log2(max(centroid_hz, 1.0) / 250.0) / math.log2(6000.0 / 250.0)), 4),
        "centroidHz": round(centroid_hz, 1),
        # spectral flatness (log10) -6 (pure tones) → 0, -0.5 (white noise) → 1
        "noisiness": round(clip((flat + 6.0) / 5.5), 4),
        "pulseClarity": round(float(raw[idx["pulse_clarity"]]), 4),
    }


def analyse(windows: list[np.ndarray], sr: int = SAMPLE_RATE) -> Analysis:
    """Mono float32 windows at `sr` (22,050 Hz) → Analysis (scaled vector, raw, tempo, descriptors)."""
    if sr != SAMPLE_RATE:
        raise ValueError(f"features are defined at {SAMPLE_RATE} Hz, got {sr}")
    raw, tempo, extras = raw_features(windows, sr)
    if not np.isfinite(raw).all():
        raise AudioError("audio gives non-finite features")
    return Analysis(vector=scale(raw), raw=raw, tempo=float(tempo), descriptors=_describe(raw, tempo, extras))
