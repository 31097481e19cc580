"""Vector store on a Qdrant server through qdrant-client (its `:memory:` mode stands in for tests)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from qdrant_client import QdrantClient
from qdrant_client.http import models
from qdrant_client.http.exceptions import ResponseHandlingException

from service.errors import Unavailable
from service.ids import is_uuid
from service.settings import without_credentials
from service.store.base import (
    FacetHit,
    Filter,
    HasId,
    IsEmpty,
    Match,
    MatchAny,
    Nearest,
    PointData,
    Query,
    Range,
    Recommend,
    Record,
    WithVector,
    facet_order,
    to_record,
    vector_selector,
)
from service.store.schema import CollectionSpec, load_specs

# qdrant-client checks the server's version in a thread and warns when it cannot reach it: our own error already
# says so, in one line, at the first call (the warning about a version mismatch is kept)
warnings.filterwarnings("ignore", message="Failed to obtain server version", category=UserWarning)


def to_condition(cond) -> models.Condition:
    if isinstance(cond, Match):
        return models.FieldCondition(key=cond.key, match=models.MatchValue(value=cond.value))
    if isinstance(cond, MatchAny):
        return models.FieldCondition(key=cond.key, match=models.MatchAny(any=list(cond.values)))
    if isinstance(cond, Range):
        return models.FieldCondition(key=cond.key, range=models.Range(gte=cond.gte, lte=cond.lte))
    if isinstance(cond, HasId):
        return models.HasIdCondition(has_id=list(cond.ids))
    if isinstance(cond, IsEmpty):
        return models.IsEmptyCondition(is_empty=models.PayloadField(key=cond.key))
    if isinstance(cond, Filter):
        return to_filter(cond)
    raise TypeError(f"unknown condition {cond!r}")


def to_filter(flt: Filter | None) -> models.Filter | None:
    if not flt:
        return None
    return models.Filter(
        must=[to_condition(c) for c in flt.must] or None,
        must_not=[to_condition(c) for c in flt.must_not] or None,
        should=[to_condition(c) for c in flt.should] or None,
    )


def _create_kwargs(spec: CollectionSpec) -> dict:
    """The create-collection body as qdrant-client keyword arguments (`vectors` is `vectors_config`)."""
    renamed = {"vectors": "vectors_config", "sparse_vectors": "sparse_vectors_config"}
    return {
        renamed.get(name, name): getattr(spec.body, name)
        for name in spec.body.model_fields_set
        if getattr(spec.body, name) is not None
    }


class ServerStore:
    backend = "server"

    def __init__(self, url: str, api_key: str | None = None, *, specs: dict[str, CollectionSpec] | None = None):
        self.url = without_credentials(url)
        self.local = url == ":memory:" or url.startswith("path:")
        if url == ":memory:":
            self.client = QdrantClient(location=":memory:")
        elif url.startswith("path:"):  # qdrant-client's local mode on disk: a server stand-in for tests and tools
            self.client = QdrantClient(path=url.removeprefix("path:"))
        else:
            self.client = QdrantClient(url=url, api_key=api_key, timeout=10)
        self.specs = specs or load_specs()

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ResponseHandlingException, ConnectionError, TimeoutError) as exc:
            reason = str(exc.__cause__ or exc).strip() or type(exc).__name__
            raise Unavailable(f"Qdrant at {self.url} is unreachable ({reason[:200]})", {"backend": "server"}) from exc

    # --- bootstrap -------------------------------------------------------------------------------
    def ensure_collections(self) -> None:
        with warnings.catch_warnings():
            if self.local:  # it says, once per index, that it has no payload indexes: we know
                warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
            self._ensure_collections()

    def _ensure_collections(self) -> None:
        aliases = {a.alias_name: a.collection_name for a in self._call(self.client.get_aliases).aliases}
        for spec in self.specs.values():
            target = aliases.get(spec.name, spec.real_name)
            self.create_collection(target, spec)
            if spec.name not in aliases:
                self.set_alias(spec.name, target)

    def collection_name(self, collection: str) -> str:
        aliases = {a.alias_name: a.collection_name for a in self._call(self.client.get_aliases).aliases}
        return aliases.get(collection, collection)

    def vector_sizes(self, collection: str) -> dict[str, int]:
        info = self._call(self.client.get_collection, self.collection_name(collection))
        vectors = info.config.params.vectors
        if not isinstance(vectors, dict):
            return {}
        return {name: params.size for name, params in vectors.items()}

    def set_alias(self, alias: str, collection: str) -> None:
        self.set_aliases({alias: collection})

    def set_aliases(self, targets: dict[str, str]) -> None:
        """Point these aliases at these collections in one request (Qdrant applies it atomically)."""
        existing = {a.alias_name for a in self._call(self.client.get_aliases).aliases}
        ops: list = []
        for alias, collection in targets.items():
            if alias in existing:
                ops.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
            ops.append(
                models.CreateAliasOperation(
                    create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)
                )
            )
        self._call(self.client.update_collection_aliases, change_aliases_operations=ops)

    def create_collection(self, real_name: str, spec: CollectionSpec) -> None:
        """Create the collection if it is missing, and any payload index it lacks (creating one is idempotent)."""
        if not self._call(self.client.collection_exists, real_name):
            self._call(self.client.create_collection, collection_name=real_name, **_create_kwargs(spec))
        for index in spec.indexes:
            self._call(
                self.client.create_payload_index,
                collection_name=real_name,
                field_name=index.field_name,
                field_schema=index.field_schema,
            )

    def collection_exists(self, real_name: str) -> bool:
        return bool(self._call(self.client.collection_exists, real_name))

    # --- data ------------------------------------------------------------------------------------
    def upsert(self, collection: str, points: Sequence[PointData]) -> None:
        if not points:
            return
        self._call(
            self.client.upsert,
            collection_name=collection,
            points=[
                models.PointStruct(
                    id=p.id, payload=p.payload, vector={k: list(map(float, v)) for k, v in p.vectors.items()}
                )
                for p in points
            ],
            wait=True,
        )

    def retrieve(self, collection: str, ids: Sequence[str], *, with_vector: WithVector = None) -> list[Record]:
        valid = [i for i in ids if is_uuid(i)]
        if not valid:
            return []
        points = self._call(
            self.client.retrieve,
            collection_name=collection,
            ids=valid,
            with_payload=True,
            with_vectors=vector_selector(with_vector),
        )
        return [to_record(p, with_vector) for p in points]

    def scroll(self, collection, *, limit, offset=None, filter=None, with_vector=None):
        if offset is not None and not is_uuid(offset):
            return [], None
        points, next_offset = self._call(
            self.client.scroll,
            collection_name=collection,
            scroll_filter=to_filter(filter),
            limit=limit,
            offset=offset,
            with_payload=True,
            with_vectors=vector_selector(with_vector),
        )
        return [to_record(p, with_vector) for p in points], (str(next_offset) if next_offset else None)

    def count(self, collection: str, filter: Filter | None = None) -> int:
        return self._call(
            self.client.count, collection_name=collection, count_filter=to_filter(filter), exact=True
        ).count

    def query(
        self, collection, query: Query, *, using, limit, filter=None, exact=False, hnsw_ef=None, with_vector=False
    ):
        if isinstance(query, Nearest):
            q = models.NearestQuery(nearest=list(map(float, query.vector)))
        elif isinstance(query, Recommend):
            q = models.RecommendQuery(
                recommend=models.RecommendInput(
                    positive=[list(map(float, v)) for v in query.positives],
                    negative=[list(map(float, v)) for v in query.negatives] or None,
                    strategy=models.RecommendStrategy.BEST_SCORE,
                )
            )
        else:
            raise TypeError(f"unknown query {query!r}")
        result = self._call(
            self.client.query_points,
            collection_name=collection,
            query=q,
            using=using,
            query_filter=to_filter(filter),
            limit=limit,
            with_payload=True,
            with_vectors=[using] if with_vector else False,
            search_params=models.SearchParams(exact=exact, hnsw_ef=hnsw_ef) if exact or hnsw_ef else None,
        )
        return [to_record(p, using if with_vector else None) for p in result.points]

    def facet(self, collection: str, key: str, *, limit: int, filter: Filter | None = None) -> list[FacetHit]:
        # qdrant-client's local mode (`:memory:`, `path:`) implements facet too, with the same exact counts
        result = self._call(
            self.client.facet,
            collection_name=collection,
            key=key,
            facet_filter=to_filter(filter),
            limit=limit,
            exact=True,
        )
        return facet_order([FacetHit(value=h.value, count=int(h.count)) for h in result.hits])

    def set_payload(self, collection: str, point_id: str, payload: dict) -> None:
        self._call(self.client.set_payload, collection_name=collection, payload=payload, points=[point_id], wait=True)

    def update_vectors(self, collection: str, point_id: str, vectors: dict) -> None:
        point = models.PointVectors(id=point_id, vector={k: list(map(float, v)) for k, v in vectors.items()})
        self._call(self.client.update_vectors, collection_name=collection, points=[point], wait=True)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        self._call(self.client.delete, collection_name=collection, points_selector=[i for i in ids if is_uuid(i)])

    def flush(self) -> None:
        """Nothing to do: every write is sent with wait=True, so the server has it in its WAL when we go on."""

    def healthy(self) -> bool:
        try:
            self.client.get_aliases()
            return True
        except Exception:
            return False

    def close(self) -> None:
        self.client.close()
