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

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Targets (issue 6), shown next to the measured values
TARGET_ANALYSIS_X = 12.0
TARGET_INGEST_PER_MIN = 350.0
TARGET_RECALL = 0.95
TARGET_REOPEN_S = 1.0
TARGET_UPSERT_PER_S = 10_000.0
TARGET_HTTP_REQ_S = 500.0
TARGET_HTTP_P99_MS = 50.0


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
    from service.catalog.ingest import discover
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
        if "queries" not in skip or "http" not in skip:
            report |= _store_sections(args, tmp, real_vectors, skip, log)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["targets"] = targets(report)
    return report


def _store_sections(args, tmp: Path, real_vectors, skip: set[str], log) -> dict[str, Any]:
    from service.tools.bench.store import build_store, make_catalogue, median, reopen_times, run_queries

    stores, queries, http = [], [], []
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
                f"p50 {_ms(result['p50Ms'])} ms, p99 {_ms(result['p99Ms'])} ms"
            )
        shutil.rmtree(data_dir, ignore_errors=True)
        del cat
    if len(queries) > 1:
        first, last = queries[0], queries[-1]
        for kind in ("similar", "filtered", "recommend"):
            last[kind]["growthP50"] = {
                v: last[kind][v]["p50Ms"] / first[kind][v]["p50Ms"] for v in ("hnsw", "exact", "floor")
            } | {"from": first["tracks"], "to": last["tracks"]}
    return {"store": stores, "queries": queries, "http": http, "serverBaseline": baseline}


# --- targets ----------------------------------------------------------------------------------------------
def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(what: str, value, goal: str, met: bool | None, unit: str = "") -> None:
        out.append({"target": what, "value": value, "unit": unit, "goal": goal, "met": met})

    if "analysis" in r:
        x = r["analysis"]["cheaperX"]
        add(
            "analysis cheaper per track than the reference",
            round(x, 1),
            f">= {TARGET_ANALYSIS_X:g}x",
            x >= TARGET_ANALYSIS_X,
            "x",
        )
    if "ingest" in r:
        v = r["ingest"]["allCores"]["tracksPerMin"]
        add(
            "ingest on all cores",
            round(v),
            f">= {TARGET_INGEST_PER_MIN:g} tracks/min",
            v >= TARGET_INGEST_PER_MIN,
            "tracks/min",
        )
    if r.get("queries"):
        last = r["queries"][-1]
        n = last["tracks"]
        for kind in ("similar", "filtered", "recommend"):
            h, f = last[kind]["hnsw"]["p50Ms"], last[kind]["floor"]["p50Ms"]
            add(f"{kind} p50 at {n:,} vs NumPy floor p50", round(h, 3), f"<= floor ({f:.3f} ms)", h <= f, "ms")
        recalls = [
            (q[k]["recallAt10"], q["tracks"], k) for q in r["queries"] for k in ("similar", "filtered", "recommend")
        ]
        worst = min((x for x in recalls if x[0] is not None), default=None)
        if worst:
            add(
                f"recall@10 of HNSW vs exact (worst: {worst[2]} at {worst[1]:,})",
                round(worst[0], 4),
                f">= {TARGET_RECALL:g}",
                worst[0] >= TARGET_RECALL,
            )
    if r.get("store"):
        last = r["store"][-1]
        add(
            f"reopen at {last['tracks']:,}",
            round(last["reopenS"], 3),
            f"<= {TARGET_REOPEN_S:g} s",
            last["reopenS"] <= TARGET_REOPEN_S,
            "s",
        )
        slowest = min(s["pointsPerS"] for s in r["store"])
        add(
            "upsert (slowest size)",
            round(slowest),
            f">= {TARGET_UPSERT_PER_S:,.0f} points/s",
            slowest >= TARGET_UPSERT_PER_S,
            "points/s",
        )
    timed = [h for h in r.get("http") or [] if h["mode"] == "timed"]
    if timed:
        h = timed[0]
        n = h["tracks"]
        add(
            f"HTTP similar at {n:,}",
            round(h["reqPerS"]),
            f">= {TARGET_HTTP_REQ_S:g} req/s",
            h["reqPerS"] >= TARGET_HTTP_REQ_S,
            "req/s",
        )
        p99 = h["p99Ms"]
        add(
            f"HTTP similar p99 at {n:,}",
            round(p99, 2) if p99 else None,
            f"< {TARGET_HTTP_P99_MS:g} ms",
            bool(p99 and p99 < TARGET_HTTP_P99_MS),
            "ms",
        )
    return out


# --- the human report -------------------------------------------------------------------------------------
def _ms(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:,.0f}"


def _s(x: float) -> str:
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        f"- date: {r['date']}",
        f"- machine: {m['cpuCount']} CPUs ({m['cpuModel']}), {m['memoryGiB']} GiB, Python {m['python']}, "
        f"{m['platform']}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v),
        f"- command: `{r['command']}`",
    ]
    if "analysis" in r:
        a = r["analysis"]
        o, ref = a["ours"], a["reference"]
        lines += [
            "",
            f"### Analysis: {a['files']} files, {a['audioSeconds']:,.0f} s of audio "
            f"(mean {a['meanTrackSeconds']:.0f} s), {a['source']}",
            *_table(
                ["per track, one core", "musicrec", "replaced pipeline (reference)", "ratio"],
                [
                    [
                        "wall time",
                        f"{_s(o['perTrackS'])} (decode {_s(o['decodePerTrackS'])} + features "
                        f"{_s(o['featuresPerTrackS'])})",
                        f"{_s(ref['perTrackS'])} (load {_s(ref['loadPerTrackS'])} + features "
                        f"{_s(ref['featuresPerTrackS'])})",
                        f"{a['cheaperX']:.1f}x cheaper",
                    ],
                    ["x realtime (audio s per wall s)", f"{o['xRealtime']:,.0f}x", f"{ref['xRealtime']:,.0f}x", ""],
                    ["one-off warm-up per process", _s(o["warmupS"]), f"{_s(ref['warmupS'])} (numba JIT)", ""],
                ],
            ),
        ]
        if a["failed"]:
            lines += ["", f"({len(a['failed'])} file(s) failed and are left out: {a['failed'][0]['error']})"]
    if "ingest" in r:
        g = r["ingest"]
        rows = [
            [str(x["workers"]), f"{x['tracksPerMin']:,.0f}", f"{x['seconds']:.1f}", str(x["ok"]), str(x["failed"])]
            for x in (g["oneWorker"], g["allCores"])
        ]
        lines += [
            "",
            f"### Ingest: `service.catalog.ingest.ingest` end to end into a fresh embedded store, {g['files']} files "
            f"(all cores = {g['allCoresOverOneX']:.2f}x one worker)",
            *_table(["workers", "tracks/min", "seconds", "ok", "failed"], rows),
        ]
    if r.get("store"):
        lines += [
            "",
            f"### Store: embedded Qdrant Edge, upsert in batches of {r['store'][0]['batch']:,}, HNSW built by "
            "`optimize()` (only above Qdrant's indexing threshold: below it, queries scan), reopen = median of 3",
            *_table(
                ["tracks", "upsert points/s", "optimize", "vectors in HNSW", "reopen"],
                [
                    [
                        f"{s['tracks']:,}",
                        f"{s['pointsPerS']:,.0f}",
                        _s(s["optimizeS"]),
                        f"{s['indexedVectors']:,}" if s.get("indexedVectors") is not None else "–",
                        _s(s["reopenS"]),
                    ]
                    for s in r["store"]
                ],
            ),
        ]
    if r.get("queries"):
        q0 = r["queries"][0]
        lines += [
            "",
            f"### Queries in-process: p50 / p99 ms over {q0['queries']} random queries per kind and variant, top 10; "
            f"recall@10 over {q0['recallQueries']} queries answered by every variant",
            f"vectors: {q0['vectors']}. similar = `Recommender.similar`; filtered = the same with the seed's genre "
            "and tempo ± 20 BPM; recommend = `Recommender.from_seeds`, 2 seeds + 1 negative, same filter. "
            "service = through `Recommender` (HNSW); bare store = only the store query it sends; exact = the "
            "service with `exact=True`; floor = NumPy brute force over the same normalised matrix, the filter as a "
            "boolean mask; gathered = the floor scoring only the rows the filter keeps.",
            "",
        ]
        rows = []
        for q in r["queries"]:
            for kind in ("similar", "filtered", "recommend"):
                k = q[kind]
                cell = lambda v: f"{_ms(v['p50Ms'])} / {_ms(v['p99Ms'])}" if v else "–"  # noqa: E731
                rows.append(
                    [
                        f"{q['tracks']:,}",
                        kind,
                        cell(k["hnsw"]),
                        cell(k["store"]),
                        cell(k["exact"]),
                        cell(k["floor"]),
                        cell(k["floorGather"]),
                        f"{k['hnswOverFloorP50']:.2f}",
                        f"{k['recallAt10']:.4f}" if k["recallAt10"] is not None else "–",
                    ]
                )
        lines += _table(
            [
                "tracks",
                "query",
                "service (HNSW)",
                "bare store",
                "service exact",
                "NumPy floor",
                "floor gathered",
                "service/floor p50",
                "recall@10",
            ],
            rows,
        )
        last = r["queries"][-1]
        if "growthP50" in last["similar"]:
            g = last["similar"]["growthP50"]
            growth = {kind: last[kind]["growthP50"] for kind in ("similar", "filtered", "recommend")}
            gr = [
                f"{kind} service {x['hnsw']:.1f}x, exact {x['exact']:.1f}x, floor {x['floor']:.1f}x"
                for kind, x in growth.items()
            ]
            lines += ["", f"p50 growth from {g['from']:,} to {g['to']:,} tracks: " + "; ".join(gr)]
    if r.get("http"):
        h0 = r["http"][0]
        lines += [
            "",
            f"### HTTP: `musicrec serve` on 127.0.0.1, {h0['route']}, {h0['clients']} concurrent keep-alive clients",
            *_table(
                ["tracks", "run", "req/s", "p50 ms", "p99 ms", "errors", "server CPU", "client CPU", "peak RSS"],
                [
                    [
                        f"{h['tracks']:,}",
                        f"{h['seconds']:.1f} s" if h["mode"] == "timed" else f"{h['requests']} requests",
                        f"{h['reqPerS']:,.0f}",
                        _ms(h["p50Ms"]),
                        _ms(h["p99Ms"]),
                        str(sum(h["errors"].values())),
                        f"{h['serverCpuCores']:.2f} cores" if h["serverCpuCores"] is not None else "–",
                        f"{h['clientCpuCores']:.2f} cores" if h["clientCpuCores"] is not None else "–",
                        f"{h['serverPeakRssMiB']:,.0f} MiB" if h["serverPeakRssMiB"] is not None else "–",
                    ]
                    for h in r["http"]
                ],
            ),
        ]
        if r.get("serverBaseline"):
            b = r["serverBaseline"]
            lines.append("")
            lines.append(
                f"an empty store: the server starts in {b['serverStartupS']:.1f} s with a peak RSS of "
                f"{b['serverPeakRssMiB']:,.0f} MiB"
                if b["serverPeakRssMiB"] is not None
                else f"an empty store: the server starts in {b['serverStartupS']:.1f} s"
            )
    if r["targets"]:
        lines += [
            "",
            "### Targets",
            *_table(
                ["target", "measured", "goal", "met"],
                [
                    [
                        t["target"],
                        f"{t['value']:,}{'' if t['unit'] == 'x' else ' '}{t['unit']}".strip()
                        if t["value"] is not None
                        else "–",
                        t["goal"],
                        "met" if t["met"] else "NOT met",
                    ]
                    for t in r["targets"]
                ],
            ),
        ]
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    log = Progress()
    report = run(args, log)
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(render(report))
    sys.stdout.flush()
    return 0
