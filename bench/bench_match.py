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

``--screen``: the affine screen against the full pass, for several frame sides: its score for
every background photograph against every test reference (unrelated pairs), for the pairs
that show the same scene, and for synthetic steep views of the background photographs (the
full pass matches most of them), with the share of the full pass's matches it screens in.
Usage: python bench/bench_match.py [--runs N] [--sizes 1,10,100,1000] [--affine]
       [--no-match] [--screen] [--screen-cost]

``--screen-cost``: what the screen costs on the no-match frames (10-landmark registry) for each
frame side: the frame's screen features and the 5 references' searches as ``match_image`` runs
them, and the same searches reversed (the frame's features in each reference's kept index), as
a share of the frame's ``--affine off`` pass, medians of --runs.
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

from geoverify._images import tilted_view
from geoverify.matching import (
    MatchOptions,
    build_index,
    clear_feature_cache,
    load_image,
    match_image,
)
from geoverify.matching._background import BACKGROUND_DIR, background_set
from geoverify.matching._verify import (
    SCREEN_SEARCH,
    Reference,
    features,
    flann_index,
    scaled_gray,
    screen_frame_options,
    screen_score,
    trained_retrieval,
    verify_pair,
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


def _reversed_screen_score(
    frame: tuple[Any, Any], reference: tuple[Any, Any], r_index: Any, ref: Reference,
    opts: MatchOptions,
) -> int:  # fmt: skip
    """Score the screen the other way: the frame's features in the reference's kept index."""
    return verify_pair(
        frame, reference, ref, opts, 1.0, affine=True, r_index=r_index, search=SCREEN_SEARCH
    ).inliers


def bench_screen_cost(runs: int) -> None:
    """Milliseconds of the screen per frame side (``FRAME_SIDES``) on the no-match frames.

    10-landmark registry; the frame's whole ``--affine off`` pass, then for each frame side
    the frame's screen features and the 5 references' searches as ``match_image`` runs them
    (one index over the frame's features), and the searches reversed (the frame's features
    in each reference's kept index); medians of ``runs``, and what the screen adds
    as a share of the plain pass.
    """

    def median_ms(fn: Any) -> float:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1e3

    print(f"OpenCV threads {cv2.getNumThreads()}")
    with tempfile.TemporaryDirectory() as tmp:
        reg = make_registry(Path(tmp), 10)
        off = build_index(reg, options=MatchOptions(affine="off"))
        index = build_index(reg)
        upright = [i for i, r in enumerate(index.references) if not r.mirrored][:5]
        refs = [index.affine_features(i, screen=True) for i in upright]
        kept = [flann_index(r[1], index.options) for r in refs]
        for name, frame in _unrelated_frames():

            def plain(frame: np.ndarray = frame) -> None:
                clear_feature_cache()
                match_image(frame, off)

            t_off = median_ms(plain)
            gray, _ = scaled_gray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), 1280)
            row = [f"{name:16s} --affine off {t_off:4.0f} ms"]
            for side_px, levels in FRAME_SIDES:
                f_opts = screen_frame_options(_screen_options(side_px, levels))
                f = features(gray, f_opts, screen=True)
                t_feat = median_ms(lambda o=f_opts, g=gray: features(g, o, screen=True))

                def search(f: Any = f) -> None:
                    f_index = flann_index(f[1], index.options)
                    for i, r in zip(upright, refs, strict=True):
                        screen_score(f, f_index, r, index.references[i], index.options)

                def reversed_search(f: Any = f) -> None:
                    for i, r, r_index in zip(upright, refs, kept, strict=True):
                        _reversed_screen_score(f, r, r_index, index.references[i], index.options)

                t_search = median_ms(search)
                added = (t_feat + t_search) / t_off
                row.append(
                    f"{side_px}/{levels}: {len(f[1])} features {t_feat:3.0f} + searches "
                    f"{t_search:3.0f} ms (+{added:.2f})"
                )
                rev_ms = t_feat + median_ms(reversed_search)
                row.append(f"reversed {rev_ms:3.0f} ms (+{rev_ms / t_off:.2f})")
            print(" | ".join(row), flush=True)


TILTS = ((2.83, 30.0), (4.0, 60.0), (5.0, 20.0))
# Frame sides of the screen compared (longer side px, tilt levels); the references' side is
# the options' (240 px, 4 levels) throughout. (240, 4) is the screen before 2026-12-03.
FRAME_SIDES = ((160, 3), (200, 3), (240, 3), (240, 4))


def _screen_options(side_px: int, levels: int) -> MatchOptions:
    return MatchOptions(affine_screen_frame_side_px=side_px, affine_screen_frame_tilt_levels=levels)


def bench_screen() -> None:
    """The affine screen against the full pass, for several frame sides (``FRAME_SIDES``).

    Scored exactly as ``match_image`` screens (``screen_score``: the reference's screen
    features search a FLANN index over the frame's), and also the other way round (the
    frame's features search a kept index over each reference's: cheaper per frame).
    Unrelated pairs: every background photograph against every test reference. True pairs:
    the test images, and synthetic steep views (``tilted_view``, tilts 2.8, 4 and 5) of every
    background photograph against the photograph itself, with the plain pass's and the full
    affine pass's inliers for them (the full pass is what the screen stands in for).
    """
    im = DATA / "image_matching"
    grays: dict[str, np.ndarray] = {}

    def gray(path: Path) -> np.ndarray:
        if str(path) not in grays:
            grays[str(path)] = scaled_gray(load_image(path), 1280)[0]
        return grays[str(path)]

    def ref_of(pts: Any, desc: Any) -> Reference:
        return Reference(
            landmark_id="r", image="r", mirrored=False, file_sha256="", points=pts,
            descriptors=desc, size=(0, 0),
        )  # fmt: skip

    refs = [im / "aero1.jpg", im / "aero3.jpg", im / "graf1.png", im / "box.png",
            BERLIN / "berlin_03.jpg"]  # fmt: skip
    backgrounds = [BACKGROUND_DIR / b.file for b in background_set()]
    tilted = {
        (p, t, r): scaled_gray(tilted_view(gray(p), t, r), 1280)[0]
        for p in backgrounds
        for t, r in TILTS
    }
    opts = MatchOptions()
    plain_of = {p: features(gray(p), opts) for p in [*backgrounds, *refs]}
    plain, full = [], []
    simulated: dict[Path, tuple[Any, Any]] = {}
    view_plain = {key: features(g, opts) for key, g in tilted.items()}
    for (p, t, r), g in tilted.items():
        r_pts, r_desc = plain_of[p]
        score = verify_pair(
            view_plain[p, t, r], (r_pts, r_desc), ref_of(r_pts, r_desc), opts, 1.0, affine=False
        )
        plain.append(score.inliers)
        if p not in simulated:  # once per photograph, for its three views
            simulated[p] = features(gray(p), opts, affine=True)
        r_pts, r_desc = simulated[p]
        score = verify_pair(
            features(g, opts, affine=True), (r_pts, r_desc), ref_of(r_pts, r_desc), opts, 1.0,
            affine=True,
        )  # fmt: skip
        full.append(score.inliers)
    matched = [n >= opts.min_inliers for n in full]
    print(
        f"{len(tilted)} synthetic steep views: the plain pass finds at most {max(plain)} "
        f"inliers (a match needs {opts.min_inliers}); the full affine pass matches "
        f"{sum(matched)} ({', '.join(f'tilt {t}: {n}' for t, n in _per_tilt(tilted, matched))})"
    )
    _plain_evidence(backgrounds, refs, view_plain, plain, plain_of, ref_of)
    r_cache: dict[str, tuple[Any, Any, Any]] = {}

    def reference(path: Path) -> tuple[Any, Any, Any]:
        if str(path) not in r_cache:
            pts, desc = features(gray(path), opts, screen=True)
            r_cache[str(path)] = (pts, desc, flann_index(desc, opts))
        return r_cache[str(path)]

    variants = [(f"frame {w}/{n}", _screen_options(w, n), False) for w, n in FRAME_SIDES]
    variants += [(f"frame {w}/{n} reversed", _screen_options(w, n), True) for w, n in FRAME_SIDES]
    for label, f_opts, reverse in variants:
        frames: dict[str, tuple[tuple[Any, Any], Any]] = {}

        def score(
            name: str,
            frame: np.ndarray,
            path: Path,
            f_opts: MatchOptions = f_opts,
            rev: bool = reverse,
            frames: dict[str, tuple[tuple[Any, Any], Any]] = frames,
        ) -> int:
            # the frame's side once per frame, as match_image computes it once per frame
            if name not in frames:
                f = features(frame, screen_frame_options(f_opts), screen=True)
                frames[name] = (f, flann_index(f[1], opts) if len(f[1]) >= 2 else None)
            f, f_index = frames[name]
            r_pts, r_desc, r_index = reference(path)
            ref = ref_of(r_pts, r_desc)
            if f_index is None:
                return 0
            if rev:
                return _reversed_screen_score(f, (r_pts, r_desc), r_index, ref, opts)
            return screen_score(f, f_index, (r_pts, r_desc), ref, opts)

        def photo(path: Path, reference: Path) -> int:
            return score(str(path), gray(path), reference)

        unrelated = [photo(b, r) for b in backgrounds for r in refs]
        same = [
            photo(im / "aero3.jpg", im / "aero1.jpg"),
            photo(im / "aero1.jpg", im / "aero3.jpg"),
            photo(im / "graf3.png", im / "graf1.png"),
            photo(im / "box_in_scene.png", im / "box.png"),
            photo(BERLIN / "berlin_01.jpg", BERLIN / "berlin_03.jpg"),
        ]
        steep = [score(f"{p} {t} {r}", g, p) for (p, t, r), g in tilted.items()]
        top = max(unrelated)
        counts = {v: unrelated.count(v) for v in sorted(set(unrelated))}
        admitted = {
            threshold: sum(v >= threshold and m for v, m in zip(steep, matched, strict=True))
            for threshold in range(top + 1, 11)
        }
        at_default = [
            v >= opts.affine_screen_min_inliers and m for v, m in zip(steep, matched, strict=True)
        ]
        print(
            f"[{label}] unrelated {len(unrelated)} pairs {counts}; aero3->aero1, aero1->aero3, "
            f"graf3, box, berlin {same}; the full pass's {sum(matched)} matches screened in, "
            f"by threshold: {admitted}; at {opts.affine_screen_min_inliers} by tilt "
            f"{_per_tilt(tilted, at_default)}",
            flush=True,
        )
    print(
        f"default: frame side {opts.affine_screen_frame_side_px} px, "
        f"{opts.affine_screen_frame_tilt_levels} levels, from {opts.affine_screen_min_inliers}"
    )


def _plain_evidence(
    backgrounds: list[Path],
    refs: list[Path],
    view_plain: dict[tuple[Path, float, float], tuple[Any, Any]],
    plain: list[int],
    plain_of: dict[Path, tuple[Any, Any]],
    ref_of: Any,
) -> None:
    """Print what the plain pass knows: inliers on unrelated pairs, and retrieval votes.

    One retrieval index over every background photograph and test reference, voted on as
    ``match_image`` votes: does a steep view's own photograph get the most votes?
    """
    opts = MatchOptions()
    pool = [*backgrounds, *refs]
    unrelated_plain = []
    for b in backgrounds:
        for r in refs:
            r_pts, r_desc = plain_of[r]
            unrelated_plain.append(
                verify_pair(plain_of[b], (r_pts, r_desc), ref_of(r_pts, r_desc), opts,
                            1.0, affine=False).inliers
            )  # fmt: skip
    retrieval = trained_retrieval([plain_of[p][1] for p in pool], tuple(str(p) for p in pool), opts)
    top_voted = 0
    for (p, _, _), (_, desc) in view_plain.items():
        votes = [0] * len(pool)
        for pair in retrieval.knnMatch(desc, k=2):
            if len(pair) == 2 and pair[0].distance < opts.ratio * pair[1].distance:
                votes[pair[0].imgIdx] += 1
        own = votes[pool.index(p)]
        top_voted += own > max(v for i, v in enumerate(votes) if pool[i] != p)
    print(
        f"plain pass on {len(unrelated_plain)} unrelated pairs: up to {max(unrelated_plain)} "
        f"inliers; on the steep views: median {statistics.median(plain)}, up to {max(plain)}, "
        f"above {max(unrelated_plain)} for {sum(n > max(unrelated_plain) for n in plain)}. "
        f"Retrieval votes: a steep view's own photograph has more votes than every other of "
        f"the {len(pool) - 1} for {top_voted} of {len(view_plain)}"
    )


def _per_tilt(
    views: dict[tuple[Path, float, float], Any], flags: list[bool]
) -> list[tuple[float, int]]:
    return [
        (t, sum(f for (_, tt, _), f in zip(views, flags, strict=True) if tt == t)) for t, _ in TILTS
    ]


if __name__ == "__main__":
    main()
