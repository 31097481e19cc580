"""A private `redis-server` for the tests: own port, own temp dir, stopped at the end.

Never the machine's shared Redis: whatever listens on 6379 belongs to somebody else.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

from service.tools.procs import free_port, wait_for

INSTALL_HINT = "redis-server is needed by the tests: install it (Debian/Ubuntu: apt-get install redis-server)"


class RedisServer:
    def __init__(self, directory: Path, port: int | None = None):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(INSTALL_HINT)
        self.binary = binary
        self.directory = directory
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 10.0) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(self.directory / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        failed = f"redis-server did not start on port {self.port}; see {self.directory}/redis.log"

        def up() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(failed)
            return self.answers()

        try:
            wait_for(up, timeout, interval=0.02, what="redis-server answering PING")
        except TimeoutError:
            raise RuntimeError(failed) from None
        return self

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None
