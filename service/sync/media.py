"""Fetch only the audio the extractor needs, for a matched YouTube video.

1. `resolve_stream_url`: yt-dlp turns `MUSICREC_MEDIA_URL_TEMPLATE` (a watch page, or in tests a direct file
   URL that yt-dlp's generic extractor takes as a single direct format) into the URL of its best audio stream.
2. `fetch_for_analysis`: PyAV opens that URL through `HttpRangeFile`, a seekable file object that answers
   each read with an HTTP Range request (httpx) and counts the bytes. `service.analysis.decode.decode_for_analysis`
   reads the header, seeks to the three analysis windows and decodes only those, so only the header, the
   seek probes and the windows travel. A server that ignores `Range` gets a bounded download into a temp
   file instead (removed afterwards, whatever happens).

Errors: AudioError (not retryable: corrupt, not audio, too long, too large, silent) or
YouTubeError with `.retryable` (network trouble, 5xx, 429 and expired/refused stream URLs: retryable;
404/410 and extractor "unavailable" errors: not).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from service.analysis.decode import DecodedAudio, decode_for_analysis
from service.errors import AudioError
from service.sync.youtube import HTTP_TIMEOUT_S, YouTubeError, ytdlp_error, ytdlp_options

__all__ = ["FetchedAudio", "HttpRangeFile", "resolve_stream_url", "fetch_for_analysis", "MAX_DOWNLOAD_BYTES"]

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 60 * 1024 * 1024  # no-range fallback cap: 900 s at 320 kbit/s is ~36 MB
BLOCK_SIZE = 16 * 1024  # one Range request fetches at least this much (one block after a seek)
MAX_READAHEAD_BLOCKS = 8  # sequential reads grow the request size up to 128 KiB
CACHE_BLOCKS = 512  # 8 MiB of fetched blocks kept (seek probes revisit the same places)
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CONTENT_RANGE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$")


@dataclass
class FetchedAudio:
    decoded: DecodedAudio
    bytes_fetched: int  # body bytes received for the audio (the resolution request of yt-dlp not included)
    url: str  # the stream URL that was read (signed and short-lived for YouTube; do not store it)


# ---------------------------------------------------------------------------------------------------------
# resolution (yt-dlp)


def _resolve(video_id: str, media_url_template: str) -> tuple[str, dict[str, str]]:
    """(stream URL, HTTP headers yt-dlp says to send with it)."""
    import yt_dlp

    if not _VIDEO_ID.match(video_id or ""):
        raise YouTubeError(f"not a video id: {video_id!r}"[:120], retryable=False)
    page = media_url_template.format(videoId=video_id)
    try:
        with yt_dlp.YoutubeDL(ytdlp_options(format="bestaudio/best")) as ydl:
            info = ydl.extract_info(page, download=False)
    except Exception as exc:
        err = ytdlp_error(exc, f"cannot resolve the audio of {video_id}")
    else:
        chosen = _chosen_format(info or {})
        if chosen is None:
            raise YouTubeError(f"no audio format for {video_id}", retryable=False)
        headers = dict(chosen.get("http_headers") or (info or {}).get("http_headers") or {})
        return str(chosen["url"]), headers
    raise err  # outside the except block: no exception chain


def _chosen_format(info: dict[str, Any]) -> dict[str, Any] | None:
    if info.get("url"):  # one format selected ("bestaudio", or a direct file: the only format)
        return info
    for fmt in info.get("requested_formats") or []:  # video+audio merge: take the audio part
        if fmt.get("url") and fmt.get("acodec") != "none":
            return fmt
    audio = [f for f in info.get("formats") or [] if f.get("url") and f.get("acodec") != "none"]
    return audio[-1] if audio else None  # yt-dlp sorts formats worst → best


def resolve_stream_url(video_id: str, media_url_template: str) -> str:
    """The URL of the video's best audio stream, via yt-dlp (`template.format(videoId=...)`).

    Raises YouTubeError (`.retryable` as in `service.sync.youtube.ytdlp_error`).
    """
    return _resolve(video_id, media_url_template)[0]


# ---------------------------------------------------------------------------------------------------------
# HTTP


def _status_error(status: int, what: str) -> YouTubeError:
    # 403/410: YouTube's signed stream URLs expire (and get refused when throttled): a retry resolves anew.
    retryable = status >= 500 or status in (403, 408, 410, 429)
    return YouTubeError(f"{what}: HTTP {status}", {"httpStatus": status}, retryable=retryable)


def _network_error(exc: BaseException, what: str) -> YouTubeError:
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return YouTubeError(f"{what}: {type(exc).__name__}{': ' + text if text else ''}", retryable=True)


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"  # no query: signatures stay out of logs


class HttpRangeFile:
    """A read-only, seekable file object over HTTP Range requests, for PyAV (`av.open(fileobj)`).

    Reads are served from 16 KiB blocks. A read after a seek (FFmpeg probing for a timestamp) fetches one
    block and may come back short (FFmpeg asks again for the rest); reads that go on where the last fetch
    ended (decoding a window) fetch ahead, doubling up to 128 KiB per request. `bytes_fetched` counts the
    body bytes received. A failed request is kept in `.error` and every read from then on answers b"" (the
    end): FFmpeg stops on a truncated or "invalid" file, and the caller, seeing `.error`, reports the network
    failure rather than whatever FFmpeg made of it (raising from read() would only make PyAV print
    "exception being dropped" tracebacks). There is no close(): PyAV would call it; the httpx client is the
    caller's.
    """

    def __init__(self, client: httpx.Client, url: str, size: int, first: bytes = b"", *, name: str = "stream"):
        self.name = name
        self._client = client
        self._url = url
        self.size = size
        self.bytes_fetched = len(first)
        self.requests = 1 if first else 0
        self.error: YouTubeError | None = None
        self._pos = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._next_sequential = len(first) // BLOCK_SIZE
        self._ahead = 1
        for i in range(0, len(first) // BLOCK_SIZE):
            self._blocks[i] = first[i * BLOCK_SIZE : (i + 1) * BLOCK_SIZE]
        if first and len(first) % BLOCK_SIZE and len(first) == size:  # the whole (small) file came at once
            self._blocks[len(first) // BLOCK_SIZE] = first[(len(first) // BLOCK_SIZE) * BLOCK_SIZE :]

    def __repr__(self) -> str:
        return f"HttpRangeFile({_safe_url(self._url)!r}, size={self.size}, fetched={self.bytes_fetched})"

    # -- file protocol -------------------------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            pos = offset
        elif whence == os.SEEK_CUR:
            pos = self._pos + offset
        elif whence == os.SEEK_END:
            pos = self.size + offset
        else:
            raise OSError(f"unsupported whence {whence}")
        if pos < 0:
            raise OSError("negative seek position")
        self._pos = pos
        return pos

    def read(self, n: int = -1) -> bytes:
        if self.error is not None:
            return b""  # after a failed request: the end, as far as FFmpeg is concerned (see class doc)
        end = self.size if n is None or n < 0 else min(self.size, self._pos + n)
        if self._pos >= end:
            return b""
        first, last = self._pos // BLOCK_SIZE, (end - 1) // BLOCK_SIZE
        if first not in self._blocks:
            # after a seek (a probe) fetch one block; while reading on, fetch ahead
            try:
                self._fetch(first, last if first == self._next_sequential else first)
            except YouTubeError as exc:
                self.error = exc
                log.debug("range read of %s failed: %s", _safe_url(self._url), exc.message)
                return b""
        parts = []
        for b in range(first, last + 1):
            if b not in self._blocks:
                break  # a short read: FFmpeg asks again for the rest, which then counts as sequential
            parts.append(self._blocks[b])
            self._blocks.move_to_end(b)
        data = b"".join(parts)
        offset = self._pos - first * BLOCK_SIZE
        out = data[offset : offset + (end - self._pos)]
        self._pos += len(out)
        return out

    # -- fetching ------------------------------------------------------------------------------------------
    def _fetch(self, block: int, last_needed: int) -> None:
        self._ahead = min(self._ahead * 2, MAX_READAHEAD_BLOCKS) if block == self._next_sequential else 1
        n_blocks = (self.size + BLOCK_SIZE - 1) // BLOCK_SIZE
        stop = min(n_blocks, max(last_needed + 1, block + self._ahead))
        end_block = block
        while end_block + 1 < stop and end_block + 1 not in self._blocks:
            end_block += 1
        start, end = block * BLOCK_SIZE, min(self.size, (end_block + 1) * BLOCK_SIZE) - 1
        error: YouTubeError | None = None
        try:
            resp = self._client.get(self._url, headers={"Range": f"bytes={start}-{end}"})
        except httpx.HTTPError as exc:
            error = _network_error(exc, f"audio download of {self.name} failed")
        if error is not None:
            raise error
        self.requests += 1
        if resp.status_code >= 300:
            raise _status_error(resp.status_code, f"audio download of {self.name} failed")
        if resp.status_code != 206:
            raise YouTubeError("audio server stopped honouring Range requests", retryable=True)
        got = _CONTENT_RANGE.match(resp.headers.get("Content-Range", "").strip())
        body = resp.content
        self.bytes_fetched += len(body)
        if not got or int(got.group(1)) != start or len(body) != end - start + 1:
            raise YouTubeError("audio server answered the wrong byte range", retryable=True)
        for i, b in enumerate(range(block, end_block + 1)):
            self._blocks[b] = body[i * BLOCK_SIZE : (i + 1) * BLOCK_SIZE]
        while len(self._blocks) > max(CACHE_BLOCKS, end_block - block + 1):  # never the run just fetched
            self._blocks.popitem(last=False)
        self._next_sequential = end_block + 1


def _client(headers: dict[str, str]) -> httpx.Client:
    headers = {k: v for k, v in headers.items() if k.lower() not in ("range", "accept-encoding")}
    headers["Accept-Encoding"] = "identity"  # byte ranges of the file itself, not of a compressed body
    return httpx.Client(
        headers=headers,
        timeout=httpx.Timeout(HTTP_TIMEOUT_S, connect=min(10.0, HTTP_TIMEOUT_S)),
        follow_redirects=True,
        max_redirects=5,
    )


def _download(resp: httpx.Response, tmp_dir: Path, suffix: str, max_bytes: int) -> tuple[Path, int]:
    """The whole body into a temp file, at most max_bytes (AudioError beyond). The caller removes the file."""
    length = resp.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise AudioError(
            f"audio file too large to download: {int(length)} bytes (max {max_bytes})",
            {"bytes": int(length), "maxBytes": max_bytes},
        )
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="musicrec-", suffix=suffix, dir=tmp_dir)
    path = Path(name)
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in resp.iter_raw(64 * 1024):
                written += len(chunk)
                if written > max_bytes:
                    raise AudioError(
                        f"audio file too large to download (max {max_bytes} bytes)", {"maxBytes": max_bytes}
                    )
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, written


# ---------------------------------------------------------------------------------------------------------
# fetch + decode


def fetch_for_analysis(
    video_id: str,
    media_url_template: str,
    *,
    max_seconds: float,
    tmp_dir: str | Path,
    max_download_bytes: int = MAX_DOWNLOAD_BYTES,
) -> FetchedAudio:
    """Resolve the video's audio stream and decode its analysis windows, fetching as little as possible.

    Raises AudioError (bad/too long/too large audio: do not retry) or YouTubeError (`.retryable`).
    """
    url, headers = _resolve(video_id, media_url_template)
    suffix = Path(urlsplit(url).path).suffix[:8] or ".audio"
    with _client(headers) as client:
        tmp_path: Path | None = None
        try:
            reader, tmp_path, fetched = _open_stream(client, url, video_id, Path(tmp_dir), suffix, max_download_bytes)
            if reader is not None:
                return _decode_ranges(reader, max_seconds, url)
            assert tmp_path is not None
            return FetchedAudio(decode_for_analysis(tmp_path, max_seconds), fetched, url)
        finally:
            if tmp_path is not None:
                tmp_path.unlink(missing_ok=True)


def _open_stream(
    client: httpx.Client, url: str, video_id: str, tmp_dir: Path, suffix: str, max_bytes: int
) -> tuple[HttpRangeFile | None, Path | None, int]:
    """(range reader, None, 0) when the server serves byte ranges, else (None, downloaded temp file, bytes)."""
    what = f"audio download of {video_id} failed"
    error: YouTubeError | None = None
    try:
        with client.stream("GET", url, headers={"Range": f"bytes=0-{BLOCK_SIZE - 1}"}) as resp:
            if resp.status_code == 416:  # nothing to give from byte 0: an empty file
                raise AudioError("empty file")
            if resp.status_code >= 300:
                raise _status_error(resp.status_code, what)
            total = _total_size(resp)
            if resp.status_code == 206 and total is not None:
                return HttpRangeFile(client, url, total, resp.read(), name=f"{video_id}{suffix}"), None, 0
            if resp.status_code == 200:  # the server ignores Range: the whole body is coming anyway
                log.debug("%s ignores Range; downloading (max %d bytes)", _safe_url(url), max_bytes)
                return (None, *_download(resp, tmp_dir, suffix, max_bytes))
        # a 206 of unknown total length (or another 2xx): no seeking; fetch it whole, bounded
        with client.stream("GET", url) as resp:
            if resp.status_code >= 300:
                raise _status_error(resp.status_code, what)
            return (None, *_download(resp, tmp_dir, suffix, max_bytes))
    except httpx.HTTPError as exc:
        error = _network_error(exc, what)
    raise error  # outside the except block


def _total_size(resp: httpx.Response) -> int | None:
    got = _CONTENT_RANGE.match(resp.headers.get("Content-Range", "").strip())
    if got and got.group(3) != "*":
        return int(got.group(3))
    return None


def _decode_ranges(reader: HttpRangeFile, max_seconds: float, url: str) -> FetchedAudio:
    try:
        decoded = decode_for_analysis(reader, max_seconds)
    except AudioError:
        if reader.error is None:
            raise
    if reader.error is not None:  # FFmpeg takes a failed read for bad data or for the end: it was the network
        raise reader.error
    log.debug(
        "fetched %d of %d bytes in %d requests from %s",
        reader.bytes_fetched,
        reader.size,
        reader.requests,
        _safe_url(url),
    )
    return FetchedAudio(decoded, reader.bytes_fetched, url)
