"""`musicrec ingest`: local files into the store, or into the server that owns it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from service.cli.common import SERVER_FILE, fail
from service.errors import MusicrecError, StoreLocked
from service.progress import Progress
from service.settings import Settings, without_credentials


def _open_sink(settings: Settings):
    """The store itself, or — while `musicrec serve` owns the embedded store — that server."""
    from service.catalog.sinks import HttpSink, StoreSink
    from service.catalog.vector import live_vectors
    from service.store import open_store

    try:
        store = open_store(settings)
        try:
            vectors = live_vectors(store, embedding=settings.embedding)
        except BaseException:
            store.close()
            raise
        return StoreSink(store, vectors), store.close, store
    except StoreLocked as exc:
        server_file = settings.data_dir / SERVER_FILE
        try:
            url = json.loads(server_file.read_text())["url"]
        except (OSError, ValueError, KeyError):
            raise MusicrecError(f"{exc.message}; stop it or use another MUSICREC_DATA_DIR") from None
        sink = HttpSink(url, settings.api_keys[0] if settings.api_keys else None, settings.embedding)
        sink.check()
        print(f"musicrec: the store is owned by the server at {url}; handing the tracks to it", file=sys.stderr)
        return sink, sink.close, None


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from service.catalog.ingest import ingest

    missing = [p for p in args.paths if not Path(p).exists() and not Path(p).is_symlink()]
    if missing:  # a typo, not a bad file: say so before anything (a store) is created
        return fail(f"no such file or folder: {', '.join(missing)}", 2)
    try:
        sink, close, store = _open_sink(settings)
    except MusicrecError as exc:
        return fail(exc.message)
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
            timeout_s=settings.analysis_timeout_s,
            on_result=on_result,
        )
        if store is not None and summary.ok and hasattr(store, "optimize"):
            store.optimize()  # build the HNSW index / merge segments for the new points
    except MusicrecError as exc:
        progress.close()
        return fail(exc.message)
    finally:
        close()
    progress.close()
    if not args.json:
        for r in summary.results:
            if r.status == "failed":
                print(f"failed: {r.path}: {r.error}", file=sys.stderr)
    rate = summary.total / summary.seconds * 60 if summary.seconds else 0.0
    if store is None:
        where = f"via the server owning {settings.data_dir.absolute()}"
    elif settings.embedded:
        where = f"into {settings.data_dir.absolute()}"
    else:
        where = f"into {without_credentials(settings.qdrant_url or '')}"
    print(
        f"musicrec: {summary.total} file(s) in {summary.seconds:.1f} s ({rate:.0f}/min): "
        f"{summary.ok} ok, {summary.skipped} skipped, {summary.failed} failed ({where})",
        file=sys.stderr,
    )
    return 1 if summary.failed else 0
