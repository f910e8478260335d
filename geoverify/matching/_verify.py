"""Geometric verification of tentative correspondences (one frame, one reference).

A homography fitted with OpenCV's USAC MAGSAC++ (or, for a rigid scene with depth, a
fundamental matrix), its inliers counted one per physical point, and a fit that mirrors or
squeezes the picture rejected as degenerate (``_plausible``). The correspondences come from
``geoverify.matching._features``; its functions that tests and benchmarks import from this
module are re-exported here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt

from geoverify._images import cv2

# the ``x as x`` names are re-exported: tests and bench/ import them from this module
from geoverify.matching._features import (
    Points,
    cached_features as cached_features,
    features as features,
    flann_index as flann_index,
    mirrored_features as mirrored_features,
    scaled_gray as scaled_gray,
    screen_frame_options as screen_frame_options,
    tentative_pairs,
    trained_retrieval as trained_retrieval,
)
from geoverify.matching._options import MatchOptions

# The affine screen's FLANN search: 3 neighbours, 16 checks. Four times faster than the full
# pass's (6, 64) and as discriminating at 240 px (bench/README.md: the screen's calibration).
SCREEN_SEARCH = (3, 16)
# A homography that reverses orientation or squeezes the frame more than this (ratio of its
# local singular values, or scale) at the inliers is a degenerate fit, not a view of a surface.
_MAX_DISTORTION = 40.0


def _plausible(h: npt.NDArray[np.float64], at: Points) -> bool:
    """Whether ``h`` is a non-degenerate, orientation-keeping map near the points ``at``."""
    x, y = (float(v) for v in at.mean(axis=0))
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    if abs(w) < 1e-12:
        return False
    u = (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / w
    v = (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / w
    jac = (
        np.array(
            [
                [h[0, 0] - h[2, 0] * u, h[0, 1] - h[2, 1] * u],
                [h[1, 0] - h[2, 0] * v, h[1, 1] - h[2, 1] * v],
            ]
        )
        / w
    )
    if not np.all(np.isfinite(jac)) or np.linalg.det(jac) <= 0:
        return False
    s_max, s_min = np.linalg.svd(jac, compute_uv=False)
    return bool(
        s_min > 0
        and s_max / s_min <= _MAX_DISTORTION
        and 1 / _MAX_DISTORTION <= np.sqrt(s_max * s_min) <= _MAX_DISTORTION
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Reference:
    landmark_id: str
    image: str
    mirrored: bool
    file_sha256: str  # of the bytes decoded when the index was built
    points: npt.NDArray[np.float32]
    descriptors: Any
    size: tuple[int, int]  # scaled (width, height)
    background: bool = False  # a background photograph (a negative control only)
    phash: int | None = None  # 64-bit DCT perceptual hash of the upright image (not mirrored)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LandmarkScore:
    """The verification of one frame against one reference image.

    ``inliers`` counts distinct correspondences (no two within 2 px at either end) that the
    fitted homography maps to within ``ransac_px`` (or, with the fundamental-matrix model, that
    lie within ``epipolar_px`` of their epipolar lines; ``homography`` is then ``None``).
    """

    landmark_id: str
    image: str
    mirrored: bool
    inliers: int
    tentative: int
    inlier_ratio: float
    spread: float
    homography: tuple[tuple[float, ...], ...] | None
    frame_points: tuple[tuple[float, float], ...] = dataclasses.field(default=(), repr=False)
    reference_points: tuple[tuple[float, float], ...] = dataclasses.field(default=(), repr=False)


def verify_pair(
    query: tuple[Points, Any],
    reference: tuple[Points, Any],
    ref: Reference,
    opts: MatchOptions,
    frame_area: float,
    *,
    affine: bool,
    r_index: Any = None,
    search: tuple[int, int] = (6, 64),
) -> LandmarkScore:
    """Score one frame against one reference: correspondences, then their geometry.

    ``query`` and ``reference`` are (keypoints, descriptors); ``r_index`` a FLANN index over
    ``reference``'s descriptors when one is built already.
    """
    (q_pts, q_desc), (r_pts, r_desc) = query, reference
    src, dst = tentative_pairs(
        q_pts, q_desc, r_pts, r_desc, opts, affine=affine, r_index=r_index, search=search
    )
    return verify_correspondences(src, dst, ref, opts, frame_area)


def verify_correspondences(
    src: Points, dst: Points, ref: Reference, opts: MatchOptions, frame_area: float
) -> LandmarkScore:
    """Fit the model to tentative correspondences (frame -> reference) and count inliers."""
    empty = LandmarkScore(
        landmark_id=ref.landmark_id,
        image=ref.image,
        mirrored=ref.mirrored,
        inliers=0,
        tentative=0,
        inlier_ratio=0.0,
        spread=0.0,
        homography=None,
    )
    if opts.model == "fundamental":
        return _verify_epipolar(src, dst, empty, opts, frame_area)
    unscored = dataclasses.replace(empty, tentative=len(src))
    if len(src) < 4:
        return unscored
    h = _fit_homography(src, dst, opts)
    if h is None:
        return unscored
    proj = cv2.perspectiveTransform(src.reshape(-1, 1, 2), h).reshape(-1, 2)
    keep = np.linalg.norm(proj - dst, axis=1) <= opts.ransac_px
    inl = int(keep.sum())
    if inl < 4 or not _plausible(h, src[keep]):
        return unscored
    return dataclasses.replace(
        _scored(unscored, src[keep], dst[keep], frame_area),
        homography=tuple(tuple(float(v) for v in row) for row in h),
    )


def _fit_homography(src: Points, dst: Points, opts: MatchOptions) -> Any:
    """Return the homography fitted to ``src -> dst``, or ``None`` when none is found.

    The model comes from a tight fit (1 px) when enough points support it; a loose fit
    (``ransac_px``) otherwise. A loose threshold lets slightly wrong correspondences bend the
    homography, which shows at the image corners. Inliers are then counted at ``ransac_px``.
    """
    for threshold in (1.0, opts.ransac_px):
        cand, mask = cv2.findHomography(
            src, dst, cv2.USAC_MAGSAC, threshold, maxIters=5000, confidence=0.999
        )
        if cand is not None and mask is not None and (int(mask.sum()) >= 12 or threshold > 1):
            return cand
    return None


def _scored(unscored: LandmarkScore, src: Points, dst: Points, frame_area: float) -> LandmarkScore:
    """``unscored`` with the inliers ``src -> dst``: their count, ratio, spread and points."""
    inl = len(src)
    spread = 0.0
    if inl >= 3 and frame_area > 0:
        spread = float(cv2.contourArea(cv2.convexHull(src))) / frame_area
    return dataclasses.replace(
        unscored,
        inliers=inl,
        inlier_ratio=inl / unscored.tentative,
        spread=min(1.0, spread),
        frame_points=tuple((float(x), float(y)) for x, y in src),
        reference_points=tuple((float(x), float(y)) for x, y in dst),
    )


def _verify_epipolar(
    src: Points, dst: Points, empty: LandmarkScore, opts: MatchOptions, frame_area: float
) -> LandmarkScore:
    """Score correspondences by a fundamental matrix (any rigid scene, two positions)."""
    unscored = dataclasses.replace(empty, tentative=len(src))
    if len(src) < 8:
        return unscored
    f, mask = cv2.findFundamentalMat(src, dst, cv2.USAC_MAGSAC, opts.epipolar_px, 0.999, 5000)
    if f is None or mask is None or f.shape != (3, 3):
        return unscored
    keep = mask.ravel().astype(bool)
    return _scored(unscored, src[keep], dst[keep], frame_area)


def screen_score(
    frame: tuple[Points, Any], frame_index: Any, reference: tuple[Points, Any], ref: Reference,
    opts: MatchOptions,
) -> int:  # fmt: skip
    """Consistent points of the affine screen between a frame and a reference.

    ``frame``: the frame's screen features (``screen_frame_options``) and ``frame_index`` a
    ``flann_index`` over them, built once per frame and searched with each reference's screen
    features (``reference``, ``screen=True``; ``SCREEN_SEARCH``). Counts only: the two sides
    are at different scales, so the fitted mapping is not reported. (Searching the other way,
    the frame's features in a kept index of each reference's, is 10-40 ms a frame cheaper
    and lets fewer steep views through: ``bench/bench_match.py --screen``.)
    """
    if len(frame[1]) < 2 or len(reference[1]) < 2:
        return 0
    s = verify_pair(
        reference, frame, ref, opts, 1.0, affine=True, r_index=frame_index, search=SCREEN_SEARCH
    )
    return s.inliers
