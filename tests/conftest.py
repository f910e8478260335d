from __future__ import annotations

import json
from pathlib import Path

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
