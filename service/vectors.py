"""Pure vector maths shared by the taste model and the recommender (cosine space)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def centroid(vectors: Sequence[Sequence[float]], weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted mean direction of unit vectors (the cosine centroid)."""
    mat = normalise(np.asarray(vectors, dtype=np.float32))
    w = np.ones(len(mat), dtype=np.float32) if weights is None else np.asarray(weights, dtype=np.float32)
    return normalise((mat * w[:, None]).sum(axis=0))
