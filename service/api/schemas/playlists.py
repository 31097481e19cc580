"""POST /v1/playlists/m3u bodies."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from service.api.schemas.common import Request


class PlaylistRequest(Request):
    track_ids: Annotated[list[Annotated[str, Meta(min_length=1, max_length=200)]], Meta(min_length=1, max_length=1000)]
    name: Annotated[str, Meta(max_length=200)] | None = None
