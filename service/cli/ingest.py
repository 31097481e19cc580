"""`musicrec ingest` and `musicrec prune`: local files into the store (or into the server that owns it), and the
tracks of files that are gone out of it."""

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
    from service.catalog.failures import FailureMemory
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
            failures=FailureMemory.in_data_dir(settings.data_dir),
            retry_failed=args.retry_failed,
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
    for folder in summary.empty:
        print(f"musicrec: no audio files in {folder}", file=sys.stderr)
    rate = summary.total / summary.seconds * 60 if summary.seconds else 0.0
    print(
        f"musicrec: {summary.total} file(s) in {summary.seconds:.1f} s ({rate:.0f}/min): "
        f"{summary.ok} ok, {summary.updated} updated, {summary.skipped} skipped, {summary.failed} failed "
        f"({_where(settings, store)})",
        file=sys.stderr,
    )
    if summary.known_failures:
        print(
            f"musicrec: {summary.known_failures} known failures skipped (unchanged since they failed; "
            "--retry-failed tries them again)",
            file=sys.stderr,
        )
    return 1 if summary.failed else 0


def _where(settings: Settings, store) -> str:
    if store is None:
        return f"via the server owning {settings.data_dir.absolute()}"
    if settings.embedded:
        return f"into {settings.data_dir.absolute()}"
    return f"into {without_credentials(settings.qdrant_url or '')}"


def cmd_prune(args: argparse.Namespace, settings: Settings) -> int:
    from service.catalog.failures import FailureMemory
    from service.catalog.ingest import prune

    missing = [p for p in args.roots if not Path(p).is_dir()]
    if missing:  # an unmounted disk or a typo must not read as "every file under it is gone"
        return fail(
            f"no such folder: {', '.join(missing)} (to drop the tracks of a folder that is gone, name the folder "
            "that held it)",
            2,
        )
    try:
        sink, close, store = _open_sink(settings)
    except MusicrecError as exc:
        return fail(exc.message)
    try:
        result = prune(args.roots, sink, dry_run=args.dry_run)
    except MusicrecError as exc:
        return fail(exc.message)
    finally:
        close()
    if not args.dry_run:
        memory = FailureMemory.in_data_dir(settings.data_dir)
        memory.forget_under([Path(r).expanduser().absolute().resolve() for r in args.roots])
        memory.save()
    verb = "would remove" if args.dry_run else "removed"
    for path in result.paths:
        print(f"{verb}: {path}")
    entries = (
        ""
        if args.dry_run
        else f" and {result.library_entries} library entr{'y' if result.library_entries == 1 else 'ies'}"
    )
    print(
        f"musicrec: {result.checked} track(s) of files under {', '.join(args.roots)}: {verb} {result.tracks} whose "
        f"file is gone{entries} ({_where(settings, store).replace('into ', 'from ')})",
        file=sys.stderr,
    )
    return 0
