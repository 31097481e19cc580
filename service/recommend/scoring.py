"""Pure maths for re-ranking candidates: MMR diversity, per-artist caps, soft targets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from service.vectors import normalise

T = TypeVar("T")


def rerank(
    scores: Sequence[float],
    vectors: np.ndarray | None,
    artists: Sequence[Sequence[str]],
    *,
    limit: int,
    diversity: float = 0.0,
    max_per_artist: int | None = None,
) -> list[int]:
    """Pick `limit` candidates (indices, best first by relevance score).

    `scores` are relevance scores (higher is better), already sorted descending. With `diversity` > 0
    the picks follow maximal marginal relevance: each step takes the candidate maximising
    (1 - diversity) * relevance - diversity * (max cosine to what is already picked). A candidate whose
    artists already fill `max_per_artist` places is passed over. The picks are returned in relevance
    order, so scores stay sorted for clients.
    """
    n = len(scores)
    rel = np.asarray(scores, dtype=np.float64)
    use_mmr = diversity > 0 and vectors is not None and n > 1
    unit = normalise(np.asarray(vectors, dtype=np.float32)) if use_mmr else None
    per_artist: dict[str, int] = {}
    picked: list[int] = []
    max_sim = np.full(n, -1.0)
    available = np.ones(n, dtype=bool)
    while len(picked) < limit and available.any():
        if use_mmr and picked:
            objective = (1.0 - diversity) * rel - diversity * max_sim
        else:
            objective = rel.copy()
        objective[~available] = -np.inf
        i = int(np.argmax(objective))
        available[i] = False
        if max_per_artist is not None and any(per_artist.get(a, 0) >= max_per_artist for a in artists[i]):
            continue
        for a in artists[i]:
            per_artist[a] = per_artist.get(a, 0) + 1
        picked.append(i)
        if use_mmr:
            max_sim = np.maximum(max_sim, unit @ unit[i])
    return sorted(picked, key=lambda j: -rel[j])


def take_by_slots(
    ranked: Sequence[Sequence[T]],
    slots: Sequence[int],
    limit: int,
    *,
    key: Callable[[T], str],
    score: Callable[[T], float],
    artists: Callable[[T], Sequence[str]],
    max_per_artist: int | None = None,
) -> list[T]:
    """Merge ranked lists (one per taste cluster): each list gives up to its slots, best first; what is
    left (duplicates across lists, lists that ran dry) is filled by score from all lists. Per-artist caps
    hold across the merge. Returned best score first."""
    taken: list[T] = []
    seen: set[str] = set()
    per_artist: dict[str, int] = {}

    def take(item: T) -> bool:
        if key(item) in seen:
            return False
        if max_per_artist is not None and any(per_artist.get(a, 0) >= max_per_artist for a in artists(item)):
            return False
        seen.add(key(item))
        for a in artists(item):
            per_artist[a] = per_artist.get(a, 0) + 1
        taken.append(item)
        return True

    for items, quota in zip(ranked, slots, strict=True):
        got = 0
        for item in items:
            if got >= quota or len(taken) >= limit:
                break
            got += take(item)
    for item in sorted((i for items in ranked for i in items), key=lambda i: -score(i)):
        if len(taken) >= limit:
            break
        take(item)
    return sorted(taken, key=lambda i: -score(i))
