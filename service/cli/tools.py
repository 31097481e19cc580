"""`musicrec quality` and `musicrec bench`: the offline tools (service.tools)."""

from __future__ import annotations

import argparse
import json
import sys

from service.cli.common import fail
from service.settings import Settings


def _reference_missing(command: str, without: str) -> int | None:
    """Exit status 2 and one line saying what to install, where the replaced pipeline's reference is wanted and
    librosa (the `bench` extra) is not installed; None when it is."""
    from service.tools import reference

    if reference.available():
        return None
    return fail(
        f"`musicrec {command}` compares with the replaced pipeline, which needs librosa: "
        f"pip install '{reference.EXTRA}' (or run it with {without})",
        2,
    )


def cmd_quality(args: argparse.Namespace, settings: Settings) -> int:
    if not args.folder.is_dir():
        return fail(f"{args.folder} is not a folder", 2)
    if not args.no_reference and (missing := _reference_missing("quality", "--no-reference")) is not None:
        return missing
    from service.tools.quality import render, run, stderr_progress

    if not args.no_reference:
        print("musicrec: analysing (the replaced pipeline's reference takes ~2 s per track)...", file=sys.stderr)
    held_out = frozenset(a.strip() for a in args.held_out.split(",") if a.strip())
    report = run(
        args.folder,
        with_reference=not args.no_reference,
        n_users=args.users,
        seed=args.seed,
        held_out=held_out,
        on_progress=stderr_progress,
    )
    for warning in report["warnings"]:
        print(f"musicrec: warning: {warning}", file=sys.stderr)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    if "analysis" not in args.skip and (missing := _reference_missing("bench", "--skip analysis")) is not None:
        return missing
    from service.tools.bench import main as bench

    return bench.main(args)
