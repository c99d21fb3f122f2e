"""Helpers the benchmarks share: their own database and Redis, settings, subprocess servers and
workers, CPU accounting, percentiles and a table printer.

Benchmarks never touch the development or test databases: they rebuild ``filmassets_bench`` with
the Alembic migrations and use Redis logical database 13 with their own queue names.
"""

from __future__ import annotations

import asyncio
import fcntl
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from shared.config import Settings

ROOT = Path(__file__).resolve().parents[1]
PG_SERVER = os.environ.get("FILMASSETS_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
BENCH_DB = os.environ.get("FILMASSETS_BENCH_DB", "filmassets_bench")
BENCH_REDIS_DB = int(os.environ.get("FILMASSETS_BENCH_REDIS_DB", "13"))
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- settings and environment


def bench_settings(tmp: Path, **overrides: object) -> Settings:
    """Settings for a benchmark run: the bench database, Redis DB 13, queues of their own, local
    storage under ``tmp``, and WARNING logs (per-request INFO lines would be measured otherwise)."""
    run = uuid.uuid4().hex[:6]
    values: dict[str, object] = {
        "environment": "development",
        "database_url": f"{PG_SERVER}/{BENCH_DB}",
        "redis_url": f"redis://{HOST}:6379/{BENCH_REDIS_DB}",
        "extractor_queue": f"bench-{run}:extractor",
        "imagegen_queue": f"bench-{run}:imagegen",
        "storage_local_dir": tmp / "storage",
        "log_level": "WARNING",
        "log_json": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]  # pydantic-settings takes keyword values


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a subprocess needs to build the same ``Settings`` (any inherited
    ``FILMASSETS_*`` variable is dropped so the developer's own configuration can't leak in)."""
    env = settings.as_env(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def asyncpg_dsn(settings: Settings) -> str:
    """The settings' database URL in the form asyncpg itself accepts."""
    return settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


# --- database and Redis


@contextmanager
def exclusive_run(wait_s: float = 900.0) -> Iterator[None]:
    """Hold the machine-wide benchmark lock for a whole run. Two runs at once would drop each
    other's database mid-run (and compete for the same cores), so a second run waits here."""
    path = Path(tempfile.gettempdir()) / f"{BENCH_DB}.lock"
    with path.open("a") as lock:
        deadline = time.monotonic() + wait_s
        announced = False
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    print(f"another benchmark run holds {path}; waiting up to {wait_s:.0f}s", flush=True)
                    announced = True
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path} still held after {wait_s:.0f}s") from None
                time.sleep(1.0)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


async def prepare_database(settings: Settings) -> None:
    """Drop and recreate the bench database, then build its schema with ``alembic upgrade head``."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    server, name = settings.database_url.rsplit("/", 1)
    admin = create_async_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    env = {**os.environ, "FILMASSETS_DATABASE_URL": settings.database_url}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"alembic upgrade head failed:\n{done.stderr[-3000:]}")


async def flush_redis(settings: Settings) -> None:
    """Empty the benchmarks' Redis logical database (never the others)."""
    from redis.asyncio import Redis

    client: Redis = Redis.from_url(settings.redis_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


async def redis_pid(settings: Settings) -> int:
    """The Redis server's process id (``INFO server``), to count its CPU apart from the rest."""
    from redis.asyncio import Redis

    client: Redis = Redis.from_url(settings.redis_url)
    try:
        info = await client.info("server")
    finally:
        await client.aclose()
    return int(info["process_id"])


# --- figures


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks; NaN when
    there are no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


Cell = str | int | float | None


def _cell(value: Cell, digits: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return value


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], *, digits: int = 1) -> None:
    """Print an aligned table: first column left-aligned, the others right-aligned; floats with
    ``digits`` decimals (format a cell as a string to choose otherwise)."""
    text = [[_cell(c, digits) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in text:
        print(line(row))


# --- CPU accounting (Linux /proc)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (``/proc/<pid>/stat``)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # comm may contain spaces: split after its closing paren. fields[0] is field 3 (state), so
    # utime and stime (fields 14 and 15 of proc(5)) are fields[11] and fields[12].
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_cpu_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, summed over all cores."""
    parts = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


def postgres_cpu_s() -> dict[int, float]:
    """CPU seconds so far of every process named ``postgres`` (server and backends), by pid."""
    found: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        if text[text.index("(") + 1 : text.rindex(")")] == "postgres":
            fields = text[text.rindex(")") + 2 :].split()
            found[int(text.split(" ", 1)[0])] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return found


class CpuMeter:
    """Where the machine's CPU went between ``start()`` and ``stop()``: named processes, PostgreSQL
    (backends that ended meanwhile are missed, backends that started count whole), everything
    else, and wall time. Figures are percent of one core (a 2-core machine tops out at 200)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._start: dict[str, float] = {}
        self._pg: dict[int, float] = {}

    def _read(self) -> dict[str, float]:
        values = {name: process_cpu_s(pid) for name, pid in self.pids.items()}
        values["busy"], values["total"] = machine_cpu_s()
        values["wall"] = time.monotonic()
        return values

    def start(self) -> None:
        self._start = self._read()
        self._pg = postgres_cpu_s()

    def stop(self) -> dict[str, float]:
        """``<name>_pct`` (percent of one core) and ``<name>_cpu_s`` for each name, ``postgres`` and
        ``other``; ``machine_pct``, ``wall_s`` and ``cores`` for the whole machine."""
        end, pg = self._read(), postgres_cpu_s()
        wall = end["wall"] - self._start["wall"]
        cores = (end["total"] - self._start["total"]) / max(wall, 1e-9)
        used = {name: end[name] - self._start[name] for name in self.pids}
        used["postgres"] = sum(v - self._pg.get(pid, 0.0) for pid, v in pg.items())
        busy = end["busy"] - self._start["busy"]
        used["other"] = max(0.0, busy - sum(used.values()))
        result = {f"{name}_pct": v * 100 / wall for name, v in used.items()}
        result.update({f"{name}_cpu_s": v for name, v in used.items()})
        result["machine_pct"] = busy * 100 / wall
        result["wall_s"] = wall
        result["cores"] = cores
        return result


# --- subprocesses


def free_port() -> int:
    """A loopback port that was free a moment ago (the caller retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


class Child:
    """A subprocess whose stderr and stdout go to a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            list(argv),
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds. Safe to call twice."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()

    def __enter__(self) -> Child:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class Server(Child):
    """A uvicorn process serving one app on a loopback port."""

    def __init__(
        self,
        name: str,
        app: str,
        env: dict[str, str],
        log_dir: Path,
        *,
        port: int,
        factory: bool = False,
        profile: Path | None = None,
    ) -> None:
        self.port = port
        self.base_url = f"http://{HOST}:{port}"
        profiler = ["-m", "bench.profiled", str(profile)] if profile else []
        argv = [
            sys.executable,
            *profiler,
            "-m",
            "uvicorn",
            app,
            *(["--factory"] if factory else []),
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            "1",
            "--loop",
            "auto",  # uvloop when installed
            "--http",
            "auto",  # httptools when installed
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        super().__init__(name, argv, env, log_dir)


def start_server(
    name: str,
    app: str,
    env: dict[str, str],
    log_dir: Path,
    *,
    factory: bool = False,
    health_path: str = "/healthz",
    timeout: float = 30.0,
    profile: Path | None = None,
) -> Server:
    """Start uvicorn for ``app`` ("module:attr") on a free loopback port and return once
    ``health_path`` answers 200. Retries on another port if the chosen one was taken. With
    ``profile``, the server runs under cProfile and writes its stats there when stopped."""
    for _ in range(3):
        server = Server(name, app, env, log_dir, port=free_port(), factory=factory, profile=profile)
        try:
            if _wait_healthy(server, health_path, timeout):
                return server
        except BaseException:
            server.stop()
            raise
        tail = server.log_tail()
        server.stop()
        if "address already in use" not in tail.lower():
            raise RuntimeError(f"{name} did not come up:\n{tail}")
    raise RuntimeError(f"{name}: no free port after 3 tries")


def _wait_healthy(server: Server, path: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=server.base_url, timeout=1.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if not server.alive():
                return False
            try:
                if client.get(path).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise TimeoutError(f"{server.name} did not answer {path} within {timeout:.0f}s:\n{server.log_tail()}")


def start_worker(name: str, module: str, env: dict[str, str], log_dir: Path) -> Child:
    """One of our worker processes (``python -m services.extractor`` / ``services.imagegen``)."""
    return Child(name, [sys.executable, "-m", module], env, log_dir)


def start_arq_worker(name: str, settings_ref: str, env: dict[str, str], log_dir: Path) -> Child:
    """An ``arq`` worker process (``python -m arq module.WorkerSettings``) with ``env``."""
    return Child(name, [sys.executable, "-m", "arq", settings_ref], env, log_dir)


def arq_health_key(options: dict[str, Any]) -> str:
    """The Redis key an arq worker built from ``options`` writes its health check to."""
    from arq.constants import health_check_key_suffix

    key: str | None = options.get("health_check_key")
    return key or str(options["queue_name"]) + health_check_key_suffix


async def wait_arq_ready(redis_url: str, health_key: str, worker: Child, *, within_s: float = 30.0) -> None:
    """Wait until ``worker`` wrote its health-check key ``health_key`` (it does on its first poll)."""
    from redis.asyncio import Redis

    client: Redis = Redis.from_url(redis_url)
    deadline = time.monotonic() + within_s
    try:
        while not await client.exists(health_key):
            if not worker.alive():
                raise RuntimeError(f"{worker.name} exited:\n{worker.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{worker.name} not ready within {within_s:.0f}s:\n{worker.log_tail()}")
            await asyncio.sleep(0.1)
    finally:
        await client.aclose()


def run_module(argv: Sequence[str], env: dict[str, str] | None = None, timeout: float = 120.0) -> str:
    """Run ``python -m ...`` in the repo root; its stdout, or an error with its stderr."""
    done = subprocess.run(
        [sys.executable, "-m", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit`` so ``finally`` blocks stop the servers and workers a
    benchmark started (``python -m bench`` sends SIGTERM to a benchmark that ran too long)."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def try_uvloop() -> str:
    """Install uvloop's event loop policy when available; return the loop's name."""
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


async def scene_ids(client: Any, pid: str, auth: dict[str, str]) -> list[str]:
    """Every scene id of the project's current script, in order, following the scene list's pages."""
    ids: list[str] = []
    while True:
        r = await client.get(f"/v1/projects/{pid}/scenes", params={"offset": len(ids)}, headers=auth)
        r.raise_for_status()
        page = r.json()
        ids += [x["id"] for x in page["items"]]
        if not page["items"] or len(ids) >= page["total"]:
            return ids


def count_statements(engine: Any) -> list[int]:
    """A one-cell counter of the statements run on ``engine`` (an AsyncEngine): SQLAlchemy's, and
    those lean reads run on the driver connection (``shared/db_raw.py``), which asyncpg's query
    logger reports. SQLAlchemy's own BEGIN/COMMIT reach that logger too and are not counted."""
    from sqlalchemy import event

    counter = [0]
    watched: set[int] = set()

    def count(*_: Any) -> None:
        counter[0] += 1

    def driver_query(record: Any) -> None:
        if not record.query.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            counter[0] += 1

    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        driver = record.driver_connection
        if driver is not None and id(driver) not in watched:
            watched.add(id(driver))
            driver.add_query_logger(driver_query)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    event.listen(engine.sync_engine, "checkout", checked_out)
    return counter
