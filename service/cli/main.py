"""`musicrec` command line: serve, ingest, worker, export, check, quality, bench, reindex. The parser and the
dispatch; each subcommand lives in its own module (serve, ingest, export, check, tools)."""

from __future__ import annotations

import os

# Small matrix products on 2 cores are ~80x slower with 2 BLAS threads; set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

from service.cli.check import cmd_check  # noqa: E402
from service.cli.common import fail  # noqa: E402
from service.cli.export import add_arguments as add_export_arguments  # noqa: E402
from service.cli.export import cmd_export  # noqa: E402
from service.cli.ingest import cmd_ingest  # noqa: E402
from service.cli.serve import cmd_serve, cmd_worker  # noqa: E402
from service.cli.tools import cmd_bench, cmd_quality  # noqa: E402
from service.errors import ConfigError, MusicrecError  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.sync.jobs import QUEUES  # noqa: E402


def cmd_not_yet(args: argparse.Namespace, settings: Settings) -> int:
    return fail(f"`musicrec {args.command}` is not available in this version yet", 2)


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
    worker.add_argument(
        "--queues",
        default=",".join(QUEUES),
        help="comma-separated queues to consume (spotify = library reads, youtube = matching, cpu = audio "
        "analysis): run one worker service per family to size them apart (default: %(default)s)",
    )
    worker.set_defaults(func=cmd_worker)

    export = sub.add_parser("export", help="copy the embedded store into a Qdrant server and verify the counts")
    add_export_arguments(export)
    export.set_defaults(func=cmd_export)

    check = sub.add_parser("check", help="exit 0 when Qdrant and Redis (as configured) answer (healthcheck)")
    check.set_defaults(func=cmd_check)

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
        return fail(exc.message, 2)
    except MusicrecError as exc:  # e.g. no room left on the store's disk: one line, no trace
        return fail(exc.message)
    except KeyboardInterrupt:
        return fail("interrupted", 130)
