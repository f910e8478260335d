"""Benchmark: matching one 1280x720 frame against registries of 1, 10, 100 and 1,000 landmarks.

Reference images are generated crops (640x480, seeded) of the real photographs in tests/data;
landmark 0 is the Berliner Dom photograph berlin_03.jpg and the query frame is berlin_01.jpg
scaled to 1280x720, so every registry holds the right answer. Prints the median time per frame
over --runs, the verdict, and the ratio of the 1,000-landmark time to the 10-landmark time
(target: under 3x).
Usage: python bench/bench_match.py [--runs N] [--sizes 1,10,100,1000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from geoverify.matching import build_index, load_image, match_image
from geoverify.registry import Landmark, ReferenceImage, Registry

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
BERLIN = Path(__file__).resolve().parent.parent / "samples" / "berlin" / "photos"
SOURCES = [
    DATA / "image_matching" / "graf1.png",
    DATA / "image_matching" / "aero1.jpg",
    DATA / "image_matching" / "box_in_scene.png",
    DATA / "image_matching" / "aero3.jpg",
    DATA / "image_matching" / "graf3.png",
]


def make_registry(folder: Path, n: int) -> Registry:
    rng = np.random.default_rng(1000)
    sources = [load_image(p) for p in SOURCES]
    marks = []
    dom = load_image(BERLIN / "berlin_03.jpg")
    cv2.imwrite(str(folder / "ref0000.jpg"), cv2.resize(dom, (1280, 960)))
    marks.append(
        Landmark(
            id="l0000",
            name="dom",
            reference_images=(ReferenceImage(path="ref0000.jpg", sha256=""),),
        )
    )
    for i in range(1, n):
        src = sources[i % len(sources)]
        scale = rng.uniform(0.6, 1.0) * max(640 / src.shape[1], 480 / src.shape[0], 1.0)
        img = cv2.resize(src, None, fx=scale, fy=scale) if scale != 1.0 else src
        y = int(rng.integers(0, max(1, img.shape[0] - 480)))
        x = int(rng.integers(0, max(1, img.shape[1] - 640)))
        crop = img[y : y + 480, x : x + 640]
        name = f"ref{i:04d}.jpg"
        cv2.imwrite(str(folder / name), crop)
        marks.append(
            Landmark(
                id=f"l{i:04d}", name=name, reference_images=(ReferenceImage(path=name, sha256=""),)
            )
        )
    return Registry(name="bench", landmarks=tuple(marks), path=str(folder / "r.geojson"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="1,10,100,1000")
    args = parser.parse_args()
    query = cv2.resize(load_image(BERLIN / "berlin_01.jpg"), (1280, 720))
    per_frame: dict[int, float] = {}
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            reg = make_registry(Path(tmp), n)
            t0 = time.perf_counter()
            index = build_index(reg)
            build = time.perf_counter() - t0
            match_image(query, index)  # warm up
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                m = match_image(query, index)
                times.append(time.perf_counter() - t0)
        per_frame[n] = statistics.median(times)
        best = m.best.landmark_id if m.best else "-"
        print(
            f"N={n:5d}  index {build:7.1f} s  {per_frame[n] * 1e3:7.0f} ms/frame "
            f"({1 / per_frame[n]:5.2f} fps)  verdict {m.verdict} {best}  controls {m.controls}"
        )
    if 10 in per_frame and 1000 in per_frame:
        print(f"time(1000) / time(10) = {per_frame[1000] / per_frame[10]:.2f} (target < 3)")


if __name__ == "__main__":
    main()
