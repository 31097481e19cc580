"""Shapes shared by every resource: the error body, Track and Recommendation (API.md `Shapes`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta


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


class Descriptors(Base):
    """What the audio analysis measured, in plain units: the values `target` of a recommendation request compares
    (tempo, energy, brightness, loudnessDb) and a few more. Null when the track was analysed without it."""

    tempo: Annotated[float | None, Meta(description="BPM (beats per minute)")] = None
    energy: Annotated[
        float | None, Meta(description="0..1: loudness mapped linearly, -45 dBFS (very quiet) = 0, -5 dBFS = 1")
    ] = None
    brightness: Annotated[
        float | None, Meta(description="0..1: spectral centroid on a log scale, 250 Hz = 0, 6 kHz = 1")
    ] = None
    loudness_db: Annotated[
        float | None, Meta(description="RMS level of the analysed audio, dBFS (0 = full scale; lower is quieter)")
    ] = None
    centroid_hz: Annotated[float | None, Meta(description="spectral centroid, Hz")] = None
    noisiness: Annotated[float | None, Meta(description="0..1: spectral flatness, pure tones = 0, white noise = 1")] = (
        None
    )
    pulse_clarity: Annotated[float | None, Meta(description="0..1: how clear the beat is")] = None


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
    descriptors: Descriptors


class Recommendation(Track):
    score: float
    because: str
