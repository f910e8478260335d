"""`match VIDEO` and `verify` look at every view of the clip, and take the frame options."""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
from conftest import BERLIN, ROOT
from fixtures import _pan
from typer.testing import CliRunner

from geoverify.cli import app
from geoverify.matching import load_image

REGISTRY = ROOT / "samples" / "berlin" / "registry.geojson"
FPS = 10
STEP_PX = 14.4  # the window moves 144 px a second: 1.5 frame widths in 10 s


def _walk(path: Path) -> Path:
    """A 10 s walk past the Berliner Dom: a 960x720 window panning across a real photograph.

    The window moves 1440 px (1.5 frame widths), so the clip holds several distinct views
    and no cut: one shot.
    """
    photo = cv2.resize(load_image(BERLIN / "berlin_01.jpg"), (2400, 1800), cv2.INTER_AREA)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 960, 720, "yuv420p"
        stream.options = {"threads": "1", "crf": "20", "g": "50"}
        for img in _pan(photo, 10 * FPS + 1, STEP_PX, (960, 720)):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        out.mux(stream.encode())
    return path


def _matched_times(tmp_path: Path, *extra: str) -> list[float]:
    walk = _walk(tmp_path / "walk.mp4")
    out = tmp_path / "m"
    args = ["match", str(walk), "--registry", str(REGISTRY), "--out", str(out), "--affine", "off"]
    result = CliRunner().invoke(app, [*args, *extra])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "matches.json").read_text())
    return sorted(f["t_s"] for f in manifest["frames"])


def test_match_video_looks_at_every_view_of_a_walk(tmp_path):
    times = _matched_times(tmp_path)
    # a new view once a third of the picture has changed: about every 2.2 s of this walk, so
    # every 2.5 s stretch of the clip has a frame (the old default kept one frame here)
    for start in (0.0, 2.5, 5.0, 7.5):
        assert any(start <= t < start + 2.5 for t in times), (start, times)
    assert len(times) >= 4


def test_match_video_takes_the_frame_options(tmp_path):
    times = _matched_times(tmp_path, "--every", "2", "--start", "1", "--end", "7")
    assert times == [1.0, 3.0, 5.0, 7.0]


def test_the_frame_option_defaults_are_stated_in_help():
    for command in ("match", "verify"):
        text = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
        assert "--scenes --views --best 4" in text
        for option in ("--every", "--scenes", "--views", "--best", "--start", "--end"):
            assert option in text
