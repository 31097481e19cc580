"""/v1/users bodies: feedback, stats, library."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from service.api.schemas.common import Base, Request


class FeedbackRequest(Request):
    """A user's reaction to a track."""

    track_id: Annotated[str, Meta(min_length=1, max_length=200, description="The track (trackId)")]
    kind: Annotated[
        Literal["like", "dislike", "skip"],
        Meta(
            description="`like` pulls the user's taste towards the track; `dislike` pushes it away and the track "
            "is never recommended to the user again; `skip` pushes away more gently"
        ),
    ]


class UserStats(Base):
    """A user's counters."""

    tracks_analyzed: Annotated[int, Meta(description="Tracks of the user's library that are analysed")]
    recommendations_served: Annotated[
        int, Meta(description="Tracks recommended to the user so far (best effort while Redis is down)")
    ]
    likes: Annotated[int, Meta(description="Tracks the user liked")]
    dislikes: Annotated[int, Meta(description="Tracks the user disliked")]
    last_sync_at: Annotated[
        float | None, Meta(description="When the user's Spotify library was last read, unix seconds; null if never")
    ]
    percent_liked: Annotated[
        float, Meta(description="likes / recommendationsServed * 100 (a percentage, 1 decimal); 0 when none served")
    ]


class LibraryItem(Base):
    """A track in a user's library."""

    track_id: Annotated[str, Meta(description="The track's id")]
    spotify_id: Annotated[str | None, Meta(description="The Spotify track id, or null for local files")]
    title: Annotated[str, Meta(description="The track's title")]
    artists: Annotated[list[str], Meta(description="The track's artists")]
    analysed: Annotated[
        bool, Meta(description="Whether the track is analysed (stored with a vector); false while a sync is pending")
    ]
    reasons: Annotated[
        list[str],
        Meta(
            description="Why the track is in the library: `top_short`, `top_medium`, `top_long` (Spotify top tracks "
            "by time range), `saved`, `playlist`, `followed_artist`, `liked`, `disliked`, `skipped`, `ingested`"
        ),
    ]


class LibraryPage(Base):
    """One page of a user's library."""

    items: Annotated[list[LibraryItem], Meta(description="The library entries of this page")]
    next_cursor: Annotated[str | None, Meta(description="Pass as `cursor` for the next page; null on the last page")]


class UserSummary(Base):
    """A known user."""

    user_id: Annotated[str, Meta(description="The user's id")]
    library_tracks: Annotated[int, Meta(description="Entries in the user's library")]
    last_sync_at: Annotated[
        float | None, Meta(description="When the user's Spotify library was last read, unix seconds; null if never")
    ]


class UserPage(Base):
    """One page of users."""

    items: Annotated[list[UserSummary], Meta(description="The users of this page")]
    next_cursor: Annotated[str | None, Meta(description="Pass as `cursor` for the next page; null on the last page")]
