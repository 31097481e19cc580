"""Pure vector maths shared by the taste model and the recommender (cosine space)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from service.errors import BadRequest


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def centroid(vectors: Sequence[Sequence[float]], weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted mean direction of unit vectors (the cosine centroid)."""
    mat = normalise(np.asarray(vectors, dtype=np.float32))
    w = np.ones(len(mat), dtype=np.float32) if weights is None else np.asarray(weights, dtype=np.float32)
    return normalise((mat * w[:, None]).sum(axis=0))


def checked_vector(values: Sequence[float], size: int, *, field: str) -> list[float]:
    """A vector that can be stored: `size` finite numbers that fit float32 (a 1e39 would become inf)."""
    vec = np.asarray(values, dtype=np.float64)
    if vec.shape != (size,):
        raise BadRequest(f"{field}: a vector needs {size} numbers, got {vec.size}", {"field": field})
    if not np.isfinite(vec).all() or (np.abs(vec) > np.finfo(np.float32).max).any():
        raise BadRequest(f"{field}: vector values must be finite float32 numbers", {"field": field})
    if not vec.any():
        raise BadRequest(f"{field}: an all-zero vector has no direction", {"field": field})
    return vec.astype(np.float32).tolist()
