"""service.sync.media: yt-dlp resolution of a direct file URL, range-only fetching, the no-range fallback, failures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from fakes.media_server import FakeMediaServer

from service.analysis.decode import SAMPLE_RATE, decode_for_analysis
from service.errors import AudioError
from service.sync.media import FetchedAudio, fetch_for_analysis, resolve_stream_url
from service.sync.youtube import YouTubeError
from service.tools.synth import chord_progression, drum_track, write_audio

SECONDS = 240.0  # a 4-minute track: the three 10 s windows are a small part of it


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("media")
    song = (0.6 * chord_progression(SECONDS, seed=5) + 0.4 * drum_track(SECONDS, bpm=112, seed=6)).astype(np.float32)
    write_audio(d / "song4min.ogg", song, tags={"title": "Four Minutes", "artist": "Tester"})
    write_audio(d / "song4min.flac", song, tags={"title": "Four Minutes", "artist": "Tester"})
    (d / "corrupt.ogg").write_bytes(b"OggS" + np.random.default_rng(0).bytes(300_000))
    (d / "empty.ogg").write_bytes(b"")
    return d


@pytest.fixture
def media(media_dir):
    with FakeMediaServer(media_dir) as server:
        yield server


def range_requests(server: FakeMediaServer) -> list[dict]:
    return [r for r in server.requests if r["range"]]


def assert_same_windows(fetched: FetchedAudio, path: Path) -> None:
    local = decode_for_analysis(path)
    assert len(fetched.decoded.windows) == len(local.windows) == 3
    for a, b in zip(fetched.decoded.windows, local.windows, strict=True):
        assert a.size == b.size == 10 * SAMPLE_RATE
        assert np.max(np.abs(a - b)) < 1e-4


def test_ytdlp_generic_extractor_resolves_a_direct_file_url(media):
    url = resolve_stream_url("song4min", media.template(".ogg"))
    assert url == f"{media.url}/media/song4min.ogg"  # one "direct" format: the URL itself
    assert [r["method"] for r in media.requests] == ["GET"]  # one plain GET, abandoned after the headers


@pytest.mark.parametrize("ext", [".ogg", ".flac"])
def test_fetches_only_the_analysis_windows(media, media_dir, tmp_path, ext):
    size = (media_dir / f"song4min{ext}").stat().st_size
    got = fetch_for_analysis("song4min", media.template(ext), max_seconds=900, tmp_dir=tmp_path)
    assert got.decoded.duration_s == pytest.approx(SECONDS, abs=0.1)
    assert got.decoded.tags.title == "Four Minutes"
    assert_same_windows(got, media_dir / f"song4min{ext}")
    # ogg/vorbis ≈ 0.39 of the file, flac ≈ 0.23 (header, end-of-file duration probe, seek probes, windows)
    assert got.bytes_fetched < 0.6 * size, (ext, got.bytes_fetched, size)
    ranged = range_requests(media)
    assert ranged and all(r["status"] == 206 for r in ranged)
    assert sum(r["bytes"] for r in ranged) == got.bytes_fetched  # the client counts what the server sent
    assert got.url == f"{media.url}/media/song4min{ext}"
    assert os.listdir(tmp_path) == []


def test_seek_failure_falls_back_to_sequential_decoding_over_ranges(media, media_dir, tmp_path, monkeypatch):
    from service.analysis import decode

    monkeypatch.setattr(decode, "_decode_window", lambda *a, **k: None)  # as if seeking were unreliable
    got = fetch_for_analysis("song4min", media.template(".flac"), max_seconds=900, tmp_dir=tmp_path)
    monkeypatch.undo()
    assert_same_windows(got, media_dir / "song4min.flac")  # the same file object, reopened from byte 0


def test_too_long_is_refused_from_the_header(media, media_dir, tmp_path):
    with pytest.raises(AudioError, match="too long"):
        fetch_for_analysis("song4min", media.template(".ogg"), max_seconds=120, tmp_dir=tmp_path)
    size = (media_dir / "song4min.ogg").stat().st_size
    assert sum(r["bytes"] for r in range_requests(media)) < 0.2 * size


def test_server_without_ranges_gets_a_bounded_download_that_is_cleaned_up(media_dir, tmp_path):
    size = (media_dir / "song4min.ogg").stat().st_size
    with FakeMediaServer(media_dir, ranges=False) as server:
        got = fetch_for_analysis("song4min", server.template(".ogg"), max_seconds=900, tmp_dir=tmp_path / "tmp")
        assert got.bytes_fetched == size
        assert_same_windows(got, media_dir / "song4min.ogg")
        assert os.listdir(tmp_path / "tmp") == []

        with pytest.raises(AudioError, match="too large"):
            fetch_for_analysis(
                "song4min",
                server.template(".ogg"),
                max_seconds=900,
                tmp_dir=tmp_path / "tmp",
                max_download_bytes=size // 2,
            )
        with pytest.raises(AudioError):
            fetch_for_analysis("corrupt", server.template(".ogg"), max_seconds=900, tmp_dir=tmp_path / "tmp")
        server.fail_next(503, skip=1)  # yt-dlp's request passes, the download fails
        with pytest.raises(YouTubeError) as info:
            fetch_for_analysis("song4min", server.template(".ogg"), max_seconds=900, tmp_dir=tmp_path / "tmp")
        assert info.value.retryable
        assert os.listdir(tmp_path / "tmp") == []


def test_corrupt_or_empty_audio_is_an_audio_error(media, tmp_path):
    for video_id in ("corrupt", "empty"):
        with pytest.raises(AudioError) as info:
            fetch_for_analysis(video_id, media.template(".ogg"), max_seconds=900, tmp_dir=tmp_path)
        assert not isinstance(info.value, YouTubeError) and info.value.code == "bad_audio"


@pytest.mark.parametrize("skip", [0, 1, 4], ids=["resolve", "first-range", "mid-stream"])
def test_503_is_a_retryable_youtube_error(media, tmp_path, skip):
    media.fail_next(503, skip=skip)
    with pytest.raises(YouTubeError) as info:
        fetch_for_analysis("song4min", media.template(".flac"), max_seconds=900, tmp_dir=tmp_path)
    assert info.value.retryable
    assert "503" in info.value.message
    statuses = [r["status"] for r in media.requests]
    assert statuses[-1] == 503 and statuses.count(206) == max(0, skip - 1)  # mid-stream: after 3 good ranges
    media.requests.clear()
    assert fetch_for_analysis("song4min", media.template(".flac"), max_seconds=900, tmp_dir=tmp_path).bytes_fetched


def test_missing_video_and_bad_ids_are_not_retryable(media, tmp_path):
    with pytest.raises(YouTubeError) as info:
        fetch_for_analysis("nosuchvideo", media.template(".ogg"), max_seconds=900, tmp_dir=tmp_path)
    assert not info.value.retryable and "404" in info.value.message
    with pytest.raises(YouTubeError) as info:
        resolve_stream_url("../../etc/passwd", media.template(".ogg"))
    assert not info.value.retryable
    assert media.requests == [] or all(r["path"].startswith("/media/nosuchvideo") for r in media.requests)


def test_unreachable_server_is_retryable(tmp_path):
    with FakeMediaServer(tmp_path) as server:
        template = server.template(".ogg")
    with pytest.raises(YouTubeError) as info:
        fetch_for_analysis("song4min", template, max_seconds=900, tmp_dir=tmp_path)
    assert info.value.retryable
