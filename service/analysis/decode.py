"""Audio decoding with PyAV (FFmpeg's libraries in-process; no ffmpeg binary, no soundfile).

`decode_for_analysis` reads only what the extractor needs: the windows of `features.plan_windows`,
reached by seeking, resampled to mono float32 at SAMPLE_RATE; plus the file's tags. Every failure is an
`AudioError` with a one-line message.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from service.analysis.features import SAMPLE_RATE, plan_windows
from service.errors import AudioError

__all__ = ["SAMPLE_RATE", "Tags", "DecodedAudio", "Fingerprint", "decode_for_analysis", "fingerprint", "read_tags"]

log = logging.getLogger(__name__)

MIN_SECONDS = 3.0
SILENCE_RMS = 1e-4  # -80 dBFS over all the analysed windows
_PREROLL_S = 0.5  # seek this much before a window so the decoder settles (vorbis/opus/aac priming)
_SEEK_SLACK_S = 0.25  # a seek that lands later than the window start by more than this has failed
_SEQUENTIAL_MAX_S = 1800.0  # audio with no timestamps at all is decoded from the start up to this much


@dataclass(frozen=True)
class Tags:
    title: str | None = None
    artists: list[str] = field(default_factory=list)
    album: str | None = None
    genres: list[str] = field(default_factory=list)
    year: int | None = None


@dataclass(frozen=True)
class DecodedAudio:
    # mono float32 at SAMPLE_RATE, one per features.plan_windows entry (fewer only for truncated files)
    windows: list[np.ndarray]
    duration_s: float
    tags: Tags


# ---------------------------------------------------------------------------------------------------------
# tags

_ARTIST_SPLIT = re.compile(r"\s*(?:;|\x00|\s/\s)\s*")
_GENRE_SPLIT = re.compile(r"\s*(?:;|,|\x00|/)\s*")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def _split(value: str | None, pattern: re.Pattern[str]) -> list[str]:
    if not value:
        return []
    out: list[str] = []
    for part in pattern.split(value):
        part = part.strip()
        if part and part.lower() not in {p.lower() for p in out}:
            out.append(part)
    return out


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.replace("\x00", " ").strip()
    return value or None


def _tags_from(metadata: dict[str, str]) -> Tags:
    """Tags from merged FFmpeg metadata (keys lower-cased; FFmpeg maps ID3/MP4 keys to these names)."""
    m = {k.lower(): v for k, v in metadata.items() if isinstance(v, str)}
    artists = _split(m.get("artist") or m.get("album_artist") or m.get("albumartist"), _ARTIST_SPLIT)
    genres = [g for g in _split(m.get("genre"), _GENRE_SPLIT) if not re.fullmatch(r"\(?\d+\)?", g)]
    year = None
    for key in ("date", "year", "originaldate", "tdrc", "tyer", "tory", "creation_time"):
        match = _YEAR.search(m.get(key) or "")
        if match:
            year = int(match.group(1))
            break
    return Tags(title=_clean(m.get("title")), artists=artists, album=_clean(m.get("album")), genres=genres, year=year)


def _merged_metadata(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> dict:
    merged: dict[str, str] = {}
    for source in (container.metadata, stream.metadata):  # container first (ID3, MP4), then stream (vorbis)
        for k, v in (source or {}).items():
            merged.setdefault(k.lower(), v)
    return merged


def read_tags(path: str | os.PathLike) -> Tags:
    """Only the tags (cheap: no decoding)."""
    with _open(path) as container:
        return _tags_from(_merged_metadata(container, _audio_stream(container)))


# ---------------------------------------------------------------------------------------------------------
# identity


@dataclass(frozen=True)
class Fingerprint:
    audio_sha256: str  # sha256 of the audio stream's packets: tags (ID3, vorbis comments, MP4 atoms) are not in it
    data_end_s: float | None  # where the packets end (None: they carry no timestamps)
    duration_s: float | None  # what the container says
    duration_estimated: bool = False  # FFmpeg guessed it from the first frames' bitrate: says nothing of truncation


def fingerprint(path: str | os.PathLike, max_seconds: float | None = None) -> Fingerprint:
    """Hash the audio stream's packets without decoding them (a read of the file): the same audio keeps its
    hash when its tags are edited or the file is moved. Raises AudioError when the file cannot be demuxed, or
    (before reading it) when the container says it is longer than `max_seconds`."""
    container = _open(path)
    try:
        stream = _audio_stream(container)
        stated = _known_duration(container, stream)
        if max_seconds is not None and stated is not None and stated > max_seconds:
            _check_duration(stated, max_seconds)
        digest = hashlib.sha256()
        end: float | None = None
        for packet in container.demux(stream):
            if packet.size:
                digest.update(bytes(packet))
            if packet.pts is not None and packet.time_base:
                t = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                end = t if end is None else max(end, t)
        return Fingerprint(digest.hexdigest(), end, stated, _duration_is_estimate(container, path))
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(f"cannot read audio: {_describe_error(exc)}") from exc
    finally:
        container.close()


def _duration_is_estimate(container: av.container.InputContainer, path: str | os.PathLike) -> bool:
    """True when the file states no duration and FFmpeg estimated it from the first frames' bitrate: raw ADTS AAC
    always, MP3 without a Xing/Info/VBRI header. For a VBR file that estimate can be off several times over (a
    quiet intro encoded at a low bitrate), and for a cut file it shrinks with the file, so it cannot tell a
    truncated file from a whole one."""
    names = set((container.format.name or "").split(","))
    if "aac" in names:
        return True
    return "mp3" in names and not _has_vbr_header(path)


def _has_vbr_header(path: str | os.PathLike) -> bool:
    """Whether an MP3's first frame carries a Xing/Info or VBRI header (frame count: a stated duration)."""
    try:
        with open(path, "rb") as f:
            head = f.read(10)
            if head[:3] == b"ID3" and len(head) == 10:  # skip the ID3v2 tag (its size is syncsafe: 7 bits a byte)
                size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
                f.seek(10 + size + (10 if head[5] & 0x10 else 0))
            else:
                f.seek(0)
            data = f.read(16384)
    except (OSError, TypeError):  # a file object (HTTP ranges), not a path: keep the container's word
        return True
    for i in range(len(data) - 1):
        if data[i] == 0xFF and data[i + 1] & 0xE0 == 0xE0:  # the first frame sync
            first = data[i : i + 256]
            return b"Xing" in first or b"Info" in first or b"VBRI" in first
    return False


def check_complete(fp: Fingerprint, *, tolerance_s: float = 5.0, tolerance: float = 0.05) -> None:
    """AudioError when the audio data ends well before the duration its header states (a truncated file: cut
    short by a failed copy or download), so it is not stored as a short track under the full track's tags."""
    if fp.data_end_s is None or fp.duration_s is None or fp.duration_estimated:
        return
    missing = fp.duration_s - fp.data_end_s
    if missing > max(tolerance_s, tolerance * fp.duration_s):
        raise AudioError(
            f"truncated file: the audio ends at {fp.data_end_s:.0f} s of the {fp.duration_s:.0f} s its header "
            "states (an incomplete copy or download?)",
            {"dataEndS": round(fp.data_end_s, 3), "durationS": round(fp.duration_s, 3)},
        )


# ---------------------------------------------------------------------------------------------------------
# decoding


def _describe_error(exc: BaseException) -> str:
    """What went wrong, for a person: FFmpeg's own words without its errno number or the path (the caller names
    the file once): "invalid data found when processing input", not "[Errno 1094995529] … : '/music/x.mp3'"."""
    if isinstance(exc, av.FFmpegError) and getattr(exc, "strerror", None):
        text = str(exc.strerror)
    else:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    text = text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text  # mid-sentence, after "cannot …:"
    return text[:200]


def _open(path: str | os.PathLike | BinaryIO) -> av.container.InputContainer:
    if hasattr(path, "read"):  # a seekable binary file object (service.sync.media reads HTTP ranges through one)
        try:
            path.seek(0)
            return av.open(path, mode="r", metadata_errors="replace")
        except Exception as exc:
            raise AudioError(f"cannot read audio: {_describe_error(exc)}") from exc
    p = Path(path)
    if p.is_dir():
        raise AudioError(f"not a file: {p.name}")
    if not p.exists():
        raise AudioError(f"no such file: {p.name}")
    if p.stat().st_size == 0:
        raise AudioError("empty file")
    try:
        return av.open(str(p), mode="r", metadata_errors="replace")
    except Exception as exc:  # FFmpeg errors, OSError, UnicodeDecodeError...
        raise AudioError(f"cannot read audio: {_describe_error(exc)}") from exc


def _audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream:
    if not container.streams.audio:
        raise AudioError("no audio stream")
    stream = container.streams.audio[0]
    stream.thread_type = "NONE"  # windows are short; one core per worker process
    return stream


def _known_duration(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float | None:
    if stream.duration and stream.time_base:
        d = float(stream.duration * stream.time_base)
        if d > 0:
            return d
    if container.duration and container.duration > 0:
        return container.duration / av.time_base
    return None


def _resampler() -> av.AudioResampler:
    # The channel layout is kept and the channels are averaged below: FFmpeg's own downmix to mono adds
    # correlated channels at -3 dB each, so a stereo file would come out 3 dB louder than the mono original.
    return av.AudioResampler(format="fltp", rate=SAMPLE_RATE)


def _to_array(frames: list[av.AudioFrame]) -> list[np.ndarray]:
    out = []
    for f in frames:
        a = f.to_ndarray()  # planar: (channels, samples)
        out.append(a[0] if a.shape[0] == 1 else a.mean(axis=0, dtype=np.float32))
    return out


def _decode_window(container, stream, start: float, length: float) -> np.ndarray | None:
    """Seek, decode and trim one window. None when the seek cannot be trusted (caller falls back)."""
    target = max(0.0, start - _PREROLL_S)
    try:
        container.seek(int(target / stream.time_base), stream=stream, any_frame=False, backward=True)
    except av.FFmpegError:
        return None
    end = start + length
    resampler = _resampler()
    chunks: list[np.ndarray] = []
    t_first: float | None = None
    n = 0
    for packet in container.demux(stream):
        for frame in packet.decode():
            if frame.pts is None or frame.time is None:
                return None
            if t_first is None:
                t_first = float(frame.time)
                if t_first > start + _SEEK_SLACK_S:
                    return None  # landed after the window: seeking is unreliable for this file
            for arr in _to_array(resampler.resample(frame)):
                chunks.append(arr)
                n += arr.size
            if t_first + n / SAMPLE_RATE >= end + 0.05:
                break
        else:
            continue
        break
    chunks.extend(_to_array(resampler.resample(None)))
    if t_first is None:
        return np.zeros(0, np.float32)
    audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    offset = max(0, int(round((start - t_first) * SAMPLE_RATE)))
    return audio[offset : offset + int(round(length * SAMPLE_RATE))]


def _decode_sequential(container, stream, stop_s: float) -> np.ndarray:
    """Decode from the current position (the start) until `stop_s` seconds of audio have come out."""
    resampler = _resampler()
    chunks: list[np.ndarray] = []
    limit = int(stop_s * SAMPLE_RATE)
    n = 0
    for frame in container.decode(stream):
        for arr in _to_array(resampler.resample(frame)):
            chunks.append(arr)
            n += arr.size
        if n >= limit:
            break
    if n < limit:
        chunks.extend(_to_array(resampler.resample(None)))
    audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return audio[:limit]


def _decode_windows_sequential(container, stream, plan: list[tuple[float, float]]) -> list[np.ndarray]:
    """Decode from the start, keeping only the windows' samples (a long file whose seeking cannot be trusted must
    not be held in memory whole: 3 hours of mono float32 at 22,050 Hz is close to 1 GB)."""
    resampler = _resampler()
    bounds = [(int(round(a * SAMPLE_RATE)), int(round(a * SAMPLE_RATE)) + int(round(n * SAMPLE_RATE))) for a, n in plan]
    parts: list[list[np.ndarray]] = [[] for _ in plan]
    stop = max(b for _, b in bounds)
    pos = 0

    def keep(arr: np.ndarray) -> None:
        nonlocal pos
        for i, (a, b) in enumerate(bounds):
            lo, hi = max(a, pos), min(b, pos + arr.size)
            if lo < hi:
                parts[i].append(arr[lo - pos : hi - pos].copy())
        pos += arr.size

    for frame in container.decode(stream):
        for arr in _to_array(resampler.resample(frame)):
            keep(arr)
        if pos >= stop:
            break
    if pos < stop:
        for arr in _to_array(resampler.resample(None)):
            keep(arr)
    return [np.concatenate(p) if p else np.zeros(0, np.float32) for p in parts]


def _demuxed_end(container, stream) -> float | None:
    """Where the packets end, read without decoding (for files whose container states no duration)."""
    end = None
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base:
            t = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            end = t if end is None else max(end, t)
    return end if end and end > 0 else None


def _slice_windows(audio: np.ndarray, plan: list[tuple[float, float]]) -> list[np.ndarray]:
    out = []
    for start, length in plan:
        a = int(round(start * SAMPLE_RATE))
        out.append(audio[a : a + int(round(length * SAMPLE_RATE))].copy())
    return out


def _check_duration(duration: float, max_seconds: float) -> None:
    if duration > max_seconds:
        raise AudioError(
            f"audio too long: {duration:.0f} s (max {max_seconds:.0f} s)",
            {"durationS": round(duration, 3), "maxSeconds": max_seconds},
        )
    if duration < MIN_SECONDS:
        raise AudioError(
            f"audio too short: {duration:.1f} s (min {MIN_SECONDS:.0f} s)",
            {"durationS": round(duration, 3), "minSeconds": MIN_SECONDS},
        )


def decode_for_analysis(path: str | os.PathLike | BinaryIO, max_seconds: float = 900.0) -> DecodedAudio:
    """Decode the analysis windows of an audio file (any format FFmpeg reads) + its tags.

    Raises AudioError (never anything else) for: no file, empty file, not audio, corrupt data,
    no audio stream, too short (< 3 s), too long (> max_seconds; found without decoding the file when
    the container knows its duration), silence.
    """
    container = _open(path)
    try:
        return _decode(container, path, max_seconds)
    except AudioError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # anything FFmpeg/PyAV/numpy raise on a hostile file
        raise AudioError(f"cannot decode audio: {_describe_error(exc)}") from exc
    finally:
        container.close()


def _decode(container, path, max_seconds: float) -> DecodedAudio:
    stream = _audio_stream(container)
    tags = _tags_from(_merged_metadata(container, stream))
    duration = _known_duration(container, stream)
    if not hasattr(path, "read") and (duration is None or _duration_is_estimate(container, path)):
        # raw streams, some live formats, and a duration FFmpeg guessed from the bitrate (a VBR MP3 without a Xing
        # header: off several times over, the windows would be planned past the end): the packets' timestamps
        # say (a read of the file, no decoding)
        with _open(path) as probe:
            duration = _demuxed_end(probe, _audio_stream(probe)) or duration

    windows: list[np.ndarray] | None = None
    if duration is None:
        # no timestamps at all: decode from the start, bounded (memory: ~5 MB a minute)
        audio = _decode_sequential(container, stream, min(max_seconds, _SEQUENTIAL_MAX_S) + 1.0)
        duration = audio.size / SAMPLE_RATE
        _check_duration(duration, max_seconds)
        windows = _slice_windows(audio, plan_windows(duration))
    else:
        _check_duration(duration, max_seconds)
        plan = plan_windows(duration)
        if len(plan) == 1 and plan[0][0] == 0.0:
            windows = [_decode_sequential(container, stream, plan[0][1])]
        else:
            windows = []
            for start, length in plan:
                w = _decode_window(container, stream, start, length)
                if w is None:
                    log.debug(
                        "seeking failed in %s; decoding sequentially", getattr(path, "name", None) or Path(path).name
                    )
                    windows = None
                    break
                windows.append(w)
            if windows is None:  # a fresh container: the failed seek may have left this one anywhere
                with _open(path) as again:
                    windows = _decode_windows_sequential(again, _audio_stream(again), plan)

    # a header that promises more than the data holds (truncated files) leaves windows empty or short
    windows = [w for w in windows if w.size >= SAMPLE_RATE // 2]
    total = sum(w.size for w in windows)
    if total < SAMPLE_RATE:  # the header promised audio the data does not hold
        raise AudioError("no decodable audio", {"durationS": round(duration, 3)})
    all_samples = np.concatenate(windows).astype(np.float64)
    if not np.isfinite(all_samples).all():
        raise AudioError("corrupt audio: non-finite samples")
    rms = float(np.sqrt(np.mean(all_samples**2)))
    if rms < SILENCE_RMS:
        raise AudioError("silent audio", {"rms": rms})
    return DecodedAudio(windows=[w.astype(np.float32, copy=False) for w in windows], duration_s=duration, tags=tags)
