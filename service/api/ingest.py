"""/v1/ingest: how `musicrec ingest` hands analysed files to a running server.

The embedded store has one owner process; while `musicrec serve` holds it, the CLI analyses the files
itself (all cores) and sends the finished points here.
"""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from service.api.deps import errors
from service.api.schemas import IdList, IngestBatch, IngestResult, LibraryLink
from service.catalog.writes import existing_track_ids, link_tracks, store_tracks
from service.errors import BadRequest
from service.ids import is_uuid
from service.recommend.recommender import Recommender
from service.store.base import PointData


class IngestController(Controller):
    path = "/v1/ingest"
    tags = ["ingest"]

    @post(
        "/lookup",
        status_code=200,
        sync_to_thread=False,
        responses=errors(400),
        summary="Which ids are stored",
    )
    def lookup(self, recommender: NamedDependency[Recommender], data: JSONBody[IdList]) -> IdList:
        return IdList(ids=sorted(existing_track_ids(recommender.store, data.ids)))

    @post(
        "/points",
        status_code=200,
        sync_to_thread=False,
        responses=errors(400),
        summary="Store analysed tracks",
    )
    def points(self, recommender: NamedDependency[Recommender], data: JSONBody[IngestBatch]) -> IngestResult:
        size = recommender.vector_size
        by_user: dict[str | None, list[PointData]] = {}
        for p in data.points:
            if not is_uuid(p.id) or len(p.vector) != size:
                raise BadRequest(f"point {p.id!r}: needs a uuid id and a {size}-dim vector", {"field": "points"})
            by_user.setdefault(p.user_id, []).append(
                PointData(
                    id=p.id,
                    payload={**p.payload, "trackId": p.id},
                    vectors={recommender.vector_name: p.vector},
                )
            )
        created: list[str] = []
        existing: list[str] = []
        for user_id, points in by_user.items():
            c, e = store_tracks(recommender.store, points, vector_name=recommender.vector_name, user_id=user_id)
            created += c
            existing += e
        return IngestResult(created=created, existing=existing)

    @post(
        "/library",
        status_code=204,
        sync_to_thread=False,
        responses=errors(400),
        summary="Add stored tracks to a library",
    )
    def library(self, recommender: NamedDependency[Recommender], data: JSONBody[LibraryLink]) -> None:
        link_tracks(recommender.store, data.user_id, data.track_ids, vector_name=recommender.vector_name)
