"""The catalogue's centre: the mean raw embedding the compared embedding (`musicnn_v2`) is taken from.

It lives in the `centres` collection (one point, vector = the centre, payload = how many tracks it was fitted
on), so every process of a deployment (API replicas, workers, `musicrec ingest`) centres new tracks alike.

How it follows a growing catalogue: an empty or small catalogue (fewer than MIN_TRACKS_FOR_OWN_CENTRE embedded
tracks) uses the shipped default centre (the tuning albums' mean). Whenever the catalogue has grown by a
quarter since the centre was fitted, the mean of every stored raw embedding is computed again (one scroll); if
it moved noticeably (drift > MAX_DRIFT), every track's derived vectors (`musicnn_v2`, `fused_v2`) are
re-derived from its stored raw embedding and DSP vector, the library copies follow, and the users' cached
tastes are marked stale. No audio is decoded again. Growth by quarters keeps the total work linear in the
catalogue's size. A track stored by another process while a re-centring runs keeps the previous centre until
the next one (a difference of at most MAX_DRIFT).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from service.analysis import centring
from service.analysis.vectorset import DERIVED, DSP, EMBEDDING, EMBEDDING_RAW, VectorSet
from service.store.base import PointData, VectorStore
from service.store.schema import CENTRES, LIBRARY, TRACKS
from service.taste.userpoints import touch_library

log = logging.getLogger("musicrec.catalog")

GROWTH = 1.25  # re-fit when the catalogue has this many times the tracks the centre was fitted on
MAX_DRIFT = 0.05  # re-derive the stored vectors when the centre moved more than this (see centring.drift)
CACHE_S = 10.0  # how long a process trusts the centre it read
PAGE = 256

_CENTRE_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, f"musicrec:centre:{EMBEDDING}"))


@dataclass(frozen=True)
class Centre:
    vector: np.ndarray
    tracks: int  # how many tracks it was fitted on (0: the shipped default)


@dataclass(frozen=True)
class Recentred:
    tracks: int  # embedded tracks the new centre was fitted on
    drift: float
    rewritten: int  # tracks whose derived vectors were rewritten (0 when the drift was small)


class CatalogueCentre:
    def __init__(
        self,
        store: VectorStore,
        vectors: VectorSet,
        *,
        tracks: str = TRACKS,
        library: str | None = LIBRARY,
        centres: str = CENTRES,
    ):
        """`tracks`/`library`/`centres`: the collections it reads and rewrites (reindex points them at the new ones;
        with `library` None the library copies are left to the caller)."""
        self.store = store
        self.centres = centres
        self.vectors = vectors
        self.tracks = tracks
        self.library = library
        self._cached: tuple[float, Centre] | None = None
        self._lock = threading.Lock()

    # --- reading -----------------------------------------------------------------------------------
    def current(self) -> Centre:
        now = time.monotonic()
        cached = self._cached
        if cached is not None and now - cached[0] < CACHE_S:
            return cached[1]
        found = self.store.retrieve(self.centres, [_CENTRE_ID], with_vector=EMBEDDING_RAW)
        if found and found[0].vector:
            centre = Centre(np.asarray(found[0].vector, np.float32), int(found[0].payload.get("tracks", 0)))
        else:
            centre = Centre(centring.default_centre(), 0)
        self._cached = (now, centre)
        return centre

    def derive(self, analysed: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
        """A track's stored vectors from its analysed ones: only those this store keeps, derived ones added."""
        if not self.vectors.embedding:
            return {DSP: [float(x) for x in analysed[DSP]]}
        out = centring.derive(analysed, self.current().vector)
        return {name: out[name] for name in self.vectors.names if name in out}

    # --- keeping it current ------------------------------------------------------------------------
    def due(self) -> bool:
        """Whether the catalogue grew enough since the centre was fitted to look again (one count)."""
        if not self.vectors.embedding:
            return False
        count = self.store.count(self.tracks)
        fitted = self.current().tracks
        if fitted == 0:
            return count >= centring.MIN_TRACKS_FOR_OWN_CENTRE
        return count >= GROWTH * fitted

    def refresh(self, *, force: bool = False) -> Recentred | None:
        """Re-fit the centre if the catalogue grew (or `force`); re-derive the stored vectors if it moved."""
        if not self.vectors.embedding or not (force or self.due()):
            return None
        with self._lock:
            raw = self._raw_embeddings()
            if len(raw) < centring.MIN_TRACKS_FOR_OWN_CENTRE and not force:
                return None
            if not raw:
                return None
            matrix = np.asarray(list(raw.values()), np.float32)
            old = self.current().vector
            new = centring.centre_of(matrix)
            moved = centring.drift(old, new, centring.spread_of(matrix, new))
            rewritten = 0
            if moved > MAX_DRIFT or force:
                rewritten = self._rewrite(new)
            self.store.upsert(
                self.centres,
                [
                    PointData(
                        id=_CENTRE_ID,
                        payload={"vector": EMBEDDING, "tracks": len(raw), "drift": round(moved, 4), "at": time.time()},
                        vectors={EMBEDDING_RAW: new.tolist()},
                    )
                ],
            )
            self._cached = (time.monotonic(), Centre(new, len(raw)))
            log.info(
                "catalogue centre fitted on %d tracks (moved %.3f): %d tracks' vectors re-derived",
                len(raw),
                moved,
                rewritten,
            )
            return Recentred(tracks=len(raw), drift=round(moved, 4), rewritten=rewritten)

    def _raw_embeddings(self) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        offset = None
        while True:
            page, offset = self.store.scroll(self.tracks, limit=PAGE, offset=offset, with_vector=EMBEDDING_RAW)
            out.update({r.id: r.vector for r in page if r.vector})
            if offset is None:
                return out

    def _rewrite(self, centre: np.ndarray) -> int:
        """Every track's derived vectors from its stored analysed ones; then the library copies; tastes go stale."""
        query = self.vectors.query
        rewritten = 0
        offset = None
        while True:
            page, offset = self.store.scroll(self.tracks, limit=PAGE, offset=offset, with_vector=(DSP, EMBEDDING_RAW))
            for record in page:
                if record.vectors and EMBEDDING_RAW in record.vectors and DSP in record.vectors:
                    derived = centring.derive(record.vectors, centre)
                    self.store.update_vectors(self.tracks, record.id, {n: derived[n] for n in DERIVED})
                    rewritten += 1
            if offset is None:
                break
        if self.library is None:
            return rewritten
        users: set[str] = set()
        offset = None
        while True:
            page, offset = self.store.scroll(self.library, limit=PAGE, offset=offset)
            by_track: dict[str, list] = {}
            for entry in page:
                by_track.setdefault(entry.payload.get("trackId"), []).append(entry)
            tracks = self.store.retrieve(self.tracks, [t for t in by_track if t], with_vector=query)
            for track in tracks:
                for entry in by_track.get(track.id, []):
                    if track.vector:
                        self.store.update_vectors(self.library, entry.id, {query: track.vector})
                        users.add(entry.payload.get("userId"))
            if offset is None:
                break
        for user_id in sorted(u for u in users if u):
            touch_library(self.store, user_id)
        return rewritten
