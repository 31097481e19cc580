"""/v1/users bodies: feedback, stats, library."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from service.api.schemas.common import Base, Request


class FeedbackRequest(Request):
    track_id: Annotated[str, Meta(min_length=1, max_length=200)]
    kind: Literal["like", "dislike", "skip"]


class UserStats(Base):
    tracks_analyzed: int
    recommendations_served: int
    likes: int
    dislikes: int
    last_sync_at: float | None
    percent_liked: float


class LibraryItem(Base):
    track_id: str
    spotify_id: str | None
    title: str
    artists: list[str]
    analysed: bool
    reasons: list[str]


class LibraryPage(Base):
    items: list[LibraryItem]
    next_cursor: str | None


class UserSummary(Base):
    user_id: str
    library_tracks: int
    last_sync_at: float | None


class UserPage(Base):
    items: list[UserSummary]
    next_cursor: str | None
