"""Dependencies missing at start-up or going away: one clear line per state change, no traceback, and
recovery without a restart (real `musicrec` processes, a real redis-server started late)."""

from __future__ import annotations

import os
import subprocess
import time

import httpx
from conftest import API_KEY
from redis_server import RedisServer

from service.tools.procs import ServeProcess, free_port, musicrec_cmd, wait_for


def clean_env(tmp_path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MUSICREC_", "QDRANT_", "REDIS_"))}
    return {**env, "MUSICREC_DATA_DIR": str(tmp_path / "data"), "MUSICREC_API_KEYS": API_KEY, **extra}


def test_serve_with_a_dead_qdrant_says_where_in_one_line(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        musicrec_cmd("serve", "--port", str(free_port())),
        env=clean_env(tmp_path, QDRANT_URL=url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and url in lines[0] and "QDRANT_URL" in lines[0], done.stderr
    assert "Traceback" not in done.stderr and "serving on" not in done.stderr


def test_serve_logs_a_redis_outage_once_and_recovers_when_it_appears(tmp_path):
    redis_port = free_port()
    server = ServeProcess(clean_env(tmp_path, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0"), tmp_path / "serve.log")
    server.start()
    redis = None
    try:
        # Dramatiq retries every 3 s, two lines per queue; let a few rounds pass while the API answers
        started = time.monotonic()
        wait_for(
            lambda: httpx.get(f"{server.url}/healthz").json()["broker"] == "down" and time.monotonic() - started > 7,
            timeout=30,
            interval=0.5,
        )
        log = server.log_tail(100_000)
        assert log.count("the broker (Redis) is unreachable") == 1, log
        assert "Consumer encountered a connection error" not in log and "Restarting consumer" not in log
        redis = RedisServer(tmp_path / "redis", port=redis_port).start()
        wait_for(lambda: "reachable again" in server.log_tail(100_000), timeout=30, what="a recovery line")
        headers = {"Authorization": f"Bearer {API_KEY}", "X-Spotify-Token": "token"}
        sync = httpx.post(f"{server.url}/v1/users/alice/sync", headers=headers)
        assert sync.status_code == 202
        assert httpx.get(f"{server.url}/healthz").json()["broker"] == "ok"
    finally:
        server.stop()
        if redis is not None:
            redis.stop()


def test_a_worker_started_before_redis_waits_for_it(tmp_path):
    redis_port = free_port()
    env = clean_env(tmp_path, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0", QDRANT_URL=":memory:")
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            musicrec_cmd("worker", "--processes", "1", "--threads", "1"), env=env, stdout=log, stderr=log
        )
    redis = None
    try:
        wait_for(lambda: "waiting for Redis at" in log_path.read_text(), timeout=60, what="a waiting line")
        assert proc.poll() is None  # still there, waiting
        redis = RedisServer(tmp_path / "redis", port=redis_port).start()
        wait_for(lambda: "Redis at" in log_path.read_text() and "is reachable" in log_path.read_text(), timeout=60)
        assert proc.poll() is None
        text = log_path.read_text()
        assert text.count("waiting for Redis at") == 1 and "Traceback" not in text, text
    finally:
        proc.terminate()
        proc.wait(30)
        if redis is not None:
            redis.stop()


def test_a_client_that_never_finishes_its_header_is_dropped(tmp_path):
    import socket

    from service.api.http import HEADER_TIMEOUT_S

    server = ServeProcess(clean_env(tmp_path), tmp_path / "serve.log").start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=HEADER_TIMEOUT_S + 20) as slow:
            slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # ...and never the blank line
            started = time.monotonic()
            assert slow.recv(1024) == b""  # the server closed it
            assert HEADER_TIMEOUT_S - 1 < time.monotonic() - started < HEADER_TIMEOUT_S + 15
            # a connection that finishes its request in time is served, kept alive, and served again
            with httpx.Client(base_url=server.url) as client:
                assert client.get("/healthz").status_code == 200
                assert client.get("/ping").json() == {"message": "pong"}
    finally:
        server.stop()
