"""Per-user library entries: one `library` point per (user, track), merged, never a shared array.

Each entry carries a copy of the track's vector (per-user queries and taste need no join) and why the
track is in the library (`reasons`). Concurrent writers for different users never touch the same point;
for the same (user, track) the reasons are merged from the stored entry.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from service.ids import library_point_id
from service.store.base import Filter, Match, PointData, Record, VectorStore
from service.store.schema import LIBRARY, TRACKS
from service.taste.payloads import LibraryEntryPayload, read_entry, to_payload
from service.taste.userpoints import touch_library

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
    now: float | None = None,
    ranks: dict[str, int] | None = None,
    genres: list[str] | None = None,
    timestamps: dict[str, float] | None = None,
) -> PointData:
    """The user's entry for an analysed track: reasons merged into the stored entry (if any)."""
    now = time.time() if now is None else now
    old = read_entry(track.id, existing) if existing else None
    removed = set(remove)
    reasons = [r for r in (old.reasons if old else []) if r not in removed]
    reasons += [r for r in add if r not in reasons]
    source = track.payload.get("source") or {}
    entry = LibraryEntryPayload(
        user_id=user_id,
        track_id=track.id,
        spotify_id=source.get("spotifyId"),
        title=track.payload.get("title"),
        artists=list(track.payload.get("artists") or []),
        analysed=True,
        status="analysed",
        reasons=reasons,
        ranks={**(old.ranks if old else {}), **(ranks or {})},
        genres=genres if genres is not None else (old.genres if old else []),
        weight=old.weight if old else 1.0,
        added_at=old.added_at if old else now,
        updated_at=now,
        liked_at=old.liked_at if old else None,
        disliked_at=old.disliked_at if old else None,
        skipped_at=old.skipped_at if old else None,
    )
    for name, value in (timestamps or {}).items():  # e.g. liked_at=now
        setattr(entry, name, value)
    return PointData(
        id=library_point_id(user_id, track.id), payload=to_payload(entry), vectors={vector_name: track.vector}
    )


def add_to_library(
    store: VectorStore,
    user_id: str,
    tracks: Sequence[Record],
    vector_name: str,
    *,
    add: Iterable[str],
    remove: Iterable[str] = (),
    timestamps: dict[str, float] | None = None,
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
                user_id,
                t,
                vector_name,
                add=add,
                remove=remove,
                existing=existing.get(t.id),
                timestamps=timestamps,
                now=now,
            )
            for t in tracks
        ],
    )
    touch_library(store, user_id)


def entries(store: VectorStore, user_id: str, vector_name: str | None = None, limit: int = MAX_ENTRIES) -> list[Record]:
    """The user's entries; with `vector_name`, each with that vector: its copy, or the track's own where the entry
    has none (a store of an earlier release served on its DSP vectors until `musicrec reindex`: its entries copy
    only the vector that release compared)."""
    records, _ = store.scroll(LIBRARY, limit=limit, filter=user_filter(user_id), with_vector=vector_name)
    lacking = {str(r.payload["trackId"]) for r in records if not r.vector and r.payload.get("trackId")}
    if vector_name is None or not lacking:
        return records
    found = {t.id: t.vector for t in store.retrieve(TRACKS, sorted(lacking), with_vector=vector_name) if t.vector}
    return [r if r.vector else replace(r, vector=found.get(str(r.payload.get("trackId")))) for r in records]


def count_with_reason(store: VectorStore, user_id: str, reason: str) -> int:
    return store.count(LIBRARY, user_filter(user_id, Match("reasons", reason)))
