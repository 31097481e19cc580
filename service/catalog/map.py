"""The library map: every track as a point in 2-D, from its stored vector.

The layout is PCA (the two main axes of the centred, unit-length vectors, by numpy's SVD), scaled to
[-1, 1]. It is cached under a fingerprint of the catalogue (track count plus a change counter the
catalogue bumps on every write it makes) and recomputed when the fingerprint moves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np

METHOD = "pca"
Loaded = tuple[Sequence[str], np.ndarray, Sequence[dict]]  # ids, vectors (n, d), payloads


@dataclass(frozen=True)
class Layout:
    ids: tuple[str, ...]
    xy: np.ndarray  # shape (n, 2), float32, each column within [-1, 1]
    payloads: tuple[dict, ...]
    method: str = METHOD


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """(n, d) → (n, 2): the projections on the two main axes, each scaled into [-1, 1].

    Deterministic: each axis's sign is chosen so that its largest loading is positive. Fewer than
    three points, or no spread along an axis, give zeros there instead of dividing by nothing.
    """
    x = np.asarray(vectors, dtype=np.float64)
    n = x.shape[0] if x.ndim == 2 else 0
    out = np.zeros((n, 2), dtype=np.float64)
    if n < 2:
        return out.astype(np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms > 0, norms, 1.0)
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    for axis in range(min(2, vt.shape[0])):
        component = vt[axis]
        if component[np.argmax(np.abs(component))] < 0:
            component = -component
        coords = x @ component
        span = np.max(np.abs(coords))
        if span > 1e-9:
            out[:, axis] = coords / span
    return out.astype(np.float32)


class MapCache:
    """One layout, recomputed only when `fingerprint` changes (thread-safe; one computation at a time)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._key: Hashable | None = None
        self._layout: Layout | None = None
        self.computations = 0

    def get(self, fingerprint: Hashable, load: Callable[[], Loaded]) -> Layout:
        with self._lock:
            if self._layout is None or self._key != fingerprint:
                ids, vectors, payloads = load()
                self._layout = Layout(ids=tuple(ids), xy=pca_2d(vectors), payloads=tuple(payloads))
                self._key = fingerprint
                self.computations += 1
            return self._layout
