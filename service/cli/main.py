"""`musicrec` command line: serve, ingest, worker, quality, bench, reindex."""

from __future__ import annotations

import os

# Small matrix products on 2 cores are ~80x slower with 2 BLAS threads; set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from service.errors import ConfigError, MusicrecError, StoreLocked  # noqa: E402
from service.progress import Progress  # noqa: E402
from service.settings import Settings  # noqa: E402

SERVER_FILE = "server.json"  # in the data dir while `musicrec serve` owns the embedded store


def _fail(message: str, code: int = 1) -> int:
    print(f"musicrec: {message}", file=sys.stderr)
    return code


# --- serve ---------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from service.api.app import create_app
    from service.store import open_store

    settings.check_auth()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        store = open_store(settings)
    except StoreLocked as exc:
        return _fail(f"{exc.message}; stop it first or use another MUSICREC_DATA_DIR")
    server_file = settings.data_dir / SERVER_FILE
    worker = None

    def cleanup() -> None:
        if worker is not None:
            worker.stop()
        if settings.embedded:
            server_file.unlink(missing_ok=True)
        store.close()

    try:
        queue, worker = _in_process_workers(settings, store, args.worker_threads)
        app = create_app(settings, store=store, queue=queue, on_shutdown=[cleanup])
    except BaseException:
        cleanup()
        raise
    where = "embedded Qdrant Edge store in " + str(settings.data_dir) if settings.embedded else settings.qdrant_url
    auth = "auth DISABLED" if settings.auth_disabled else f"{len(settings.api_keys)} API key(s)"
    print(f"musicrec: serving on http://{args.host}:{args.port} ({where}; {auth})", file=sys.stderr)
    if settings.embedded:
        server_file.write_text(json.dumps({"url": f"http://{args.host}:{args.port}", "pid": os.getpid()}))
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=args.access_log)
    return 0


def _in_process_workers(settings: Settings, store, threads: int):
    """The sync pipeline's actors inside `serve`: always in the embedded mode (the store has one owner),
    and whenever there is no Redis to share work with `musicrec worker` processes."""
    import redis

    from service.sync.jobs import make_queue

    client = redis.Redis.from_url(settings.redis_url) if settings.redis_url else None
    queue = make_queue(settings, client, heartbeat_ms=settings.broker_heartbeat_ms)
    if not (settings.embedded or client is None) or threads == 0:
        return queue, None
    from workers.setup import setup, start_worker

    setup(settings, store=store, queue=queue, redis=client)
    return queue, start_worker(queue, threads=threads)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    if not (settings.redis_url and settings.qdrant_url):
        return _fail(
            "`musicrec worker` is for the scaled deployment and needs REDIS_URL and QDRANT_URL; "
            "with the embedded store, `musicrec serve` runs the workers itself",
            2,
        )
    argv = [
        sys.executable,
        "-m",
        "dramatiq",
        "workers.main",
        "--processes",
        str(args.processes),
        "--threads",
        str(args.threads),
    ]
    os.execv(sys.executable, argv)
    return 0  # not reached


# --- ingest --------------------------------------------------------------------------------------
def _open_sink(settings: Settings):
    """The store itself, or — while `musicrec serve` owns the embedded store — that server."""
    from service.catalog.sinks import HttpSink, StoreSink
    from service.store import open_store
    from service.store.schema import track_vector

    vector_name, _ = track_vector()
    try:
        store = open_store(settings)
        return StoreSink(store, vector_name), store.close, store
    except StoreLocked as exc:
        server_file = settings.data_dir / SERVER_FILE
        try:
            url = json.loads(server_file.read_text())["url"]
        except (OSError, ValueError, KeyError):
            raise MusicrecError(f"{exc.message}; stop it or use another MUSICREC_DATA_DIR") from None
        sink = HttpSink(url, settings.api_keys[0] if settings.api_keys else None, vector_name)
        sink.check()
        print(f"musicrec: the store is owned by the server at {url}; handing the tracks to it", file=sys.stderr)
        return sink, sink.close, None


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from service.catalog.ingest import ingest

    try:
        sink, close, store = _open_sink(settings)
    except MusicrecError as exc:
        return _fail(exc.message)
    progress = Progress(bar=sys.stderr.isatty())

    def on_result(result, total: int) -> None:
        if args.json:
            sys.stdout.write(json.dumps(result.as_json()) + "\n")
            sys.stdout.flush()
        progress.update(result.status, total)

    try:
        summary = ingest(
            args.paths,
            sink,
            genre=args.genre,
            user_id=args.user,
            max_seconds=settings.max_track_seconds,
            workers=args.workers,
            on_result=on_result,
        )
        if store is not None and summary.ok and hasattr(store, "optimize"):
            store.optimize()  # build the HNSW index / merge segments for the new points
    except MusicrecError as exc:
        progress.close()
        return _fail(exc.message)
    finally:
        close()
    progress.close()
    if not args.json:
        for r in summary.results:
            if r.status == "failed":
                print(f"failed: {r.path}: {r.error}", file=sys.stderr)
    rate = summary.total / summary.seconds * 60 if summary.seconds else 0.0
    print(
        f"musicrec: {summary.total} file(s) in {summary.seconds:.1f} s ({rate:.0f}/min): "
        f"{summary.ok} ok, {summary.skipped} skipped, {summary.failed} failed",
        file=sys.stderr,
    )
    return 1 if summary.failed else 0


def cmd_quality(args: argparse.Namespace, settings: Settings) -> int:
    from service.tools.quality import render, run

    if not args.folder.is_dir():
        return _fail(f"{args.folder} is not a folder", 2)
    print("musicrec: analysing (the replaced pipeline's reference takes ~2 s per track)...", file=sys.stderr)
    report = run(args.folder, with_reference=not args.no_reference, n_users=args.users, seed=args.seed)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from service.tools.bench import main as bench

    return bench.main(args)


def cmd_not_yet(args: argparse.Namespace, settings: Settings) -> int:
    return _fail(f"`musicrec {args.command}` is not available in this version yet", 2)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="musicrec", description="Music recommendations from audio features.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP API (embedded store unless QDRANT_URL is set)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument("--worker-threads", type=int, default=4, help="in-process sync workers (0 = none)")
    serve.set_defaults(func=cmd_serve)

    ing = sub.add_parser("ingest", help="analyse local audio files/folders into the store")
    ing.add_argument("paths", nargs="+", metavar="PATH")
    ing.add_argument("--genre", help="add this genre to every file")
    ing.add_argument("--user", help="also add the files to this user's library (reason `ingested`)")
    ing.add_argument("--json", action="store_true", help="one JSON line per file on stdout")
    ing.add_argument("--workers", type=int, default=None, help="analysis processes (default: all cores)")
    ing.set_defaults(func=cmd_ingest)

    qual = sub.add_parser("quality", help="offline recommendation-quality report on a folder of albums")
    qual.add_argument("folder", type=Path, help="albums as sub-folders (or album tags)")
    qual.add_argument("--users", type=int, default=40, help="simulated users")
    qual.add_argument("--seed", type=int, default=0)
    qual.add_argument("--no-reference", action="store_true", help="skip the replaced pipeline (slow)")
    qual.add_argument("--json", action="store_true")
    qual.set_defaults(func=cmd_quality)

    from service.tools.bench.args import add_arguments as add_bench_arguments

    bench = sub.add_parser("bench", help="measure analysis, ingest, query and HTTP speed against references")
    add_bench_arguments(bench)
    bench.set_defaults(func=cmd_bench)

    worker = sub.add_parser("worker", help="Dramatiq worker processes (scaled: needs REDIS_URL and QDRANT_URL)")
    worker.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    worker.add_argument("--threads", type=int, default=4)
    worker.set_defaults(func=cmd_worker)

    reindex = sub.add_parser("reindex", help="re-run the extractor over stored tracks (not available yet)")
    reindex.set_defaults(func=cmd_not_yet)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "workers", None) is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    try:
        settings = Settings.from_env()
        return args.func(args, settings)
    except ConfigError as exc:
        return _fail(exc.message, 2)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
