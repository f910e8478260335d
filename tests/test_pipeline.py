"""verify(): the Berlin sample end to end, the report's schema, hostile strings, a real browser."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from conftest import ROOT
from shapely.geometry import Point
from typer.testing import CliRunner

from geoverify.cli import app
from geoverify.frames import FrameOptions
from geoverify.matching import MatchOptions
from geoverify.pipeline import VerifyOptions, save_verification, verify
from geoverify.registry import Landmark, ReferenceImage, Registry, save_registry

BERLIN = ROOT / "samples" / "berlin"
SCHEMA = json.loads((ROOT / "geoverify" / "schemas" / "report.schema.json").read_text())
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def berlin_report(sample_walk, tmp_path_factory):
    ticks: list[tuple[str, int, int | None]] = []
    result = verify(
        sample_walk,
        registry=BERLIN / "registry.geojson",
        claims=BERLIN / "claims.yaml",
        now=NOW,
        progress=lambda stage, done, total: ticks.append((stage, done, total)),
    )
    # progress reaches the end of both stages
    assert ("matching", len(result.matches), len(result.matches)) in ticks
    assert any(stage == "decoding" and done == total for stage, done, total in ticks)
    out = tmp_path_factory.mktemp("report")
    save_verification(result, out)
    return result, out


def test_berlin_verdicts_trace_to_inputs(berlin_report):
    result, out = berlin_report
    report = json.loads((out / "report.json").read_text())
    assert report["created_utc"] == "2026-11-26T12:00:00+00:00"  # clock injected
    (check,) = report["checks"]
    assert check["verdict"] == "consistent"
    assert [c["landmarks"]["subject"] for c in check["candidates"]] == [
        "camera_01",
        "camera_02",
        "camera_03",
    ]
    # the distances are the geodesics between the registry's sourced points
    from geoverify.geodesy import distance_m
    from geoverify.models import LatLon

    dom = LatLon(52.51926834404209, 13.400703631118825)
    assert check["candidates"][0]["measured"] == pytest.approx(
        distance_m(LatLon(52.5189167, 13.4002944), dom), abs=1e-6
    )
    matched = report["summary"]["frames_matched_by_landmark"]
    assert set(matched) == {"berliner_dom"}
    assert (
        report["video"]["sha256"]
        == hashlib.sha256(result.media.path and Path(result.media.path).read_bytes()).hexdigest()
    )
    assert (
        report["registry"]["sha256"]
        == hashlib.sha256((BERLIN / "registry.geojson").read_bytes()).hexdigest()
    )
    assert report["versions"]["geoverify"]


def test_report_json_is_strict_and_matches_its_schema(berlin_report):
    _, out = berlin_report
    text = (out / "report.json").read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(data, SCHEMA)


def test_manifest_lists_every_file_with_its_hash(berlin_report):
    _, out = berlin_report
    manifest = json.loads((out / "manifest.json").read_text())["files"]
    on_disk = {
        str(p.relative_to(out))
        for p in out.rglob("*")
        if p.is_file() and p != out / "manifest.json"
    }
    assert set(manifest) == on_disk
    for name, digest in manifest.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert "report.html" in manifest
    assert any(n.startswith("matches/") for n in manifest)
    assert any(n.startswith("frames/") for n in manifest)


class _Audit(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]

    def handle_data(self, data):
        self.text.append(data)


HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)> javascript:alert(3)'


def test_hostile_strings_stay_text(sample_walk, tmp_path):
    shutil.copy(BERLIN / "photos" / "berlin_03.jpg", tmp_path / "dom.jpg")
    dom = Landmark(
        id="dom",
        name=HOSTILE,
        geometry=Point(13.4007, 52.5193),
        reference_images=(ReferenceImage(path="dom.jpg", sha256=""),),
    )
    cam = Landmark(id="cam", name=HOSTILE, geometry=Point(13.4003, 52.5189))
    save_registry(Registry(name="h", landmarks=(dom, cam)), tmp_path / "r.geojson")
    claims = tmp_path / "c.yaml"
    claims.write_text(
        "claims_version: 1\nclaims:\n  - id: x\n    kind: distance\n    text: "
        + json.dumps(HOSTILE)
        + "\n    subject: cam\n    reference: dom\n    distance: {qualifier: about, value_m: 50}\n"
    )
    import av

    hostile_video = tmp_path / "v.mp4"
    with av.open(str(sample_walk)) as src, av.open(str(hostile_video), "w") as dst:
        dst.metadata["title"] = HOSTILE
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is None:
                continue
            packet.stream = stream
            dst.mux(packet)
    # about the report's escaping, not the matcher: two frames, the plain pass
    few = VerifyOptions(frames=FrameOptions(best=2), matching=MatchOptions(affine="off"))
    result = verify(
        hostile_video, registry=tmp_path / "r.geojson", claims=claims, now=NOW, options=few
    )
    save_verification(result, tmp_path / "out")
    page = (tmp_path / "out" / "report.html").read_text()
    audit = _Audit()
    audit.feed(page)
    assert "script" not in audit.tags
    assert not [a for a in audit.attrs if a[1].startswith("on")]
    for _tag, key, value in audit.attrs:
        if key == "href":
            assert value.startswith("https://www.openstreetmap.org/")
        if key == "src":
            assert value.startswith("data:image/jpeg;base64,")
    assert any(HOSTILE in t for t in audit.text)  # shown, as text
    # report.md: a Markdown renderer must see entities and escaped punctuation, never HTML
    md = (tmp_path / "out" / "report.md").read_text()
    assert "<" not in md
    assert ">" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="make test installs Debian's chromium")
def test_report_renders_in_headless_chromium_offline(berlin_report, tmp_path):
    _, out = berlin_report
    shot = tmp_path / "shot.png"
    cmd = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic",
        f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
        "--proxy-server=127.0.0.1:9", "--window-size=1200,1800", f"--screenshot={shot}",
        (out / "report.html").as_uri(),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line]
    assert console == []  # no console error, no CSP violation (a request would be one)
    assert "ERR_PROXY_CONNECTION_FAILED" not in proc.stderr  # nothing tried to go out
    import cv2
    import numpy as np

    image = cv2.imdecode(np.fromfile(shot, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    assert image.std() > 20  # not blank


def test_verify_bad_input_exits_3_and_writes_no_report(tmp_path):
    empty = tmp_path / "e.mp4"
    empty.write_bytes(b"")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "verify",
            str(empty),
            "--registry",
            str(BERLIN / "registry.geojson"),
            "--claims",
            str(BERLIN / "claims.yaml"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 3
    assert not (out / "report.json").exists()
    assert not (out / "report.html").exists()


def test_verify_takes_a_photo_and_its_exif_is_evidence(tmp_path):
    # berlin_01.jpg carries EXIF GPS (52.518917, 13.400294): a photo is one frame, and its
    # position is a camera position for the claims
    photo = BERLIN / "photos" / "berlin_01.jpg"
    result = verify(
        photo,
        registry=BERLIN / "registry.geojson",
        claims=BERLIN / "claims.yaml",
        now=NOW,
        options=VerifyOptions(matching=MatchOptions(affine="off")),
    )
    assert result.media.still is not None
    assert len(result.selection.frames) == 1
    (fm,) = result.matches
    assert fm.match.verdict == "match"
    assert fm.match.best is not None
    assert fm.match.best.landmark_id == "berliner_dom"
    location = next(x for x in result.report.bottom_line.lines if x.line == "location")
    assert location.outcome.value != "not_tested"
    save_verification(result, tmp_path / "r")
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    jsonschema.validate(report, SCHEMA)


def test_a_photo_named_mp4_is_read_as_a_photo_and_flagged(tmp_path):
    from fixtures import write_jpeg

    path = tmp_path / "in.mp4"
    write_jpeg(tmp_path / "i.jpg").rename(path)
    from geoverify.probing import probe

    media = probe(path)
    assert media.still is not None
    assert any(n.code == "W_EXTENSION_MISMATCH" for n in media.notes)


@pytest.mark.parametrize("case", ["random", "html", "audio", "truncated"])
def test_verify_refuses_bad_videos_with_exit_3_and_no_report(tmp_path, case):
    from fixtures import truncate_copy, write_audio_only, write_clip

    path = tmp_path / "in.mp4"
    if case == "random":
        path.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(20000)))
    elif case == "html":
        path.write_text("<!DOCTYPE html><html>Video unavailable</html>")
    elif case == "audio":
        write_audio_only(path)
    else:
        truncate_copy(write_clip(tmp_path / "full.mp4", n_frames=50), path, 0.5)
    out = tmp_path / "out"
    args = [
        "verify",
        str(path),
        "--registry",
        str(BERLIN / "registry.geojson"),
        "--claims",
        str(BERLIN / "claims.yaml"),
        "--out",
        str(out),
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["error"]["code"].startswith("E_")
    assert not out.exists() or not any(out.rglob("report.*"))


def test_verify_bad_registry_or_claims_exit_4(tmp_path, sample_walk):
    bad = tmp_path / "r.geojson"
    feature = {
        "type": "Feature",
        "id": "a",
        "geometry": {"type": "Point", "coordinates": [200, 95]},
    }
    feature["properties"] = {"name": "a"}
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    args = [
        "verify",
        str(sample_walk),
        "--registry",
        str(bad),
        "--claims",
        str(BERLIN / "claims.yaml"),
        "--out",
        str(tmp_path / "o"),
    ]
    assert CliRunner().invoke(app, args).exit_code == 4
    claims = tmp_path / "c.yaml"
    claims.write_text("claims_version: 1\nclaims: [{id: x}]\n")
    args = [
        "verify",
        str(sample_walk),
        "--registry",
        str(BERLIN / "registry.geojson"),
        "--claims",
        str(claims),
        "--out",
        str(tmp_path / "o2"),
    ]
    assert CliRunner().invoke(app, args).exit_code == 4
    assert not (tmp_path / "o2" / "report.json").exists()


def test_a_slanted_view_is_matched_by_the_affine_pass_and_the_report_says_so(
    tmp_path, aero3_still_1s
):
    # A clip of aero3 against a registry whose reference is aero1: the same town from another
    # direction, which plain SIFT does not match (tests/test_matching.py).
    from fixtures import IMAGES

    shutil.copy(IMAGES / "aero1.jpg", tmp_path / "aero1.jpg")
    shutil.copy(IMAGES / "box.png", tmp_path / "box.png")
    marks = (
        Landmark(
            id="town", name="town", reference_images=(ReferenceImage(path="aero1.jpg", sha256=""),)
        ),
        Landmark(
            id="box", name="box", reference_images=(ReferenceImage(path="box.png", sha256=""),)
        ),
    )
    save_registry(Registry(name="a", landmarks=marks), tmp_path / "r.geojson")
    claims = tmp_path / "c.yaml"
    claims.write_text("claims_version: 1\nclaims: []\n")
    video = aero3_still_1s
    # without the background photographs: they would be scored with affine simulation too
    # (a minute of this test); the registry's own controls are too few for a rate. At 320 px
    # (a quarter of the pixels): the test is about what the report says, not accuracy.
    own = VerifyOptions(matching=MatchOptions(background="off", max_side_px=320))
    result = verify(video, registry=tmp_path / "r.geojson", claims=claims, now=NOW, options=own)
    matched = [fm for fm in result.matches if fm.match.verdict == "match"]
    assert matched
    assert all(fm.match.affine and fm.match.best.landmark_id == "town" for fm in matched)
    out = tmp_path / "report"
    save_verification(result, out)
    report = json.loads((out / "report.json").read_text())
    jsonschema.validate(report, SCHEMA)
    assert any(m["affine"] for m in report["matches"])
    assert any("affine simulation" in text for text in report["limitations"])
    assert "scored with affine simulation" in (out / "report.html").read_text()
