"""`musicrec export --to QDRANT_URL`: the embedded store (MUSICREC_DATA_DIR) copied into a Qdrant server, counts
verified. Moving from embedded to the scaled deployment; safe to run again (points are upserted by id)."""

from __future__ import annotations

import argparse
import sys
import time

from service.cli.common import fail
from service.errors import MusicrecError, StoreLocked
from service.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--to", metavar="QDRANT_URL", help="the Qdrant server (default: QDRANT_URL); key: QDRANT_API_KEY"
    )
    parser.add_argument("--batch", type=int, default=256, help="points per upsert")


class _Progress:
    """`tracks 1200/5000` redrawn on a terminal, a line every 5 s otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, collection: str, copied: int, total: int) -> None:
        now = time.monotonic()
        if copied < total and now - self.last < (0.1 if self.tty else 5.0):
            return
        self.last = now
        line = f"musicrec: {collection} {copied}/{total}"
        sys.stderr.write(f"\r{line} " if self.tty else line + "\n")
        if self.tty and copied >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from qdrant_client.http.exceptions import UnexpectedResponse

    from service.store.edge import EdgeStore
    from service.store.export import export_store
    from service.store.server import ServerStore

    target_url = args.to or settings.qdrant_url
    if not target_url:
        return fail("say where to: musicrec export --to http://HOST:6333 (or set QDRANT_URL)", 2)
    if args.batch < 1:
        return fail("--batch must be at least 1", 2)
    if not (settings.data_dir / "qdrant").is_dir():
        return fail(f"no embedded store in {settings.data_dir} (set MUSICREC_DATA_DIR)", 2)
    source = EdgeStore(settings.data_dir, min_free_mb=0)
    target = None
    try:
        source.ensure_collections()
        target = ServerStore(target_url, settings.qdrant_api_key)
        target.ensure_collections()
        results = export_store(source, target, batch=args.batch, on_progress=_Progress())
    except StoreLocked as exc:
        return fail(f"{exc.message}; stop it first: export reads the store directly")
    except UnexpectedResponse as exc:
        return fail(f"Qdrant at {target_url} answered {exc.status_code}: {exc.reason_phrase} (check QDRANT_API_KEY)")
    except MusicrecError as exc:
        return fail(f"{exc.message} ({target_url})")
    finally:
        source.close()
        if target is not None:
            target.close()
    for r in results:
        state = "ok" if r.ok else "MISMATCH"
        print(f"{r.collection}: {r.source} in the embedded store, {r.copied} copied, {r.target} on the server: {state}")
    bad = [r.collection for r in results if not r.ok]
    if bad:
        return fail(
            f"counts differ for {', '.join(bad)}: was the server's collection not empty, or the store written to "
            "during the export? Run it again against an empty server"
        )
    return 0
