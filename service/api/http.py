"""How `musicrec serve` runs the app under uvicorn: timeouts and limits that keep slow or idle clients
from holding the server.

uvicorn's keep-alive timer starts only after a first response, so a client that sends part of a request
header and then nothing holds its connection forever. `GuardedH11Protocol` closes a connection whose
request header is not complete within HEADER_TIMEOUT_S of its first byte (or of the connection).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5
MAX_CONNECTIONS = 1000  # beyond this uvicorn answers 503 at once instead of queueing without bound
BLOCKING_THREADS = (
    4  # handlers waiting on Qdrant/Redis at once per process: 4 vs 8 on 2 cores, same req/s, lower p99 at 32 clients
)


class GuardedH11Protocol(H11Protocol):
    header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        waiting = self.cycle is None or self.cycle.response_complete
        super().data_received(data)
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()  # a whole request header arrived
        elif waiting and self.header_timer is None:
            self._arm()  # the start of a next request on a kept-alive connection

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self.header_timer = self.loop.call_later(HEADER_TIMEOUT_S, self._header_timeout)

    def _disarm(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _header_timeout(self) -> None:
        self.header_timer = None
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()


def uvicorn_options() -> dict:
    return {
        "http": GuardedH11Protocol,
        "timeout_keep_alive": KEEP_ALIVE_S,
        "limit_concurrency": MAX_CONNECTIONS,
    }
