"""Domain errors: a stable `code` for clients and a message; no HTTP statuses (api/errors.py maps them)."""

from __future__ import annotations

from typing import Any


class MusicrecError(Exception):
    code = "error"

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ConfigError(MusicrecError):
    """Settings that cannot work (missing keys, bad numbers)."""

    code = "config_error"


class BadRequest(MusicrecError):
    code = "bad_request"


class AudioError(MusicrecError):
    """A file that cannot be analysed: corrupt, empty, silent, too short, too long, not audio."""

    code = "bad_audio"


class NotFound(MusicrecError):
    code = "not_found"


class Conflict(MusicrecError):
    code = "conflict"


class Unavailable(MusicrecError):
    """A dependency (Qdrant, the broker) is down; clients may retry."""

    code = "unavailable"
    retry_after = 5


class DiskFull(Unavailable):
    """Too little free space for the embedded store to write safely; retry once space is freed."""

    code = "disk_full"
    retry_after = 60


class StoreLocked(MusicrecError):
    """The embedded store is owned by another process (e.g. a running `musicrec serve`)."""

    code = "store_locked"
