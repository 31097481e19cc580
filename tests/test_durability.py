"""Durability of the embedded store: written shards are flushed on a short period, at the end of every ingest
batch and sync job; flushing while other threads write is safe; nothing is flushed when nothing was written."""

from __future__ import annotations

import threading

from conftest import wait_for
from test_disk import points

from service.catalog.ingest import ingest
from service.catalog.sinks import StoreSink
from service.catalog.vector import track_vector
from service.settings import Settings
from service.store import open_store
from service.store.edge import EdgeStore


class CountingShard:
    def __init__(self, shard):
        self.shard = shard
        self.flushes = 0

    def flush(self):
        self.flushes += 1
        self.shard.flush()

    def __getattr__(self, name):
        return getattr(self.shard, name)


def counting(store: EdgeStore) -> dict[str, CountingShard]:
    store.shards = {name: CountingShard(shard) for name, shard in store.shards.items()}
    return store.shards


def test_written_shards_are_flushed_on_a_short_period(tmp_path):
    store = open_store(Settings(data_dir=tmp_path / "data", flush_interval_s=0.05))
    try:
        shards = counting(store)
        store.upsert("tracks", points(5))
        wait_for(lambda: shards["tracks_v1"].flushes >= 1 and not store._dirty, timeout=10, what="a periodic flush")
        assert shards["library_v1"].flushes == shards["users_v1"].flushes == 0  # untouched shards are left alone
    finally:
        store.close()


def test_flush_without_writes_does_nothing(tmp_path):
    store = open_store(Settings(data_dir=tmp_path / "data", flush_interval_s=0))
    try:
        shards = counting(store)
        store.flush()
        assert sum(s.flushes for s in shards.values()) == 0
        store.upsert("tracks", points(1))
        store.flush()
        store.flush()
        assert shards["tracks_v1"].flushes == 1
    finally:
        store.close()


def test_every_ingest_batch_is_flushed(tmp_path, music_dir):
    store = open_store(Settings(data_dir=tmp_path / "data", flush_interval_s=0))
    try:
        shards = counting(store)
        summary = ingest([music_dir], StoreSink(store, track_vector()[0]), workers=2, user_id="ann")
        assert summary.ok == 12
        batches = shards["tracks_v1"].flushes
        assert batches >= 1 and not store._dirty  # nothing acknowledged is left unflushed
        assert shards["library_v1"].flushes == batches  # --user: the library entries of each batch too
    finally:
        store.close()


def test_writes_while_flushing_are_safe_and_survive_a_reopen(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", flush_interval_s=0.01)
    store = open_store(settings)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(20):
                store.upsert("tracks", points(10, start=k * 1000 + i * 10))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert store.count("tracks") == 800
    finally:
        store.close()
    reopened = open_store(settings)
    try:
        assert reopened.count("tracks") == 800
    finally:
        reopened.close()
