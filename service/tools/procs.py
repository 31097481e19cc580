"""Local processes for the bench and the tests: a free loopback port, polling with a deadline, and
`musicrec serve` in a subprocess."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

HOST = "127.0.0.1"  # never anything else
T = TypeVar("T")


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel's pick on the loopback interface)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.05, what: str = "condition") -> T:
    """Poll until predicate() is truthy (returns it) or raise TimeoutError at the deadline. No blind sleeps:
    the predicate may raise to stop early (a process that exited, say)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout:g} s")
        time.sleep(interval)


def musicrec_cmd(*args: str) -> list[str]:
    """`musicrec ARGS` with this interpreter (no reliance on the console script being on PATH)."""
    return [sys.executable, "-m", "service.cli", *args]


class ServeProcess:
    """`musicrec serve` in a subprocess on a free loopback port; its stdout and stderr are appended to
    `log_path`. `start()` returns once /healthz answers 200."""

    def __init__(self, env: dict[str, str], log_path: str | Path):
        self.env = env
        self.log_path = Path(log_path)
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.startup_s: float | None = None
        self._log = None

    def start(self, timeout: float = 60.0) -> ServeProcess:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            musicrec_cmd("serve", "--host", HOST, "--port", str(self.port)),
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(self._answers, timeout, interval=0.05, what=f"musicrec serve answering on {self.url}")
        except TimeoutError as exc:
            self.stop()
            raise TimeoutError(f"{exc}: {self.log_tail()}") from None
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.perf_counter() - started
        return self

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"musicrec serve exited with {self.proc.returncode}: {self.log_tail()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run (a crash, as far as the data dir can tell)."""
        self.proc.kill()
        self.proc.wait(timeout=30)
        self._close_log()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM and wait for a clean shutdown; SIGKILL only if it does not come."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
