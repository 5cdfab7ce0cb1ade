"""A real ``paymentd serve`` process for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import attrs

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@attrs.define
class RunningDaemon:
    """A daemon started from a TOML text; stopped with SIGTERM like systemd would."""

    directory: Path
    config_text: str
    esl_port: int = 0
    http_port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.directory / "paymentd.log"

    @property
    def ledger_path(self) -> Path:
        return self.directory / "ledger.sqlite3"

    @property
    def config_path(self) -> Path:
        return self.directory / "paymentd.toml"

    def start(self, timeout: float = 30.0) -> None:
        self.esl_port = self.esl_port or free_port()
        self.http_port = self.http_port or free_port()
        # $placeholders: TOML's inline tables are full of braces.
        text = string.Template(self.config_text).substitute(
            esl_port=self.esl_port, http_port=self.http_port, directory=self.directory
        )
        self.config_path.write_text(text)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "paymentd", "serve", "--config", str(self.config_path)],
            cwd=self.directory,
            stdout=log,
            stderr=log,
            env=env,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"paymentd exited at start:\n{self.log_text()}")
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"paymentd did not become healthy:\n{self.log_text()}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    def get(self, path: str, token: str | None = None) -> str:
        request = urllib.request.Request(self.url(path))
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=5) as response:
            return str(response.read().decode())

    async def aget(self, path: str, token: str | None = None) -> str:
        return await asyncio.to_thread(self.get, path, token)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 20.0) -> int | None:
        process = self.process
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise

    def kill(self) -> None:
        """SIGKILL: the crash the ledger must survive."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@attrs.define
class Daemons:
    """The daemons a test starts; whatever still runs at its end is killed."""

    started: list[RunningDaemon] = attrs.Factory(list)

    def new(self, directory: Path, config_text: str) -> RunningDaemon:
        directory.mkdir(parents=True, exist_ok=True)
        daemon = RunningDaemon(directory, config_text)
        self.started.append(daemon)
        return daemon

    def kill_all(self) -> None:
        for daemon in self.started:
            daemon.kill()
