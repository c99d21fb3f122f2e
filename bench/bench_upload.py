"""Upload processing against bare Pillow on a 12-megapixel JPEG.

    python bench/bench_upload.py [--runs 10]

"Bare Pillow" is the least any upload path must do: Image.open + load + resize to the same output
size with the same filter (bicubic, Pillow's default), nothing else. process_upload additionally
sniffs, checks the pixel limit, orients, strips metadata, encodes the JPEG and makes a WebP
thumbnail; the ratio is what all of that costs.

Time: p50/p90 over ``--runs`` in-process runs after one warm-up.
Memory: each way runs once in a fresh subprocess. ``peak RSS`` is ru_maxrss after the run minus
ru_maxrss once imports are done and the file is read: the extra high-water mark of the process,
which is what counts against a container limit and includes Pillow's C-side pixel buffers.
``py peak`` is tracemalloc's peak, which only sees Python objects (the input and output bytes and
any copies of them), so it shows whether we copy buffers around in Python.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import PIL
from PIL import Image, ImageChops, ImageFilter

try:
    import shared  # noqa: F401 - only checking it is importable
except ModuleNotFoundError:  # run as a script from a checkout: bench/ is sys.path[0], not the root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.images.background import remove_background
from shared.images.processing import process_upload
from shared.images.providers.base import ImageRequest
from shared.images.render import render_placeholder

SIZE = (4000, 3000)
MAX_SIDE = 2048
TARGET = (2048, 1536)


def build_photo(path: Path) -> None:
    """Photographic-ish: smooth gradients (sky, vignette) under sensor-like noise, quality 90."""
    width, height = SIZE
    ramp = Image.linear_gradient("L").resize(SIZE)
    radial = Image.radial_gradient("L").resize(SIZE)
    noise = Image.effect_noise(SIZE, 24)
    grain = Image.effect_noise((width // 4, height // 4), 60).resize(SIZE, Image.Resampling.BICUBIC)
    texture = grain.filter(ImageFilter.GaussianBlur(2))
    red = ImageChops.blend(ramp, noise, 0.25)
    green = ImageChops.blend(ImageChops.invert(radial), texture, 0.4)
    blue = ImageChops.blend(ramp.transpose(Image.Transpose.FLIP_TOP_BOTTOM), noise, 0.2)
    Image.merge("RGB", (red, green, blue)).save(path, "JPEG", quality=90)


def bare_pillow(data: bytes) -> None:
    img = Image.open(io.BytesIO(data))
    img.load()
    img.resize(TARGET, Image.Resampling.BICUBIC)


def ours(data: bytes) -> None:
    process_upload(data, max_side=MAX_SIDE)


WAYS: dict[str, Callable[[bytes], None]] = {"bare": bare_pillow, "ours": ours}


def timings(ways: dict[str, Callable[[], object]], runs: int) -> dict[str, tuple[float, float]]:
    """p50 and p90 in ms per way. Runs alternate between the ways so that load from anything else
    on the machine hits them alike; one warm-up each (first-call imports, allocator growth)."""
    samples: dict[str, list[float]] = {name: [] for name in ways}
    for fn in ways.values():
        fn()
    for _ in range(runs):
        for name, fn in ways.items():
            start = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - start) * 1000)
    result = {}
    for name, values in samples.items():
        values.sort()
        result[name] = (statistics.median(values), values[min(len(values) - 1, int(len(values) * 0.9))])
    return result


def child(way: str, path: Path) -> None:
    """One run in a fresh process; prints {"rss_mb", "py_mb"} as JSON."""
    data = path.read_bytes()
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: kilobytes
    tracemalloc.start()
    WAYS[way](data)
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rss_mb": (peak_kb - base_kb) / 1024, "py_mb": py_peak / 2**20}))


def memory(way: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", way, str(path)], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--child", nargs=2, metavar=("WAY", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child[0] == "build":
            build_photo(Path(args.child[1]))
        else:
            child(args.child[0], Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "photo.jpg"
        # Order matters: Linux carries a process's ru_maxrss high-water mark across fork+exec into
        # the child. Building the photo here would leave this process at a few hundred MB and every
        # memory child would start "peaked"; so it is built in a child, and measured before timing.
        subprocess.run([sys.executable, __file__, "--child", "build", str(path)], check=True)
        mem = {way: memory(way, path) for way in WAYS}
        data = path.read_bytes()
        print(
            f"{SIZE[0]}x{SIZE[1]} JPEG q90, {len(data) / 2**20:.1f} MB -> {TARGET[0]}x{TARGET[1]}; "
            f"runs={args.runs}; Pillow {PIL.__version__}; Python {sys.version.split()[0]}"
        )
        times = timings({way: functools.partial(fn, data) for way, fn in WAYS.items()}, args.runs)
    print(f"\n{'':32}{'p50 ms':>9}{'p90 ms':>9}{'peak RSS +MB':>14}{'py peak MB':>12}")
    labels = {"bare": "bare Pillow (open+load+resize)", "ours": "process_upload"}
    for way, (p50, p90) in times.items():
        print(f"{labels[way]:32}{p50:9.1f}{p90:9.1f}{mem[way]['rss_mb']:14.1f}{mem[way]['py_mb']:12.1f}")
    ratio = [times["ours"][i] / times["bare"][i] for i in (0, 1)]
    rss_ratio = mem["ours"]["rss_mb"] / max(mem["bare"]["rss_mb"], 0.1)
    print(f"{'ratio ours/bare':32}{ratio[0]:9.2f}{ratio[1]:9.2f}{rss_ratio:14.2f}")

    # The other two per-image hot paths, at the character size they run at.
    character = ImageRequest(
        prompt="bench",
        width=1024,
        height=1536,
        asset_name="Mara Quinn",
        asset_type="character",
        style_name="Neo noir",
    )
    rendered = Image.open(io.BytesIO(render_placeholder(character)))
    rendered.load()
    other = timings(
        {"render": lambda: render_placeholder(character), "cut": lambda: remove_background(rendered)},
        args.runs,
    )
    print(
        f"\nrender_placeholder 1024x1536 p50 {other['render'][0]:.1f} ms; "
        f"remove_background 1024x1536 p50 {other['cut'][0]:.1f} ms"
    )


if __name__ == "__main__":
    main()
