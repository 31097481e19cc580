"""The track payload stored in Qdrant (API.md `Track`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec

from service.catalog.payloads import AnalysisInfo, Source, TrackPayload, to_payload
from service.catalog.search import with_search_tokens
from service.keys import with_keys


def with_derived_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """The fields stored only for lookups: search tokens and the normalised genre/artist keys."""
    return with_keys(with_search_tokens(payload))


def track_payload(
    *,
    track_id: str,
    title: str,
    artists: list[str],
    album: str | None,
    genres: list[str],
    year: int | None,
    duration_s: float,
    tempo: float,
    source: dict[str, Any],
    extractor: str,
    version: int,
    descriptors: dict[str, float],
    match_confidence: float | None = None,
    content_sha256: str | None = None,
    styles: list[str] | None = None,
    vectors: list[str] | None = None,
    audio_sha256: str | None = None,
    given_genres: list[str] | None = None,
) -> dict[str, Any]:
    """The stored payload: API.md's `Track` shape plus the descriptors soft targets use (built and
    checked through `TrackPayload`)."""
    payload = to_payload(
        TrackPayload(
            track_id=track_id,
            title=title,
            artists=list(artists),
            album=album,
            genres=list(genres),
            duration_s=round(float(duration_s), 3),
            tempo=round(float(tempo), 2),
            year=year,
            source=msgspec.convert(source, Source),
            analysis=AnalysisInfo(
                extractor=extractor,
                version=version,
                match_confidence=None if match_confidence is None else round(float(match_confidence), 4),
                vectors=list(vectors or []),
            ),
            descriptors={k: round(float(v), 4) for k, v in descriptors.items()},
            styles=list(styles or []),
            content_sha256=content_sha256,
            audio_sha256=audio_sha256,
            given_genres=list(given_genres or []),
        )
    )
    return with_derived_fields(payload)


def file_track_payload(
    *,
    track_id: str,
    path: Path,
    sha256: str,
    title: str | None,
    **fields: Any,
) -> dict[str, Any]:
    return track_payload(
        track_id=track_id,
        title=title or path.stem,
        source={"kind": "file", "path": str(path.resolve())},
        content_sha256=sha256,
        **fields,
    )


_DISC = re.compile(r"(?i)^(?:cd|dis[ck])[\s._-]*\d{1,2}$")  # "CD1", "Disc 2": a part of an album, not the album


def layout_names(path: Path, root: Path) -> tuple[str | None, str | None]:
    """(album, artist) read from the folders between `root` (what was named on the command line) and the file:
    Root/…/Artist/Album/file.ogg gives both, Root/Album/file.ogg only the album, a file directly in Root (or named
    by itself) neither. A disc folder (Album/CD1/file) is skipped. Only folders below `root` count: the folder a
    user points at may be ~/Music, which names no album."""
    try:
        parts = list(path.parent.relative_to(root).parts)
    except ValueError:
        return None, None
    if parts and _DISC.match(parts[-1]):
        parts.pop()
    album = parts[-1] if parts else None
    artist = parts[-2] if len(parts) >= 2 else None
    return album, artist


def with_layout(fields: dict[str, Any], path: Path, root: Path) -> dict[str, Any]:
    """Fill a file's missing album / artists from its folders (`layout_names`), and say which in `inferred`. The
    fields are the payload's (camelCase); tags always win over folders."""
    album, artist = layout_names(path, root)
    inferred = []
    out = dict(fields)
    if not out.get("album") and album:
        out["album"] = album
        inferred.append("album")
    if not out.get("artists") and artist and album:
        out["artists"] = [artist]
        inferred.append("artists")
    out["inferred"] = inferred
    return out


def updated_payload(stored: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A stored track payload with these camelCase fields replaced (source merged), checked through `TrackPayload`
    and given fresh search tokens."""
    merged = {**stored, **changes}
    if "source" in changes:
        merged["source"] = {**(stored.get("source") or {}), **changes["source"]}
    merged.pop("searchTokens", None)
    return with_search_tokens(to_payload(msgspec.convert(merged, TrackPayload)))
