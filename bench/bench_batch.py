"""Benchmark: geoverify batch on a folder of short clips, against a shell loop of `verify`.

Builds N distinct clips (default 24) from the real sample media and real photographs: the
Karma and iPhone clips once each, and 2 s generated pans over the Berlin photographs and the
matching test images (deterministic; no two clips share their bytes, so no item is skipped as
a duplicate). Then times, in the same run:
  - reference: a shell loop of `geoverify verify` over the same clips (what a user would do);
  - `geoverify batch --workers 1` (one thread, and automatic threads) and `--workers 2` (one
    thread each: the local process pool);
  - the same task on a Dask LocalCluster (2 workers, 1 thread each);
  - a resumed run over the finished batch.
Prints medians of --runs runs (default 1: each run is minutes) and the ratios in clips per
minute. All runs use --affine off, so that the figures measure the batch, not the affine pass.
Usage: python bench/bench_batch.py [--clips N] [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GEOVERIFY = Path(sys.executable).parent / "geoverify"
REGISTRY = ROOT / "samples" / "berlin" / "registry.geojson"
CLAIMS = ROOT / "samples" / "berlin" / "claims.yaml"


def make_clips(folder: Path, n: int) -> list[Path]:
    import av
    import cv2
    import numpy as np

    sources = [
        ROOT / "samples" / "berlin" / "photos" / "berlin_01.jpg",
        ROOT / "samples" / "berlin" / "photos" / "berlin_02.jpg",
        ROOT / "tests" / "data" / "image_matching" / "graf1.png",
        ROOT / "tests" / "data" / "image_matching" / "aero1.jpg",
        ROOT / "tests" / "data" / "image_matching" / "box_in_scene.png",
    ]
    clips = []
    for i in range(n):
        path = folder / f"clip_{i:03d}.mp4"
        if i == 0:  # the real clips once each: every clip is distinct bytes
            shutil.copyfile(ROOT / "samples" / "karma" / "karma.mp4", path)
        elif i == 1:
            shutil.copyfile(ROOT / "tests" / "data" / "video_metadata" / "iphone6_with-gps.mov",
                            path.with_suffix(".mov"))  # fmt: skip
            path = path.with_suffix(".mov")
        else:
            img = cv2.imread(str(sources[i % len(sources)]))
            h, w = img.shape[:2]
            scale = 720 / h
            img = cv2.resize(img, (round(w * scale), 720))
            with av.open(str(path), "w") as out:
                stream = out.add_stream("libx264", rate=25)
                stream.width, stream.height, stream.pix_fmt = 960, 720, "yuv420p"
                for k in range(50):  # 2 s panning window
                    x = min(img.shape[1] - 960, (k * 4 + i * 7) % max(1, img.shape[1] - 960))
                    crop = np.ascontiguousarray(img[:, x : x + 960])
                    frame = av.VideoFrame.from_ndarray(crop, format="bgr24")
                    for packet in stream.encode(frame):
                        out.mux(packet)
                for packet in stream.encode():
                    out.mux(packet)
        clips.append(path)
    return clips


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=False, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "clips").mkdir()
        clips = make_clips(work / "clips", args.clips)
        times: dict[str, list[float]] = {}

        def add(name: str, seconds: float) -> None:
            times.setdefault(name, []).append(seconds)

        for run in range(args.runs):
            loop = 0.0
            for c in clips:
                loop += timed([str(GEOVERIFY), "-q", "verify", str(c), "--registry", str(REGISTRY),
                               "--claims", str(CLAIMS), "--out", str(work / f"v{run}" / c.stem),
                               "--affine", "off"])  # fmt: skip
            add("shell loop of verify", loop)
            for w, threads in ((1, 1), (1, 0), (2, 1)):
                out = work / f"b{run}_{w}_{threads}"
                name = f"batch --workers {w}" + (" (1 thread)" if threads else " (automatic)")
                if w == 2:
                    name = "batch --workers 2"
                add(name, timed([
                    str(GEOVERIFY), "-q", "batch", str(work / "clips"), "--registry",
                    str(REGISTRY), "--claims", str(CLAIMS), "--out", str(out),
                    "--workers", str(w), "--threads-per-worker", str(threads),
                    "--affine", "off"]))  # fmt: skip
            resume = [
                str(GEOVERIFY), "-q", "batch", str(work / "clips"), "--registry", str(REGISTRY),
                "--claims", str(CLAIMS), "--out", str(work / f"b{run}_2_1"), "--affine", "off",
            ]  # fmt: skip
            add("resumed batch (all done)", timed(resume))
            from dask.distributed import LocalCluster

            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=None)  # fmt: skip
            try:
                add("batch on a Dask LocalCluster (2 workers)", timed([
                    str(GEOVERIFY), "-q", "batch", str(work / "clips"), "--registry",
                    str(REGISTRY), "--claims", str(CLAIMS), "--out", str(work / f"d{run}"),
                    "--scheduler", cluster.scheduler_address, "--affine", "off"]))  # fmt: skip
            finally:
                cluster.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    n = len(clips)
    print(f"{n} clips; medians of {args.runs} run(s); clips per minute (higher is better)")
    for name, s in med.items():
        print(f"  {name:42s} {s:8.1f} s   {60 * n / s:7.1f} clips/min")
    base = med["shell loop of verify"]
    print(f"batch --workers 2 vs shell loop:      {base / med['batch --workers 2']:.2f}x")
    print(f"batch --workers 2 vs --workers 1, one thread each:  "
          f"{med['batch --workers 1 (1 thread)'] / med['batch --workers 2']:.2f}x")  # fmt: skip
    print(f"batch --workers 2 vs --workers 1 with automatic threads:  "
          f"{med['batch --workers 1 (automatic)'] / med['batch --workers 2']:.2f}x")  # fmt: skip
    dask = med["batch on a Dask LocalCluster (2 workers)"]
    print(f"Dask LocalCluster vs local pool (2):  {med['batch --workers 2'] / dask:.2f}x")
    print(f"Dask overhead per clip:               {(dask - med['batch --workers 2']) / n:+.2f} s")
    print(f"resumed run / first run (2 workers):  "
          f"{100 * med['resumed batch (all done)'] / med['batch --workers 2']:.1f} %")  # fmt: skip


if __name__ == "__main__":
    main()
