"""Taste maths: weights, clusters, slot allocation (pure functions)."""

from __future__ import annotations

import numpy as np
import pytest

from service.taste.model import Entry, allocate, build_taste, entry_weight

NOW = 1_700_000_000.0


def entry(reasons, vector=None, ranks=None, liked_at=None, tid="t"):
    return Entry(tid, np.asarray(vector if vector is not None else [1.0, 0, 0]), reasons, ranks or {}, liked_at)


def test_weights_order_what_says_most():
    top0 = entry_weight(entry(["top_short"], ranks={"top_short": 0}), NOW)
    top30 = entry_weight(entry(["top_short"], ranks={"top_short": 30}), NOW)
    saved = entry_weight(entry(["saved"]), NOW)
    playlist = entry_weight(entry(["playlist"]), NOW)
    assert top0 > top30 > 0 and top0 > saved > playlist > 0
    assert entry_weight(entry(["saved", "playlist"]), NOW) > saved  # reasons reinforce
    assert entry_weight(entry(["saved", "disliked"]), NOW) == 0  # a dislike is never a positive
    fresh = entry_weight(entry(["liked"], liked_at=NOW), NOW)
    old = entry_weight(entry(["liked"], liked_at=NOW - 90 * 86400), NOW)
    assert fresh > old >= fresh / 2


def blob(center, n, seed, spread=0.05):
    rng = np.random.default_rng(seed)
    return [np.asarray(center) + rng.normal(scale=spread, size=len(center)) for _ in range(n)]


def test_two_styles_give_two_clusters_and_one_style_one():
    a = blob([1, 0, 0, 0], 8, 1)
    b = blob([0, 1, 0, 0], 6, 2)
    entries = [entry(["saved"], v, tid=f"a{i}") for i, v in enumerate(a)]
    entries += [entry(["saved"], v, tid=f"b{i}") for i, v in enumerate(b)]
    taste = build_taste(entries, NOW)
    assert len(taste.clusters) == 2
    big, small = taste.clusters
    assert big.weight > small.weight and abs(big.weight + small.weight - 1) < 1e-6
    assert {entries[i].track_id[0] for i in big.members} == {"a"}
    assert {entries[i].track_id[0] for i in small.members} == {"b"}
    one = build_taste([entry(["saved"], v) for v in blob([1, 0, 0, 0], 12, 3)], NOW)
    assert len(one.clusters) == 1


def test_negatives_and_small_libraries():
    entries = [entry(["liked"], [1, 0, 0]), entry(["disliked"], [0, 1, 0]), entry(["skipped"], [0, 0, 1])]
    taste = build_taste(entries, NOW)
    assert len(taste.clusters) == 1 and taste.clusters[0].members == [0]
    assert taste.negatives == [1, 2] and taste.negative_weights[0] > taste.negative_weights[1]
    assert build_taste([entry(["disliked"])], NOW).empty


@pytest.mark.parametrize("limit,weights", [(20, [0.7, 0.3]), (3, [0.5, 0.3, 0.2]), (2, [0.6, 0.3, 0.1]), (7, [1.0])])
def test_allocate_fills_the_limit_in_proportion(limit, weights):
    slots = allocate(limit, weights)
    assert sum(slots) == limit and len(slots) == len(weights)
    assert slots == sorted(slots, reverse=True)
    if limit >= len(weights):
        assert min(slots) >= 1
