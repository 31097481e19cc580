"""`musicrec reindex`: rebuild the store's collections with this release's vectors (service.catalog.reindex)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile

from service.cli.common import fail
from service.errors import MusicrecError, StoreLocked
from service.progress import Progress
from service.settings import Settings


def _remote(settings: Settings):
    """Spotify-sourced tracks are analysed again from their matched video's audio, fetched by range requests."""
    from service.sync.media import fetch_for_analysis

    def windows(payload: dict) -> list:
        with tempfile.TemporaryDirectory() as tmp:
            fetched = fetch_for_analysis(
                payload["source"]["youtubeId"],
                settings.media_url_template,
                max_seconds=settings.max_track_seconds,
                tmp_dir=tmp,
            )
        return fetched.decoded.windows

    return windows


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    from service.catalog.reindex import Reindexer
    from service.store import open_store

    try:
        store = open_store(settings)
    except StoreLocked as exc:
        return fail(f"{exc.message}: stop it, run `musicrec reindex`, then start it again")
    except MusicrecError as exc:
        return fail(exc.message)
    progress = Progress()
    try:
        reindexer = Reindexer(
            store,
            embedding=settings.embedding,
            max_seconds=settings.max_track_seconds,
            workers=args.workers,
            page=args.batch,
            remote=_remote(settings),
            on_progress=lambda stage, done, total: progress(f"{stage}: {done}/{total}"),
        )
        if not reindexer.needed():
            print(
                f"musicrec: the store already uses {', '.join(reindexer.report.target.values())}: nothing to do",
                file=sys.stderr,
            )
            return 0
        report = reindexer.run()
    except MusicrecError as exc:
        return fail(exc.message)
    finally:
        store.close()
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
