"""Files and processes that fight back: non-regular files are refused with a reason, a stuck analysis is stopped
at its time limit, and a killed `musicrec ingest` takes its forkserver and workers with it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

import pytest
from conftest import musicrec_cmd, run_cli, wait_for
from stuck_analysis import analyse_or_hang

from service.catalog.files import NotRegularFile, file_sha256
from service.catalog.ingest import ingest
from service.catalog.sinks import StoreSink
from service.catalog.vector import track_vectors
from service.settings import Settings
from service.store import open_store


def cli_env(data) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "MUSICREC_DATA_DIR": str(data), "OPENBLAS_NUM_THREADS": "1"}


@pytest.fixture
def hostile_dir(tmp_path, music_dir):
    d = tmp_path / "hostile"
    d.mkdir()
    shutil.copy(music_dir / "tones" / "tone0.ogg", d / "good.ogg")
    os.mkfifo(d / "fifo.mp3")
    (d / "zero.ogg").symlink_to("/dev/zero")
    (d / "gone.flac").symlink_to(d / "missing.flac")
    return d


def test_non_regular_files_are_refused_with_a_reason(hostile_dir, tmp_path):
    done = run_cli("ingest", "--json", str(hostile_dir), env=cli_env(tmp_path / "data"), timeout=120)
    assert done.returncode == 1, done.stderr
    results = {os.path.basename(r["path"]): r for r in map(json.loads, done.stdout.splitlines())}
    assert results["good.ogg"]["status"] == "ok"
    assert results["fifo.mp3"]["status"] == "failed" and "a FIFO" in results["fifo.mp3"]["error"]
    assert "character device" in results["zero.ogg"]["error"]
    assert "dangling symlink" in results["gone.flac"]["error"]
    # named explicitly, too
    named = run_cli("ingest", "--json", str(hostile_dir / "fifo.mp3"), env=cli_env(tmp_path / "data"), timeout=60)
    assert named.returncode == 1 and "a FIFO" in json.loads(named.stdout)["error"]


def test_hashing_refuses_a_file_swapped_for_a_fifo_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "late.mp3")  # what the walk saw as a file became a FIFO: open must not wait for a writer
    with pytest.raises(NotRegularFile, match="FIFO"):
        file_sha256(tmp_path / "late.mp3")


def test_a_stuck_analysis_fails_at_its_time_limit_and_the_rest_goes_on(tmp_path, music_dir):
    d = tmp_path / "music"
    d.mkdir()
    for name in ("tone0.ogg", "tone1.ogg", "tone2.ogg"):
        shutil.copy(music_dir / "tones" / name, d / name)
    shutil.copy(music_dir / "drums" / "drum0.flac", d / "stuck.flac")
    os.mkfifo(d / "stuck.flac.fifo")  # analyse_or_hang blocks on it
    store = open_store(Settings(data_dir=tmp_path / "data"))
    try:
        started = time.monotonic()
        summary = ingest([d], StoreSink(store, track_vectors()), workers=2, timeout_s=3, analyse=analyse_or_hang)
        elapsed = time.monotonic() - started
        by_name = {os.path.basename(r.path): r for r in summary.results}
        assert by_name["stuck.flac"].status == "failed"
        assert "longer than 3 s" in by_name["stuck.flac"].error
        assert (summary.ok, summary.failed) == (3, 1), summary.results
        assert store.count("tracks") == 3
        assert elapsed < 60
    finally:
        store.close()


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _descendants(pid: int) -> list[int]:
    out = []
    for child in _children(pid):
        out += [child, *_descendants(child)]
    return out


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process tree from /proc")
def test_a_killed_ingest_takes_its_forkserver_and_workers_with_it(tmp_path, music_dir):
    d = tmp_path / "many"
    d.mkdir()
    original = (music_dir / "chords0.wav").read_bytes()
    for i in range(80):  # distinct contents (one byte of the last sample differs): 80 analyses, seconds of work
        (d / f"c{i:02d}.wav").write_bytes(original[:-1] + bytes([i]))
    proc = subprocess.Popen(
        musicrec_cmd("ingest", "--json", "--workers", "2", str(d)),
        env=cli_env(tmp_path / "data"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout.readline(), "ingest ended before analysing anything"
        tree = _descendants(proc.pid)
        assert proc.poll() is None, "ingest finished before it could be killed"
        assert len(tree) >= 3, tree  # forkserver + 2 workers (+ the resource tracker)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        wait_for(lambda: not any(_running(p) for p in tree), timeout=20, what="the ingest's processes to exit")
    finally:
        proc.kill()
        proc.wait(10)
        for pid in tree if "tree" in locals() else []:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
