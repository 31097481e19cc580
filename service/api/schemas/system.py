"""/healthz and /ping bodies."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from service.api.schemas.common import Base


class Health(Base):
    """The health of the API and what it depends on."""

    status: Annotated[
        Literal["ok", "degraded"], Meta(description="`ok`, or `degraded` when Qdrant or the broker is down")
    ]
    qdrant: Annotated[Literal["ok", "down"], Meta(description="The vector store (embedded or Qdrant server)")]
    broker: Annotated[
        Literal["ok", "down", "inproc"],
        Meta(description="Redis, the job broker: `ok`, `down`, or `inproc` (no Redis configured: in-process broker)"),
    ]
    tracks: Annotated[int, Meta(description="Tracks stored (exact count; 0 while Qdrant is down)")]
    vector: Annotated[
        str,
        Meta(
            description="The vector recommendations compare: `fused_v2` (DSP features + learned embedding), or "
            "`librosa_v1` (DSP only: the embedding is off, or the store awaits `musicrec reindex`)"
        ),
    ]
    collection: Annotated[str, Meta(description="The collection the `tracks` alias points to, e.g. `tracks_v3`")]


class Pong(msgspec.Struct):
    """The answer of /ping."""

    message: Annotated[str, Meta(description="Always `pong`")]
