"""Run the benchmarks: every ``bench/bench_*.py``, each in its own process, one after the other.

    python -m bench              # all of them
    python -m bench api queue    # bench_api.py and bench_queue.py only

Each benchmark's output is printed as it runs. A failing (or timed-out) benchmark does not stop the
others; the exit status is non-zero if any failed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def discover() -> list[str]:
    """Names of the benchmark modules, without the ``bench_`` prefix, sorted."""
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def run(name: str, timeout_s: float) -> tuple[int, float]:
    """Run ``python -m bench.bench_<name>``; its exit status (or -1 on timeout) and seconds taken."""
    start = time.monotonic()
    # Its own process group, so a timeout also ends the servers and workers it started.
    proc = subprocess.Popen([sys.executable, "-m", f"bench.bench_{name}"], cwd=ROOT, start_new_session=True)
    try:
        code = proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        print(f"\nbench_{name}: no result after {timeout_s:.0f}s, stopping it", flush=True)
        _stop_group(proc)
        code = -1
    except KeyboardInterrupt:
        _stop_group(proc)
        raise
    return code, time.monotonic() - start


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait_s in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def main() -> int:
    available = discover()
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=f"Run benchmarks in turn. Available: {', '.join(available)}.",
    )
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all); 'bench_' is optional")
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds before one benchmark is stopped (1800)"
    )
    args = parser.parse_args()
    names = [n.removeprefix("bench_").removesuffix(".py") for n in args.names] or available
    unknown = [n for n in names if n not in available]
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)} (available: {', '.join(available)})")

    results: list[tuple[str, int, float]] = []
    try:
        for name in names:
            print(f"\n=== bench_{name} ===", flush=True)
            code, seconds = run(name, args.timeout)
            results.append((name, code, seconds))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130

    print("\n=== summary ===")
    for name, code, seconds in results:
        outcome = "ok" if code == 0 else ("timed out" if code == -1 else f"failed (exit {code})")
        print(f"bench_{name:<24} {outcome:<18} {seconds:6.1f}s")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
