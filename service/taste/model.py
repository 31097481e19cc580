"""A user's taste from their library: weighted positives, clusters, negatives. Pure functions.

Weights (why): what a person plays most now (short-term top tracks, by rank) says most; saved tracks
and playlists say "I keep this"; likes are strong but fade (recency half-life); dislikes and skips are
negatives, skips weaker (a skip can be a mood, a dislike is a verdict).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from service.vectors import normalise

REASON_WEIGHTS = {
    "top_short": 1.0,
    "top_medium": 0.8,
    "top_long": 0.6,
    "liked": 1.0,
    "saved": 0.5,
    "ingested": 0.5,
    "playlist": 0.3,
    "followed_artist": 0.2,
}
NEGATIVE_WEIGHTS = {"disliked": 1.0, "skipped": 0.4}
RANK_DECAY = 0.97  # weight of the top track at rank r: 0.97 ** r (rank 0 = favourite)
LIKE_HALF_LIFE_S = 30 * 24 * 3600
MAX_CLUSTERS = 4
MIN_PER_CLUSTER = 4  # a style needs a few tracks before it gets its own centroid
MERGE_COSINE = 0.92  # clusters this close are one style


@dataclass
class Entry:
    """One library entry: the track, its vector and why it is in the library."""

    track_id: str
    vector: np.ndarray
    reasons: Sequence[str]
    ranks: Mapping[str, int] = field(default_factory=dict)  # reason → rank, for top_* reasons
    liked_at: float | None = None


@dataclass
class Cluster:
    centroid: np.ndarray
    weight: float  # share of the positive weight, sums to 1 over clusters
    members: list[int]  # indices into the entries, heaviest first


@dataclass
class Taste:
    clusters: list[Cluster]
    negatives: list[int]  # indices of disliked/skipped entries
    negative_weights: list[float]

    @property
    def empty(self) -> bool:
        return not self.clusters


def entry_weight(entry: Entry, now: float | None = None) -> float:
    """Positive weight of a library entry (0 when it is only a negative)."""
    if any(r in NEGATIVE_WEIGHTS for r in entry.reasons):
        return 0.0  # a disliked/skipped track is never a positive, whatever else it is
    now = time.time() if now is None else now
    best = 0.0
    for reason in entry.reasons:
        w = REASON_WEIGHTS.get(reason, 0.0)
        if reason.startswith("top_") and reason in entry.ranks:
            w *= RANK_DECAY ** max(entry.ranks[reason], 0)
        if reason == "liked" and entry.liked_at is not None:
            age = max(now - entry.liked_at, 0.0)
            w *= 0.5 + 0.5 * math.pow(0.5, age / LIKE_HALF_LIFE_S)  # fades to half, never to nothing
        best = max(best, w)
    # several reasons reinforce each other a little (saved AND in a playlist AND top)
    return best * (1.0 + 0.1 * (len([r for r in entry.reasons if r in REASON_WEIGHTS]) - 1))


def negative_weight(entry: Entry) -> float:
    return max((NEGATIVE_WEIGHTS.get(r, 0.0) for r in entry.reasons), default=0.0)


def spherical_kmeans(
    x: np.ndarray, w: np.ndarray, k: int, *, iterations: int = 25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted k-means on the unit sphere (cosine). Returns (centroids k×d, labels n). Deterministic."""
    rng = np.random.default_rng(seed)
    n = len(x)
    # k-means++ seeding on cosine distance, weighted
    first = int(np.argmax(w))
    centers = [x[first]]
    for _ in range(1, k):
        sims = np.max(np.stack([x @ c for c in centers]), axis=0)
        d = np.clip(1.0 - sims, 0.0, None) * w
        if d.sum() <= 0:
            break
        centers.append(x[int(rng.choice(n, p=d / d.sum()))])
    c = np.stack(centers)
    labels = np.zeros(n, dtype=int)
    for _ in range(iterations):
        new_labels = np.argmax(x @ c.T, axis=1)
        if _ and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        c = np.stack(
            [
                normalise((x[labels == j] * w[labels == j, None]).sum(axis=0)) if (labels == j).any() else c[j]
                for j in range(len(c))
            ]
        )
    return c, labels


def choose_clusters(x: np.ndarray, w: np.ndarray) -> list[Cluster]:
    """As many clusters as the library supports (≤ MAX_CLUSTERS, ≥ MIN_PER_CLUSTER members each),
    merging styles that are too close to be told apart."""
    n = len(x)
    k = max(1, min(MAX_CLUSTERS, n // MIN_PER_CLUSTER))
    if k == 1:
        centroids, labels = normalise((x * w[:, None]).sum(axis=0))[None, :], np.zeros(n, dtype=int)
    else:
        centroids, labels = spherical_kmeans(x, w, k)
    groups = [list(np.flatnonzero(labels == j)) for j in range(len(centroids))]
    # merge: tiny clusters and near-duplicates join their nearest neighbour
    changed = True
    while changed and len(groups) > 1:
        changed = False
        cents = [normalise((x[g] * w[g, None]).sum(axis=0)) for g in groups]
        for i, g in enumerate(groups):
            others = [j for j in range(len(groups)) if j != i]
            j = max(others, key=lambda o: float(cents[i] @ cents[o]))
            if len(g) < MIN_PER_CLUSTER or float(cents[i] @ cents[j]) > MERGE_COSINE:
                groups[j] = groups[j] + g
                del groups[i]
                changed = True
                break
    total = float(w.sum()) or 1.0
    clusters = []
    for g in groups:
        g_sorted = sorted(g, key=lambda i: -w[i])
        clusters.append(
            Cluster(
                centroid=normalise((x[g] * w[g, None]).sum(axis=0)),
                weight=float(w[g].sum()) / total,
                members=[int(i) for i in g_sorted],
            )
        )
    clusters.sort(key=lambda c: -c.weight)
    return clusters


def build_taste(entries: Sequence[Entry], now: float | None = None) -> Taste:
    weights = np.array([entry_weight(e, now) for e in entries], dtype=np.float32)
    positives = [i for i, wt in enumerate(weights) if wt > 0]
    negatives = [i for i, e in enumerate(entries) if negative_weight(e) > 0]
    clusters: list[Cluster] = []
    if positives:
        x = normalise(np.asarray([entries[i].vector for i in positives], dtype=np.float32))
        local = choose_clusters(x, weights[positives])
        for c in local:  # map member indices back to entries
            c.members = [positives[i] for i in c.members]
        clusters = local
    return Taste(
        clusters=clusters,
        negatives=negatives,
        negative_weights=[negative_weight(entries[i]) for i in negatives],
    )


def allocate(limit: int, weights: Sequence[float]) -> list[int]:
    """Split `limit` result slots across clusters in proportion to their weight, each at least one."""
    k = len(weights)
    if k == 0:
        return []
    if limit <= k:
        return [1 if i < limit else 0 for i in range(k)]
    raw = np.asarray(weights, dtype=float) / (sum(weights) or 1.0) * (limit - k)
    slots = [1 + int(math.floor(r)) for r in raw]
    for i in np.argsort(-(raw - np.floor(raw)))[: limit - sum(slots)]:
        slots[int(i)] += 1
    return slots


def entry_from_payload(payload: Mapping[str, Any], vector: Sequence[float]) -> Entry:
    return Entry(
        track_id=payload["trackId"],
        vector=np.asarray(vector, dtype=np.float32),
        reasons=list(payload.get("reasons") or []),
        ranks=dict(payload.get("ranks") or {}),
        liked_at=payload.get("likedAt"),
    )
