"""Negative controls that show the landmark, and how the false-match rate and mirroring are said.

Issue 30, items 1 and 10: the bundled background set holds a re-encoding of OpenCV's
``leuvenA.jpg``; a registry with that street as a reference must still match footage of the
street (``leuvenB.jpg``, the same street from another position: the truth these tests rest
on), with the left-out photograph named. A rate at its floor, 1 / (n + 1), is said to be one;
``MIRRORED`` is said of matches only.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import cv2
import jsonschema
import numpy as np
import pytest
from conftest import DATA, ROOT
from fixtures import _pan, _photo, write_h264
from shapely.geometry import Point
from typer.testing import CliRunner

from geoverify.cli import app
from geoverify.matching import MatchOptions, background_set, build_index, load_image, match_image
from geoverify.registry import Landmark, ReferenceImage, Registry, load_registry, save_registry

IM = DATA / "image_matching"
SCHEMA = json.loads((ROOT / "geoverify" / "schemas" / "report.schema.json").read_text())
FPS = 10
WALK_FRAMES = 11  # the walk over leuvenB: t 0.0 .. 1.0 s
BLUR_FRAMES = 10  # a mirrored thumbnail of graf3, too small to match: t 1.1 .. 2.0 s
# then 10 frames of graf3 mirrored at full size: t 2.1 .. 3.0 s


def _registry(folder: Path, refs: dict[str, Path]) -> Path:
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    marks = []
    for lid, src in refs.items():
        shutil.copy(src, folder / "refs" / src.name)
        marks.append(
            Landmark(
                id=lid,
                name=lid,
                geometry=Point(4.70, 50.88),
                reference_images=(ReferenceImage(path=f"refs/{src.name}", sha256=""),),
            )
        )
    save_registry(Registry(name="t", landmarks=tuple(marks)), folder / "r.geojson")
    return folder / "r.geojson"


def _mirrored_graf3(width_px: int) -> np.ndarray:
    """graf3 mirrored left-right, shrunk to ``width_px`` and blown up again to 560x420."""
    small = cv2.resize(
        load_image(IM / "graf3.png"),
        (width_px, round(width_px * 0.8)),
        interpolation=cv2.INTER_AREA,
    )
    big = cv2.resize(
        np.ascontiguousarray(small[:, ::-1]), (560, 448), interpolation=cv2.INTER_LINEAR
    )
    return np.ascontiguousarray(big[:420])


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> tuple[Path, Path]:
    """A registry {leuven: leuvenA.jpg, graf: graf1.png} and a 3.1 s clip (10 fps, 560x420).

    The clip: a walk over leuvenB.jpg (a 560x420 window moving 19 px a frame), then graf3
    mirrored as a 60 px thumbnail blown up (measured before encoding: 9 inliers against the
    mirrored graf1, a no-match), then graf3 mirrored at 560 px (a match of graf, mirrored).
    With 2 references of other landmarks, both landmarks get the background photographs as
    controls.
    """
    folder = tmp_path_factory.mktemp("leuven")
    registry = _registry(folder, {"leuven": IM / "leuvenA.jpg", "graf": IM / "graf1.png"})
    frames = _pan(_photo("leuvenB.jpg", 563), WALK_FRAMES, 19.1, (560, 420))
    frames += [_mirrored_graf3(60)] * BLUR_FRAMES
    frames += [_mirrored_graf3(560)] * 10
    clip = write_h264(folder / "walk.mp4", frames, fps=FPS, options={"crf": "18"})
    return registry, clip


@pytest.fixture(scope="module")
def match_run(case, tmp_path_factory) -> tuple[dict[float, str], str, dict]:
    """`geoverify match` on the clip, a frame every 0.5 s: rows by time, stdout, matches.json."""
    registry, clip = case
    out = tmp_path_factory.mktemp("match") / "m"
    args = ["match", str(clip), "--registry", str(registry), "--out", str(out),
            "--every", "0.5", "--affine", "off"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = {
        float(m[1]): line
        for line in result.stdout.splitlines()
        if (m := re.match(r"\s*(\d+\.\d+) s  frame", line))
    }
    assert sorted(rows) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    return rows, result.stdout, json.loads((out / "matches.json").read_text())


def _verdict(row: str) -> str:
    """The verdict column of a `match` row (``match``, ``no match``, ``ambiguous``)."""
    found = re.match(r"\s*\d+\.\d+ s  frame +\d+  (match|no match|ambiguous)\b", row)
    assert found, row
    return found[1]


def test_footage_of_a_landmark_in_the_background_set_matches_and_the_control_is_named(match_run):
    rows, stdout, manifest = match_run
    # the walk over leuvenB shows leuvenA's street: every frame is a match of it. Without the
    # screen the re-encoded leuvenA is a control and scores about as high as the reference
    # (measured on the 11 frames unencoded, leuvenA alone: 44-114 inliers against 45-120, no
    # frame matched; with it: the best control 4-5 inliers, all 11 match)
    for t in (0.0, 0.5, 1.0):
        assert _verdict(rows[t]) == "match", rows[t]
        assert " leuven (" in rows[t]
    note = (
        "note: background photograph opencv_leuvena.jpg left out of the negative controls: "
        "it is a re-encoding of reference refs/leuvenA.jpg of landmark 'leuven'"
    )
    assert note in stdout
    (left_out,) = manifest["excluded_controls"]
    assert left_out["file"] == "opencv_leuvena.jpg"
    assert (left_out["landmark_id"], left_out["reason"]) == ("leuven", "re_encoded")
    for frame in manifest["frames"]:
        assert "background:opencv_leuvena.jpg" not in frame["match"]["control_references"]


def test_a_rate_at_its_floor_is_said_to_be_one(match_run):
    rows, _, manifest = match_run
    # graf3 mirrored at full size: no control scores as high, so the rate is 1 / (n + 1)
    matched = [f["match"] for f in manifest["frames"] if f["match"]["verdict"] == "match"]
    assert len(matched) >= 2
    n = matched[-1]["controls"]
    assert n >= 19  # enough controls to estimate a rate of at most 0.05 (1 in 20)
    for t in (2.5, 3.0):
        assert _verdict(rows[t]) == "match", rows[t]
        assert (
            f"false-match rate {1 / (n + 1):.3f} (1 in {n + 1}, the lowest {n} controls can "
            "estimate: none scored as high)" in rows[t]
        )
    for m in matched:
        assert m["controls"] == n
        assert m["false_match_rate"] == pytest.approx(1 / (n + 1))
        assert m["false_match_rate_at_floor"] is True
        assert max(m["control_scores"]) < m["best"]["inliers"]


def test_mirrored_is_said_of_matches_only(match_run):
    rows, _, manifest = match_run
    # the thumbnail's best score is against the mirrored graf1, but it matches nothing
    for t in (1.5, 2.0):
        assert _verdict(rows[t]) == "no match", rows[t]
        assert "MIRRORED" not in rows[t]
    for t in (2.5, 3.0):
        assert " graf (" in rows[t]
        assert rows[t].rstrip().endswith("MIRRORED")
    for frame in manifest["frames"]:
        m = frame["match"]
        assert m["mirrored"] == (m["verdict"] == "match" and m["best"]["mirrored"])


@pytest.fixture(scope="module")
def report_run(case, tmp_path_factory):
    """``verify`` on the clip, a frame a second, with a claims file of no claim."""
    from geoverify.frames import FrameOptions
    from geoverify.pipeline import VerifyOptions, verify

    registry, clip = case
    claims = tmp_path_factory.mktemp("claims") / "claims.yaml"
    claims.write_text('claims_version: 2\nsource: {title: "none"}\nclaims: []\n')
    options = VerifyOptions(frames=FrameOptions(every_s=1.0), matching=MatchOptions(affine="off"))
    result = verify(
        clip,
        registry=registry,
        claims=claims,
        options=options,
        now=datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert sorted(round(r.t_s, 1) for r in result.report.matches) == [0.0, 1.0, 2.0, 3.0]
    return result


def _captions(result) -> list[str]:
    from geoverify.report import render_html

    # the matched frames' captions (the text line's crops have captions of their own)
    found = re.findall(r"<figcaption>(.*?)</figcaption>", render_html(result.report), re.S)
    return [c for c in found if "(frame " in c]


def test_the_report_names_the_left_out_control(report_run):
    from geoverify.models import to_jsonable

    for r in report_run.report.matches[:2]:  # the walk over leuvenB
        assert (r.verdict, r.landmark_id) == ("match", "leuven")
        assert r.excluded_controls[0].startswith(
            "background photograph opencv_leuvena.jpg left out of the negative controls: it is "
            "a re-encoding of reference refs/leuvenA.jpg of landmark 'leuven'"
        )
    assert "opencv_leuvena.jpg left out of the negative controls" in _captions(report_run)[0]
    data = to_jsonable(report_run.report)
    jsonschema.validate(data, SCHEMA)
    assert data["matches"][0]["excluded_controls"] == list(
        report_run.report.matches[0].excluded_controls
    )


def test_the_report_says_a_rate_at_its_floor_and_mirrored_only_for_matches(report_run):
    from geoverify.models import to_jsonable

    blurred, mirrored = report_run.report.matches[2:]
    assert mirrored.verdict == "match"
    assert mirrored.mirrored
    assert mirrored.false_match_rate_at_floor
    fm = next(fm.match for fm in report_run.matches if round(fm.t_s, 1) == 2.0)
    assert fm.verdict == "no_match"
    assert fm.best is not None
    assert fm.best.mirrored
    assert not fm.mirrored
    assert not blurred.mirrored
    assert not any("mirrored" in n for n in fm.notes)
    captions = _captions(report_run)
    assert len(captions) == 4
    assert "mirrored</b>" not in captions[2]
    assert "mirrored</b>" in captions[3]
    data = to_jsonable(report_run.report)
    jsonschema.validate(data, SCHEMA)
    n = data["matches"][3]["controls"]
    assert (
        f"false-match rate {1 / (n + 1):.3f} (1 in {n + 1}, the lowest {n} controls"
        in (captions[3])
    )
    assert data["matches"][3]["false_match_rate_at_floor"] is True
    assert data["matches"][3]["false_match_rate"] == pytest.approx(1 / (n + 1))


def test_the_screen_names_each_kind_of_copy_and_keeps_unrelated_photographs(tmp_path):
    n = len(background_set())
    # the reference is the very file the background photograph was re-encoded from
    idx = build_index(load_registry(_registry(tmp_path / "a", {"leuven": IM / "leuvenA.jpg"})))
    (left,) = idx.excluded_background
    assert (left.file, left.reason) == ("opencv_leuvena.jpg", "re_encoded")
    assert len(idx.background) == n - 1
    assert "opencv_leuvena.jpg" not in idx.background
    # a re-encoding of our own (JPEG quality 60, 80 % of the size): a copy by perceptual hash
    copy = tmp_path / "leuven_copy.jpg"
    small = cv2.resize(load_image(IM / "leuvenA.jpg"), (601, 450), interpolation=cv2.INTER_AREA)
    copy.write_bytes(cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 60])[1].tobytes())
    idx = build_index(load_registry(_registry(tmp_path / "b", {"leuven": copy})))
    (left,) = idx.excluded_background
    assert (left.file, left.reason) == ("opencv_leuvena.jpg", "copy")
    assert left.phash_distance_bits <= 8
    # another photograph of the street: the same scene (measured 115 inliers; unrelated
    # pictures score at most 6)
    idx = build_index(load_registry(_registry(tmp_path / "c", {"leuven": IM / "leuvenB.jpg"})))
    (left,) = idx.excluded_background
    assert (left.file, left.reason) == ("opencv_leuvena.jpg", "same_scene")
    assert left.inliers >= 15
    assert "it shows the same scene as reference refs/leuvenB.jpg of landmark 'leuven'" in left.text
    # registries without the street keep every photograph
    for refs in ({"graf": IM / "graf1.png"}, {"box": IM / "box.png", "aero": IM / "aero1.jpg"}):
        idx = build_index(load_registry(_registry(tmp_path / next(iter(refs)), refs)))
        assert idx.excluded_background == ()
        assert len(idx.background) == n


def test_a_rate_above_its_floor_counts_the_controls_that_scored_as_high(tmp_path):
    # aero1 is no view of box: its best score is noise, and controls score as much
    idx = build_index(
        load_registry(_registry(tmp_path, {"box": IM / "box.png"})),
        options=MatchOptions(affine="off"),
    )
    m = match_image(load_image(IM / "aero1.jpg"), idx)
    assert m.best is not None
    assert m.false_match_rate is not None
    k = sum(1 for c in m.control_scores if c >= m.best.inliers)
    assert k >= 1
    assert not m.false_match_rate_at_floor
    assert m.false_match_rate == pytest.approx((k + 1) / (m.controls + 1))
    assert m.false_match_rate_text == (
        f"{m.false_match_rate:.3f} ({k} of {m.controls} controls scored as high)"
    )


def test_the_visual_line_says_when_the_rate_is_at_its_floor():
    """The bottom line an editor reads says what a floor rate rests on, not a bare 0.040."""
    import geoverify

    berlin = Path(__file__).resolve().parent.parent / "samples" / "berlin"
    result = geoverify.verify(
        berlin / "photos" / "berlin_01.jpg",
        registry=berlin / "registry.geojson",
        claims=berlin / "claims.yaml",
    )
    visual = next(ln for ln in result.report.bottom_line.lines if ln.line == "visual")
    frame = next(fm for fm in result.matches if fm.match.verdict == "match")
    assert frame.match.false_match_rate_at_floor  # the photo's own landmark: no control as high
    n = frame.match.controls
    assert f"1 in {n + 1}, the lowest {n} controls can estimate" in visual.summary, visual.summary
