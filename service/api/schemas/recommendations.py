"""POST /v1/recommendations bodies."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from service.api.schemas.common import Base, Recommendation, Request


class RecommendFilter(Request):
    """Hard filters: a track that does not match is never returned. Bounds are inclusive; all given conditions
    must hold."""

    genres: Annotated[list[str], Meta(description="Only tracks with one of these genres (any case)")] = []
    artists: Annotated[list[str], Meta(description="Only tracks by one of these artists (any case)")] = []
    exclude_artists: Annotated[list[str], Meta(description="No tracks by any of these artists (any case)")] = []
    styles: Annotated[
        list[str],
        Meta(
            description="Only tracks with one of these styles (`Track.styles`: the learned embedding's tags, "
            "e.g. `electronic`, `instrumental`, `chill`)"
        ),
    ] = []
    tempo_min: Annotated[float | None, Meta(description="Lowest tempo, in beats per minute (BPM)")] = None
    tempo_max: Annotated[float | None, Meta(description="Highest tempo, in beats per minute (BPM)")] = None
    year_min: Annotated[
        float | None, Meta(description="Earliest release year (tracks without a year are left out)")
    ] = None
    year_max: Annotated[float | None, Meta(description="Latest release year (tracks without a year are left out)")] = (
        None
    )
    duration_min_s: Annotated[
        Annotated[float, Meta(ge=0)] | None, Meta(description="Shortest duration, in seconds")
    ] = None
    duration_max_s: Annotated[Annotated[float, Meta(ge=0)] | None, Meta(description="Longest duration, in seconds")] = (
        None
    )


class RecommendTarget(Request):
    """Soft targets: closer tracks rank higher, none is excluded (see `filter` for hard ranges). Units and scales
    are those of `Track.descriptors`. Each track's distance to each given target is measured in the target's scale
    (tempo 40 BPM, energy 0.25, brightness 0.25, loudness 10 dB), capped at 1; the mean over the given targets
    (0..1) is subtracted from the track's score. With no seed and no user, `target` alone asks for the closest
    tracks."""

    tempo: Annotated[
        Annotated[float, Meta(gt=0, le=400)] | None,
        Meta(description="Wanted tempo, in beats per minute (BPM, 0 < tempo <= 400); 40 BPM off counts as fully off"),
    ] = None
    energy: Annotated[
        Annotated[float, Meta(ge=0, le=1)] | None,
        Meta(
            description="Wanted energy, 0..1: the loudness of the audio on a scale where -45 dBFS (very quiet) is 0 "
            "and -5 dBFS (brick-walled) is 1; typical masters land at 0.6-0.9"
        ),
    ] = None
    brightness: Annotated[
        Annotated[float, Meta(ge=0, le=1)] | None,
        Meta(
            description="Wanted brightness, 0..1: the spectral centroid on a log scale where 250 Hz (dark) is 0 and "
            "6 kHz (bright) is 1"
        ),
    ] = None
    loudness_db: Annotated[
        Annotated[float, Meta(ge=-100, le=10)] | None,
        Meta(description="Wanted loudness, in dBFS (RMS level of the analysed audio, 0 = full scale; -100..10)"),
    ] = None


class RecommendRequest(Request):
    """What to recommend from: a user, seed tracks, or both (at least one of the two), with filters, soft targets,
    diversity and a per-artist cap."""

    user_id: Annotated[
        Annotated[str, Meta(min_length=1, max_length=200)] | None,
        Meta(
            description="Recommend from this user's library and feedback (their taste). An unknown user, or one with "
            "an empty library, gets a cold start (a varied pick around the centre of the catalogue), not a 404"
        ),
    ] = None
    seed_track_ids: Annotated[
        list[str],
        Meta(
            max_length=100,
            description="Recommend tracks like these (trackIds; at most 100). Seeds are never in the answer; an "
            "unknown id answers 404. With a userId too, the seeds lead and the user's main taste joins them",
        ),
    ] = []
    negative_track_ids: Annotated[
        list[str],
        Meta(
            max_length=100,
            description="Push the answer away from these tracks (trackIds; at most 100); never in the answer",
        ),
    ] = []
    limit: Annotated[int, Meta(ge=1, le=100, description="How many tracks to return (1..100)")] = 20
    exclude_known: Annotated[
        bool,
        Meta(
            description="Leave out the tracks already in the user's library (true by default; no effect without "
            "userId). Tracks the user disliked are left out either way"
        ),
    ] = True
    filter: Annotated[
        RecommendFilter | None, Meta(description="Hard filters (genre, artist, tempo, year, duration)")
    ] = None
    target: Annotated[
        RecommendTarget | None,
        Meta(description="Soft targets (tempo, energy, brightness, loudness): closer tracks rank higher"),
    ] = None
    diversity: Annotated[
        float,
        Meta(
            ge=0,
            le=1,
            description="0..1. 0 = pure similarity (the closest tracks); above 0 the picks follow maximal marginal "
            "relevance (MMR): each next pick maximises (1 - diversity) * score - diversity * (its highest cosine "
            "similarity to the tracks already picked), so higher values give a more varied list. The list stays "
            "sorted by score. A cold start uses at least 0.5",
        ),
    ] = 0.0
    max_per_artist: Annotated[
        Annotated[int, Meta(ge=1, le=100)] | None,
        Meta(description="At most this many tracks by any one artist (1..100); no cap when absent"),
    ] = None


class RecommendResponse(Base):
    """Recommended tracks, best first, and how they were found."""

    items: Annotated[list[Recommendation], Meta(description="The recommended tracks, highest score first")]
    strategy: Annotated[
        str,
        Meta(
            description="How the answer was made: `seeds` (seed tracks only), `seeds+taste` (seeds plus the user's "
            "main taste), `taste` (the user's library), `taste:N` (N taste clusters, each given a share of the "
            "list), `cold_start` (no seeds and nothing known of the user)"
        ),
    ]
