"""A real browser against a real server: the API under uvicorn on one loopback port, the real
workers as subprocesses, and a small static page served from a second port (another origin)."""

from __future__ import annotations

import functools
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shared.config import Settings
from tests.conftest import settings_env
from tests.support.workers import ROOT, WorkerProcess

PAGE_DIR = Path(__file__).parent / "page"
CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium, never a browser downloaded by Playwright. No sandbox: CI runs as root.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per file on stderr would only bury a failure's output


@dataclass
class Site:
    origin: str


@pytest.fixture
def site() -> Iterator[Site]:
    """The page's own origin: a second loopback port, so each API call is cross-origin."""
    handler = functools.partial(_QuietHandler, directory=str(PAGE_DIR))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(origin=f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class LiveApi:
    url: str
    settings: Settings
    log: Path

    def tail(self) -> str:
        """The server's last words, for a failure message."""
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the API did not answer within {timeout} s:\n{log.read_text()[-4000:]}")


@pytest.fixture
def live_api(migrated: str, settings: Settings, clean: None, site: Site, tmp_path: Path) -> Iterator[LiveApi]:
    """``python -m services.api`` (uvicorn) plus both workers, all on this run's database and queues."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    served = settings.model_copy(
        update={
            "api_port": port,
            # Signed image URLs must point at this server, not the default port.
            "public_base_url": url,
            "shutdown_grace_s": 2,
            "relay_interval_s": 0.5,
        }
    )
    env = settings_env(served)
    env["FILMASSETS_CORS_ORIGINS"] = json.dumps([site.origin])
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.api"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    workers: list[WorkerProcess] = []
    try:
        _wait_healthy(url, proc, log)
        workers = [WorkerProcess("extractor", env), WorkerProcess("imagegen", env)]
        yield LiveApi(url=url, settings=served, log=log)
    finally:
        for worker in workers:
            worker.stop(timeout=10)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.fixture
def chromium_path() -> str:
    if not CHROMIUM.exists():
        # CI installs it (.ci/run); a developer without it gets a clear reason, not a failure.
        pytest.skip("Debian's chromium is not installed: apt-get install -y chromium")
    return str(CHROMIUM)
