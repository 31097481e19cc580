"""/v1/paths: a song path from one track to another."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from service.api.responses import errors, to_recommendations, track_filter
from service.api.schemas.paths import PathRequest, PathResponse
from service.recommend.recommender import Recommender


class PathController(Controller):
    path = "/v1/paths"
    tags = ["paths"]

    @post(
        "/",
        status_code=200,
        sync_to_thread=True,
        responses=errors(400, 404),
        summary="Tracks leading from one track to another through the nearest tracks along the way",
        description=(
            "`steps` items (3..50, default 10): the first is fromTrackId, the last toTrackId, each one between "
            "the nearest unused track to its point on the way between the two vectors (the filter applies to "
            "those). No repeats; fewer items only when too few tracks are stored. Unknown ids answer 404."
        ),
    )
    def song_path(self, recommender: NamedDependency[Recommender], data: JSONBody[PathRequest]) -> PathResponse:
        items = recommender.path(data.from_track_id, data.to_track_id, data.steps, track_filter(data.filter))
        return PathResponse(items=to_recommendations(items))
