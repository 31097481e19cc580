"""/v1/tracks bodies."""

from __future__ import annotations

from service.api.schemas.common import Base, Recommendation, Track


class TrackPage(Base):
    items: list[Track]
    next_cursor: str | None


class SimilarResponse(Base):
    items: list[Recommendation]


class AudioLink(Base):
    url: str  # relative to the API's root; GET it without a key until expiresAt
    expires_at: int  # unix seconds
