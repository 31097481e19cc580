"""Ingest: idempotent, per-file errors that leave the store intact, tags, --user, the CLI contract."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import httpx
import numpy as np
import pytest
from conftest import API_KEY, free_port, run_cli

from service.catalog.ingest import ingest
from service.catalog.sinks import StoreSink
from service.catalog.vector import track_vectors
from service.settings import Settings
from service.store import open_store
from service.store.base import Filter, Match
from service.tools.procs import ServeProcess
from service.tools.synth import tone_track, write_audio

VECTOR = track_vectors()


@pytest.fixture
def bad_files(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "empty.mp3").write_bytes(b"")
    (d / "random.flac").write_bytes(np.random.default_rng(0).bytes(5000))
    (d / "text.ogg").write_text("this is not audio at all\n" * 50)
    write_audio(d / "silent.wav", np.zeros(22050 * 10, dtype=np.float32))
    write_audio(d / "short.wav", tone_track(1.0))
    return d


def run_ingest(store, paths, **kw):
    return ingest(paths, StoreSink(store, VECTOR), workers=2, **kw)


def test_reingest_is_idempotent(tmp_path, music_dir):
    store = open_store(Settings(data_dir=tmp_path / "data"))
    try:
        first = run_ingest(store, [music_dir])
        assert (first.ok, first.skipped, first.failed) == (12, 0, 0)
        snapshot = {r.id: r.payload for r in store.scroll("tracks", limit=100)[0]}
        # same content under another name is the same track
        copy = tmp_path / "copy.ogg"
        shutil.copy(music_dir / "tones" / "tone0.ogg", copy)
        again = run_ingest(store, [music_dir, copy])
        assert (again.ok, again.skipped, again.failed) == (0, 13, 0)
        assert store.count("tracks") == 12
        assert {r.id: r.payload for r in store.scroll("tracks", limit=100)[0]} == snapshot
    finally:
        store.close()


def test_bad_files_fail_alone_and_leave_the_store_intact(tmp_path, music_dir, bad_files):
    store = open_store(Settings(data_dir=tmp_path / "data"))
    try:
        good = tmp_path / "good.ogg"
        shutil.copy(music_dir / "tones" / "tone1.ogg", good)
        summary = run_ingest(store, [bad_files, good, tmp_path / "missing.mp3"])
        by_name = {os.path.basename(r.path): r for r in summary.results}
        assert by_name["good.ogg"].status == "ok"
        for name in ("empty.mp3", "random.flac", "text.ogg", "silent.wav", "short.wav", "missing.mp3"):
            r = by_name[name]
            assert r.status == "failed" and r.track_id is None and r.error, (name, r)
            assert "Traceback" not in r.error
        assert "silent" in by_name["silent.wav"].error
        assert "short" in by_name["short.wav"].error
        assert store.count("tracks") == 1
    finally:
        store.close()


def test_too_long_tracks_are_skipped_with_a_reason(tmp_path, music_dir):
    store = open_store(Settings(data_dir=tmp_path / "data"))
    try:
        summary = run_ingest(store, [music_dir / "tones" / "tone0.ogg"], max_seconds=20)
        assert summary.failed == 1 and "long" in summary.results[0].error
        assert store.count("tracks") == 0
    finally:
        store.close()


def test_genre_and_user_options(tmp_path, music_dir):
    store = open_store(Settings(data_dir=tmp_path / "data"))
    try:
        run_ingest(store, [music_dir / "drums"], genre="workout", user_id="alice")
        tracks = store.scroll("tracks", limit=100)[0]
        assert all(t.payload["genres"] == ["workout", "techno"] for t in tracks)
        library = store.scroll("library", limit=100, filter=Filter(must=(Match("userId", "alice"),)))[0]
        assert sorted(e.payload["trackId"] for e in library) == sorted(t.id for t in tracks)
        assert all(e.payload["reasons"] == ["ingested"] for e in library)
        # already-stored tracks still join another user's library, without re-analysis
        summary = run_ingest(store, [music_dir / "drums"], user_id="bob")
        assert summary.skipped == 5
        assert store.count("library", Filter(must=(Match("userId", "bob"),))) == 5
    finally:
        store.close()


# --- the CLI -------------------------------------------------------------------------------------
def cli_env(data_dir, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MUSICREC_", "QDRANT_", "REDIS_"))}
    return {**env, "MUSICREC_DATA_DIR": str(data_dir), **extra}


def test_cli_ingest_json_lines_and_exit_codes(tmp_path, music_dir, bad_files):
    env = cli_env(tmp_path / "data")
    done = run_cli("ingest", str(music_dir / "tones"), "--json", "--genre", "chill", env=env)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 5
    for line in lines:
        assert set(line) == {"path", "trackId", "status", "error"}
        assert os.path.isabs(line["path"]) and line["status"] == "ok" and line["error"] is None
    assert "5 ok, 0 updated, 0 skipped, 0 failed" in done.stderr
    again = run_cli("ingest", str(music_dir / "tones"), "--json", env=env)
    assert again.returncode == 0
    assert {json.loads(x)["status"] for x in again.stdout.splitlines()} == {"skipped"}
    assert sorted(json.loads(x)["trackId"] for x in again.stdout.splitlines()) == sorted(x["trackId"] for x in lines)
    failed = run_cli("ingest", str(bad_files), "--json", env=env)
    assert failed.returncode == 1
    statuses = [json.loads(x)["status"] for x in failed.stdout.splitlines()]
    assert statuses == ["failed"] * 5
    assert "Traceback" not in failed.stderr
    usage = run_cli("ingest", env=env)
    assert usage.returncode == 2 and "usage" in usage.stderr


def test_serve_refuses_without_keys(tmp_path):
    done = run_cli("serve", "--port", str(free_port()), env=cli_env(tmp_path / "data"), timeout=60)
    assert done.returncode == 2
    assert "MUSICREC_API_KEYS" in done.stderr and "Traceback" not in done.stderr


@pytest.fixture
def running_server(tmp_path):
    """A real `musicrec serve` (uvicorn on a loopback port) on an embedded store."""
    data = tmp_path / "data"
    env = cli_env(data, MUSICREC_API_KEYS=API_KEY)
    server = ServeProcess(env, tmp_path / "serve.log").start()
    yield server.url, env, data
    server.stop()
    assert not (data / "server.json").exists()  # cleaned up on shutdown


def test_ingest_while_serving_hands_tracks_to_the_server(running_server, music_dir, tmp_path):
    base, env, data = running_server
    headers = {"Authorization": f"Bearer {API_KEY}"}
    assert httpx.get(base + "/v1/tracks", headers=headers).json()["items"] == []
    done = run_cli("ingest", str(music_dir), "--json", "--user", "carol", env=env)
    assert done.returncode == 0, done.stderr
    assert "handing the tracks to it" in done.stderr
    assert len(done.stdout.splitlines()) == 12
    health = httpx.get(base + "/healthz").json()
    assert health["tracks"] == 12
    items = httpx.get(base + "/v1/tracks?userId=carol&limit=100", headers=headers).json()["items"]
    assert len(items) == 12
    tone = next(t for t in items if t["title"] == "Tone 3")
    similar = httpx.get(base + f"/v1/tracks/{tone['trackId']}/similar?limit=3", headers=headers)
    assert similar.status_code == 200 and len(similar.json()["items"]) == 3
    assert httpx.get(base + "/v1/tracks").status_code == 401
    # a wrong key on the CLI side is a clear message, not a trace
    wrong = run_cli("ingest", str(music_dir), env={**env, "MUSICREC_API_KEYS": "wrong"})
    assert wrong.returncode == 1 and "API key" in wrong.stderr and "Traceback" not in wrong.stderr


def test_api_does_not_import_analysis_libraries():
    code = (
        "import sys\n"
        "from service.api.app import create_app\n"
        "heavy = {'librosa', 'yt_dlp', 'workers', 'numba', 'service.analysis.features', 'service.analysis.decode'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_analysis_workers_use_one_blas_thread_when_called_as_a_library():
    # No OPENBLAS_NUM_THREADS in the environment: the pool must still limit each worker to one BLAS thread
    # (numpy is already loaded in the forkserver, so only threadpoolctl can do it there).
    code = (
        "from threadpoolctl import threadpool_info\n"
        "from service.catalog.ingest import worker_pool\n"
        "with worker_pool(1) as pool:\n"
        "    info = pool.submit(threadpool_info).result()\n"
        "print(max(i['num_threads'] for i in info if i['user_api'] == 'blas'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"
