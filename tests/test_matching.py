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
from geoverify.matching import MatchOptions, build_index, load_image, match_image
from geoverify.registry import Landmark, ReferenceImage, Registry, load_registry, save_registry

IM = DATA / "image_matching"
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


def test_false_match_rate_needs_enough_controls(index):
    m = match_image(load_image(IM / "box_in_scene.png"), index)
    assert m.false_match_rate is None  # 2 other landmarks x 2 orientations = 4 controls
    assert m.controls == 4
    assert any("too few to estimate" in n for n in m.notes)


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


def test_a_clip_panning_over_a_photograph_matches_that_landmark(index, tmp_path):
    from fixtures import _pan

    from geoverify.frames import FrameOptions, select_frames

    photo = load_image(GEO / "berlin_01.jpg")
    photo = cv2.resize(photo, (1280, 960), interpolation=cv2.INTER_AREA)
    frames = _pan(photo, 20, 12.0, (960, 720))
    import av

    path = tmp_path / "pan.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 960, 720, "yuv420p"
        stream.options = {"threads": "1", "crf": "20"}
        for img in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        out.mux(stream.encode())
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
