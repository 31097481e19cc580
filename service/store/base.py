"""The vector store behind one small interface, with backend-neutral filters and queries.

Two backends implement `VectorStore`: `edge.EdgeStore` (Qdrant Edge, embedded) and
`server.ServerStore` (qdrant-client against a Qdrant server, or its `:memory:` mode in tests).
Collections are addressed by their logical name (an alias: "tracks" → "tracks_v1").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Vector = Sequence[float]


# --- filters -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Match:
    """`key` equals `value` (for a list field: contains it)."""

    key: str
    value: str | int | bool


@dataclass(frozen=True)
class MatchAny:
    """`key` equals (or, for a list field, contains) any of `values`."""

    key: str
    values: tuple[str, ...] | tuple[int, ...]


@dataclass(frozen=True)
class Range:
    key: str
    gte: float | None = None
    lte: float | None = None


@dataclass(frozen=True)
class HasId:
    ids: tuple[str, ...]


@dataclass(frozen=True)
class Filter:
    must: tuple[Any, ...] = ()
    must_not: tuple[Any, ...] = ()
    should: tuple[Any, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.must or self.must_not or self.should)


# --- queries -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Nearest:
    vector: Vector


@dataclass(frozen=True)
class Recommend:
    """Closest to the positives and far from the negatives (Qdrant's best_score strategy)."""

    positives: tuple[Vector, ...]
    negatives: tuple[Vector, ...] = ()


Query = Nearest | Recommend


# --- results -------------------------------------------------------------------------------------
@dataclass
class Record:
    id: str
    payload: dict[str, Any]
    vector: list[float] | None = None
    score: float | None = None


@dataclass(frozen=True)
class FacetHit:
    value: str | int
    count: int


def facet_order(hits: Sequence[FacetHit]) -> list[FacetHit]:
    """Most frequent first, ties by value: the same order from every backend."""
    return sorted(hits, key=lambda h: (-h.count, str(type(h.value)), h.value))


@dataclass
class PointData:
    id: str
    payload: dict[str, Any]
    vectors: dict[str, Vector] = field(default_factory=dict)


class VectorStore(Protocol):
    """What the service needs from Qdrant, nothing more."""

    backend: str

    def ensure_collections(self) -> None: ...

    def upsert(self, collection: str, points: Sequence[PointData]) -> None: ...

    def retrieve(self, collection: str, ids: Sequence[str], *, with_vector: str | None = None) -> list[Record]: ...

    def scroll(
        self,
        collection: str,
        *,
        limit: int,
        offset: str | None = None,
        filter: Filter | None = None,
        with_vector: str | None = None,
    ) -> tuple[list[Record], str | None]: ...

    def count(self, collection: str, filter: Filter | None = None) -> int: ...

    def query(
        self,
        collection: str,
        query: Query,
        *,
        using: str,
        limit: int,
        filter: Filter | None = None,
        exact: bool = False,
        hnsw_ef: int | None = None,
        with_vector: bool = False,
    ) -> list[Record]: ...

    def facet(self, collection: str, key: str, *, limit: int, filter: Filter | None = None) -> list[FacetHit]:
        """The `limit` most frequent values of a keyword or integer indexed payload field among the points that
        match `filter`, each with its exact count of points (a point holding a value twice counts once)."""
        ...

    def set_payload(self, collection: str, point_id: str, payload: dict[str, Any]) -> None:
        """Merge `payload` keys into an existing point's payload (the vector is untouched)."""
        ...

    def update_vectors(self, collection: str, point_id: str, vectors: dict[str, Vector]) -> None:
        """Replace these named vectors of an existing point (its payload is untouched)."""
        ...

    def delete(self, collection: str, ids: Sequence[str]) -> None: ...

    def flush(self) -> None:
        """Make the writes acknowledged so far durable (on disk, not only in memory)."""
        ...

    def healthy(self) -> bool: ...

    def close(self) -> None: ...
