"""`musicrec reindex`: rebuild the store's collections with this release's vectors (service.catalog.reindex)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile

from service.cli.common import SERVER_FILE, fail
from service.errors import MusicrecError, StoreLocked
from service.progress import Progress
from service.settings import Settings


def _remote(settings: Settings):
    """Spotify-sourced tracks are analysed again from their matched video's audio, fetched by range requests."""
    from service.sync.media import fetch_for_analysis

    def windows(source: dict) -> list:
        with tempfile.TemporaryDirectory() as tmp:
            fetched = fetch_for_analysis(
                source["youtubeId"], settings.media_url_template, max_seconds=settings.max_track_seconds, tmp_dir=tmp
            )
        return fetched.decoded.windows

    return windows


def _target(settings: Settings, on_progress):
    """The store side: the store itself, or — while `musicrec serve` owns the embedded store — that server.
    Returns (target, close, where)."""
    from service.catalog.reindex import ReindexSteps
    from service.catalog.sinks import HttpReindexTarget, HttpSink
    from service.store import open_store

    try:
        store = open_store(settings)
    except StoreLocked as exc:
        try:
            url = json.loads((settings.data_dir / SERVER_FILE).read_text())["url"]
        except (OSError, ValueError, KeyError):
            raise MusicrecError(f"{exc.message}: stop it, or use another MUSICREC_DATA_DIR") from None
        sink = HttpSink(url, settings.api_keys[0] if settings.api_keys else None, settings.embedding)
        print(f"musicrec: the store is owned by the server at {url}: it reindexes while it answers", file=sys.stderr)
        return HttpReindexTarget(sink), sink.close, url
    return ReindexSteps(store, embedding=settings.embedding, on_progress=on_progress), store.close, None


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    from service.catalog.reanalyse import Reanalyser

    progress = Progress()
    try:
        target, close, where = _target(settings, lambda stage, done, total: progress(f"{stage}: {done}/{total}"))
    except MusicrecError as exc:
        return fail(exc.message)
    try:
        if not target.needed():
            print(
                f"musicrec: the store already uses {', '.join(target.report.target.values())}: nothing to do",
                file=sys.stderr,
            )
            return 0
        embedding = getattr(target, "embedding", settings.embedding)  # a server decides with its own setting
        analyser = Reanalyser(
            embedding=embedding, max_seconds=settings.max_track_seconds, workers=args.workers, remote=_remote(settings)
        )
        report = analyser.run(target if where is None else _Announcing(target, progress), args.batch)
    except MusicrecError as exc:
        return fail(exc.message)
    finally:
        close()
    if args.json:
        print(json.dumps(report.as_json()))
    for kept in report.kept_dsp_only:
        print(f"kept DSP features only: {kept['title']} ({kept['trackId']}): {kept['reason']}", file=sys.stderr)
    print(
        f"musicrec: reindexed {report.tracks} track(s) into {report.target['tracks']} ({report.analysed} analysed, "
        f"{report.resumed} from an earlier run, {len(report.kept_dsp_only)} kept DSP features only), "
        f"{report.library} library entries, {report.users} user(s); aliases swapped from "
        f"{', '.join(report.source.values())} (kept: delete them when you no longer need them)",
        file=sys.stderr,
    )
    return 0


class _Announcing:
    """A target whose pages are counted on stderr (the server's progress is not ours to print)."""

    def __init__(self, target, progress: Progress):
        self.target = target
        self.progress = progress
        self.report = target.report
        self.done = 0

    def needed(self) -> bool:
        return self.target.needed()

    def begin(self) -> None:
        self.target.begin()

    def pending(self, cursor, size):
        sources, next_cursor = self.target.pending(cursor, size)
        return sources, next_cursor

    def store_results(self, results) -> None:
        self.target.store_results(results)
        self.done += len(results)
        self.progress(f"tracks analysed: {self.done}")

    def finish(self):
        self.report = self.target.finish()
        return self.report
