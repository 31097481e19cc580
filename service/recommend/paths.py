"""Song paths: from one track to another through the tracks nearest to the way between them.

The way is the great circle between the two unit vectors (spherical interpolation, the natural path
for cosine similarity); each step takes the nearest track to its point that is not on the path yet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

MIN_STEPS, MAX_STEPS, DEFAULT_STEPS = 3, 50, 10


def waypoints(start: Sequence[float], end: Sequence[float], steps: int) -> np.ndarray:
    """`steps` unit vectors from `start` to `end` (both included), evenly spaced along the great circle
    (a straight line when the two are (anti)parallel)."""
    if steps < 2:
        raise ValueError("a path has at least two points")
    a = _unit(np.asarray(start, dtype=np.float64))
    b = _unit(np.asarray(end, dtype=np.float64))
    ts = np.linspace(0.0, 1.0, steps)
    omega = float(np.arccos(np.clip(a @ b, -1.0, 1.0)))
    if omega < 1e-6 or np.pi - omega < 1e-6:
        points = (1 - ts)[:, None] * a + ts[:, None] * b
    else:
        s = np.sin(omega)
        points = (np.sin((1 - ts) * omega) / s)[:, None] * a + (np.sin(ts * omega) / s)[:, None] * b
    return np.vstack([_unit(p) for p in points])


def walk(
    start_id: str,
    end_id: str,
    points: np.ndarray,
    nearest: Callable[[np.ndarray, Sequence[str]], tuple[str, float] | None],
) -> list[tuple[str, float, int]]:
    """The path as (trackId, score, step index): the ends at the first and last points, and for each
    point between them the nearest track not used yet (`nearest(point, used_ids)` → (id, similarity)
    or None when no track is left). No track appears twice; steps with no track left are dropped."""
    used = [start_id, end_id]
    path = [(start_id, 1.0, 0)]
    for i in range(1, len(points) - 1):
        found = nearest(points[i], used)
        if found is None:
            break
        track_id, score = found
        used.append(track_id)
        path.append((track_id, score, i))
    path.append((end_id, 1.0, len(points) - 1))
    return path


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 0 else v
