"""Local features of one image, and tentative correspondences between two (matching stage).

Detection and description (SIFT, RootSIFT, ORB; ASIFT's simulated views through OpenCV's
``AffineFeature``), kept in the process by the content of the image; the mirror image's SIFT
features derived from the image's own; the seeded FLANN retrieval indexes; and the ratio test
that turns two images' descriptors into correspondences, one per physical point. Their
geometric verification is ``geoverify.matching._verify``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from geoverify._images import Image, cv2
from geoverify.matching import _disk
from geoverify.matching._options import MatchOptions

# Keypoints closer than this (pixels of the scaled image) are taken as one physical point: SIFT
# gives a point one keypoint per dominant orientation, and affine simulation finds the same
# point in several simulated views. One point is one piece of evidence, counted once.
_SAME_POINT_PX = 2.0
# FLANN's randomised trees draw from OpenCV's RNG; reseeding it before each affine-pass search
# makes the result depend on the images only, not on what ran before in the process.
_FLANN_SEED = 20261126

Points = npt.NDArray[np.float32]


def scaled_gray(image: Image, max_side: int) -> tuple[Image, float]:
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        gray = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return np.asarray(gray, dtype=np.uint8), scale


def features(
    gray: Image, opts: MatchOptions, *, affine: bool = False, screen: bool = False
) -> tuple[npt.NDArray[np.float32], Any]:
    """Keypoints (in the coordinates of ``gray``) and descriptors.

    ``affine``: ASIFT view sampling, tilts sqrt(2)^1..^levels and rotations every 72/tilt
    degrees. ``screen``: the low-resolution screen of the affine pass (the image scaled down to
    ``affine_screen_side_px``, ``affine_screen_features_per_view`` keypoints per view, rotations
    every 72/tilt degrees, as the full pass); its keypoints are in the coordinates of the
    scaled-down image (screen scores are counts, compared with counts only).
    """
    if screen:
        affine = True
        gray, _ = scaled_gray(gray, opts.affine_screen_side_px)
        n = opts.affine_screen_features_per_view
    else:
        n = opts.affine_features_per_view if affine else opts.max_features
    det: Any = (
        cv2.ORB_create(nfeatures=n) if opts.detector == "orb" else cv2.SIFT_create(nfeatures=n)
    )
    if affine:
        det = cv2.AffineFeature_create(det, maxTilt=opts.affine_tilt_levels, rotateStepBase=72.0)
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


# Features of reference images, kept in the process by the content of the image they came
# from, up to this many bytes (least recently used out first): affine-simulated ones cost
# seconds an image, plain ones a fifth of a second; the same reference in a second index (a
# batch worker's next item, a notebook's next run), or a frame that shows the same picture as
# a reference, is computed once. Frames' features go to a small store of their own
# (``_FRAME_CACHE_BYTES``): footage rarely repeats a picture, so most are dead entries that
# must not push references out, but the same frames matched again (a second index, a rerun of a
# notebook cell, ``verify`` after ``match_frames``) are not computed again.
# ``clear_feature_cache`` empties both.
_FEATURE_CACHE_BYTES = 512 * 1024 * 1024
_FRAME_CACHE_BYTES = 64 * 1024 * 1024
FeatureKind = Literal["plain", "affine", "screen", "learned"]


@dataclasses.dataclass(frozen=True, slots=True)
class Packed:
    """Features as a cache keeps them: descriptors as bytes where that is lossless.

    SIFT's descriptors are whole numbers 0-255 (``_disk.pack_descriptors``); ``unpack``
    hands them out in their computed ``dtype`` again, a new array each time.
    """

    points: npt.NDArray[np.float32]
    descriptors: npt.NDArray[Any]
    dtype: str

    @property
    def nbytes(self) -> int:
        """Bytes held."""
        return int(self.points.nbytes + self.descriptors.nbytes)

    def unpack(self) -> tuple[npt.NDArray[np.float32], Any]:
        """Return (points, descriptors) as they were computed."""
        return self.points, _disk.unpack_descriptors(self.descriptors, self.dtype)


def pack_features(value: tuple[npt.NDArray[np.float32], Any]) -> Packed:
    """Return (points, descriptors) as a cache keeps them (``Packed``)."""
    desc = np.asarray(value[1])
    return Packed(value[0], _disk.pack_descriptors(desc), str(desc.dtype))


_Entry = tuple[npt.NDArray[np.float32], Any] | Packed


class _FeatureCache:
    """Least-recently-used store of (points, descriptors) with a running byte count.

    Affine-simulated descriptors are kept ``Packed`` (a quarter of the memory, for what is
    most of what is kept); plain and learned features as computed, the very arrays the
    references hold.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.entries: OrderedDict[tuple[object, ...], _Entry] = OrderedDict()
        self.total_bytes = 0

    @staticmethod
    def size(value: _Entry) -> int:
        if isinstance(value, Packed):
            return value.nbytes
        return int(value[0].nbytes + np.asarray(value[1]).nbytes)

    def get(self, key: tuple[object, ...]) -> tuple[npt.NDArray[np.float32], Any] | None:
        hit = self.entries.get(key)
        if hit is None:
            return None
        self.entries.move_to_end(key)
        return hit.unpack() if isinstance(hit, Packed) else hit

    def put(self, key: tuple[object, ...], value: tuple[npt.NDArray[np.float32], Any]) -> None:
        if key in self.entries:
            return
        # key[3] is the kind of features (``_feature_key``)
        entry = pack_features(value) if key[3] in ("affine", "screen") else value
        self.entries[key] = entry
        self.total_bytes += self.size(entry)
        while self.total_bytes > self.max_bytes and len(self.entries) > 1:
            _, old = self.entries.popitem(last=False)
            self.total_bytes -= self.size(old)

    def clear(self) -> None:
        self.entries.clear()
        self.total_bytes = 0


_cache = _FeatureCache(_FEATURE_CACHE_BYTES)
_frame_cache = _FeatureCache(_FRAME_CACHE_BYTES)


# SIFT's descriptor is 4 x 4 cells of 8 orientation bins, index (row * 4 + col) * 8 + bin, in
# the keypoint's frame. Mirroring the image left-right mirrors that frame: the rows come in
# reverse order and each bin b becomes (8 - b) mod 8. Measured on aero1 and graf1 (OpenCV 4.x):
# the permuted descriptors of an image equal the mirror image's own to 0.02 on a 0-255 scale.
_MIRROR_PERMUTATION = np.array(
    [((3 - r) * 4 + c) * 8 + (8 - b) % 8 for r in range(4) for c in range(4) for b in range(8)]
)
# OpenCV's SIFT reports positions a quarter pixel off (its doubled first octave), so a point at
# x in an image of width w is at w - 0.5 - x in the mirror image (measured: -0.500, every
# coinciding point of aero1's and graf1's simulated views).
_MIRROR_X_PX = -0.5


def mirrored_features(
    pts: Points, desc: npt.NDArray[np.float32], width_px: int
) -> tuple[Points, npt.NDArray[np.float32]]:
    """SIFT (or RootSIFT) features of the left-right mirror image, from the image's own.

    Keypoints ``x -> width - 0.5 - x``; descriptors permuted (``_MIRROR_PERMUTATION``). For
    affine-simulated features this is the simulation of the mirror image with the rotations
    mirrored (-phi for phi), as valid a sampling of the view sphere, at no cost.
    """
    out = np.array(pts, dtype=np.float32, copy=True).reshape(-1, 2)
    out[:, 0] = np.float32(width_px + _MIRROR_X_PX) - out[:, 0]
    return out, np.ascontiguousarray(desc[:, _MIRROR_PERMUTATION], dtype=np.float32)


def _feature_key(gray: Image, opts: MatchOptions, kind: str) -> tuple[object, ...]:
    """Cache key: a BLAKE2b digest of the pixels and their shape, and every option that counts."""
    digest = hashlib.blake2b(np.ascontiguousarray(gray).data, digest_size=20).hexdigest()
    depends: tuple[object, ...] = (
        (opts.max_features,)
        if kind in ("plain", "mirror")
        else (opts.features, opts.learned_keypoints)
        if kind == "learned"
        else (
            opts.affine_tilt_levels,
            opts.affine_features_per_view,
            opts.affine_screen_side_px,
            opts.affine_screen_features_per_view,
        )
    )
    return (digest, gray.shape, opts.detector, kind, *depends)


def cached_features(
    gray: Image, opts: MatchOptions, *, kind: FeatureKind, keep: bool = False
) -> tuple[npt.NDArray[np.float32], Any]:
    """``features(gray, opts)`` of one kind (plain, affine-simulated, screen, learned), once.

    The key is a BLAKE2b digest of the pixels and their shape, with every option the features
    depend on, so a different image or option is never served another's features. ``keep``
    (for references) stores what was computed in the references' cache; without it (frames)
    it goes to the frames' small one.
    """
    key = _feature_key(gray, opts, kind)
    hit = _cache.get(key) or _frame_cache.get(key)
    if hit is not None:
        if keep:
            _cache.put(key, hit)
        return hit
    if kind == "learned":
        from geoverify.matching import _learned

        result: tuple[Points, Any] = _learned.extract(gray, opts.features, opts.learned_keypoints)
    elif kind == "affine" and keep:
        result = _disk_affine(gray, opts, key)
    else:
        result = features(gray, opts, affine=kind == "affine", screen=kind == "screen")
    (_cache if keep else _frame_cache).put(key, result)
    return result


@functools.cache
def _features_code() -> str:
    """Return a digest of ``features``' source: a change in how they are made is a new cache."""
    try:
        text = inspect.getsource(features)
    except (OSError, TypeError):  # no source (a frozen build): the module's name and version
        from geoverify._version import __version__

        text = f"{__name__} {__version__}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _disk_affine(
    gray: Image, opts: MatchOptions, key: tuple[object, ...]
) -> tuple[npt.NDArray[np.float32], Any]:
    """Return a reference's affine-simulated features from the disk cache, else compute them.

    Named by the in-process key (the pixels' digest, shape and every option that counts) and
    OpenCV's version; SIFT's descriptors are stored as bytes, losslessly.
    """
    what = {
        "kind": "affine", "format": 1, "key": [str(k) for k in key], "cv2": cv2.__version__,
        "code": _features_code(),
    }  # fmt: skip
    width = 32 if opts.detector == "orb" else 128

    def check(a: _disk.Arrays) -> bool:
        pts, desc, dtype = a["pts"], a["desc"], str(a["dtype"])
        return (
            pts.ndim == 2 and pts.shape[1] == 2 and desc.shape == (len(pts), width)
            and dtype in ("float32", "uint8")
        )  # fmt: skip

    def compute() -> _disk.Arrays:
        pts, desc = features(gray, opts, affine=True)
        stored = _disk.pack_descriptors(desc)
        return {"pts": pts, "desc": stored, "dtype": np.array(str(desc.dtype))}

    found = _disk.cached_arrays(_disk.cache_name("affine", what), check, compute)
    pts = np.ascontiguousarray(found["pts"], dtype=np.float32)
    return pts, _disk.unpack_descriptors(found["desc"], str(found["dtype"]))


def cached_mirror_features(
    mirror: Image, opts: MatchOptions, upright: tuple[Points, Any]
) -> tuple[npt.NDArray[np.float32], Any]:
    """Plain features of a reference's mirror image ``mirror``: ``upright``'s, mirrored.

    SIFT and RootSIFT are mirrored (``mirrored_features``), at no cost; ORB's are computed
    (its binary tests are not symmetric). Kept under their own key: the same pixels as an
    upright reference get their own features, whichever came first.
    """
    if opts.detector == "orb":
        return cached_features(mirror, opts, kind="plain", keep=True)
    key = _feature_key(mirror, opts, "mirror")
    hit = _cache.get(key)
    if hit is None:
        hit = mirrored_features(upright[0], upright[1], mirror.shape[1])
        _cache.put(key, hit)
    return hit


def simulated_features(
    gray: Image, opts: MatchOptions, *, screen: bool = False, keep: bool = False
) -> tuple[npt.NDArray[np.float32], Any]:
    """``features(gray, opts, affine=True)`` (or ``screen=True``), computed once per content."""
    return cached_features(gray, opts, kind="screen" if screen else "affine", keep=keep)


def screen_frame_options(opts: MatchOptions) -> MatchOptions:
    """Return the options of the screen's frame side: its own size and tilt levels.

    ``features(gray, screen_frame_options(opts), screen=True)`` simulates the frame's views
    at ``affine_screen_frame_side_px`` with ``affine_screen_frame_tilt_levels`` tilt levels.
    """
    return dataclasses.replace(
        opts,
        affine_screen_side_px=opts.affine_screen_frame_side_px,
        affine_tilt_levels=opts.affine_screen_frame_tilt_levels,
    )


def clear_feature_cache() -> None:
    """Forget what matching keeps in this process: features and trained retrieval indexes.

    The references' features (plain, mirrored, affine-simulated), the frames' small store and
    the retrieval indexes; an index already built keeps what it holds.
    """
    _cache.clear()
    _frame_cache.clear()
    _retrieval_cache.clear()


# Trained retrieval indexes kept in the process, most recently used last: training over the
# Berlin sample's 42 reference images takes 0.18 s, a third of a warm ``build_index``. (One
# more than the indexes a registry needs at once: its retrieval index and the background
# screen's ``pooled_index``.)
_RETRIEVAL_CACHE_SIZE = 4
_retrieval_cache: OrderedDict[tuple[object, ...], Any] = OrderedDict()


def _retrieval_matcher(opts: MatchOptions) -> Any:
    if opts.detector == "orb":
        index = {"algorithm": 6, "table_number": 6, "key_size": 12, "multi_probe_level": 1}
        return cv2.FlannBasedMatcher(index, {"checks": 64})
    return cv2.FlannBasedMatcher({"algorithm": 1, "trees": 4}, {"checks": 64})


def trained_retrieval(
    descriptors: Sequence[Any], contents: tuple[str, ...], opts: MatchOptions
) -> Any:
    """Return the retrieval index over ``descriptors``, trained once per process per image set.

    ``contents`` names what the descriptors came from, in order (the images' SHA-256): with
    the feature options it is the key, so another image, order or option trains a new index.
    Training is seeded, so the votes do not depend on what ran before in the process.
    """
    key = (opts.detector, opts.max_features, opts.max_side_px, contents)
    matcher = _retrieval_cache.get(key)
    if matcher is not None:
        _retrieval_cache.move_to_end(key)
        return matcher
    matcher = _retrieval_matcher(opts)
    if descriptors:
        matcher.add(list(descriptors))
        cv2.setRNGSeed(_FLANN_SEED)
        matcher.train()
    _retrieval_cache[key] = matcher
    while len(_retrieval_cache) > _RETRIEVAL_CACHE_SIZE:
        _retrieval_cache.popitem(last=False)
    return matcher


def pooled_index(
    descriptors: Sequence[Any], contents: tuple[str, ...], opts: MatchOptions
) -> tuple[Any, npt.NDArray[np.int64]]:
    """One seeded FLANN index over several images' descriptors, and the image of each row.

    Kept in the process like ``trained_retrieval``'s indexes (``contents`` names the images);
    ``knnSearch`` on it returns rows, ``owner[row]`` the position of the image in
    ``descriptors``.
    """
    key = ("pool", opts.detector, opts.max_features, opts.max_side_px, contents)
    hit = _retrieval_cache.get(key)
    if hit is not None:
        _retrieval_cache.move_to_end(key)
        index, owner = hit
        return index, owner
    owner = np.concatenate(
        [np.full(len(d), i, np.int64) for i, d in enumerate(descriptors)] or [np.zeros(0, np.int64)]
    )
    stacked = np.concatenate([np.asarray(d) for d in descriptors]) if descriptors else None
    index = flann_index(stacked, opts) if stacked is not None and len(stacked) >= 2 else None
    _retrieval_cache[key] = (index, owner)
    while len(_retrieval_cache) > _RETRIEVAL_CACHE_SIZE:
        _retrieval_cache.popitem(last=False)
    return index, owner


def pooled_votes(
    desc: Any, index: Any, owner: npt.NDArray[np.int64], n: int, ratio: float
) -> npt.NDArray[np.int64]:
    """Votes of ``desc`` for each of the ``n`` images of a ``pooled_index``.

    A descriptor votes for the image of its nearest pooled descriptor when that is nearer than
    ``ratio`` times the second nearest (Lowe's ratio test, the second from any image).
    """
    if index is None or len(desc) < 2:
        return np.zeros(n, np.int64)
    cv2.setRNGSeed(_FLANN_SEED)
    nn, dist = index.knnSearch(np.ascontiguousarray(desc), 2, params={"checks": 64})
    nn = np.asarray(nn, np.int64).reshape(-1, 2)
    dist = np.asarray(dist, np.float64).reshape(-1, 2)
    if np.asarray(desc).dtype != np.uint8:
        dist = np.sqrt(np.maximum(dist, 0.0))  # FLANN's L2 distances are squared
    ok = (nn[:, 0] >= 0) & (nn[:, 1] >= 0) & (dist[:, 0] < ratio * dist[:, 1])
    return np.bincount(owner[nn[ok, 0]], minlength=n).astype(np.int64)


def tentative_pairs(
    q_pts: Points,
    q_desc: Any,
    r_pts: Points,
    r_desc: Any,
    opts: MatchOptions,
    *,
    affine: bool,
    r_index: Any = None,
    search: tuple[int, int] = (6, 64),
) -> tuple[Points, Points]:
    """Ratio-test correspondences, one per physical point, best ratio first.

    The second neighbour of the ratio test is the nearest descriptor of a *different* point
    (more than ``_SAME_POINT_PX`` away), so duplicates of the best point do not veto it.
    """
    empty = np.zeros((0, 2), np.float32)
    if len(q_desc) < 2 or len(r_desc) < 2:
        return empty, empty
    if affine:
        return _tentative_flann(q_pts, q_desc, r_pts, r_desc, opts, index=r_index, search=search)
    # exact nearest neighbours, so inlier counts and homographies do not depend on FLANN's
    # random state; FLANN is for retrieval and the (much larger) affine pass
    k = min(3, len(r_desc))
    if opts.detector == "orb":
        knn = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(q_desc, r_desc, k=k)
        nn = np.full((len(q_desc), k), -1, np.int64)
        dist = np.zeros((len(q_desc), k), np.float64)
        for i, row in enumerate(knn):
            for j, m in enumerate(row):
                nn[i, j], dist[i, j] = m.trainIdx, m.distance
    else:
        nn, dist = _exact_neighbours(q_desc, r_desc, k)
    return _ratio_pairs(q_pts, r_pts, nn, dist, opts)


# Query rows per block of the exact search: a block's distance matrix is rows x references
# float32 (8 MB at 2,000 reference keypoints).
_EXACT_BLOCK_ROWS = 1024


def _exact_neighbours(
    q_desc: Any, r_desc: Any, k: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Return the ``k`` nearest reference descriptors (L2) of every query descriptor, in order.

    Brute force as one matrix product per block (|q|^2 + |r|^2 - 2 q.r, float32) and ``k``
    passes of argmin, about four times faster than OpenCV's BFMatcher.knnMatch on 2,000 x
    2,000 SIFT descriptors and the same neighbours; the returned distances are recomputed
    exactly (float64) for the chosen neighbours.
    """
    q = np.ascontiguousarray(q_desc, np.float32)
    r = np.ascontiguousarray(r_desc, np.float32)
    r_sq = np.einsum("ij,ij->i", r, r)
    nn = np.empty((len(q), k), np.int64)
    for start in range(0, len(q), _EXACT_BLOCK_ROWS):
        block = q[start : start + _EXACT_BLOCK_ROWS]
        d = r_sq[None, :] - 2.0 * (block @ r.T)  # |q|^2 is the same along a row
        rows = np.arange(len(block))
        for j in range(k):
            best = d.argmin(axis=1)
            nn[start : start + len(block), j] = best
            d[rows, best] = np.inf
    diff = q[:, None, :].astype(np.float64) - r[nn].astype(np.float64)
    dist = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    return nn, dist


def _ratio_pairs(
    q_pts: Points,
    r_pts: Points,
    nn: npt.NDArray[np.int64],
    dist: npt.NDArray[np.float64],
    opts: MatchOptions,
) -> tuple[Points, Points]:
    """Apply the ratio test to ``k`` neighbours per query point (-1: none) and keep distinct pairs.

    The second neighbour is the nearest one more than ``_SAME_POINT_PX`` from the best; pairs
    come out best ratio first (query order among equal ratios), one per physical point.
    """
    empty = np.zeros((0, 2), np.float32)
    if nn.shape[1] < 2:
        return empty, empty
    valid = nn >= 0  # LSH and Hamming search may find fewer than k neighbours
    safe = np.where(valid, nn, 0)
    best_xy = r_pts[safe[:, 0]]
    far = np.linalg.norm(r_pts[safe[:, 1:]] - best_xy[:, None, :], axis=2) > _SAME_POINT_PX
    far &= valid[:, 1:]
    has_second = far.any(axis=1) & valid[:, 0]
    second = dist[np.arange(len(nn)), far.argmax(axis=1) + 1]
    ok = has_second & (dist[:, 0] < opts.ratio * second)
    rows = np.flatnonzero(ok)
    ratio = dist[rows, 0] / np.maximum(second[rows], 1e-9)
    rows = rows[np.argsort(ratio, kind="stable")]
    src = np.ascontiguousarray(q_pts[rows], np.float32).reshape(-1, 2)
    dst = np.ascontiguousarray(r_pts[nn[rows, 0]], np.float32).reshape(-1, 2)
    keep = _distinct(src, dst, _SAME_POINT_PX)
    return src[keep], dst[keep]


def flann_index(desc: Any, opts: MatchOptions) -> Any:
    """Build a seeded FLANN index over ``desc`` (KD-trees for SIFT, LSH for ORB)."""
    if opts.detector == "orb":
        params = {"algorithm": 6, "table_number": 6, "key_size": 12, "multi_probe_level": 1}
    else:
        params = {"algorithm": 1, "trees": 4}
    cv2.setRNGSeed(_FLANN_SEED)
    return cv2.flann_Index(np.ascontiguousarray(desc), params)


def _tentative_flann(
    q_pts: Points,
    q_desc: Any,
    r_pts: Points,
    r_desc: Any,
    opts: MatchOptions,
    *,
    index: Any = None,
    search: tuple[int, int] = (6, 64),
) -> tuple[Points, Points]:
    """``tentative_pairs`` with FLANN's approximate neighbours (seeded), on whole arrays at once.

    ``index`` is a ``flann_index`` of ``r_desc`` built beforehand (to search it many times);
    ``search`` is (neighbours, FLANN checks).
    """
    k = min(search[0], len(r_desc))
    if index is None:
        index = flann_index(r_desc, opts)
    cv2.setRNGSeed(_FLANN_SEED)
    nn, dist = index.knnSearch(np.ascontiguousarray(q_desc), k, params={"checks": search[1]})
    nn = np.asarray(nn, np.int64).reshape(len(q_desc), k)
    dist = np.asarray(dist, np.float64).reshape(len(q_desc), k)
    if opts.detector != "orb":
        dist = np.sqrt(np.maximum(dist, 0.0))  # FLANN's L2 distances are squared
    return _ratio_pairs(q_pts, r_pts, nn, dist, opts)


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


def one_per_point(src: Points, dst: Points) -> tuple[Points, Points]:
    """Keep correspondences (best first) one per physical point (``_SAME_POINT_PX``)."""
    keep = _distinct(src, dst, _SAME_POINT_PX)
    return src[keep], dst[keep]
