"""`musicrec` command line: serve, ingest, prune, worker, export, check, quality, bench, reindex. The parser and the
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
from service.cli.ingest import cmd_ingest, cmd_prune  # noqa: E402
from service.cli.reindex import cmd_reindex  # noqa: E402
from service.cli.serve import cmd_serve, cmd_worker  # noqa: E402
from service.cli.tools import cmd_bench, cmd_quality  # noqa: E402
from service.errors import ConfigError, MusicrecError  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.sync.jobs import QUEUES  # noqa: E402


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every option's default in its help (unless the help already says it, or there is none to say),
    and the environment epilog kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text.lower() or action.default in (None, False, argparse.SUPPRESS) or action.default == set():
            return text
        return super()._get_help_string(action)


# what each variable is for, as `--help` lists it (README "Configuration" has the same table)
ENVIRONMENT = {
    "MUSICREC_DATA_DIR": "the embedded store's folder (default: the user data dir, e.g. ~/.local/share/musicrec)",
    "MUSICREC_API_KEYS": "comma-separated API keys (`ingest` sends the first to a running server)",
    "MUSICREC_AUTH": "`disabled` to serve without keys (default: required)",
    "MUSICREC_CORS_ORIGINS": "comma-separated origins allowed by CORS, or * (default: CORS off)",
    "QDRANT_URL": "a Qdrant server instead of the embedded store",
    "QDRANT_API_KEY": "the Qdrant server's key",
    "MUSICREC_QDRANT_AUTH": "`required`: refuse a QDRANT_URL without QDRANT_API_KEY (default: optional)",
    "REDIS_URL": "Redis for the job queue and counters (default: in-process)",
    "MUSICREC_REDIS_PREFIX": "prefix of every Redis key and queue (default: musicrec)",
    "MUSICREC_BROKER_HEARTBEAT_MS": "how long a dead worker's messages wait for another (default: 60000)",
    "MUSICREC_SPOTIFY_API_URL": "the Spotify Web API (default: https://api.spotify.com/v1)",
    "MUSICREC_YOUTUBE_API_URL": "the YouTube Data API (default: https://www.googleapis.com)",
    "MUSICREC_YOUTUBE_API_KEYS": "comma-separated YouTube Data API keys",
    "MUSICREC_MEDIA_URL_TEMPLATE": "where a matched video's audio is fetched from",
    "MUSICREC_MAX_TRACK_SECONDS": "longer tracks are skipped (default: 14400 = 4 h)",
    "MUSICREC_ANALYSIS_TIMEOUT_S": "a file's analysis taking longer fails (default: 120)",
    "MUSICREC_EMBEDDING": "0: DSP features only, no learned embedding (faster analysis; default: 1)",
    "MUSICREC_MIN_FREE_MB": "the embedded store refuses writes with less free disk (default: 256)",
    "MUSICREC_FLUSH_INTERVAL_S": "how often the embedded store flushes to disk (default: 1)",
}
_STORE = ["MUSICREC_DATA_DIR", "QDRANT_URL", "QDRANT_API_KEY", "MUSICREC_QDRANT_AUTH"]
_EMBEDDED = ["MUSICREC_MIN_FREE_MB", "MUSICREC_FLUSH_INTERVAL_S"]
_ANALYSIS = ["MUSICREC_MAX_TRACK_SECONDS", "MUSICREC_ANALYSIS_TIMEOUT_S", "MUSICREC_EMBEDDING"]
_SYNC = [
    "REDIS_URL",
    "MUSICREC_REDIS_PREFIX",
    "MUSICREC_BROKER_HEARTBEAT_MS",
    "MUSICREC_SPOTIFY_API_URL",
    "MUSICREC_YOUTUBE_API_URL",
    "MUSICREC_YOUTUBE_API_KEYS",
    "MUSICREC_MEDIA_URL_TEMPLATE",
]
COMMAND_ENVIRONMENT = {
    "serve": [*_STORE, "MUSICREC_API_KEYS", "MUSICREC_AUTH", "MUSICREC_CORS_ORIGINS", *_SYNC, *_ANALYSIS, *_EMBEDDED],
    "ingest": [*_STORE, "MUSICREC_API_KEYS", *_ANALYSIS, *_EMBEDDED],
    "prune": [*_STORE, "MUSICREC_API_KEYS", *_EMBEDDED],
    "quality": [],
    "bench": [],
    "worker": [*_STORE[1:], *_SYNC, *_ANALYSIS],
    "export": [*_STORE, *_EMBEDDED],
    "check": ["QDRANT_URL", "QDRANT_API_KEY", "MUSICREC_QDRANT_AUTH", "REDIS_URL"],
    "reindex": [*_STORE, *_ANALYSIS, "MUSICREC_MEDIA_URL_TEMPLATE"],
}


def _epilog(command: str) -> str:
    names = COMMAND_ENVIRONMENT[command]
    if not names:
        return "environment: none read"
    width = max(map(len, names))
    return "environment:\n" + "\n".join(f"  {name:<{width}}  {ENVIRONMENT[name]}" for name in names)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version("musicrec")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="musicrec", description="Music recommendations from audio features.", formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, **kwargs) -> argparse.ArgumentParser:
        return sub.add_parser(name, formatter_class=HelpFormatter, epilog=_epilog(name), **kwargs)

    serve = add("serve", help="run the HTTP API (embedded store unless QDRANT_URL is set)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument("--worker-threads", type=int, default=4, help="in-process sync workers (0 = none)")
    serve.set_defaults(func=cmd_serve)

    ing = add(
        "ingest",
        help="analyse local audio files/folders into the store",
        description="Analyse audio files and folders (recursive, links to folders followed) into the store. Files "
        "already stored are not analysed again: a moved file's path, new tags and a new --genre update its track. "
        "Untagged album/artist come from the folders (Artist/Album/file). Tracks of any length up to "
        "MUSICREC_MAX_TRACK_SECONDS (4 h) cost the same: only three 10 s windows are decoded.",
    )
    ing.add_argument("paths", nargs="+", metavar="PATH")
    ing.add_argument("--genre", help="add this genre to every file (stored files too)")
    ing.add_argument("--user", help="also add the files to this user's library (reason `ingested`)")
    ing.add_argument("--json", action="store_true", help="one JSON line per file on stdout")
    ing.add_argument("--workers", type=int, default=None, help="analysis processes (default: all cores)")
    ing.add_argument(
        "--retry-failed",
        action="store_true",
        help="try again files that failed before and have not changed since (default: skipped, and counted)",
    )
    ing.set_defaults(func=cmd_ingest)

    prn = add("prune", help="remove the tracks whose local files are gone (and their library entries)")
    prn.add_argument("roots", nargs="+", metavar="ROOT", help="only tracks whose file was under these folders")
    prn.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    prn.set_defaults(func=cmd_prune)

    qual = add("quality", help="offline recommendation-quality report on a folder of albums")
    qual.add_argument("folder", type=Path, help="albums as sub-folders (or album tags)")
    qual.add_argument("--users", type=int, default=40, help="simulated users")
    qual.add_argument("--seed", type=int, default=0, help="random seed of the simulation")
    qual.add_argument("--no-reference", action="store_true", help="skip the replaced pipeline (slow)")
    qual.add_argument(
        "--held-out",
        default="",
        metavar="ALBUM,...",
        help="albums scored as a separate catalogue that no tuning decision looks at (default: none)",
    )
    qual.add_argument("--json", action="store_true")
    qual.set_defaults(func=cmd_quality)

    from service.tools.bench.args import add_arguments as add_bench_arguments

    bench = add("bench", help="measure analysis, ingest, query and HTTP speed against references")
    add_bench_arguments(bench)
    bench.set_defaults(func=cmd_bench)

    worker = add("worker", help="Dramatiq worker processes (scaled: needs REDIS_URL and QDRANT_URL)")
    worker.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="worker processes")
    worker.add_argument("--threads", type=int, default=4, help="threads per process")
    worker.add_argument(
        "--queues",
        default=",".join(QUEUES),
        help="comma-separated queues to consume (spotify = library reads, youtube = matching, cpu = audio "
        "analysis): run one worker service per family to size them apart",
    )
    worker.set_defaults(func=cmd_worker)

    export = add("export", help="copy the embedded store into a Qdrant server and verify the counts")
    add_export_arguments(export)
    export.set_defaults(func=cmd_export)

    check = add("check", help="exit 0 when Qdrant and Redis (as configured) answer (healthcheck)")
    check.set_defaults(func=cmd_check)

    reindex = add(
        "reindex", help="rebuild the store's collections with this release's vectors (resumable), then swap them in"
    )
    reindex.add_argument("--workers", type=int, default=None, help="analysis processes (default: all cores)")
    reindex.add_argument("--batch", type=int, default=64, help="tracks analysed and stored per step")
    reindex.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    reindex.set_defaults(func=cmd_reindex)
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
