"""The scaled deployment's API under load while a slow call is in flight.

`musicrec serve` with a Qdrant *server* backend (qdrant-client's `:memory:` mode stands in for the server:
no server binary here). Its filtered queries are scanned in Python, so a filtered similar query is a
naturally slow call. Fast calls (GET /v1/tracks/{id}) are timed with and without one client looping on
the slow call: if blocking handlers ran on the event loop, every fast call would wait behind it.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from service.tools.bench.store import Catalogue, Log
from service.tools.procs import ServeProcess

TRACKS = 5000


async def _loop(client: httpx.AsyncClient, paths: list[str], deadline: float, seed: int, out: list[float]) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        t = time.perf_counter()
        resp = await client.get(rng.choice(paths))
        if resp.status_code == 200:
            out.append(time.perf_counter() - t)


async def _run(base: str, key: str, fast: list[str], slow: list[str], clients: int, seconds: float, with_slow: bool):
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=clients + 1, max_keepalive_connections=clients + 1)
    fast_lat: list[float] = []
    slow_lat: list[float] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=120) as client:
        deadline = time.monotonic() + seconds
        jobs = [_loop(client, fast, deadline, k, fast_lat) for k in range(clients)]
        if with_slow:
            jobs.append(_loop(client, slow, deadline, 999, slow_lat))
        await asyncio.gather(*jobs)
    return fast_lat, slow_lat


def _ms(latencies: list[float]) -> dict[str, float]:
    a = np.asarray(latencies) * 1000.0
    if not a.size:
        return {"n": 0}
    return {"n": int(a.size), "p50Ms": float(np.percentile(a, 50)), "p99Ms": float(np.percentile(a, 99))}


def _analysed(cat: Catalogue, i: int) -> dict[str, list[float]]:
    """What `musicrec ingest` hands a server: the analysed vectors (the server derives the others)."""
    from service.analysis.vectorset import ANALYSED

    stored = cat.stored_vectors(i)
    return {name: stored[name] for name in ANALYSED}


def server_mode_bench(cat: Catalogue, tmp: Path, *, clients: int, seconds: float, log: Log) -> dict[str, Any]:
    key = secrets.token_urlsafe(18)
    env = {k: v for k, v in os.environ.items() if k not in ("QDRANT_URL", "QDRANT_API_KEY", "REDIS_URL")}
    env |= {"MUSICREC_DATA_DIR": str(tmp / "server-mode"), "MUSICREC_API_KEYS": key, "QDRANT_URL": ":memory:"}
    server = ServeProcess(env, tmp / "server-mode.log").start()
    n = min(TRACKS, len(cat.ids))
    try:
        headers = {"Authorization": f"Bearer {key}"}
        for start in range(0, n, 500):
            points = [
                {"id": cat.ids[i], "payload": cat.payloads[i], "vectors": _analysed(cat, i)}
                for i in range(start, min(start + 500, n))
            ]
            resp = httpx.post(f"{server.url}/v1/ingest/points", json={"points": points}, headers=headers, timeout=120)
            if resp.status_code != 200:
                raise RuntimeError(f"server-mode load failed: {resp.status_code} {resp.text[:300]}")
        log(f"server mode: {n:,} tracks in qdrant-client's :memory: server stand-in")
        rng = random.Random(5)
        sample = [cat.ids[rng.randrange(n)] for _ in range(200)]
        fast = [f"/v1/tracks/{i}" for i in sample]
        slow = [
            f"/v1/tracks/{i}/similar?limit=10&genre={cat.payloads[cat.ids.index(i)]['genres'][0]}&tempoMin=60&tempoMax=180"
            for i in sample[:20]
            if cat.payloads[cat.ids.index(i)]["genres"]
        ]
        asyncio.run(_run(server.url, key, fast, slow, clients, 1.0, False))  # warm up
        alone, _ = asyncio.run(_run(server.url, key, fast, slow, clients, seconds, False))
        loaded, slow_lat = asyncio.run(_run(server.url, key, fast, slow, clients, seconds, True))
    finally:
        server.stop()
    result = {
        "tracks": n,
        "clients": clients,
        "seconds": seconds,
        "fast": "GET /v1/tracks/{trackId}",
        "slow": "GET /v1/tracks/{trackId}/similar with a genre + tempo filter (scanned in Python by the stand-in)",
        "fastAlone": _ms(alone),
        "fastWithSlowInFlight": _ms(loaded),
        "slowCall": _ms(slow_lat),
    }
    log(
        f"server mode: fast p99 {result['fastAlone'].get('p99Ms', 0):.1f} ms alone, "
        f"{result['fastWithSlowInFlight'].get('p99Ms', 0):.1f} ms with a slow call in flight "
        f"(slow p50 {result['slowCall'].get('p50Ms', 0):.0f} ms)"
    )
    return result
