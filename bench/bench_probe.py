"""Benchmark: `geoverify probe` (hash included) on a 1 GiB video vs `sha256sum` on the same file.

Generates bench/out/big.mp4 (about 1 GiB of MPEG-4 Part 2 video at 1080p, deterministic noise
frames so the encoder cannot compress them away), then times, with a warm page cache:
  - reference: `sha256sum FILE` (coreutils), and `openssl dgst -sha256 FILE`, which uses the
    CPU's SHA instructions as Python's hashlib does and so is the stricter reference
  - geoverify: `geoverify probe --json FILE` (a full CLI run: interpreter start, worker process,
    demux of the index, first-frame decode, SHA-256 of every byte)
Prints the medians of several runs and the throughput ratio (>= 0.9 is the target).
Usage: python bench/bench_probe.py [--runs N] [--size-mib N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np

OUT = Path(__file__).resolve().parent / "out"


def make_big(path: Path, size_mib: int) -> None:
    if path.exists() and path.stat().st_size >= size_mib * 2**20:
        return
    rng = np.random.default_rng(20261126)
    noise = [rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8) for _ in range(8)]
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.options = {"qscale": "2", "g": "60"}
        stream.codec_context.qscale = 2
        i = 0
        while True:
            frame = av.VideoFrame.from_ndarray(noise[i % len(noise)], format="rgb24")
            out.mux(stream.encode(frame))
            i += 1
            if i % 50 == 0 and tmp.stat().st_size >= size_mib * 2**20:
                break
        out.mux(stream.encode())
    tmp.rename(path)


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    big = OUT / "big.mp4"
    make_big(big, args.size_mib)
    size = big.stat().st_size
    geoverify = shutil.which("geoverify") or str(Path(sys.executable).parent / "geoverify")
    commands = {
        "sha256sum": ["sha256sum", str(big)],
        "openssl sha256": ["openssl", "dgst", "-sha256", str(big)],
        "geoverify probe": [geoverify, "probe", "--json", str(big)],
    }
    for cmd in commands.values():  # warm the page cache and the interpreter's files
        timed(cmd)
    results: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):  # interleaved, so drift hits both alike
        for name, cmd in commands.items():
            results[name].append(timed(cmd))
    print(f"file: {big.name}, {size / 2**20:.0f} MiB, runs: {args.runs}")
    medians = {name: statistics.median(times) for name, times in results.items()}
    for name, med in medians.items():
        print(f"{name:16s} median {med:6.3f} s  ({size / 2**20 / med:7.1f} MiB/s)")
    for ref in ("sha256sum", "openssl sha256"):
        ratio = medians[ref] / medians["geoverify probe"]
        print(f"throughput ratio geoverify / {ref}: {ratio:.2f} (target >= 0.90)")


if __name__ == "__main__":
    main()
