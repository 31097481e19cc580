"""What the subcommands share: how they fail, and the file `musicrec serve` leaves for `musicrec ingest`."""

from __future__ import annotations

import sys

SERVER_FILE = "server.json"  # in the data dir while `musicrec serve` owns the embedded store


def fail(message: str, code: int = 1) -> int:
    """One line on stderr (`musicrec: message`); returns the exit status."""
    print(f"musicrec: {message}", file=sys.stderr)
    return code
