"""Benchmark: matching one 1280x720 frame against registries of 1, 10, 100 and 1,000 landmarks.

Reference images are generated crops (640x480, seeded) of the real photographs in tests/data;
landmark 0 is the Berliner Dom photograph berlin_03.jpg and the query frame is berlin_01.jpg
scaled to 1280x720, so every registry holds the right answer. Prints the median time per frame
over --runs, the verdict, and the ratio of the 1,000-landmark time to the 10-landmark time
(target: under 3x).

``--affine``: the cost of the affine-simulation pass instead. aero3.jpg (640x480) against a
registry whose landmark 0 is aero1.jpg (the same town from another direction; plain SIFT does
not match them) and whose 19 other landmarks are seeded crops of graf1, box_in_scene, graf3
and the Berlin photographs; first frame (simulated-view features of the references computed)
and later frames (taken from the cache).
``--no-match``: seconds per frame, default options against ``--affine off`` in the same run,
for frames that show a landmark and frames that show none, on registries of 10 and 1,000
landmarks (the registries above; landmark 0 the Dom). Matching frames: berlin_01 and
berlin_02 (1280x720). No-match frames: four background-free real photographs of other scenes
(OpenCV's leuvenB.jpg is not in the background set; aero1, graf3 and box_in_scene are
registry crops' sources, so they are left out): the Megamind and vtest frames of
../shared/data/image_matching when present, else graf3 flipped upside down.

``--screen``: the calibration of the affine screen's threshold: its score for every
background photograph against every test reference (unrelated pairs), and for the pairs
that show the same scene.
Usage: python bench/bench_match.py [--runs N] [--sizes 1,10,100,1000] [--affine]
       [--no-match] [--screen] [--screen-cost]

``--screen-cost``: where the screen's time goes on the no-match frames (10-landmark registry):
the frame's plain and screen features, the screen's searches of 5 references as
``match_image`` runs them (one FLANN index over the frame's features, searched with each
reference's), and the same searches the other way round (each reference's index built once and
kept, searched with the frame's features), medians of --runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from geoverify.matching import (
    MatchOptions,
    build_index,
    clear_feature_cache,
    load_image,
    match_image,
)
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


def make_registry(
    folder: Path, n: int, first: Path | None = None, sources: list[Path] | None = None
) -> Registry:
    rng = np.random.default_rng(1000)
    images = [load_image(p) for p in (sources or SOURCES)]
    marks = []
    if first is None:
        dom = load_image(BERLIN / "berlin_03.jpg")
        cv2.imwrite(str(folder / "ref0000.jpg"), cv2.resize(dom, (1280, 960)))
    else:
        cv2.imwrite(str(folder / "ref0000.jpg"), load_image(first))
    marks.append(
        Landmark(
            id="l0000",
            name="dom",
            reference_images=(ReferenceImage(path="ref0000.jpg", sha256=""),),
        )
    )
    for i in range(1, n):
        src = images[i % len(images)]
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
    parser.add_argument("--affine", action="store_true")
    parser.add_argument("--no-match", action="store_true")
    parser.add_argument("--screen", action="store_true")
    parser.add_argument("--screen-cost", action="store_true")
    args = parser.parse_args()
    if args.screen_cost:
        bench_screen_cost(args.runs)
        return
    if args.affine:
        bench_affine(args.runs)
        return
    if args.no_match:
        bench_no_match(args.runs)
        return
    if args.screen:
        bench_screen()
        return
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
                clear_feature_cache()  # a new frame each time: its features not kept yet
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


def bench_affine(runs: int) -> None:
    others = [
        DATA / "image_matching" / "graf1.png",
        DATA / "image_matching" / "box_in_scene.png",
        DATA / "image_matching" / "graf3.png",
        BERLIN / "berlin_02.jpg",
    ]
    query = load_image(DATA / "image_matching" / "aero3.jpg")
    with tempfile.TemporaryDirectory() as tmp:
        reg = make_registry(Path(tmp), 20, DATA / "image_matching" / "aero1.jpg", others)
        plain = match_image(query, build_index(reg, options=MatchOptions(affine="off")))
        best = plain.best.inliers if plain.best else 0
        print(f"plain pass only: {plain.verdict}, {best} inliers")
        cold, warm = [], []
        for _ in range(runs):
            clear_feature_cache()  # the first frame: nothing simulated yet in this process
            index = build_index(reg)
            t0 = time.perf_counter()
            m = match_image(query, index)
            cold.append(time.perf_counter() - t0)
            clear_feature_cache()  # a later frame is a new picture: only references are cached
            t0 = time.perf_counter()
            match_image(query, index)
            warm.append(time.perf_counter() - t0)
        fmr = f"{m.false_match_rate:.3f}" if m.false_match_rate is not None else "n/a"
        print(
            f"with the affine pass: {m.verdict} {m.best.landmark_id if m.best else '-'}, "
            f"{m.best.inliers if m.best else 0} inliers, best control "
            f"{max(m.control_scores, default=0)}, {m.controls} controls, false-match rate {fmr}"
        )
        print(
            f"first frame {statistics.median(cold):.1f} s, later frames "
            f"{statistics.median(warm):.1f} s (medians of {runs})"
        )


def _unrelated_frames() -> list[tuple[str, np.ndarray]]:
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "image_matching"
    frames: list[tuple[str, np.ndarray]] = []
    for name in ("vtest.avi", "Megamind.avi"):
        if (shared / name).exists():
            import av

            with av.open(str(shared / name)) as c:
                for i, f in enumerate(c.decode(video=0)):
                    if i in (30, 300):
                        frames.append((f"{name}#{i}", f.to_ndarray(format="bgr24")))
                    if i > 300:
                        break
    if not frames:
        graf = load_image(DATA / "image_matching" / "graf3.png")
        frames.append(("graf3 upside down", np.ascontiguousarray(graf[::-1])))
    return frames


def bench_no_match(runs: int) -> None:
    """Seconds per frame, default vs --affine off, matching and no-match frames."""
    matching = [
        (name, cv2.resize(load_image(BERLIN / name), (1280, 720)))
        for name in ("berlin_01.jpg", "berlin_02.jpg")
    ]
    unrelated = _unrelated_frames()
    print(
        "registry  frame                 off: verdict      s/frame  auto: decision   s/frame  ratio"
    )
    for n in (10, 1000):
        with tempfile.TemporaryDirectory() as tmp:
            reg = make_registry(Path(tmp), n)
            indexes = {
                mode: build_index(reg, options=MatchOptions(affine=mode))  # type: ignore[arg-type]
                for mode in ("off", "auto")
            }
            for kind, frames in (("match", matching), ("no match", unrelated)):
                ratios = []
                for name, frame in frames:
                    row = []
                    for mode in ("off", "auto"):
                        index = indexes[mode]
                        m = match_image(frame, index)  # warm: caches of the index
                        times = []
                        for _ in range(runs):
                            # a new frame each time: its simulated views are not in the
                            # process cache (the index keeps the references')
                            clear_feature_cache()
                            t0 = time.perf_counter()
                            m = match_image(frame, index)
                            times.append(time.perf_counter() - t0)
                        row.append((m, statistics.median(times)))
                    (m_off, t_off), (m_auto, t_auto) = row
                    ratios.append(t_auto / t_off)
                    print(
                        f"{n:8d}  {name[:20]:20s}  {m_off.verdict_text[:16]:16s} {t_off:7.2f}  "
                        f"{m_auto.affine_decision:14s} {t_auto:7.2f}  {t_auto / t_off:5.2f}",
                        flush=True,
                    )
                print(f"{n:8d}  {kind}: median ratio {statistics.median(ratios):.2f}", flush=True)


def bench_screen_cost(runs: int) -> None:
    """Milliseconds of the screen's parts on the no-match frames, medians of ``runs``."""
    from geoverify.matching._verify import SCREEN_SEARCH, features, flann_index, scaled_gray

    opts = MatchOptions()
    k, checks = SCREEN_SEARCH

    def median_ms(fn: Any) -> float:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1e3

    print(f"OpenCV threads {cv2.getNumThreads()}")
    with tempfile.TemporaryDirectory() as tmp:
        index = build_index(make_registry(Path(tmp), 10), options=opts)
        upright = [i for i, r in enumerate(index.references) if not r.mirrored][:5]
        r_desc = [np.ascontiguousarray(index.affine_features(i, screen=True)[1]) for i in upright]
        kept = [flann_index(d, opts) for d in r_desc]
        for name, frame in _unrelated_frames():
            gray, _ = scaled_gray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), opts.max_side_px)
            f_desc = np.ascontiguousarray(features(gray, opts, screen=True)[1])

            def as_now(f_desc: Any = f_desc) -> None:
                f_index = flann_index(f_desc, opts)
                for d in r_desc:
                    f_index.knnSearch(d, k, params={"checks": checks})

            def reversed_kept(f_desc: Any = f_desc) -> None:
                for r_index in kept:
                    r_index.knnSearch(f_desc, 2, params={"checks": checks})

            now, other = median_ms(as_now), median_ms(reversed_kept)
            plain = median_ms(lambda gray=gray: features(gray, opts))
            screen = median_ms(lambda gray=gray: features(gray, opts, screen=True))
            print(
                f"{name:18s} frame screen features {len(f_desc):5d} (refs "
                f"{min(map(len, r_desc))}-{max(map(len, r_desc))}); ms: plain features "
                f"{plain:.0f}, screen features {screen:.0f}, 5 searches as now "
                f"{now:.0f}, reversed with kept indexes {other:.0f}",
                flush=True,
            )


def bench_screen() -> None:
    """The affine screen's score on unrelated pairs (background x test references) and true ones.

    Scored exactly as ``match_image`` screens: the frame's screen features in one FLANN index,
    searched with the reference's (``SCREEN_SEARCH``).
    """
    from geoverify.matching._background import BACKGROUND_DIR, background_set
    from geoverify.matching._verify import (
        SCREEN_SEARCH,
        Reference,
        features,
        flann_index,
        scaled_gray,
        verify_pair,
    )

    opts = MatchOptions()
    im = DATA / "image_matching"
    cache: dict[Path, tuple[Any, Any]] = {}

    def feats(path: Path) -> tuple[Any, Any]:
        if path not in cache:
            gray, _ = scaled_gray(load_image(path), opts.max_side_px)
            cache[path] = features(gray, opts, screen=True)
        return cache[path]

    def score(frame: Path, reference: Path) -> int:
        f_pts, f_desc = feats(frame)
        r_pts, r_desc = feats(reference)
        ref = Reference(
            landmark_id="r", image=str(reference), mirrored=False, file_sha256="", points=r_pts,
            descriptors=r_desc, size=(0, 0),
        )  # fmt: skip
        index = flann_index(f_desc, opts)
        s = verify_pair((r_pts, r_desc), (f_pts, f_desc), ref, opts, 1.0, affine=True,
                        r_index=index, search=SCREEN_SEARCH)  # fmt: skip
        return s.inliers

    refs = [im / "aero1.jpg", im / "aero3.jpg", im / "graf1.png", im / "box.png",
            BERLIN / "berlin_03.jpg"]  # fmt: skip
    unrelated = [score(BACKGROUND_DIR / b.file, r) for b in background_set() for r in refs]
    same = {
        "aero3 -> aero1": score(im / "aero3.jpg", im / "aero1.jpg"),
        "aero1 -> aero3": score(im / "aero1.jpg", im / "aero3.jpg"),
        "graf3 -> graf1": score(im / "graf3.png", im / "graf1.png"),
        "box_in_scene -> box": score(im / "box_in_scene.png", im / "box.png"),
        "berlin_01 -> berlin_03": score(BERLIN / "berlin_01.jpg", BERLIN / "berlin_03.jpg"),
    }
    counts = {v: unrelated.count(v) for v in sorted(set(unrelated))}
    print(f"unrelated pairs: {len(unrelated)}, screen scores (score: pairs) {counts}")
    print(f"max unrelated {max(unrelated)}; threshold {opts.affine_screen_min_inliers}")
    for k, v in same.items():
        print(f"same scene {k}: {v}")


if __name__ == "__main__":
    main()
