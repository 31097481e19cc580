"""POST /v1/recommendations bodies."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from service.api.schemas.common import Base, Recommendation, Request


class RecommendFilter(Request):
    genres: list[str] = []
    artists: list[str] = []
    exclude_artists: list[str] = []
    tempo_min: float | None = None
    tempo_max: float | None = None
    year_min: float | None = None
    year_max: float | None = None
    duration_min_s: Annotated[float, Meta(ge=0)] | None = None
    duration_max_s: Annotated[float, Meta(ge=0)] | None = None


class RecommendTarget(Request):
    """Soft targets: closer tracks rank higher, none is excluded (see `filter` for hard ranges). Units and scales
    are those of `Track.descriptors`: tempo BPM, energy 0..1, brightness 0..1, loudnessDb dBFS; one unit off is
    40 BPM, 0.25, 0.25 and 10 dB. With no seed and no user, `target` alone asks for the closest tracks."""

    tempo: Annotated[float, Meta(gt=0, le=400)] | None = None
    energy: Annotated[float, Meta(ge=0, le=1)] | None = None
    brightness: Annotated[float, Meta(ge=0, le=1)] | None = None
    loudness_db: Annotated[float, Meta(ge=-100, le=10)] | None = None


class RecommendRequest(Request):
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
