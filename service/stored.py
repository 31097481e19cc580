"""Stored payloads as msgspec structs: written through `to_payload`, read back through `read_stored`,
which logs and skips (returns None) a point that does not fit this version's shape (old or foreign)."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import msgspec

log = logging.getLogger("musicrec.store")
S = TypeVar("S", bound=msgspec.Struct)


def to_payload(value: msgspec.Struct) -> dict[str, Any]:
    return msgspec.to_builtins(value)


def read_stored(shape: type[S], point_id: str, payload: dict[str, Any]) -> S | None:
    try:
        return msgspec.convert(payload, shape)
    except msgspec.ValidationError as exc:
        log.warning("point %s does not fit the %s shape (%s); skipped", point_id, shape.__name__, exc)
        return None
