"""User paths at several library sizes: a user recommendation (taste cached / rebuilt after feedback /
never cached, as before the cache) and feedback, side by side with the similar-track query in one run."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from service.tools.bench.store import Catalogue, Log, _stats_ms

LIBRARY_SIZES = (100, 2000, 10_000)


def _timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def bench_users(store, cat: Catalogue, *, queries: int, seed: int, log: Log) -> list[dict[str, Any]]:
    from service.analysis.vectorset import VectorSet
    from service.recommend.recommender import Recommender
    from service.store.schema import TRACKS
    from service.taste.cache import TasteCache
    from service.taste.library import add_to_library
    from service.taste.users import StoreCounters, UserService

    name, size = VectorSet().query, VectorSet().query_size
    cached = Recommender(store, name, size, tastes=TasteCache(store, name))
    uncached = Recommender(store, name, size)
    users = UserService(store, name, StoreCounters(store))
    rng = np.random.default_rng(seed + 11)
    n = len(cat.ids)
    repeats = max(5, min(queries, 50))
    rows = []
    for lib_size in [s for s in LIBRARY_SIZES if s < n]:
        user = f"bench-library-{lib_size}"
        chosen = [cat.ids[i] for i in rng.choice(n, lib_size, replace=False)]
        for start in range(0, lib_size, 1000):
            records = store.retrieve(TRACKS, chosen[start : start + 1000], with_vector=name)
            add_to_library(store, user, records, name, add=["saved"])
        others = iter([cat.ids[i] for i in rng.choice(n, repeats * 3, replace=False)])
        row = {"librarySize": lib_size, "tracks": n, **_measure(user, others, cached, uncached, users, repeats)}
        log(
            f"users at library {lib_size:,}: recommend p50 {row['recommendCached']['p50Ms']:.1f} ms cached, "
            f"{row['recommendUncached']['p50Ms']:.1f} ms uncached; feedback p50 {row['feedback']['p50Ms']:.1f} ms; "
            f"similar p50 {row['similar']['p50Ms']:.2f} ms"
        )
        rows.append(row)
    return rows


def _measure(user: str, others, cached, uncached, users, repeats: int) -> dict[str, Any]:
    from service.recommend.recommender import RecommendOptions

    options = RecommendOptions(limit=20)

    def recommend(rec) -> None:
        rec.recommend(user_id=user, seed_ids=(), negative_ids=(), exclude_known=True, options=options)

    recommend(cached)  # builds the cache once
    similar = _timed(lambda: cached.similar(next(others), RecommendOptions(limit=10)), repeats)
    warm = _timed(lambda: recommend(cached), repeats)
    cold = _timed(lambda: recommend(uncached), max(3, repeats // 5))
    feedback, after = [], []
    for _ in range(max(3, repeats // 5)):
        feedback += _timed(lambda: users.feedback(user, next(others), "like"), 1)
        after += _timed(lambda: recommend(cached), 1)
    return {
        "similar": _stats_ms(similar),
        "recommendCached": _stats_ms(warm),
        "recommendAfterFeedback": _stats_ms(after),
        "recommendUncached": _stats_ms(cold),
        "feedback": _stats_ms(feedback),
    }
