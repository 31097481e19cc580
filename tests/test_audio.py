"""service.analysis.decode: decoding real files of every format, tags, window-only decoding, and every failure mode."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest

from service.analysis import decode as A
from service.analysis.decode import SAMPLE_RATE, DecodedAudio, Tags, decode_for_analysis, read_tags
from service.analysis.features import analyse, plan_windows
from service.api.errors import status_for
from service.errors import AudioError, MusicrecError
from service.tools.synth import chord_progression, drum_track, silence, tone_track, write_audio

SR_HI = 44100  # real files are 44.1 kHz; lossy encoders at 22 kHz low-pass inside our band
FORMATS = [".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus"]
TAGS = {
    "title": "Night Drive",
    "artist": "Ana Lua; The Band",
    "album": "Roads",
    "genre": "Synthwave, Electronic",
    "date": "2019-05-01",
}


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def song() -> np.ndarray:
    return (0.7 * chord_progression(40, sr=SR_HI, seed=1) + 0.5 * drum_track(40, sr=SR_HI, seed=2)).astype(np.float32)


@pytest.fixture(scope="module")
def files(song, tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("formats")
    return {ext: write_audio(d / f"song{ext}", song, sr=SR_HI, tags=TAGS) for ext in FORMATS}


# --- decoding --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", FORMATS)
def test_decodes_every_format_with_tags(files, ext):
    d = decode_for_analysis(files[ext])
    assert isinstance(d, DecodedAudio)
    assert d.duration_s == pytest.approx(40.0, abs=0.2)
    assert len(d.windows) == 3
    for w in d.windows:
        assert w.dtype == np.float32 and w.ndim == 1 and w.size == 10 * SAMPLE_RATE
    assert d.tags == Tags(
        title="Night Drive",
        artists=["Ana Lua", "The Band"],
        album="Roads",
        genres=["Synthwave", "Electronic"],
        year=2019,
    )
    assert read_tags(files[ext]) == d.tags


def test_formats_give_close_vectors(files):
    ref = analyse(decode_for_analysis(files[".wav"]).windows)
    for ext in FORMATS[1:]:
        a = analyse(decode_for_analysis(files[ext]).windows)
        assert cos(a.vector, ref.vector) > 0.95, ext
        assert a.descriptors["loudnessDb"] == pytest.approx(ref.descriptors["loudnessDb"], abs=1.0), ext
        assert a.tempo == pytest.approx(ref.tempo, rel=0.03), ext


def test_same_file_same_vector(files):
    a = analyse(decode_for_analysis(files[".ogg"]).windows)
    b = analyse(decode_for_analysis(files[".ogg"]).windows)
    assert np.array_equal(a.vector, b.vector)


def test_stereo_is_averaged_not_summed(files):
    # the .ogg is stereo (two equal channels); FFmpeg's own downmix would make it +3 dB over the mono wav
    with av.open(str(files[".ogg"])) as c:
        assert c.streams.audio[0].channels == 2
    mono = np.concatenate(decode_for_analysis(files[".wav"]).windows)
    stereo = np.concatenate(decode_for_analysis(files[".ogg"]).windows)
    ratio = np.sqrt(np.mean(stereo**2) / np.mean(mono**2))
    assert ratio == pytest.approx(1.0, abs=0.05)


def test_decodes_only_the_windows(tmp_path, monkeypatch):
    y = tone_track(60, seed=3) + 0.3 * drum_track(60, seed=4)
    path = write_audio(tmp_path / "long.wav", y)
    decoded = []
    real_resample = A._to_array

    def counting(frames):
        arrays = real_resample(frames)
        decoded.append(sum(a.size for a in arrays))
        return arrays

    monkeypatch.setattr(A, "_to_array", counting)
    d = decode_for_analysis(path)
    total = sum(w.size for w in d.windows)
    assert total == 30 * SAMPLE_RATE
    assert sum(decoded) < 36 * SAMPLE_RATE  # the windows + seek pre-roll, not the 60 s file
    # and the windows are the right samples: the same as slicing the whole decoded file
    for (start, length), w in zip(plan_windows(60.0), d.windows, strict=True):
        a = int(round(start * SAMPLE_RATE))
        expected = np.clip(y, -1, 1)[a : a + int(length * SAMPLE_RATE)]
        assert np.abs(w - expected).max() < 1e-3  # 16-bit quantisation


@pytest.mark.parametrize("ext", [".ogg", ".mp3", ".m4a", ".opus"])
def test_seek_windows_match_sequential_decoding(files, ext):
    seeked = decode_for_analysis(files[ext]).windows
    with av.open(str(files[ext])) as c:
        whole = A._decode_sequential(c, c.streams.audio[0], 1e9)
    sequential = A._slice_windows(whole, plan_windows(40.0))
    for s, q in zip(seeked, sequential, strict=True):
        # Lossy codecs may land up to one codec frame off after a seek (mp3: the encoder delay that only
        # the first frame's header accounts for, ~25 ms); irrelevant for 10 s windows. Same audio otherwise.
        a, b = s[2000:60000], q[2000:60000]
        xc = np.fft.irfft(np.fft.rfft(a, 2 * a.size) * np.conj(np.fft.rfft(b, 2 * a.size)))
        lag = int(np.argmax(np.r_[xc[-1200:], xc[:1201]])) - 1200
        assert abs(lag) <= 1200
        a2, b2 = (
            (s[2000 + lag : 60000 + lag], q[2000:60000]) if lag >= 0 else (s[2000:60000], q[2000 - lag : 60000 - lag])
        )
        assert np.corrcoef(a2, b2)[0, 1] > 0.99


def test_fallback_to_sequential_when_seeking_fails(files, monkeypatch):
    ref = decode_for_analysis(files[".flac"]).windows
    monkeypatch.setattr(A, "_decode_window", lambda *a, **k: None)
    got = decode_for_analysis(files[".flac"]).windows
    for r, g in zip(ref, got, strict=True):
        assert np.array_equal(r, g)


def test_unknown_duration_is_decoded_and_bounded(files, monkeypatch):
    monkeypatch.setattr(A, "_known_duration", lambda c, s: None)
    d = decode_for_analysis(files[".flac"])
    assert d.duration_s == pytest.approx(40.0, abs=0.05) and len(d.windows) == 3
    with pytest.raises(AudioError) as err:
        decode_for_analysis(files[".flac"], max_seconds=20)
    # the duration comes from the packets' timestamps (nothing decoded), so the error states the real length
    assert err.value.details["maxSeconds"] == 20 and err.value.details["durationS"] == pytest.approx(40.0, abs=0.1)


def test_short_track_is_one_window(tmp_path):
    d = decode_for_analysis(write_audio(tmp_path / "short.flac", tone_track(12, seed=1)))
    assert len(d.windows) == 1 and d.windows[0].size == pytest.approx(12 * SAMPLE_RATE, abs=2)


# --- tags ------------------------------------------------------------------------------------------------


def test_tag_parsing_rules():
    t = A._tags_from(
        {
            "TITLE": "  Song ",
            "ARTIST": "AC/DC",
            "ALBUM": "",
            "GENRE": "Rock/Pop; Jazz, rock",
            "DATE": "Released 1979-07-27",
        }
    )
    assert t == Tags(title="Song", artists=["AC/DC"], album=None, genres=["Rock", "Pop", "Jazz"], year=1979)
    t = A._tags_from({"artist": "A / B\x00C", "genre": "(17)", "year": "2001"})
    assert t.artists == ["A", "B", "C"] and t.genres == [] and t.year == 2001 and t.title is None
    t = A._tags_from({"album_artist": "Various", "date": "no year here"})
    assert t.artists == ["Various"] and t.year is None
    assert A._tags_from({}) == Tags(title=None, artists=[], album=None, genres=[], year=None)


def test_no_tags(tmp_path):
    d = decode_for_analysis(write_audio(tmp_path / "plain.wav", tone_track(5, seed=1)))
    assert d.tags == Tags()


# --- errors: always AudioError, with a one-line message ---------------------------------------------------


def _assert_audio_error(path, **kw) -> AudioError:
    with pytest.raises(AudioError) as err:
        decode_for_analysis(path, **kw)
    e = err.value
    assert isinstance(e, MusicrecError) and e.code == "bad_audio" and status_for(e) == 400  # the API's table
    assert e.message and "\n" not in e.message and "Traceback" not in e.message
    return e


def test_empty_file(tmp_path):
    p = tmp_path / "empty.mp3"
    p.write_bytes(b"")
    assert "empty" in _assert_audio_error(p).message


def test_random_bytes(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("noise.mp3", "noise.ogg", "noise.wav", "noise.bin"):
        p = tmp_path / name
        p.write_bytes(rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes())
        _assert_audio_error(p)


def test_text_file_named_mp3(tmp_path):
    p = tmp_path / "lyrics.mp3"
    p.write_text("la la la\n" * 500)
    _assert_audio_error(p)


def test_missing_file_and_directory(tmp_path):
    _assert_audio_error(tmp_path / "nope.flac")
    _assert_audio_error(tmp_path)


def test_no_audio_stream(tmp_path):
    # a valid container holding a video stream only
    p = tmp_path / "video.mkv"
    with av.open(str(p), "w") as c:
        s = c.add_stream("ffv1", rate=5)
        s.width, s.height, s.pix_fmt = 16, 16, "yuv420p"
        for i in range(5):
            f = av.VideoFrame.from_ndarray(np.full((16, 16, 3), i * 40, np.uint8), format="rgb24")
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode(None):
            c.mux(pkt)
    assert "no audio stream" in _assert_audio_error(p).message


def test_silent_file(tmp_path):
    p = write_audio(tmp_path / "silence.flac", silence(40))
    assert "silent" in _assert_audio_error(p).message


def test_too_short(tmp_path):
    p = write_audio(tmp_path / "blip.wav", tone_track(2, seed=1))
    e = _assert_audio_error(p)
    assert "short" in e.message and e.details["durationS"] == pytest.approx(2.0, abs=0.05)


def test_too_long_without_decoding(files, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("decoded a file that is too long")

    monkeypatch.setattr(A, "_decode_window", boom)
    monkeypatch.setattr(A, "_decode_sequential", boom)
    for ext in (".wav", ".ogg", ".mp3"):
        e = _assert_audio_error(files[ext], max_seconds=20)
        assert "long" in e.message
        assert e.details["maxSeconds"] == 20 and e.details["durationS"] == pytest.approx(40.0, abs=0.5)


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg", ".mp3", ".m4a"])
def test_damaged_files_never_raise_anything_else(files, tmp_path, ext):
    data = files[ext].read_bytes()
    rng = np.random.default_rng(1)
    variants = {
        "head": data[:200],
        "half": data[: len(data) // 2],
        "garbled": data[:4096] + rng.integers(0, 256, len(data) - 4096, dtype=np.uint8).tobytes(),
        "no_header": data[4096:],
    }
    for name, blob in variants.items():
        p = tmp_path / f"{name}{ext}"
        p.write_bytes(blob)
        try:
            d = decode_for_analysis(p)
        except AudioError as e:
            assert e.message and "\n" not in e.message
        else:  # decodable leftovers are fine, as long as they are sane
            assert all(np.isfinite(w).all() for w in d.windows)


def test_fd_count_is_stable(files):
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("no /proc")
    decode_for_analysis(files[".mp3"])
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        decode_for_analysis(files[".mp3"])
        with pytest.raises(AudioError):
            decode_for_analysis(files[".mp3"], max_seconds=5)
    assert len(os.listdir("/proc/self/fd")) == before


def test_ffmpeg_errors_read_as_words_without_errno_or_path(tmp_path):
    """Per-file errors come after the path already (`failed: PATH: reason`): no `[Errno 1094995529]`, no path again."""
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(AudioError) as err:
        decode_for_analysis(junk)
    message = err.value.message
    assert message.startswith("cannot read audio: ") and "invalid data" in message
    assert "Errno" not in message and str(junk) not in message and "junk.mp3" not in message
