"""Shared paths and fixtures.

With pytest-xdist (``make test`` runs two workers on two cores) each worker keeps to one
thread: OpenCV's and OpenBLAS's own thread pools would otherwise put four busy threads on two
cores. Set before numpy or cv2 load; the CLI subprocesses the tests start inherit it.
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
