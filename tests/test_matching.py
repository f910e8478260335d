"""Matching on real images with ground truth, negative controls, mirrored footage, bad files."""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import BERLIN, DATA
from shapely.geometry import Point

from geoverify import LimitError, MediaError
from geoverify._images import tilted_view
from geoverify.matching import (
    MatchOptions,
    build_index,
    clear_feature_cache,
    load_image,
    match_image,
)
from geoverify.matching._verify import cached_features, features, mirrored_features
from geoverify.registry import Landmark, ReferenceImage, Registry, load_registry, save_registry

IM = DATA / "image_matching"
BACKGROUND_FREE = Path(__file__).resolve().parents[1] / "geoverify" / "data" / "background"
GEO = BERLIN
TOL_PX = 3.0


def _registry(tmp_path: Path, refs: dict[str, Path]) -> Registry:
    (tmp_path / "refs").mkdir(exist_ok=True)
    marks = []
    for lid, src in refs.items():
        shutil.copy(src, tmp_path / "refs" / src.name)
        marks.append(
            Landmark(
                id=lid,
                name=lid,
                geometry=Point(0, 0),
                reference_images=(ReferenceImage(path=f"refs/{src.name}", sha256=""),),
            )
        )
    save_registry(Registry(name="t", landmarks=tuple(marks)), tmp_path / "r.geojson")
    return load_registry(tmp_path / "r.geojson")


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reg")
    reg = _registry(
        tmp, {"graf": IM / "graf1.png", "box": IM / "box.png", "dom": GEO / "berlin_03.jpg"}
    )
    return build_index(reg)


def _h13() -> np.ndarray:
    fs = cv2.FileStorage(str(IM / "H1to3p.xml"), cv2.FILE_STORAGE_READ)
    h = fs.getNode("H13").mat()
    fs.release()
    return h


def test_graf_homography_matches_ground_truth(index):
    m = match_image(load_image(IM / "graf3.png"), index)
    assert m.verdict == "match"
    assert m.best.landmark_id == "graf"
    assert m.scale == 1.0  # 800x640 is not scaled, so pixels are graf's own
    frame_to_ref = np.array(m.best.homography)  # graf3 -> graf1
    corners = np.float32([[0, 0], [799, 0], [799, 639], [0, 639]]).reshape(-1, 1, 2)
    truth = cv2.perspectiveTransform(corners, _h13())  # graf1 corners in graf3
    ours = cv2.perspectiveTransform(corners, np.linalg.inv(frame_to_ref))
    assert np.max(np.linalg.norm(ours - truth, axis=2)) < TOL_PX


def test_box_is_found_in_the_scene(index):
    m = match_image(load_image(IM / "box_in_scene.png"), index)
    assert m.verdict == "match"
    assert m.best.landmark_id == "box"
    assert m.best.inliers >= 30


@pytest.mark.parametrize("name", ["berlin_01.jpg", "berlin_02.jpg"])
def test_berlin_photographs_match_the_dom(index, name):
    m = match_image(load_image(GEO / name), index)
    assert m.verdict == "match"
    assert m.best.landmark_id == "dom"
    assert not m.mirrored


@pytest.mark.parametrize("name", [IM / "aero1.jpg", IM / "aero3.jpg"])
def test_unrelated_images_do_not_match(index, name):
    m = match_image(load_image(name), index)
    assert m.verdict == "no_match"


def test_cross_pairs_of_different_things_do_not_match(tmp_path):
    reg = _registry(tmp_path, {"box": IM / "box.png"})
    idx = build_index(reg)
    for other in (IM / "graf3.png", GEO / "berlin_01.jpg", IM / "aero1.jpg"):
        assert match_image(load_image(other), idx).verdict == "no_match"


def test_mirrored_footage_is_detected(index):
    flipped = np.ascontiguousarray(load_image(IM / "graf3.png")[:, ::-1])
    m = match_image(flipped, index)
    assert m.verdict == "match"
    assert m.best.landmark_id == "graf"
    assert m.mirrored
    assert any("mirrored" in n for n in m.notes)


def test_false_match_rate_needs_enough_controls(tmp_path):
    reg = _registry(
        tmp_path, {"graf": IM / "graf1.png", "box": IM / "box.png", "dom": GEO / "berlin_03.jpg"}
    )
    own_only = build_index(reg, options=MatchOptions(background="off"))
    assert own_only.background == ()
    m = match_image(load_image(IM / "box_in_scene.png"), own_only)
    assert m.false_match_rate is None  # 2 other landmarks x 2 orientations = 4 controls
    assert m.controls == 4
    assert any("too few to estimate" in n for n in m.notes)
    assert m.verdict == "match"
    assert m.verdict_text == "match (false-match rate not estimated)"


def test_a_one_landmark_registry_gets_a_rate_from_the_background_photographs(tmp_path):
    from geoverify.matching import background_set

    reg = _registry(tmp_path, {"box": IM / "box.png"})
    idx = build_index(reg)
    assert len(idx.background) == len(background_set()) >= 40
    assert idx.landmark_ids == ("box",)
    m = match_image(load_image(IM / "box_in_scene.png"), idx)
    assert m.verdict == "match"
    assert m.best.landmark_id == "box"
    # the only other references are the background photographs (box's own mirror image is
    # the same landmark): the 24 with most retrieval votes
    assert m.controls == 24
    assert all(c.startswith("background:") for c in m.control_references)
    # no control reaches the 66 inliers: (0 + 1) / (24 + 1)
    assert m.best.inliers > max(m.control_scores)
    assert m.false_match_rate == pytest.approx(1 / 25)
    assert m.verdict_text == "match"
    for other in (IM / "graf3.png", GEO / "berlin_01.jpg"):
        unrelated = match_image(load_image(other), idx)
        assert unrelated.verdict == "no_match"
        assert unrelated.controls == 24


def test_a_registry_with_enough_controls_of_its_own_adds_no_background(tmp_path):
    reg = _registry(
        tmp_path, {"graf": IM / "graf1.png", "box": IM / "box.png", "dom": GEO / "berlin_03.jpg"}
    )
    # 2 other landmarks x 2 orientations = 4 controls each: enough when 4 are asked for
    idx = build_index(reg, options=MatchOptions(min_controls=4, affine="off"))
    assert idx.background == ()
    assert idx.background_sha256 is None


def test_a_background_photograph_is_never_the_match(tmp_path):
    from geoverify.matching._background import BACKGROUND_DIR

    # the frame IS one of the background photographs: it must not become "the landmark";
    # it is the strongest control, so a weak landmark score cannot be a match
    reg = _registry(tmp_path, {"box": IM / "box.png"})
    idx = build_index(reg, options=MatchOptions(affine="off"))
    m = match_image(load_image(BACKGROUND_DIR / "opencv_building.jpg"), idx)
    assert m.verdict == "no_match"
    assert m.best is None or m.best.landmark_id == "box"
    assert m.runner_up is None or not m.runner_up.landmark_id.startswith("background:")
    assert max(m.control_scores) > 100  # the photograph against itself


def test_false_match_rate_when_estimated(tmp_path):
    reg = _registry(
        tmp_path, {"graf": IM / "graf1.png", "box": IM / "box.png", "dom": GEO / "berlin_03.jpg"}
    )
    strict = build_index(reg, options=MatchOptions(min_controls=4, max_false_match_rate=0.05))
    m = match_image(load_image(IM / "box_in_scene.png"), strict)
    assert m.false_match_rate == pytest.approx(1 / 5)  # no control reached the score: (0+1)/(4+1)
    assert m.verdict == "no_match"  # 0.2 is above the 0.05 asked for
    lenient = build_index(reg, options=MatchOptions(min_controls=4, max_false_match_rate=0.25))
    assert match_image(load_image(IM / "box_in_scene.png"), lenient).verdict == "match"


def test_a_clip_panning_over_a_photograph_matches_that_landmark(index, berlin_pan_2s):
    from geoverify.frames import FrameOptions, select_frames

    path = berlin_pan_2s
    sel = select_frames(path, options=FrameOptions(every_s=0.5))
    results = [match_image(f.image_bgr, index) for f in sel.frames]
    assert all(r.verdict == "match" and r.best.landmark_id == "dom" for r in results)


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )


def test_hostile_reference_images(tmp_path):
    huge = tmp_path / "huge.png"
    huge.write_bytes(_png_header(20000, 20000) + b"\0" * 100)
    with pytest.raises(LimitError) as exc:
        load_image(huge)
    assert exc.value.code == "E_LIMIT_PIXELS"
    text = tmp_path / "x.png"
    text.write_text("<html>not an image</html>")
    with pytest.raises(MediaError):
        load_image(text)
    truncated = tmp_path / "t.png"
    truncated.write_bytes((IM / "box.png").read_bytes()[:200])
    with pytest.raises(MediaError):
        load_image(truncated)


# --- strongly slanted views: affine simulation --------------------------------------------------

SLANT_OTHERS_NO_DOM = {"graf": IM / "graf1.png", "box": IM / "box.png"}
SLANT_OTHERS = {**SLANT_OTHERS_NO_DOM, "dom": GEO / "berlin_03.jpg"}
# the aero test's controls: a house (OpenCV's sample photograph, 512 px) instead of the 1,280 px
# Dom, whose simulated views alone would cost as much as the aero pair's
AERO_OTHERS = {**SLANT_OTHERS_NO_DOM, "home": BACKGROUND_FREE / "opencv_home.jpg"}


def test_aero_pair_matches_through_affine_simulation(tmp_path):
    # The two aerial photographs show the same town from directions far apart: plain SIFT
    # finds no more consistent points than against unrelated images; simulated tilts do.
    # Both directions in one test: the references' simulated views are kept in the process
    # (simulated_features), so aero1, a reference in the first direction, is not simulated
    # again as the frame of the second, nor are the three other landmarks.
    for frame, reference in (("aero3.jpg", "aero1.jpg"), ("aero1.jpg", "aero3.jpg")):
        _aero_direction(tmp_path / frame, frame, reference)


def _aero_direction(tmp_path, frame, reference):
    tmp_path.mkdir()
    reg = _registry(tmp_path, {"aero": IM / reference, **AERO_OTHERS})
    query = load_image(IM / frame)
    # the registry's own 6 controls suffice here (min_controls=6): the background photographs,
    # scored with affine simulation too, would cost a minute per run
    plain = match_image(query, build_index(reg, options=MatchOptions(affine="off")))
    assert plain.verdict == "no_match"
    assert plain.affine_decision == "off"
    # 6 controls give a rate of at least 1/7: a lenient limit so the rate can pass
    lenient = MatchOptions(min_controls=6, max_false_match_rate=0.15)
    m = match_image(query, build_index(reg, options=lenient))  # affine="auto"
    assert m.verdict == "match", m.notes
    assert m.affine
    assert m.best.landmark_id == "aero"
    assert not m.mirrored
    assert m.controls == 6  # 3 other landmarks x 2 orientations, scored with simulation too
    assert m.false_match_rate == pytest.approx(1 / 7)
    assert m.affine_decision == "run"
    assert m.best.inliers >= 3 * max(m.control_scores)
    assert any("low-resolution screen" in n for n in m.notes)
    assert any("affine simulation" in n for n in m.notes)
    assert any("second pass" in n for n in m.notes)


def test_a_steep_view_of_a_building_is_screened_in_and_matched(tmp_path):
    # A synthetic view 78 degrees from the perpendicular (tilt 5, ASIFT's camera model) of
    # OpenCV's building photograph: the plain pass cannot match it; the default's screen
    # finds the building (unrelated pairs give it at most 7 consistent points) and the
    # full pass matches it. bench/bench_match.py --screen holds 123 such views.
    building = BACKGROUND_FREE / "opencv_building.jpg"
    reg = _registry(tmp_path, {"building": building, **AERO_OTHERS})
    query = tilted_view(load_image(building), 5.0, 20.0)
    plain = match_image(query, build_index(reg, options=MatchOptions(affine="off")))
    assert plain.verdict == "no_match"
    assert plain.best is None or plain.best.inliers < 15
    idx = build_index(reg, options=MatchOptions(min_controls=6, max_false_match_rate=0.15))
    m = match_image(query, idx)
    assert m.affine_decision == "run"
    assert m.verdict == "match", m.notes
    assert m.best.landmark_id == "building"
    assert m.best.inliers >= 10 * max(m.control_scores)  # measured 509 against at most 6
    screen = next(n for n in m.notes if "low-resolution screen" in n)
    assert "(frame 240 px, references 240 px)" in screen
    assert "(the full pass is run from 9)" in screen
    found = int(screen.split("'building' ")[1].split(",")[0].split(" ")[0])
    assert found >= 9
    # a smaller frame side is the user's to choose, and the notes say which was used
    small = MatchOptions(
        min_controls=6,
        max_false_match_rate=0.15,
        affine_screen_frame_side_px=160,
        affine_screen_frame_tilt_levels=3,
    )
    m = match_image(query, build_index(reg, options=small))
    assert m.affine_decision in ("run", "skipped")
    assert any("(frame 160 px, references 240 px)" in n for n in m.notes)


def test_no_match_frames_get_no_affine_pass_unless_the_screen_finds_the_scene(tmp_path):
    reg = _registry(tmp_path, {"aero": IM / "aero1.jpg", **SLANT_OTHERS})
    idx = build_index(reg)  # affine="auto", the default
    for name in (IM / "box_in_scene.png", GEO / "berlin_01.jpg"):
        # box_in_scene matches box in the plain pass: no second pass needed
        m = match_image(load_image(name), idx)
        assert m.affine_decision == "not_needed"
    for name in (IM / "graf3.png",):
        assert match_image(load_image(name), idx).affine_decision == "not_needed"
    # an unrelated picture: the plain pass finds nothing and the screen finds nothing either
    unrelated = load_image(BACKGROUND_FREE / "opencv_leuvena.jpg")
    m = match_image(unrelated, build_index(reg, options=MatchOptions(background="off")))
    assert m.verdict == "no_match"
    assert m.affine_decision == "skipped"
    assert not m.affine
    skipped = [n for n in m.notes if n.startswith("affine pass skipped")]
    assert skipped
    assert "the full pass is run from 9" in skipped[0]


def test_affine_pass_is_repeatable_whatever_ran_before(tmp_path):
    reg = _registry(tmp_path, {"aero": IM / "aero1.jpg", "box": IM / "box.png"})
    # at 320 px (a quarter of the pixels): the test is about FLANN's random state, not accuracy
    opts = MatchOptions(affine="on", min_controls=2, background="off", max_side_px=320)
    idx = build_index(reg, options=opts)
    query = load_image(IM / "aero3.jpg")
    first = match_image(query, idx)
    cv2.setRNGSeed(987654)  # disturb OpenCV's RNG, which FLANN draws from
    cv2.randu(np.zeros((100, 100), np.uint8), 0, 255)
    idx._affine_cache.clear()
    clear_feature_cache()  # and the process's: the second run simulates every view again
    second = match_image(query, idx)
    assert first.best is not None
    assert second.best is not None
    # a real match, not two empty results (measured: 22 inliers, controls 6 and 5)
    assert first.best.landmark_id == "aero"
    assert first.best.inliers >= 2 * max(first.control_scores)
    assert first.best.inliers == second.best.inliers
    assert first.best.homography == second.best.homography
    assert first.control_scores == second.control_scores


def test_a_reference_indexed_again_in_the_process_reuses_its_features(tmp_path):
    reg = _registry(tmp_path, {"dom": GEO / "berlin_03.jpg"})
    plain = MatchOptions(affine="off", background="off")
    first = build_index(reg, options=plain)
    again = build_index(reg, options=plain)  # a batch worker's next item, a notebook's rerun
    assert again.references[0].descriptors is first.references[0].descriptors
    assert again.references[1].descriptors is first.references[1].descriptors  # mirrored
    assert again.retrieval_index is first.retrieval_index  # trained once
    other = build_index(reg, options=MatchOptions(affine="off", background="off", max_features=500))
    # another option, computed anew: about 500 keypoints (SIFT keeps ties), not the 2,000
    assert len(other.references[0].descriptors) < len(first.references[0].descriptors) / 2
    assert other.retrieval_index is not first.retrieval_index
    # another image set: another retrieval index, and the mirror image's features are its own
    (tmp_path / "two").mkdir()
    reg_two = _registry(tmp_path / "two", {"dom": GEO / "berlin_03.jpg", "box": IM / "box.png"})
    two = build_index(reg_two, options=plain)
    assert two.retrieval_index is not first.retrieval_index
    assert two.references[1].descriptors is first.references[1].descriptors
    clear_feature_cache()
    fresh = build_index(reg, options=plain)
    assert fresh.references[0].descriptors is not first.references[0].descriptors
    assert fresh.retrieval_index is not first.retrieval_index
    assert np.array_equal(fresh.references[1].descriptors, first.references[1].descriptors)
    assert np.array_equal(fresh.references[0].descriptors, first.references[0].descriptors)
    # other pixels under the same name are other features
    shutil.copy(GEO / "berlin_01.jpg", tmp_path / "refs" / "berlin_03.jpg")
    edited = build_index(reg, options=plain)
    assert edited.references[0].file_sha256 != first.references[0].file_sha256
    assert not np.array_equal(edited.references[0].points, first.references[0].points)


def test_reference_edited_during_matching_is_refused(tmp_path):
    reg = _registry(tmp_path, {"aero": IM / "aero1.jpg", "box": IM / "box.png"})
    idx = build_index(reg, options=MatchOptions(affine="on", background="off"))
    shutil.copy(IM / "aero3.jpg", tmp_path / "refs" / "aero1.jpg")  # swapped after indexing
    with pytest.raises(MediaError) as exc:
        match_image(load_image(IM / "aero3.jpg"), idx)
    assert exc.value.code == "E_REFERENCE_CHANGED"


def test_degenerate_homographies_are_not_evidence():
    from geoverify.matching._verify import _plausible

    pts = np.float32([[100, 100], [300, 120], [200, 300], [120, 260]])
    assert _plausible(np.eye(3), pts)
    rotated_tilted = np.array([[0.5, -0.8, 300], [0.9, 0.3, 10], [1e-4, 0, 1]])
    assert _plausible(rotated_tilted, pts)
    mirror = np.diag([-1.0, 1.0, 1.0])
    assert not _plausible(mirror, pts)  # mirrored footage is matched by mirrored references
    collapse = np.array([[0.01, 0, 50], [0, 0.01, 50], [0, 0, 1]])  # everything onto 4 px
    assert not _plausible(collapse, pts)
    sliver = np.array([[1, 0, 0], [0, 0.01, 0], [0, 0, 1]])  # 100:1 squeeze
    assert not _plausible(sliver, pts)


def test_affine_options_are_checked():
    from geoverify import InputError

    with pytest.raises(InputError):
        MatchOptions(affine="sometimes")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        MatchOptions(affine_tilt_levels=9)
    for bad in (
        {"affine_screen_frame_side_px": 32},
        {"affine_screen_frame_side_px": 2000},  # above max_side_px
        {"affine_screen_frame_tilt_levels": 0},
    ):
        with pytest.raises(InputError) as err:
            MatchOptions(**bad)  # type: ignore[arg-type]
        assert err.value.code == "E_INPUT_OPTION"
        assert "affine_screen_frame_side_px 64..max_side_px" in str(err.value)


# --- rigid scenes with depth: the fundamental-matrix model --------------------------------------


def test_fundamental_model_keeps_more_of_a_scene_with_depth(tmp_path):
    # The Berliner Dom photographed from different positions: a homography fits one plane of
    # the building, the epipolar constraint fits the whole rigid scene.
    reg = _registry(tmp_path, {"dom": GEO / "berlin_03.jpg", **SLANT_OTHERS_NO_DOM})
    plane = build_index(reg, options=MatchOptions(affine="off"))
    depth = build_index(reg, options=MatchOptions(affine="off", model="fundamental"))
    for name in ("berlin_01.jpg", "berlin_02.jpg"):
        h = match_image(load_image(GEO / name), plane)
        f = match_image(load_image(GEO / name), depth)
        assert f.verdict == "match"
        assert f.best.landmark_id == "dom"
        assert f.best.homography is None
        assert f.best.inliers > 1.5 * h.best.inliers
        assert f.best.inliers >= 3 * max(f.control_scores)
    assert match_image(load_image(IM / "aero1.jpg"), depth).verdict == "no_match"
    box = match_image(load_image(IM / "box_in_scene.png"), depth)
    assert box.verdict == "match"
    assert box.best.landmark_id == "box"


def _same_points(a_pts, a_desc, b_pts, b_desc, radius_px):
    """Pairs (i, j, L2 distance): b's nearest descriptor to a's, where it is within radius_px."""
    match = cv2.BFMatcher(cv2.NORM_L2).match(a_desc, b_desc)
    i = np.array([m.queryIdx for m in match])
    j = np.array([m.trainIdx for m in match])
    dist = np.array([m.distance for m in match])
    near = np.linalg.norm(a_pts[i] - b_pts[j], axis=1) <= radius_px
    return i[near], j[near], dist[near]


def test_mirrored_features_are_the_mirror_images_own():
    # plain SIFT: the points the two images share are at the predicted place with the same
    # descriptor (0-255 per bin; "the same" here is within 2 in L2 over the 128 bins)
    opts = MatchOptions()
    gray = cv2.imread(str(IM / "graf1.png"), cv2.IMREAD_GRAYSCALE)
    mirror = np.ascontiguousarray(gray[:, ::-1])
    pts, desc = features(gray, opts)
    m_pts, m_desc = features(mirror, opts)
    d_pts, d_desc = mirrored_features(pts, desc, gray.shape[1])
    i, j, dist = _same_points(d_pts, d_desc, m_pts, m_desc, radius_px=0.01)
    # measured: 1,041 of 2,000 (SIFT keeps its 2,000 strongest, a different cut where responses
    # tie), 97.6 % of them within 2 (median 0.0); unpermuted, median 416
    assert len(i) >= 0.45 * len(pts)
    assert (dist < 2.0).mean() > 0.95
    # without the permutation the same points' descriptors are far apart
    raw = np.linalg.norm(desc[i] - m_desc[j], axis=1)
    assert np.median(raw) > 100
    # affine simulation: the views both samplings have (no rotation) give the same points
    a_pts, a_desc = features(gray[:200, :300], opts, affine=True)
    ma_pts, ma_desc = features(np.ascontiguousarray(mirror[:200, -300:]), opts, affine=True)
    da_pts, da_desc = mirrored_features(a_pts, a_desc, 300)
    _, _, dist = _same_points(da_pts, da_desc, ma_pts, ma_desc, radius_px=0.01)
    assert (dist < 2.0).sum() >= 100  # measured: 117 of 2,290 simulated points


def test_mirrored_references_take_the_upright_simulation_mirrored(tmp_path):
    reg = _registry(tmp_path, {"box": IM / "box.png"})
    idx = build_index(reg, options=MatchOptions(affine="on", background="off", min_controls=1))
    upright, mirrored = idx.references
    assert mirrored.mirrored
    pts, desc = idx.affine_features(0)
    m_pts, m_desc = idx.affine_features(1)
    expect_pts, expect_desc = mirrored_features(pts, desc, upright.size[0])
    assert np.array_equal(m_pts, expect_pts)
    assert np.array_equal(m_desc, expect_desc)
    # and mirrored footage of a slanted view still finds the mirrored reference
    frame = np.ascontiguousarray(load_image(IM / "box_in_scene.png")[:, ::-1])
    m = match_image(frame, idx)
    assert m.best is not None
    assert m.best.mirrored
    assert m.best.inliers >= 15


def test_a_frame_matched_again_reuses_its_features(tmp_path):
    idx = build_index(
        _registry(tmp_path, {"box": IM / "box.png"}), options=MatchOptions(affine="off")
    )
    gray = cv2.imread(str(IM / "box_in_scene.png"), cv2.IMREAD_GRAYSCALE)
    first = cached_features(gray, idx.options, kind="plain")
    assert cached_features(gray, idx.options, kind="plain") is first  # a second index, a rerun
    assert match_image(gray, idx).verdict == match_image(gray, idx).verdict == "match"
    reference = cached_features(
        cv2.imread(str(IM / "box.png"), cv2.IMREAD_GRAYSCALE), idx.options, kind="plain"
    )
    assert reference[1] is idx.references[0].descriptors  # still the references' own entry
    clear_feature_cache()
    assert cached_features(gray, idx.options, kind="plain") is not first


# --- a frames folder read back (load_frames_dir): its manifest and images are untrusted --------


@pytest.fixture(scope="module")
def frames_folder(tmp_path_factory):
    from fixtures import write_clip

    from geoverify.frames import FrameOptions, save_frames, select_frames

    base = tmp_path_factory.mktemp("fd")
    clip = write_clip(base / "c.mp4", n_frames=25)
    save_frames(select_frames(clip, options=FrameOptions(every_s=0.4)), base / "frames")
    return base / "frames"


def _edited_copy(src: Path, dst: Path, edit) -> Path:
    import json

    shutil.copytree(src, dst)
    manifest = json.loads((dst / "frames.json").read_text())
    edit(manifest, dst)
    (dst / "frames.json").write_text(json.dumps(manifest))
    return dst


def test_a_frames_folder_reads_back(frames_folder):
    from geoverify.matching import load_frames_dir

    frames = load_frames_dir(frames_folder)
    assert len(frames) == 3
    assert all(f.time_base.denominator > 1 for f in frames)


@pytest.mark.parametrize(
    "time_base",
    ["1e1000000000", "1/0", "0", "-1/25", "1/2.5", " 1/25", "1/" + "9" * 13, 0.04, None],
)
def test_a_time_base_is_parsed_strictly(frames_folder, tmp_path, time_base):
    import time

    from geoverify.errors import InputError
    from geoverify.matching import load_frames_dir

    def edit(manifest, _):
        manifest["frames"][0]["time_base"] = time_base

    folder = _edited_copy(frames_folder, tmp_path / "f", edit)
    started = time.monotonic()
    with pytest.raises(InputError) as exc:
        load_frames_dir(folder)
    assert exc.value.code == "E_FRAMES_MANIFEST_INVALID"
    assert exc.value.exit_code == 3
    assert "time_base" in exc.value.message
    assert time.monotonic() - started < 5  # "1e1000000000" is refused, not computed


def _link_to_outside(manifest, folder):
    name = manifest["frames"][0]["file"]
    outside = folder.parent / "secret.png"
    shutil.copy(folder / name, outside)  # the same pixels, so only the link gives it away
    (folder / name).unlink()
    (folder / name).symlink_to(outside)


def _link_inside(manifest, folder):
    first, second = manifest["frames"][0]["file"], manifest["frames"][1]["file"]
    (folder / first).unlink()
    (folder / first).symlink_to(second)


def _no_sha256(manifest, _):
    manifest["frames"][0].pop("sha256")


def _other_image(manifest, folder):
    first, second = manifest["frames"][0]["file"], manifest["frames"][1]["file"]
    shutil.copy(folder / second, folder / first)


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (_link_to_outside, "symbolic link"),
        (_link_inside, "symbolic link"),
        (_no_sha256, "no SHA-256"),
        (_other_image, "SHA-256 differs"),
    ],
    ids=["link-outside", "link-inside", "no-sha256", "changed"],
)
def test_a_frame_image_must_be_the_folders_own_and_hashed(frames_folder, tmp_path, edit, says):
    from geoverify.errors import InputError
    from geoverify.matching import load_frames_dir

    folder = _edited_copy(frames_folder, tmp_path / "f", edit)
    with pytest.raises(InputError) as exc:
        load_frames_dir(folder)
    assert exc.value.code == "E_FRAMES_MANIFEST_INVALID"
    assert says in exc.value.message
