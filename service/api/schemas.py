"""Request and response bodies (API.md shapes), msgspec Structs with camelCase field names."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta


class Base(msgspec.Struct, rename="camel", forbid_unknown_fields=False):
    pass


class ErrorInfo(Base):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorBody(Base):
    error: ErrorInfo


class Source(Base):
    kind: Literal["spotify", "file"]
    spotify_id: str | None = None
    youtube_id: str | None = None
    path: str | None = None


class AnalysisInfo(Base):
    extractor: str
    version: int
    match_confidence: float | None = None


class Track(Base):
    track_id: str
    title: str
    artists: list[str]
    album: str | None
    genres: list[str]
    duration_s: float
    tempo: float
    year: int | None
    source: Source
    analysis: AnalysisInfo


class Recommendation(Track):
    score: float
    because: str


class TrackPage(Base):
    items: list[Track]
    next_cursor: str | None


class SimilarResponse(Base):
    items: list[Recommendation]


class RecommendFilter(Base):
    genres: list[str] = []
    artists: list[str] = []
    exclude_artists: list[str] = []
    tempo_min: float | None = None
    tempo_max: float | None = None
    year_min: float | None = None
    year_max: float | None = None
    duration_min_s: Annotated[float, Meta(ge=0)] | None = None
    duration_max_s: Annotated[float, Meta(ge=0)] | None = None


class RecommendTarget(Base):
    """Soft targets: closer tracks rank higher, none is excluded (see `filter` for hard ranges)."""

    tempo: Annotated[float, Meta(gt=0, le=400)] | None = None
    energy: Annotated[float, Meta(ge=0, le=1)] | None = None
    brightness: Annotated[float, Meta(ge=0, le=1)] | None = None
    loudness_db: Annotated[float, Meta(ge=-100, le=10)] | None = None


class RecommendRequest(Base):
    user_id: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    seed_track_ids: Annotated[list[str], Meta(max_length=100)] = []
    negative_track_ids: Annotated[list[str], Meta(max_length=100)] = []
    limit: Annotated[int, Meta(ge=1, le=100)] = 20
    exclude_known: bool = True
    filter: RecommendFilter | None = None
    target: RecommendTarget | None = None
    diversity: Annotated[float, Meta(ge=0, le=1)] = 0.0
    max_per_artist: Annotated[int, Meta(ge=1, le=100)] | None = None


class RecommendResponse(Base):
    items: list[Recommendation]
    strategy: str


class Health(Base):
    status: Literal["ok", "degraded"]
    qdrant: Literal["ok", "down"]
    broker: Literal["ok", "down", "inproc"]
    tracks: int


class Pong(msgspec.Struct):
    message: str


# --- the CLI hands analysed files to a running server (the embedded store has one owner) -----------
class IngestPoint(Base):
    id: str
    payload: dict[str, Any]
    vector: list[float]
    user_id: str | None = None


class IngestBatch(Base):
    points: Annotated[list[IngestPoint], Meta(max_length=1000)]


class IdList(Base):
    ids: Annotated[list[str], Meta(max_length=1000)]


class IngestResult(Base):
    created: list[str]
    existing: list[str]


class LibraryLink(Base):
    user_id: Annotated[str, Meta(min_length=1, max_length=200)]
    track_ids: Annotated[list[str], Meta(max_length=1000)]


class FeedbackRequest(Base):
    track_id: Annotated[str, Meta(min_length=1, max_length=200)]
    kind: Literal["like", "dislike", "skip"]


class UserStats(Base):
    tracks_analyzed: int
    recommendations_served: int
    likes: int
    dislikes: int
    last_sync_at: float | None
    percent_liked: float


class LibraryItem(Base):
    track_id: str
    spotify_id: str | None
    title: str
    artists: list[str]
    analysed: bool
    reasons: list[str]


class LibraryPage(Base):
    items: list[LibraryItem]
    next_cursor: str | None


# --- seed-compatible shapes (04mscott/Recommendation-API), snake_case as its clients send them ----
class LegacyRecommendRequest(msgspec.Struct):
    user_id: Annotated[str, Meta(min_length=1, max_length=200)]


class LegacyRecommendResponse(msgspec.Struct):
    user_id: str
    total: int
    song_ids: list[str]


class LegacyStats(msgspec.Struct):
    songs_analyzed: int
    num_recs: int
    recent_like: str | None
    num_likes: int
    percent: float


class LegacyDenied(msgspec.Struct):
    detail: str


class JobCreated(Base):
    job_id: str


class JobProgress(Base):
    done: int
    total: int
    failed: int
    ignored: int


class JobFailure(Base):
    spotify_id: str
    title: str
    artists: list[str]
    reason: str


class Job(Base):
    job_id: str
    state: Literal["queued", "running", "done", "failed"]
    progress: JobProgress
    failures: list[JobFailure]
    error: str | None


class LegacySaveData(msgspec.Struct):
    user_id: Annotated[str, Meta(min_length=1, max_length=200)]


class LegacyTaskStarted(msgspec.Struct):
    message: str
    task_id: str


class LegacyTaskStatus(msgspec.Struct):
    status: str
    result: Any
