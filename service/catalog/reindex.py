"""`musicrec reindex`: rebuild the collections with this release's vectors, beside the live ones, then swap.

The live collections (say `tracks_v1`, `library_v1`, `users_v1`, made by an earlier release) keep answering
while the new ones (`tracks_v2`, …, from collections/*.json) are filled:
1. tracks: every track is analysed again from its source (the file at `source.path`; for a Spotify track the
   matched video's audio, fetched by range requests) and stored in the new collection with its payload. A track
   whose source cannot be read keeps its DSP vector (the DSP extractor is unchanged) and is reported: it is not
   recommended until it is analysed again (re-ingest the file, or prune it).
2. the catalogue's centre is fitted on the new collection and every track's compared vectors derived from it;
3. library entries are copied with the new tracks' vectors, users with their payload (tastes are rebuilt on
   their next recommendation);
4. the aliases swap in one step; the old collections stay (delete them once you are happy).
Killed at any point, a new run resumes: tracks already in the new collection are not analysed again, the
copies of steps 3-4 are idempotent, and nothing the API reads changes before the swap.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from service.analysis.vectorset import DSP, VectorSet
from service.catalog.centre import CatalogueCentre
from service.catalog.pool import worker_pool
from service.errors import AudioError, MusicrecError
from service.store.base import PointData, Record, VectorStore
from service.store.schema import LIBRARY, TRACKS, USERS, load_specs

log = logging.getLogger("musicrec.reindex")

PAGE = 64
REMOTE = Callable[[dict[str, Any]], list]  # a Spotify track's payload → its decoded analysis windows


@dataclass
class ReindexReport:
    source: dict[str, str]  # logical name → the collection read
    target: dict[str, str]  # logical name → the collection built
    tracks: int = 0
    analysed: int = 0
    resumed: int = 0  # already in the new collection from an interrupted run
    kept_dsp_only: list[dict[str, str]] = field(default_factory=list)  # {trackId, title, reason}
    library: int = 0
    users: int = 0
    swapped: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "to": self.target,
            "tracks": self.tracks,
            "analysed": self.analysed,
            "resumed": self.resumed,
            "keptDspOnly": self.kept_dsp_only,
            "libraryEntries": self.library,
            "users": self.users,
            "swapped": self.swapped,
        }


def analyse_source(path: str, max_seconds: float, embedding: bool) -> dict[str, Any]:
    """A file track's analysed vectors and tags (runs in a worker process); {"error": ...} when unreadable."""
    from service.analysis import decode
    from service.analysis.track import analyse_track

    try:
        if not os.path.isfile(path):
            return {"error": "the file is gone"}
        decoded = decode.decode_for_analysis(path, max_seconds=max_seconds)
        analysis = analyse_track(decoded.windows, decode.SAMPLE_RATE, embedding=embedding)
    except AudioError as exc:
        return {"error": exc.message}
    except Exception as exc:  # an exotic file must not end the reindex
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"vectors": analysis.vectors, "styles": analysis.tags}


def _pages(store: VectorStore, collection: str, with_vector=None, size: int = PAGE) -> Iterator[list[Record]]:
    offset = None
    while True:
        page, offset = store.scroll(collection, limit=size, offset=offset, with_vector=with_vector)
        if page:
            yield page
        if offset is None:
            return


class Reindexer:
    def __init__(
        self,
        store: VectorStore,
        *,
        embedding: bool = True,
        max_seconds: float = 14_400.0,
        workers: int | None = None,
        remote: REMOTE | None = None,
        on_progress: Callable[[str, int, int], None] | None = None,
        page: int = PAGE,
    ):
        self.store = store
        self.page = page
        self.vectors = VectorSet(embedding=embedding)
        self.max_seconds = max_seconds
        self.workers = workers or os.cpu_count() or 1
        self.remote = remote
        self.on_progress = on_progress or (lambda stage, done, total: None)
        specs = load_specs()
        self.specs = {name: specs[name] for name in (TRACKS, LIBRARY, USERS)}
        self.report = ReindexReport(
            source={name: store.collection_name(name) for name in self.specs},
            target={name: spec.real_name for name, spec in self.specs.items()},
        )

    def needed(self) -> bool:
        return self.report.source != self.report.target

    def run(self) -> ReindexReport:
        if not self.needed():
            return self.report
        for spec in self.specs.values():
            self.store.create_collection(spec.real_name, spec)
        self._tracks()
        CatalogueCentre(self.store, self.vectors, tracks=self.report.target[TRACKS], library=None).refresh(force=True)
        self._library()
        self._users()
        self.store.flush()
        self.store.set_aliases(dict(self.report.target))
        self.report.swapped = True
        log.info("reindex: aliases now point to %s", ", ".join(self.report.target.values()))
        return self.report

    # --- tracks ----------------------------------------------------------------------------------------
    def _tracks(self) -> None:
        src, dst = self.report.source[TRACKS], self.report.target[TRACKS]
        total = self.store.count(src)
        self.report.tracks = total
        centre = CatalogueCentre(self.store, self.vectors, tracks=dst, library=None)
        done = 0
        pool: ProcessPoolExecutor | None = None
        try:
            for page in _pages(self.store, src, with_vector=DSP, size=self.page):
                there = {r.id for r in self.store.retrieve(dst, [r.id for r in page])}
                todo = [r for r in page if r.id not in there]
                self.report.resumed += len(page) - len(todo)
                files = [r for r in todo if (r.payload.get("source") or {}).get("kind") == "file"]
                if files and pool is None:
                    pool = worker_pool(self.workers)
                results: dict[str, dict[str, Any]] = {}
                if files and pool is not None:
                    paths = [str(r.payload["source"].get("path") or "") for r in files]
                    jobs = [(p, self.max_seconds, self.vectors.embedding) for p in paths]
                    for record, result in zip(files, pool.map(_analyse_args, jobs), strict=True):
                        results[record.id] = result
                for record in todo:
                    if record.id not in results:
                        results[record.id] = self._remote(record)
                points = [self._point(record, results[record.id], centre) for record in todo]
                if points:
                    self.store.upsert(dst, points)
                done += len(page)
                self.on_progress("tracks", done, total)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self.store.flush()

    def _remote(self, record: Record) -> dict[str, Any]:
        source = record.payload.get("source") or {}
        if source.get("kind") != "spotify" or not source.get("youtubeId"):
            return {"error": "no source to analyse again (no file path or matched video)"}
        if self.remote is None:
            return {"error": "Spotify tracks need the media fetcher (run reindex from the CLI)"}
        from service.analysis.track import analyse_track

        try:
            windows = self.remote(record.payload)
            analysis = analyse_track(windows, embedding=self.vectors.embedding)
        except MusicrecError as exc:
            return {"error": exc.message}
        return {"vectors": analysis.vectors, "styles": analysis.tags}

    def _point(self, record: Record, result: dict[str, Any], centre: CatalogueCentre) -> PointData:
        payload = dict(record.payload)
        analysis = dict(payload.get("analysis") or {})
        if "error" in result or not record.vector:
            vectors = {DSP: record.vector} if record.vector else {}
            if "error" in result:
                self.report.kept_dsp_only.append(
                    {"trackId": record.id, "title": str(payload.get("title")), "reason": result["error"]}
                )
            analysis["vectors"] = sorted(vectors)
        else:
            vectors = centre.derive(result["vectors"])
            payload["styles"] = result["styles"]
            analysis["vectors"] = sorted(result["vectors"])
            self.report.analysed += 1
        payload["analysis"] = analysis
        return PointData(id=record.id, payload=payload, vectors=vectors)

    # --- library and users -----------------------------------------------------------------------------
    def _library(self) -> None:
        src, dst = self.report.source[LIBRARY], self.report.target[LIBRARY]
        tracks, query = self.report.target[TRACKS], self.vectors.query
        total, done = self.store.count(src), 0
        for page in _pages(self.store, src):
            ids = list(dict.fromkeys(str(r.payload.get("trackId")) for r in page if r.payload.get("trackId")))
            found = {t.id: t.vector for t in self.store.retrieve(tracks, ids, with_vector=query) if t.vector}
            points = []
            for entry in page:
                vector = found.get(str(entry.payload.get("trackId")))
                points.append(PointData(id=entry.id, payload=entry.payload, vectors={query: vector} if vector else {}))
            self.store.upsert(dst, points)
            done += len(page)
            self.report.library = done
            self.on_progress("library", done, total)

    def _users(self) -> None:
        src, dst = self.report.source[USERS], self.report.target[USERS]
        done = 0
        for page in _pages(self.store, src):
            # a fresh libraryVersion: every process rebuilds the user's taste from the new library vectors
            points = [PointData(id=u.id, payload={**u.payload, "libraryVersion": uuid.uuid4().hex}) for u in page]
            self.store.upsert(dst, points)
            done += len(page)
        self.report.users = done


def _analyse_args(args: tuple[str, float, bool]) -> dict[str, Any]:
    return analyse_source(*args)
