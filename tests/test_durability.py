"""Durability of the embedded store: the WALs of written shards are fsynced on a short period and at the end of every
ingest batch (and sync job); segments are flushed rarely; nothing is done when nothing was written; flushing while
other threads write is safe; what `flush()` acknowledged survives a SIGKILL (the WAL is replayed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest
from conftest import wait_for
from test_disk import points

from service.catalog.ingest import ingest
from service.catalog.sinks import StoreSink
from service.catalog.vector import track_vectors
from service.settings import Settings
from service.store import edge, open_store
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


@pytest.fixture
def synced(monkeypatch, tmp_path) -> list[str]:
    """The shards (of stores under this test's tmp_path: other tests' stores sync too) whose WAL was fsynced."""
    calls: list[str] = []
    real = edge._fsync_folder

    def recording(folder):
        if folder.is_relative_to(tmp_path):
            calls.append(folder.parent.name)
        real(folder)

    monkeypatch.setattr(edge, "_fsync_folder", recording)
    return calls


def test_written_shards_are_synced_on_a_short_period(tmp_path, synced):
    store = open_store(Settings(data_dir=tmp_path / "data", flush_interval_s=0.05))
    try:
        store.upsert("tracks", points(5))
        wait_for(lambda: "tracks_v3" in synced and not store._unsynced, timeout=10, what="a periodic WAL sync")
        assert set(synced) == {"tracks_v3"}  # untouched shards are left alone
    finally:
        store.close()


def test_flush_without_writes_does_nothing(tmp_path, synced):
    store = open_store(Settings(data_dir=tmp_path / "data", flush_interval_s=0))
    try:
        shards = counting(store)
        store.flush()
        store.flush_segments()
        assert synced == [] and sum(s.flushes for s in shards.values()) == 0
        store.upsert("tracks", points(1))
        store.flush()
        store.flush()
        assert synced == ["tracks_v3"]
        store.flush_segments()
        store.flush_segments()
        assert shards["tracks_v3"].flushes == 1 and shards["users_v3"].flushes == 0
    finally:
        store.close()


def test_every_ingest_batch_is_synced(tmp_path, music_dir, synced):
    store = open_store(Settings(data_dir=tmp_path / "data", flush_interval_s=0))
    try:
        summary = ingest([music_dir], StoreSink(store, track_vectors()), workers=2, user_id="ann")
        assert summary.ok == 12
        assert synced.count("tracks_v3") >= 1 and not store._unsynced  # nothing acknowledged is left unsynced
        assert synced.count("library_v3") == synced.count("tracks_v3")  # --user: each batch's library entries too
    finally:
        store.close()


KILLED_AFTER_WRITING = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from test_disk import points
from service.settings import Settings
from service.store import open_store
store = open_store(Settings(data_dir={data!r}, flush_interval_s=0))
store.upsert("tracks", points(300))
store.flush()
print("written", flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no close, no segment flush: only the WAL has the points
"""


def test_acknowledged_writes_survive_a_kill_through_the_wal(tmp_path):
    data = tmp_path / "data"
    code = KILLED_AFTER_WRITING.format(tests=os.path.dirname(__file__), data=str(data))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL and "written" in done.stdout, done.stderr
    store = open_store(Settings(data_dir=data))
    try:
        assert store.count("tracks") == 300
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
