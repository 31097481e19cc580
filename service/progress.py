"""Progress on stderr for the long-running commands (`musicrec ingest`, `musicrec bench`).

Two ways to show it, one clock: `progress("message")` prints a line stamped with the seconds since the start
(the bench's steps); `progress.update(status, total)` redraws one done/total line with counts, rate and ETA
(ingest's files; drawn only when `bar` is on, i.e. on a terminal).
"""

from __future__ import annotations

import sys
import time

STATUSES = ("ok", "updated", "skipped", "failed")


class Progress:
    def __init__(self, bar: bool = False):
        self.bar = bar
        self.started = time.monotonic()
        self.counts = dict.fromkeys(STATUSES, 0)
        self.last_draw = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, message: str) -> None:
        """One line: `[  12.3s] message`."""
        print(f"[{self.elapsed():6.1f}s] {message}", file=sys.stderr, flush=True)

    def update(self, status: str, total: int) -> None:
        """Count one finished item and redraw the bar (at most every 0.1 s, and always for the last item)."""
        self.counts[status] = self.counts.get(status, 0) + 1
        now = time.monotonic()
        done = sum(self.counts.values())
        if not self.bar or (now - self.last_draw < 0.1 and done < total):
            return
        self.last_draw = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 else 0
        width = 28
        filled = int(width * done / max(total, 1))
        bar = "#" * filled + "." * (width - filled)
        c = self.counts
        sys.stderr.write(
            f"\r[{bar}] {done}/{total} ok {c['ok']} updated {c['updated']} skipped {c['skipped']} failed {c['failed']}"
            f"  {rate * 60:.0f} files/min  ETA {int(eta // 60)}:{int(eta % 60):02d} "
        )
        sys.stderr.flush()

    def close(self) -> None:
        """End the bar's line (nothing to do when no bar was drawn)."""
        if self.bar:
            sys.stderr.write("\n")
