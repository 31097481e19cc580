"""Track identity and the payload shape stored in Qdrant (API.md `Track`)."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

# Fixed namespace: ids must stay the same across machines and releases.
NAMESPACE = uuid.UUID("6f1c6a4e-2f0b-5d7c-9a51-3c1f5b8e2d40")


def track_id_for_key(key: str) -> str:
    """Point id of a track from its stable key (`spotify:<id>` or `file:<sha256>`)."""
    return str(uuid.uuid5(NAMESPACE, key))


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_track_id(sha256: str) -> str:
    return track_id_for_key(f"file:{sha256}")


def library_point_id(user_id: str, track_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"library:{user_id}:{track_id}"))


def file_track_payload(
    *,
    track_id: str,
    path: Path,
    sha256: str,
    title: str | None,
    artists: list[str],
    album: str | None,
    genres: list[str],
    year: int | None,
    duration_s: float,
    tempo: float,
    extractor: str,
    version: int,
    descriptors: dict[str, float],
) -> dict[str, Any]:
    return {
        "trackId": track_id,
        "title": title or path.stem,
        "artists": artists,
        "album": album,
        "genres": genres,
        "durationS": round(float(duration_s), 3),
        "tempo": round(float(tempo), 2),
        "year": year,
        "source": {"kind": "file", "spotifyId": None, "youtubeId": None, "path": str(path.resolve())},
        "analysis": {"extractor": extractor, "version": version, "matchConfidence": None},
        "descriptors": {k: round(float(v), 4) for k, v in descriptors.items()},
        "contentSha256": sha256,
    }
