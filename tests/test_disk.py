"""A disk that fills up: the embedded store refuses to start or to write with a clear message instead of dying of
SIGBUS in a memory-mapped page, and everything is intact once space is freed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import namedtuple

import pytest
from conftest import API_KEY, AUTH, run_cli

from service.errors import DiskFull
from service.settings import Settings
from service.store import open_store
from service.store.base import PointData
from service.store.schema import load_specs
from service.store.space import MB, check_free_space

Usage = namedtuple("Usage", "total used free")
VEC = "librosa_v1"
DIM = load_specs()["tracks"].vector_size(VEC)


def points(n: int, start: int = 0) -> list[PointData]:
    from service.catalog.tracks import track_payload

    out = []
    for i in range(start, start + n):
        track_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"p{i}"))
        payload = track_payload(
            track_id=track_id,
            title=f"p{i}",
            artists=[],
            album=None,
            genres=[],
            year=None,
            duration_s=60.0,
            tempo=120.0,
            source={"kind": "file", "path": f"/music/p{i}.ogg"},
            extractor="librosa",
            version=1,
            descriptors={},
        )
        out.append(PointData(id=track_id, payload=payload, vectors={VEC: [1.0] * DIM}))
    return out


@pytest.fixture
def free_mb(monkeypatch):
    """Set what shutil.disk_usage reports as free (in MB) for the store's checks."""
    state = {"free": 10_000}

    def usage(path):
        return Usage(100_000 * MB, 0, state["free"] * MB)

    monkeypatch.setattr("service.store.space.shutil.disk_usage", usage)
    return state


def test_the_check_says_what_is_free_and_what_is_needed(free_mb, tmp_path):
    free_mb["free"] = 50
    with pytest.raises(DiskFull) as err:
        check_free_space(tmp_path, 256, doing="opening the embedded store")
    assert "only 50 MB free" in err.value.message and "needs 256 MB" in err.value.message
    assert "\n" not in err.value.message
    check_free_space(tmp_path, 0)  # 0 turns the check off


def test_start_up_and_writes_are_refused_then_work_once_space_is_freed(free_mb, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", min_free_mb=256)
    free_mb["free"] = 100
    with pytest.raises(DiskFull, match="opening the embedded store"):
        open_store(settings)
    free_mb["free"] = 10_000
    store = open_store(settings)
    try:
        store.upsert("tracks", points(10))
        free_mb["free"] = 257  # enough to stay up, not enough for a large write
        with pytest.raises(DiskFull, match="this write"):
            store.upsert("tracks", points(10_000, start=10))
        assert store.count("tracks") == 10
        free_mb["free"] = 10_000
        store.upsert("tracks", points(10, start=10))
    finally:
        store.close()
    reopened = open_store(settings)
    try:
        assert reopened.count("tracks") == 20
    finally:
        reopened.close()


def test_the_api_answers_503_disk_full(free_mb, tmp_path):
    from litestar.testing import TestClient

    from service.api.app import create_app

    settings = Settings(data_dir=tmp_path / "data", api_keys=(API_KEY,), min_free_mb=256)
    store = open_store(settings)
    try:
        with TestClient(create_app(settings, store=store)) as client:
            free_mb["free"] = 10
            body = {
                "points": [
                    {"id": p.id, "payload": p.payload, "vectors": {VEC: p.vectors[VEC], "musicnn_v2_raw": [0.5] * 200}}
                    for p in points(2)
                ]
            }
            resp = client.post("/v1/ingest/points", json=body, headers=AUTH)
            assert resp.status_code == 503 and resp.headers["retry-after"]
            assert resp.json()["error"]["code"] == "disk_full"
            free_mb["free"] = 10_000
            assert client.post("/v1/ingest/points", json=body, headers=AUTH).status_code == 200
    finally:
        store.close()


def test_the_cli_refuses_in_one_line(tmp_path, music_dir):
    env = {"PATH": os.environ["PATH"], "MUSICREC_DATA_DIR": str(tmp_path / "data"), "MUSICREC_MIN_FREE_MB": "1e12"}
    done = run_cli("ingest", str(music_dir), env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("musicrec: only ") and done.stderr.count("\n") == 1, done.stderr
    bad = run_cli("ingest", str(music_dir), env=env | {"MUSICREC_MIN_FREE_MB": "lots"})
    assert bad.returncode == 2 and "MUSICREC_MIN_FREE_MB" in bad.stderr


FILL_AND_FREE = """
import json, os, sys, uuid
sys.path.insert(0, {tests!r})
from test_disk import points
from service.errors import DiskFull
from service.settings import Settings
from service.store import open_store

mnt = {mnt!r}
settings = Settings(data_dir=os.path.join(mnt, "data"), min_free_mb=24)
store = open_store(settings)
store.upsert("tracks", points(200))
store.flush()
# fill the disk up to just above the reserve, in 1 MB steps
with open(os.path.join(mnt, "filler"), "wb") as fh:
    while os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize > 30 * 2**20:
        fh.write(b"x" * 2**20)
        fh.flush()
refused = []
for start in range(200, 20000, 1000):
    try:
        store.upsert("tracks", points(1000, start))
    except DiskFull as exc:
        refused.append(exc.message)
        break
count_when_full = store.count("tracks")
os.remove(os.path.join(mnt, "filler"))
store.upsert("tracks", points(100, 50000))
store.close()
store = open_store(settings)
print(json.dumps({{"refused": refused, "full": count_when_full, "after": store.count("tracks")}}))
store.close()
"""


def test_a_real_small_disk_fills_up_without_killing_anything(tmp_path):
    """A 1.2 GB tmpfs (needs root and mount permission; skipped otherwise): writes are refused before the disk is
    full, in a child process that a SIGBUS would kill, and after space is freed every point is there."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1200m", "tmpfs", str(mnt)], capture_output=True)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.decode().strip()}")
    try:
        code = FILL_AND_FREE.format(tests=os.path.dirname(__file__), mnt=str(mnt))
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (done.returncode, done.stderr[-2000:])  # -7 would be SIGBUS
        result = json.loads(done.stdout)
        assert result["refused"] and "free some space" in result["refused"][0]
        assert result["after"] == result["full"] + 100
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
