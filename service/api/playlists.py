"""/v1/playlists: export a list of tracks as a playlist file."""

from __future__ import annotations

import re

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from service.api.responses import errors
from service.api.schemas.playlists import PlaylistRequest
from service.catalog.service import Catalog

M3U_TYPE = "audio/x-mpegurl"


def _filename(name: str | None) -> str:
    stem = re.sub(r"[^A-Za-z0-9._ -]+", "", name or "").strip(" .")[:80] or "musicrec"
    return f"{stem}.m3u8"


class PlaylistController(Controller):
    path = "/v1/playlists"
    tags = ["playlists"]

    @post(
        "/m3u",
        status_code=200,
        sync_to_thread=True,
        media_type=M3U_TYPE,
        responses=errors(400, 404),
        summary="The tracks as an M3U8 playlist (local paths for files, Spotify URIs otherwise)",
        description="Tracks in the order given. Unknown ids answer 404.",
        response_description="An extended M3U playlist, UTF-8",
    )
    def m3u(self, catalog: NamedDependency[Catalog], data: JSONBody[PlaylistRequest]) -> Response[str]:
        text = catalog.playlist(data.track_ids, data.name)
        return Response(
            text,
            media_type=f"{M3U_TYPE}; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{_filename(data.name)}"'},
        )
