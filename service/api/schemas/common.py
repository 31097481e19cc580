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
    """What went wrong."""

    code: Annotated[
        str,
        Meta(
            description="Machine-readable error code, e.g. `bad_request`, `unauthorized`, `not_found`, `conflict`, "
            "`unavailable`"
        ),
    ]
    message: Annotated[str, Meta(description="What went wrong and how to fix it, for people")]
    details: Annotated[
        dict[str, Any],
        Meta(description="Specifics, e.g. `field` naming the request field at fault; always present, maybe empty"),
    ] = {}


class ErrorBody(Base):
    """Every error answer of the /v1 routes: one shape, with the matching HTTP status."""

    error: Annotated[ErrorInfo, Meta(description="The error")]


class Source(Base):
    """Where the track's audio came from."""

    kind: Annotated[
        Literal["spotify", "file"],
        Meta(
            description="`file`: a local file ingested by `musicrec ingest`; `spotify`: a Spotify track synced and "
            "analysed from a matched YouTube video"
        ),
    ]
    spotify_id: Annotated[str | None, Meta(description="The Spotify track id (spotify tracks), else null")] = None
    youtube_id: Annotated[
        str | None, Meta(description="The YouTube video the audio was analysed from (spotify tracks), else null")
    ] = None
    path: Annotated[
        str | None, Meta(description="The local file's absolute path, as ingested (file tracks), else null")
    ] = None


class AnalysisInfo(Base):
    """How the track's vector was made."""

    extractor: Annotated[str, Meta(description="The feature extractor that made the vector, e.g. `librosa`")]
    version: Annotated[int, Meta(description="The extractor's version; vectors of different versions are not compared")]
    match_confidence: Annotated[
        float | None,
        Meta(
            description="Spotify tracks: confidence (0..1) that the YouTube video analysed is this track; "
            "null for local files"
        ),
    ] = None


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


class Track(Base, kw_only=True):
    """An analysed track: its metadata, where its audio came from and how it was analysed."""

    track_id: Annotated[
        str,
        Meta(
            description="The track's id: a UUID (lower-case, hyphenated) derived from its Spotify id or its file's "
            "content, so re-ingesting the same audio gives the same id"
        ),
    ]
    title: Annotated[str, Meta(description="The title (from the tags; the file name when the file has none)")]
    artists: Annotated[list[str], Meta(description="The artists, in tag order; may be empty, never null")]
    album: Annotated[str | None, Meta(description="The album, or null when unknown")] = None
    genres: Annotated[list[str], Meta(description="The genres, as tagged; may be empty, never null")]
    duration_s: Annotated[float, Meta(description="Duration in seconds")]
    tempo: Annotated[float, Meta(description="Estimated tempo in beats per minute (BPM), from the audio")]
    year: Annotated[int | None, Meta(description="Release year, or null when unknown")] = None
    source: Annotated[Source, Meta(description="Where the audio came from")]
    analysis: Annotated[AnalysisInfo, Meta(description="How the vector was made")]
    descriptors: Annotated[Descriptors, Meta(description="What the analysis measured, in plain units")]
    styles: Annotated[
        list[str],
        Meta(
            description="The learned embedding's most probable tags (musicnn's Last.fm tags such as `electronic`, "
            "`instrumental`, `chill`), most probable first; empty for tracks analysed without the embedding"
        ),
    ]
    inferred: Annotated[
        list[Literal["album", "artists"]],
        Meta(
            description="Local files: which of `album`/`artists` were inferred from the folder layout "
            "(Artist/Album/file) rather than read from tags"
        ),
    ] = []


class Recommendation(Track):
    """A recommended track: the Track fields plus how close it is and why it was picked."""

    score: Annotated[
        float,
        Meta(
            description="Relevance, higher is closer; items are sorted by it, highest first. The cosine similarity "
            "(-1..1) between the track's vector and the query: the seed track, the seeds or the user's taste centroid "
            "(with negatives, Qdrant's best-score: the closest positive's similarity, negative when a negative track "
            "is closer). With `target`, the soft-target penalty (0..1) is subtracted. Compare scores within one "
            "answer, not across answers"
        ),
    ]
    because: Annotated[
        str,
        Meta(
            description="Why it was picked, for people: the seed or library track it is closest to "
            "(e.g. `similar to “Song” by Artist`), or the facet of a cold start"
        ),
    ]
