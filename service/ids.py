"""Point ids: stable uuid5s under one fixed namespace, so the same thing gets the same id everywhere.

A track's id comes from its stable key (`spotify:<id>` or `file:<sha256>`: for a local file, the sha256 of its
audio stream's packets, so a tag edit or a move keeps the id; stores made before hashed the whole file and keep
those ids), a library entry's from (user, track), a user point's from the user id; re-ingesting or re-syncing is
an idempotent upsert.
"""

from __future__ import annotations

import uuid

# Fixed namespace: ids must stay the same across machines and releases.
NAMESPACE = uuid.UUID("6f1c6a4e-2f0b-5d7c-9a51-3c1f5b8e2d40")


def point_id(key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, key))


def track_id_for_key(key: str) -> str:
    """Point id of a track from its stable key (`spotify:<id>` or `file:<sha256>`)."""
    return point_id(key)


def file_track_id(sha256: str) -> str:
    return point_id(f"file:{sha256}")


def spotify_track_id(spotify_id: str) -> str:
    return point_id(f"spotify:{spotify_id}")


def library_point_id(user_id: str, track_id: str) -> str:
    return point_id(f"library:{user_id}:{track_id}")


def user_point_id(user_id: str) -> str:
    return point_id(f"user:{user_id}")


def is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False


def canonical(value: str) -> str:
    """The canonical spelling of a uuid (lower-case, hyphenated); anything else unchanged (it then
    matches nothing). Upper-case, braced, `urn:uuid:` and hyphen-less spellings name the same point, so
    every id that comes in is compared and stored in this one form."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return value


def canonical_all(values) -> list[str]:
    return [canonical(v) for v in values]
