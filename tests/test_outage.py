"""A Redis that goes away and comes back: 503 + Retry-After where Redis is needed, recommendations keep
answering, and everything works again without a restart (a real redis-server, stopped and restarted)."""

from __future__ import annotations

import logging

import pytest
from conftest import API_KEY
from litestar.testing import TestClient
from redis_server import RedisServer

from service.api.app import create_app
from service.settings import Settings

AUTH = {"Authorization": f"Bearer {API_KEY}"}
LEGACY = {"Authorization": API_KEY}


@pytest.fixture
def outage_redis(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


class Collect(logging.Handler):
    # Litestar's logging config replaces the root handlers (caplog's too): listen on the logger itself
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_redis_outage_is_503_where_needed_and_recovers_by_itself(ingested, outage_redis, tmp_path):
    settings, store = ingested
    app_settings = Settings(data_dir=settings.data_dir, api_keys=(API_KEY,), redis_url=outage_redis.url())
    with TestClient(create_app(app_settings, store=store)) as c:
        user = "outage-user"
        job = c.post(f"/v1/users/{user}/sync", headers={**AUTH, "X-Spotify-Token": "tok"})
        assert job.status_code == 202
        job_id = job.json()["jobId"]
        assert c.get(f"/v1/jobs/{job_id}", headers=AUTH).status_code == 200

        outage_redis.stop()
        logs = Collect()
        logging.getLogger("musicrec.users").addHandler(logs)
        try:
            for _ in range(3):  # the lost counter increments are logged once per outage, not per request
                r = c.post("/v1/recommendations", headers=AUTH, json={"userId": user, "limit": 5})
                assert r.status_code == 200 and len(r.json()["items"]) == 5
        finally:
            logging.getLogger("musicrec.users").removeHandler(logs)
        assert sum("not kept" in m for m in logs.messages) == 1
        for name, response in {
            "job": c.get(f"/v1/jobs/{job_id}", headers=AUTH),
            "stats": c.get(f"/v1/users/{user}/stats", headers=AUTH),
            "sync": c.post(f"/v1/users/{user}/sync", headers={**AUTH, "X-Spotify-Token": "tok"}),
            "legacy status": c.get(f"/status/{job_id}", headers=LEGACY),
            "legacy stats": c.get(f"/get-stats/{user}", headers=LEGACY),
        }.items():
            assert response.status_code == 503, (name, response.text)
            assert response.headers["Retry-After"] == "5"
            body = response.json()["error"]
            assert body["code"] == "unavailable" and body["details"] == {"dependency": "redis"}
        health = c.get("/healthz").json()
        assert health["status"] == "degraded" and health["broker"] == "down"

        RedisServer(outage_redis.directory, port=outage_redis.port).start()  # same port: the clients reconnect
        outage_redis.proc = None
        try:
            assert c.get("/healthz").json()["broker"] == "ok"
            again = c.post(f"/v1/users/{user}/sync", headers={**AUTH, "X-Spotify-Token": "tok"})
            assert again.status_code == 202
            assert c.get(f"/v1/jobs/{again.json()['jobId']}", headers=AUTH).status_code == 200
            assert c.get(f"/v1/users/{user}/stats", headers=AUTH).status_code == 200
            r = c.post("/v1/recommendations", headers=AUTH, json={"userId": user, "limit": 5})
            assert r.status_code == 200
            assert c.get(f"/v1/users/{user}/stats", headers=AUTH).json()["recommendationsServed"] == 5
        finally:
            RedisServer(outage_redis.directory, port=outage_redis.port).stop()
