"""Local files → analysed tracks: discover, hash, skip what is stored, analyse on all cores, store.

Runs in the CLI (and later in workers); never imported by the API. Analysis happens in worker processes
(pool.py); hashing and storing stay in the parent. Each file's analysis has a time limit: a stuck one is
reported failed and the pool's processes are replaced (the other files in flight are analysed again).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from service.catalog.files import NotRegularFile, discover, file_sha256
from service.catalog.pool import kill_pool, worker_pool
from service.catalog.tracks import file_track_payload
from service.errors import AudioError, DiskFull
from service.ids import file_track_id
from service.store.base import PointData

__all__ = ["FileResult", "Summary", "Sink", "discover", "ingest", "worker_pool"]

BATCH = 32
POLL_S = 0.25  # how often stuck analyses are looked for


@dataclass
class FileResult:
    path: str
    track_id: str | None
    status: str  # "ok" | "skipped" | "failed"
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "trackId": self.track_id, "status": self.status, "error": self.error}


@dataclass
class Summary:
    ok: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    results: list[FileResult] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.ok + self.skipped + self.failed


class Sink(Protocol):
    """Where analysed tracks go: the store itself, or a running server that owns it."""

    embedding: bool  # whether to compute the learned embedding beside the DSP features

    def existing(self, ids: list[str]) -> set[str]: ...

    def store(self, points: list[PointData], user_id: str | None) -> None: ...

    def link(self, track_ids: list[str], user_id: str) -> None: ...

    def finish(self) -> None: ...


@dataclass
class Analysed:
    path: str
    track_id: str
    payload: dict[str, Any]
    vectors: dict[str, list[float]]  # the analysed ones (vectorset.ANALYSED, or the DSP vector alone)


def analyse_file(path: str, sha256: str, max_seconds: float, genre: str | None, embedding: bool = True) -> Analysed:
    """Decode the analysis windows, extract features (and the embedding), build the Track payload (in a worker)."""
    from service.analysis import decode, features
    from service.analysis.track import analyse_track

    decoded = decode.decode_for_analysis(path, max_seconds=max_seconds)
    analysis = analyse_track(decoded.windows, decode.SAMPLE_RATE, embedding=embedding)
    tags = decoded.tags
    genres = list(dict.fromkeys(([genre] if genre else []) + list(tags.genres)))
    track_id = file_track_id(sha256)
    payload = file_track_payload(
        track_id=track_id,
        path=Path(path),
        sha256=sha256,
        title=tags.title,
        artists=list(tags.artists),
        album=tags.album,
        genres=genres,
        year=tags.year,
        duration_s=decoded.duration_s,
        tempo=analysis.tempo,
        extractor=features.EXTRACTOR,
        version=features.VERSION,
        descriptors=analysis.descriptors,
        styles=analysis.tags,
        vectors=sorted(analysis.vectors),
    )
    return Analysed(path=path, track_id=track_id, payload=payload, vectors=analysis.vectors)


def _analyse_safely(
    path: str, sha256: str, max_seconds: float, genre: str | None, embedding: bool = True
) -> Analysed | FileResult:
    """Worker entry point: every failure becomes a per-file result, never a crash of the run."""
    try:
        return analyse_file(path, sha256, max_seconds, genre, embedding)
    except AudioError as exc:
        return FileResult(path, None, "failed", exc.message)
    except MemoryError:
        return FileResult(path, None, "failed", "out of memory while analysing")
    except Exception as exc:  # a bug or an exotic file must not end the whole ingest
        return FileResult(path, None, "failed", f"analysis failed: {type(exc).__name__}: {exc}")


def _hash(path: Path) -> tuple[Path, str | None, str | None]:
    try:
        return path, file_sha256(path), None
    except NotRegularFile as exc:
        return path, None, str(exc)
    except IsADirectoryError:
        return path, None, "is a folder"
    except OSError as exc:
        return path, None, f"cannot read: {exc.strerror or exc}"


@dataclass
class _Job:
    path: str
    sha256: str
    started: float | None = None  # when the pool handed it to a process (as far as we can see)


class _Run:
    """One ingest run: files flow hash → skip-or-submit → analyse (worker processes) → store in batches."""

    def __init__(self, sink: Sink, user_id: str | None, total: int, on_result, workers: int, options: dict):
        self.sink = sink
        self.user_id = user_id
        self.total = total
        self.on_result = on_result
        self.workers = workers
        self.options = options  # max_seconds, genre, timeout_s, analyse
        self.summary = Summary()
        self.pending_points: list[PointData] = []
        self.pending_results: list[FileResult] = []
        self.last_flush = time.monotonic()
        self.in_flight: dict[Future, _Job] = {}
        self.seen_ids: set[str] = set()
        self.pool = worker_pool(workers)

    def close(self, *, kill: bool = False) -> None:
        """Wait for the processes to exit; `kill`: stop them now (on an error, or Ctrl-C, with analyses running)."""
        if kill:
            kill_pool(self.pool)
        else:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def report(self, result: FileResult) -> None:
        if result.status == "ok":
            self.summary.ok += 1
        elif result.status == "skipped":
            self.summary.skipped += 1
        else:
            self.summary.failed += 1
        self.summary.results.append(result)
        if self.on_result:
            self.on_result(result, self.total)

    def flush(self) -> None:
        full: DiskFull | None = None
        if self.pending_points:
            try:
                self.sink.store(self.pending_points, self.user_id)
            except Exception as exc:  # storage down: these files are not stored, say so per file
                full = exc if isinstance(exc, DiskFull) else None
                for r in self.pending_results:
                    r.status, r.track_id, r.error = "failed", None, f"could not store: {exc}"
        for r in self.pending_results:
            self.report(r)
        self.pending_points.clear()
        self.pending_results.clear()
        self.last_flush = time.monotonic()
        if full is not None:
            raise full  # no point analysing the rest: stop with the message

    def collect(self, done: Iterable[Future]) -> None:
        for fut in done:
            job = self.in_flight.pop(fut, None)
            if job is None:
                continue
            try:
                outcome = fut.result()
            except Exception as exc:  # the analysis process itself died (e.g. a decoder crash)
                self.report(FileResult(job.path, None, "failed", f"analysis process failed: {exc}"))
                continue
            if isinstance(outcome, FileResult):
                self.report(outcome)
                continue
            self.pending_points.append(PointData(id=outcome.track_id, payload=outcome.payload, vectors=outcome.vectors))
            self.pending_results.append(FileResult(outcome.path, outcome.track_id, "ok"))
        # store in batches, but at least twice a second so progress keeps moving
        if len(self.pending_points) >= BATCH or time.monotonic() - self.last_flush > 0.5:
            self.flush()

    def hashed(self, hashers: ThreadPoolExecutor, batch: list[tuple[Path, str | None]]) -> list[tuple[Path, str]]:
        """(path, sha256) of the batch's readable files; the others are reported as failed."""
        for path, err in batch:
            if err is not None:
                self.report(FileResult(str(path), None, "failed", err))
        ok = []
        for path, sha, err in hashers.map(_hash, [p for p, err in batch if err is None]):
            if err is not None:
                self.report(FileResult(str(path), None, "failed", err))
            else:
                ok.append((path, sha))
        return ok

    def _start(self, job: _Job) -> None:
        o = self.options
        fut = self.pool.submit(o["analyse"], job.path, job.sha256, o["max_seconds"], o["genre"], self.sink.embedding)
        self.in_flight[fut] = job

    def submit(self, files: list[tuple[Path, str]]) -> None:
        """Skip what is stored (or twice in this run), send the rest to the analysis processes."""
        ids = [file_track_id(sha) for _, sha in files]
        stored = self.sink.existing(ids)
        if self.user_id and stored:
            self.sink.link(sorted(stored), self.user_id)  # already analysed: only the library entry is new
        for (path, sha), track_id in zip(files, ids, strict=True):
            if track_id in stored or track_id in self.seen_ids:
                self.report(FileResult(str(path), track_id, "skipped"))
                continue
            self.seen_ids.add(track_id)
            self._start(_Job(str(path), sha))

    def expire(self) -> None:
        """Report analyses running past the time limit as failed, and replace the pool's processes (the only way to
        stop one); the other files in flight start again on the new processes."""
        now = time.monotonic()
        limit = self.options["timeout_s"]
        for fut, job in self.in_flight.items():
            if job.started is None and fut.running():
                job.started = now
        stuck = [
            f for f, j in self.in_flight.items() if j.started is not None and now - j.started > limit and not f.done()
        ]
        if not stuck:
            return
        self.collect([f for f in list(self.in_flight) if f.done() and f not in stuck])
        for fut in stuck:
            job = self.in_flight.pop(fut)
            self.report(FileResult(job.path, None, "failed", f"analysis took longer than {limit:g} s: stopped"))
        others = list(self.in_flight.values())
        self.in_flight.clear()
        kill_pool(self.pool)
        self.pool = worker_pool(self.workers)
        for job in others:
            job.started = None
            self._start(job)

    def drain(self, keep: int) -> None:
        """Collect finished analyses; block until at most `keep` are still in flight."""
        self.collect([f for f in list(self.in_flight) if f.done()])
        self.expire()
        while len(self.in_flight) > keep:
            done, _ = wait(set(self.in_flight), timeout=POLL_S, return_when=FIRST_COMPLETED)
            self.collect(done)
            self.expire()


def ingest(
    paths: Iterable[str | os.PathLike],
    sink: Sink,
    *,
    genre: str | None = None,
    user_id: str | None = None,
    max_seconds: float = 900.0,
    workers: int | None = None,
    timeout_s: float = 120.0,
    on_result: Callable[[FileResult, int], None] | None = None,
    analyse: Callable[..., Analysed | FileResult] = _analyse_safely,
) -> Summary:
    """Ingest files/folders into `sink`. `on_result(result, files_found)` is called per file; a file's analysis
    taking longer than `timeout_s` fails. `analyse` (a module-level function, run in the worker processes) is
    replaceable for tests. Raises DiskFull when the store has no room left (what was stored stays)."""
    started = time.monotonic()
    candidates = list(discover(paths))
    workers = workers or os.cpu_count() or 1
    options = {"max_seconds": max_seconds, "genre": genre, "timeout_s": timeout_s, "analyse": analyse}
    run = _Run(sink, user_id, len(candidates), on_result, workers, options)
    try:
        with ThreadPoolExecutor(2) as hashers:
            for start in range(0, len(candidates), BATCH):
                files = run.hashed(hashers, candidates[start : start + BATCH])
                run.submit(files)
                run.drain(keep=workers * 8)  # bounded memory on huge folders
            run.drain(keep=0)
            run.flush()
        if run.summary.ok:
            sink.finish()
    except BaseException:
        run.close(kill=True)
        raise
    run.close()
    run.summary.seconds = time.monotonic() - started
    return run.summary
