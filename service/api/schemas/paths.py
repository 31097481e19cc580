"""POST /v1/paths bodies."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from service.api.schemas.common import Base, Recommendation, Request
from service.api.schemas.recommendations import RecommendFilter


class PathRequest(Request):
    """A song path: from one track to another through the tracks in between."""

    from_track_id: Annotated[str, Meta(min_length=1, max_length=200, description="The first track (trackId)")]
    to_track_id: Annotated[str, Meta(min_length=1, max_length=200, description="The last track (trackId)")]
    steps: Annotated[int, Meta(ge=3, le=50, description="Tracks on the path, both ends included (3..50)")] = 10
    filter: Annotated[RecommendFilter | None, Meta(description="Hard filters for the tracks between the two ends")] = (
        None
    )


class PathResponse(Base):
    """The path, in order."""

    items: Annotated[
        list[Recommendation],
        Meta(
            description="The tracks along the way: first fromTrackId, last toTrackId, no repeats; `score` is each "
            "track's cosine similarity to its point on the way"
        ),
    ]
