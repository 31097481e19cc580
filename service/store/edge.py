"""Vector store embedded in-process with Qdrant Edge: Qdrant's own engine (HNSW, payload indexes,
filters) with one shard per collection under `<data dir>/qdrant/`.

Qdrant Edge has no aliases, so the alias → collection map lives in `aliases.json` beside the shards
and is swapped atomically (write + rename) by reindexing.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path

import qdrant_edge as qe

from service.errors import StoreLocked, Unavailable
from service.ids import is_uuid
from service.store.base import (
    Filter,
    HasId,
    Match,
    MatchAny,
    Nearest,
    PointData,
    Query,
    Range,
    Recommend,
    Record,
)
from service.store.schema import CollectionSpec, load_specs

_DISTANCES = {
    "Cosine": qe.Distance.Cosine,
    "Dot": qe.Distance.Dot,
    "Euclid": qe.Distance.Euclid,
    "Manhattan": qe.Distance.Manhattan,
}
_SCHEMA_TYPES = {
    "keyword": qe.PayloadSchemaType.Keyword,
    "integer": qe.PayloadSchemaType.Integer,
    "float": qe.PayloadSchemaType.Float,
    "bool": qe.PayloadSchemaType.Bool,
    "datetime": qe.PayloadSchemaType.Datetime,
    "uuid": qe.PayloadSchemaType.Uuid,
    "text": qe.PayloadSchemaType.Text,
    "geo": qe.PayloadSchemaType.Geo,
}


def edge_config(spec: CollectionSpec) -> qe.EdgeConfig:
    body = spec.body
    vectors = {
        name: qe.EdgeVectorParams(size=params.size, distance=_DISTANCES[params.distance.value])
        for name, params in spec.vector_params().items()
    }
    hnsw = None
    if body.hnsw_config is not None:
        h = body.hnsw_config
        hnsw = qe.HnswIndexConfig(
            m=h.m if h.m is not None else 16,
            ef_construct=h.ef_construct or 100,
            full_scan_threshold=h.full_scan_threshold or 10000,
            payload_m=h.payload_m,
        )
    return qe.EdgeConfig(
        vectors=vectors,
        hnsw_config=hnsw,
        on_disk_payload=bool(body.on_disk_payload),
        # one search thread per query: concurrency comes from the requests (each in its own thread); a
        # pool per shard sized to the cores oversubscribed 2 cores with 24 threads under load
        max_search_threads=SEARCH_THREADS_PER_QUERY,
    )


def edge_index_schema(field_schema):
    """qdrant-client's field schema (a type name or typed params) → Qdrant Edge's."""
    if isinstance(field_schema, str) or hasattr(field_schema, "value"):
        return _SCHEMA_TYPES[getattr(field_schema, "value", field_schema)]
    kind = field_schema.type.value
    hnsw = getattr(field_schema, "enable_hnsw", None)
    if kind == "keyword":
        return qe.KeywordIndexParams(is_tenant=field_schema.is_tenant, enable_hnsw=hnsw)
    if kind == "float":
        return qe.FloatIndexParams(is_principal=field_schema.is_principal, enable_hnsw=hnsw)
    if kind == "integer":
        return qe.IntegerIndexParams(
            lookup=field_schema.lookup,
            range=field_schema.range,
            is_principal=field_schema.is_principal,
            enable_hnsw=hnsw,
        )
    return _SCHEMA_TYPES[kind]


@functools.lru_cache(maxsize=256)
def _has_id(ids: tuple[str, ...]) -> qe.HasIdCondition:
    """Built once per distinct id list: a user's library, excluded from every query of a recommendation
    (and of the next ones while it is unchanged), is thousands of ids to parse and hand to Rust."""
    out = set()
    for i in ids:
        try:
            out.add(uuid.UUID(i))
        except ValueError:
            continue
    return qe.HasIdCondition(out)


def to_condition(cond):
    if isinstance(cond, Match):
        if isinstance(cond.value, bool):
            # qdrant-edge-py 0.9 turns MatchValue(True) into 1 and then matches nothing: fail loudly
            raise TypeError(f"boolean match on {cond.key!r} is not supported by Qdrant Edge; use a keyword field")
        return qe.FieldCondition(key=cond.key, match=qe.MatchValue(cond.value))
    if isinstance(cond, MatchAny):
        return qe.FieldCondition(key=cond.key, match=qe.MatchAny(list(cond.values)))
    if isinstance(cond, Range):
        return qe.FieldCondition(key=cond.key, range=qe.RangeFloat(gte=cond.gte, lte=cond.lte))
    if isinstance(cond, HasId):
        return _has_id(cond.ids)
    if isinstance(cond, Filter):
        return to_filter(cond)
    raise TypeError(f"unknown condition {cond!r}")


def to_filter(flt: Filter | None):
    if not flt:
        return None
    return qe.Filter(
        must=[to_condition(c) for c in flt.must] or None,
        must_not=[to_condition(c) for c in flt.must_not] or None,
        should=[to_condition(c) for c in flt.should] or None,
    )


def _vec(v) -> list[float]:
    return [float(x) for x in v]


def _record(point, with_vector: str | None) -> Record:
    vector = None
    if with_vector and point.vector:
        vector = list(point.vector[with_vector])
    return Record(id=str(point.id), payload=point.payload or {}, vector=vector, score=getattr(point, "score", None))


SEARCH_THREADS_PER_QUERY = 1


class EdgeStore:
    backend = "edge"

    def __init__(self, data_dir: Path, *, specs: dict[str, CollectionSpec] | None = None):
        self.root = Path(data_dir) / "qdrant"
        self.specs = specs or load_specs()
        self.shards: dict[str, qe.EdgeShard] = {}  # keyed by real collection name
        self._aliases: dict[str, str] = {}
        self._lock = threading.Lock()

    # --- bootstrap -------------------------------------------------------------------------------
    @property
    def _aliases_path(self) -> Path:
        return self.root / "aliases.json"

    def _read_aliases(self) -> dict[str, str]:
        try:
            return json.loads(self._aliases_path.read_text())
        except FileNotFoundError:
            return {}

    def set_alias(self, alias: str, collection: str) -> None:
        with self._lock:
            aliases = self._read_aliases() | {alias: collection}
            tmp = self._aliases_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(aliases, indent=2, sort_keys=True))
            os.replace(tmp, self._aliases_path)
            self._aliases = aliases

    def open_shard(self, real_name: str, spec: CollectionSpec) -> qe.EdgeShard:
        path = self.root / real_name
        try:
            if (path / "edge_config.json").exists() or any(path.glob("*")):
                shard = qe.EdgeShard.load(str(path), edge_config(spec))  # applies today's thread settings
            else:
                shard = qe.EdgeShard.create(str(path), edge_config(spec))
        except Exception as exc:
            if "WouldBlock" in str(exc) or "lock" in str(exc).lower():
                raise StoreLocked(
                    f"the embedded store in {self.root.parent} is in use by another musicrec process "
                    "(a running `musicrec serve`?)",
                    {"dataDir": str(self.root.parent)},
                ) from None
            raise
        existing = set(shard.info().payload_schema)
        for index in spec.indexes:
            if index.field_name not in existing:
                shard.update(
                    qe.UpdateOperation.create_field_index(index.field_name, edge_index_schema(index.field_schema))
                )
        return shard

    def ensure_collections(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._aliases = self._read_aliases()
        for spec in self.specs.values():
            target = self._aliases.get(spec.name, spec.real_name)
            if target not in self.shards:
                self.shards[target] = self.open_shard(target, spec)
            if spec.name not in self._aliases:
                self.set_alias(spec.name, target)

    def _shard(self, collection: str) -> qe.EdgeShard:
        name = self._aliases.get(collection, collection)
        try:
            return self.shards[name]
        except KeyError:
            raise Unavailable(f"collection {collection!r} is not open") from None

    # --- data ------------------------------------------------------------------------------------
    def upsert(self, collection: str, points: Sequence[PointData]) -> None:
        if not points:
            return
        self._shard(collection).update(
            qe.UpdateOperation.upsert_points(
                [qe.Point(uuid.UUID(p.id), {k: _vec(v) for k, v in p.vectors.items()}, p.payload) for p in points]
            )
        )

    def retrieve(self, collection: str, ids: Sequence[str], *, with_vector: str | None = None) -> list[Record]:
        valid = [uuid.UUID(i) for i in ids if is_uuid(i)]
        if not valid:
            return []
        points = self._shard(collection).retrieve(
            valid, with_payload=True, with_vector=[with_vector] if with_vector else False
        )
        by_id = {str(p.id): _record(p, with_vector) for p in points}
        return [by_id[str(i)] for i in valid if str(i) in by_id]  # same order as asked

    def scroll(self, collection, *, limit, offset=None, filter=None, with_vector=None):
        if offset is not None and not is_uuid(offset):
            return [], None
        points, next_offset = self._shard(collection).scroll(
            qe.ScrollRequest(
                offset=uuid.UUID(offset) if offset else None,
                limit=limit,
                filter=to_filter(filter),
                with_payload=True,
                with_vector=[with_vector] if with_vector else False,
            )
        )
        return [_record(p, with_vector) for p in points], (str(next_offset) if next_offset else None)

    def count(self, collection: str, filter: Filter | None = None) -> int:
        return self._shard(collection).count(qe.CountRequest(exact=True, filter=to_filter(filter)))

    def query(
        self, collection, query: Query, *, using, limit, filter=None, exact=False, hnsw_ef=None, with_vector=False
    ):
        if isinstance(query, Nearest):
            q = qe.Query.Nearest(_vec(query.vector), using=using)
        elif isinstance(query, Recommend):
            q = qe.Query.RecommendBestScore(
                qe.RecommendQuery(
                    positives=[_vec(v) for v in query.positives], negatives=[_vec(v) for v in query.negatives]
                ),
                using=using,
            )
        else:
            raise TypeError(f"unknown query {query!r}")
        points = self._shard(collection).query(
            qe.QueryRequest(
                limit=limit,
                query=q,
                filter=to_filter(filter),
                with_payload=True,
                with_vector=[using] if with_vector else False,
                params=qe.SearchParams(exact=exact, hnsw_ef=hnsw_ef) if exact or hnsw_ef else None,
            )
        )
        return [_record(p, using if with_vector else None) for p in points]

    def set_payload(self, collection: str, point_id: str, payload: dict) -> None:
        self._shard(collection).update(qe.UpdateOperation.set_payload([uuid.UUID(point_id)], payload))

    def update_vectors(self, collection: str, point_id: str, vectors: dict) -> None:
        point = qe.PointVectors(uuid.UUID(point_id), {k: _vec(v) for k, v in vectors.items()})
        self._shard(collection).update(qe.UpdateOperation.update_vectors([point]))

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        valid = [uuid.UUID(i) for i in ids if is_uuid(i)]
        if valid:
            self._shard(collection).update(qe.UpdateOperation.delete_points(valid))

    def optimize(self) -> None:
        """Build HNSW/merge segments after bulk writes (Edge runs its optimizers only when asked)."""
        for shard in self.shards.values():
            shard.optimize()

    def healthy(self) -> bool:
        return bool(self.shards)

    def close(self) -> None:
        for shard in self.shards.values():
            try:
                shard.flush()
            finally:
                shard.close()
        self.shards.clear()
