"""The part every fake server shares: a threading HTTP server on 127.0.0.1 (a free port), served from a daemon
thread between `start()` and `stop()`, or for the span of a `with` block.

    class FakeThing(LoopbackServer):
        def __init__(self):
            super().__init__(Handler, name="fake-thing")   # Handler: a BaseHTTPRequestHandler subclass

    with FakeThing() as thing:
        requests.get(thing.url + "/x")
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # clients that hang up early are normal here
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """The socket is bound at construction, so `port` and `url` are known before `start()`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, name: str):
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._name = name
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """What a client is given; a fake whose API lives below a path adds it."""
        return self.base_url

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self._name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for serve_forever(), so only after start()
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
