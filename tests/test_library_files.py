"""The library follows its files: retagged, moved, deleted, failing, linked, untagged, long and truncated files
(real files generated with numpy → PyAV in tmp dirs, the real embedded store, the CLI as a process, the API)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import API_KEY, AUTH, run_cli

from service.catalog.failures import FILE_NAME
from service.catalog.files import file_sha256
from service.catalog.ingest import ingest
from service.catalog.sinks import StoreSink
from service.catalog.vector import track_vectors
from service.ids import file_track_id
from service.settings import Settings
from service.store import open_store
from service.store.base import Filter, Match, PointData
from service.tools.synth import chord_progression, drum_track, tone_track, write_audio

VECTOR = track_vectors()


def retag(path: Path, tags: dict[str, str]) -> None:
    """Rewrite a file's tags in place, the audio packets copied as they are (what a tag editor does)."""
    tmp = path.with_name(path.stem + ".retag" + path.suffix)
    with av.open(str(path)) as src, av.open(str(tmp), "w", format=src.format.name.split(",")[0]) as out:
        stream = src.streams.audio[0]
        copy = out.add_stream_from_template(stream)
        for k, v in tags.items():
            out.metadata[k] = v
        for packet in src.demux(stream):
            if packet.dts is None:
                continue
            packet.stream = copy
            out.mux(packet)
    os.replace(tmp, path)


def song(path: Path, seed: int, seconds: float = 12, **tags: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_audio(path, tone_track(seconds, (180.0 + 37 * seed, 290.0 + 11 * seed, 440.0), seed=seed), tags=tags)


@pytest.fixture
def store(tmp_path):
    s = open_store(Settings(data_dir=tmp_path / "data"))
    yield s
    s.close()


def run(store, paths, **kw):
    return ingest(paths, StoreSink(store, VECTOR), workers=2, **kw)


def tracks(store) -> dict[str, dict]:
    return {r.id: r.payload for r in store.scroll("tracks", limit=1000)[0]}


def statuses(summary) -> dict[str, str]:
    return {os.path.basename(r.path): r.status for r in summary.results}


def cli_env(data, **extra) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "MUSICREC_DATA_DIR": str(data), "OPENBLAS_NUM_THREADS": "1", **extra}


def json_lines(done) -> dict[str, dict]:
    return {os.path.basename(r["path"]): r for r in map(json.loads, done.stdout.splitlines())}


# --- identity: tags change, the track stays ----------------------------------------------------------
def test_a_retagged_file_updates_its_track_in_place(store, tmp_path):
    f = song(tmp_path / "m" / "a.ogg", 1, title="Old title", artist="Old Artist", genre="rock", date="1999")
    assert statuses(run(store, [f], user_id="alice")) == {"a.ogg": "ok"}
    [(track_id, before)] = tracks(store).items()
    vector = store.retrieve("tracks", [track_id], with_vector=VECTOR.query)[0].vector

    retag(f, {"title": "New title", "artist": "New Artist", "genre": "pop", "date": "2001", "album": "Later"})
    again = run(store, [f])
    assert statuses(again) == {"a.ogg": "updated"} and again.results[0].track_id == track_id
    after = tracks(store)
    assert list(after) == [track_id]  # no second track
    p = after[track_id]
    assert (p["title"], p["artists"], p["album"], p["genres"], p["year"]) == (
        "New title",
        ["New Artist"],
        "Later",
        ["pop"],
        2001,
    )
    assert p["contentSha256"] == file_sha256(f) != before["contentSha256"]
    assert p["audioSha256"] == before["audioSha256"]
    assert "new" in p["searchTokens"] and "old" not in p["searchTokens"]
    assert store.retrieve("tracks", [track_id], with_vector=VECTOR.query)[0].vector == vector
    [entry] = store.scroll("library", limit=10, filter=Filter(must=(Match("userId", "alice"),)))[0]
    assert (entry.payload["title"], entry.payload["artists"]) == ("New title", ["New Artist"])
    # the same bytes once more: nothing to do
    assert statuses(run(store, [f])) == {"a.ogg": "skipped"}


def test_a_new_genre_updates_a_stored_file_and_survives_a_retag(store, tmp_path):
    f = song(tmp_path / "m" / "a.flac", 2, title="T", genre="ambient")
    run(store, [f], genre="chill")
    [(track_id, p)] = tracks(store).items()
    assert p["genres"] == ["chill", "ambient"]
    assert statuses(run(store, [f], genre="focus")) == {"a.flac": "updated"}
    assert tracks(store)[track_id]["genres"] == ["focus", "chill", "ambient"]
    assert statuses(run(store, [f])) == {"a.flac": "skipped"}  # no --genre: nothing taken away
    assert statuses(run(store, [f], genre="chill")) == {"a.flac": "skipped"}
    retag(f, {"title": "T", "genre": "drone"})  # the file's own genre changes; the given ones stay
    assert statuses(run(store, [f])) == {"a.flac": "updated"}
    assert tracks(store)[track_id]["genres"] == ["focus", "chill", "drone"]


def test_a_moved_file_is_found_again_and_its_path_follows(store, tmp_path):
    a = song(tmp_path / "old" / "a.ogg", 3, title="Moving")
    b = song(tmp_path / "old" / "b.mp3", 4, title="Moving and retagged")
    run(store, [tmp_path / "old"])
    ids = {p["title"]: i for i, p in tracks(store).items()}
    (tmp_path / "new").mkdir()
    a2, b2 = tmp_path / "new" / "a.ogg", tmp_path / "new" / "b.mp3"
    shutil.move(a, a2)
    shutil.move(b, b2)
    retag(b2, {"title": "Retagged after the move"})
    summary = run(store, [tmp_path / "new"])
    assert statuses(summary) == {"a.ogg": "updated", "b.mp3": "updated"}
    after = tracks(store)
    assert len(after) == 2
    assert after[ids["Moving"]]["source"]["path"] == str(a2)
    assert after[ids["Moving and retagged"]]["source"]["path"] == str(b2)
    assert after[ids["Moving and retagged"]]["title"] == "Retagged after the move"
    # a copy is not a move: the stored path still exists, so it stays, and no second track is made
    shutil.copy(a2, tmp_path / "copy.ogg")
    retag(tmp_path / "copy.ogg", {"title": "A retagged copy"})
    assert statuses(run(store, [tmp_path / "copy.ogg"])) == {"copy.ogg": "skipped"}
    assert tracks(store) == after


def test_tracks_stored_by_the_previous_release_keep_their_ids(store, tmp_path):
    """Before: id = uuid5 of the whole file's sha256, no audioSha256 in the payload. Such a track is found by its
    bytes (unchanged file) or by its path (retagged file), and keeps its id."""
    f = song(tmp_path / "m" / "a.ogg", 5, title="Legacy")
    run(store, [f])
    [(new_id, payload)] = tracks(store).items()
    legacy_id = file_track_id(file_sha256(f))
    legacy = {k: v for k, v in payload.items() if k not in ("audioSha256", "inferred", "givenGenres")}
    vectors = store.retrieve("tracks", [new_id], with_vector=VECTOR.names)[0].vectors
    store.delete("tracks", [new_id])
    store.upsert("tracks", [PointData(id=legacy_id, payload={**legacy, "trackId": legacy_id}, vectors=vectors)])

    assert statuses(run(store, [f])) == {"a.ogg": "skipped"}  # same bytes
    retag(f, {"title": "Legacy, retagged"})
    summary = run(store, [f])
    assert statuses(summary) == {"a.ogg": "updated"} and summary.results[0].track_id == legacy_id
    after = tracks(store)
    assert list(after) == [legacy_id]
    assert after[legacy_id]["title"] == "Legacy, retagged" and after[legacy_id]["audioSha256"] == payload["audioSha256"]


# --- deleted files: musicrec prune and DELETE /v1/tracks/{id} --------------------------------------------
def test_prune_removes_the_tracks_of_gone_files_with_their_library_entries(tmp_path):
    root = tmp_path / "music"
    keep = song(root / "A" / "keep.ogg", 6, title="Keep")
    gone = song(root / "A" / "gone.ogg", 7, title="Gone")
    elsewhere = song(tmp_path / "other" / "gone_too.ogg", 8, title="Elsewhere")
    data = tmp_path / "data"
    env = cli_env(data)
    done = run_cli("ingest", str(root), str(elsewhere), "--user", "alice", env=env)
    assert done.returncode == 0, done.stderr
    gone.unlink()
    elsewhere.unlink()

    dry = run_cli("prune", str(root), "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [f"would remove: {gone}"]
    done = run_cli("prune", str(root), env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"removed: {gone}"]
    assert (
        "2 track(s) of files under" in done.stderr and "removed 1 whose file is gone and 1 library entry" in done.stderr
    )
    store = open_store(Settings(data_dir=data))
    try:
        titles = sorted(p["title"] for p in tracks(store).values())
        assert titles == ["Elsewhere", "Keep"]  # outside the root: not looked at
        library = store.scroll("library", limit=10, filter=Filter(must=(Match("userId", "alice"),)))[0]
        assert sorted(e.payload["title"] for e in library) == ["Elsewhere", "Keep"]
    finally:
        store.close()
    assert keep.exists()
    # a root that does not exist (an unmounted disk?) is refused, not read as "everything under it is gone"
    missing = run_cli("prune", str(tmp_path / "unmounted"), env=env)
    assert missing.returncode == 2 and "no such folder" in missing.stderr


def test_delete_track_route(tmp_path):
    from litestar.testing import TestClient

    from service.api.app import create_app

    settings = Settings(data_dir=tmp_path / "data", api_keys=(API_KEY,))
    store = open_store(settings)
    try:
        for user in ("alice", "bob"):
            run(
                store,
                [song(tmp_path / "m" / "a.ogg", 9, title="Doomed"), song(tmp_path / "m" / "b.ogg", 10)],
                user_id=user,
            )
        doomed = next(i for i, p in tracks(store).items() if p["title"] == "Doomed")
        with TestClient(create_app(settings, store=store)) as c:
            assert c.delete(f"/v1/tracks/{doomed}").status_code == 401
            resp = c.delete(f"/v1/tracks/{doomed.upper()}", headers=AUTH)  # any uuid spelling names the track
            assert resp.status_code == 204 and resp.content == b""
            assert c.get(f"/v1/tracks/{doomed}", headers=AUTH).status_code == 404
            again = c.delete(f"/v1/tracks/{doomed}", headers=AUTH)
            assert again.status_code == 404
            assert again.json()["error"]["code"] == "not_found" and "details" in again.json()["error"]
            for user in ("alice", "bob"):
                items = c.get(f"/v1/users/{user}/library", headers=AUTH).json()["items"]
                assert [i["title"] for i in items] == ["b"]
            assert c.get("/healthz").json()["tracks"] == 1
            doc = c.get("/schema/openapi.json").json()
            assert {"204", "401", "404"} <= set(doc["paths"]["/v1/tracks/{trackId}"]["delete"]["responses"])
    finally:
        store.close()


# --- failures are remembered -----------------------------------------------------------------------
def test_known_failures_are_not_decoded_again_until_changed_or_retried(tmp_path):
    root = tmp_path / "music"
    song(root / "good.ogg", 11)
    bad = root / "bad.flac"
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    env = cli_env(tmp_path / "data")
    first = run_cli("ingest", str(root), "--json", env=env)
    assert first.returncode == 1
    assert json_lines(first)["bad.flac"]["status"] == "failed"
    memory = json.loads((tmp_path / "data" / FILE_NAME).read_text())["files"]
    st = bad.stat()
    assert memory[str(bad)]["size"] == st.st_size and memory[str(bad)]["mtimeNs"] == st.st_mtime_ns
    assert memory[str(bad)]["reason"] == json_lines(first)["bad.flac"]["error"]

    second = run_cli("ingest", str(root), "--json", env=env)
    assert second.returncode == 0, second.stderr
    line = json_lines(second)["bad.flac"]
    assert line["status"] == "skipped" and line["error"].startswith("known failure")
    assert "1 known failures skipped" in second.stderr

    retried = run_cli("ingest", str(root), "--json", "--retry-failed", env=env)
    assert retried.returncode == 1 and json_lines(retried)["bad.flac"]["status"] == "failed"

    song(bad, 12)  # fixed: a real file now (new size and mtime)
    fixed = run_cli("ingest", str(root), "--json", env=env)
    assert fixed.returncode == 0, fixed.stderr
    assert json_lines(fixed)["bad.flac"]["status"] == "ok"
    assert json.loads((tmp_path / "data" / FILE_NAME).read_text())["files"] == {}


# --- folders: links followed, layout as tags ---------------------------------------------------------
def test_symlinked_folders_are_followed_and_loops_walked_once(store, tmp_path):
    albums = tmp_path / "elsewhere"
    song(albums / "One" / "x.ogg", 13)
    song(albums / "Two" / "y.ogg", 14)
    (albums / "Two" / "loop").symlink_to(albums)  # a loop back up
    root = tmp_path / "links"
    root.mkdir()
    (root / "One").symlink_to(albums / "One")
    (root / "Two").symlink_to(albums / "Two")
    (root / "again").symlink_to(albums / "One")  # the same folder twice
    summary = run(store, [root])
    assert sorted(statuses(summary)) == ["x.ogg", "y.ogg"] and summary.ok == 2 and summary.failed == 0
    paths = sorted(p["source"]["path"] for p in tracks(store).values())
    assert paths == [str(albums / "One" / "x.ogg"), str(albums / "Two" / "y.ogg")]  # real paths
    assert sorted(p["album"] for p in tracks(store).values()) == ["One", "Two"]  # the folder's name as named


def test_a_folder_without_audio_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no music here")
    done = run_cli("ingest", str(tmp_path / "empty"), env=cli_env(tmp_path / "data"))
    assert done.returncode == 0
    assert f"no audio files in {tmp_path / 'empty'}" in done.stderr


def test_untagged_files_take_album_and_artist_from_their_folders(store, tmp_path):
    root = tmp_path / "Music"
    song(root / "Some Artist" / "Some Album" / "01.wav", 15)
    song(root / "Other Artist" / "Double Album" / "CD2" / "01.wav", 16)
    song(root / "Just An Album" / "01.wav", 17)
    song(root / "loose.wav", 18)
    song(root / "Tagged Artist" / "Tagged Album" / "t.ogg", 19, artist="Real Artist", title="Tagged")
    song(root / "Half" / "Tagged" / "h.ogg", 20, artist="Only Artist Tagged", title="Half")
    run(store, [root])
    got = {Path(p["source"]["path"]).relative_to(root).as_posix(): p for p in tracks(store).values()}
    view = {k: (p["artists"], p["album"], p["inferred"]) for k, p in got.items()}
    assert view == {
        "Some Artist/Some Album/01.wav": (["Some Artist"], "Some Album", ["album", "artists"]),
        "Other Artist/Double Album/CD2/01.wav": (["Other Artist"], "Double Album", ["album", "artists"]),
        "Just An Album/01.wav": ([], "Just An Album", ["album"]),
        "loose.wav": ([], None, []),
        "Tagged Artist/Tagged Album/t.ogg": (["Real Artist"], "Tagged Album", ["album"]),
        "Half/Tagged/h.ogg": (["Only Artist Tagged"], "Tagged", ["album"]),
    }
    # moved to another album folder: the inferred album follows the folder
    moved = root / "Some Artist" / "Renamed Album"
    shutil.move(root / "Some Artist" / "Some Album", moved)
    assert statuses(run(store, [root]))["01.wav"] in ("updated", "skipped")
    p = next(p for p in tracks(store).values() if p["source"]["path"] == str(moved / "01.wav"))
    assert (p["album"], p["artists"], p["inferred"]) == ("Renamed Album", ["Some Artist"], ["album", "artists"])


# --- long and truncated files --------------------------------------------------------------------------
def test_long_tracks_are_analysed_by_default(store, tmp_path):
    assert Settings.from_env({}).max_track_seconds == 4 * 3600
    x = np.tile(drum_track(30, bpm=110, seed=3), 34)  # 17 minutes: over the old 15-minute default
    f = write_audio(tmp_path / "long.wav", x)
    summary = run(store, [f], max_seconds=Settings.from_env({}).max_track_seconds)
    assert statuses(summary) == {"long.wav": "ok"}, summary.results
    assert next(iter(tracks(store).values()))["durationS"] == pytest.approx(17 * 60, abs=1)


def test_windows_decoded_sequentially_match_the_seeked_ones(tmp_path):
    from service.analysis import decode
    from service.analysis.features import SAMPLE_RATE, plan_windows

    f = write_audio(tmp_path / "c.flac", chord_progression(60, seed=4))
    plan = plan_windows(60.0)
    with av.open(str(f)) as c:
        seq = decode._decode_windows_sequential(c, c.streams.audio[0], plan)
    seeked = decode.decode_for_analysis(f).windows
    assert [w.size for w in seq] == [int(10 * SAMPLE_RATE)] * 3
    for a, b in zip(seq, seeked, strict=True):
        n = min(a.size, b.size)
        assert np.corrcoef(a[:n], b[:n])[0, 1] > 0.99


@pytest.mark.parametrize("suffix", [".flac", ".mp3"])
def test_a_truncated_file_fails_with_a_reason(store, tmp_path, suffix):
    whole = song(tmp_path / f"whole{suffix}", 21, seconds=60, title="Whole", artist="Someone")
    cut = tmp_path / f"cut{suffix}"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 4 // 10])
    summary = run(store, [cut])
    [r] = summary.results
    assert r.status == "failed" and r.error.startswith("truncated file: the audio ends at"), r
    assert "of the 60 s its header states" in r.error
    assert store.count("tracks") == 0


def _vbr_mp3_without_xing_header(path: Path, seconds: float = 60.0) -> Path:
    """A VBR MP3 with no Xing/Info header and a quiet 20 s intro: FFmpeg guesses its duration from the first
    (low-bitrate) frames, ~2.7x too long. Old encoders and some rippers write such files."""
    sr = 44100
    t = np.arange(int(sr * seconds)) / sr
    loud = 0.3 * chord_progression(seconds, sr=sr, seed=8)[: t.size]
    y = np.where(t < 20, 0.0005 * np.sin(2 * np.pi * 440 * t), loud).astype(np.float32)
    with av.open(str(path), "w", format="mp3", options={"write_xing": "0"}) as c:
        s = c.add_stream("libmp3lame", rate=sr, layout="mono")
        s.codec_context.qscale = 4  # VBR
        frame = av.AudioFrame.from_ndarray(y.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = sr
        for packet in [*s.encode(frame), *s.encode(None)]:
            c.mux(packet)
    return path


def test_a_vbr_mp3_without_a_xing_header_is_whole_and_as_long_as_its_audio(store, tmp_path):
    from service.analysis import decode

    f = _vbr_mp3_without_xing_header(tmp_path / "old-rip.mp3")
    with av.open(str(f)) as c:
        guessed = c.duration / av.time_base
    assert guessed > 90  # FFmpeg's bitrate guess, far beyond the 60 s of audio: what the check must not trust
    decoded = decode.decode_for_analysis(f)
    assert decoded.duration_s == pytest.approx(60, abs=0.5) and len(decoded.windows) == 3
    summary = run(store, [f])
    assert statuses(summary) == {"old-rip.mp3": "ok"}, summary.results
    assert next(iter(tracks(store).values()))["durationS"] == pytest.approx(60, abs=0.5)


@pytest.fixture
def running_server(tmp_path):
    """A real `musicrec serve` (uvicorn on a loopback port) on an embedded store."""
    from service.tools.procs import ServeProcess

    data = tmp_path / "data"
    env = {**cli_env(data), "MUSICREC_API_KEYS": API_KEY}
    server = ServeProcess(env, tmp_path / "serve.log").start()
    yield server.url, env, data
    server.stop()


def test_retag_and_prune_through_a_running_server(running_server, tmp_path):
    """While `musicrec serve` owns the store, ingest and prune hand their updates and deletions to it."""
    import httpx

    base, env, _ = running_server
    f = song(tmp_path / "m" / "Artist" / "Album" / "a.ogg", 22, title="Served")
    gone = song(tmp_path / "m" / "Artist" / "Album" / "b.ogg", 23, title="Soon gone")
    first = run_cli("ingest", str(tmp_path / "m"), "--json", "--user", "dave", env=env)
    assert first.returncode == 0, first.stderr
    retag(f, {"title": "Served, retagged"})
    again = run_cli("ingest", str(tmp_path / "m"), "--json", env=env)
    assert again.returncode == 0, again.stderr
    lines = json_lines(again)
    assert lines["a.ogg"]["status"] == "updated" and lines["b.ogg"]["status"] == "skipped"
    gone.unlink()
    pruned = run_cli("prune", str(tmp_path / "m"), env=env)
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.splitlines() == [f"removed: {gone}"] and "1 library entry" in pruned.stderr
    items = httpx.get(base + "/v1/tracks", headers=AUTH).json()["items"]
    assert [(t["title"], t["artists"], t["album"], t["inferred"]) for t in items] == [
        ("Served, retagged", ["Artist"], "Album", ["album", "artists"])
    ]
    library = httpx.get(base + "/v1/users/dave/library", headers=AUTH).json()["items"]
    assert [e["title"] for e in library] == ["Served, retagged"]
