"""Benchmark: the whole `make demo` job (verify on the Berlin walk), and where the time goes.

Times each stage that `geoverify.verify` runs, called one by one with the same options (and
probe with the frame scan in one worker, as `verify` runs them), then the full `geoverify
verify` command; medians of --runs.
Usage: python bench/bench_demo.py [--runs N]
"""

from __future__ import annotations

import argparse
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from geoverify.claims import check_claims, load_claims
from geoverify.footage import read_footage
from geoverify.frames import select_frames
from geoverify.matching import build_index, clear_feature_cache, match_frames
from geoverify.pipeline import VerifyOptions, save_verification, verify
from geoverify.probing import probe
from geoverify.registry import load_registry

BERLIN = Path(__file__).resolve().parent.parent / "samples" / "berlin"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gv-demo-"))
    t0 = time.perf_counter()
    walk = runpy.run_path(str(BERLIN / "make_walk.py"))["main"](work / "walk.mp4")
    make_walk = time.perf_counter() - t0
    opts = VerifyOptions()
    reg_path, claims_path = BERLIN / "registry.geojson", BERLIN / "claims.yaml"
    stages: dict[str, list[float]] = {}

    def timed(name: str, fn):
        t = time.perf_counter()
        value = fn()
        stages.setdefault(name, []).append(time.perf_counter() - t)
        return value

    def one_run() -> None:
        info = timed("probe (hash, worker, metadata)", lambda: probe(walk))
        sel = timed(
            "select frames (scenes + best 4)",
            lambda: select_frames(info, options=opts.frames),
        )
        timed(
            "probe and select frames in one worker",
            lambda: read_footage(walk, options=opts.frames),
        )
        reg = timed("load registry", lambda: load_registry(reg_path))
        clear_feature_cache()  # the first index of the process: its features computed
        index = timed("build match index (SIFT on references)", lambda: build_index(reg))
        timed("build it again (features kept in the process)", lambda: build_index(reg))
        timed("match frames", lambda: match_frames(sel.frames, index))
        timed("load and check claims", lambda: check_claims(reg, load_claims(claims_path)))
        result = verify(walk, registry=reg_path, claims=claims_path)
        out = work / "out"
        shutil.rmtree(out, ignore_errors=True)
        timed("write report (frames, matches, JSON, HTML)", lambda: save_verification(result, out))
        cli = [str(Path(sys.executable).parent / "geoverify"), "verify", str(walk), "--registry",
               str(reg_path), "--claims", str(claims_path), "--out", str(work / "cli")]  # fmt: skip
        shutil.rmtree(work / "cli", ignore_errors=True)
        timed(
            "whole `geoverify verify` command",
            lambda: subprocess.run(cli, check=True, capture_output=True),
        )

    for _ in range(args.runs):
        one_run()
    print(f"walk.mp4 generated in {make_walk:.1f} s (once); runs: {args.runs}; medians:")
    for name, times in stages.items():
        print(f"  {name:45s} {statistics.median(times):6.2f} s")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
