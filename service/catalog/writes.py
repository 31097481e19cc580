"""Writing analysed tracks (and a user's library entries for them) into the store."""

from __future__ import annotations

from collections.abc import Sequence

from service.store.base import PointData, Record, VectorStore
from service.store.schema import TRACKS
from service.taste.library import add_to_library
from service.taste.userpoints import ensure_user


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
