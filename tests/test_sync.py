"""The whole Spotify sync against local fakes: a fake Spotify Web API, a fake YouTube Data API, a media
server that yt-dlp fetches from with its generic extractor, a real Redis and real Dramatiq workers
(inside `musicrec serve`, the embedded mode's way of running them)."""

from __future__ import annotations

import json
import os
import subprocess

import httpx
import pytest
import redis
from conftest import API_KEY, musicrec_cmd, wait_for
from fakes.media_server import FakeMediaServer
from fakes.spotify_api import FakeSpotify, episode_object, local_track, track_object
from fakes.youtube_api import FakeYouTube

from service.settings import Settings
from service.store import open_store
from service.tools.procs import ServeProcess
from service.tools.synth import chord_progression, drum_track, tone_track, write_audio

TOKEN = "BQD-secret-spotify-token-Zk81xPq"
YT_KEY = "AIzaSy-secret-youtube-key-0042"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SECONDS = 36


def build_world(tmp_path, n_tracks: int):
    """n matchable tracks with audio and a video each, one track no video matches, two ignored entries."""
    media = tmp_path / "media"
    media.mkdir()
    tracks, videos = {}, []
    makers = [tone_track, drum_track, chord_progression]
    for i in range(n_tracks):
        artist = f"Band{i % 3}"
        title = f"Song Number{i}"
        sid = f"sp{i:020d}"
        vid = f"vid{i:08d}"
        tracks[sid] = track_object(
            sid,
            title,
            [(f"art{i % 3}", artist)],
            album=f"Record {i % 3}",
            duration_ms=SECONDS * 1000,
            release_date=f"{2000 + i}-01-01",
        )
        videos.append(
            {
                "id": vid,
                "title": f"{artist} - {title} (Official Audio)",
                "channel": f"{artist} - Topic",
                "duration_s": SECONDS,
            }
        )
        write_audio(media / f"{vid}.ogg", makers[i % 3](SECONDS, seed=i))
    lost = "sp" + "9" * 20
    tracks[lost] = track_object(lost, "Nowhere To Be Found", [("artX", "Ghost")], duration_ms=200_000)
    ids = list(tracks)
    library = {
        "user": {"id": "alice", "display_name": "Alice"},
        "tracks": tracks,
        "artists": {},
        "top_tracks": {"short_term": ids[:2], "medium_term": ids[1:3], "long_term": []},
        "top_artists": {"short_term": [], "medium_term": [], "long_term": []},
        "saved": ids[2:],
        "following": [],
        "playlists": [
            {
                "id": "pl1",
                "name": "mine",
                "owner": "alice",
                "items": [ids[0], local_track("Home Demo"), episode_object("ep1", "Talk"), ids[-1]],
            },
        ],
    }
    return library, videos, media


@pytest.fixture
def world(tmp_path, request):
    mode = getattr(request, "param", "redis")
    library, videos, media_dir = build_world(tmp_path, n_tracks=6)
    redis_url = request.getfixturevalue("redis_url")
    r = redis.Redis.from_url(redis_url)
    with (
        FakeSpotify(library, page_size=2, token=TOKEN) as spotify,
        FakeYouTube(videos, {YT_KEY: 100_000}) as youtube,
        FakeMediaServer(media_dir) as media,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MUSICREC_", "QDRANT_", "REDIS_"))}
        env.update(
            MUSICREC_DATA_DIR=str(tmp_path / "data"),
            MUSICREC_API_KEYS=API_KEY,
            MUSICREC_SPOTIFY_API_URL=spotify.url,
            MUSICREC_YOUTUBE_API_URL=youtube.url,
            MUSICREC_YOUTUBE_API_KEYS=YT_KEY,
            MUSICREC_MEDIA_URL_TEMPLATE=media.template(".ogg"),
            MUSICREC_BROKER_HEARTBEAT_MS="2000",
        )
        if mode == "redis":
            env["REDIS_URL"] = redis_url
        server = ServeProcess(env, tmp_path / "server.log")
        yield {
            "server": server,
            "spotify": spotify,
            "youtube": youtube,
            "media": media,
            "redis": r,
            "redis_url": redis_url,
            "tmp": tmp_path,
            "env": env,
            "mode": mode,
        }
        server.stop()
    r.close()


def start_sync(server: ServeProcess, user: str = "alice") -> str:
    resp = httpx.post(f"{server.url}/v1/users/{user}/sync", headers={**AUTH, "X-Spotify-Token": TOKEN})
    assert resp.status_code == 202, resp.text
    return resp.json()["jobId"]


def follow(server: ServeProcess, job_id: str, timeout: float = 120) -> tuple[dict, list[dict]]:
    """Poll the job route until it ends; returns the last answer and every progress seen."""
    seen: list[dict] = []

    def ended():
        job = httpx.get(f"{server.url}/v1/jobs/{job_id}", headers=AUTH).json()
        seen.append(job["progress"])
        return job if job["state"] in ("done", "failed") else None

    return wait_for(ended, timeout=timeout, interval=0.05), seen


def assert_monotonic(seen: list[dict]) -> None:
    for before, after in zip(seen, seen[1:], strict=False):
        assert all(after[k] >= before[k] for k in ("done", "failed", "total", "ignored")), (before, after)


@pytest.mark.parametrize("world", ["redis", "inproc"], indirect=True)
def test_a_whole_sync_lands_the_right_tracks_and_library(world):
    server = world["server"].start()
    job_id = start_sync(server)
    assert start_sync(server) == job_id  # a second sync while one runs joins it
    job, seen = follow(server, job_id)
    assert_monotonic(seen)
    assert job["state"] == "done" and job["error"] is None
    assert job["progress"] == {"done": 6, "total": 7, "failed": 1, "ignored": 2}
    (failure,) = job["failures"]
    assert failure["spotifyId"] == "sp" + "9" * 20 and failure["title"] == "Nowhere To Be Found"
    assert failure["artists"] == ["Ghost"] and "YouTube" in failure["reason"]

    tracks = httpx.get(f"{server.url}/v1/tracks?userId=alice&limit=100", headers=AUTH).json()["items"]
    assert len(tracks) == 6
    for t in tracks:
        assert t["source"]["kind"] == "spotify" and t["source"]["spotifyId"].startswith("sp")
        assert t["source"]["youtubeId"].startswith("vid") and t["analysis"]["matchConfidence"] > 0.55
        assert t["artists"][0].startswith("Band") and t["album"].startswith("Record") and t["year"] >= 2000
        assert 35 < t["durationS"] < 37
    library = httpx.get(f"{server.url}/v1/users/alice/library?limit=100", headers=AUTH).json()["items"]
    assert len(library) == 7 and sum(i["analysed"] for i in library) == 6
    first = next(i for i in library if i["spotifyId"] == "sp" + "0" * 20)
    assert set(first["reasons"]) == {"top_short", "playlist"}
    stats = httpx.get(f"{server.url}/v1/users/alice/stats", headers=AUTH).json()
    assert stats["tracksAnalyzed"] == 6 and stats["lastSyncAt"] is not None
    recs = httpx.post(
        f"{server.url}/v1/recommendations", headers=AUTH, json={"userId": "alice", "excludeKnown": False}
    ).json()
    assert recs["strategy"].startswith("taste") and recs["items"]

    # the same sync again: nothing is fetched again, no YouTube search for what is analysed
    media_bytes = sum(world["media"].bytes_served.values())
    searches = len([p for p, _ in world["youtube"].requests if p.endswith("/search")])
    again, _ = follow(server, start_sync(server))
    assert again["progress"] == job["progress"]
    assert sum(world["media"].bytes_served.values()) == media_bytes
    assert len([p for p, _ in world["youtube"].requests if p.endswith("/search")]) == searches + 1  # the lost one

    # legacy routes follow the same job
    status = httpx.get(f"{server.url}/status/{job_id}", headers={"Authorization": API_KEY}).json()
    assert status == {"status": "Task completed", "result": job["progress"]}
    server.stop()

    # the token and the YouTube key appear in no log line, no Redis value, no Qdrant payload
    log = (world["tmp"] / "server.log").read_text()
    assert TOKEN not in log and YT_KEY not in log
    if world["mode"] == "redis":
        r = world["redis"]
        for key in r.scan_iter():
            kind = r.type(key)
            values = {
                b"string": lambda k: [r.get(k)],
                b"hash": lambda k: list(r.hgetall(k).values()),
                b"list": lambda k: r.lrange(k, 0, -1),
                b"set": lambda k: list(r.smembers(k)),
                b"zset": lambda k: r.zrange(k, 0, -1),
            }[kind](key)
            blob = b" ".join(v for v in values if v) + key
            assert TOKEN.encode() not in blob and YT_KEY.encode() not in blob, key
    store = open_store(Settings(data_dir=world["tmp"] / "data"))
    try:
        for collection in ("tracks", "library", "users"):
            records, _ = store.scroll(collection, limit=1000)
            dump = json.dumps([r.payload for r in records])
            assert TOKEN not in dump and YT_KEY not in dump
    finally:
        store.close()


def test_an_expired_token_ends_the_job_with_a_clear_error(world):
    world["spotify"].expire_token()
    server = world["server"].start()
    job, _ = follow(server, start_sync(server))
    assert job["state"] == "failed" and "token" in job["error"].lower()
    assert job["progress"]["total"] == 0


def test_spotify_rate_limit_is_honoured_and_the_job_still_finishes(world):
    world["spotify"].rate_limit_once("/me/tracks", retry_after=1)
    server = world["server"].start()
    job, _ = follow(server, start_sync(server))
    assert job["state"] == "done" and job["progress"]["done"] == 6
    assert len(world["spotify"].requests_to("/me/tracks")) >= 2


def test_a_worker_killed_mid_job_loses_nothing(world):
    # one fetch answers 503: that track waits for its retry while others finish, so the kill lands mid-job
    world["media"].fail_next(503, skip=4)
    server = world["server"].start()
    job_id = start_sync(server)

    def some_done():
        job = httpx.get(f"{server.url}/v1/jobs/{job_id}", headers=AUTH).json()
        return job if job["progress"]["done"] >= 1 and job["state"] == "running" else None

    before = wait_for(some_done, timeout=60, interval=0.02)
    server.kill()
    restarted = ServeProcess(world["env"], world["tmp"] / "server.log").start()
    try:
        job, seen = follow(restarted, job_id, timeout=120)
        assert_monotonic([before["progress"], *seen])
        assert job["state"] == "done" and job["progress"] == {"done": 6, "total": 7, "failed": 1, "ignored": 2}
        tracks = httpx.get(f"{restarted.url}/v1/tracks?limit=100", headers=AUTH).json()["items"]
        assert len(tracks) == 6
    finally:
        restarted.stop()


def test_worker_command_needs_redis_and_a_qdrant_server(tmp_path):
    from conftest import run_cli

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MUSICREC_", "QDRANT_", "REDIS_"))}
    done = run_cli("worker", env={**env, "MUSICREC_DATA_DIR": str(tmp_path)}, timeout=60)
    assert done.returncode == 2 and "REDIS_URL and QDRANT_URL" in done.stderr and "Traceback" not in done.stderr


def test_scaled_workers_run_the_job_queued_by_an_api_replica(world):
    """`musicrec worker` processes (here with qdrant-client's :memory: standing in for the Qdrant server)
    take the job an API replica queued in Redis; its progress is shared through Redis."""
    from litestar.testing import TestClient

    from service.api.app import create_app

    env = {**world["env"], "REDIS_URL": world["redis_url"], "QDRANT_URL": ":memory:"}
    log = open(world["tmp"] / "worker.log", "ab")
    worker = subprocess.Popen(
        musicrec_cmd("worker", "--processes", "1", "--threads", "2"), env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        settings = Settings(
            data_dir=world["tmp"] / "api", qdrant_url=":memory:", api_keys=(API_KEY,), redis_url=env["REDIS_URL"]
        )
        with TestClient(create_app(settings)) as api:
            resp = api.post("/v1/users/alice/sync", headers={**AUTH, "X-Spotify-Token": TOKEN})
            assert resp.status_code == 202
            job_id = resp.json()["jobId"]

            def ended():
                job = api.get(f"/v1/jobs/{job_id}", headers=AUTH).json()
                return job if job["state"] in ("done", "failed") else None

            job = wait_for(ended, timeout=120, interval=0.1)
        assert job["state"] == "done" and job["progress"] == {"done": 6, "total": 7, "failed": 1, "ignored": 2}
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    assert TOKEN not in (world["tmp"] / "worker.log").read_text()


@pytest.mark.parametrize("world", ["inproc"], indirect=True)
def test_an_unreachable_spotify_fails_the_job_saying_why(world):
    """Spotify down for good: the job fails after its retries with the reason (not only "could not be read"), and
    the log has one line per attempt, no traceback."""
    from service.tools.procs import free_port

    world["env"]["MUSICREC_SPOTIFY_API_URL"] = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    server = world["server"].start()
    job, _ = follow(server, start_sync(server), timeout=240)
    assert job["state"] == "failed", job
    assert "could not be read after 6 attempts" in job["error"] and "connection refused" in job["error"]
    log = (world["tmp"] / "server.log").read_text()
    assert log.count("trying again later") == 6 and "Traceback" not in log
