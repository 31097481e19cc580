"""`musicrec reindex`, the store side: rebuild the collections with this release's vectors beside the live ones,
then swap.

The live collections (say `tracks_v2`, `library_v2`, `users_v2`, `centres_v1`, made by an earlier release) keep
answering while the new ones (`tracks_v3`, …, from collections/*.json) are filled:
1. tracks: every track is analysed again from its source (`reanalyse`: the file at `source.path`; for a Spotify
   track the matched video's audio) and stored in the new collection with its payload. A track whose source
   cannot be read keeps its DSP vector (the DSP extractor is unchanged) and is reported: it is not recommended
   until it is analysed again (re-ingest the file, or prune it).
2. the catalogue's centre is fitted on the new collection (into the new `centres`: the embedding's version names
   its vector) and every track's compared vectors derived from it;
3. library entries are copied with the new tracks' vectors, users with their payload (tastes are rebuilt on
   their next recommendation);
4. the aliases swap in one step; the old collections stay (delete them once you are happy).
Killed at any point, a new run resumes: tracks already in the new collection are not analysed again, the
copies of steps 3-4 are idempotent, and nothing the API reads changes before the swap.

This module never analyses audio (the API imports it for the hand-off from `musicrec reindex` to a running
server): `ReindexSteps` takes analysis results; `reanalyse.Reindexer` runs the whole thing in one process.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.analysis.vectorset import DSP, VectorSet
from service.catalog.centre import CatalogueCentre
from service.errors import BadRequest
from service.ids import is_uuid
from service.store.base import PointData, Record, VectorStore
from service.store.schema import CENTRES, LIBRARY, TRACKS, USERS, load_specs

log = logging.getLogger("musicrec.reindex")

PAGE = 64
Progress = Callable[[str, int, int], None]


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


def source_of(record: Record) -> dict[str, Any]:
    """What the analysis side needs to read a track's audio again."""
    source = record.payload.get("source") or {}
    return {
        "id": record.id,
        "kind": source.get("kind"),
        "path": source.get("path"),
        "youtubeId": source.get("youtubeId"),
        "title": str(record.payload.get("title")),
    }


def _pages(store: VectorStore, collection: str, with_vector=None, size: int = PAGE) -> Iterator[list[Record]]:
    offset = None
    while True:
        page, offset = store.scroll(collection, limit=size, offset=offset, with_vector=with_vector)
        if page:
            yield page
        if offset is None:
            return


class ReindexSteps:
    """The store side of a reindex, step by step (each idempotent)."""

    def __init__(self, store: VectorStore, *, embedding: bool = True, on_progress: Progress | None = None):
        self.store = store
        self.vectors = VectorSet(embedding=embedding)
        self.on_progress = on_progress or (lambda stage, done, total: None)
        specs = load_specs()
        self.specs = {name: specs[name] for name in (TRACKS, LIBRARY, USERS, CENTRES)}
        self.report = ReindexReport(
            source={name: store.collection_name(name) for name in self.specs},
            target={name: spec.real_name for name, spec in self.specs.items()},
        )
        self.done = 0

    def needed(self) -> bool:
        return self.report.source != self.report.target

    def begin(self) -> None:
        for spec in self.specs.values():
            self.store.create_collection(spec.real_name, spec)
        self.report.tracks = self.store.count(self.report.source[TRACKS])

    def pending(self, cursor: str | None, size: int = PAGE) -> tuple[list[dict[str, Any]], str | None]:
        """The sources (`source_of`) of a page of the old collection's tracks not in the new one yet, and the next
        page's cursor (None: the last page)."""
        if cursor is not None and not is_uuid(cursor):
            raise BadRequest("cursor is not one this service gave out", {"field": "cursor"})
        page, next_cursor = self.store.scroll(self.report.source[TRACKS], limit=size, offset=cursor)
        there = {r.id for r in self.store.retrieve(self.report.target[TRACKS], [r.id for r in page])}
        todo = [source_of(r) for r in page if r.id not in there]
        self.report.resumed += len(page) - len(todo)
        self.done += len(page) - len(todo)
        self.on_progress("tracks", self.done, self.report.tracks)
        return todo, next_cursor

    def store_results(self, results: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Analysis results, (track id, {"vectors", "styles"} or {"error"}), into the new collection."""
        ids = [track_id for track_id, _ in results]
        old = {r.id: r for r in self.store.retrieve(self.report.source[TRACKS], ids, with_vector=DSP)}
        centre = self._centre()
        points = [self._point(old[i], result, centre) for i, result in results if i in old]
        if points:
            self.store.upsert(self.report.target[TRACKS], points)
        self.done += len(points)
        self.on_progress("tracks", self.done, self.report.tracks)

    def finish(self) -> ReindexReport:
        """Centre, library, users, then the swap."""
        self.store.flush()
        self._centre().refresh(force=True)
        self._library()
        self._users()
        self.store.flush()
        self.store.set_aliases(dict(self.report.target))
        self.report.swapped = True
        log.info("reindex: aliases now point to %s", ", ".join(self.report.target.values()))
        return self.report

    def _centre(self) -> CatalogueCentre:
        target = self.report.target
        return CatalogueCentre(self.store, self.vectors, tracks=target[TRACKS], library=None, centres=target[CENTRES])

    def _point(self, record: Record, result: dict[str, Any], centre: CatalogueCentre) -> PointData:
        payload = dict(record.payload)
        analysis = dict(payload.get("analysis") or {})
        if "error" in result or not record.vector:
            vectors = {DSP: record.vector} if record.vector else {}
            self.report.kept_dsp_only.append(
                {
                    "trackId": record.id,
                    "title": str(payload.get("title")),
                    "reason": str(result.get("error") or "no stored vector"),
                }
            )
            analysis["vectors"] = sorted(vectors)
        else:
            vectors = centre.derive(result["vectors"])
            payload["styles"] = list(result.get("styles") or [])
            analysis["vectors"] = sorted(result["vectors"])
            self.report.analysed += 1
        payload["analysis"] = analysis
        return PointData(id=record.id, payload=payload, vectors=vectors)

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
