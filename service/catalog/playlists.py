"""Playlists as M3U8 (extended M3U, UTF-8): local files by their path, other tracks by Spotify URI."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def track_location(payload: dict[str, Any]) -> str | None:
    source = payload.get("source") or {}
    if source.get("kind") == "file" and source.get("path"):
        return source["path"]
    if source.get("spotifyId"):
        return f"spotify:track:{source['spotifyId']}"
    if source.get("youtubeId"):
        return f"https://www.youtube.com/watch?v={source['youtubeId']}"
    return None


def m3u8(payloads: Iterable[dict[str, Any]], name: str | None = None) -> str:
    """The playlist text; tracks with no location at all are left out."""
    lines = ["#EXTM3U"]
    if name:
        lines.append(f"#PLAYLIST:{_one_line(name)}")
    for p in payloads:
        location = track_location(p)
        if location is None:
            continue
        artists = ", ".join(p.get("artists") or [])
        title = p.get("title") or ""
        label = f"{artists} - {title}" if artists else title
        lines.append(f"#EXTINF:{round(float(p.get('durationS') or -1))},{_one_line(label)}")
        lines.append(location)
    return "\n".join(lines) + "\n"
