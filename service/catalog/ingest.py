"""Local files → analysed tracks: discover, hash, skip what is stored, analyse on all cores, store.

Runs in the CLI (and later in workers); never imported by the API. Analysis happens in worker processes
started from a forkserver that has already imported numpy/PyAV/the extractor, so each worker starts in
milliseconds; hashing and storing stay in the parent.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from service.analysis.formats import AUDIO_SUFFIXES
from service.catalog.tracks import file_sha256, file_track_payload
from service.errors import AudioError
from service.ids import file_track_id
from service.store.base import PointData

BATCH = 32


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

    vector_name: str

    def existing(self, ids: list[str]) -> set[str]: ...

    def store(self, points: list[PointData], user_id: str | None) -> None: ...

    def link(self, track_ids: list[str], user_id: str) -> None: ...


def discover(paths: Iterable[str | os.PathLike]) -> Iterator[tuple[Path, str | None]]:
    """Yield (absolute path, error). Folders are walked for audio files (sorted); a file named
    explicitly is always tried, so a non-audio file given by name fails with a clear reason."""
    for raw in paths:
        path = Path(raw).expanduser().absolute()
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if Path(name).suffix.lower() in AUDIO_SUFFIXES and not name.startswith("."):
                        yield Path(root) / name, None
        elif path.is_file():
            yield path, None
        else:
            yield path, "no such file or folder"


@dataclass
class Analysed:
    path: str
    track_id: str
    payload: dict[str, Any]
    vector: list[float]


def analyse_file(path: str, sha256: str, max_seconds: float, genre: str | None) -> Analysed:
    """Decode the analysis windows, extract features, build the Track payload (runs in a worker)."""
    from service.analysis import decode, features

    decoded = decode.decode_for_analysis(path, max_seconds=max_seconds)
    analysis = features.analyse(decoded.windows, decode.SAMPLE_RATE)
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
    )
    return Analysed(path=path, track_id=track_id, payload=payload, vector=analysis.vector.tolist())


def _analyse_safely(path: str, sha256: str, max_seconds: float, genre: str | None) -> Analysed | FileResult:
    """Worker entry point: every failure becomes a per-file result, never a crash of the run."""
    try:
        return analyse_file(path, sha256, max_seconds, genre)
    except AudioError as exc:
        return FileResult(path, None, "failed", exc.message)
    except MemoryError:
        return FileResult(path, None, "failed", "out of memory while analysing")
    except Exception as exc:  # a bug or an exotic file must not end the whole ingest
        return FileResult(path, None, "failed", f"analysis failed: {type(exc).__name__}: {exc}")


def _warm_worker() -> None:
    """One BLAS thread per worker (the pool already uses every core), then pay one-off costs (filter
    banks, FFT plans) once per worker, not on the first file."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from service.analysis import features

    # numpy is loaded already (forkserver preload), so an environment variable would come too late
    threadpool_limits(limits=1)
    rng = np.random.default_rng(0)
    features.analyse([rng.normal(scale=0.1, size=features.SAMPLE_RATE * 4).astype(np.float32)])


def worker_pool(workers: int) -> ProcessPoolExecutor:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["service.analysis.features", "service.analysis.decode", "service.catalog.ingest"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_warm_worker)


def _hash(path: Path) -> tuple[Path, str | None, str | None]:
    try:
        return path, file_sha256(path), None
    except IsADirectoryError:
        return path, None, "is a folder"
    except OSError as exc:
        return path, None, f"cannot read: {exc.strerror or exc}"


class _Run:
    """One ingest run: files flow hash → skip-or-submit → analyse (worker processes) → store in batches."""

    def __init__(self, sink: Sink, user_id: str | None, total: int, on_result, workers: int):
        self.sink = sink
        self.user_id = user_id
        self.total = total
        self.on_result = on_result
        self.workers = workers
        self.summary = Summary()
        self.pending_points: list[PointData] = []
        self.pending_results: list[FileResult] = []
        self.last_flush = time.monotonic()
        self.in_flight: dict[Future, str] = {}  # future → path
        self.seen_ids: set[str] = set()

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
        if self.pending_points:
            try:
                self.sink.store(self.pending_points, self.user_id)
            except Exception as exc:  # storage down: these files are not stored, say so per file
                for r in self.pending_results:
                    r.status, r.track_id, r.error = "failed", None, f"could not store: {exc}"
        for r in self.pending_results:
            self.report(r)
        self.pending_points.clear()
        self.pending_results.clear()
        self.last_flush = time.monotonic()

    def collect(self, done: Iterable[Future]) -> None:
        for fut in done:
            path = self.in_flight.pop(fut, "?")
            try:
                outcome = fut.result()
            except Exception as exc:  # the analysis process itself died (e.g. a decoder crash)
                self.report(FileResult(path, None, "failed", f"analysis process failed: {exc}"))
                continue
            if isinstance(outcome, FileResult):
                self.report(outcome)
                continue
            vectors = {self.sink.vector_name: outcome.vector}
            self.pending_points.append(PointData(id=outcome.track_id, payload=outcome.payload, vectors=vectors))
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

    def submit(self, pool: ProcessPoolExecutor, files: list[tuple[Path, str]], max_seconds: float, genre) -> None:
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
            self.in_flight[pool.submit(_analyse_safely, str(path), sha, max_seconds, genre)] = str(path)

    def drain(self, keep: int) -> None:
        """Collect finished analyses; block until at most `keep` are still in flight."""
        self.collect([f for f in list(self.in_flight) if f.done()])
        while len(self.in_flight) > keep:
            done, _ = wait(set(self.in_flight), return_when=FIRST_COMPLETED)
            self.collect(done)


def ingest(
    paths: Iterable[str | os.PathLike],
    sink: Sink,
    *,
    genre: str | None = None,
    user_id: str | None = None,
    max_seconds: float = 900.0,
    workers: int | None = None,
    on_result: Callable[[FileResult, int], None] | None = None,
) -> Summary:
    """Ingest files/folders into `sink`. `on_result(result, files_found)` is called per file."""
    started = time.monotonic()
    candidates = list(discover(paths))
    workers = workers or os.cpu_count() or 1
    run = _Run(sink, user_id, len(candidates), on_result, workers)
    with ThreadPoolExecutor(2) as hashers, worker_pool(workers) as pool:
        for start in range(0, len(candidates), BATCH):
            files = run.hashed(hashers, candidates[start : start + BATCH])
            run.submit(pool, files, max_seconds, genre)
            run.drain(keep=workers * 8)  # bounded memory on huge folders
        run.drain(keep=0)
        run.flush()
    run.summary.seconds = time.monotonic() - started
    return run.summary
