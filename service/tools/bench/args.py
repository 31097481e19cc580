"""`musicrec bench` options (kept apart from service.tools.bench.main so building the CLI parser stays cheap)."""

from __future__ import annotations

import argparse

SECTIONS = ("analysis", "ingest", "queries", "users", "http")


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("sizes are whole numbers separated by commas, e.g. 10000,100000") from None
    if not sizes or any(s < 100 for s in sizes):
        raise argparse.ArgumentTypeError("each size must be at least 100 tracks")
    return sorted(set(sizes))


def _sections(text: str) -> set[str]:
    names = {part.strip() for part in text.split(",") if part.strip()}
    unknown = names - set(SECTIONS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown section(s) {', '.join(sorted(unknown))}; use {', '.join(SECTIONS)}")
    return names


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError("must be positive")
        return value

    return parse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--audio",
        metavar="DIR",
        help="a folder of real music to analyse and ingest (default: generated audio); "
        "its analysed vectors also shape the synthetic catalogue of the query section",
    )
    p.add_argument(
        "--tracks",
        type=_positive(int),
        default=10,
        help="files analysed side by side by musicrec and the reference pipeline (default 10); "
        "without --audio, how many tracks are generated",
    )
    p.add_argument(
        "--track-seconds",
        type=_positive(float),
        default=180.0,
        help="length of each generated track (default 180 s; only without --audio)",
    )
    p.add_argument(
        "--ingest-files",
        type=_positive(int),
        default=100,
        help="at most this many files of --audio go through the ingest pipeline (default 100)",
    )
    p.add_argument(
        "--sizes",
        type=_sizes,
        default=[10_000, 100_000],
        help="catalogue sizes for the store/query section, comma separated (default 10000,100000)",
    )
    p.add_argument("--queries", type=_positive(int), default=500, help="timed queries per kind and size (default 500)")
    p.add_argument("--batch", type=_positive(int), default=2000, help="points per upsert batch (default 2000)")
    p.add_argument("--users", type=int, default=5, help="users with a library in the catalogue (default 5)")
    p.add_argument(
        "--http-seconds",
        type=_positive(float),
        default=10.0,
        help="duration of the HTTP load at the smallest size (default 10)",
    )
    p.add_argument("--http-clients", type=_positive(int), default=8, help="concurrent HTTP clients (default 8)")
    p.add_argument(
        "--memory-queries",
        type=_positive(int),
        default=300,
        help="HTTP queries sent to the server at the largest size before its peak RSS is read (default 300)",
    )
    p.add_argument("--skip", type=_sections, default=set(), help=f"sections to leave out: {', '.join(SECTIONS)}")
    p.add_argument("--seed", type=int, default=0, help="random seed of the synthetic data (default 0)")
    p.add_argument("--tmp", metavar="DIR", help="where the temporary stores and audio go (default: the system's)")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout instead of tables")
