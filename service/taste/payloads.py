"""The stored shapes of a library entry (`library` collection) and a user point (`users`), as structs.

Entries and users are written only through these; reading tolerates old or foreign points (logged and
skipped by the callers that list them).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from service.stored import read_stored, to_payload  # noqa: F401  (to_payload: the writers' entry point)


class LibraryEntryPayload(msgspec.Struct, rename="camel", kw_only=True):
    user_id: str
    track_id: str
    spotify_id: str | None = None
    title: str | None = None
    artists: list[str] = []
    analysed: bool
    status: Literal["analysed", "pending"]  # keyword twin of `analysed` for filters (Edge cannot match booleans)
    reasons: list[str] = []
    ranks: dict[str, int] = {}  # for top_* reasons: 0-based rank in that list
    genres: list[str] = []
    weight: float = 1.0
    added_at: float
    updated_at: float
    liked_at: float | None = None
    disliked_at: float | None = None
    skipped_at: float | None = None


class UserPayload(msgspec.Struct, rename="camel", kw_only=True):
    user_id: str
    created_at: float
    last_sync_at: float | None = None
    last_feedback_at: float | None = None
    recommendations_served: int = 0
    taste_clusters: int = 0
    taste_updated_at: float | None = None
    library_count: int = 0
    library_version: str | None = None  # changes with every library write (taste caches compare it)


def read_entry(point_id: str, payload: dict[str, Any]) -> LibraryEntryPayload | None:
    """A stored library entry, or None (logged) when it does not fit this version's shape."""
    return read_stored(LibraryEntryPayload, point_id, payload)


def user_fields(**fields: Any) -> dict[str, Any]:
    """A partial user payload for a merge (set_payload), checked against UserPayload's fields."""
    known = {f.name: f.encode_name for f in msgspec.structs.fields(UserPayload)}
    unknown = set(fields) - set(known)
    if unknown:
        raise TypeError(f"not user fields: {sorted(unknown)}")
    return {known[k]: v for k, v in fields.items()}
