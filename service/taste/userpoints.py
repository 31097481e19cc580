"""The user point (`users` collection): created on first sight, stamped when the library changes."""

from __future__ import annotations

import time
import uuid
from typing import Any

from service.ids import user_point_id
from service.store.base import PointData, VectorStore
from service.store.schema import USERS
from service.taste.payloads import UserPayload, to_payload, user_fields


def ensure_user(store: VectorStore, user_id: str) -> dict[str, Any]:
    """The user's point payload, created on first sight."""
    found = store.retrieve(USERS, [user_point_id(user_id)])
    if found:
        return found[0].payload
    payload = to_payload(UserPayload(user_id=user_id, created_at=time.time()))
    store.upsert(USERS, [PointData(id=user_point_id(user_id), payload=payload)])
    return payload


def library_version(store: VectorStore, user_id: str) -> str | None:
    found = store.retrieve(USERS, [user_point_id(user_id)])
    return found[0].payload.get("libraryVersion") if found else None


def touch_library(store: VectorStore, user_id: str) -> None:
    """Say that the user's library changed: cached tastes of this user are stale from now on."""
    ensure_user(store, user_id)
    store.set_payload(USERS, user_point_id(user_id), user_fields(library_version=uuid.uuid4().hex))


def save_taste(store: VectorStore, user_id: str, vector_name: str, clusters: list, library_count: int) -> None:
    """The taste summary on the user point (for the dashboard and stats): only these fields and the
    vector are written, so counters or a sync's lastSyncAt written meanwhile are never overwritten."""
    point_id = user_point_id(user_id)
    fields = user_fields(taste_clusters=len(clusters), taste_updated_at=time.time(), library_count=library_count)
    store.set_payload(USERS, point_id, fields)
    if clusters:
        store.update_vectors(USERS, point_id, {vector_name: clusters[0].centroid.tolist()})
