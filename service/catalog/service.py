"""The catalogue as the API sees it: list, look up and store tracks (one object, injected into controllers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from service.catalog.payloads import parse_track, read_track, to_payload
from service.catalog.writes import existing_track_ids, link_tracks, store_tracks
from service.errors import BadRequest, NotFound
from service.ids import canonical, canonical_all, is_uuid
from service.store.base import Filter, HasId, Match, PointData, Record, VectorStore
from service.store.schema import TRACKS
from service.taste.library import entries
from service.vectors import checked_vector

MAX_USER_TRACKS = 10_000  # a user's library tracks considered when listing with `userId`


@dataclass(frozen=True)
class NewTrack:
    """An analysed track handed over by `musicrec ingest` (id, payload, vector, whose library)."""

    id: str
    payload: dict[str, Any]
    vector: Sequence[float]
    user_id: str | None = None


class Catalog:
    def __init__(self, store: VectorStore, vector_name: str, vector_size: int):
        self.store = store
        self.vector_name = vector_name
        self.vector_size = vector_size

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
        artist: str | None = None,
        album: str | None = None,
        genre: str | None = None,
        user_id: str | None = None,
    ) -> tuple[list[Record], str | None]:
        """One page of tracks, filters exact-match; `cursor` is the `nextCursor` of the page before."""
        if cursor is not None and not is_uuid(cursor):
            raise BadRequest("cursor is not one this service gave out", {"field": "cursor"})
        must: list = [Match(key, value) for key, value in (("artists", artist), ("album", album), ("genres", genre))]
        must = [m for m in must if m.value is not None]
        if user_id is not None:
            library = entries(self.store, user_id, limit=MAX_USER_TRACKS)
            must.append(HasId(tuple(e.payload["trackId"] for e in library)))
        records, next_cursor = self.store.scroll(TRACKS, limit=limit, offset=cursor, filter=Filter(must=tuple(must)))
        return [r for r in records if read_track(r.id, r.payload) is not None], next_cursor

    def count(self) -> int:
        return self.store.count(TRACKS)

    def existing(self, ids: Sequence[str]) -> set[str]:
        return existing_track_ids(self.store, canonical_all(ids))

    def add(self, tracks: Sequence[NewTrack]) -> tuple[list[str], list[str]]:
        """Store analysed tracks not stored yet (and link them to their user); returns (created, existing)."""
        by_user: dict[str | None, list[PointData]] = {}
        for i, t in enumerate(tracks):
            if not is_uuid(t.id):
                raise BadRequest(f"point {t.id!r}: the id must be a uuid", {"field": "points"})
            track_id = canonical(t.id)
            vector = checked_vector(t.vector, self.vector_size, field="points")
            payload = to_payload(parse_track({**t.payload, "trackId": track_id}, field=f"points[{i}].payload"))
            point = PointData(id=track_id, payload=payload, vectors={self.vector_name: vector})
            by_user.setdefault(t.user_id, []).append(point)
        created: list[str] = []
        existing: list[str] = []
        for user_id, points in by_user.items():
            c, e = store_tracks(self.store, points, vector_name=self.vector_name, user_id=user_id)
            created += c
            existing += e
        return created, existing

    def link(self, user_id: str, track_ids: Sequence[str]) -> None:
        link_tracks(self.store, user_id, canonical_all(track_ids), vector_name=self.vector_name)
