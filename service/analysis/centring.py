"""The embedding's centre and the fused vector: pure functions (numpy), no store.

musicnn's penultimate activations are all positive, so raw embeddings share one large common direction and
their cosines crowd near 1; subtracting the catalogue's mean embedding leaves what tells tracks apart. Measured
on held-out albums (README, "Recommendation quality"): centring on the catalogue's own mean beat the raw
embedding, a z-scaler, and a centre fitted on other music. `catalog.centre` keeps the catalogue's centre current.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from importlib import resources

import numpy as np

from service.analysis.vectorset import DSP, DSP_WEIGHT, EMBEDDING, EMBEDDING_RAW, FUSED, SIZES

# Until a catalogue has this many embedded tracks, its own mean is too noisy: the shipped default centre is used.
MIN_TRACKS_FOR_OWN_CENTRE = 20


@functools.cache
def default_centre() -> np.ndarray:
    """The mean raw embedding of the tuning albums (scalers/musicnn_v2.json): the centre of an empty catalogue."""
    path = resources.files("service.analysis").joinpath("scalers", f"{EMBEDDING}.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    centre = np.asarray(data["mean"], np.float32)
    if centre.shape != (SIZES[EMBEDDING],) or not np.isfinite(centre).all():
        raise RuntimeError(f"{path}: not a {SIZES[EMBEDDING]}-d centre")
    return centre


def centre_of(raw: np.ndarray) -> np.ndarray:
    """The mean of raw embeddings (rows), float32."""
    return np.asarray(raw, np.float64).mean(axis=0).astype(np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float64)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def centred(raw: Sequence[float] | np.ndarray, centre: np.ndarray) -> np.ndarray:
    """The compared embedding: raw minus the centre, unit length (float32)."""
    return _unit(np.asarray(raw, np.float64) - centre).astype(np.float32)


def fuse(dsp: Sequence[float] | np.ndarray, embedding: Sequence[float] | np.ndarray, dsp_weight: float = DSP_WEIGHT):
    """√w·unit(dsp) ⧺ √(1−w)·unit(embedding): a unit vector whose cosine with another such vector is
    w·cos(dsp) + (1−w)·cos(embedding)."""
    w = float(dsp_weight)
    return np.concatenate([np.sqrt(w) * _unit(dsp), np.sqrt(1.0 - w) * _unit(embedding)], axis=-1).astype(np.float32)


def derive(vectors: Mapping[str, Sequence[float]], centre: np.ndarray) -> dict[str, list[float]]:
    """The analysed vectors (DSP, raw embedding) plus the derived ones (centred embedding, fused)."""
    out = {name: [float(x) for x in v] for name, v in vectors.items()}
    if EMBEDDING_RAW in vectors and DSP in vectors:
        embedding = centred(vectors[EMBEDDING_RAW], centre)
        out[EMBEDDING] = embedding.tolist()
        out[FUSED] = fuse(vectors[DSP], embedding).tolist()
    return out


def drift(old: np.ndarray, new: np.ndarray, spread: float) -> float:
    """How far the centre moved, relative to the typical distance of a track from it (`spread`, the RMS of
    |raw − centre|): 0 = not at all; at 0.05 cosines between centred vectors move by a few hundredths."""
    return float(np.linalg.norm(np.asarray(new, np.float64) - old) / max(spread, 1e-12))


def spread_of(raw: np.ndarray, centre: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.sum((np.asarray(raw, np.float64) - centre) ** 2, axis=1))))
