"""A local media server for tests: files from a folder over real HTTP on 127.0.0.1, with byte ranges.

    with FakeMediaServer(folder) as media:
        template = media.url + "/media/{videoId}.ogg"
        ...
        media.bytes_served["/media/abc.ogg"]   # body bytes written for that path (all requests together)
        media.requests                         # [{"method", "path", "range", "status", "bytes"}] in order

`ranges=False` makes it answer every GET with the whole file (200, no `Accept-Ranges`), like servers
that ignore `Range`. `fail_next(status, skip=n)` lets `n` requests through and answers the next one
with `status` (once).
"""

from __future__ import annotations

import mimetypes
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from fakes.loopback import LoopbackServer

_TYPES = {
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".oga": "audio/ogg",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".webm": "audio/webm",
    ".wav": "audio/wav",
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 64 * 1024


class FakeMediaServer(LoopbackServer):
    def __init__(self, folder: str | Path, *, ranges: bool = True, prefix: str = "/media/"):
        self.folder = Path(folder)
        self.ranges = ranges
        self.prefix = prefix
        self.bytes_served: Counter[str] = Counter()
        self.requests: list[dict] = []  # {"method", "path", "range" (header or None), "status", "bytes"}
        self._lock = threading.Lock()
        self._fail: tuple[int, int] | None = None  # (requests to let through first, status)
        super().__init__(self._handler(), name="fake-media")

    # -- control -------------------------------------------------------------------------------------------
    def template(self, ext: str) -> str:
        """A MUSICREC_MEDIA_URL_TEMPLATE for files named `<videoId><ext>` in the folder."""
        return f"{self.url}{self.prefix}{{videoId}}{ext}"

    def fail_next(self, status: int = 503, *, skip: int = 0) -> None:
        with self._lock:
            self._fail = (skip, status)

    # -- serving -------------------------------------------------------------------------------------------
    def _take_failure(self) -> int | None:
        with self._lock:
            if self._fail is None:
                return None
            skip, status = self._fail
            if skip > 0:
                self._fail = (skip - 1, status)
                return None
            self._fail = None
            return status

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_HEAD(self):
                self._serve(body=False)

            def do_GET(self):
                self._serve(body=True)

            def _plain(self, status: int, text: str) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _serve(self, body: bool) -> None:
                path = self.path.split("?", 1)[0]
                rng = self.headers.get("Range")
                record = {"method": self.command, "path": path, "range": rng, "status": None, "bytes": 0}
                with fake._lock:
                    fake.requests.append(record)
                status = fake._take_failure()
                if status is not None:
                    record["status"] = status
                    self._plain(status, "injected failure")
                    return
                file = fake.folder / path[len(fake.prefix) :]
                bad = not path.startswith(fake.prefix) or "/" in path[len(fake.prefix) :] or ".." in path
                if bad or not file.is_file():
                    record["status"] = 404
                    self._plain(404, "not found")
                    return
                size = file.stat().st_size
                ctype = _TYPES.get(file.suffix.lower()) or mimetypes.guess_type(file.name)[0]
                start, end = 0, size - 1
                partial = False
                if rng and fake.ranges:
                    m = _RANGE.match(rng.strip())
                    if m and (m.group(1) or m.group(2)):
                        if m.group(1):
                            start = int(m.group(1))
                            end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                        else:  # suffix range: the last N bytes
                            start = max(0, size - int(m.group(2)))
                        if start >= size or start > end:
                            record["status"] = 416
                            self.send_response(416)
                            self.send_header("Content-Range", f"bytes */{size}")
                            self.send_header("Content-Length", "0")
                            self.end_headers()
                            return
                        partial = True
                length = end - start + 1 if size else 0
                record["status"] = 206 if partial else 200
                self.send_response(record["status"])
                self.send_header("Content-Type", ctype or "application/octet-stream")
                self.send_header("Content-Length", str(length))
                if fake.ranges:
                    self.send_header("Accept-Ranges", "bytes")
                if partial:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
                self.end_headers()
                if not body:
                    return
                with file.open("rb") as f:
                    f.seek(start)
                    left = length
                    while left > 0:
                        chunk = f.read(min(_CHUNK, left))
                        if not chunk:
                            break
                        try:
                            self.wfile.write(chunk)
                        except (BrokenPipeError, ConnectionResetError):
                            self.close_connection = True
                            return
                        left -= len(chunk)
                        with fake._lock:
                            fake.bytes_served[path] += len(chunk)
                            record["bytes"] += len(chunk)

        return Handler
