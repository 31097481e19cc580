"""/v1/map: every track as a point in 2-D (the web page's library map)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from service.api.responses import errors
from service.api.schemas.map import MapPoint, MapResponse
from service.catalog.service import Catalog


class MapController(Controller):
    path = "/v1/map"
    tags = ["map"]

    @get(
        "/",
        sync_to_thread=True,
        responses=errors(400),
        summary="A 2-D layout of the stored vectors, cached until the catalogue changes",
        description=(
            "`method` names the layout (PCA of the unit vectors). Each point's `group` is the value it is "
            "coloured by: album, first genre, first artist, or `in library`/`not in library` for colorBy=user "
            "(which needs userId). With userId, `inLibrary` marks that user's library tracks."
        ),
    )
    def get_map(
        self,
        catalog: NamedDependency[Catalog],
        color_by: Annotated[
            Literal["album", "genre", "artist", "user"],
            QueryParameter(
                name="colorBy",
                description="What each point's `group` is: its album, first genre, first artist, or (`user`, which "
                "needs userId) whether it is in the user's library",
            ),
        ] = "album",
        user_id: Annotated[
            str | None,
            QueryParameter(
                name="userId", min_length=1, max_length=200, description="Mark this user's library (`inLibrary`)"
            ),
        ] = None,
    ) -> MapResponse:
        method, points = catalog.map_points(color_by, user_id)
        return MapResponse(method=method, items=msgspec.convert(points, list[MapPoint]))
