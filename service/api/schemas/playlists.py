"""POST /v1/playlists/m3u bodies."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from service.api.schemas.common import Request


class PlaylistRequest(Request):
    """The tracks of a playlist, in order."""

    track_ids: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=200)]],
        Meta(min_length=1, max_length=1000, description="The tracks (trackIds), in playlist order (1..1000)"),
    ]
    name: Annotated[
        Annotated[str, Meta(max_length=200)] | None,
        Meta(description="The playlist's title (#PLAYLIST) and file name; `musicrec` when absent"),
    ] = None
