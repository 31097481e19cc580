"""Writing analysed tracks (and a user's library entries for them) into the store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from service.store.base import Filter, Match, MatchAny, PointData, Record, VectorStore
from service.store.schema import LIBRARY, TRACKS
from service.taste.library import add_to_library
from service.taste.userpoints import ensure_user, touch_library


def existing_track_ids(store: VectorStore, ids: Sequence[str]) -> set[str]:
    return {r.id for r in store.retrieve(TRACKS, list(ids))} if ids else set()


def store_tracks(
    store: VectorStore, points: Sequence[PointData], *, vector_name: str, user_id: str | None = None
) -> tuple[list[str], list[str]]:
    """Upsert the tracks not stored yet; returns (created, existing) ids.

    Re-ingesting the same content is a no-op for the track (same id); with `user_id` the track also
    enters that user's library (reason `ingested`), which is idempotent too (one point per pair).
    """
    existing = existing_track_ids(store, [p.id for p in points])
    new = [p for p in points if p.id not in existing]
    store.upsert(TRACKS, new)
    if user_id:
        ensure_user(store, user_id)  # so the user is listed (GET /v1/users) from their first track
        records = [Record(id=p.id, payload=p.payload, vector=list(p.vectors[vector_name])) for p in points]
        add_to_library(store, user_id, records, vector_name, add=["ingested"])
    store.flush()  # the end of a batch: on disk before it is acknowledged
    return [p.id for p in new], [p.id for p in points if p.id in existing]


def link_tracks(store: VectorStore, user_id: str, track_ids: Sequence[str], *, vector_name: str) -> None:
    """Add stored tracks to a user's library (reason `ingested`), copying their vectors."""
    ensure_user(store, user_id)
    records = store.retrieve(TRACKS, list(track_ids), with_vector=vector_name)
    add_to_library(store, user_id, records, vector_name, add=["ingested"])
    store.flush()


def find_tracks(store: VectorStore, field: str, values: Sequence[str]) -> list[Record]:
    """Tracks whose payload `field` (an indexed keyword: contentSha256, audioSha256, source.path) is one of
    `values`, with their payloads."""
    values = list(dict.fromkeys(values))
    if not values:
        return []
    out: list[Record] = []
    offset = None
    while True:
        page, offset = store.scroll(
            TRACKS, limit=max(64, 2 * len(values)), offset=offset, filter=Filter(must=(MatchAny(field, tuple(values)),))
        )
        out += page
        if offset is None:
            return out


def update_tracks(store: VectorStore, updates: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Merge new payload fields into stored tracks (their vectors are kept: same audio), and carry a new title or
    artists into the library entries that copy them."""
    for track_id, payload in updates:
        store.set_payload(TRACKS, track_id, payload)
        copied = {k: payload[k] for k in ("title", "artists") if k in payload}
        if copied:
            for entry in _library_entries(store, track_id):
                store.set_payload(LIBRARY, entry.id, copied)
    store.flush()


def delete_tracks(store: VectorStore, track_ids: Sequence[str]) -> tuple[int, int]:
    """Remove tracks and every library entry that points at them (the users' tastes are rebuilt on their next
    recommendation); returns (tracks, library entries) removed."""
    ids = [r.id for r in store.retrieve(TRACKS, list(dict.fromkeys(track_ids)))]
    entries: list[Record] = []
    for track_id in ids:
        entries += _library_entries(store, track_id)
    if entries:
        store.delete(LIBRARY, [e.id for e in entries])
    store.delete(TRACKS, ids)
    for user_id in sorted({e.payload.get("userId") for e in entries if e.payload.get("userId")}):
        touch_library(store, user_id)
    store.flush()
    return len(ids), len(entries)


def file_tracks(store: VectorStore) -> Iterator[tuple[str, str]]:
    """(track id, stored path) of every track ingested from a local file."""
    offset = None
    while True:
        page, offset = store.scroll(
            TRACKS, limit=2_000, offset=offset, filter=Filter(must=(Match("source.kind", "file"),))
        )
        for r in page:
            path = (r.payload.get("source") or {}).get("path")
            if path:
                yield r.id, path
        if offset is None:
            return


def _library_entries(store: VectorStore, track_id: str) -> list[Record]:
    out: list[Record] = []
    offset = None
    while True:
        page, offset = store.scroll(
            LIBRARY, limit=1_000, offset=offset, filter=Filter(must=(Match("trackId", track_id),))
        )
        out += page
        if offset is None:
            return out
