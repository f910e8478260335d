"""Stage 4, matching: which registry landmark a frame shows, and how sure that is.

Input: frames (``Frame`` or BGR arrays) and a registry whose landmarks carry reference images.
Output: per frame, the best landmark with its score, the runner-up, an estimated false-match
rate, a verdict (match / no match / ambiguous), whether the footage looks mirrored, and the
inlier correspondences for an annotated image.

Method. Local features (SIFT by default, RootSIFT or ORB as options) on images scaled to at
most ``max_side_px``. Retrieval: one FLANN index over the descriptors of every reference image
votes for candidate references (Lowe's ratio test on the two nearest descriptors), so the cost
per frame grows slowly with the number of landmarks. Verification: each candidate is matched
alone by exact nearest neighbours (ratio test against the nearest descriptor of a *different*
point), correspondences are made one-to-one (points within 2 px are one point, counted once),
and a homography is fitted with OpenCV's USAC MAGSAC++ (``ransac_px`` reprojection threshold).
A homography that mirrors or squeezes the picture more than 40:1 is a degenerate fit and
scores nothing. For a rigid scene with depth filmed from another position,
``model="fundamental"`` scores by the epipolar constraint instead (USAC MAGSAC++,
``epipolar_px``). The score is the number of inliers; the spread of the inliers (share of the
frame's area their convex hull covers) is reported beside it.

Strongly slanted views (oblique aerial footage, a facade filmed along the street) defeat
plain SIFT. Frames where the plain pass finds fewer than ``min_inliers`` consistent points get
a second pass with affine simulation (ASIFT, Morel and Yu 2009, through OpenCV's
``AffineFeature``): features of views of both images tilted by up to ``sqrt(2) **
affine_tilt_levels`` in several directions, matched with seeded FLANN (repeatable), verified
the same way, with the negative controls scored the same way.

Negative controls. The same frame is verified against references of other landmarks and against
horizontally mirrored references. The estimated false-match rate of a score s is
(k + 1) / (n + 1), k being the number of the n control scores >= s (a conservative estimate
that is never zero); with fewer than ``min_controls`` controls the rate is reported as not
estimable. A frame whose best score is higher against the mirrored reference is flagged as
mirrored (re-uploads often are).

Reference images are untrusted files: paths stay inside the registry's folder (checked by the
registry), dimensions are read from the file header before decoding and refused above
``max_pixels``; OpenCV decodes bytes read by Python, never a path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import struct
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import cv2 as _cv2
import numpy as np
import numpy.typing as npt

from geoverify._io import write_atomic
from geoverify.errors import InputError, LimitError, MediaError
from geoverify.registry import Registry

__all__ = [
    "FrameMatch",
    "ImageMatch",
    "LandmarkScore",
    "MatchIndex",
    "MatchOptions",
    "annotate",
    "annotated_images",
    "build_index",
    "image_size",
    "load_image",
    "match_frames",
    "match_image",
    "save_matches",
]

Image = npt.NDArray[np.uint8]
# OpenCV's bundled stubs do not describe its feature and matcher factories; used untyped here.
cv2: Any = _cv2


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MatchOptions:
    """How frames are matched to references.

    Attributes
    ----------
    detector
        ``sift`` (default), ``rootsift`` or ``orb``.
    max_features
        Keypoints per image.
    max_side_px
        Images are scaled down to at most this many pixels on their longer side.
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
        such as oblique aerial footage. ``auto`` (default) runs it only for frames where the
        plain pass finds fewer than ``min_inliers`` consistent points, ``on`` for every frame,
        ``off`` never. It costs seconds per frame.
    affine_tilt_levels
        Tilt levels simulated; 4 reaches a tilt of 4 (a view about 76 degrees from the
        perpendicular), so two views up to about 16:1 apart can be compared.
    affine_features_per_view
        Keypoints kept per simulated view.
    affine_candidates
        Landmarks verified with affine simulation (the best of the plain pass first).
    affine_cache_size
        References whose simulated-view features are kept in memory.
    """

    detector: Literal["sift", "rootsift", "orb"] = "sift"
    max_features: int = 2000
    max_side_px: int = 1280
    ratio: float = 0.75
    ransac_px: float = 4.0
    model: Literal["homography", "fundamental"] = "homography"
    epipolar_px: float = 1.0
    min_inliers: int = 15
    candidates: int = 5
    max_false_match_rate: float = 0.05
    ambiguity_ratio: float = 0.8
    min_controls: int = 19
    max_controls: int = 24
    max_pixels: int = 60_000_000
    affine: Literal["off", "auto", "on"] = "auto"
    affine_tilt_levels: int = 4
    affine_features_per_view: int = 1000
    affine_candidates: int = 2
    affine_cache_size: int = 32

    def __post_init__(self) -> None:
        if self.detector not in ("sift", "rootsift", "orb"):
            msg = f"unknown detector {self.detector!r}"
            raise InputError(msg, code="E_INPUT_OPTION", hint="Use sift, rootsift or orb.")
        if not (0 < self.ratio < 1 and self.ransac_px > 0 and self.min_inliers >= 4):
            msg = "ratio must be in (0, 1), ransac_px > 0, min_inliers >= 4"
            raise InputError(msg, code="E_INPUT_OPTION", hint="Check the matching options.")
        if self.model not in ("homography", "fundamental") or not self.epipolar_px > 0:
            msg = f"unknown model {self.model!r} or epipolar_px <= 0"
            raise InputError(msg, code="E_INPUT_OPTION", hint="Use homography or fundamental.")
        if self.affine not in ("off", "auto", "on"):
            msg = f"unknown affine mode {self.affine!r}"
            raise InputError(msg, code="E_INPUT_OPTION", hint="Use off, auto or on.")
        if not (
            1 <= self.affine_tilt_levels <= 6
            and self.affine_features_per_view >= 100
            and self.affine_candidates >= 1
            and self.affine_cache_size >= 1
        ):
            msg = (
                "affine_tilt_levels must be 1-6, affine_features_per_view >= 100, "
                "affine_candidates and affine_cache_size >= 1"
            )
            raise InputError(msg, code="E_INPUT_OPTION", hint="Check the matching options.")


# --- safe image loading --------------------------------------------------------------------------


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header without decoding, or ``None`` if unknown."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:2] == b"\xff\xd8":
        pos = 2
        while pos + 9 < len(data):
            if data[pos] != 0xFF:
                return None
            marker = data[pos + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                pos += 2
                continue
            length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[pos + 5 : pos + 9])
                return int(w), int(h)
            pos += 2 + length
    return None


def load_image(path: str | os.PathLike[str], *, max_pixels: int = 60_000_000) -> Image:
    """Decode a PNG or JPEG file as BGR after checking its size in the header.

    Raises
    ------
    MediaError
        Not a PNG or JPEG, or undecodable (``E_IMAGE_INVALID``).
    LimitError
        Larger than ``max_pixels`` (``E_LIMIT_PIXELS``), checked before decoding.
    """
    return _read_image(path, max_pixels)[0]


def _read_image(path: str | os.PathLike[str], max_pixels: int) -> tuple[Image, str]:
    """``load_image`` and the SHA-256 of the bytes that were decoded."""
    p = Path(os.fspath(path))
    try:
        data = p.read_bytes()
    except OSError as exc:
        msg = f"cannot read image {str(p)!r}: {exc.strerror}"
        raise InputError(msg, code="E_INPUT_MISSING", hint="Check the path.") from None
    size = image_size(data)
    if size is None:
        msg = f"{str(p)!r} is not a PNG or JPEG image"
        raise MediaError(msg, code="E_IMAGE_INVALID", hint="Use PNG or JPEG reference images.")
    if size[0] * size[1] > max_pixels or size[0] <= 0 or size[1] <= 0:
        msg = f"{str(p)!r} claims {size[0]}x{size[1]} pixels, over the limit"
        raise LimitError(msg, code="E_LIMIT_PIXELS", hint="Scale the image down first.")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        msg = f"{str(p)!r} could not be decoded"
        raise MediaError(msg, code="E_IMAGE_INVALID", hint="The file is corrupt.")
    return np.asarray(image, dtype=np.uint8), hashlib.sha256(data).hexdigest()


# --- features ------------------------------------------------------------------------------------


def _scaled_gray(image: Image, max_side: int) -> tuple[Image, float]:
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        gray = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return np.asarray(gray, dtype=np.uint8), scale


def _features(
    gray: Image, opts: MatchOptions, *, affine: bool = False
) -> tuple[npt.NDArray[np.float32], Any]:
    n = opts.affine_features_per_view if affine else opts.max_features
    det: Any = (
        cv2.ORB_create(nfeatures=n) if opts.detector == "orb" else cv2.SIFT_create(nfeatures=n)
    )
    if affine:
        # ASIFT's view sampling: tilts sqrt(2)^1..^levels, rotations every 72/tilt degrees;
        # keypoints come back in the coordinates of ``gray``.
        det = cv2.AffineFeature_create(det, maxTilt=opts.affine_tilt_levels)
    kps, desc = det.detectAndCompute(gray, None)
    pts = np.asarray([k.pt for k in kps], dtype=np.float32).reshape(-1, 2)
    if desc is None:
        desc = np.zeros(
            (0, 32 if opts.detector == "orb" else 128),
            np.uint8 if opts.detector == "orb" else np.float32,
        )
    if opts.detector == "rootsift" and len(desc):
        desc = desc / (np.abs(desc).sum(axis=1, keepdims=True) + 1e-7)
        desc = np.sqrt(desc).astype(np.float32)
    return pts, desc


def _matcher(opts: MatchOptions) -> Any:
    if opts.detector == "orb":
        index = {"algorithm": 6, "table_number": 6, "key_size": 12, "multi_probe_level": 1}
        return cv2.FlannBasedMatcher(index, {"checks": 64})
    return cv2.FlannBasedMatcher({"algorithm": 1, "trees": 4}, {"checks": 64})


# Keypoints closer than this (pixels of the scaled image) are taken as one physical point: SIFT
# gives a point one keypoint per dominant orientation, and affine simulation finds the same
# point in several simulated views. One point is one piece of evidence, counted once.
_SAME_POINT_PX = 2.0
# FLANN's randomised trees draw from OpenCV's RNG; reseeding it before each affine-pass search
# makes the result depend on the images only, not on what ran before in the process.
_FLANN_SEED = 20261126
# A homography that reverses orientation or squeezes the frame more than this (ratio of its
# local singular values, or scale) at the inliers is a degenerate fit, not a view of a surface.
_MAX_DISTORTION = 40.0

Points = npt.NDArray[np.float32]


def _tentative(
    q_pts: Points, q_desc: Any, r_pts: Points, r_desc: Any, opts: MatchOptions, *, affine: bool
) -> tuple[Points, Points]:
    """Ratio-test correspondences, one per physical point, best ratio first.

    The second neighbour of the ratio test is the nearest descriptor of a *different* point
    (more than ``_SAME_POINT_PX`` away), so duplicates of the best point do not veto it.
    """
    empty = np.zeros((0, 2), np.float32)
    if len(q_desc) < 2 or len(r_desc) < 2:
        return empty, empty
    if affine:
        cv2.setRNGSeed(_FLANN_SEED)
        knn = _matcher(opts).knnMatch(q_desc, r_desc, k=6)
    else:
        # exact nearest neighbours, so inlier counts and homographies do not depend on
        # FLANN's random state; FLANN is for retrieval and the (much larger) affine pass
        norm = cv2.NORM_HAMMING if opts.detector == "orb" else cv2.NORM_L2
        knn = cv2.BFMatcher(norm).knnMatch(q_desc, r_desc, k=3)
    pairs: list[tuple[float, int, int]] = []
    where = r_pts.tolist()
    for row in knn:
        if not row:
            continue
        best = row[0]
        bx, by = where[best.trainIdx]
        second = None
        for m in row[1:]:
            x, y = where[m.trainIdx]
            if math.hypot(x - bx, y - by) > _SAME_POINT_PX:
                second = m
                break
        if second is None:
            continue  # no distinct second neighbour among the k: the test cannot be applied
        if best.distance < opts.ratio * second.distance:
            pairs.append((best.distance / max(second.distance, 1e-9), best.queryIdx, best.trainIdx))
    pairs.sort()
    src = np.asarray([q_pts[q] for _, q, _ in pairs], np.float32).reshape(-1, 2)
    dst = np.asarray([r_pts[t] for _, _, t in pairs], np.float32).reshape(-1, 2)
    keep = _distinct(src, dst, _SAME_POINT_PX)
    return src[keep], dst[keep]


def _distinct(src: Points, dst: Points, radius: float) -> list[int]:
    """Return the indices of the pairs kept, one-to-one up to ``radius``.

    Greedy, in order: a pair is kept unless an earlier kept pair is within ``radius`` of it at
    either end.
    """
    cells: tuple[dict[tuple[int, int], list[int]], dict[tuple[int, int], list[int]]] = ({}, {})
    keep: list[int] = []

    def near(grid: dict[tuple[int, int], list[int]], pts: Points, p: Points) -> bool:
        cx, cy = int(p[0] // radius), int(p[1] // radius)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for j in grid.get((cx + dx, cy + dy), ()):
                    if np.hypot(*(pts[j] - p)) <= radius:
                        return True
        return False

    for i in range(len(src)):
        if near(cells[0], src, src[i]) or near(cells[1], dst, dst[i]):
            continue
        keep.append(i)
        for grid, p in ((cells[0], src[i]), (cells[1], dst[i])):
            grid.setdefault((int(p[0] // radius), int(p[1] // radius)), []).append(i)
    return keep


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
class _Reference:
    landmark_id: str
    image: str
    mirrored: bool
    file_sha256: str  # of the bytes decoded when the index was built
    points: npt.NDArray[np.float32]
    descriptors: Any
    size: tuple[int, int]  # scaled (width, height)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MatchIndex:
    """Reference features of a registry, with one retrieval index over all of them.

    Features of the affine-simulated views of a reference are computed the first time a frame
    needs them and kept for the ``affine_cache_size`` most recently used references.
    """

    references: tuple[_Reference, ...]
    options: MatchOptions
    registry_sha256: str
    base_dir: str
    _upright: tuple[int, ...] = dataclasses.field(repr=False, compare=False)
    _matcher: Any = dataclasses.field(repr=False, compare=False)
    _affine_cache: OrderedDict[int, tuple[Points, Any]] = dataclasses.field(
        default_factory=OrderedDict, repr=False, compare=False
    )

    @property
    def landmark_ids(self) -> tuple[str, ...]:
        """Landmarks that have at least one reference image."""
        return tuple(dict.fromkeys(r.landmark_id for r in self.references if not r.mirrored))

    def _affine_features(self, i: int) -> tuple[Points, Any]:
        cache = self._affine_cache
        if i in cache:
            cache.move_to_end(i)
            return cache[i]
        ref = self.references[i]
        opts = self.options
        image, sha = _read_image(Path(self.base_dir) / ref.image, opts.max_pixels)
        if sha != ref.file_sha256:
            msg = f"reference image {ref.image!r} changed since matching started"
            hint = "Re-run the command; do not edit reference images while matching runs."
            raise MediaError(msg, code="E_REFERENCE_CHANGED", hint=hint)
        gray, _ = _scaled_gray(image, opts.max_side_px)
        if ref.mirrored:
            gray = np.ascontiguousarray(gray[:, ::-1])
        cache[i] = _features(gray, opts, affine=True)
        while len(cache) > opts.affine_cache_size:
            cache.popitem(last=False)
        return cache[i]


def build_index(
    registry: Registry,
    *,
    options: MatchOptions | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> MatchIndex:
    """Extract features from every reference image (and its mirror image) of the registry.

    ``base_dir`` is the folder reference paths are relative to (the registry file's folder).
    """
    opts = options or MatchOptions()
    base = Path(os.fspath(base_dir)) if base_dir is not None else Path(registry.path).parent
    refs: list[_Reference] = []
    for lm in registry.landmarks:
        for ref in lm.reference_images:
            image, sha = _read_image(base / ref.path, opts.max_pixels)
            gray, _ = _scaled_gray(image, opts.max_side_px)
            for mirrored, g in ((False, gray), (True, np.ascontiguousarray(gray[:, ::-1]))):
                pts, desc = _features(g, opts)
                refs.append(
                    _Reference(
                        landmark_id=lm.id,
                        image=ref.path,
                        mirrored=mirrored,
                        file_sha256=sha,
                        points=pts,
                        descriptors=desc,
                        size=(g.shape[1], g.shape[0]),
                    )
                )
    if not refs:
        msg = "no landmark in the registry has a reference image"
        hint = "Add reference_images to the landmarks to match against."
        raise InputError(msg, code="E_NO_REFERENCES", hint=hint)
    upright = [i for i, r in enumerate(refs) if not r.mirrored and len(r.descriptors)]
    matcher = _matcher(opts)
    if upright:
        matcher.add([refs[i].descriptors for i in upright])
        matcher.train()
    return MatchIndex(
        references=tuple(refs),
        options=opts,
        registry_sha256=registry.sha256,
        base_dir=str(base),
        _upright=tuple(upright),
        _matcher=matcher,
    )


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


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ImageMatch:
    """What one frame shows, with the evidence and its reliability.

    ``verdict`` is ``match`` (best score with inliers >= ``min_inliers``, a false-match rate
    at or below the limit, and no close runner-up), ``ambiguous`` (a different landmark scores
    close), or ``no_match``. ``false_match_rate`` is ``None`` when there were too few controls
    to estimate it. ``scale`` maps frame pixels to the scaled image the points refer to.
    ``affine`` says the result comes from the affine-simulation pass (its scores and controls
    were all computed that way).
    """

    verdict: Literal["match", "no_match", "ambiguous"]
    best: LandmarkScore | None
    runner_up: LandmarkScore | None
    false_match_rate: float | None
    controls: int
    control_scores: tuple[int, ...]
    mirrored: bool
    scale: float
    notes: tuple[str, ...]
    affine: bool = False


def _verify(
    q_pts: Points,
    q_desc: Any,
    r_pts: Points,
    r_desc: Any,
    ref: _Reference,
    opts: MatchOptions,
    frame_area: float,
    *,
    affine: bool,
) -> LandmarkScore:
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
    src, dst = _tentative(q_pts, q_desc, r_pts, r_desc, opts, affine=affine)
    if opts.model == "fundamental":
        return _verify_epipolar(src, dst, empty, opts, frame_area)
    if len(src) < 4:
        return dataclasses.replace(empty, tentative=len(src))
    # The model comes from a tight fit (1 px) when enough points support it; a loose fit
    # (ransac_px) otherwise. A loose threshold lets slightly wrong correspondences bend the
    # homography, which shows at the image corners. Inliers are then counted at ransac_px.
    h = None
    for threshold in (1.0, opts.ransac_px):
        cand, mask = cv2.findHomography(
            src, dst, cv2.USAC_MAGSAC, threshold, maxIters=5000, confidence=0.999
        )
        if cand is not None and mask is not None and (int(mask.sum()) >= 12 or threshold > 1):
            h = cand
            break
    if h is None:
        return dataclasses.replace(empty, tentative=len(src))
    proj = cv2.perspectiveTransform(src.reshape(-1, 1, 2), h).reshape(-1, 2)
    keep = np.linalg.norm(proj - dst, axis=1) <= opts.ransac_px
    inl = int(keep.sum())
    if inl < 4 or not _plausible(h, src[keep]):
        return dataclasses.replace(empty, tentative=len(src))
    spread = 0.0
    if inl >= 3:
        hull = cv2.convexHull(src[keep])
        spread = float(cv2.contourArea(hull)) / frame_area if frame_area > 0 else 0.0
    return LandmarkScore(
        landmark_id=ref.landmark_id,
        image=ref.image,
        mirrored=ref.mirrored,
        inliers=inl,
        tentative=len(src),
        inlier_ratio=inl / len(src),
        spread=min(1.0, spread),
        homography=tuple(tuple(float(v) for v in row) for row in h),
        frame_points=tuple((float(x), float(y)) for x, y in src[keep]),
        reference_points=tuple((float(x), float(y)) for x, y in dst[keep]),
    )


def _verify_epipolar(
    src: Points, dst: Points, empty: LandmarkScore, opts: MatchOptions, frame_area: float
) -> LandmarkScore:
    """Score correspondences by a fundamental matrix (any rigid scene, two positions)."""
    if len(src) < 8:
        return dataclasses.replace(empty, tentative=len(src))
    f, mask = cv2.findFundamentalMat(src, dst, cv2.USAC_MAGSAC, opts.epipolar_px, 0.999, 5000)
    if f is None or mask is None or f.shape != (3, 3):
        return dataclasses.replace(empty, tentative=len(src))
    keep = mask.ravel().astype(bool)
    inl = int(keep.sum())
    spread = 0.0
    if inl >= 3 and frame_area > 0:
        spread = float(cv2.contourArea(cv2.convexHull(src[keep]))) / frame_area
    return dataclasses.replace(
        empty,
        inliers=inl,
        tentative=len(src),
        inlier_ratio=inl / len(src),
        spread=min(1.0, spread),
        frame_points=tuple((float(x), float(y)) for x, y in src[keep]),
        reference_points=tuple((float(x), float(y)) for x, y in dst[keep]),
    )


def _decide(
    refs: Sequence[_Reference],
    score: Callable[[int], LandmarkScore],
    candidates: Sequence[int],
    control_order: Sequence[int],
    opts: MatchOptions,
    scale: float,
    *,
    controls_only_if_needed: bool = False,
) -> ImageMatch:
    """Verify the candidates, then the negative controls, and reach a verdict.

    ``control_order`` lists every reference, most retrieval votes first; the controls are the
    first ``max_controls`` of them that show another landmark than the best candidate. With
    ``controls_only_if_needed`` the controls are skipped when the best score is below
    ``min_inliers`` (the verdict is ``no_match`` whatever they score).
    """
    scores: dict[int, LandmarkScore] = {i: score(i) for i in candidates}
    best_i = max(scores, key=lambda i: (scores[i].inliers, not refs[i].mirrored), default=None)
    best_ref = scores[best_i] if best_i is not None and scores[best_i].inliers > 0 else None
    best_id = best_ref.landmark_id if best_ref is not None else None
    # negative controls: references of the other landmarks, both orientations, by votes
    others = [i for i in control_order if refs[i].landmark_id != best_id][: opts.max_controls]
    skip_controls = controls_only_if_needed and (
        best_ref is None or best_ref.inliers < opts.min_inliers
    )
    if not skip_controls:
        for i in others:
            if i not in scores:
                scores[i] = score(i)
    controls = [] if skip_controls else [scores[i].inliers for i in others]
    notes: list[str] = []
    runner: LandmarkScore | None = None
    for i in sorted(scores, key=lambda i: -scores[i].inliers):
        if refs[i].landmark_id != best_id and scores[i].inliers > 0:
            runner = scores[i]
            break
    mirrored = bool(best_ref is not None and best_ref.mirrored)
    if best_ref is not None and mirrored:
        other_orientation = max(
            (
                scores[i].inliers
                for i in scores
                if refs[i].landmark_id == best_id and refs[i].mirrored != mirrored
            ),
            default=0,
        )
        notes.append(
            f"the frame matches the mirrored reference of {best_id!r} better "
            f"({best_ref.inliers} vs {other_orientation} inliers): "
            "the footage is probably mirrored"
        )
    fmr: float | None = None
    if best_ref is not None and len(controls) >= opts.min_controls:
        k = sum(1 for c in controls if c >= best_ref.inliers)
        fmr = (k + 1) / (len(controls) + 1)
    elif best_ref is not None and not skip_controls:
        notes.append(
            f"only {len(controls)} negative controls (other landmarks' references, both "
            f"orientations): too few to estimate a false-match rate (need {opts.min_controls})"
        )
    if best_ref is not None and controls:
        notes.append(f"best control: {max(controls)} inliers; best match: {best_ref.inliers}")
    verdict: Literal["match", "no_match", "ambiguous"] = "no_match"
    if best_ref is not None and best_ref.inliers >= opts.min_inliers:
        strongest_control = max(controls, default=0)
        if runner is not None and runner.inliers >= opts.ambiguity_ratio * best_ref.inliers:
            verdict = "ambiguous"
            notes.append(
                f"runner-up {runner.landmark_id!r} scores {runner.inliers} inliers, "
                f"close to {best_ref.inliers}"
            )
        elif fmr is not None and fmr > opts.max_false_match_rate:
            notes.append(
                f"estimated false-match rate {fmr:.3f} is above {opts.max_false_match_rate}"
            )
        elif strongest_control >= opts.ambiguity_ratio * best_ref.inliers:
            verdict = "ambiguous"
        else:
            verdict = "match"
    elif best_ref is not None:
        notes.append(f"{best_ref.inliers} inliers: fewer than the {opts.min_inliers} a match needs")
    return ImageMatch(
        verdict=verdict,
        best=best_ref,
        runner_up=runner,
        false_match_rate=fmr,
        controls=len(controls),
        control_scores=tuple(sorted(controls, reverse=True)),
        mirrored=mirrored,
        scale=scale,
        notes=tuple(notes),
    )


_RANK = {"no_match": 0, "ambiguous": 1, "match": 2}


def match_image(image: Image, index: MatchIndex) -> ImageMatch:
    """Find which landmark ``image`` (BGR or grey) shows; see the module docstring."""
    opts = index.options
    gray, scale = _scaled_gray(image, opts.max_side_px)
    pts, desc = _features(gray, opts)
    area = float(gray.shape[0] * gray.shape[1])
    refs = index.references
    upright = index._upright
    votes: dict[int, int] = {}
    if len(desc) >= 2 and upright:
        for pair in index._matcher.knnMatch(desc, k=2):
            if len(pair) == 2 and pair[0].distance < opts.ratio * pair[1].distance:
                ref_i = upright[pair[0].imgIdx]  # imgIdx: which trained reference
                votes[ref_i] = votes.get(ref_i, 0) + 1
    by_votes = sorted(range(len(refs)), key=lambda i: (-votes.get(i, 0), i))
    # the references with most votes, topped up with others so ``candidates`` are verified
    ranked = sorted(votes, key=lambda i: -votes[i])[: opts.candidates]
    ranked += [i for i in upright if i not in votes][: max(0, opts.candidates - len(ranked))]
    candidate_landmarks = {refs[i].landmark_id for i in ranked}
    plain: ImageMatch | None = None
    plain_best: dict[str, int] = {}
    if opts.affine != "on":
        plain_scores: dict[int, LandmarkScore] = {}

        def plain_score(i: int) -> LandmarkScore:
            s = _verify(
                pts, desc, refs[i].points, refs[i].descriptors, refs[i], opts, area, affine=False
            )
            plain_scores[i] = s
            lid = refs[i].landmark_id
            plain_best[lid] = max(plain_best.get(lid, 0), s.inliers)
            return s

        # candidates in both orientations (re-uploads are often mirrored)
        cands = [i for i, r in enumerate(refs) if r.landmark_id in candidate_landmarks]
        plain = _decide(refs, plain_score, cands, by_votes, opts, scale)
        enough = plain.best is not None and plain.best.inliers >= opts.min_inliers
        if enough or opts.affine == "off":
            # with enough inliers, an ambiguous or uncertain result is not a viewpoint problem
            return plain
    # affine pass: the most promising landmarks of the plain pass, then by votes
    order = list(dict.fromkeys(refs[i].landmark_id for i in by_votes))
    order.sort(key=lambda lid: -plain_best.get(lid, 0))  # stable: ties keep the vote order
    chosen = set(order[: opts.affine_candidates])
    a_pts, a_desc = _features(gray, opts, affine=True)

    def affine_score(i: int) -> LandmarkScore:
        r_pts, r_desc = index._affine_features(i)
        return _verify(a_pts, a_desc, r_pts, r_desc, refs[i], opts, area, affine=True)

    cands = [i for i, r in enumerate(refs) if r.landmark_id in chosen]
    result = _decide(refs, affine_score, cands, by_votes, opts, scale, controls_only_if_needed=True)
    tilt = 2 ** (opts.affine_tilt_levels / 2)
    what = (
        f"affine simulation (views tilted up to {tilt:.3g}x, "
        f"{opts.affine_features_per_view} keypoints per view)"
    )
    if plain is None or _RANK[result.verdict] > _RANK[plain.verdict]:
        notes = [f"scores from {what}; the controls were scored the same way"]
        if plain is not None:
            notes.append(
                f"the plain pass gave {plain.verdict} "
                f"({plain.best.inliers if plain.best else 0} inliers); a second pass was run, "
                "so the chance that either pass produces a false match is up to the sum of "
                "their false-match rates"
            )
        return dataclasses.replace(result, notes=tuple(notes) + result.notes, affine=True)
    best = result.best.inliers if result.best else 0
    note = f"a second pass with {what} did not do better ({result.verdict}, {best} inliers)"
    return dataclasses.replace(plain, notes=(*plain.notes, note))


def annotate(image: Image, match: ImageMatch, reference: Image) -> Image:
    """Side-by-side picture of the frame and the reference with the inlier correspondences."""
    best = match.best
    f_small, _ = _scaled_gray(image, 1280)
    if best is None:
        return np.asarray(cv2.cvtColor(f_small, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    r_small, _ = _scaled_gray(reference, 1280)
    if best.mirrored:
        r_small = np.ascontiguousarray(r_small[:, ::-1])
    h = max(f_small.shape[0], r_small.shape[0])
    canvas = np.zeros((h, f_small.shape[1] + r_small.shape[1], 3), np.uint8)
    canvas[: f_small.shape[0], : f_small.shape[1]] = cv2.cvtColor(f_small, cv2.COLOR_GRAY2BGR)
    canvas[: r_small.shape[0], f_small.shape[1] :] = cv2.cvtColor(r_small, cv2.COLOR_GRAY2BGR)
    for (x1, y1), (x2, y2) in zip(best.frame_points, best.reference_points, strict=True):
        p1 = (round(x1), round(y1))
        p2 = (round(x2) + f_small.shape[1], round(y2))
        cv2.line(canvas, p1, p2, (0, 200, 0), 1, cv2.LINE_AA)
        cv2.circle(canvas, p1, 3, (0, 0, 255), 1, cv2.LINE_AA)
    return canvas


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FrameMatch:
    """The match of one video frame: its time and number, and the ``ImageMatch``."""

    t_s: float
    frame_number: int
    frame_sha256: str
    match: ImageMatch


def match_frames(frames: Sequence[Any], index: MatchIndex) -> tuple[FrameMatch, ...]:
    """Match every frame (``geoverify.frames.Frame``) to the index; one result per frame."""
    import hashlib

    out = []
    for f in frames:
        digest = hashlib.sha256(np.ascontiguousarray(f.image_bgr).tobytes()).hexdigest()
        out.append(
            FrameMatch(
                t_s=f.t_s,
                frame_number=f.frame_number,
                frame_sha256=digest,
                match=match_image(f.image_bgr, index),
            )
        )
    return tuple(out)


def annotated_images(
    results: Sequence[FrameMatch],
    frames: Sequence[Any],
    index: MatchIndex,
    *,
    registry_dir: str | os.PathLike[str],
) -> dict[int, Image]:
    """Annotated picture (``annotate``) of every matched frame, by frame number.

    Each reference image is read and decoded once, however many frames matched it.
    """
    references: dict[str, Image] = {}
    out: dict[int, Image] = {}
    for result, frame in zip(results, frames, strict=True):
        best = result.match.best
        if best is None:
            continue
        if best.image not in references:
            references[best.image] = load_image(
                Path(os.fspath(registry_dir)) / best.image, max_pixels=index.options.max_pixels
            )
        out[result.frame_number] = annotate(frame.image_bgr, result.match, references[best.image])
    return out


def save_matches(
    results: Sequence[FrameMatch],
    frames: Sequence[Any],
    index: MatchIndex,
    out_dir: str | os.PathLike[str],
    *,
    registry_dir: str | os.PathLike[str],
    annotated: dict[int, Image] | None = None,
) -> Path:
    """Write an annotated image per matched frame and ``matches.json`` (written last).

    ``annotated`` reuses pictures already made by ``annotated_images``. Files are written to
    temporary names and renamed; returns the manifest's path.
    """
    import json

    from geoverify.models import to_jsonable

    out = Path(os.fspath(out_dir))
    out.mkdir(parents=True, exist_ok=True)

    if annotated is None:
        annotated = annotated_images(results, frames, index, registry_dir=registry_dir)
    entries = []
    for result in results:
        entry: dict[str, Any] = to_jsonable(result)
        best = result.match.best
        if best is not None:
            for key in ("frame_points", "reference_points"):
                entry["match"]["best"].pop(key, None)
            ok, buf = cv2.imencode(".png", annotated[result.frame_number])
            if ok:
                name = f"match_{result.t_s:010.3f}s_{best.landmark_id}.png"
                write_atomic(out / name, bytes(buf))
                entry["annotated_image"] = name
        runner = entry["match"].get("runner_up")
        if isinstance(runner, dict):
            runner.pop("frame_points", None)
            runner.pop("reference_points", None)
        entries.append(entry)
    manifest = {
        "schema": "geoverify.matches/1",
        "registry_sha256": index.registry_sha256,
        "options": to_jsonable(index.options),
        "frames": entries,
    }
    path = out / "matches.json"
    text = json.dumps(manifest, ensure_ascii=False, allow_nan=False, indent=2)
    write_atomic(path, text.encode("utf-8"), durable=True)
    return path
