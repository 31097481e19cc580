"""An analysis that hangs the way a real one does on a FIFO with no writer (blocked in open(2), where no Python
signal handler runs): for the ingest time-limit test. The analysis processes import it by name (tests/ is on
their sys.path)."""

from __future__ import annotations

from pathlib import Path

from service.catalog.ingest import _analyse_safely


def analyse_or_hang(path: str, sha256: str, max_seconds: float, genre: str | None, embedding: bool = True):
    fifo = Path(path + ".fifo")
    if fifo.exists():
        with open(fifo, "rb"):  # no writer, ever
            pass
    return _analyse_safely(path, sha256, max_seconds, genre, embedding)
