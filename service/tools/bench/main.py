"""`musicrec bench`: how fast musicrec analyses, how fast it answers, and how that grows.

Every comparison is measured side by side in the same run (shared machines are noisy), and absolute values
are reported with it:

1. analysis: our extractor (PyAV windowed decode + one-STFT features) vs the replaced service's pipeline
   (full `librosa.load` + one librosa call per feature + `beat_track`) on the same files; `musicrec ingest`'s
   pipeline end to end with 1 worker and with all cores;
2. store: upsert rate, HNSW build (`optimize`) and reopen time of the embedded store at each catalogue size;
3. queries in-process through `service.recommend.recommender.Recommender` (HNSW, and exact search) vs a NumPy
   brute-force floor over the same normalised matrix with the same filters, and recall@10 of HNSW;
4. HTTP: a real `musicrec serve` under concurrent keep-alive clients, and its peak RSS at the largest size.

Progress goes to stderr; a table (or with --json one JSON document) to stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from service.progress import Progress
from service.tools.bench.report import fmt_ms, render, targets

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _command(args: argparse.Namespace) -> str:
    """The command line as typed (`musicrec bench ...`), or rebuilt from the options when called in-process."""
    if "bench" in sys.argv[1:2]:
        return " ".join(["musicrec", *sys.argv[1:]])
    return "musicrec bench (called in-process)"


def machine() -> dict[str, Any]:
    model = None
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpuCount": os.cpu_count(),
        "cpusUsable": affinity,
        "cpuModel": model or platform.processor() or None,
        "memoryGiB": mem_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {
            d: _version(d) for d in ("musicrec", "qdrant-edge-py", "librosa", "numpy", "av", "litestar", "uvicorn")
        },
    }


# --- sections ---------------------------------------------------------------------------------------------
def _audio_files(args: argparse.Namespace, tmp: Path, log) -> tuple[list[Path], list[Path], str]:
    """(files analysed side by side, files ingested, description of the source)."""
    from service.catalog.files import discover
    from service.tools.bench.analysis import GEN_RATE, generate_music, pick_evenly

    if args.audio:
        folder = Path(args.audio).expanduser()
        if not folder.is_dir():
            raise SystemExit(f"musicrec bench: --audio {args.audio}: not a folder")
        files = [p for p, err in discover([folder]) if err is None]
        if not files:
            raise SystemExit(f"musicrec bench: --audio {args.audio}: no audio files in it")
        return pick_evenly(files, args.tracks), pick_evenly(files, args.ingest_files), f"folder {folder.absolute()}"
    log(f"generating {args.tracks} tracks of {args.track_seconds:.0f} s (44.1 kHz stereo Ogg Vorbis)")
    files = generate_music(tmp / "audio", args.tracks, args.track_seconds, args.seed, log)
    return files, files, f"generated ({args.tracks} x {args.track_seconds:.0f} s, {GEN_RATE} Hz stereo Ogg Vorbis)"


def run(args: argparse.Namespace, log) -> dict[str, Any]:
    skip = set(args.skip or ())
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": _command(args),
        "machine": machine(),
        "options": {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(args).items() if k != "func"},
    }
    tmp = Path(tempfile.mkdtemp(prefix="musicrec-bench-", dir=args.tmp))
    try:
        real_vectors = None
        if not {"analysis", "ingest"} <= skip:
            side_by_side, to_ingest, source = _audio_files(args, tmp, log)
            if "analysis" not in skip:
                from service.tools.bench.analysis import bench_analysis

                report["analysis"] = {"source": source, **bench_analysis(side_by_side, tmp, log)}
            if "ingest" not in skip:
                from service.tools.bench.analysis import bench_ingest

                ingest_report, real_vectors = bench_ingest(to_ingest, tmp, log)
                report["ingest"] = {"source": source, **ingest_report}
            if not args.audio:
                real_vectors = None  # generated audio is not music: the catalogue uses Gaussian clusters then
        if {"queries", "users", "http"} - skip:
            report |= _store_sections(args, tmp, real_vectors, skip, log)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["targets"] = targets(report)
    return report


def _store_sections(args, tmp: Path, real_vectors, skip: set[str], log) -> dict[str, Any]:
    from service.tools.bench.store import KINDS, build_store, make_catalogue, median, reopen_times, run_queries

    stores, queries, http, users = [], [], [], []
    server_mode = None
    users_at = next((n for n in args.sizes if n > 10_000), args.sizes[-1])  # the sizes need a larger catalogue
    baseline = None
    smallest, largest = args.sizes[0], args.sizes[-1]
    if "http" not in skip:
        from service.tools.bench.http import empty_server

        baseline = empty_server(tmp)
        log(f"http: an empty server starts in {baseline['serverStartupS']:.1f} s")
    for n in args.sizes:
        cat = make_catalogue(n, real_vectors, args.seed, log)
        data_dir = tmp / f"store-{n}"
        log(f"store: upserting {n:,} tracks in batches of {args.batch}")
        store, figures = build_store(cat, data_dir, args.batch, args.users, args.seed, log)
        try:
            if "queries" not in skip:
                log(f"queries: {args.queries} of each kind at {n:,} tracks")
                queries.append(
                    {"tracks": n, "vectors": cat.vectors_kind, **run_queries(store, cat, args.queries, args.seed, log)}
                )
            if "http" not in skip and n == smallest:
                from service.tools.bench.servermode import server_mode_bench

                server_mode = server_mode_bench(cat, tmp, clients=args.http_clients, seconds=args.http_seconds, log=log)
            if "users" not in skip and n == users_at:
                from service.tools.bench.users import bench_users

                log(f"users: libraries of several sizes at {n:,} tracks")
                users = bench_users(store, cat, queries=args.queries, seed=args.seed, log=log)
        finally:
            store.close()
        reopen = reopen_times(data_dir)
        figures |= {"reopenS": median(reopen), "reopenRunsS": reopen}
        stores.append(figures)
        log(
            f"store at {n:,}: {figures['pointsPerS']:,.0f} points/s, optimize {figures['optimizeS']:.1f} s, "
            f"reopen {figures['reopenS']:.2f} s"
        )
        if "http" not in skip and n in (smallest, largest):
            from service.tools.bench.http import http_bench

            timed = n == smallest
            log(
                f"http: {args.http_clients} clients for {args.http_seconds:g} s at {n:,} tracks"
                if timed
                else f"http: {args.memory_queries} requests at {n:,} tracks, then the server's peak RSS"
            )
            result = http_bench(
                data_dir,
                cat.ids,
                tmp=tmp,
                clients=args.http_clients,
                seconds=args.http_seconds,
                max_requests=None if timed else args.memory_queries,
                seed=args.seed,
                log=log,
            )
            http.append({"tracks": n, "mode": "timed" if timed else "count", **result})
            log(
                f"http at {n:,}: {result['reqPerS']:.0f} req/s, "
                f"p50 {fmt_ms(result['p50Ms'])} ms, p99 {fmt_ms(result['p99Ms'])} ms"
            )
        shutil.rmtree(data_dir, ignore_errors=True)
        del cat
    if len(queries) > 1:
        first, last = queries[0], queries[-1]
        for kind in KINDS:
            last[kind]["growthP50"] = {
                v: last[kind][v]["p50Ms"] / first[kind][v]["p50Ms"] for v in ("hnsw", "exact", "floor")
            } | {"from": first["tracks"], "to": last["tracks"]}
    return {
        "store": stores,
        "queries": queries,
        "users": users,
        "http": http,
        "serverMode": server_mode,
        "serverBaseline": baseline,
    }


def main(args: argparse.Namespace) -> int:
    log = Progress()
    report = run(args, log)
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(render(report))
    sys.stdout.flush()
    return 0
