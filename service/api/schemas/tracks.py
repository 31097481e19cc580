"""/v1/tracks bodies."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from service.api.schemas.common import Base, Recommendation, Track


class TrackPage(Base):
    """One page of tracks."""

    items: Annotated[list[Track], Meta(description="The tracks of this page")]
    next_cursor: Annotated[str | None, Meta(description="Pass as `cursor` for the next page; null on the last page")]


class SimilarResponse(Base):
    """The tracks nearest to a track."""

    items: Annotated[list[Recommendation], Meta(description="The nearest tracks, highest score first")]


class AudioLink(Base):
    """A signed link to a track's audio."""

    url: Annotated[str, Meta(description="The link, relative to the API's root; GET it without a key until expiresAt")]
    expires_at: Annotated[int, Meta(description="When the link stops working, in unix seconds")]
