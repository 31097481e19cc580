"""Shared by controllers: the OpenAPI error responses of a route, and stored payload → response body."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from service.api.schemas.common import ErrorBody, Recommendation, Track
from service.api.schemas.recommendations import RecommendFilter
from service.recommend.recommender import Recommendation as Rec
from service.recommend.recommender import TrackFilter

log = logging.getLogger("musicrec.api")

UUID_PATTERN = "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
# a page cursor is the `nextCursor` of the page before: a point id
CursorQuery = Annotated[
    str | None, QueryParameter(pattern=UUID_PATTERN, description="`nextCursor` of the previous page")
]


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error answers a route can give (401 for every /v1 route)."""
    descriptions = {
        400: "Bad input: which field and why",
        416: "The asked byte range lies outside the file",
        401: "Missing or wrong API key",
        404: "Unknown id",
        409: "Conflict",
        503: "A dependency (Qdrant, broker) is down; retry after Retry-After seconds",
    }
    return {
        s: ResponseSpec(data_container=ErrorBody, description=descriptions[s], generate_examples=False)
        for s in sorted({401, 503, *statuses})
    }


def with_descriptors(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with its `descriptors` as the response shows them (tempo from the track when not measured
    apart; none at all for a point written without them)."""
    return {
        **payload,
        "descriptors": {"tempo": payload.get("tempo"), **(payload.get("descriptors") or {})},
        "styles": payload.get("styles") or [],  # none for tracks analysed before the embedding
    }


def to_track(payload: dict[str, Any]) -> Track:
    return msgspec.convert(with_descriptors(payload), Track)


def to_recommendations(recs: list[Rec]) -> list[Recommendation]:
    """Response items; a stored point this version cannot read is logged and left out, never a 500."""
    items = []
    for rec in recs:
        try:
            body = {**with_descriptors(rec.payload), "score": rec.score, "because": rec.because}
            items.append(msgspec.convert(body, Recommendation))
        except msgspec.ValidationError as exc:
            log.warning("track point %s left out of an answer: %s", rec.payload.get("trackId"), exc)
    return items


def track_filter(f: RecommendFilter | None) -> TrackFilter:
    """A request body's `filter` as the recommender's TrackFilter."""
    if f is None:
        return TrackFilter()
    return TrackFilter(
        genres=tuple(f.genres),
        artists=tuple(f.artists),
        exclude_artists=tuple(f.exclude_artists),
        styles=tuple(f.styles),
        tempo_min=f.tempo_min,
        tempo_max=f.tempo_max,
        year_min=f.year_min,
        year_max=f.year_max,
        duration_min_s=f.duration_min_s,
        duration_max_s=f.duration_max_s,
    )
