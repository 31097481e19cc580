"""/v1/ingest bodies (the hand-off from `musicrec ingest` to a running server)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta

from service.api.schemas.common import Base


# --- the CLI hands analysed files to a running server (the embedded store has one owner) -----------
class IngestPoint(Base):
    id: str
    payload: dict[str, Any]
    # the analysed vectors by name (librosa_v1, and musicnn_v2_raw when the embedding is on)
    vectors: Annotated[dict[str, list[float]], Meta(max_length=4)]
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


class FindTracks(Base):
    field: Literal["contentSha256", "audioSha256", "source.path"]
    values: Annotated[list[str], Meta(max_length=1000)]


class FoundTrack(Base):
    id: str
    payload: dict[str, Any]


class FoundTracks(Base):
    items: list[FoundTrack]


class TrackUpdate(Base):
    id: str
    payload: dict[str, Any]


class TrackUpdates(Base):
    items: Annotated[list[TrackUpdate], Meta(max_length=1000)]


class Removed(Base):
    tracks: int
    library_entries: int


class FilesCursor(Base):
    cursor: str | None = None


class FileTrack(Base):
    id: str
    path: str


class FileTracks(Base):
    items: list[FileTrack]
    next_cursor: str | None


# --- `musicrec reindex` → the server that owns the embedded store ----------------------------------------
class ReindexBegun(Base):
    needed: bool
    embedding: bool  # whether to analyse the learned embedding (the server's setting)
    source: dict[str, str]
    target: dict[str, str]


class PendingCursor(Base):
    cursor: str | None = None
    size: Annotated[int, Meta(ge=1, le=500)] = 64


class PendingSource(Base):
    id: str
    kind: str | None = None
    path: str | None = None
    youtube_id: str | None = None
    title: str = ""


class PendingSources(Base):
    items: list[PendingSource]
    next_cursor: str | None


class ReindexResult(Base):
    id: str
    vectors: Annotated[dict[str, list[float]], Meta(max_length=4)] | None = None
    styles: Annotated[list[str], Meta(max_length=16)] = []
    error: Annotated[str, Meta(max_length=1000)] | None = None


class ReindexResults(Base):
    items: Annotated[list[ReindexResult], Meta(max_length=500)]
