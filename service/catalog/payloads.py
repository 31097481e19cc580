"""The stored track payload as a typed struct (API.md `Track` plus what soft targets and ingest need).

Payloads are written only through `TrackPayload` and read back through `read_track`: a point that does
not fit (an old or foreign one) is logged and skipped, never served half-read.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from service.errors import BadRequest
from service.stored import read_stored, to_payload  # noqa: F401  (to_payload: the writers' entry point)

Finite = Annotated[float, Meta(ge=-1e12, le=1e12)]  # rejects nan and inf as well as absurd magnitudes
Text = Annotated[str, Meta(max_length=1000)]


class Source(msgspec.Struct, rename="camel", kw_only=True):
    kind: Literal["spotify", "file"]
    spotify_id: Text | None = None
    youtube_id: Text | None = None
    path: Annotated[str, Meta(max_length=4096)] | None = None


class AnalysisInfo(msgspec.Struct, rename="camel", kw_only=True):
    extractor: Text
    version: Annotated[int, Meta(ge=1)]
    match_confidence: Annotated[float, Meta(ge=0, le=1)] | None = None
    # the named vectors the analysis produced (librosa_v1, musicnn_v2_raw); tracks of earlier releases lack it
    vectors: Annotated[list[Text], Meta(max_length=16)] = []


class TrackPayload(msgspec.Struct, rename="camel", kw_only=True):
    track_id: Text
    title: Text
    artists: Annotated[list[Text], Meta(max_length=100)]
    # album and year default to None: Qdrant Edge's set_payload drops a key set to null (a retag that removes a tag)
    album: Text | None = None
    genres: Annotated[list[Text], Meta(max_length=100)]
    duration_s: Annotated[float, Meta(gt=0, le=1e6)]
    tempo: Annotated[float, Meta(gt=0, le=1000)]
    year: Annotated[int, Meta(ge=0, le=9999)] | None = None
    source: Source
    analysis: AnalysisInfo
    descriptors: Annotated[dict[Text, Finite], Meta(max_length=64)] = {}
    # the learned embedding's most probable tags (musicnn's Last.fm tags, lower case), most probable first
    styles: Annotated[list[Text], Meta(max_length=16)] = []
    # derived from `genres`/`artists` for case-insensitive filters (service.keys); stores written by
    # the previous release lack them until the start-up backfill
    genres_key: Annotated[list[Text], Meta(max_length=100)] = []
    artists_key: Annotated[list[Text], Meta(max_length=100)] = []
    content_sha256: Annotated[str, Meta(pattern="^[0-9a-f]{64}$")] | None = None  # the file's bytes (tags included)
    # local files: the audio stream's packets (no tags): what finds a retagged or moved file again
    audio_sha256: Annotated[str, Meta(pattern="^[0-9a-f]{64}$")] | None = None
    # local files: which of album/artists come from the folder layout (Artist/Album/file), not from tags
    inferred: Annotated[list[Literal["album", "artists"]], Meta(max_length=2)] = []
    # local files: the genres `musicrec ingest --genre` added (kept when the file's own genre tags change)
    given_genres: Annotated[list[Text], Meta(max_length=100)] = []


def parse_track(payload: dict[str, Any], *, field: str = "payload") -> TrackPayload:
    """A payload from outside (the ingest hand-off): the struct, or a 400 naming the field."""
    try:
        return msgspec.convert(payload, TrackPayload)
    except msgspec.ValidationError as exc:
        where = str(exc).rsplit(" - at `$", 1)
        path = f"{field}{where[1].rstrip('`')}" if len(where) == 2 else field
        raise BadRequest(f"{field}: {where[0]}", {"field": path}) from None


def read_track(point_id: str, payload: dict[str, Any]) -> TrackPayload | None:
    """A stored payload read back, or None (logged) when it does not fit this version's shape."""
    return read_stored(TrackPayload, point_id, payload)
