"""`musicrec reindex`: a store made by the previous release (DSP vectors only, `*_v1` collections) is served as it is,
rebuilt beside the live collections while the API answers, resumed after kill -9, and swapped in."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest
from conftest import API_KEY, AUTH, wait_for

from service.analysis import vectorset
from service.analysis.vectorset import VectorSet
from service.catalog.centre import CatalogueCentre
from service.catalog.ingest import ingest
from service.catalog.reanalyse import Reindexer
from service.catalog.sinks import StoreSink
from service.catalog.vector import live_vectors
from service.settings import Settings
from service.store import open_store
from service.store.base import PointData
from service.store.edge import EdgeStore
from service.store.schema import load_specs, parse_spec
from service.store.server import ServerStore

DEADLINE_S = 60
TRACKS_NOW = load_specs()["tracks"].real_name  # tracks_v3


def previous_release_specs() -> dict:
    """The collection definitions of the release before the embedding: version 1, the DSP vector only."""
    specs = dict(load_specs())
    for name in ("tracks", "library", "users"):
        raw = copy.deepcopy(specs[name].raw)
        raw["version"] = 1
        raw["collection"]["vectors"] = {vectorset.DSP: {"size": vectorset.SIZES[vectorset.DSP], "distance": "Cosine"}}
        specs[name] = parse_spec(raw)
    return specs


@pytest.fixture(scope="module")
def old_store_dir(tmp_path_factory, music_dir) -> Path:
    """A data dir as the previous release left it: 12 analysed files in `tracks_v1` (DSP only), ann's library,
    and one Spotify track whose video cannot be fetched here."""
    data = tmp_path_factory.mktemp("old-release")
    store = EdgeStore(data, specs=previous_release_specs())
    store.ensure_collections()
    try:
        summary = ingest([music_dir], StoreSink(store, VectorSet(embedding=False)), workers=2, user_id="ann")
        assert summary.ok == 12
        some = store.scroll("tracks", limit=1, with_vector=vectorset.DSP)[0][0]
        spotify_id = str(uuid.uuid4())
        payload = {**some.payload, "trackId": spotify_id, "title": "From Spotify"}
        payload["source"] = {"kind": "spotify", "spotifyId": "abc", "youtubeId": "vid00000001", "path": None}
        store.upsert("tracks", [PointData(id=spotify_id, payload=payload, vectors={vectorset.DSP: some.vector})])
        assert store.collection_name("tracks") == "tracks_v1"
    finally:
        store.close()
    return data


def file_track(items: list[dict]) -> str:
    """A track with a file behind it (not the Spotify one the reindex cannot fetch again): ids are random, so the
    listing's order is."""
    return next(t["trackId"] for t in items if t["title"] != "From Spotify")


def copy_of(old: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(old, target)
    return target


def test_a_previous_release_store_is_served_dsp_only(old_store_dir, tmp_path):
    store = open_store(Settings(data_dir=copy_of(old_store_dir, tmp_path)))
    try:
        assert store.collection_name("tracks") == "tracks_v1"
        assert live_vectors(store) == VectorSet(embedding=False)
    finally:
        store.close()


def embedding_v1_release_specs() -> dict:
    """The collection definitions of the release whose embedding was the fp32 model: `musicnn_v1`, `fused_v1`,
    tracks/library/users version 2, centres version 1."""
    specs = dict(load_specs())
    renames = {
        vectorset.EMBEDDING_RAW: "musicnn_v1_raw",
        vectorset.EMBEDDING: "musicnn_v1",
        vectorset.FUSED: "fused_v1",
    }
    for name, version in (("tracks", 2), ("library", 2), ("users", 2), ("centres", 1)):
        raw = copy.deepcopy(specs[name].raw)
        raw["version"] = version
        raw["collection"]["vectors"] = {renames.get(k, k): v for k, v in raw["collection"]["vectors"].items()}
        specs[name] = parse_spec(raw)
    return specs


@pytest.mark.parametrize("backend", ["edge", "server"])
def test_a_store_of_the_fp32_embedding_is_served_dsp_only_then_reindexed(backend, music_dir, tmp_path):
    """A store made when the embedding was `musicnn_v1` (the fp32 model): its embedding cannot be compared with
    this release's, so it is served on its DSP vectors until `musicrec reindex` has rebuilt every collection,
    the centre's included (its vector is named after the embedding's version). Embedded store, and a Qdrant
    server (qdrant-client's local mode on disk as its stand-in)."""
    data = tmp_path / "data"

    def opened(specs=None):
        if backend == "edge":
            return EdgeStore(data, specs=specs) if specs else open_store(Settings(data_dir=data))
        found = ServerStore(f"path:{data}", specs=specs)
        found.ensure_collections()
        return found

    store = opened(embedding_v1_release_specs())
    store.ensure_collections()
    try:
        sink = StoreSink(store, VectorSet(embedding=False))
        assert ingest([music_dir / "tones"], sink, workers=2, user_id="ann").ok == 5
        assert ingest([music_dir], sink, workers=2).ok == 7
        rng = np.random.default_rng(0)  # the old release's embedding vectors (the values do not matter here)
        for record in store.scroll("tracks", limit=100, with_vector=vectorset.DSP)[0]:
            raw = rng.uniform(0, 1, 200).tolist()
            store.update_vectors("tracks", record.id, {"musicnn_v1_raw": raw, "musicnn_v1": raw})
        # that release's library entries copy the vector it compared, fused_v1, and no other
        entries = store.scroll("library", limit=100)[0]
        assert len(entries) == 5
        copies = [PointData(id=e.id, payload=e.payload, vectors={"fused_v1": [0.1] * 271}) for e in entries]
        store.upsert("library", copies)
        store.upsert("centres", [PointData(id=str(uuid.uuid4()), payload={}, vectors={"musicnn_v1_raw": [0.5] * 200})])
        assert [store.collection_name(n) for n in ("tracks", "centres")] == ["tracks_v2", "centres_v1"]
    finally:
        store.close()
    store = opened()
    try:
        assert live_vectors(store) == VectorSet(embedding=False)  # served as it is, on librosa_v1
        # ann's taste comes from her tracks' DSP vectors meanwhile (her entries' copies are of fused_v1)
        from litestar.testing import TestClient

        from service.api.app import create_app

        with TestClient(create_app(Settings(data_dir=data, api_keys=(API_KEY,)), store=store)) as client:
            got = client.post("/v1/recommendations", headers=AUTH, json={"userId": "ann", "limit": 5}).json()
            assert got["strategy"].startswith("taste") and len(got["items"]) == 5
        report = Reindexer(store, workers=2, page=6).run()
        assert report.swapped and report.analysed == 12 and not report.kept_dsp_only
        specs = load_specs()
        assert {n: store.collection_name(n) for n in specs} == {n: s.real_name for n, s in specs.items()}
        assert live_vectors(store) == VectorSet(embedding=True)
        track = store.scroll("tracks", limit=1, with_vector=tuple(vectorset.SIZES))[0][0]
        assert set(track.vectors) == set(vectorset.SIZES)
        centre = CatalogueCentre(store, VectorSet()).current()
        assert centre.tracks == 12 and centre.vector.shape == (vectorset.SIZES[vectorset.EMBEDDING_RAW],)
        entry = store.scroll("library", limit=1, with_vector=vectorset.FUSED)[0][0]
        assert entry.vector and len(entry.vector) == vectorset.SIZES[vectorset.FUSED]
    finally:
        store.close()


def test_a_store_whose_vectors_cannot_be_compared_is_refused(tmp_path):
    specs = previous_release_specs()
    raw = copy.deepcopy(specs["tracks"].raw)
    raw["collection"]["vectors"] = {"librosa_v0": {"size": 60, "distance": "Cosine"}}
    store = EdgeStore(tmp_path / "data", specs={**specs, "tracks": parse_spec(raw)})
    store.ensure_collections()
    store.close()
    got = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--port", "0"],
        env={**os.environ, "MUSICREC_DATA_DIR": str(tmp_path / "data"), "MUSICREC_API_KEYS": API_KEY},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert got.returncode == 1
    assert "musicrec reindex" in got.stderr and "librosa_v0" in got.stderr and "Traceback" not in got.stderr


def test_reindex_while_the_api_answers_then_the_swap(old_store_dir, tmp_path):
    from litestar.testing import TestClient

    from service.api.app import create_app

    settings = Settings(data_dir=copy_of(old_store_dir, tmp_path), api_keys=(API_KEY,))
    store = open_store(settings)
    answered: list[int] = []
    try:
        with TestClient(create_app(settings, store=store)) as client:
            listed = client.get("/v1/tracks?limit=20", headers=AUTH).json()["items"]
            seed = file_track(listed)
            spotify = next(t["trackId"] for t in listed if t["title"] == "From Spotify")
            before = client.post("/v1/recommendations", headers=AUTH, json={"userId": "ann", "limit": 5})
            assert before.status_code == 200 and before.json()["strategy"].startswith("taste")

            def during(stage: str, done: int, total: int) -> None:  # the API answers from the old collections
                answered.append(client.get(f"/v1/tracks/{seed}/similar?limit=3", headers=AUTH).status_code)

            result: dict = {}
            worker = threading.Thread(
                target=lambda: result.update(report=Reindexer(store, workers=2, page=4, on_progress=during).run())
            )
            worker.start()
            worker.join(timeout=300)
            report = result["report"]
            assert report.swapped and report.analysed == 12 and report.tracks == 13
            assert [k["title"] for k in report.kept_dsp_only] == ["From Spotify"]
            assert answered and set(answered) == {200}
            assert store.collection_name("tracks") == TRACKS_NOW
            # the app notices the swap by itself and answers from the new collections with both vectors
            wait_for(
                lambda: client.app.state.vectors.embedding, DEADLINE_S, what="the app to switch to the new vectors"
            )
            after = client.post("/v1/recommendations", headers=AUTH, json={"userId": "ann", "limit": 5})
            assert after.status_code == 200 and after.json()["strategy"].startswith("taste")
            similar = client.get(f"/v1/tracks/{seed}/similar?limit=5", headers=AUTH).json()["items"]
            assert len(similar) == 5 and "From Spotify" not in [t["title"] for t in similar]
            stored = store.retrieve("tracks", [seed], with_vector=tuple(vectorset.SIZES))[0]
            # the track whose audio could not be fetched again is known but has nothing to compare with: a 409
            kept = client.get(f"/v1/tracks/{spotify}/similar?limit=5", headers=AUTH)
            assert kept.status_code == 409 and kept.json()["error"]["code"] == "conflict"
            assert "ingest the file again" in kept.json()["error"]["message"]
            assert kept.json()["error"]["details"]["trackIds"] == [spotify]
            # as a seed of a recommendation it is left out (like a track not analysed yet); a cold start skips it
            seeded = client.post("/v1/recommendations", headers=AUTH, json={"seedTrackIds": [spotify], "limit": 3})
            cold = client.post("/v1/recommendations", headers=AUTH, json={"userId": "nobody", "limit": 3})
            assert seeded.status_code == cold.status_code == 200
            assert cold.json()["strategy"] == "cold_start" and len(cold.json()["items"]) == 3
            assert set(stored.vectors) == set(vectorset.SIZES) and stored.payload["styles"]
    finally:
        store.close()


def test_reindex_resumes_after_kill_9(old_store_dir, tmp_path):
    data = copy_of(old_store_dir, tmp_path)
    env = {**os.environ, "MUSICREC_DATA_DIR": str(data)}
    cmd = [sys.executable, "-m", "service.cli", "reindex", "--workers", "1", "--batch", "3"]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        for line in proc.stderr:  # killed once some tracks are in the new collection
            if "tracks: 6/" in line:
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    store = open_store(Settings(data_dir=data))
    try:
        assert store.collection_name("tracks") == "tracks_v1"  # nothing swapped: the old store still serves
        store.create_collection(TRACKS_NOW, load_specs()["tracks"])  # open what the killed run left
        partly = store.count(TRACKS_NOW)
        assert 6 <= partly < 13
    finally:
        store.close()
    wait_for(lambda: _no_children(proc.pid), DEADLINE_S, what="the killed reindex's analysis processes to exit")
    done = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert f"reindexed 13 track(s) into {TRACKS_NOW}" in done.stderr
    assert report["swapped"] and report["resumed"] >= 6
    assert report["analysed"] + report["resumed"] + len(report["keptDspOnly"]) == 13
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "nothing to do" in again.stderr


def _no_children(pid: int) -> bool:
    """No process whose parent chain started at the killed reindex is left (its forkserver and workers)."""
    out = subprocess.run(["ps", "-eo", "pid,pgid,args"], capture_output=True, text=True).stdout
    return not [line for line in out.splitlines()[1:] if line.split()[1] == str(pid)]


def test_reindex_hands_off_to_the_server_that_owns_the_store(old_store_dir, tmp_path):
    """With `musicrec serve` owning the embedded store, `musicrec reindex` analyses the audio itself and hands the
    results to that server, which answers throughout and switches to the new collections by itself."""
    from service.tools.procs import ServeProcess

    data = copy_of(old_store_dir, tmp_path)
    env = {**os.environ, "MUSICREC_DATA_DIR": str(data), "MUSICREC_API_KEYS": API_KEY}
    server = ServeProcess(env, tmp_path / "serve.log").start()
    try:
        import httpx

        def health() -> dict:
            return httpx.get(f"{server.url}/healthz", timeout=10).json()

        assert health()["vector"] == "librosa_v1" and health()["collection"] == "tracks_v1"
        seed = file_track(httpx.get(f"{server.url}/v1/tracks?limit=20", headers=AUTH, timeout=10).json()["items"])
        reindex = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "reindex", "--workers", "1", "--batch", "2", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        answered = []
        while reindex.poll() is None:  # the server keeps answering while the CLI analyses and hands over
            got = httpx.get(f"{server.url}/v1/tracks/{seed}/similar?limit=3", headers=AUTH, timeout=30)
            answered.append(got.status_code)
        out, err = reindex.communicate(timeout=60)
        assert reindex.returncode == 0, err
        assert "owned by the server" in err and json.loads(out)["swapped"]
        assert len(answered) >= 3 and set(answered) == {200}
        wait_for(lambda: health()["vector"] == vectorset.FUSED, DEADLINE_S, what="the server to use the new vectors")
        assert health()["collection"] == TRACKS_NOW and health()["tracks"] == 13
        similar = httpx.get(f"{server.url}/v1/tracks/{seed}/similar?limit=5", headers=AUTH, timeout=30).json()
        assert len(similar["items"]) == 5 and all("styles" in t for t in similar["items"])
    finally:
        server.stop()
