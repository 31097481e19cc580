"""Per-user library entries: one `library` point per (user, track), merged, never a shared array.

Each entry carries a copy of the track's vector (per-user queries and taste need no join) and why the
track is in the library (`reasons`). Concurrent writers for different users never touch the same point;
for the same (user, track) the reasons are merged from the stored entry.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from service.ids import library_point_id
from service.store.base import Filter, Match, PointData, Record, VectorStore
from service.store.schema import LIBRARY

MAX_ENTRIES = 5000  # per user, read for taste; beyond this the oldest entries by id order are not read


def user_filter(user_id: str, *more) -> Filter:
    return Filter(must=(Match("userId", user_id), *more))


def merged_entry(
    user_id: str,
    track: Record,
    vector_name: str,
    *,
    add: Iterable[str],
    remove: Iterable[str] = (),
    existing: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    now: float | None = None,
) -> PointData:
    now = time.time() if now is None else now
    old = existing or {}
    removed = set(remove)
    reasons = [r for r in old.get("reasons", []) if r not in removed]
    reasons += [r for r in add if r not in reasons]
    source = track.payload.get("source") or {}
    payload = {
        **old,
        "userId": user_id,
        "trackId": track.id,
        "spotifyId": source.get("spotifyId"),
        "title": track.payload.get("title"),
        "artists": track.payload.get("artists") or [],
        "analysed": True,
        "status": "analysed",  # keyword twin of `analysed` for filters (Edge cannot match booleans)
        "reasons": reasons,
        "weight": old.get("weight", 1.0),
        "addedAt": old.get("addedAt", now),
        "updatedAt": now,
        **(extra or {}),
    }
    return PointData(id=library_point_id(user_id, track.id), payload=payload, vectors={vector_name: track.vector})


def add_to_library(
    store: VectorStore,
    user_id: str,
    tracks: Sequence[Record],
    vector_name: str,
    *,
    add: Iterable[str],
    remove: Iterable[str] = (),
    extra: dict[str, Any] | None = None,
) -> None:
    """Merge reasons into the user's entries for these (stored, with vector) tracks."""
    if not tracks:
        return
    add, remove = list(add), list(remove)
    existing = {
        r.payload["trackId"]: r.payload
        for r in store.retrieve(LIBRARY, [library_point_id(user_id, t.id) for t in tracks])
    }
    now = time.time()
    store.upsert(
        LIBRARY,
        [
            merged_entry(
                user_id, t, vector_name, add=add, remove=remove, existing=existing.get(t.id), extra=extra, now=now
            )
            for t in tracks
        ],
    )


def entries(store: VectorStore, user_id: str, vector_name: str | None = None, limit: int = MAX_ENTRIES) -> list[Record]:
    records, _ = store.scroll(LIBRARY, limit=limit, filter=user_filter(user_id), with_vector=vector_name)
    return records


def count_with_reason(store: VectorStore, user_id: str, reason: str) -> int:
    return store.count(LIBRARY, user_filter(user_id, Match("reasons", reason)))
