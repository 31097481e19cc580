"""Vector store embedded in-process with Qdrant Edge: Qdrant's own engine (HNSW, payload indexes,
filters) with one shard per collection under `<data dir>/qdrant/`.

Qdrant Edge has no aliases, so the alias → collection map lives in `aliases.json` beside the shards
and is swapped atomically (write + rename) by reindexing.

Durability: an acknowledged write is in Edge's memory-mapped WAL, i.e. in the page cache; it reaches the disk when
the kernel writes the pages back, or when we fsync it. A background thread fsyncs the WALs of the shards written
to every `flush_interval_s` seconds, and `flush()` does it at the end of every ingest batch and sync job, so a power
loss drops at most the last interval's writes (a crash of the process alone loses nothing: the pages are the
kernel's, and the WAL is replayed at the next open). Edge's own flush (segments, indexes: slow, and it holds the
GIL) runs once a minute and at close, to keep the WAL to replay short.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import qdrant_edge as qe

from service.errors import StoreLocked, Unavailable
from service.ids import is_uuid
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
from service.store.space import check_free_space, sparse_holes

log = logging.getLogger("musicrec.store")

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


def _vector_params(params) -> qe.EdgeVectorParams:
    """One named vector: size, distance, on disk or not, and its own HNSW settings (m 0: no graph, for a vector
    that is stored but never searched)."""
    hnsw = None
    if params.hnsw_config is not None and params.hnsw_config.m is not None:
        hnsw = qe.HnswIndexConfig(
            m=params.hnsw_config.m,
            ef_construct=params.hnsw_config.ef_construct or 100,
            full_scan_threshold=params.hnsw_config.full_scan_threshold or 10000,
        )
    return qe.EdgeVectorParams(
        size=params.size, distance=_DISTANCES[params.distance.value], on_disk=params.on_disk, hnsw_config=hnsw
    )


def _stored_vectors(path: Path) -> dict[str, dict] | None:
    """The named vectors an existing shard was created with (its edge_config.json), or None if unreadable."""
    try:
        return json.loads((path / "edge_config.json").read_text())["vectors"]
    except (OSError, ValueError, KeyError):
        return None


def edge_config(spec: CollectionSpec, vectors: dict[str, dict] | None = None) -> qe.EdgeConfig:
    """The shard config of a collection definition; `vectors` (as in an edge_config.json) replaces its vectors."""
    body = spec.body
    if vectors is None:
        vectors = {name: _vector_params(params) for name, params in spec.vector_params().items()}
    else:
        vectors = {
            name: qe.EdgeVectorParams(size=int(v["size"]), distance=_DISTANCES[v["distance"]])
            for name, v in vectors.items()
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


@functools.lru_cache(maxsize=32)  # each entry can hold a 10k-track library: keep the bound small
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
    if isinstance(cond, IsEmpty):
        return qe.IsEmptyCondition(key=cond.key)
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


SEGMENT_FLUSH_S = 60.0


def _fsync_folder(folder: Path) -> None:
    """fsync every file in `folder` (pages written through a shared mapping included) and the folder itself."""
    for entry in os.scandir(folder):
        if entry.is_file():
            fd = os.open(entry.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_estimate(points: Sequence[PointData]) -> int:
    """Generous bytes on disk for upserting these points: vectors (stored, and again in the HNSW graph and the WAL)
    plus the payload and its indexes."""
    dims = sum(len(v) for p in points for v in p.vectors.values())
    return dims * 4 * 3 + len(points) * 16_384


def _vec(v) -> list[float]:
    """A vector as qdrant-edge takes it fastest: a list (it reads ints and numpy floats in one as well). Copying
    every element through float() cost more than the shard's own write of an upserted point."""
    if isinstance(v, list):
        return v
    tolist = getattr(v, "tolist", None)  # a numpy array: its own conversion, ~3x faster than reading it element-wise
    return tolist() if tolist is not None else list(v)


SEARCH_THREADS_PER_QUERY = 1


class EdgeStore:
    backend = "edge"

    def __init__(
        self,
        data_dir: Path,
        *,
        specs: dict[str, CollectionSpec] | None = None,
        min_free_mb: int = 0,
        flush_interval_s: float = 0.0,
    ):
        self.root = Path(data_dir) / "qdrant"
        self.specs = specs or load_specs()
        self.shards: dict[str, qe.EdgeShard] = {}  # keyed by real collection name
        self._aliases: dict[str, str] = {}
        self._vectors: dict[str, dict[str, int]] = {}  # real collection name → its named vectors' sizes
        self._lock = threading.Lock()
        self.min_free_mb = min_free_mb
        self.flush_interval_s = flush_interval_s
        self._dirty: set[str] = set()  # shards written since their last segment flush
        self._unsynced: set[str] = set()  # shards written since their WAL was last synced
        self._flush_lock = threading.Lock()
        self._dirty_lock = threading.Lock()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        self._holes = (
            float("-inf"),
            0,
        )  # (when measured, bytes): the store's sparse holes, measured at most once a second

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
        self.set_aliases({alias: collection})

    def set_aliases(self, targets: dict[str, str]) -> None:
        """Point these aliases at these collections, all at once (one atomic file replace)."""
        with self._lock:
            aliases = self._read_aliases() | targets
            tmp = self._aliases_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(aliases, indent=2, sort_keys=True))
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, self._aliases_path)
            folder = os.open(self.root, os.O_RDONLY)  # the rename itself survives a power loss
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
            self._aliases = aliases

    def create_collection(self, real_name: str, spec: CollectionSpec) -> None:
        """Open (creating if new) the collection `real_name` with this definition, beside the live ones."""
        with self._lock:
            if real_name not in self.shards:
                self.shards[real_name] = self.open_shard(real_name, spec)

    def collection_exists(self, real_name: str) -> bool:
        return real_name in self.shards or (self.root / real_name / "edge_config.json").exists()

    def open_shard(self, real_name: str, spec: CollectionSpec) -> qe.EdgeShard:
        path = self.root / real_name
        config = edge_config(spec)
        self._vectors[real_name] = {name: p.size for name, p in spec.vector_params().items()}
        try:
            if (path / "edge_config.json").exists() or any(path.glob("*")):
                stored = _stored_vectors(path)
                if stored is not None and set(stored) != set(self._vectors[real_name]):
                    # a collection of an earlier version: opened with its own vectors, served as it is
                    config = edge_config(spec, vectors=stored)
                    self._vectors[real_name] = {name: int(v["size"]) for name, v in stored.items()}
                shard = qe.EdgeShard.load(str(path), config)  # applies today's thread settings
            else:
                shard = qe.EdgeShard.create(str(path), config)
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
        check_free_space(self.root, self.min_free_mb, holes=self._sparse_holes(), doing="opening the embedded store")
        self._aliases = self._read_aliases()
        for spec in self.specs.values():
            target = self._aliases.get(spec.name, spec.real_name)
            if target not in self.shards:
                self.shards[target] = self.open_shard(target, spec)
            if spec.name not in self._aliases:
                self.set_alias(spec.name, target)
        if self.flush_interval_s > 0 and self._flusher is None:
            self._flusher = threading.Thread(target=self._flush_periodically, name="edge-flush", daemon=True)
            self._flusher.start()

    def collection_name(self, collection: str) -> str:
        """The real collection an alias points to (tracks → tracks_v3)."""
        return self._name(collection)

    def vector_sizes(self, collection: str) -> dict[str, int]:
        """The named vectors the live collection has (an older collection may have fewer than the definition)."""
        return dict(self._vectors[self._name(collection)])

    def _shard(self, collection: str) -> qe.EdgeShard:
        return self.shards[self._name(collection)]

    def _name(self, collection: str) -> str:
        name = self._aliases.get(collection, collection)
        if name not in self.shards:
            raise Unavailable(f"collection {collection!r} is not open")
        return name

    def _write(self, collection: str, operation, need_bytes: int = 0) -> None:
        """Apply an update once the disk has room for it, then mark the shard for the next flush (marked after the
        update, so a flush that has already taken the marks is always followed by one that covers this write)."""
        check_free_space(
            self.root, self.min_free_mb, need_bytes=need_bytes, holes=self._sparse_holes(), doing="this write"
        )
        self._apply(collection, operation)

    def _apply(self, collection: str, operation) -> None:
        name = self._name(collection)
        self.shards[name].update(operation)
        with self._dirty_lock:
            self._dirty.add(name)
            self._unsynced.add(name)

    def _sparse_holes(self) -> int:
        if self.min_free_mb <= 0:
            return 0
        measured, holes = self._holes
        if time.monotonic() - measured > 1.0:
            holes = sparse_holes(self.root)
            self._holes = (time.monotonic(), holes)
        return holes

    # --- durability ------------------------------------------------------------------------------
    def flush(self) -> None:
        """Make every acknowledged write durable: fsync the write-ahead logs of the shards written since their last
        sync (~1 ms, without holding the GIL). Recovery replays the WAL over the last flushed segments."""
        with self._dirty_lock:
            unsynced, self._unsynced = self._unsynced, set()
        try:
            for name in sorted(unsynced):
                _fsync_folder(self.root / name / "wal")
        except BaseException:
            with self._dirty_lock:
                self._unsynced |= unsynced
            raise

    def flush_segments(self) -> None:
        """Edge's own flush of the shards changed since theirs: segments and indexes to disk, so the WAL to replay
        after a crash stays short. 30-300 ms per shard, holding the GIL: done once a minute, and at close."""
        with self._flush_lock:
            with self._dirty_lock:
                dirty, self._dirty = self._dirty, set()
            for name in sorted(dirty):
                try:
                    if name in self.shards:
                        self.shards[name].flush()
                except BaseException:
                    with self._dirty_lock:
                        self._dirty.add(name)
                    raise

    def _flush_periodically(self) -> None:
        last_segments = time.monotonic()
        while not self._stop.wait(self.flush_interval_s):
            try:
                self.flush()
                if time.monotonic() - last_segments >= SEGMENT_FLUSH_S:
                    last_segments = time.monotonic()
                    self.flush_segments()
            except Exception as exc:  # keep trying: the next period may succeed (e.g. once space is freed)
                log.warning("flushing the embedded store failed: %s", exc)

    # --- data ------------------------------------------------------------------------------------
    def upsert(self, collection: str, points: Sequence[PointData]) -> None:
        if not points:
            return
        operation = qe.UpdateOperation.upsert_points(
            [qe.Point(uuid.UUID(p.id), {k: _vec(v) for k, v in p.vectors.items()}, p.payload) for p in points]
        )
        self._write(collection, operation, _write_estimate(points))

    def retrieve(self, collection: str, ids: Sequence[str], *, with_vector: WithVector = None) -> list[Record]:
        valid = [uuid.UUID(i) for i in ids if is_uuid(i)]
        if not valid:
            return []
        points = self._shard(collection).retrieve(valid, with_payload=True, with_vector=vector_selector(with_vector))
        by_id = {str(p.id): to_record(p, with_vector) for p in points}
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
                with_vector=vector_selector(with_vector),
            )
        )
        return [to_record(p, with_vector) for p in points], (str(next_offset) if next_offset else None)

    def export_points(self, collection: str, *, limit: int, offset: str | None = None):
        """A page of whole points (payload and every named vector) in id order, and the next page's offset."""
        points, next_offset = self._shard(collection).scroll(
            qe.ScrollRequest(
                offset=uuid.UUID(offset) if offset else None, limit=limit, with_payload=True, with_vector=True
            )
        )
        page = [
            PointData(id=str(p.id), payload=p.payload or {}, vectors={k: list(v) for k, v in (p.vector or {}).items()})
            for p in points
        ]
        return page, (str(next_offset) if next_offset else None)

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
        return [to_record(p, using if with_vector else None) for p in points]

    def facet(self, collection: str, key: str, *, limit: int, filter: Filter | None = None) -> list[FacetHit]:
        hits = self._shard(collection).facet(qe.FacetRequest(key, limit=limit, exact=True, filter=to_filter(filter)))
        return facet_order([FacetHit(value=h.value, count=int(h.count)) for h in hits])

    def set_payload(self, collection: str, point_id: str, payload: dict) -> None:
        self._write(collection, qe.UpdateOperation.set_payload([uuid.UUID(point_id)], payload))

    def update_vectors(self, collection: str, point_id: str, vectors: dict) -> None:
        point = qe.PointVectors(uuid.UUID(point_id), {k: _vec(v) for k, v in vectors.items()})
        self._write(collection, qe.UpdateOperation.update_vectors([point]))

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        valid = [uuid.UUID(i) for i in ids if is_uuid(i)]
        if valid:  # no space check: deleting is how space is made
            self._apply(collection, qe.UpdateOperation.delete_points(valid))

    def optimize(self) -> None:
        """Build HNSW/merge segments after bulk writes (Edge runs its optimizers only when asked)."""
        for shard in self.shards.values():
            shard.optimize()

    def healthy(self) -> bool:
        return bool(self.shards)

    def close(self) -> None:
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join()
            self._flusher = None
        for shard in self.shards.values():
            try:
                shard.flush()
            finally:
                shard.close()
        self.shards.clear()
