"""Similar tracks and recommendations: filtered Qdrant queries plus a light re-rank.

Everything here speaks to the store interface only, so both backends serve it unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from service.errors import BadRequest, Conflict, NotFound
from service.ids import canonical_all
from service.keys import match_any
from service.recommend.paths import walk, waypoints
from service.recommend.scoring import rerank, take_by_slots
from service.store.base import (
    Filter,
    HasId,
    Match,
    MatchAny,
    Nearest,
    Range,
    Recommend,
    Record,
    VectorStore,
)
from service.store.schema import TRACKS
from service.taste import library
from service.taste.cache import TasteCache, UserTaste, load_taste
from service.taste.model import allocate, build_taste
from service.vectors import centroid, normalise

MAX_CANDIDATES = 500
# HNSW beam width at query time; measured with `musicrec bench` (recall@10 vs exact search, p50)
SEARCH_EF = 64
RECOMMEND_EF = 256
MAX_TASTE_NEGATIVES = 20  # disliked/skipped tracks pushed away from, per query
MAX_ANCHORS = 50  # library tracks searched for the `because` of each pick
MAX_TARGET_SCAN = 20_000  # payloads scored for a target-only request (no seed, no user)
TARGET_SCAN_PAGE = 2_000
# Soft targets compare these descriptors; the scale turns a difference into "one unit off".
TARGET_SCALES = {"tempo": 40.0, "energy": 0.25, "brightness": 0.25, "loudnessDb": 10.0}


@dataclass(frozen=True)
class TrackFilter:
    genres: tuple[str, ...] = ()
    artists: tuple[str, ...] = ()
    exclude_artists: tuple[str, ...] = ()
    albums: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()  # the embedding's tags (`Track.styles`), lower case
    tempo_min: float | None = None
    tempo_max: float | None = None
    year_min: float | None = None
    year_max: float | None = None
    duration_min_s: float | None = None
    duration_max_s: float | None = None

    def validate(self) -> None:
        for field_name, value in (
            ("tempoMin", self.tempo_min),
            ("tempoMax", self.tempo_max),
            ("yearMin", self.year_min),
            ("yearMax", self.year_max),
            ("durationMinS", self.duration_min_s),
            ("durationMaxS", self.duration_max_s),
        ):
            if value is not None and not math.isfinite(value):
                raise BadRequest(f"{field_name} must be a finite number", {"field": field_name})
        for field_name, lo, hi in (
            ("tempo", self.tempo_min, self.tempo_max),
            ("year", self.year_min, self.year_max),
            ("durationS", self.duration_min_s, self.duration_max_s),
        ):
            if lo is not None and hi is not None and lo > hi:
                raise BadRequest(
                    f"{field_name}: the minimum is above the maximum",
                    {"field": field_name, "min": lo, "max": hi},
                )

    def to_filter(self, exclude_ids: Sequence[str] = ()) -> Filter:
        self.validate()
        must: list[Any] = []
        must_not: list[Any] = []
        if self.genres:
            must.append(match_any("genres", self.genres))  # genres and artists: whatever the case
        if self.artists:
            must.append(match_any("artists", self.artists))
        if self.albums:
            must.append(MatchAny("album", tuple(self.albums)))
        if self.styles:
            must.append(MatchAny("styles", tuple(s.strip().lower() for s in self.styles)))
        if self.exclude_artists:
            must_not.append(match_any("artists", self.exclude_artists))
        for key, lo, hi in (
            ("tempo", self.tempo_min, self.tempo_max),
            ("year", self.year_min, self.year_max),
            ("durationS", self.duration_min_s, self.duration_max_s),
        ):
            if lo is not None or hi is not None:
                must.append(Range(key, gte=lo, lte=hi))
        if exclude_ids:
            must_not.append(HasId(tuple(exclude_ids)))
        return Filter(must=tuple(must), must_not=tuple(must_not))


@dataclass
class Recommendation:
    payload: dict[str, Any]
    score: float
    because: str


@dataclass
class RecommendOptions:
    limit: int = 20
    filter: TrackFilter = field(default_factory=TrackFilter)
    diversity: float = 0.0
    max_per_artist: int | None = None
    target: dict[str, float] = field(default_factory=dict)


def needs_rerank(options: RecommendOptions) -> bool:
    return options.diversity > 0 or options.max_per_artist is not None or bool(options.target)


def shared_styles(payload: dict[str, Any], anchor: dict[str, Any]) -> str:
    """' (both electronic, chill)' when the two tracks share the embedding's top tags, else ''."""
    theirs = set(anchor.get("styles") or [])
    common = [s for s in payload.get("styles") or [] if s in theirs][:2]
    return f" (both {', '.join(common)})" if common else ""


def describe(payload: dict[str, Any]) -> str:
    title = payload.get("title") or "?"
    artists = payload.get("artists") or []
    return f"“{title}” by {', '.join(artists)}" if artists else f"“{title}”"


def target_penalty(payload: dict[str, Any], target: dict[str, float], missing: float | None = None) -> float:
    """Mean distance (in scale units, capped at 1) between a track's descriptors and soft targets; a descriptor
    the track lacks is left out, or counts as `missing` when given."""
    if not target:
        return 0.0
    descriptors = payload.get("descriptors") or {}
    values = {"tempo": payload.get("tempo"), **descriptors}
    diffs = []
    for key, wanted in target.items():
        have = values.get(key)
        if have is None:
            if missing is not None:
                diffs.append(missing)
            continue
        diffs.append(min(abs(float(have) - float(wanted)) / TARGET_SCALES.get(key, 1.0), 1.0))
    return float(np.mean(diffs)) if diffs else 0.0


class Recommender:
    def __init__(
        self,
        store: VectorStore,
        vector_name: str,
        vector_size: int,
        *,
        hnsw_ef: int | None = SEARCH_EF,
        tastes: TasteCache | None = None,
    ):
        self.store = store
        self.hnsw_ef = hnsw_ef
        self.tastes = tastes  # None: every user request reads and clusters the library afresh
        self.vector_name = vector_name
        self.vector_size = vector_size

    # --- lookups ---------------------------------------------------------------------------------
    def _user_taste(self, user_id: str | None) -> UserTaste:
        if not user_id:
            return UserTaste(version=None, records=[], taste=build_taste([]))
        if self.tastes is not None:
            return self.tastes.get(user_id)
        return load_taste(self.store, user_id, self.vector_name)

    def tracks_with_vectors(self, track_ids: Sequence[str], field_name: str) -> list[Record]:
        unique = list(dict.fromkeys(canonical_all(track_ids)))
        found = self.store.retrieve(TRACKS, unique, with_vector=self.vector_name)
        missing = sorted(set(unique) - {r.id for r in found})
        if missing:
            raise NotFound(
                f"unknown track id(s) in {field_name}: {', '.join(missing)}",
                {"field": field_name, "trackIds": missing},
            )
        # a track `musicrec reindex` could not analyse again (its file gone, its video unavailable) keeps only its
        # DSP vector in a store that compares both: it is known, but nothing can be compared with it
        unanalysed = sorted(r.id for r in found if not r.vector)
        if unanalysed:
            raise Conflict(
                f"track(s) in {field_name} not analysed with this release's vectors ({self.vector_name}): "
                f"{', '.join(unanalysed)}; ingest the file again (or prune it)",
                {"field": field_name, "trackIds": unanalysed, "vector": self.vector_name},
            )
        return found

    # --- queries ---------------------------------------------------------------------------------
    def _candidates(
        self, query, options: RecommendOptions, exclude_ids: Sequence[str], anchors: Sequence[Record] = ()
    ) -> list[Record]:
        rerank_needed = needs_rerank(options)
        fetch = min(max(options.limit * 5, 50), MAX_CANDIDATES) if rerank_needed else options.limit
        return self.store.query(
            TRACKS,
            query,
            using=self.vector_name,
            limit=fetch,
            filter=options.filter.to_filter(exclude_ids),
            # one query vector needs a narrow beam; recommend queries (several vectors) need a wide one
            hnsw_ef=self.hnsw_ef if isinstance(query, Nearest) else RECOMMEND_EF,
            # vectors only when the re-rank or the choice among several anchors needs them
            with_vector=rerank_needed or len(anchors) > 1,
        )

    def _finish(
        self, candidates: list[Record], options: RecommendOptions, anchors: list[Record], anchor_word: str
    ) -> list[Recommendation]:
        if not candidates:
            return []
        if not needs_rerank(options) and len(anchors) <= 1:  # Qdrant's order is the answer: no maths
            because = f"{anchor_word} {describe(anchors[0].payload)}" if anchors else anchor_word
            return [
                Recommendation(
                    payload=c.payload,
                    score=round(float(c.score or 0.0), 6),
                    because=because + (shared_styles(c.payload, anchors[0].payload) if anchors else ""),
                )
                for c in candidates[: options.limit]
            ]
        scores = [float(c.score or 0.0) - target_penalty(c.payload, options.target) for c in candidates]
        order = np.argsort(scores)[::-1]
        candidates = [candidates[i] for i in order]
        scores = [scores[i] for i in order]
        vectors = np.asarray([c.vector for c in candidates], dtype=np.float32)
        picks = rerank(
            scores,
            vectors,
            [c.payload.get("artists") or [] for c in candidates],
            limit=options.limit,
            diversity=options.diversity,
            max_per_artist=options.max_per_artist,
        )
        anchor_vecs = normalise(np.asarray([a.vector for a in anchors], dtype=np.float32)) if anchors else None
        out = []
        for i in picks:
            c = candidates[i]
            because = anchor_word
            if anchor_vecs is not None:
                nearest = anchors[int(np.argmax(anchor_vecs @ normalise(vectors[i])))]
                because = f"{anchor_word} {describe(nearest.payload)}{shared_styles(c.payload, nearest.payload)}"
            out.append(Recommendation(payload=c.payload, score=round(scores[i], 6), because=because))
        return out

    def similar(self, track_id: str, options: RecommendOptions) -> list[Recommendation]:
        seed = self.tracks_with_vectors([track_id], "trackId")[0]
        candidates = self._candidates(Nearest(seed.vector), options, [seed.id], [seed])
        return self._finish(candidates, options, [seed], "similar to")

    def from_seeds(
        self, seed_ids: Sequence[str], negative_ids: Sequence[str], options: RecommendOptions
    ) -> list[Recommendation]:
        seeds = self.tracks_with_vectors(seed_ids, "seedTrackIds")
        negatives = self.tracks_with_vectors(negative_ids, "negativeTrackIds") if negative_ids else []
        return self._around_seeds(
            seeds,
            [s.vector for s in seeds],
            [n.vector for n in negatives],
            options,
            [r.id for r in (*seeds, *negatives)],
        )

    def _around_seeds(
        self,
        seeds: list[Record],
        positives: list,
        negatives: list,
        options: RecommendOptions,
        exclude: Sequence[str],
    ) -> list[Recommendation]:
        if negatives or len(positives) > 1:
            # best_score: a candidate is as good as its closest positive, minus closeness to a negative
            query = Recommend(tuple(positives), tuple(negatives))
        else:
            query = Nearest(positives[0])
        return self._finish(self._candidates(query, options, exclude, seeds), options, seeds, "similar to")

    def from_target(self, options: RecommendOptions, exclude: Sequence[str] = ()) -> list[Recommendation]:
        """No seed, no user: the tracks whose descriptors are closest to the soft targets (score 1 = on every
        target), the filter applied; a track lacking a targeted descriptor counts as far off on it. Scans the
        filtered payloads (at most MAX_TARGET_SCAN tracks) and re-ranks the best like any other answer."""
        scored: list[tuple[float, Record]] = []
        offset = None
        flt = options.filter.to_filter(exclude)
        while len(scored) < MAX_TARGET_SCAN:
            page, offset = self.store.scroll(TRACKS, limit=TARGET_SCAN_PAGE, offset=offset, filter=flt)
            scored += [(1.0 - target_penalty(r.payload, options.target, missing=1.0), r) for r in page]
            if offset is None:
                break
        scored.sort(key=lambda pair: -pair[0])  # stable: ties keep the store's order
        reranked = options.diversity > 0 or options.max_per_artist is not None
        best = scored[:MAX_CANDIDATES] if reranked else scored[: options.limit]
        vectors = None
        if options.diversity > 0 and best:
            found = {
                r.id: r.vector
                for r in self.store.retrieve(TRACKS, [r.id for _, r in best], with_vector=self.vector_name)
            }
            best = [(score, r) for score, r in best if found.get(r.id)]
            vectors = np.asarray([found[r.id] for _, r in best], dtype=np.float32)
        picks = rerank(
            [score for score, _ in best],
            vectors,
            [r.payload.get("artists") or [] for _, r in best],
            limit=options.limit,
            diversity=options.diversity,
            max_per_artist=options.max_per_artist,
        )
        wanted = ", ".join(f"{k} {v:g}" for k, v in options.target.items())
        return [
            Recommendation(payload=best[i][1].payload, score=round(best[i][0], 6), because=f"closest to {wanted}")
            for i in picks
        ]

    def cold_start(self, options: RecommendOptions, exclude: Sequence[str] = ()) -> list[Recommendation]:
        """No taste to go on: a varied sample around the centre of the store (of the asked genres, if any)."""
        sample, _ = self.store.scroll(
            TRACKS, limit=1000, filter=options.filter.to_filter(exclude), with_vector=self.vector_name
        )
        vectors = [s.vector for s in sample if s.vector]  # a track kept DSP-only by a reindex has none
        if not vectors:
            return []
        center = centroid(vectors).tolist()
        diverse = replace(options, diversity=max(options.diversity, 0.5))
        candidates = self._candidates(Nearest(center), diverse, exclude)
        word = (
            f"popular in {', '.join(options.filter.genres)}" if options.filter.genres else "popular in this collection"
        )
        return self._finish(candidates, diverse, [], word)

    def resolve_seeds(self, ids: Sequence[str], field_name: str) -> list[Record]:
        """Seed tracks with vectors. Ids that are only in a library (not analysed yet), and tracks without this
        release's vector (kept DSP-only by a reindex), are left out; ids nobody knows are a 404."""
        unique = list(dict.fromkeys(canonical_all(ids)))
        found = self.store.retrieve(TRACKS, unique, with_vector=self.vector_name)
        missing = [i for i in unique if i not in {r.id for r in found}]
        unknown = [i for i in missing if not self.store.count(library.LIBRARY, Filter(must=(Match("trackId", i),)))]
        if unknown:
            raise NotFound(
                f"unknown track id(s) in {field_name}: {', '.join(sorted(unknown))}",
                {"field": field_name, "trackIds": sorted(unknown)},
            )
        return [r for r in found if r.vector]

    def recommend(
        self,
        *,
        user_id: str | None,
        seed_ids: Sequence[str],
        negative_ids: Sequence[str],
        exclude_known: bool,
        options: RecommendOptions,
    ) -> tuple[list[Recommendation], str]:
        """Seeds (leaning to the user's taste when there is one); else the user's taste clusters;
        else a cold start. Disliked tracks never come back. Returns (items, strategy)."""
        seed_ids, negative_ids = canonical_all(seed_ids), canonical_all(negative_ids)
        if not user_id and not seed_ids:
            if not options.target:
                raise BadRequest(
                    "give userId, seedTrackIds or target", {"fields": ["userId", "seedTrackIds", "target"]}
                )
            negatives = self.tracks_with_vectors(negative_ids, "negativeTrackIds") if negative_ids else []
            return self.from_target(options, [n.id for n in negatives]), "target"
        user = self._user_taste(user_id)
        records, taste = user.records, user.taste
        disliked = [r.payload["trackId"] for r in records if "disliked" in (r.payload.get("reasons") or [])]
        known = [r.payload["trackId"] for r in records] if exclude_known else []
        seeds = self.resolve_seeds(seed_ids, "seedTrackIds") if seed_ids else []
        negatives = self.tracks_with_vectors(negative_ids, "negativeTrackIds") if negative_ids else []
        negative_vecs = [n.vector for n in negatives]
        # the user's own negatives, strongest first (dislikes before skips), a bounded number
        order = sorted(range(len(taste.negatives)), key=lambda j: -taste.negative_weights[j])
        negative_vecs += [records[taste.negatives[j]].vector for j in order[:MAX_TASTE_NEGATIVES]]
        exclude = list(dict.fromkeys([*seed_ids, *negative_ids, *known, *disliked]))

        if seeds:
            positives = [s.vector for s in seeds]
            strategy = "seeds"
            if not taste.empty:
                positives.append(taste.clusters[0].centroid.tolist())
                strategy = "seeds+taste"
            return self._around_seeds(seeds, positives, negative_vecs, options, exclude), strategy

        if taste.empty:
            return self.cold_start(options, exclude), "cold_start"

        ranked = []
        for n, cluster in enumerate(taste.clusters):
            vec = cluster.centroid.tolist()
            query = Recommend((vec,), tuple(negative_vecs)) if negative_vecs else Nearest(vec)
            anchors = [records[i] for i in cluster.members[:MAX_ANCHORS]]
            part = self._finish(
                self._candidates(query, options, exclude, anchors), options, anchors, "because you like"
            )
            if len(taste.clusters) > 1:
                for rec in part:
                    rec.because += f" (taste {n + 1} of {len(taste.clusters)})"
            ranked.append(part)
        items = take_by_slots(
            ranked,
            allocate(options.limit, [c.weight for c in taste.clusters]),
            options.limit,
            key=lambda r: r.payload["trackId"],
            score=lambda r: r.score,
            artists=lambda r: r.payload.get("artists") or [],
            max_per_artist=options.max_per_artist,
        )
        return items, "taste" if len(taste.clusters) == 1 else f"taste:{len(taste.clusters)}"

    def path(self, from_id: str, to_id: str, steps: int, flt: TrackFilter | None = None) -> list[Recommendation]:
        """`steps` tracks from one track to another (both included): each step the nearest unused track
        to its point on the way between the two vectors (the filter applies to the tracks between).
        Fewer items only when the store (or the filter) leaves too few tracks."""
        flt = flt or TrackFilter()
        flt.validate()
        start = self.tracks_with_vectors([from_id], "fromTrackId")[0]
        end = self.tracks_with_vectors([to_id], "toTrackId")[0]
        if start.id == end.id:
            raise BadRequest("fromTrackId and toTrackId are the same track", {"field": "toTrackId"})
        points = waypoints(start.vector, end.vector, steps)
        found: dict[str, Record] = {start.id: start, end.id: end}

        def nearest(point: np.ndarray, used: Sequence[str]) -> tuple[str, float] | None:
            hits = self.store.query(
                TRACKS,
                Nearest(point.tolist()),
                using=self.vector_name,
                limit=1,
                filter=flt.to_filter(used),
                hnsw_ef=RECOMMEND_EF,
            )
            if not hits:
                return None
            found[hits[0].id] = hits[0]
            return hits[0].id, float(hits[0].score or 0.0)

        route = walk(start.id, end.id, points, nearest)
        last = len(points) - 1
        ends = f"from {describe(start.payload)} to {describe(end.payload)}"
        out = []
        for track_id, score, step in route:
            if step == 0:
                because = f"start of the path {ends}"
            elif step == last:
                because = f"end of the path {ends}"
            else:
                because = f"step {step} of {last} on the path {ends}"
            out.append(Recommendation(payload=found[track_id].payload, score=round(score, 6), because=because))
        return out
