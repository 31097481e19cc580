"""POST /v1/paths bodies."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from service.api.schemas.common import Base, Recommendation, Request
from service.api.schemas.recommendations import RecommendFilter


class PathRequest(Request):
    from_track_id: Annotated[str, Meta(min_length=1, max_length=200)]
    to_track_id: Annotated[str, Meta(min_length=1, max_length=200)]
    steps: Annotated[int, Meta(ge=3, le=50, description="tracks on the path, both ends included")] = 10
    filter: RecommendFilter | None = None


class PathResponse(Base):
    items: list[Recommendation]
