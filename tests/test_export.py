"""`musicrec export`: every collection of the embedded store copied into a Qdrant server (qdrant-client's local
mode stands in for one: `:memory:` in-process, `path:DIR` for the CLI), counts verified, safe to run again."""

from __future__ import annotations

import os

import pytest
from conftest import free_port, run_cli
from test_store import make_points

from service.settings import Settings
from service.store import open_store
from service.store.edge import EdgeStore
from service.store.export import export_store
from service.store.server import ServerStore

VEC = "librosa_v1"


def test_every_collection_is_copied_with_vectors_and_payloads(ingested, tmp_path):
    from service.catalog.writes import link_tracks
    from service.taste.users import ensure_user

    _, source = ingested
    ids = [r.id for r in source.scroll("tracks", limit=3)[0]]
    link_tracks(source, "exporter", ids, vector_name=VEC)
    ensure_user(source, "exporter")
    target = ServerStore(":memory:")
    target.ensure_collections()
    seen = []
    try:
        results = export_store(source, target, batch=5, on_progress=lambda *a: seen.append(a))
        assert all(r.ok for r in results), results
        counts = {r.collection: r.target for r in results}
        assert counts["tracks"] == 12 and counts["library"] >= 3 and counts["users"] >= 1
        assert ("tracks", 5, 12) in seen and ("tracks", 12, 12) in seen  # progress after each batch
        for collection in ("tracks", "library", "users"):
            mine = {r.id: r for r in source.scroll(collection, limit=1000, with_vector=VEC)[0]}
            theirs = {r.id: r for r in target.scroll(collection, limit=1000, with_vector=VEC)[0]}
            assert mine.keys() == theirs.keys(), collection
            for pid, record in mine.items():
                assert theirs[pid].payload == record.payload
                assert theirs[pid].vector == pytest.approx(record.vector, abs=1e-6)
        again = export_store(source, target)  # idempotent: upserts by id
        assert [r.target for r in again] == [r.target for r in results] and all(r.ok for r in again)
    finally:
        target.close()


@pytest.fixture
def small_store(tmp_path):
    data = tmp_path / "data"
    store = open_store(Settings(data_dir=data))
    store.upsert("tracks", make_points(30))
    store.close()
    return data


def env_for(data, **extra) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "MUSICREC_DATA_DIR": str(data), "OPENBLAS_NUM_THREADS": "1", **extra}


def test_cli_exports_to_a_server_and_verifies(small_store, tmp_path):
    server = tmp_path / "server"
    done = run_cli("export", "--to", f"path:{server}", "--batch", "7", env=env_for(small_store))
    assert done.returncode == 0, done.stderr
    assert "tracks: 30 in the embedded store, 30 copied, 30 on the server: ok" in done.stdout
    assert "tracks 30/30" in done.stderr  # progress
    again = run_cli("export", "--to", f"path:{server}", env=env_for(small_store))
    assert again.returncode == 0, again.stderr
    target = ServerStore(f"path:{server}")
    try:
        assert target.count("tracks") == 30
    finally:
        target.close()


def test_cli_usage_and_failures_are_one_line(small_store, tmp_path):
    nowhere = run_cli("export", env=env_for(small_store))
    assert nowhere.returncode == 2 and "--to" in nowhere.stderr
    no_store = run_cli("export", "--to", "path:/nonexistent", env=env_for(tmp_path / "empty"))
    assert no_store.returncode == 2 and "no embedded store" in no_store.stderr
    down = run_cli("export", "--to", f"http://127.0.0.1:{free_port()}", env=env_for(small_store))
    assert down.returncode == 1 and "unreachable" in down.stderr and "Traceback" not in down.stderr, down.stderr
    assert down.stderr.count("\n") == 1
    held = EdgeStore(small_store)
    held.ensure_collections()
    try:
        locked = run_cli("export", "--to", f"path:{tmp_path / 'srv'}", env=env_for(small_store))
        assert locked.returncode == 1 and "in use" in locked.stderr and "stop it first" in locked.stderr
    finally:
        held.close()
