"""The track payload stored in Qdrant (API.md `Track`)."""

from __future__ import annotations

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
