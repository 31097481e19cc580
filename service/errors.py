"""Domain errors. Each carries the API error code and HTTP status; the API maps them in one handler."""

from __future__ import annotations

from typing import Any


class MusicrecError(Exception):
    code = "error"
    status = 500

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ConfigError(MusicrecError):
    """Settings that cannot work (missing keys, bad numbers)."""

    code = "config_error"
    status = 500


class BadRequest(MusicrecError):
    code = "bad_request"
    status = 400


class AudioError(MusicrecError):
    """A file that cannot be analysed: corrupt, empty, silent, too short, too long, not audio."""

    code = "bad_audio"
    status = 400


class NotFound(MusicrecError):
    code = "not_found"
    status = 404


class Conflict(MusicrecError):
    code = "conflict"
    status = 409


class Unavailable(MusicrecError):
    """A dependency (Qdrant, the broker) is down; clients may retry."""

    code = "unavailable"
    status = 503
    retry_after = 5


class StoreLocked(MusicrecError):
    """The embedded store is owned by another process (e.g. a running `musicrec serve`)."""

    code = "store_locked"
    status = 503
