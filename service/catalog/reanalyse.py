"""`musicrec reindex`, the analysis side: read each track's audio again and hand the results to the store side
(`reindex.ReindexSteps` in this process, or a running server's through HTTP), page by page."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol

from service.catalog.pool import worker_pool
from service.catalog.reindex import PAGE, ReindexReport, ReindexSteps
from service.errors import AudioError, MusicrecError
from service.store.base import VectorStore

REMOTE = Callable[[dict[str, Any]], list]  # a Spotify track's source → its decoded analysis windows


class Target(Protocol):
    """Where the results go: the store side of a reindex (here, or in the server that owns the store)."""

    report: ReindexReport

    def needed(self) -> bool: ...

    def begin(self) -> None: ...

    def pending(self, cursor: str | None, size: int = PAGE) -> tuple[list[dict[str, Any]], str | None]: ...

    def store_results(self, results: list[tuple[str, dict[str, Any]]]) -> None: ...

    def finish(self) -> ReindexReport: ...


def analyse_source(path: str, max_seconds: float, embedding: bool) -> dict[str, Any]:
    """A file track's analysed vectors and styles (runs in a worker process); {"error": ...} when unreadable."""
    from service.analysis import decode
    from service.analysis.track import analyse_track

    try:
        if not os.path.isfile(path):
            return {"error": "the file is gone"}
        decoded = decode.decode_for_analysis(path, max_seconds=max_seconds)
        analysis = analyse_track(decoded.windows, decode.SAMPLE_RATE, embedding=embedding)
    except AudioError as exc:
        return {"error": exc.message}
    except Exception as exc:  # an exotic file must not end the reindex
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"vectors": analysis.vectors, "styles": analysis.tags}


def _analyse_args(args: tuple[str, float, bool]) -> dict[str, Any]:
    return analyse_source(*args)


class Reanalyser:
    def __init__(
        self,
        *,
        embedding: bool = True,
        max_seconds: float = 14_400.0,
        workers: int | None = None,
        remote: REMOTE | None = None,
    ):
        self.embedding = embedding
        self.max_seconds = max_seconds
        self.workers = workers or os.cpu_count() or 1
        self.remote = remote
        self.pool: ProcessPoolExecutor | None = None

    def analyse(self, sources: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        files = [s for s in sources if s.get("kind") == "file"]
        results: dict[str, dict[str, Any]] = {}
        if files:
            if self.pool is None:
                self.pool = worker_pool(self.workers)
            jobs = [(str(s.get("path") or ""), self.max_seconds, self.embedding) for s in files]
            for source, result in zip(files, self.pool.map(_analyse_args, jobs), strict=True):
                results[source["id"]] = result
        for source in sources:
            if source["id"] not in results:
                results[source["id"]] = self._remote(source)
        return [(s["id"], results[s["id"]]) for s in sources]

    def _remote(self, source: dict[str, Any]) -> dict[str, Any]:
        if source.get("kind") != "spotify" or not source.get("youtubeId"):
            return {"error": "no source to analyse again (no file path or matched video)"}
        if self.remote is None:
            return {"error": "Spotify tracks need the media fetcher (run reindex from the CLI)"}
        from service.analysis.track import analyse_track

        try:
            analysis = analyse_track(self.remote(source), embedding=self.embedding)
        except MusicrecError as exc:
            return {"error": exc.message}
        return {"vectors": analysis.vectors, "styles": analysis.tags}

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def run(self, target: Target, page: int = PAGE) -> ReindexReport:
        """Every pending track of `target` analysed and handed over, then the target finished (swapped)."""
        if not target.needed():
            return target.report
        target.begin()
        cursor = None
        try:
            while True:
                sources, cursor = target.pending(cursor, page)
                if sources:
                    target.store_results(self.analyse(sources))
                if cursor is None:
                    break
        finally:
            self.close()
        return target.finish()


class Reindexer:
    """The whole reindex in this process, on a store it has open (the CLI with no server running; tests)."""

    def __init__(
        self,
        store: VectorStore,
        *,
        embedding: bool = True,
        max_seconds: float = 14_400.0,
        workers: int | None = None,
        remote: REMOTE | None = None,
        on_progress: Callable[[str, int, int], None] | None = None,
        page: int = PAGE,
    ):
        self.steps = ReindexSteps(store, embedding=embedding, on_progress=on_progress)
        self.analyser = Reanalyser(embedding=embedding, max_seconds=max_seconds, workers=workers, remote=remote)
        self.page = page

    @property
    def report(self) -> ReindexReport:
        return self.steps.report

    def needed(self) -> bool:
        return self.steps.needed()

    def run(self) -> ReindexReport:
        return self.analyser.run(self.steps, self.page)
