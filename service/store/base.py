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
class IsEmpty:
    """The payload field is missing, null or an empty list (Qdrant's is_empty)."""

    key: str


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
    vector: list[float] | None = None  # the one vector asked for (`with_vector="name"`)
    score: float | None = None
    vectors: dict[str, list[float]] | None = None  # the vectors asked for by a tuple of names (those it has)


# which vectors a read returns: none, one (Record.vector), or several (Record.vectors)
WithVector = str | tuple[str, ...] | None


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


def to_record(point, with_vector: WithVector = None) -> Record:
    """A Qdrant point (Edge's or qdrant-client's: both have id, payload, vector, score) as a Record."""
    vectors = point.vector if isinstance(point.vector, dict) else {}
    record = Record(id=str(point.id), payload=point.payload or {}, score=getattr(point, "score", None))
    if isinstance(with_vector, str) and with_vector in vectors:
        record.vector = list(vectors[with_vector])
    elif isinstance(with_vector, tuple):
        record.vectors = {name: list(vectors[name]) for name in with_vector if name in vectors}
    return record


def vector_selector(with_vector: WithVector):
    """What to ask Qdrant for: a list of vector names, or False for none."""
    if not with_vector:
        return False
    return [with_vector] if isinstance(with_vector, str) else list(with_vector)


class VectorStore(Protocol):
    """What the service needs from Qdrant, nothing more."""

    backend: str

    def ensure_collections(self) -> None: ...

    def upsert(self, collection: str, points: Sequence[PointData]) -> None: ...

    def retrieve(self, collection: str, ids: Sequence[str], *, with_vector: WithVector = None) -> list[Record]: ...

    def scroll(
        self,
        collection: str,
        *,
        limit: int,
        offset: str | None = None,
        filter: Filter | None = None,
        with_vector: WithVector = None,
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

    def collection_name(self, collection: str) -> str:
        """The real collection an alias points to (tracks → tracks_v3)."""
        ...

    def collection_exists(self, real_name: str) -> bool: ...

    def create_collection(self, real_name: str, spec: Any) -> None:
        """Create (or open) a collection under its real name from a definition (schema.CollectionSpec)."""
        ...

    def set_aliases(self, targets: dict[str, str]) -> None:
        """Point several aliases at new collections at once (reindex's swap)."""
        ...

    def vector_sizes(self, collection: str) -> dict[str, int]:
        """The named vectors the live collection has, with their sizes."""
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
