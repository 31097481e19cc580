"""`musicrec quality` and `musicrec bench`: the offline tools (service.tools)."""

from __future__ import annotations

import argparse
import json
import sys

from service.cli.common import fail
from service.settings import Settings


def cmd_quality(args: argparse.Namespace, settings: Settings) -> int:
    from service.tools.quality import render, run

    if not args.folder.is_dir():
        return fail(f"{args.folder} is not a folder", 2)
    print("musicrec: analysing (the replaced pipeline's reference takes ~2 s per track)...", file=sys.stderr)
    report = run(args.folder, with_reference=not args.no_reference, n_users=args.users, seed=args.seed)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from service.tools.bench import main as bench

    return bench.main(args)
