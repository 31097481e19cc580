"""HTTP Range (RFC 9110 §14) for file downloads: one byte range per request (browsers ask for one)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
CHUNK = 1 << 16


class Unsatisfiable(Exception):
    """The range lies outside the file (answer 416 with `Content-Range: bytes */size`)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte, both included, or None to send the whole file (no header, several ranges,
    or one we do not understand, which RFC 9110 lets a server ignore)."""
    if not header:
        return None
    found = _RANGE.match(header)
    if not found:
        return None
    first, last = found.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise Unsatisfiable
        return max(size - n, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise Unsatisfiable
    return start, end


def read_bytes(path: Path, start: int, end: int) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        fh.seek(start)
        left = end - start + 1
        while left > 0:
            block = fh.read(min(CHUNK, left))
            if not block:
                return
            left -= len(block)
            yield block
