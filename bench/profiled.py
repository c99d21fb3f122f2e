"""``python -m bench.profiled OUT -m module args...``: run ``module`` as ``__main__`` under cProfile
and write its stats to ``OUT`` when it exits, also on SIGTERM (uvicorn re-raises the signal it
stopped on once it has shut down, which would kill the process before ``python -m cProfile`` writes
anything)."""

from __future__ import annotations

import cProfile
import runpy
import signal
import sys
import time
from typing import NoReturn


def _exit(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[2] != "-m":
        raise SystemExit(__doc__)
    out, module = sys.argv[1], sys.argv[3]
    sys.argv = [module, *sys.argv[4:]]
    signal.signal(signal.SIGTERM, _exit)
    profiler = cProfile.Profile(time.process_time)  # CPU, not wall time: the machine is shared
    try:
        profiler.runcall(runpy.run_module, module, run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
    finally:
        profiler.dump_stats(out)


if __name__ == "__main__":
    main()
