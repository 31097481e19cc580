"""Dependencies that come and go: wait for Redis and Qdrant at start-up, and log a broker outage once.

Dramatiq's consumers retry a lost Redis every 3 s and log two lines per queue each time (16 lines every
3 s here); operators need one line when the broker goes away and one when it is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from service.sync.jobs import QUEUES

log = logging.getLogger("musicrec.worker")

CONSUMER_LOGGERS = [f"dramatiq.worker.ConsumerThread({q}{suffix})" for q in QUEUES for suffix in ("", ".DQ")]


class BrokerOutageLog(logging.Filter):
    """Collapses Dramatiq's per-consumer reconnect noise into one line per state change.

    The first connection error of an outage is logged as one line; the rest (and the "Restarting
    consumer" lines) are dropped. A watcher thread pings the broker while it is down and logs when it
    answers again.
    """

    def __init__(self, ping: Callable[[], object], interval_s: float = 1.0):
        super().__init__()
        self.ping = ping
        self.interval_s = interval_s
        self.down = False
        self.lock = threading.Lock()

    def install(self) -> BrokerOutageLog:
        for name in CONSUMER_LOGGERS:
            logging.getLogger(name).addFilter(self)
        return self

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "connection error" in message:
            with self.lock:
                first = not self.down
                self.down = True
            if first:
                reason = message.split("connection error: ", 1)[-1]
                log.warning("the broker (Redis) is unreachable; the workers retry until it is back (%s)", reason)
                threading.Thread(target=self._watch, name="broker-watch", daemon=True).start()
            return False
        return not (self.down and "Restarting consumer" in message)

    def _watch(self) -> None:
        while True:
            time.sleep(self.interval_s)  # a watcher's pace, not synchronisation
            try:
                self.ping()
            except Exception:
                continue
            with self.lock:
                self.down = False
            log.info("the broker (Redis) is reachable again")
            return


def wait_until_reachable(checks: dict[str, Callable[[], object]], *, max_delay_s: float = 10.0) -> None:
    """Block until every check passes, logging one line when a dependency is found down and one when
    it comes up (a worker started before Redis or Qdrant waits instead of dying)."""
    delay = 0.5
    waiting: set[str] = set()
    while True:
        failing = {}
        for name, check in checks.items():
            try:
                check()
            except Exception as exc:
                failing[name] = exc
        for name in sorted(waiting - set(failing)):
            log.info("%s is reachable", name)
        for name in sorted(set(failing) - waiting):
            log.warning("waiting for %s: %s", name, str(failing[name])[:200])
        waiting = set(failing)
        if not waiting:
            return
        time.sleep(delay)  # back-off between attempts, not synchronisation
        delay = min(delay * 2, max_delay_s)
