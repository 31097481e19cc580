"""The catalogue as the API sees it: list, look up and store tracks (one object, injected into controllers)."""

from __future__ import annotations

import logging
import mimetypes
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from service.analysis.vectorset import VectorSet
from service.catalog.centre import CatalogueCentre
from service.catalog.map import Layout, MapCache
from service.catalog.payloads import parse_track, read_track, to_payload
from service.catalog.playlists import m3u8
from service.catalog.search import FIELD as SEARCH_FIELD
from service.catalog.search import payload_tokens, query_conditions
from service.catalog.tracks import with_derived_fields
from service.catalog.vector import checked_analysed
from service.catalog.writes import (
    delete_tracks,
    existing_track_ids,
    find_tracks,
    link_tracks,
    store_tracks,
    update_tracks,
)
from service.errors import BadRequest, NotFound
from service.ids import canonical, canonical_all, is_uuid
from service.keys import KEYED, match_any, normalise, payload_keys
from service.store.base import FacetHit, Filter, HasId, IsEmpty, Match, MatchAny, PointData, Record, VectorStore
from service.store.schema import TRACKS
from service.taste.library import entries

log = logging.getLogger("musicrec.catalog")

MAX_USER_TRACKS = 10_000  # a user's library tracks considered when listing with `userId`
MAX_MAP_TRACKS = 100_000  # the map's upper bound (a layout beyond this wants sampling)
SCROLL_PAGE = 2_000
COLOR_BY = ("album", "genre", "artist", "user")
# GET /v1/facets?field= → the payload field counted (keyword or integer indexed in collections/tracks.json)
FACETS = {"genres": "genres", "artists": "artists", "albums": "album", "years": "year"}
MAX_FACET_SPELLINGS = 5_000  # display spellings read to label the normalised genre/artist values
AUDIO_TYPES = {  # what browsers expect; mimetypes lacks some of these on minimal systems
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
    ".wav": "audio/wav",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".webm": "audio/webm",
}


def canonical_id(value: str) -> str:
    return str(uuid.UUID(value)) if is_uuid(value) else value


def audio_media_type(path: Path) -> str:
    return AUDIO_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def map_group(payload: dict[str, Any], color_by: str, in_library: bool) -> str | None:
    """The value a point is coloured by (None: no value, drawn grey)."""
    if color_by == "album":
        return payload.get("album")
    if color_by == "genre":
        return next(iter(payload.get("genres") or []), None)
    if color_by == "artist":
        return next(iter(payload.get("artists") or []), None)
    return "in library" if in_library else "not in library"


@dataclass(frozen=True)
class NewTrack:
    """An analysed track handed over by `musicrec ingest` (id, payload, analysed vectors by name, whose library)."""

    id: str
    payload: dict[str, Any]
    vectors: dict[str, Sequence[float]]
    user_id: str | None = None


class Catalog:
    def __init__(self, store: VectorStore, vectors: VectorSet):
        self.store = store
        self.vectors = vectors
        self.vector_name = vectors.query  # the compared vector (library copies, the map)
        self.centre = CatalogueCentre(store, vectors)
        self._refreshing = threading.Lock()
        self.generation = 0  # bumped on every write made through the catalogue (the map's cache key)
        self._generation_lock = threading.Lock()
        self._map = MapCache()

    def changed(self) -> None:
        with self._generation_lock:
            self.generation += 1

    def get(self, track_id: str) -> Record:
        found = self.store.retrieve(TRACKS, [canonical(track_id)])
        if not found:
            raise NotFound(f"unknown track {track_id!r}", {"trackId": track_id})
        if read_track(found[0].id, found[0].payload) is None:
            raise NotFound(f"track {track_id!r} is stored in a shape this version cannot read", {"trackId": track_id})
        return found[0]

    def page(
        self,
        *,
        limit: int,
        cursor: str | None = None,
        artists: Sequence[str] = (),
        albums: Sequence[str] = (),
        genres: Sequence[str] = (),
        user_id: str | None = None,
        q: str | None = None,
    ) -> tuple[list[Record], str | None]:
        """One page of tracks: any of `artists` and any of `genres` (whatever the case), any of `albums` (exact);
        `q` keeps the tracks holding every word of it (or a word's beginning) in title, artists or album;
        `cursor` is the `nextCursor` of the page before."""
        if cursor is not None and not is_uuid(cursor):
            raise BadRequest("cursor is not one this service gave out", {"field": "cursor"})
        must: list = [match_any(key, values) for key, values in (("artists", artists), ("genres", genres)) if values]
        if albums:
            must.append(MatchAny("album", tuple(albums)))
        if q is not None and q.strip():
            words = query_conditions(q)
            if not words:
                raise BadRequest("q has no words to search for", {"field": "q"})
            must += words
        if user_id is not None:
            library = entries(self.store, user_id, limit=MAX_USER_TRACKS)
            must.append(HasId(tuple(e.payload["trackId"] for e in library)))
        records, next_cursor = self.store.scroll(TRACKS, limit=limit, offset=cursor, filter=Filter(must=tuple(must)))
        return [r for r in records if read_track(r.id, r.payload) is not None], next_cursor

    def count(self) -> int:
        return self.store.count(TRACKS)

    def facets(self, field: str, *, limit: int = 50, user_id: str | None = None) -> list[FacetHit]:
        """The most frequent values of a track field (genres, artists, albums, years) with how many tracks hold
        each, most frequent first; with `user_id`, among that user's library tracks. Genres and artists are
        counted by their normalised value (as filters match them: "Rock" and "rock" are one value, counted
        once per track) and labelled with their most frequent spelling, so filtering by an item's value finds
        exactly `count` tracks."""
        if field not in FACETS:
            raise BadRequest(f"field must be one of {', '.join(FACETS)}", {"field": "field"})
        flt = None
        if user_id is not None:
            library = entries(self.store, user_id, limit=MAX_USER_TRACKS)
            if not library:
                return []
            flt = Filter(must=(HasId(tuple(e.payload["trackId"] for e in library)),))
        key = FACETS[field]
        if key not in KEYED:
            return self.store.facet(TRACKS, key, limit=limit, filter=flt)
        counts = self.store.facet(TRACKS, KEYED[key], limit=limit, filter=flt)
        labels: dict[str, str] = {}
        spellings = self.store.facet(TRACKS, key, limit=max(limit * 5, MAX_FACET_SPELLINGS), filter=flt)
        for hit in spellings:  # most frequent first: the first spelling of a key labels it
            labels.setdefault(normalise(str(hit.value)), str(hit.value))
        return [FacetHit(value=labels.get(str(h.value), str(h.value)), count=h.count) for h in counts]

    def existing(self, ids: Sequence[str]) -> set[str]:
        return existing_track_ids(self.store, canonical_all(ids))

    def add(self, tracks: Sequence[NewTrack]) -> tuple[list[str], list[str]]:
        """Store analysed tracks not stored yet (and link them to their user); returns (created, existing)."""
        by_user: dict[str | None, list[PointData]] = {}
        for i, t in enumerate(tracks):
            if not is_uuid(t.id):
                raise BadRequest(f"point {t.id!r}: the id must be a uuid", {"field": "points"})
            track_id = canonical(t.id)
            analysed = checked_analysed(t.vectors, self.vectors, f"points[{i}].vectors")
            payload = with_derived_fields(
                to_payload(parse_track({**t.payload, "trackId": track_id}, field=f"points[{i}].payload"))
            )
            point = PointData(id=track_id, payload=payload, vectors=self.centre.derive(analysed))
            by_user.setdefault(t.user_id, []).append(point)
        created: list[str] = []
        existing: list[str] = []
        for user_id, points in by_user.items():
            c, e = store_tracks(self.store, points, vector_name=self.vector_name, user_id=user_id)
            created += c
            existing += e
        self.changed()
        if created and self.centre.due():  # the catalogue grew by a quarter: fit its centre again, off the request
            self._refresh_centre_soon()
        return created, existing

    def _refresh_centre_soon(self) -> None:
        """Re-fit the centre in a background thread (re-deriving a large catalogue's vectors takes a while; the
        hand-off request that triggered it must not wait for it). One at a time."""
        if not self._refreshing.acquire(blocking=False):
            return

        def refresh() -> None:
            try:
                if self.centre.refresh():
                    self.changed()
            except Exception:  # a store hiccup: the next batch that finds it due tries again
                log.exception("re-fitting the catalogue's centre failed")
            finally:
                self._refreshing.release()

        threading.Thread(target=refresh, name="centre-refresh", daemon=True).start()

    def link(self, user_id: str, track_ids: Sequence[str]) -> None:
        link_tracks(self.store, user_id, canonical_all(track_ids), vector_name=self.vector_name)
        self.changed()

    def delete(self, track_ids: Sequence[str]) -> tuple[int, int]:
        """Remove these tracks and their library entries; returns (tracks, library entries) removed."""
        removed = delete_tracks(self.store, canonical_all(track_ids))
        if removed[0]:
            self.changed()
        return removed

    def delete_one(self, track_id: str) -> tuple[int, int]:
        """`DELETE /v1/tracks/{trackId}`: NotFound when no such track is stored."""
        found = self.store.retrieve(TRACKS, [canonical(track_id)])
        if not found:
            raise NotFound(f"unknown track {track_id!r}", {"trackId": track_id})
        return self.delete([found[0].id])

    # --- the hand-off from `musicrec ingest` / `musicrec prune` to the server owning the store -----------
    FINDABLE = ("contentSha256", "audioSha256", "source.path")

    def find(self, field: str, values: Sequence[str]) -> list[Record]:
        if field not in self.FINDABLE:
            raise BadRequest(f"field must be one of {', '.join(self.FINDABLE)}", {"field": "field"})
        return find_tracks(self.store, field, values)

    def update(self, updates: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Replace payload fields of stored tracks (retagged or moved files); the vectors stay."""
        checked = []
        for i, (track_id, payload) in enumerate(updates):
            track_id = canonical(track_id)
            if not self.store.retrieve(TRACKS, [track_id]):
                raise NotFound(f"unknown track {track_id!r}", {"field": f"items[{i}].id"})
            parsed = parse_track({**payload, "trackId": track_id}, field=f"items[{i}].payload")
            checked.append((track_id, with_derived_fields(to_payload(parsed))))
        update_tracks(self.store, checked)
        self.changed()

    def file_tracks_page(
        self, cursor: str | None, limit: int = SCROLL_PAGE
    ) -> tuple[list[tuple[str, str]], str | None]:
        """(track id, path) of the tracks ingested from local files, a page at a time."""
        if cursor is not None and not is_uuid(cursor):
            raise BadRequest("cursor is not one this service gave out", {"field": "cursor"})
        records, next_cursor = self.store.scroll(
            TRACKS, limit=limit, offset=cursor, filter=Filter(must=(Match("source.kind", "file"),))
        )
        items = [(r.id, (r.payload.get("source") or {}).get("path")) for r in records]
        return [(i, p) for i, p in items if p], next_cursor

    def lacking_derived_fields(self) -> int:
        """Tracks without search tokens, or with genres or artists but not their normalised keys."""
        lacking = Filter(
            should=(
                IsEmpty(SEARCH_FIELD),
                *(Filter(must=(IsEmpty(key),), must_not=(IsEmpty(field),)) for field, key in KEYED.items()),
            )
        )
        return self.store.count(TRACKS, lacking)

    def add_derived_fields(self, stop: threading.Event | None = None) -> int:
        """Give stored tracks that predate search or case-insensitive filters their search tokens and normalised
        genre/artist keys (and bring any stale ones up to date); returns how many were updated. Run in the
        background at start-up: one scroll over every payload, page by page (until `stop` is set); filters match
        the display fields exactly meanwhile (`keys.match_any`). Skipped when no track lacks them (one count, so a
        start-up does not scroll 100k payloads for nothing): every write derives them (`with_derived_fields`), so
        only points of an older release or an older worker can; a release that changes how they are derived must
        make this pass run once more (skip the count in that release)."""
        if self.lacking_derived_fields() == 0:
            return 0
        updated = 0
        offset = None
        while stop is None or not stop.is_set():
            page, offset = self.store.scroll(TRACKS, limit=SCROLL_PAGE, offset=offset, with_vector=None)
            for record in page:
                derived = {SEARCH_FIELD: payload_tokens(record.payload), **payload_keys(record.payload)}
                changed = {k: v for k, v in derived.items() if record.payload.get(k) != v}
                if changed:
                    self.store.set_payload(TRACKS, record.id, changed)
                    updated += 1
            if offset is None:
                break
        if updated:
            self.changed()
        return updated

    def _all(self, *, with_vector: bool, limit: int = MAX_MAP_TRACKS) -> list[Record]:
        out: list[Record] = []
        offset = None
        while len(out) < limit:
            page, offset = self.store.scroll(
                TRACKS,
                limit=min(SCROLL_PAGE, limit - len(out)),
                offset=offset,
                with_vector=self.vector_name if with_vector else None,
            )
            out += page
            if offset is None:
                break
        return out

    # --- the map ---------------------------------------------------------------------------------
    def layout(self) -> Layout:
        def load():
            records = [r for r in self._all(with_vector=True) if r.vector]
            vectors = np.asarray([r.vector for r in records], dtype=np.float32).reshape(len(records), -1)
            return [r.id for r in records], vectors, [r.payload for r in records]

        return self._map.get((self.count(), self.generation), load)

    def map_points(self, color_by: str = "album", user_id: str | None = None) -> tuple[str, list[dict[str, Any]]]:
        """(method, points): every track's 2-D position, its words and the group it is coloured by."""
        if color_by not in COLOR_BY:
            raise BadRequest(f"colorBy must be one of {', '.join(COLOR_BY)}", {"field": "colorBy"})
        # colorBy=user with no userId: no user picked yet, so no track is in "the" library
        layout = self.layout()
        library = (
            {e.payload["trackId"] for e in entries(self.store, user_id, limit=MAX_USER_TRACKS)} if user_id else set()
        )
        points = []
        for track_id, (x, y), p in zip(layout.ids, layout.xy.tolist(), layout.payloads, strict=True):
            in_library = track_id in library
            points.append(
                {
                    "trackId": track_id,
                    "x": round(x, 5),
                    "y": round(y, 5),
                    "title": p.get("title") or "",
                    "artists": p.get("artists") or [],
                    "album": p.get("album"),
                    "genres": p.get("genres") or [],
                    "group": map_group(p, color_by, in_library),
                    "inLibrary": in_library,
                }
            )
        return layout.method, points

    # --- audio and playlists ---------------------------------------------------------------------
    def audio_file(self, track_id: str) -> tuple[Path, str]:
        """(path, media type) of a track's local file; NotFound for tracks with none (or a vanished one)."""
        source = self.get(track_id).payload.get("source") or {}
        path = Path(source["path"]) if source.get("kind") == "file" and source.get("path") else None
        if path is None:
            raise NotFound("this track has no local audio file", {"trackId": track_id})
        if not path.is_file():
            raise NotFound("the track's audio file is gone", {"trackId": track_id, "path": str(path)})
        return path, audio_media_type(path)

    def playlist(self, track_ids: Sequence[str], name: str | None = None) -> str:
        """M3U8 text of these tracks, in this order (repeats kept); unknown ids are a NotFound."""
        track_ids = [canonical_id(i) for i in track_ids]
        found = {r.id: r.payload for r in self.store.retrieve(TRACKS, list(dict.fromkeys(track_ids)))}
        missing = [i for i in dict.fromkeys(track_ids) if i not in found]
        if missing:
            raise NotFound(f"unknown track id(s): {', '.join(missing)}", {"field": "trackIds", "trackIds": missing})
        return m3u8([found[i] for i in track_ids], name)
