"""Local files → analysed tracks: discover, hash, skip what is stored, analyse on all cores, store.

Runs in the CLI (and later in workers); never imported by the API. Analysis happens in worker processes
(pool.py); hashing and storing stay in the parent. Each file's analysis has a time limit: a stuck one is
reported failed and the pool's processes are replaced (the other files in flight are analysed again).

A track is its audio: its id is a uuid5 of the sha256 of the audio stream's packets (`audioSha256`), which a tag
edit or a move does not change. A file whose exact bytes are stored (`contentSha256`) is not analysed again; only
its path (moved), its --genre or its folder-inferred fields are updated. A file with new bytes is analysed, and
when its audio is stored already (retagged, or moved and retagged) the stored track takes its tags and path
instead of a second track being made. Tracks stored before `audioSha256` existed are found by their path.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import msgspec

from service.catalog.failures import FailureMemory, file_state
from service.catalog.files import Found, NotRegularFile, discover, file_sha256, find
from service.catalog.pool import kill_pool, worker_pool
from service.catalog.tracks import file_track_payload, updated_payload, with_layout
from service.errors import AudioError, DiskFull
from service.ids import file_track_id
from service.store.base import PointData, Record

__all__ = ["FileResult", "Summary", "Sink", "discover", "find", "ingest", "worker_pool"]

BATCH = 32
POLL_S = 0.25  # how often stuck analyses are looked for


@dataclass
class FileResult:
    path: str
    track_id: str | None
    status: str  # "ok" | "updated" | "skipped" | "failed"
    error: str | None = None
    lasting: bool = False  # a failure of the file itself (remembered; not tried again until the file changes)

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "trackId": self.track_id, "status": self.status, "error": self.error}


@dataclass
class Summary:
    ok: int = 0
    updated: int = 0  # stored already: tags, path or genres changed
    skipped: int = 0
    failed: int = 0
    known_failures: int = 0  # failed before and unchanged since: not tried again (reported as skipped)
    seconds: float = 0.0
    results: list[FileResult] = field(default_factory=list)
    empty: list[Path] = field(default_factory=list)  # folders named that hold no audio file

    @property
    def total(self) -> int:
        return self.ok + self.updated + self.skipped + self.failed + self.known_failures


class Sink(Protocol):
    """Where analysed tracks go: the store itself, or a running server that owns it."""

    embedding: bool  # whether to compute the learned embedding beside the DSP features

    def existing(self, ids: list[str]) -> set[str]: ...

    def store(self, points: list[PointData], user_id: str | None) -> None: ...

    def link(self, track_ids: list[str], user_id: str) -> None: ...

    def finish(self) -> None: ...

    def find(self, field: str, values: list[str]) -> list[Record]: ...

    def update(self, updates: list[tuple[str, dict[str, Any]]]) -> None: ...


@dataclass
class Analysed:
    path: str
    track_id: str
    payload: dict[str, Any]
    vectors: dict[str, list[float]]  # the analysed ones (vectorset.ANALYSED, or the DSP vector alone)


def analyse_file(path: str, sha256: str, max_seconds: float, genre: str | None, embedding: bool = True) -> Analysed:
    """Hash the audio packets, decode the analysis windows, extract features (and the embedding), build the Track
    payload (runs in a worker)."""
    from service.analysis import decode, features
    from service.analysis.track import analyse_track

    fp = decode.fingerprint(path, max_seconds=max_seconds)
    decode.check_complete(fp)  # a truncated file is a failure, not a short track under the full track's tags
    decoded = decode.decode_for_analysis(path, max_seconds=max_seconds)
    analysis = analyse_track(decoded.windows, decode.SAMPLE_RATE, embedding=embedding)
    tags = decoded.tags
    genres = list(dict.fromkeys(([genre] if genre else []) + list(tags.genres)))
    track_id = file_track_id(fp.audio_sha256)
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
        audio_sha256=fp.audio_sha256,
        given_genres=[genre] if genre else [],
    )
    return Analysed(path=path, track_id=track_id, payload=payload, vectors=analysis.vectors)


def _analyse_safely(
    path: str, sha256: str, max_seconds: float, genre: str | None, embedding: bool = True
) -> Analysed | FileResult:
    """Worker entry point: every failure becomes a per-file result, never a crash of the run."""
    try:
        return analyse_file(path, sha256, max_seconds, genre, embedding)
    except AudioError as exc:  # "too long" depends on a setting: not remembered as the file's own failure
        return FileResult(path, None, "failed", exc.message, lasting="maxSeconds" not in exc.details)
    except MemoryError:
        return FileResult(path, None, "failed", "out of memory while analysing")
    except Exception as exc:  # a bug or an exotic file must not end the whole ingest
        return FileResult(path, None, "failed", f"analysis failed: {type(exc).__name__}: {exc}", lasting=True)


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
    root: Path | None = None  # what was named on the command line (folder-layout inference)
    started: float | None = None  # when the pool handed it to a process (as far as we can see)


def _tag_genres(payload: dict[str, Any]) -> list[str]:
    given = set(payload.get("givenGenres") or [])
    return [g for g in payload.get("genres") or [] if g not in given]


def _same_duration(a: dict[str, Any], b: dict[str, Any]) -> bool:
    da, db = float(a.get("durationS") or 0), float(b.get("durationS") or 0)
    return abs(da - db) <= max(2.0, 0.02 * max(da, db))


def _changed(stored: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether writing `new` changes the stored payload (a key missing from it reads as its default)."""
    baseline = updated_payload(stored, {})
    return any(baseline.get(k) != v for k, v in new.items())


class _Run:
    """One ingest run: files flow hash → skip-or-update-or-submit → analyse (worker processes) → store in batches."""

    def __init__(self, sink: Sink, user_id: str | None, total: int, on_result, workers: int, options: dict):
        self.sink = sink
        self.user_id = user_id
        self.total = total
        self.on_result = on_result
        self.workers = workers
        self.options = options  # max_seconds, genre, timeout_s, analyse, failures, retry_failed
        self.failures: FailureMemory | None = options.get("failures")
        self.summary = Summary()
        self.pending: list[tuple[_Job, Analysed]] = []  # analysed, waiting for the next store batch
        self.last_flush = time.monotonic()
        self.in_flight: dict[Future, _Job] = {}
        self.seen_files: dict[str, str | None] = {}  # file sha256 → track id (None while being analysed)
        self.seen_audio: dict[str, str] = {}  # audio sha256 → track id, for the files of this run
        self.states: dict[str, tuple[int, int] | None] = {}  # path → (size, mtime) seen before hashing
        self.pool = worker_pool(workers)

    def close(self, *, kill: bool = False) -> None:
        """Wait for the processes to exit; `kill`: stop them now (on an error, or Ctrl-C, with analyses running)."""
        if kill:
            kill_pool(self.pool)
        else:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def report(self, result: FileResult, *, known: bool = False) -> None:
        if known:
            self.summary.known_failures += 1
        elif result.status == "ok":
            self.summary.ok += 1
        elif result.status == "updated":
            self.summary.updated += 1
        elif result.status == "skipped":
            self.summary.skipped += 1
        else:
            self.summary.failed += 1
        if self.failures is not None and not known:
            if result.status == "failed" and result.lasting:
                self.failures.remember(result.path, self.states.get(result.path), result.error or "failed")
            elif result.status != "failed":
                self.failures.forget(result.path)
        self.summary.results.append(result)
        if self.on_result:
            self.on_result(result, self.total)

    # --- storing ---------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Store the analysed files: a new track each, unless its audio is stored already (then that track takes
        the file's tags and path), or came earlier in this run."""
        pending, self.pending = self.pending, []
        self.last_flush = time.monotonic()
        if not pending:
            return
        results: list[FileResult] = []
        try:
            by_audio = {
                r.payload.get("audioSha256"): r
                for r in self.sink.find("audioSha256", [a.payload["audioSha256"] for _, a in pending])
            }
            unmatched = [a for _, a in pending if a.payload["audioSha256"] not in by_audio]
            by_path = {  # tracks stored by a release that did not hash the audio: found by their path
                r.payload["source"]["path"]: r
                for r in self.sink.find("source.path", [a.payload["source"]["path"] for a in unmatched])
                if not r.payload.get("audioSha256")
            }
            points: list[PointData] = []
            updates: list[tuple[str, dict[str, Any]]] = []
            linked: list[str] = []
            for _job, a in pending:
                audio, path = a.payload["audioSha256"], a.payload["source"]["path"]
                if audio in self.seen_audio:  # the same audio twice in this run (a copy, retagged or not)
                    results.append(FileResult(a.path, self.seen_audio[audio], "skipped"))
                    continue
                legacy = by_path.get(path)
                stored = by_audio.get(audio) or (
                    legacy if legacy and _same_duration(legacy.payload, a.payload) else None
                )
                if stored is None:
                    self.seen_audio[audio] = a.track_id
                    points.append(PointData(id=a.track_id, payload=a.payload, vectors=a.vectors))
                    results.append(FileResult(a.path, a.track_id, "ok"))
                    continue
                self.seen_audio[audio] = stored.id
                linked.append(stored.id)
                try:
                    new = self._retagged(stored, a)
                except msgspec.ValidationError:  # a stored payload this version cannot read: left as it is
                    new = None
                if new is None:  # a copy of stored audio whose own file is still there: that track stays as it is
                    results.append(FileResult(a.path, stored.id, "skipped"))
                elif _changed(stored.payload, new):
                    updates.append((stored.id, new))
                    results.append(FileResult(a.path, stored.id, "updated"))
                else:
                    results.append(FileResult(a.path, stored.id, "skipped"))
            if points:
                self.sink.store(points, self.user_id)
            if updates:
                self.sink.update(updates)
            if self.user_id and linked:
                self.sink.link(sorted(set(linked)), self.user_id)
        except Exception as exc:  # storage down: these files are not stored, say so per file
            for _, a in pending:
                self.report(FileResult(a.path, None, "failed", f"could not store: {exc}"))
            if isinstance(exc, DiskFull):
                raise  # no point analysing the rest: stop with the message
            return
        for r in results:
            self.report(r)

    def _retagged(self, stored: Record, a: Analysed) -> dict[str, Any] | None:
        """The stored track's payload with this file's tags, path and hashes (the audio is the same), or None when
        the file is a copy: the stored track's own file is elsewhere and still exists."""
        old = stored.payload
        old_path = (old.get("source") or {}).get("path")
        new_path = a.payload["source"]["path"]
        if old_path and old_path != new_path and os.path.exists(old_path):
            return None
        # --genre values given before are kept; tracks stored before they were told apart keep all their genres
        given = old.get("givenGenres") or [] if old.get("audioSha256") else old.get("genres") or []
        given = list(dict.fromkeys([*a.payload.get("givenGenres", []), *given]))
        fields = {k: a.payload[k] for k in ("title", "artists", "album", "year", "inferred")}
        fields |= {
            "genres": list(dict.fromkeys(given + _tag_genres(a.payload))),
            "givenGenres": given,
            "source": {"kind": "file", "path": new_path},
            "contentSha256": a.payload["contentSha256"],
            "audioSha256": a.payload["audioSha256"],
        }
        return updated_payload(old, fields)

    def _known_file(self, stored: Record, path: Path, root: Path | None) -> dict[str, Any] | None:
        """What changes for a stored file seen again with the same bytes: its path when it moved (the stored path
        is gone), its folder-inferred fields, a new --genre. None: nothing."""
        old = stored.payload
        old_path = (old.get("source") or {}).get("path")
        new_path = str(path.resolve())
        changes: dict[str, Any] = {}
        here = old_path == new_path or not (old_path and os.path.exists(old_path))
        if here:  # this file is the track's file (moved, or where it was): its folders speak for it
            if old_path != new_path:
                changes["source"] = {"path": new_path}
            inferred = old.get("inferred") or []
            if root is not None:
                tagged = {
                    "album": None if "album" in inferred else old.get("album"),
                    "artists": [] if "artists" in inferred else old.get("artists") or [],
                }
                changes |= with_layout(tagged, path, root)  # the path as found under the root (links kept)
        genre = self.options.get("genre")
        if genre and genre not in (old.get("genres") or []):
            changes["genres"] = [genre, *(old.get("genres") or [])]
        if genre and genre not in (old.get("givenGenres") or []):
            changes["givenGenres"] = [genre, *(old.get("givenGenres") or [])]
        new = updated_payload(old, changes)
        return new if _changed(old, new) else None

    def collect(self, done: Iterable[Future]) -> None:
        for fut in done:
            job = self.in_flight.pop(fut, None)
            if job is None:
                continue
            try:
                outcome = fut.result()
            except Exception as exc:  # the analysis process itself died (e.g. a decoder crash)
                self.report(FileResult(job.path, None, "failed", f"analysis process failed: {exc}", lasting=True))
                continue
            if isinstance(outcome, FileResult):
                self.report(outcome)
                continue
            if job.root is not None:  # untagged album / artists from the folders
                layout = with_layout(outcome.payload, Path(job.path), job.root)  # as found (links kept)
                outcome.payload = updated_payload(
                    outcome.payload, {k: layout[k] for k in ("album", "artists", "inferred")}
                )
            self.pending.append((job, outcome))
        # store in batches, but at least twice a second so progress keeps moving
        if len(self.pending) >= BATCH or time.monotonic() - self.last_flush > 0.5:
            self.flush()

    # --- finding what is new ---------------------------------------------------------------------------
    def hashed(self, hashers: ThreadPoolExecutor, batch: list[Found]) -> list[tuple[Found, str]]:
        """(found, sha256) of the batch's readable files not known to fail; the others are reported."""
        failures, retry = self.failures, self.options.get("retry_failed", False)
        todo = []
        for f in batch:
            if f.error is not None:
                self.report(FileResult(str(f.path), None, "failed", f.error))
                continue
            state = self.states[str(f.path)] = file_state(f.path)
            known = failures.known(str(f.path), state) if failures is not None and not retry else None
            if known is not None:
                why = f"known failure, unchanged since: {known.reason} (--retry-failed tries it again)"
                self.report(FileResult(str(f.path), None, "skipped", why), known=True)
                continue
            todo.append(f)
        ok = []
        for f, (_, sha, err) in zip(todo, hashers.map(_hash, [f.path for f in todo]), strict=True):
            if err is not None:
                self.report(FileResult(str(f.path), None, "failed", err))
            else:
                ok.append((f, sha))
        return ok

    def _start(self, job: _Job) -> None:
        o = self.options
        fut = self.pool.submit(o["analyse"], job.path, job.sha256, o["max_seconds"], o["genre"], self.sink.embedding)
        self.in_flight[fut] = job

    def submit(self, files: list[tuple[Found, str]]) -> None:
        """Files whose bytes are stored: update what changed (path, genre), else skip; the rest goes to the
        analysis processes."""
        stored = {r.payload.get("contentSha256"): r for r in self.sink.find("contentSha256", [sha for _, sha in files])}
        if self.user_id and stored:  # already analysed: only the library entry is new
            self.sink.link(sorted({r.id for r in stored.values()}), self.user_id)
        updates: list[tuple[str, dict[str, Any]]] = []
        results: list[FileResult] = []
        for f, sha in files:
            if sha in self.seen_files:  # the same bytes twice in this run
                results.append(FileResult(str(f.path), self.seen_files[sha], "skipped"))
                continue
            record = stored.get(sha)
            if record is None:
                self.seen_files[sha] = None
                self._start(_Job(str(f.path), sha, f.root))
                continue
            self.seen_files[sha] = record.id
            try:
                new = self._known_file(record, f.path, f.root)
            except msgspec.ValidationError:  # a stored payload this version cannot read: left as it is
                new = None
            if new is None:
                results.append(FileResult(str(f.path), record.id, "skipped"))
            else:
                record.payload = new  # a later copy in this run compares with what is now stored
                updates.append((record.id, new))
                results.append(FileResult(str(f.path), record.id, "updated"))
        if updates:
            try:
                self.sink.update(updates)
            except Exception as exc:
                for r in results:
                    if r.status == "updated":
                        r.status, r.error = "failed", f"could not store: {exc}"
                if isinstance(exc, DiskFull):
                    for r in results:
                        self.report(r)
                    raise
        for r in results:
            self.report(r)

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
            self.report(
                FileResult(job.path, None, "failed", f"analysis took longer than {limit:g} s: stopped", lasting=True)
            )
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
    max_seconds: float = 14_400.0,
    workers: int | None = None,
    timeout_s: float = 120.0,
    on_result: Callable[[FileResult, int], None] | None = None,
    analyse: Callable[..., Analysed | FileResult] = _analyse_safely,
    failures: FailureMemory | None = None,
    retry_failed: bool = False,
) -> Summary:
    """Ingest files/folders into `sink`. `on_result(result, files_found)` is called per file; a file's analysis
    taking longer than `timeout_s` fails. `analyse` (a module-level function, run in the worker processes) is
    replaceable for tests. With `failures`, files that failed before and have not changed since are not tried
    again (unless `retry_failed`), and this run's failures are remembered there (saved at the end). Raises DiskFull
    when the store has no room left (what was stored stays)."""
    started = time.monotonic()
    empty: list[Path] = []
    candidates = list(find(paths, empty))
    workers = workers or os.cpu_count() or 1
    options = {
        "max_seconds": max_seconds,
        "genre": genre,
        "timeout_s": timeout_s,
        "analyse": analyse,
        "failures": failures,
        "retry_failed": retry_failed,
    }
    run = _Run(sink, user_id, len(candidates), on_result, workers, options)
    run.summary.empty = empty
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
    finally:
        if failures is not None:
            failures.save()
    run.close()
    run.summary.seconds = time.monotonic() - started
    return run.summary


@dataclass
class Pruned:
    checked: int = 0  # tracks of local files under the roots
    tracks: int = 0  # removed (their files are gone)
    library_entries: int = 0  # removed with them
    paths: list[str] = field(default_factory=list)  # the gone files


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def prune(roots: Iterable[str | os.PathLike], sink: Any, *, dry_run: bool = False, batch: int = 500) -> Pruned:
    """Remove the tracks whose local file (source.path under one of `roots`) no longer exists, with their library
    entries. Stored paths are real paths (links resolved), so the roots are compared both as given and resolved."""
    given = [Path(r).expanduser().absolute() for r in roots]
    names = list(dict.fromkeys([str(p) for p in given] + [str(p.resolve()) for p in given]))
    out = Pruned()
    gone: list[str] = []
    for track_id, path in sink.file_tracks():
        if not _under(path, names):
            continue
        out.checked += 1
        if not os.path.exists(path):
            gone.append(track_id)
            out.paths.append(path)
    if not dry_run:
        for start in range(0, len(gone), batch):
            tracks, entries = sink.delete(gone[start : start + batch])
            out.tracks += tracks
            out.library_entries += entries
    else:
        out.tracks = len(gone)
    return out
