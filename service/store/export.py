"""Copy every collection of one store into another (the embedded store into a Qdrant server): points with all
their named vectors and payloads, in batches, upserted by id, so an interrupted copy is finished by running it
again. The counts are compared at the end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from service.store.base import PointData, VectorStore
from service.store.schema import COLLECTION_NAMES


@dataclass
class Copied:
    collection: str
    source: int  # points in the source
    copied: int
    target: int  # points in the target afterwards

    @property
    def ok(self) -> bool:
        return self.target == self.source == self.copied


class PointSource(Protocol):
    """What a store needs to be copied from: pages of whole points (every named vector)."""

    def count(self, collection: str) -> int: ...

    def export_points(
        self, collection: str, *, limit: int, offset: str | None = None
    ) -> tuple[list[PointData], str | None]: ...


def export_store(
    source: PointSource,
    target: VectorStore,
    *,
    batch: int = 256,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> list[Copied]:
    """Copy every collection; `on_progress(collection, copied, total)` after each batch."""
    results = []
    for name in COLLECTION_NAMES:
        total = source.count(name)
        copied, offset = 0, None
        while True:
            points, offset = source.export_points(name, limit=batch, offset=offset)
            target.upsert(name, points)
            copied += len(points)
            if on_progress:
                on_progress(name, copied, total)
            if offset is None or not points:
                break
        target.flush()
        results.append(Copied(name, total, copied, target.count(name)))
    return results
