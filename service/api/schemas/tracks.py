"""/v1/tracks bodies."""

from __future__ import annotations

from service.api.schemas.common import Base, Recommendation, Track


class TrackPage(Base):
    items: list[Track]
    next_cursor: str | None


class SimilarResponse(Base):
    items: list[Recommendation]
