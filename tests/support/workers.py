"""Running the real arq workers in tests: in-process in burst mode, or as subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from shared.config import Settings
from shared.jobs.worker import ResilientWorker

ROOT = Path(__file__).resolve().parents[2]


def _options(worker: str, settings: Settings) -> dict[str, Any]:
    if worker == "extractor":
        from services.extractor.worker import worker_options
    else:
        from services.imagegen.worker import worker_options
    options = worker_options(settings)
    options["cron_jobs"] = []  # periodic tasks are exercised explicitly by the tests that need them
    return options


async def run_burst(worker: str, settings: Settings, *, max_jobs: int | None = None) -> int:
    """Run the worker until its queue is empty; returns the number of jobs it completed."""
    options = _options(worker, settings)
    if max_jobs is not None:
        options["max_jobs"] = max_jobs
    options["poll_delay"] = 0.05
    w = ResilientWorker(**options, burst=True, handle_signals=False)
    try:
        await w.main()
    finally:
        await w.close()
    return w.jobs_complete


class WorkerProcess:
    """A real ``arq`` worker process (for kill tests and multi-process runs)."""

    def __init__(self, worker: str, env: dict[str, str]) -> None:
        # Its log goes to a file, not a pipe: a pipe nobody reads while the test runs fills at
        # 64 KB (an outage makes a worker log a line per failed step) and blocks the worker.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - open as long as the worker runs
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{worker}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    def log(self) -> str:
        """What the worker has logged so far."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(predicate: Any, *, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
