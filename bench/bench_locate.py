"""Benchmark: ``geoverify.resection`` (solve, ambiguity search, Monte Carlo) on real points.

The Berlin photograph 01 with its ten surveyed points (samples/berlin/photos/berlin_gcp_list.txt),
3D and 2D modes, 300 Monte Carlo samples (the default). The reference in the same run is one bare
OpenCV solve of the same points (SQPnP then Levenberg-Marquardt): the ratio says what the search
for every solution and the uncertainty cost on top of it. Medians of --runs.
Usage: python bench/bench_locate.py [--runs N]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np
from _common import timed

from geoverify.models import LatLon
from geoverify.resection import locate
from geoverify.resection._frame import LocalFrame

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "samples" / "berlin" / "photos" / "berlin_01.jpg"
GCP = ROOT / "samples" / "berlin" / "photos" / "berlin_gcp_list.txt"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows = [line.split() for line in GCP.read_text().splitlines()[1:] if line.endswith("01.jpg")]
    pts = np.array([[float(v) for v in r[:5]] for r in rows])  # lon lat alt x y
    with tempfile.TemporaryDirectory() as tmp:
        points = Path(tmp) / "points.csv"
        lines = ["x_px,y_px,lat,lon,alt_m"] + [f"{x},{y},{la},{lo},{a}" for lo, la, a, x, y in pts]
        points.write_text("\n".join(lines) + "\n")
        frame = LocalFrame(LatLon(float(pts[:, 1].mean()), float(pts[:, 0].mean())))
        obj = np.ascontiguousarray(frame.to_enu(pts[:, 1], pts[:, 0], pts[:, 2]))
        img = np.ascontiguousarray(pts[:, 3:5])
        f = 35.0 / 36.0 * 3264
        k = np.array([[f, 0, 1632.0], [0, f, 1224.0], [0, 0, 1.0]])

        def bare() -> None:
            _ok, rvec, tvec = cv2.solvePnP(obj, img, k, None, flags=cv2.SOLVEPNP_SQPNP)
            cv2.solvePnPRefineLM(obj, img, k, None, rvec, tvec)

        reference = timed(bare, args.runs * 20, warmup=True)
        print(f"OpenCV SQPnP + LM, 10 points: {reference * 1e3:.2f} ms")
        for mode in ("3d", "2d"):
            t = timed(lambda m=mode: locate(PHOTO, points, mode=m), args.runs, warmup=True)
            print(
                f"geoverify.resection --mode {mode}, 10 points, 300 samples: {t:.3f} s "
                f"({t / reference:,.0f}x the bare solve; goal <= 1 s)"
            )


if __name__ == "__main__":
    main()
