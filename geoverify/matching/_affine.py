"""The affine pass: ASIFT's simulated views, for strongly slanted footage (``MatchPass``).

Features of views of the frame and of each reference tilted by up to ``sqrt(2) **
affine_tilt_levels`` in several directions (Morel and Yu 2009, through OpenCV's
``AffineFeature``), matched with seeded FLANN (repeatable) and verified as the plain pass's;
the negative controls are scored the same way. Seconds a frame, so after the plain pass it is
screened first: the frame's views simulated at ``affine_screen_frame_side_px`` against each
reference's at ``affine_screen_side_px`` (ASIFT's own two-resolution scheme), and the full
pass is run only on the landmarks where the screen finds ``affine_screen_min_inliers``
consistent points (``bench/README.md``: the screen's calibration).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from geoverify._images import Image, cv2
from geoverify.matching._features import (
    Points,
    flann_index,
    screen_frame_options,
    simulated_features,
)
from geoverify.matching._index import MatchIndex
from geoverify.matching._passes import FrameQuery, PassRecord, score_landmarks
from geoverify.matching._verify import LandmarkScore, screen_score, verify_pair


@dataclasses.dataclass(frozen=True, slots=True)
class AffinePass:
    """The affine-simulation pass over ``index``'s references.

    ``screen``: screen the ``affine_screen_candidates`` first landmarks at low resolution and
    run the full pass on the ``affine_candidates`` best of them that the screen finds worth it
    (none: the pass scores nothing and says why); without, the full pass is run on the
    ``affine_candidates`` first. The controls are scored only when the best candidate reaches
    ``min_inliers``. ``reason``: why this pass runs (``geoverify.matching._matcher``), the
    first of its findings.
    """

    index: MatchIndex
    screen: bool = True
    reason: str = ""
    name: ClassVar[str] = "affine"

    @property
    def method(self) -> str:
        """What produces the scores, as the notes name it."""
        opts = self.index.options
        tilt = 2 ** (opts.affine_tilt_levels / 2)
        return (
            f"affine simulation (views tilted up to {tilt:.3g}x, "
            f"{opts.affine_features_per_view} keypoints per view)"
        )

    def run(self, frame: FrameQuery, landmarks: Sequence[str]) -> PassRecord:
        """Score the frame against the most promising of ``landmarks`` (most promising first)."""
        index = self.index
        opts = index.options
        chosen = list(landmarks[: opts.affine_candidates])
        findings: tuple[str, ...] = (self.reason,) if self.reason else ()
        if self.screen:
            chosen, screened = self._screened(frame.gray, landmarks)
            findings = (*findings, *screened)
            if not chosen:
                return PassRecord(name=self.name, result=None, method=self.method,
                                  findings=findings)  # fmt: skip
        frame_features = simulated_features(frame.gray, opts)
        refs = index.references

        def score(i: int) -> LandmarkScore:
            reference = index.affine_features(i)
            return verify_pair(
                frame_features, reference, refs[i], opts, frame.area_px2, affine=True
            )

        def score_many(ids: Sequence[int]) -> list[LandmarkScore]:
            return side_by_side(index, frame_features, ids, frame.area_px2)

        result, best = score_landmarks(
            index, frame, chosen, score, controls_only_if_needed=True, score_many=score_many
        )
        return PassRecord(
            name=self.name,
            result=result,
            method=self.method,
            findings=findings,
            best_inliers=best,
        )

    def _screened(self, gray: Image, landmarks: Sequence[str]) -> tuple[list[str], tuple[str]]:
        """Return the landmarks the screen finds worth the full pass, and a note of its counts."""
        opts = self.index.options
        screened = screen_landmarks(gray, self.index, landmarks[: opts.affine_screen_candidates])
        chosen = sorted(screened, key=lambda lid: -screened[lid])[: opts.affine_candidates]
        worth = [lid for lid in chosen if screened[lid] >= opts.affine_screen_min_inliers]
        found = ", ".join(f"{lid!r} {screened[lid]}" for lid in screened)
        side = (
            f"frame {opts.affine_screen_frame_side_px} px, "
            f"references {opts.affine_screen_side_px} px"
        )
        if not worth:
            return [], (
                f"affine pass skipped: its low-resolution screen ({side}) found at most "
                f"{max(screened.values(), default=0)} consistent points ({found}); the full "
                f"pass is run from {opts.affine_screen_min_inliers}",
            )
        return worth, (
            f"the affine pass's low-resolution screen ({side}) found {found} consistent "
            f"points (the full pass is run from {opts.affine_screen_min_inliers})",
        )


def side_by_side(
    index: MatchIndex, frame_features: tuple[Points, Any], ids: Sequence[int], area_px2: float
) -> list[LandmarkScore]:
    """Score the frame's simulated views against references ``ids`` on OpenCV's threads.

    The same scores as ``verify_pair`` one after another: each reference's features and its
    seeded FLANN index are made here, in order, on this thread (the index's trees are the
    random part); only the searches and the fits, which draw nothing at random and release
    the GIL, run side by side, on as many threads as OpenCV may use (``cv2.getNumThreads``:
    the machine's cores, 1 in a batch worker that was given one). Half a second a reference
    at the default options (27,000 simulated keypoints of a frame searched in each
    reference's 4,000), so a frame's 40 negative controls took 20 s on one of two cores.
    References are taken a few at a time, so their indexes are not all held at once.
    """
    opts = index.options
    refs = index.references
    workers = max(1, min(len(ids), cv2.getNumThreads()))

    def one(job: tuple[int, tuple[Points, Any], Any]) -> LandmarkScore:
        i, reference, r_index = job
        return verify_pair(
            frame_features, reference, refs[i], opts, area_px2, affine=True, r_index=r_index
        )

    out: list[LandmarkScore] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="geoverify-affine") as pool:
        for start in range(0, len(ids), 2 * workers):
            jobs = []
            for i in ids[start : start + 2 * workers]:
                reference = index.affine_features(i)
                usable = len(reference[1]) >= 2 and len(frame_features[1]) >= 2
                jobs.append((i, reference, flann_index(reference[1], opts) if usable else None))
            out.extend(pool.map(one, jobs))
    return out


def screen_landmarks(gray: Image, index: MatchIndex, landmarks: Sequence[str]) -> dict[str, int]:
    """Consistent points of the low-resolution affine screen, best reference per landmark.

    Every upright reference of each landmark is screened. A view both mirrored and strongly
    slanted is therefore not screened in (``affine="on"`` scores it). One FLANN index over the
    frame's screen features (``affine_screen_frame_side_px``) is searched with each
    reference's (``screen_score``).
    """
    opts = index.options
    frame = simulated_features(gray, screen_frame_options(opts), screen=True)
    out = dict.fromkeys(landmarks, 0)
    if len(frame[1]) < 2:
        return out
    frame_index = flann_index(frame[1], opts)
    for i, ref in enumerate(index.references):
        if ref.landmark_id in out and not ref.mirrored:
            found = screen_score(
                frame, frame_index, index.affine_features(i, screen=True), ref, opts
            )
            out[ref.landmark_id] = max(out[ref.landmark_id], found)
    return out
