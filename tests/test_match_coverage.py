"""`match VIDEO` and `verify` look at every view of the clip, and take the frame options."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import ROOT
from typer.testing import CliRunner

from geoverify.cli import app

REGISTRY = ROOT / "samples" / "berlin" / "registry.geojson"


def _matched_times(tmp_path: Path, walk: Path, *extra: str) -> list[float]:
    out = tmp_path / "m"
    # frame coverage, not verdicts: without the affine pass and the background controls
    args = ["match", str(walk), "--registry", str(REGISTRY), "--out", str(out), "--affine", "off",
            "--background", "off"]  # fmt: skip
    result = CliRunner().invoke(app, [*args, *extra])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "matches.json").read_text())
    return sorted(f["t_s"] for f in manifest["frames"])


def test_match_video_looks_at_every_view_of_a_walk(tmp_path, berlin_walk_10s):
    # berlin_walk_10s: 10 s, 10 fps, panning 144 px a second
    times = _matched_times(tmp_path, berlin_walk_10s)
    # a new view once a third of the picture has changed: about every 2.2 s of this walk, so
    # every 2.5 s stretch of the clip has a frame (the old default kept one frame here)
    for start in (0.0, 2.5, 5.0, 7.5):
        assert any(start <= t < start + 2.5 for t in times), (start, times)
    assert len(times) >= 4


def test_match_video_takes_the_frame_options(tmp_path, berlin_walk_10s):
    times = _matched_times(tmp_path, berlin_walk_10s, "--every", "2", "--start", "1", "--end", "7")
    assert times == [1.0, 3.0, 5.0, 7.0]


def test_the_frame_option_defaults_are_stated_in_help():
    for command in ("match", "verify"):
        text = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
        assert "--scenes --views --best 4" in text
        for option in ("--every", "--scenes", "--views", "--best", "--start", "--end"):
            assert option in text
