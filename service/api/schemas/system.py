"""/healthz and /ping bodies."""

from __future__ import annotations

from typing import Literal

import msgspec

from service.api.schemas.common import Base


class Health(Base):
    status: Literal["ok", "degraded"]
    qdrant: Literal["ok", "down"]
    broker: Literal["ok", "down", "inproc"]
    tracks: int


class Pong(msgspec.Struct):
    message: str
