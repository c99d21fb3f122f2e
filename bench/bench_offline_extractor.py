"""Parse + preview + describe with the offline extractor on every sample screenplay.

    python bench/bench_offline_extractor.py [--runs 5]

Each step is timed on its own; the figure shown is the median of ``--runs`` runs. The samples
are read from ``../shared/samples`` beside the checkout. No database, no network, no LLM.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # runnable as a plain script as well as with ``python -m``

from shared.extraction.offline import describe_entities, preview_entities  # noqa: E402
from shared.extraction.schemas import ENTITY_TYPES  # noqa: E402
from shared.scripts.parser import parse_script  # noqa: E402

SAMPLES = ROOT / ".." / "shared" / "samples"
T = TypeVar("T")


def timed(runs: int, step: Callable[[], T]) -> tuple[T, float]:
    """The step's result and its median wall time in milliseconds."""
    times: list[float] = []
    result = step()  # warm-up: regex compilation is paid once per process, not per script
    for _ in range(runs):
        started = time.perf_counter()
        result = step()
        times.append((time.perf_counter() - started) * 1000)
    return result, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not SAMPLES.is_dir():
        sys.exit(f"no samples at {SAMPLES.resolve()}")
    header = (
        "file",
        "KB",
        "scenes",
        "char",
        "prop",
        "loc",
        "extra",
        "parse ms",
        "preview ms",
        "describe ms",
        "total ms",
    )
    rows: list[tuple[str, ...]] = []
    for path in sorted(SAMPLES.iterdir()):
        if path.suffix not in {".fountain", ".txt"}:
            continue
        text = path.read_text(encoding="utf-8")
        script, parse_ms = timed(args.runs, partial(parse_script, text))
        entities, preview_ms = timed(args.runs, partial(preview_entities, script))
        _, describe_ms = timed(args.runs, partial(describe_entities, script, entities))
        counts = Counter(entity.type for entity in entities)
        rows.append(
            (
                path.name,
                f"{len(text.encode()) / 1024:.0f}",
                str(len(script.scenes)),
                *(str(counts[kind]) for kind in ENTITY_TYPES),
                f"{parse_ms:.1f}",
                f"{preview_ms:.1f}",
                f"{describe_ms:.1f}",
                f"{parse_ms + preview_ms + describe_ms:.1f}",
            )
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * width for width in widths), *rows]:
        print(
            "  ".join(
                cell.ljust(width) if i == 0 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
        )
    print(f"\nmedian of {args.runs} runs per step, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
