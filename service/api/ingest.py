"""/v1/ingest: how `musicrec ingest` hands analysed files to a running server.

The embedded store has one owner process; while `musicrec serve` holds it, the CLI analyses the files
itself (all cores) and sends the finished points here.
"""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from service.api.responses import errors
from service.api.schemas.ingest import (
    FilesCursor,
    FileTrack,
    FileTracks,
    FindTracks,
    FoundTrack,
    FoundTracks,
    IdList,
    IngestBatch,
    IngestResult,
    LibraryLink,
    PendingCursor,
    PendingSource,
    PendingSources,
    ReindexBegun,
    ReindexResults,
    Removed,
    TrackUpdates,
)
from service.catalog.handoff import ReindexHandOff
from service.catalog.service import Catalog, NewTrack


class IngestController(Controller):
    path = "/v1/ingest"
    tags = ["ingest"]
    # internal: `musicrec ingest` → the server that owns the embedded store. Left out of the document rather than
    # flagged `x-internal`: clients must not build on it (it changes with the CLI of the same package), generated
    # clients and the schemathesis fuzz would otherwise call it (writing arbitrary points), and most tools ignore
    # the extension. It still needs the key, like every /v1 route.
    include_in_schema = False

    @post(
        "/lookup",
        status_code=200,
        sync_to_thread=True,
        responses=errors(400),
        summary="Which ids are stored",
    )
    def lookup(self, catalog: NamedDependency[Catalog], data: JSONBody[IdList]) -> IdList:
        return IdList(ids=sorted(catalog.existing(data.ids)))

    @post(
        "/points",
        status_code=200,
        sync_to_thread=True,
        responses=errors(400),
        summary="Store analysed tracks",
    )
    def points(self, catalog: NamedDependency[Catalog], data: JSONBody[IngestBatch]) -> IngestResult:
        created, existing = catalog.add(
            [NewTrack(id=p.id, payload=p.payload, vectors=p.vectors, user_id=p.user_id) for p in data.points]
        )
        return IngestResult(created=created, existing=existing)

    @post(
        "/library",
        status_code=204,
        sync_to_thread=True,
        responses=errors(400),
        summary="Add stored tracks to a library",
    )
    def library(self, catalog: NamedDependency[Catalog], data: JSONBody[LibraryLink]) -> None:
        catalog.link(data.user_id, data.track_ids)

    @post(
        "/find", status_code=200, sync_to_thread=True, responses=errors(400), summary="Tracks by a stored hash or path"
    )
    def find(self, catalog: NamedDependency[Catalog], data: JSONBody[FindTracks]) -> FoundTracks:
        return FoundTracks(
            items=[FoundTrack(id=r.id, payload=r.payload) for r in catalog.find(data.field, data.values)]
        )

    @post("/update", status_code=204, sync_to_thread=True, responses=errors(400, 404), summary="Retagged/moved files")
    def update(self, catalog: NamedDependency[Catalog], data: JSONBody[TrackUpdates]) -> None:
        catalog.update([(i.id, i.payload) for i in data.items])

    @post("/delete", status_code=200, sync_to_thread=True, responses=errors(400), summary="Remove tracks (prune)")
    def delete(self, catalog: NamedDependency[Catalog], data: JSONBody[IdList]) -> Removed:
        tracks, entries = catalog.delete(data.ids)
        return Removed(tracks=tracks, library_entries=entries)

    @post("/files", status_code=200, sync_to_thread=True, responses=errors(400), summary="Tracks of local files")
    def files(self, catalog: NamedDependency[Catalog], data: JSONBody[FilesCursor]) -> FileTracks:
        items, next_cursor = catalog.file_tracks_page(data.cursor)
        return FileTracks(items=[FileTrack(id=i, path=p) for i, p in items], next_cursor=next_cursor)

    # --- `musicrec reindex` while this server owns the embedded store: the CLI analyses, the server stores --------
    @post("/reindex/begin", status_code=200, sync_to_thread=True, responses=errors(400), summary="Start a reindex")
    def reindex_begin(self, reindex: NamedDependency[ReindexHandOff]) -> ReindexBegun:
        steps = reindex.begin()
        report = steps.report
        return ReindexBegun(
            needed=steps.needed(), embedding=steps.vectors.embedding, source=report.source, target=report.target
        )

    @post("/reindex/pending", status_code=200, sync_to_thread=True, responses=errors(400), summary="Tracks to do")
    def reindex_pending(
        self, reindex: NamedDependency[ReindexHandOff], data: JSONBody[PendingCursor]
    ) -> PendingSources:
        sources, cursor = reindex.steps().pending(data.cursor, data.size)
        items = [
            PendingSource(id=s["id"], kind=s["kind"], path=s["path"], youtube_id=s["youtubeId"], title=s["title"])
            for s in sources
        ]
        return PendingSources(items=items, next_cursor=cursor)

    @post("/reindex/results", status_code=204, sync_to_thread=True, responses=errors(400), summary="Store results")
    def reindex_results(self, reindex: NamedDependency[ReindexHandOff], data: JSONBody[ReindexResults]) -> None:
        reindex.store_results(
            [
                (r.id, {"error": r.error} if r.error else {"vectors": r.vectors or {}, "styles": r.styles})
                for r in data.items
            ]
        )

    @post("/reindex/finish", status_code=200, sync_to_thread=True, responses=errors(400), summary="Swap in")
    def reindex_finish(self, reindex: NamedDependency[ReindexHandOff]) -> dict:
        return reindex.finish().as_json()
