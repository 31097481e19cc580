"""Processes that must not outlive their parent: the ingest's forkserver and analysis workers.

Without this, `kill -9` of `musicrec ingest` leaves its forkserver and workers running for minutes (workers block
on a queue whose write end they hold themselves). On Linux, prctl(PR_SET_PDEATHSIG, SIGKILL) has the kernel kill
the process as soon as its parent exits. The signal is tied to the parent *thread* that forked it, so the pool is
started from a thread that lives as long as the ingest (the main thread in `musicrec ingest`). Elsewhere this is
a no-op.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PARENT_ENV = "MUSICREC_POOL_PARENT_PID"  # set by the pool's creator, read by the forkserver it starts


def die_with_parent(expected_parent: int | None = None) -> bool:
    """Ask to be SIGKILLed when the parent exits; exit now if it already has (`expected_parent` is gone). Returns
    whether the tie is in place."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if expected_parent is not None and os.getppid() != expected_parent:
        os._exit(1)  # the parent died before the tie was made: nobody will ever collect our work
    return True


def tie_forkserver() -> None:
    """Run at import in the forkserver (it is first in the preload list): die with the process that started it."""
    raw = os.environ.get(PARENT_ENV, "")
    die_with_parent(int(raw) if raw.isdigit() else None)
