"""Bench, HTTP side: a real `musicrec serve` on 127.0.0.1 over a filled data dir, concurrent keep-alive clients
for a fixed time (or a fixed count), latency percentiles, and the server's CPU and peak RSS from /proc."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from service.tools.procs import ServeProcess

Log = Callable[[str], None]
START_TIMEOUT_S = 120.0
MAX_REQUESTS_PER_S = 20_000  # a hard cap on the count, whatever the duration


def _proc_status(pid: int) -> dict[str, int]:
    """VmHWM / VmRSS (KiB) of a process; empty where /proc is not there."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def _proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux /proc/PID/stat), None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def start_server(data_dir: Path, log_path: Path) -> tuple[ServeProcess, str]:
    """`musicrec serve` over `data_dir` with an API key of its own (returned), required; no outside services."""
    key = secrets.token_urlsafe(18)
    env = {k: v for k, v in os.environ.items() if k not in ("QDRANT_URL", "QDRANT_API_KEY", "REDIS_URL")}
    env |= {
        "MUSICREC_DATA_DIR": str(data_dir),
        "MUSICREC_API_KEYS": key,
        "MUSICREC_AUTH": "required",
        "OPENBLAS_NUM_THREADS": "1",
    }
    return ServeProcess(env, log_path).start(START_TIMEOUT_S), key


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    """One keep-alive HTTP/1.1 request on an open connection; returns the status (the body is read and dropped)."""
    writer.write(raw)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def _load(
    base: str, key: str, ids: list[str], clients: int, seconds: float, max_requests: int, seed: int
) -> dict[str, Any]:
    """`clients` keep-alive connections, each sending its next request as soon as the last answer is read.

    Plain asyncio streams with the requests built up front, not an HTTP client library: on 2 cores the load
    generator shares the CPU with the server, and httpx's per-request cost (~1 ms of CPU, growing with the pool)
    made 32 clients look slower than 8 because the client, not the server, ran out of CPU."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    issued = 0
    host, port = base.removeprefix("http://").rsplit(":", 1)
    requests = [
        (
            f"GET /v1/tracks/{tid}/similar?limit=10 HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {key}\r\nAccept: application/json\r\n\r\n"
        ).encode()
        for tid in ids
    ]
    deadline = time.monotonic() + seconds

    async def worker(k: int) -> None:
        nonlocal issued
        rng = random.Random(seed * 1000 + k)
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while issued < max_requests and time.monotonic() < deadline:
                issued += 1
                raw = requests[rng.randrange(len(requests))]
                t = time.perf_counter()
                try:
                    code = await _request(reader, writer, raw)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    code = 0
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
                dt = time.perf_counter() - t
                statuses[code] = statuses.get(code, 0) + 1
                if code == 200:
                    latencies.append(dt)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(clients)))
    wall = time.perf_counter() - started
    return {"latencies": latencies, "statuses": statuses, "wall": wall}


def http_bench(
    data_dir: Path,
    ids: list[str],
    *,
    tmp: Path,
    clients: int,
    seconds: float,
    max_requests: int | None,
    seed: int,
    log: Log,
) -> dict[str, Any]:
    """Serve `data_dir`, warm up, then load GET /v1/tracks/{id}/similar for `seconds` (or `max_requests`)."""
    cap = max_requests or int(seconds * MAX_REQUESTS_PER_S)
    server, key = start_server(data_dir, tmp / f"serve-{data_dir.name}.log")
    pid = server.proc.pid
    try:
        log(f"http: musicrec serve ready on {server.url} in {server.startup_s:.1f} s")
        probe = httpx.get(
            f"{server.url}/v1/tracks/{ids[0]}/similar",
            params={"limit": 10},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        if probe.status_code != 200 or len(probe.json().get("items", [])) != 10:
            raise RuntimeError(f"unexpected answer from the server: {probe.status_code} {probe.text[:200]}")
        asyncio.run(_load(server.url, key, ids, clients, 1.0, 200, seed + 1))  # connections, caches
        cpu0, proc0 = _proc_cpu_s(pid), time.process_time()
        run = asyncio.run(_load(server.url, key, ids, clients, seconds if not max_requests else 120.0, cap, seed))
        cpu1, proc1 = _proc_cpu_s(pid), time.process_time()
        memory = _proc_status(pid)
    finally:
        server.stop()
    lat = np.asarray(run["latencies"]) * 1000.0
    ok = int(lat.size)
    wall = run["wall"]
    return {
        "route": "GET /v1/tracks/{trackId}/similar?limit=10",
        "clients": clients,
        "seconds": wall,
        "requests": sum(run["statuses"].values()),
        "ok": ok,
        "errors": {str(k): v for k, v in run["statuses"].items() if k != 200},
        "reqPerS": ok / wall if wall else 0.0,
        "p50Ms": float(np.percentile(lat, 50)) if ok else None,
        "p99Ms": float(np.percentile(lat, 99)) if ok else None,
        "serverCpuCores": (cpu1 - cpu0) / wall if cpu0 is not None and cpu1 is not None and wall else None,
        "clientCpuCores": (proc1 - proc0) / wall if wall else None,
        "serverStartupS": server.startup_s,
        "serverPeakRssMiB": memory["VmHWM"] / 1024 if "VmHWM" in memory else None,
        "serverRssMiB": memory["VmRSS"] / 1024 if "VmRSS" in memory else None,
    }


def empty_server(tmp: Path) -> dict[str, Any]:
    """Start-up time and RSS of `musicrec serve` over an empty store: the baseline the peak RSS grows from."""
    data_dir = tmp / "empty-store"
    server, _key = start_server(data_dir, tmp / "serve-empty.log")
    try:
        httpx.get(f"{server.url}/healthz", timeout=10)
        memory = _proc_status(server.proc.pid)
    finally:
        server.stop()
    return {
        "serverStartupS": server.startup_s,
        "serverPeakRssMiB": memory["VmHWM"] / 1024 if "VmHWM" in memory else None,
    }
