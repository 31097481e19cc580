"""Shapes shared by every resource: the error body, Track and Recommendation (API.md `Shapes`)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class Base(msgspec.Struct, rename="camel", forbid_unknown_fields=False):
    pass


class Request(Base, forbid_unknown_fields=True):
    """A request body: a field the API does not know is a 400 naming it (a typo like `filters` must not
    silently return unfiltered results)."""


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


class Track(Base, kw_only=True):
    track_id: str
    title: str
    artists: list[str]
    album: str | None = None  # always in the answer (null when unknown)
    genres: list[str]
    duration_s: float
    tempo: float
    year: int | None = None  # always in the answer (null when unknown)
    source: Source
    analysis: AnalysisInfo
    # local files: which of `album`/`artists` were inferred from the folder layout (Artist/Album/file), not tags
    inferred: list[Literal["album", "artists"]] = []


class Recommendation(Track):
    score: float
    because: str
