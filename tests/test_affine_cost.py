"""What makes the affine pass affordable must not change what it finds.

Two levers of issue 32 (bench/README.md, verify on a 60 s clip): a reference's affine-simulated
(ASIFT) features are kept on disk between runs (``geoverify.matching._disk``), and a frame's
candidates and negative controls are scored side by side on OpenCV's threads
(``_affine.side_by_side``). The truth each is held to is the slow way, computed here without
it: the features computed afresh by OpenCV, and every reference scored one after another by
``verify_pair``; and on the Oxford graffiti pair 1 -> 5 the homography found side by side is
checked against the published H1to5p (tests/data/README.md).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import DATA
from test_matching import _registry

from geoverify.matching import MatchOptions, _features, build_index, load_image
from geoverify.matching._affine import side_by_side
from geoverify.matching._features import (
    cached_features,
    clear_feature_cache,
    features,
    scaled_gray,
    simulated_features,
)
from geoverify.matching._verify import verify_pair

IM = DATA / "image_matching"
CORNERS = np.float32([[0, 0], [799, 0], [799, 639], [0, 639]]).reshape(-1, 1, 2)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("GEOVERIFY_CACHE_DIR", str(folder))
    clear_feature_cache()
    yield folder
    clear_feature_cache()


def _gray(name: str) -> np.ndarray:
    gray, _ = scaled_gray(load_image(IM / name), MatchOptions().max_side_px)
    return gray


def test_affine_features_come_back_from_disk_exactly(cache_dir):
    opts = MatchOptions()
    gray = _gray("box.png")
    truth_pts, truth_desc = features(gray, opts, affine=True)  # OpenCV, no cache
    assert len(truth_pts) > 500
    first = cached_features(gray, opts, kind="affine", keep=True)
    files = sorted(cache_dir.glob("affine-*.npz"))
    assert len(files) == 1
    # SIFT's descriptors are whole numbers 0-255: stored as bytes, a quarter of the size
    assert files[0].stat().st_size < truth_desc.nbytes / 2
    # and kept in the process as bytes too: about a quarter of the float32 arrays' memory
    kept = _features._cache.entries[_features._feature_key(gray, opts, "affine")]
    assert _features._FeatureCache.size(kept) < (truth_pts.nbytes + truth_desc.nbytes) / 2
    clear_feature_cache()  # a new process: only the disk holds them
    again = cached_features(gray, opts, kind="affine", keep=True)
    for got in (first, again):
        assert got[1].dtype == np.float32
        np.testing.assert_array_equal(got[0], truth_pts)
        np.testing.assert_array_equal(got[1], truth_desc)
    # other options are other features, in another file, never the first one's
    fewer = MatchOptions(affine_features_per_view=300)
    clear_feature_cache()
    other = cached_features(gray, fewer, kind="affine", keep=True)
    assert len(sorted(cache_dir.glob("affine-*.npz"))) == 2
    assert len(other[0]) < len(truth_pts)


@pytest.fixture
def cached_box(cache_dir):
    """box.png's affine features computed afresh (the truth), and their cache file, written."""
    opts = MatchOptions()
    gray = _gray("box.png")
    truth = features(gray, opts, affine=True)
    cached_features(gray, opts, kind="affine", keep=True)
    (path,) = cache_dir.glob("affine-*.npz")
    return opts, gray, truth, path


def test_a_damaged_cache_file_is_computed_again_and_replaced(cached_box):
    opts, gray, (truth_pts, truth_desc), path = cached_box
    for damage in (b"", b"PK\x03\x04 not a zip", path.read_bytes()[:200]):
        path.write_bytes(damage)
        clear_feature_cache()
        pts, desc = cached_features(gray, opts, kind="affine", keep=True)
        np.testing.assert_array_equal(pts, truth_pts)
        np.testing.assert_array_equal(desc, truth_desc)
        with np.load(path, allow_pickle=False) as data:  # replaced by a whole file
            assert data["pts"].shape == truth_pts.shape


def test_an_unusable_cache_folder_costs_time_not_the_result(cache_dir):
    cache_dir.write_bytes(b"")  # a file where the folder should be: nothing can be written
    opts = MatchOptions()
    gray = _gray("box.png")
    pts, desc = cached_features(gray, opts, kind="affine", keep=True)
    truth = features(gray, opts, affine=True)
    np.testing.assert_array_equal(pts, truth[0])
    np.testing.assert_array_equal(desc, truth[1])
    assert cache_dir.read_bytes() == b""


def test_a_damaged_background_cache_is_computed_again(cache_dir):
    """The bundled controls' plain features: a damaged file is replaced, never half-read."""
    from geoverify.matching._background import background_references

    opts = MatchOptions(max_side_px=480, max_features=300)  # small: computed twice here
    first = background_references(opts)
    (path,) = cache_dir.glob("background-*.npz")
    path.write_bytes(b"PK\x03\x04 not a zip")  # a zip's signature, then nothing
    again = background_references(opts)
    assert [r.landmark_id for r in again] == [r.landmark_id for r in first]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.descriptors, b.descriptors)
    with np.load(path, allow_pickle=False) as data:
        assert len(data.files) == 2 * len(first) + 1


def test_side_by_side_scores_equal_one_after_another(tmp_path, cache_dir):
    registry = _registry(
        tmp_path, {"graf": IM / "graf1.png", "aero": IM / "aero1.jpg", "box": IM / "box.png"}
    )
    # fewer, smaller views than the defaults (the default pass is held to H1to5p in
    # test_second_pass, through this function): the same code, a quarter of the time
    small = MatchOptions(background="off", max_side_px=640, affine_features_per_view=400)
    index = build_index(registry, options=small)
    gray5, _ = scaled_gray(load_image(IM / "graf5.png"), small.max_side_px)
    frame = simulated_features(gray5, index.options)
    area = float(np.prod(gray5.shape))
    ids = list(range(len(index.references)))  # three landmarks, both orientations
    one_by_one = [
        verify_pair(frame, index.affine_features(i), index.references[i], index.options, area,
                    affine=True)
        for i in ids
    ]  # fmt: skip
    threads = cv2.getNumThreads()
    try:
        for n in (2, 3):  # several threads, more references than threads
            cv2.setNumThreads(n)
            assert side_by_side(index, frame, ids, area) == one_by_one
    finally:
        cv2.setNumThreads(threads)
    # and what it found is the published view: graf1's corners within 6 px of H1to5p's
    # (pixels of graf1, 800 x 640; the scores are in the 640 px images)
    best = max(one_by_one, key=lambda s: s.inliers)
    assert best.landmark_id == "graf"
    assert not best.mirrored
    to_full = np.diag([800 / 640, 800 / 640, 1.0])  # graf1 and graf5 are both 800 x 640
    h = to_full @ np.array(best.homography) @ np.linalg.inv(to_full)
    truth = np.loadtxt(IM / "H1to5p")
    ours = cv2.perspectiveTransform(CORNERS, np.linalg.inv(h))
    error_px = np.max(np.linalg.norm(ours - cv2.perspectiveTransform(CORNERS, truth), axis=2))
    assert error_px < 6.0


def test_a_cache_file_of_the_wrong_kind_is_a_miss(cached_box):
    """A zip whose members are not numpy arrays, a damaged compressed one: computed again."""
    import zipfile

    opts, gray, (truth_pts, truth_desc), path = cached_box
    with zipfile.ZipFile(path, "w") as zf:  # the right names, no numpy header: bytes come back
        for name in ("pts.npy", "desc.npy", "dtype.npy"):
            zf.writestr(name, "not an array")
    clear_feature_cache()
    pts, desc = cached_features(gray, opts, kind="affine", keep=True)
    np.testing.assert_array_equal(pts, truth_pts)
    np.testing.assert_array_equal(desc, truth_desc)
    buf = path.read_bytes()
    np.savez_compressed(path, pts=truth_pts, desc=truth_desc, dtype=np.array("float32"))
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # inside the compressed data
    path.write_bytes(bytes(damaged))
    clear_feature_cache()
    pts, _ = cached_features(gray, opts, kind="affine", keep=True)
    np.testing.assert_array_equal(pts, truth_pts)
    assert path.read_bytes() == buf  # replaced by a whole file again


def test_side_by_side_needs_a_spare_core():
    """OCR variants and affine scores go side by side only where OpenCV may use two threads."""
    from geoverify.text._ocr import spare_core

    threads = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)  # a batch worker given one thread
        assert not spare_core()
    finally:
        cv2.setNumThreads(threads)


def test_a_learned_background_cache_with_a_bad_size_is_computed_again(cache_dir):
    pytest.importorskip("kornia")
    from geoverify.matching._background import learned_background_features

    opts = MatchOptions(features="xfeat")
    made = []

    def compute():
        made.append(1)
        return np.ones((3, 2), np.float32), np.ones((3, 64), np.float32), (640, 480)

    first = learned_background_features("x.jpg", "0" * 64, opts, compute)
    (path,) = cache_dir.glob("background-xfeat-*.npz")
    for size in (np.array([1, 2, 3]), None):  # three numbers; none at all
        arrays = {"pts": first[0], "desc": first[1]} | ({"size": size} if size is not None else {})
        np.savez(path, **arrays)
        again = learned_background_features("x.jpg", "0" * 64, opts, compute)
        assert again[2] == (640, 480)
    assert len(made) == 3  # computed first, then once for each bad file
