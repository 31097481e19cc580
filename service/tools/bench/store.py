"""Bench, store side: a synthetic catalogue in the Track shape, upsert/optimize/reopen of the embedded store,
in-process queries through the service layer (HNSW and exact) against a NumPy brute-force floor."""

from __future__ import annotations

import gc
import statistics
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from service.store.base import PointData, Record

Log = Callable[[str], None]

GENRES = [
    "rock", "pop", "electronic", "hip hop", "jazz", "classical", "metal", "folk", "indie", "r&b", "soul", "blues",
    "country", "reggae", "punk", "techno", "house", "ambient", "soundtrack", "latin", "funk", "disco", "trance",
    "drum and bass", "dubstep", "k-pop", "gospel", "opera", "ska", "grunge", "shoegaze", "synthwave", "lo-fi",
    "trap", "afrobeat", "bossa nova", "flamenco", "celtic", "chiptune", "world",
]  # fmt: skip
TEMPO_WINDOW = 20.0  # filtered queries: the seed's genre and its tempo ± this many BPM
WARMUP_QUERIES = 20
RECALL_QUERIES = 300  # queries answered by every variant (untimed) for recall@10
KINDS = ("similar", "filtered", "recommend")


# --- the catalogue ----------------------------------------------------------------------------------------
@dataclass
class Catalogue:
    ids: list[str]
    vectors: np.ndarray  # (n, 271) float32: fused_v2, the compared vector, as stored (unit length)
    payloads: list[dict[str, Any]]
    tempo: np.ndarray  # (n,) float64, the values stored in the payloads
    genre_rows: dict[str, np.ndarray] = field(default_factory=dict)  # genre → bool mask (a payload index)
    vectors_kind: str = ""
    dsp: np.ndarray | None = None  # (n, 71) librosa_v1
    embeddings: np.ndarray | None = None  # (n, 200) musicnn_v2_raw

    def stored_vectors(self, i: int) -> dict[str, list[float]]:
        """Every named vector of track i, as the ingest stores them."""
        from service.analysis.vectorset import DSP, EMBEDDING, EMBEDDING_RAW, FUSED

        assert self.dsp is not None and self.embeddings is not None
        embedding = self.vectors[i, self.dsp.shape[1] :]  # the fused vector's embedding part, √(1−w)·unit
        return {
            DSP: self.dsp[i].tolist(),
            EMBEDDING_RAW: self.embeddings[i].tolist(),
            EMBEDDING: (embedding / max(float(np.linalg.norm(embedding)), 1e-12)).tolist(),
            FUSED: self.vectors[i].tolist(),
        }


def clustered_vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian clusters in raw-feature space, through the extractor's own scaler (standardise + group weights),
    so the stored vectors have the scale and anisotropy of real ones."""
    from service.analysis import features

    mean, std = features._scaler()
    dim = mean.size
    n_clusters = max(8, n // 400)
    centres = rng.normal(0.0, 1.0, (n_clusters, dim))
    spread = rng.uniform(0.3, 0.8, (n_clusters, 1))
    which = rng.integers(0, n_clusters, n)
    z = centres[which] + rng.normal(0.0, 1.0, (n, dim)) * spread[which]
    return np.asarray(features.scale(mean + std * z), np.float32)


def mixture_vectors(n: int, real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The real analysed vectors first, then points around random real ones: a step towards a second real
    vector (a 'mixture' of two tracks) plus small per-dimension noise."""
    real = np.asarray(real, np.float32)
    k = min(n, len(real))
    out = np.empty((n, real.shape[1]), np.float32)
    out[:k] = real[:k]
    m = n - k
    if m:
        sd = real.std(axis=0) if len(real) > 1 else np.full(real.shape[1], 0.1, np.float32)
        a = rng.integers(0, len(real), m)
        b = rng.integers(0, len(real), m)
        step = rng.uniform(0.0, 0.5, (m, 1)).astype(np.float32)
        noise = rng.normal(0.0, 0.25, (m, real.shape[1])).astype(np.float32) * sd
        out[k:] = real[a] + step * (real[b] - real[a]) + noise
    return out


def clustered_embeddings(n: int, rng: np.random.Generator) -> np.ndarray:
    """Raw embeddings: Gaussian clusters around the shipped default centre, spread like real ones relative to it
    (synthetic: the query cost does not depend on what the clusters mean)."""
    from service.analysis import centring

    base = centring.default_centre().astype(np.float64)
    scale = float(np.abs(base).mean())
    n_clusters = max(8, n // 400)
    centres = rng.normal(0.0, 1.0, (n_clusters, base.size))
    which = rng.integers(0, n_clusters, n)
    z = centres[which] + rng.normal(0.0, 0.7, (n, base.size))
    return np.asarray(base + scale * z, np.float32)


def _codes(rng: np.random.Generator, alphabet: str, length: int, n: int) -> list[str]:
    chars = np.asarray(list(alphabet), dtype="U1")[rng.integers(0, len(alphabet), (n, length))]
    return np.ascontiguousarray(chars).view(f"U{length}").ravel().tolist()


def make_catalogue(n: int, real: np.ndarray | None, seed: int, log: Log) -> Catalogue:
    from service.catalog.tracks import with_derived_fields
    from service.ids import track_id_for_key

    rng = np.random.default_rng(seed + n)
    if real is not None and len(real) >= 2:
        vectors = mixture_vectors(n, real, rng)
        kind = f"real-mixture ({len(real)} analysed vectors; the rest a step towards another one + noise)"
    else:
        vectors = clustered_vectors(n, rng)
        kind = "clustered Gaussian in raw-feature space through features.scale (no --audio)"
    from service.analysis import centring

    dsp = vectors
    embeddings = clustered_embeddings(n, rng)
    vectors = centring.fuse(dsp, centring.centred(embeddings, centring.centre_of(embeddings)))
    kind += "; embeddings: clustered Gaussian around the default centre; fused_v2 from both"
    # Zipf-ish popularity for genres and artists, as in real libraries; everything drawn up front
    g_weights = 1.0 / np.arange(1, len(GENRES) + 1) ** 0.9
    g_weights /= g_weights.sum()
    n_artists = max(10, n // 8)
    a_weights = 1.0 / np.arange(1, n_artists + 1) ** 0.8
    a_weights /= a_weights.sum()
    artist_of = rng.choice(n_artists, n, p=a_weights)
    second_artist = np.where(rng.random(n) < 0.15, rng.integers(0, n_artists, n), -1)
    genre_draw = rng.choice(len(GENRES), (n, 3), p=g_weights)
    n_genres = rng.choice([1, 1, 2, 2, 3], n)
    tempo = np.round(np.clip(rng.normal(118, 26, n), 50, 220), 2)
    duration = np.round(np.clip(rng.normal(230, 70, n), 30, 900), 3)
    year = np.where(rng.random(n) < 0.9, rng.integers(1955, 2026, n), -1)
    album = np.where(rng.random(n) < 0.9, rng.integers(1, 6, n), -1)
    spotify = rng.random(n) < 0.7
    alnum = string.ascii_letters + string.digits
    spotify_ids = _codes(rng, alnum, 22, n)
    youtube_ids = _codes(rng, alnum + "-_", 11, n)
    confidence = np.round(rng.uniform(0.6, 1.0, n), 3)
    desc = np.round(rng.random((n, 5)), 4)
    loudness = np.round(rng.uniform(-30, -6, n), 2)
    centroid = np.round(rng.uniform(500, 4000, n), 1)
    payloads: list[dict[str, Any]] = []
    ids: list[str] = []
    genre_rows = {g: np.zeros(n, bool) for g in GENRES}
    for i in range(n):
        sp = bool(spotify[i])
        tid = track_id_for_key(f"spotify:{spotify_ids[i]}" if sp else f"file:bench-{seed}-{i}")
        genres = [GENRES[j] for j in dict.fromkeys(genre_draw[i, : n_genres[i]].tolist())]
        for g in genres:
            genre_rows[g][i] = True
        artist = f"Artist {artist_of[i]}"
        artists = [artist] if second_artist[i] < 0 else [artist, f"Artist {second_artist[i]}"]
        t = float(tempo[i])
        payload: dict[str, Any] = {
            "trackId": tid,
            "title": f"Track {i}",
            "artists": artists,
            "album": f"{artist} — Album {album[i]}" if album[i] > 0 else None,
            "genres": genres,
            "durationS": float(duration[i]),
            "tempo": t,
            "year": int(year[i]) if year[i] > 0 else None,
            "source": {
                "kind": "spotify" if sp else "file",
                "spotifyId": spotify_ids[i] if sp else None,
                "youtubeId": youtube_ids[i] if sp else None,
                "path": None if sp else f"/music/{artist}/track{i}.flac",
            },
            "analysis": {"extractor": "librosa", "version": 1, "matchConfidence": float(confidence[i]) if sp else None},
            "descriptors": {
                "tempo": t,
                "loudnessDb": float(loudness[i]),
                "energy": float(desc[i, 0]),
                "brightness": float(desc[i, 1]),
                "centroidHz": float(centroid[i]),
                "noisiness": float(desc[i, 2]),
                "pulseClarity": float(desc[i, 3]),
            },
        }
        if not sp:
            payload["contentSha256"] = f"{i:064x}"
        ids.append(tid)
        payloads.append(with_derived_fields(payload))  # as stored: search tokens, genre/artist keys
    log(f"catalogue: {n:,} tracks ({kind})")
    return Catalogue(
        ids=ids,
        vectors=vectors,
        payloads=payloads,
        tempo=tempo.astype(np.float64),
        genre_rows=genre_rows,
        vectors_kind=kind,
        dsp=dsp,
        embeddings=embeddings,
    )


# --- the store --------------------------------------------------------------------------------------------
def build_store(cat: Catalogue, data_dir: Path, batch: int, users: int, seed: int, log: Log) -> tuple[Any, dict]:
    """Fill a fresh embedded store; returns (the open store, upsert/optimize figures)."""
    from service.analysis.vectorset import VectorSet
    from service.settings import Settings
    from service.store import open_store
    from service.taste.library import merged_entry

    vector_name = VectorSet().query
    points = [
        PointData(id=tid, payload=payload, vectors=cat.stored_vectors(i))
        for i, (tid, payload) in enumerate(zip(cat.ids, cat.payloads, strict=True))
    ]
    store = open_store(Settings(data_dir=data_dir))
    n = len(points)
    seconds = 0.0
    for start in range(0, n, batch):
        chunk = points[start : start + batch]
        t = time.perf_counter()
        store.upsert("tracks", chunk)
        seconds += time.perf_counter() - t
        if (start // batch) % 10 == 9:
            log(f"upsert: {start + len(chunk):,}/{n:,} points, {(start + len(chunk)) / seconds:,.0f} points/s")
    rng = np.random.default_rng(seed + 7)
    per_user = min(n, 300)
    library = [
        merged_entry(
            f"bench-user-{u}",
            Record(id=cat.ids[j], payload=cat.payloads[j], vector=cat.vectors[j].tolist()),
            vector_name,
            add=["saved"],
        )
        for u in range(users)
        for j in rng.choice(n, per_user, replace=False)
    ]
    for start in range(0, len(library), batch):
        store.upsert("library", library[start : start + batch])
    log(f"optimize: building the HNSW index over {n:,} points")
    t = time.perf_counter()
    store.optimize()
    optimize_s = time.perf_counter() - t
    stored = store.count("tracks")
    if stored != n:
        raise RuntimeError(f"the store holds {stored} tracks, {n} were upserted")
    info = store._shard("tracks").info() if hasattr(store, "_shard") else None  # Qdrant Edge's own figures
    return store, {
        "segments": getattr(info, "segments_count", None),
        "indexedVectors": getattr(info, "indexed_vectors_count", None),
        "tracks": n,
        "batch": batch,
        "upsertSeconds": seconds,
        "pointsPerS": n / seconds,
        "libraryPoints": len(library),
        "optimizeS": optimize_s,
    }


def reopen_times(data_dir: Path, repeats: int = 3) -> list[float]:
    from service.settings import Settings
    from service.store import open_store

    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        store = open_store(Settings(data_dir=data_dir))
        out.append(time.perf_counter() - t)
        store.close()
    return out


class ExactStore:
    """The same store, every query exact (`exact=True`): what HNSW is measured against."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    def query(self, *args, **kwargs):
        kwargs["exact"] = True
        return self._store.query(*args, **kwargs)


# --- the floor: NumPy brute force over the same normalised matrix -----------------------------------------
class Floor:
    def __init__(self, cat: Catalogue):
        v = cat.vectors.astype(np.float32)
        self.unit = np.ascontiguousarray(v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12))
        self.ids = np.asarray(cat.ids)
        self.index = {tid: i for i, tid in enumerate(cat.ids)}
        self.tempo = cat.tempo
        self.genre_rows = cat.genre_rows

    def _mask(self, genre: str | None, lo: float | None, hi: float | None, exclude: list[int]) -> np.ndarray | None:
        if genre is None:
            return None
        mask = self.genre_rows[genre] & (self.tempo >= lo) & (self.tempo <= hi)
        mask[exclude] = False
        return mask

    def _top(self, scores: np.ndarray, rows: np.ndarray | None, k: int) -> np.ndarray:
        k = min(k, scores.size)
        if k == 0:
            return np.zeros(0, np.intp)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return rows[top] if rows is not None else top

    def _score(self, fn, mask: np.ndarray | None, exclude: list[int], k: int, gather: bool) -> np.ndarray:
        """Top k of `fn(matrix)` over the rows the filter keeps. The plain floor scores every row and drops the
        filtered-out ones (brute force + boolean mask); `gather` scores only the kept rows (what a planner
        does with a selective filter)."""
        if mask is not None and gather:
            rows = np.flatnonzero(mask)
            return self._top(fn(self.unit[rows]), rows, k)
        scores = fn(self.unit)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
            k = min(k, int(mask.sum()))
        else:
            scores[exclude] = -np.inf
            k = min(k, scores.size - len(set(exclude)))
        return self._top(scores, None, k)

    def similar(self, tid: str, genre=None, lo=None, hi=None, *, k: int = 10, gather: bool = False) -> list[str]:
        i = self.index[tid]
        q = self.unit[i]
        mask = self._mask(genre, lo, hi, [i])
        return self.ids[self._score(lambda m: m @ q, mask, [i], k, gather)].tolist()

    def recommend(self, pos: list[str], neg: list[str], genre, lo, hi, *, k: int = 10, gather: bool = False):
        """Qdrant's best_score: a candidate closer to its best positive than to any negative ranks by that
        similarity, above every candidate closer to a negative (those rank by minus that similarity)."""
        pi = [self.index[t] for t in pos]
        ni = [self.index[t] for t in neg]
        examples = self.unit[pi + ni]
        n_pos = len(pi)

        def best_score(m: np.ndarray) -> np.ndarray:
            s = examples @ m.T  # one row of similarities per example
            p = s[0].copy()
            for row in s[1:n_pos]:
                np.maximum(p, row, out=p)
            if not ni:
                return p
            nn = s[n_pos].copy()
            for row in s[n_pos + 1 :]:
                np.maximum(nn, row, out=nn)
            return np.where(p > nn, p + 4.0, -nn - 4.0)

        exclude = pi + ni
        mask = self._mask(genre, lo, hi, exclude)
        return self.ids[self._score(best_score, mask, exclude, k, gather)].tolist()


# --- the queries ------------------------------------------------------------------------------------------
def _stats_ms(seconds: list[float]) -> dict[str, float]:
    a = np.asarray(seconds) * 1000.0
    return {
        "p50Ms": float(np.percentile(a, 50)),
        "p99Ms": float(np.percentile(a, 99)),
        "meanMs": float(a.mean()),
    }


def _mean_overlap(answers: list[list[str]], truths: list[list[str]]) -> float | None:
    """Mean over queries of |answer ∩ truth| / |truth| (queries whose truth is empty are left out)."""
    vals = [len(set(a) & set(t)) / len(t) for a, t in zip(answers, truths, strict=True) if t]
    return float(np.mean(vals)) if vals else None


VARIANTS = ("hnsw", "store", "exact", "floor", "floorGather")


class QueryRunner:
    """Answers one query `spec()` of each kind through each variant: the service layer (HNSW, and exact), the
    bare store query the service sends (HNSW, no Python around it), and the NumPy floor (plain; and gathering
    the filtered rows only)."""

    def __init__(self, store, cat: Catalogue, seed: int):
        from service.analysis.vectorset import VectorSet
        from service.recommend.recommender import Recommender

        vectors = VectorSet()
        self.name = vectors.query
        self.store = store
        self.cat = cat
        self.hnsw = Recommender(store, self.name, vectors.query_size)
        self.exact = Recommender(ExactStore(store), self.name, vectors.query_size)
        self.floor = Floor(cat)
        self.rng = np.random.default_rng(seed + 11)

    def spec(self) -> dict[str, Any]:
        """One query of each kind, drawn at random: seeds, a negative, the seed's first genre and tempo ± 20."""
        cat = self.cat
        a, b, c = (int(x) for x in self.rng.choice(len(cat.ids), 3, replace=False))
        return {
            "seed": cat.ids[a],
            "seed2": cat.ids[b],
            "neg": cat.ids[c],
            "genre": cat.payloads[a]["genres"][0],
            "lo": float(cat.tempo[a]) - TEMPO_WINDOW,
            "hi": float(cat.tempo[a]) + TEMPO_WINDOW,
        }

    @staticmethod
    def options(q: dict[str, Any] | None):
        from service.recommend.recommender import RecommendOptions, TrackFilter

        if q is None:
            return RecommendOptions(limit=10)
        return RecommendOptions(
            limit=10, filter=TrackFilter(genres=(q["genre"],), tempo_min=q["lo"], tempo_max=q["hi"])
        )

    def call(self, kind: str, variant: str, q: dict[str, Any]) -> list[str] | None:
        """The top 10 track ids; None where the variant has nothing to say (a gathering floor without a filter)."""
        if variant in ("floor", "floorGather"):
            return self._floor(kind, q, gather=variant == "floorGather")
        if variant == "store":
            return self._bare(kind, q)
        rec = self.hnsw if variant == "hnsw" else self.exact
        if kind == "similar":
            items = rec.similar(q["seed"], self.options(None))
        elif kind == "filtered":
            items = rec.similar(q["seed"], self.options(q))
        else:
            items = rec.from_seeds([q["seed"], q["seed2"]], [q["neg"]], self.options(q))
        return [it.payload["trackId"] for it in items]

    def _floor(self, kind: str, q: dict[str, Any], gather: bool) -> list[str] | None:
        if kind == "similar":
            return None if gather else self.floor.similar(q["seed"])
        if kind == "filtered":
            return self.floor.similar(q["seed"], q["genre"], q["lo"], q["hi"], gather=gather)
        return self.floor.recommend([q["seed"], q["seed2"]], [q["neg"]], q["genre"], q["lo"], q["hi"], gather=gather)

    def _bare(self, kind: str, q: dict[str, Any]) -> list[str]:
        """The store query the service sends for this kind (same filter, limit, ef, with_vector), nothing around it."""
        from service.recommend.recommender import RECOMMEND_EF, SEARCH_EF
        from service.store.base import Nearest, Recommend

        vec = lambda tid: self.cat.vectors[self.floor.index[tid]].tolist()  # noqa: E731
        if kind == "recommend":
            query = Recommend((vec(q["seed"]), vec(q["seed2"])), (vec(q["neg"]),))
            flt = self.options(q).filter.to_filter([q["seed"], q["seed2"], q["neg"]])
        else:
            query = Nearest(vec(q["seed"]))
            flt = self.options(q if kind == "filtered" else None).filter.to_filter([q["seed"]])
        return [
            r.id
            for r in self.store.query(
                "tracks",
                query,
                using=self.name,
                limit=10,
                filter=flt,
                hnsw_ef=RECOMMEND_EF if kind == "recommend" else SEARCH_EF,
                with_vector=kind == "recommend",
            )
        ]


def _warm_up(runner: QueryRunner, n: int) -> None:
    for _ in range(n):
        q = runner.spec()
        for kind in KINDS:
            for v in VARIANTS:
                runner.call(kind, v, q)


def _time_queries(runner: QueryRunner, n_queries: int, log: Log) -> dict[str, dict[str, list[float]]]:
    """Seconds per call, by kind and variant. Every call gets a query of its own, so no variant runs on caches
    another one warmed for the same filter; the variants of a kind are interleaved (rotating who goes first)
    so machine noise hits them alike."""
    timings: dict[str, dict[str, list[float]]] = {k: {v: [] for v in VARIANTS} for k in KINDS}
    gc.collect()
    last_log = time.monotonic()
    for j in range(n_queries):
        for kind in KINDS:
            r = j % len(VARIANTS)
            for v in VARIANTS[r:] + VARIANTS[:r]:
                q = runner.spec()
                t = time.perf_counter()
                got = runner.call(kind, v, q)
                elapsed = time.perf_counter() - t
                if got is not None:
                    timings[kind][v].append(elapsed)
        if time.monotonic() - last_log > 5:
            log(f"queries at {len(runner.cat.ids):,} tracks: {j + 1}/{n_queries} timed")
            last_log = time.monotonic()
    return timings


def _answer_queries(runner: QueryRunner, n: int) -> dict[str, dict[str, list[list[str]]]]:
    """The same `n` queries through every variant but the gathering floor (its answers are the floor's), untimed."""
    answers: dict[str, dict[str, list[list[str]]]] = {k: {v: [] for v in VARIANTS} for k in KINDS}
    for _ in range(n):
        q = runner.spec()
        for kind in KINDS:
            for v in ("hnsw", "store", "exact", "floor"):
                answers[kind][v].append(runner.call(kind, v, q))
    return answers


def _kind_figures(timings: dict[str, list[float]], answers: dict[str, list[list[str]]]) -> dict[str, Any]:
    """Latency of each variant of one kind, and its answers' overlap with the exact search's."""
    res: dict[str, Any] = {v: _stats_ms(timings[v]) if timings[v] else None for v in VARIANTS}
    truth = answers["exact"]
    res["recallAt10"] = _mean_overlap(answers["hnsw"], truth)
    res["storeRecallAt10"] = _mean_overlap(answers["store"], truth)
    res["floorAgreesWithExact"] = _mean_overlap(answers["floor"], truth)
    res["meanResults"] = float(np.mean([len(t) for t in truth]))
    res["hnswOverFloorP50"] = res["hnsw"]["p50Ms"] / res["floor"]["p50Ms"]
    res["exactOverFloorP50"] = res["exact"]["p50Ms"] / res["floor"]["p50Ms"]
    return res


def run_queries(store, cat: Catalogue, n_queries: int, seed: int, log: Log) -> dict[str, Any]:
    """Each query kind through every variant (see QueryRunner): warm-up, timed queries, then recall@10 of the
    untimed answers against the exact search."""
    runner = QueryRunner(store, cat, seed)
    _warm_up(runner, WARMUP_QUERIES)
    timings = _time_queries(runner, n_queries, log)
    n_recall = min(n_queries, RECALL_QUERIES)
    answers = _answer_queries(runner, n_recall)
    out: dict[str, Any] = {"queries": n_queries, "recallQueries": n_recall}
    for kind in KINDS:
        out[kind] = _kind_figures(timings[kind], answers[kind])
    out["fusedVsSingle"] = fused_vs_single(store, cat, n_queries, seed)
    return out


def fused_vs_single(store, cat: Catalogue, n_queries: int, seed: int) -> dict[str, Any]:
    """The similar-track query through the service on the fused vector (shipped) and on the DSP vector alone,
    interleaved, same seeds, same store: what fusing costs at query time."""
    from service.analysis.vectorset import DSP, SIZES, VectorSet
    from service.recommend.recommender import Recommender, RecommendOptions

    vectors = VectorSet()
    fused = Recommender(store, vectors.query, vectors.query_size)
    single = Recommender(store, DSP, SIZES[DSP])
    rng = np.random.default_rng(seed + 23)
    seeds = [cat.ids[int(i)] for i in rng.integers(0, len(cat.ids), n_queries + WARMUP_QUERIES)]
    times: dict[str, list[float]] = {"fused": [], "single": []}
    for j, tid in enumerate(seeds):
        order = (("fused", fused), ("single", single)) if j % 2 == 0 else (("single", single), ("fused", fused))
        for name, rec in order:
            t = time.perf_counter()
            rec.similar(tid, RecommendOptions(limit=10))
            if j >= WARMUP_QUERIES:
                times[name].append((time.perf_counter() - t) * 1000)
    f, s = median(times["fused"]), median(times["single"])
    return {
        "fusedP50Ms": f,
        "singleP50Ms": s,
        "fusedOverSingleX": f / s if s else None,
        "what": f"similar, limit 10: {vectors.query} ({vectors.query_size}-d) vs {DSP} ({SIZES[DSP]}-d)",
    }


def median(values: list[float]) -> float:
    return float(statistics.median(values))
