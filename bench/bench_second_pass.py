"""Benchmark: the second pass, learned (XFeat + LighterGlue) against affine (ASIFT), product path.

``match_image`` with each ``second_pass`` on one registry of four landmarks (graf1, aero1, box,
leuvenA), whose too few own controls bring in the background photographs (24 controls a
frame, the same for every pass). Frames: the Oxford graffiti views 2-6 (ground-truth
homographies H1to2p..H1to6p: the largest distance of graf1's four corners mapped by our
homography from the truth, in pixels), aero3, box_in_scene, leuvenB, and unrelated photographs
(the Berlin sample's, none of the landmarks) as controls. Per frame and pass: the verdict, the
inliers, the best control's score, the corner error, CPU seconds (this process, all threads)
and wall seconds, medians of ``--runs`` runs after one warm-up run (the references' and
controls' features are computed in the warm-up and kept, as in a long job; the frame's own
features are computed again in every run, as for a new frame). The plain pass
alone (``second_pass="off"``) is the reference the others are given as ratios of.

The affine pass (and ``auto``, which falls back to it) is timed only on ``--affine-frames``
(default graf5: the pair both passes match; a run of every frame takes most of an hour on two
busy cores). ``flat``: a no-match frame without texture (berlin_01 blurred).

Usage: python bench/bench_second_pass.py [--runs 3] [--passes off,learned,affine]
       [--affine-frames graf5.png|all]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from shapely.geometry import Point

from geoverify.matching import MatchOptions, _features, build_index, load_image, match_image
from geoverify.registry import Landmark, ReferenceImage, Registry, load_registry, save_registry

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "image_matching"
BERLIN = ROOT / "samples" / "berlin" / "photos"
LANDMARKS = {"graf": "graf1.png", "aero": "aero1.jpg", "box": "box.png", "leuven": "leuvenA.jpg"}
FRAMES = [
    *((f"graf{i}.png", "graf", f"H1to{i}p") for i in range(2, 7)),
    ("aero3.jpg", "aero", None),
    ("box_in_scene.png", "box", None),
    ("leuvenB.jpg", "leuven", None),
    *((f"berlin_0{i}.jpg", None, None) for i in (1, 2, 3)),
    ("flat", None, None),
]
# a flat no-match frame: berlin_01 blurred until no feature survives (sky, fog, a wall)
FLAT_SIGMA_PX = 25.0


def registry(folder: Path) -> Registry:
    """The four landmarks, each with one reference image copied next to the registry."""
    (folder / "refs").mkdir(parents=True)
    marks = []
    for lid, name in LANDMARKS.items():
        shutil.copy(DATA / name, folder / "refs" / name)
        ref = ReferenceImage(path=f"refs/{name}", sha256="")
        marks.append(Landmark(id=lid, name=lid, geometry=Point(0, 0), reference_images=(ref,)))
    save_registry(Registry(name="bench", landmarks=tuple(marks)), folder / "r.geojson")
    return load_registry(folder / "r.geojson")


def corner_error_px(match: Any, truth_file: str) -> float | None:
    """Largest distance of graf1's corners, mapped by our homography and by the truth."""
    if match.best is None or match.best.homography is None or match.best.landmark_id != "graf":
        return None
    truth = np.loadtxt(DATA / truth_file)
    corners = np.float32([[0, 0], [799, 0], [799, 639], [0, 639]]).reshape(-1, 1, 2)
    ours = cv2.perspectiveTransform(corners, np.linalg.inv(np.array(match.best.homography)))
    return float(np.max(np.linalg.norm(ours - cv2.perspectiveTransform(corners, truth), axis=2)))


def frame_image(name: str, lid: str | None) -> Any:
    """The frame ``name``: a test image, a Berlin photograph, or the flat one."""
    if name == "flat":
        return cv2.GaussianBlur(load_image(BERLIN / "berlin_01.jpg"), (0, 0), FLAT_SIGMA_PX)
    return load_image((BERLIN if lid is None else DATA) / name)


def run(
    second_pass: str, runs: int, folder: Path, only: set[str] | None
) -> dict[str, dict[str, Any]]:
    """Match every frame (of ``only``) ``runs`` times (after a warm-up) with one pass."""
    opts = MatchOptions(second_pass=second_pass)  # type: ignore[arg-type]
    index = build_index(registry(folder / second_pass), options=opts)
    out: dict[str, dict[str, Any]] = {}
    for name, lid, truth in FRAMES:
        if only is not None and name not in only:
            continue
        image = frame_image(name, lid)
        match_image(image, index)  # warm-up: the references' and controls' features
        cpu, wall = [], []
        for _ in range(runs):
            _features._frame_cache.clear()  # a new frame: its own features computed each run
            t_cpu, t_wall = time.process_time(), time.perf_counter()
            m = match_image(image, index)
            cpu.append(time.process_time() - t_cpu)
            wall.append(time.perf_counter() - t_wall)
        out[name] = {
            "expected": lid or "-",
            "verdict": m.verdict,
            "landmark": m.best.landmark_id if m.best else "-",
            "inliers": m.best.inliers if m.best else 0,
            "control_max": max(m.control_scores, default=0),
            "corner_px": corner_error_px(m, truth) if truth else None,
            "decided": "second" if m.affine_decision == "run" and _second_won(m) else "plain",
            "cpu_s": statistics.median(cpu),
            "wall_s": statistics.median(wall),
        }
        print(second_pass, name, out[name], flush=True)
    return out


def _second_won(m: Any) -> bool:
    return any(n.startswith("scores from") for n in m.notes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--passes", default="off,learned,affine")
    parser.add_argument(
        "--affine-frames",
        default="graf5.png",
        help="frames the affine pass is timed on (comma-separated, 'all'): tens of seconds each",
    )
    parser.add_argument("--only", default="", help="these frames only (comma-separated)")
    args = parser.parse_args()
    passes = args.passes.split(",")
    slow = None if args.affine_frames == "all" else set(args.affine_frames.split(","))
    only = set(args.only.split(",")) if args.only else None
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            p: run(p, args.runs, Path(tmp), slow if p in ("affine", "auto") else only)
            for p in passes
        }
    ref = results.get("off")
    print(
        "\n| frame | expected | pass | verdict (inliers, best control) | corner px "
        "| CPU-s | wall s | CPU vs plain |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, _, _ in FRAMES:
        for p in passes:
            if ref is not None and name not in ref:
                continue
            if name not in results[p]:
                continue
            r = results[p][name]
            corner = "-" if r["corner_px"] is None else f"{r['corner_px']:.1f}"
            ratio = f"{r['cpu_s'] / ref[name]['cpu_s']:.2f}x" if ref else "-"
            print(f"| {name} | {r['expected']} | {p} ({r['decided']}) | {r['verdict']} "
                  f"{r['landmark']} ({r['inliers']}, {r['control_max']}) | {corner} "
                  f"| {r['cpu_s']:.2f} | {r['wall_s']:.2f} | {ratio} |")  # fmt: skip


if __name__ == "__main__":
    main()
