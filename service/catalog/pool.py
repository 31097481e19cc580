"""The analysis processes of an ingest: forked from a forkserver that has already imported numpy, PyAV and the
extractor (each worker starts in milliseconds), tied to the ingest's life, and replaceable when one is stuck."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from service.catalog.lifeline import PARENT_ENV, die_with_parent

PRELOAD = [
    "service.catalog.forkserver_tie",  # first: the forkserver dies with its parent even while importing the rest
    "service.analysis.features",
    "service.analysis.decode",
    "service.catalog.ingest",
]


def _init_worker() -> None:
    """Die with the forkserver (which dies with the ingest); one BLAS thread per worker (the pool already uses every
    core); then pay one-off costs (filter banks, FFT plans) once per worker, not on the first file."""
    die_with_parent()
    parent = multiprocessing.parent_process()
    if parent is not None and not parent.is_alive():
        os._exit(1)  # the ingest is already gone

    import numpy as np
    from threadpoolctl import threadpool_limits

    from service.analysis import features

    # numpy is loaded already (forkserver preload), so an environment variable would come too late
    threadpool_limits(limits=1)
    rng = np.random.default_rng(0)
    features.analyse([rng.normal(scale=0.1, size=features.SAMPLE_RATE * 4).astype(np.float32)])


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` analysis processes. Start it from a thread that lives as long as the ingest."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    os.environ[PARENT_ENV] = str(os.getpid())  # for the forkserver, if this call starts it
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker)


def kill_pool(pool: ProcessPoolExecutor) -> None:
    """SIGKILL every process of the pool (a stuck analysis cannot be cancelled otherwise) and reap them. The pool is
    broken afterwards: its unfinished futures fail with BrokenProcessPool."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):  # no public API for this
        proc.kill()
    pool.shutdown(wait=True, cancel_futures=True)
