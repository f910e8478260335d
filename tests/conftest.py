"""Shared paths and fixtures.

With pytest-xdist (``make test`` runs two workers on two cores) each worker keeps to one
thread: OpenCV's and OpenBLAS's own thread pools would otherwise put four busy threads on two
cores. Set before numpy or cv2 load; the CLI subprocesses the tests start inherit it.

``make test`` distributes by module (``--dist loadscope``): a module's tests run on one worker,
one after another, so an expensive module-scoped result (a whole batch, a whole verify run) is
computed once, not once by each worker.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OPENCV_FOR_THREADS_NUM"):
        os.environ.setdefault(_var, "1")

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
VIDEO_DATA = DATA / "video_metadata"
KARMA = ROOT / "samples" / "karma" / "karma.mp4"
BERLIN = ROOT / "samples" / "berlin" / "photos"


@pytest.fixture(scope="session")
def expected_tool_output() -> dict[str, dict]:
    return json.loads((VIDEO_DATA / "expected_metadata_tool_output.json").read_text())["files"]


def real_video(name: str) -> Path:
    return KARMA if name == "karma.mp4" else VIDEO_DATA / name


# --- generated clips, one fixture per clip (made once per test session, from real photographs) --


def _photo(path: Path, size: tuple[int, int], *, area: bool = True):
    import cv2

    from geoverify.matching import load_image

    how = cv2.INTER_AREA if area else cv2.INTER_LINEAR
    return cv2.resize(load_image(path), size, interpolation=how)


@pytest.fixture(scope="session")
def sample_walk(tmp_path_factory) -> Path:
    """The demo's clip: samples/berlin/make_walk.py (6 s at 10 fps, 1280x720, H.264).

    A window moves across Berlin photographs 01 and then 02, 3 s each: two shots, both of the
    Berliner Dom, the one landmark of samples/berlin/registry.geojson.
    """
    import runpy

    out = tmp_path_factory.mktemp("sample") / "walk.mp4"
    made: Path = runpy.run_path(str(ROOT / "samples" / "berlin" / "make_walk.py"))["main"](out)
    return made


@pytest.fixture(scope="session")
def berlin_walk_10s(tmp_path_factory) -> Path:
    """A 10 s walk past the Berliner Dom (10 fps, 960x720, H.264 GOP 50).

    A 960x720 window pans 14.4 px a frame across berlin_01.jpg scaled to 2400x1800: it moves
    1440 px (1.5 frame widths), so the clip holds several distinct views and no cut (one shot).
    """
    from fixtures import _pan, write_h264

    photo = _photo(BERLIN / "berlin_01.jpg", (2400, 1800))
    frames = _pan(photo, 10 * 10 + 1, 14.4, (960, 720))
    out = tmp_path_factory.mktemp("clips") / "berlin_walk_10s.mp4"
    return write_h264(out, frames, fps=10, options={"crf": "20", "g": "50"})


@pytest.fixture(scope="session")
def berlin_pan_2s(tmp_path_factory) -> Path:
    """2 s (20 frames, 10 fps, 960x720) panning 12 px a frame over berlin_01.jpg at 1280x960."""
    from fixtures import _pan, write_h264

    photo = _photo(BERLIN / "berlin_01.jpg", (1280, 960))
    out = tmp_path_factory.mktemp("clips") / "berlin_pan_2s.mp4"
    return write_h264(out, _pan(photo, 20, 12.0, (960, 720)), fps=10, options={"crf": "20"})


@pytest.fixture(scope="session")
def berlin02_pan_1s(tmp_path_factory) -> Path:
    """1 s (10 frames, 10 fps, 960x720) panning 10 px a frame over berlin_02.jpg at 1280x960."""
    from fixtures import _pan, write_h264

    photo = _photo(BERLIN / "berlin_02.jpg", (1280, 960), area=False)
    out = tmp_path_factory.mktemp("clips") / "berlin02_pan_1s.mp4"
    return write_h264(out, _pan(photo, 10, 10.0, (960, 720)), fps=10)


@pytest.fixture(scope="session")
def aero3_still_1s(tmp_path_factory) -> Path:
    """1 s (5 frames, 5 fps, 640x480) of the oblique aerial photograph aero3.jpg, unmoving."""
    import cv2
    from fixtures import write_h264

    photo = cv2.imread(str(DATA / "image_matching" / "aero3.jpg"))
    out = tmp_path_factory.mktemp("clips") / "aero3_still_1s.mp4"
    return write_h264(out, [photo] * 5, fps=5, options={"crf": "18"})
