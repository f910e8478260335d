"""The bottom line: the rule table, each line of evidence, and the cases of issue 12 end to end.

Distances are checked against GeographicLib (the geographiclib package, an independent
implementation of Karney's algorithms), to 0.05 m (the report rounds to 0.1 m).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import KARMA, ROOT, VIDEO_DATA
from fixtures import IMAGES, write_clip
from geographiclib.geodesic import Geodesic
from typer.testing import CliRunner

from geoverify import RegistryError, load_claims, probe
from geoverify.cli import app
from geoverify.evidence import (
    RULES,
    BottomVerdict,
    EvidenceLine,
    Outcome,
    camera_positions,
    decide,
)
from geoverify.frames import FrameOptions
from geoverify.matching import MatchOptions
from geoverify.pipeline import VerifyOptions, save_verification, verify
from geoverify.registry import Landmark, ReferenceImage, Registry, save_registry

BERLIN = ROOT / "samples" / "berlin"
BAKHMUT = ROOT / "samples" / "bakhmut"
IPHONE = VIDEO_DATA / "iphone6_with-gps.mov"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TOL_M = 0.05
DOM = (52.51926834404209, 13.400703631118825)  # samples/berlin/registry.geojson, berliner_dom
runner = CliRunner()
# these tests are about the bottom line, not about frame coverage (tests/test_match_coverage.py)
# or the affine-simulation pass (seconds a frame): the two sharpest frames, the plain pass only
PLAIN = VerifyOptions(
    frames=FrameOptions(best=2), matching=MatchOptions(affine="off"), text=None
)  # the text line has its own tests (test_text): OCR is most of a photo's verify


def _claims(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _line(result, name: str) -> EvidenceLine:
    return next(ln for ln in result.report.bottom_line.lines if ln.line == name)


# --- the rule table, as a pure function ----------------------------------------------------


def _lines(**outcomes: tuple[str, str | None]) -> list[EvidenceLine]:
    names = ("location", "time", "visual", "description", "sun", "specificity")
    return [
        EvidenceLine(
            line=n,  # type: ignore[arg-type]
            outcome=Outcome(outcomes.get(n, ("not_tested", None))[0]),
            strength=outcomes.get(n, ("not_tested", None))[1],  # type: ignore[arg-type]
            summary="x",
        )
        for n in names
    ]


@pytest.mark.parametrize(
    ("outcomes", "verdict", "rule"),
    [
        ({}, "not_established", "R4"),
        ({"location": ("contradicts", "strong")}, "contradicted", "R2"),
        ({"time": ("contradicts", "weak")}, "not_established", "R4"),
        ({"visual": ("supports", "weak")}, "supported", "R3"),
        (
            {"location": ("supports", "strong"), "visual": ("contradicts", "weak")},
            "conflicting",
            "R1",
        ),
        ({"visual": ("supports", "strong"), "sun": ("contradicts", "strong")}, "conflicting", "R1"),
        ({"time": ("supports", "strong")}, "not_established", "R4"),  # time alone ties nothing
        (
            {"sun": ("supports", "weak"), "description": ("supports", "weak")},
            "not_established",
            "R4",
        ),
        # the published description is context: it neither supports nor contradicts the footage
        (
            {"visual": ("supports", "strong"), "description": ("contradicts", "weak")},
            "supported",
            "R3",
        ),
        ({"description": ("contradicts", "weak")}, "not_established", "R4"),
        (
            {"location": ("contradicts", "strong"), "description": ("supports", "weak")},
            "contradicted",
            "R2",
        ),
    ],
)
def test_the_rule_table(outcomes, verdict, rule):
    got, rid, text = decide(_lines(**outcomes))
    assert (got.value, rid) == (verdict, rule)
    assert text == next(t for r, _, t in RULES if r == rule)


def test_readme_documents_the_rule_table_as_the_code_applies_it():
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| (R\d) \| `(\w+)` \| (.+?) \|$", readme, flags=re.M)
    assert [(r, v) for r, v, _ in rows] == [(r, v.value) for r, v, _ in RULES]
    for (_, _, text), (_, _, documented) in zip(RULES, rows, strict=True):
        assert documented.rstrip(".") == text


# --- the claims file's hypothesis ----------------------------------------------------------


def test_version_1_files_load_and_say_they_state_no_hypothesis(tmp_path):
    path = _claims(tmp_path, "claims_version: 1\nclaims: []\n")
    claims = load_claims(path)
    assert claims.footage is None
    assert "states no hypothesis" in claims.notes[0]


def test_the_footage_section(tmp_path):
    path = _claims(
        tmp_path,
        "claims_version: 2\nfootage:\n  shows: monument\n"
        "  filmed_at: {role: monument, within_m: 300}\n"
        "  filmed_between: [2023-03-05T00:00+02:00, null]\nclaims: []\n",
    )
    hyp = load_claims(path).footage
    assert hyp is not None
    assert (hyp.shows, hyp.filmed_at, hyp.within_m) == ("monument", "monument", 300)
    assert hyp.filmed_from_utc == datetime(2023, 3, 4, 22, 0, tzinfo=UTC)
    assert hyp.filmed_until_utc is None


@pytest.mark.parametrize(
    ("footage", "fragment"),
    [
        ("  filmed_between: [2023-03-05T00:00, null]", "no time zone"),
        ("  filmed_between: [2023-03-06T00:00Z, 2023-03-05T00:00Z]", "not after"),
        ("  filmed_at: {role: a, lat: 1, lon: 2, within_m: 5}", "not both"),
        ("  filmed_at: {lat: 91, lon: 2, within_m: 5}", "lat"),
        ("  filmed_at: {role: a, within_m: -1}", "within_m"),
        ("  filmed_at: {role: a, within_m: .nan}", "within_m"),
        ("  shows: [a, b]", "shows"),
    ],
)
def test_a_bad_hypothesis_is_a_claims_error(tmp_path, footage, fragment):
    path = _claims(tmp_path, f"claims_version: 2\nfootage:\n{footage}\nclaims: []\n")
    with pytest.raises(RegistryError) as exc:
        load_claims(path)
    assert fragment in exc.value.detail
    assert exc.value.exit_code == 4


def test_footage_needs_version_2_and_camera_is_reserved_there(tmp_path):
    with pytest.raises(RegistryError):
        load_claims(_claims(tmp_path, "claims_version: 1\nfootage: {shows: a}\nclaims: []\n"))
    with pytest.raises(RegistryError):
        load_claims(_claims(tmp_path, "claims_version: 2\nroles: {camera: [a]}\nclaims: []\n"))
    load_claims(_claims(tmp_path, "claims_version: 1\nroles: {camera: [a]}\nclaims: []\n"))


def test_a_hypothesis_naming_an_unknown_landmark_is_exit_4(tmp_path):
    path = _claims(tmp_path, "claims_version: 2\nfootage: {shows: nowhere}\nclaims: []\n")
    result = runner.invoke(
        app, ["check", "--registry", str(BERLIN / "registry.geojson"), "--claims", str(path)]
    )
    assert result.exit_code == 4
    assert "nowhere" in result.stderr


# --- the cases of issue 12, end to end -----------------------------------------------------


def test_the_iphone_clip_against_the_berlin_hypothesis_is_contradicted_by_its_position():
    result = verify(
        IPHONE,
        registry=BERLIN / "registry.geojson",
        claims=BERLIN / "claims.yaml",
        now=NOW,
        options=PLAIN,
    )
    bottom = result.report.bottom_line
    assert bottom.verdict is BottomVerdict.CONTRADICTED
    assert bottom.rule == "R2"
    location = _line(result, "location")
    assert location.outcome is Outcome.CONTRADICTS
    expected_m = Geodesic.WGS84.Inverse(32.0929, 34.8620, *DOM)["s12"]  # the clip's ISO 6709
    assert location.numbers["nearest_m"] == pytest.approx(expected_m, abs=TOL_M)
    assert f"{expected_m / 1000:,.1f} km" in location.summary  # "2,854.4 km" named
    assert _line(result, "visual").outcome is Outcome.NO_EVIDENCE  # a video-game box: no match


def test_karma_against_a_hypothesis_in_bakhmut_is_contradicted(tmp_path):
    claims = _claims(
        tmp_path,
        "claims_version: 2\nfootage:\n  filmed_at: {role: city_wikipedia, within_m: 5000}\n"
        "claims: []\n",
    )
    result = verify(
        KARMA, registry=BAKHMUT / "registry.geojson", claims=claims, now=NOW, options=PLAIN
    )
    bottom = result.report.bottom_line
    assert bottom.verdict is BottomVerdict.CONTRADICTED
    location = _line(result, "location")
    fixes = result.media.gps_track.fixes
    assert location.numbers["positions"] == len(fixes)  # every fix is checked
    reg = json.loads((BAKHMUT / "registry.geojson").read_text())
    lon, lat = next(f for f in reg["features"] if f["id"] == "city_wikipedia")["geometry"][
        "coordinates"
    ]
    city = (lat, lon)
    nearest = min(Geodesic.WGS84.Inverse(f.lat, f.lon, *city)["s12"] for f in fixes)
    assert location.numbers["nearest_m"] == pytest.approx(nearest, abs=TOL_M)
    assert nearest > 10_000_000  # California to Donbas


def test_a_clip_with_no_metadata_and_no_match_is_not_established(tmp_path):
    clip = write_clip(tmp_path / "plain.mp4", n_frames=25)
    result = verify(
        clip,
        registry=BERLIN / "registry.geojson",
        claims=BERLIN / "claims.yaml",
        now=NOW,
        options=PLAIN,
    )
    bottom = result.report.bottom_line
    assert bottom.verdict is BottomVerdict.NOT_ESTABLISHED
    assert _line(result, "location").outcome is Outcome.NO_EVIDENCE
    assert _line(result, "visual").outcome is Outcome.NO_EVIDENCE
    assert any(step.startswith("location:") for step in bottom.next_steps)


def test_the_berlin_demo_is_supported_by_its_visual_match(sample_walk):
    result = verify(
        sample_walk,
        registry=BERLIN / "registry.geojson",
        claims=BERLIN / "claims.yaml",
        now=NOW,
        options=PLAIN,
    )
    bottom = result.report.bottom_line
    assert bottom.verdict is BottomVerdict.SUPPORTED
    assert bottom.rule == "R3"
    visual = _line(result, "visual")
    assert visual.outcome is Outcome.SUPPORTS
    # one landmark: the background photographs are the negative controls, so the rate exists
    assert visual.strength == "strong"
    assert result.index is not None
    assert len(result.index.background) >= 40
    assert all(fm.match.false_match_rate == pytest.approx(1 / 25) for fm in result.matches)
    assert any("background photographs" in text for text in result.report.limitations)
    assert any("no stated uncertainty" in c for c in bottom.caveats)


def test_a_one_landmark_match_without_a_rate_is_weak(sample_walk):
    no_background = dataclasses.replace(
        PLAIN, matching=MatchOptions(affine="off", background="off")
    )
    result = verify(
        sample_walk,
        registry=BERLIN / "registry.geojson",
        claims=BERLIN / "claims.yaml",
        now=NOW,
        options=no_background,
    )
    bottom = result.report.bottom_line
    assert bottom.verdict is BottomVerdict.SUPPORTED
    visual = _line(result, "visual")
    assert visual.strength == "weak"  # one landmark, no background: no false-match rate
    assert any("all the support is weak" in c for c in bottom.caveats)
    report = result.report
    assert all(
        m.verdict_text == "match (false-match rate not estimated)"
        for m in report.matches
        if m.verdict == "match"
    )
    # the headline of the distance claim is its least favourable camera, not the first: the
    # README's numbers, camera 03 at 30.1 m (0.1 m inside 30-60 m) before 48.0 and 43.8 m
    (check,) = result.report.checks
    assert [round(c.measured, 1) for c in check.candidates] == [48.0, 43.8, 30.1]
    assert round(check.measured, 1) == 30.1
    assert round(check.margin, 1) == 0.1


def _eleven_landmarks(tmp_path: Path) -> Path:
    """The Dom and ten other landmarks with reference images (crops of unrelated real images),
    so that a match's false-match rate can be estimated from 20 negative controls."""
    shutil.copy(BERLIN / "photos" / "berlin_03.jpg", tmp_path / "dom.jpg")
    landmarks = [
        Landmark(
            id="berliner_dom",
            name="Berliner Dom",
            geometry=_point(DOM[1], DOM[0]),
            reference_images=(ReferenceImage(path="dom.jpg", sha256=""),),
        )
    ]
    crops = []
    for name in ("graf1.png", "aero1.jpg", "box_in_scene.png"):
        img = cv2.imread(str(IMAGES / name))
        h, w = img.shape[:2]
        for qy in (0, 1):
            for qx in (0, 1):
                crops.append(img[qy * h // 2 : (qy + 1) * h // 2, qx * w // 2 : (qx + 1) * w // 2])
    for i, crop in enumerate(crops[:10]):
        cv2.imwrite(str(tmp_path / f"other_{i}.png"), np.ascontiguousarray(crop))
        landmarks.append(
            Landmark(
                id=f"other_{i}",
                name=f"Other landmark {i}",
                geometry=_point(13.30 + 0.01 * i, 52.45),  # 5-10 km from the Dom
                tags={"historic": "memorial"},
                reference_images=(ReferenceImage(path=f"other_{i}.png", sha256=""),),
            )
        )
    path = tmp_path / "r.geojson"
    save_registry(Registry(name="eleven", landmarks=tuple(landmarks)), path)
    return path


def _point(lon: float, lat: float):
    from shapely.geometry import Point

    return Point(lon, lat)


def test_frames_matching_another_landmark_than_shown_contradict(tmp_path, sample_walk):
    registry = _eleven_landmarks(tmp_path)
    claims = _claims(tmp_path, "claims_version: 2\nfootage: {shows: other_3}\nclaims: []\n")
    result = verify(sample_walk, registry=registry, claims=claims, now=NOW, options=PLAIN)
    bottom = result.report.bottom_line
    visual = _line(result, "visual")
    assert visual.outcome is Outcome.CONTRADICTS
    assert visual.strength == "strong"  # 20 controls: an estimated false-match rate <= 0.05
    assert "'berliner_dom'" in visual.summary
    assert bottom.verdict is BottomVerdict.CONTRADICTED
    # and the same footage said to show the Dom is supported, strongly
    claims = _claims(tmp_path, "claims_version: 2\nfootage: {shows: berliner_dom}\nclaims: []\n")
    result = verify(sample_walk, registry=registry, claims=claims, now=NOW, options=PLAIN)
    assert result.report.bottom_line.verdict is BottomVerdict.SUPPORTED
    assert _line(result, "visual").strength == "strong"


def test_a_file_time_outside_the_claimed_window_contradicts(tmp_path):
    claims = _claims(
        tmp_path,
        "claims_version: 2\nfootage:\n"
        "  filmed_between: [2023-03-05T00:00+02:00, 2023-03-06T20:09+02:00]\nclaims: []\n",
    )
    result = verify(
        IPHONE, registry=BERLIN / "registry.geojson", claims=claims, now=NOW, options=PLAIN
    )
    time_line = _line(result, "time")
    assert time_line.outcome is Outcome.CONTRADICTS
    assert time_line.strength == "strong"  # Apple creationdate with its zone (+03:00)
    assert time_line.numbers["source"] == "com.apple.quicktime.creationdate"
    assert result.report.bottom_line.verdict is BottomVerdict.CONTRADICTED
    # a window that holds the file's time supports, but time alone establishes nothing
    claims = _claims(
        tmp_path,
        "claims_version: 2\nfootage:\n  filmed_between: [2019-07-24T00:00Z, 2019-07-25T00:00Z]"
        "\nclaims: []\n",
        "c2.yaml",
    )
    result = verify(
        IPHONE, registry=BERLIN / "registry.geojson", claims=claims, now=NOW, options=PLAIN
    )
    assert _line(result, "time").outcome is Outcome.SUPPORTS
    assert result.report.bottom_line.verdict is BottomVerdict.NOT_ESTABLISHED


def _without_telemetry(video: Path, out: Path) -> Path:
    """``video`` remuxed (PyAV stream copy) with its video track and container tags only."""
    import av

    with av.open(str(video)) as src, av.open(str(out), "w", format="mp4") as dst:
        dst.metadata.update(src.metadata)
        stream = src.streams.video[0]
        copy = dst.add_stream_from_template(stream)
        for packet in src.demux(stream):
            if packet.dts is not None:
                packet.stream = copy
                dst.mux(packet)
    return out


INSIDE_IF_LOCAL = "[2017-04-18T00:00Z, 2017-04-19T00:00Z]"  # karma.mp4's time 4.5 h on, as UTC


def test_a_time_without_zone_is_widened_by_every_zone_on_earth(tmp_path):
    # karma.mp4 without its telemetry: container creation_time 2017-04-17T19:27:57, no zone,
    # and no GPS clock left to say which zone
    bare = _without_telemetry(KARMA, tmp_path / "karma_video_only.mp4")
    assert probe(bare).gps_track is None
    claims = _claims(
        tmp_path,
        f"claims_version: 2\nfootage:\n  filmed_between: {INSIDE_IF_LOCAL}\nclaims: []\n",
    )
    result = verify(
        bare, registry=BERLIN / "registry.geojson", claims=claims, now=NOW, options=PLAIN
    )
    assert _line(result, "time").outcome is Outcome.NO_EVIDENCE  # undecided, not contradicted


def test_the_karma_gps_clock_decides_what_its_bare_time_cannot(tmp_path):
    # The drone's SYST pairs put its GPS fixes at 19:27:58-19:28:09 UTC (ExifTool's times):
    # the window 4.5 h later is missed by the track's last fix.
    claims = _claims(
        tmp_path,
        f"claims_version: 2\nfootage:\n  filmed_between: {INSIDE_IF_LOCAL}\nclaims: []\n",
    )
    result = verify(
        KARMA, registry=BERLIN / "registry.geojson", claims=claims, now=NOW, options=PLAIN
    )
    line = _line(result, "time")
    assert line.outcome is Outcome.CONTRADICTS
    with (VIDEO_DATA / "karma_gps_exiftool.csv").open() as fh:
        last = fh.read().strip().splitlines()[-1].split(",")[0]
    last_utc = datetime.strptime(last, "%Y:%m:%d %H:%M:%S.%f").replace(tzinfo=UTC)
    expected_s = (datetime(2017, 4, 18, tzinfo=UTC) - last_utc).total_seconds()
    assert line.numbers["outside_by_s"] == pytest.approx(expected_s, abs=0.1)


def test_camera_claims_test_the_files_own_position(tmp_path):
    claims = _claims(
        tmp_path,
        "claims_version: 2\nclaims:\n - {id: near_dom, kind: distance, text: filmed near the Dom,"
        " subject: camera, reference: berliner_dom, distance: {qualifier: within, value_m: 500}}\n",
    )
    result = verify(
        IPHONE, registry=BERLIN / "registry.geojson", claims=claims, now=NOW, options=PLAIN
    )
    (check,) = result.report.checks
    assert check.verdict.value == "inconsistent"
    expected_m = Geodesic.WGS84.Inverse(32.0929, 34.8620, *DOM)["s12"]
    assert check.measured == pytest.approx(expected_m, abs=TOL_M)
    assert _line(result, "location").outcome is Outcome.CONTRADICTS
    # without any position in the file, such a claim cannot be decided
    clip = write_clip(tmp_path / "plain.mp4", n_frames=10)
    result = verify(
        clip, registry=BERLIN / "registry.geojson", claims=claims, now=NOW, options=PLAIN
    )
    assert result.report.checks[0].verdict.value == "inconclusive"


def test_the_bakhmut_sample_is_not_established_and_lists_what_would_decide(tmp_path):
    result = runner.invoke(
        app,
        [
            "check",
            "--registry",
            str(BAKHMUT / "registry.geojson"),
            "--claims",
            str(BAKHMUT / "claims.yaml"),
            "--json",
        ],
    )
    assert result.exit_code == 0
    bottom = json.loads(result.stdout)["bottom_line"]
    assert bottom["verdict"] == "not_established"
    steps = "\n".join(bottom["next_steps"])
    assert "a sourced position for 't34_monument'" in steps
    assert "'river_label_guardian' as a line" in steps
    assert "a reference image of 't34_monument'" in steps


# --- the report ----------------------------------------------------------------------------

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [k for k, _ in attrs]


def test_the_report_leads_with_the_bottom_line_and_json_matches(tmp_path, sample_walk):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "verify", str(sample_walk), "--registry", str(BERLIN / "registry.geojson"),
            "--claims", str(BERLIN / "claims.yaml"), "--out", str(out), "--json",
            "--affine", "off", "--best", "2",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)["bottom_line"]
    report = json.loads((out / "report.json").read_text())
    assert printed == report["bottom_line"]
    assert list(report)[:4] == ["schema_version", "created_utc", "title", "bottom_line"]
    html_page = (out / "report.html").read_text()
    assert html_page.index("Bottom line") < html_page.index("claim checks")
    md = (out / "report.md").read_text()
    assert md.splitlines()[2].startswith("**Bottom line: SUPPORTED")
    text = runner.invoke(
        app,
        [
            "verify", str(sample_walk), "--registry", str(BERLIN / "registry.geojson"),
            "--claims", str(BERLIN / "claims.yaml"), "--out", str(tmp_path / "o2"),
            "--affine", "off", "--best", "2",
        ],
    )  # fmt: skip
    assert text.stdout.startswith("BOTTOM LINE  SUPPORTED")
    # the terminal says what the report says, with the registry's names (never the ids)
    first = text.stdout.splitlines()[0]
    second = json.loads((tmp_path / "o2" / "report.json").read_text())
    assert first == f"BOTTOM LINE  SUPPORTED: {second['plain_summary']}"
    assert "Berliner Dom" in first
    assert "berliner_dom" not in first
    # so do the caveats: the positions treated as exact, by name (the registry file's)
    names = {f["id"]: f["properties"]["name"] for f in json.loads(
        (BERLIN / "registry.geojson").read_text(encoding="utf-8"))["features"]}  # fmt: skip
    (caveat,) = [ln for ln in text.stdout.splitlines() if "treated as exact" in ln]
    (matched,) = [ln for ln in text.stdout.splitlines() if ln.startswith("frames matched:")]
    for said in (caveat, matched):
        assert names["berliner_dom"] in said
        assert not any(re.search(rf"\b{lid}\b", said) for lid in names)


def test_hostile_strings_in_every_new_field_stay_text(tmp_path, sample_walk):
    shutil.copy(BERLIN / "photos" / "berlin_03.jpg", tmp_path / "dom.jpg")
    dom = Landmark(
        id=HOSTILE,
        name=HOSTILE,
        geometry=_point(DOM[1], DOM[0]),
        reference_images=(ReferenceImage(path="dom.jpg", sha256=""),),
    )
    save_registry(Registry(name=HOSTILE, landmarks=(dom,)), tmp_path / "r.geojson")
    claims = _claims(
        tmp_path,
        "claims_version: 2\n"
        f"footage:\n  shows: {json.dumps(HOSTILE)}\n"
        f"  filmed_at: {{role: {json.dumps(HOSTILE)}, within_m: 100}}\n"
        f"roles:\n  r: {{candidates: [{json.dumps(HOSTILE)}],"
        f" kind: {{x: {json.dumps(HOSTILE)}}}}}\n"
        "claims: []\n",
    )
    result = verify(
        sample_walk, registry=tmp_path / "r.geojson", claims=claims, now=NOW, options=PLAIN
    )
    save_verification(result, tmp_path / "out")
    page = (tmp_path / "out" / "report.html").read_text()
    audit = _Tags()
    audit.feed(page)
    assert "script" not in audit.tags
    assert not [a for a in audit.attrs if a.startswith("on")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown, as text
    md = (tmp_path / "out" / "report.md").read_text()
    assert "<" not in md
    cli = runner.invoke(
        app,
        [
            "verify", str(sample_walk), "--registry", str(tmp_path / "r.geojson"),
            "--claims", str(claims), "--out", str(tmp_path / "o3"),
            "--affine", "off", "--best", "2",
        ],
    )  # fmt: skip
    assert cli.exit_code == 0
    assert "\x1b" not in cli.stdout


# --- issue 30: bounds for a place with no position, stated accuracy, implied zones, next steps --
# Distances here are checked against pyproj.Geod (PROJ's geodesics), to 0.05 m as above; the
# area-of-interest distance is checked against a dense sampling of the box's edges, to 0.1 m.

PHOTOS = ROOT / "tests" / "data" / "photos"
GEOD = None  # pyproj.Geod, built on first use (keeps the import next to its use)
TOL_AREA_M = 0.1
CASE_REACH_M = 50_000.0  # geoverify.evidence._location._CASE_REACH_M, as documented in the module


def _geod():
    from pyproj import Geod

    return Geod(ellps="WGS84")


def _bakhmut_points() -> dict[str, tuple[float, float]]:
    """The positioned landmarks of the seed case, id -> (lon, lat), read from the file."""
    reg = json.loads((BAKHMUT / "registry.geojson").read_text())
    return {
        f["id"]: tuple(f["geometry"]["coordinates"])
        for f in reg["features"]
        if f["geometry"] is not None
    }


def _nearest_m(fixes, points) -> float:
    geod = _geod()
    return min(geod.inv(f.lon, f.lat, lon, lat)[2] for f in fixes for lon, lat in points)


def test_a_camera_far_from_every_landmark_contradicts_a_place_with_no_position(tmp_path):
    # the seed case as shipped: 't34_monument' has no position; karma.mp4's GPS is in California
    result = verify(
        KARMA,
        registry=BAKHMUT / "registry.geojson",
        claims=BAKHMUT / "claims.yaml",
        now=NOW,
        options=PLAIN,
    )
    bottom = result.report.bottom_line
    location = _line(result, "location")
    assert location.outcome is Outcome.CONTRADICTS
    assert location.strength == "strong"
    assert bottom.verdict is BottomVerdict.CONTRADICTED
    assert bottom.rule == "R2"
    bound = location.numbers
    assert bound["unplaced"] == ["t34_monument"]
    assert bound["bound"] == "registry_landmarks"
    points = _bakhmut_points()
    assert bound["bound_landmarks"] == len(points) == 10
    fixes = result.media.gps_track.fixes
    assert location.numbers["positions"] == len(fixes) == 12
    # every landmark is a point, and the nearest one to California is a corner of their hull
    nearest = _nearest_m(fixes, points.values())
    assert bound["nearest_to_bound_area_m"] == pytest.approx(nearest, abs=TOL_M)
    geod = _geod()
    span = max(geod.inv(*a, *b)[2] for a in points.values() for b in points.values())
    assert bound["bound_area_span_m"] == pytest.approx(span, abs=TOL_M)  # 40.5 km: a river point
    assert bound["bound_reach_m"] == CASE_REACH_M  # 40.5 km + 2 x 200 m is less than 50 km
    assert bound["bound_uncertainty_m"] == 200.0  # river_label_guardian, the largest
    # no fix states an accuracy (GPMF gives a DOP): nothing more is subtracted
    assert location.numbers["accuracy_stated"] is False
    assert bound["lower_bound_m"] == pytest.approx(nearest - CASE_REACH_M - 200.0, abs=TOL_M)
    assert nearest > 10_000_000
    assert f"at least {nearest / 1000:,.1f} km from every landmark of this case" in (
        location.summary
    )
    assert "within 50.0 km of them" in location.summary  # the assumption, said
    # a line that decided has nothing left to decide, and neither has a decided bottom line
    assert location.would_decide == ()
    assert bottom.next_steps == ()
    assert _line(result, "description").would_decide  # undecided: it keeps its own


def test_the_area_of_interest_and_the_roles_other_candidates_bound_it_first(tmp_path):
    reg = json.loads((BAKHMUT / "registry.geojson").read_text())
    w, s, e, n = 37.8, 48.55, 38.1, 48.95  # holds every landmark of the case
    reg["geoverify_area_of_interest"] = [w, s, e, n]
    (tmp_path / "r.geojson").write_text(json.dumps(reg))
    result = verify(
        KARMA,
        registry=tmp_path / "r.geojson",
        claims=BAKHMUT / "claims.yaml",
        now=NOW,
        options=PLAIN,
    )
    location = _line(result, "location")
    assert location.outcome is Outcome.CONTRADICTS
    bound = location.numbers
    assert bound["bound"] == "area_of_interest"
    assert bound["bound_reach_m"] == 0.0  # the registry says its landmarks lie inside
    # the box's edges (parallels and meridians) sampled every ~1 m, by pyproj
    k = 40_000
    lons = np.concatenate([np.linspace(w, e, k), np.full(k, e), np.linspace(w, e, k),
                           np.full(k, w)])  # fmt: skip
    lats = np.concatenate([np.full(k, n), np.linspace(s, n, k), np.full(k, s),
                           np.linspace(s, n, k)])  # fmt: skip
    geod = _geod()
    to_box = min(
        float(np.min(geod.inv(np.full(lons.size, f.lon), np.full(lons.size, f.lat), lons, lats)[2]))
        for f in result.media.gps_track.fixes
    )
    assert bound["nearest_to_bound_area_m"] == pytest.approx(to_box, abs=TOL_AREA_M)
    assert bound["lower_bound_m"] == pytest.approx(to_box, abs=TOL_AREA_M)
    assert "the registry's area of interest" in location.summary
    # without an area of interest, a role's candidates that have a position bound the others
    claims = _claims(
        tmp_path,
        "claims_version: 2\nfootage:\n  filmed_at: {role: monument, within_m: 300}\n"
        "roles:\n  monument: {candidates: [t34_monument, city_wikipedia, "
        "railway_station_bakhmut]}\nclaims: []\n",
    )
    result = verify(
        KARMA, registry=BAKHMUT / "registry.geojson", claims=claims, now=NOW, options=PLAIN
    )
    location = _line(result, "location")
    assert location.outcome is Outcome.CONTRADICTS
    bound = location.numbers
    assert bound["bound"] == "other_candidates"
    assert bound["bound_landmarks"] == 2
    pts = _bakhmut_points()
    two = [pts["city_wikipedia"], pts["railway_station_bakhmut"]]
    assert bound["bound_area_span_m"] == pytest.approx(geod.inv(*two[0], *two[1])[2], abs=TOL_M)
    nearest = _nearest_m(result.media.gps_track.fixes, two)
    assert location.numbers["nearest_m"] == pytest.approx(nearest, abs=TOL_M)  # the two, measured
    assert location.numbers["targets"] == ["city_wikipedia", "railway_station_bakhmut",
                                           "t34_monument"]  # fmt: skip


def test_a_bound_near_the_camera_decides_nothing(tmp_path):
    # a Berlin photo, 'said to be filmed within 100 m of' a Berlin landmark with no position
    reg = json.loads((BERLIN / "registry.geojson").read_text())
    for feature in reg["features"]:  # the copy has no images beside it; none are needed here
        feature["properties"].pop("reference_images", None)
    reg["features"].append(
        {"type": "Feature", "id": "unplaced", "geometry": None, "properties": {"name": "Unplaced"}}
    )
    (tmp_path / "r.geojson").write_text(json.dumps(reg))
    claims = _claims(
        tmp_path,
        "claims_version: 2\nfootage:\n  filmed_at: {role: unplaced, within_m: 100}\nclaims: []\n",
    )
    shutil.copy(BERLIN / "photos" / "berlin_01.jpg", tmp_path / "photo.jpg")
    result = verify(
        tmp_path / "photo.jpg", registry=tmp_path / "r.geojson", claims=claims, now=NOW,
        options=PLAIN,
    )  # fmt: skip
    location = _line(result, "location")
    assert location.outcome is Outcome.NO_EVIDENCE  # a bound never supports
    assert location.numbers["nearest_to_bound_area_m"] == 0.0  # among the landmarks
    assert "a sourced position for 'unplaced' in the registry" in location.would_decide
    assert result.report.bottom_line.verdict is BottomVerdict.NOT_ESTABLISHED
    assert "location: a sourced position for 'unplaced' in the registry" in (
        result.report.bottom_line.next_steps
    )


def _omaha(tmp_path: Path, within_m: float) -> tuple[Path, Path]:
    """A registry with one point near the HEIC's position (no stated uncertainty), claims."""
    reg = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "spot",
                "geometry": {"type": "Point", "coordinates": [-96.0716, 41.2203]},
                "properties": {"name": "Spot"},
            }
        ],
    }
    (tmp_path / "r.geojson").write_text(json.dumps(reg))
    claims = _claims(
        tmp_path,
        f"claims_version: 2\nfootage:\n  filmed_at: {{role: spot, within_m: {within_m}}}\n"
        "claims: []\n",
        f"c{within_m:g}.yaml",
    )
    return tmp_path / "r.geojson", claims


def test_a_stated_gps_accuracy_is_used(tmp_path):
    # immich_IMG_2682.heic: EXIF GPSHPositioningError 10 m (ExifTool and probe agree)
    heic = PHOTOS / "immich_IMG_2682.heic"
    registry, claims = _omaha(tmp_path, 200)
    result = verify(heic, registry=registry, claims=claims, now=NOW, options=PLAIN)
    location = _line(result, "location")
    assert result.report.cameras[0].accuracy_m == 10.0
    assert location.numbers["accuracy_stated"] is True
    assert location.numbers["accuracy_m"] == 10.0
    assert location.outcome is Outcome.SUPPORTS
    assert location.strength == "strong"  # 2.1 m + 10 m is well inside 200 m
    expected = _geod().inv(-96.071625, 41.2203, -96.0716, 41.2203)[2]
    assert location.numbers["nearest_m"] == pytest.approx(expected, abs=TOL_M)
    assert location.numbers["place_uncertainty_stated"] is False
    assert any("'spot'" in n and "treated as exact" in n for n in location.notes)
    bottom = result.report.bottom_line
    assert bottom.verdict is BottomVerdict.SUPPORTED
    assert bottom.next_steps == ()  # decided: no "what would decide it" under it
    # within 5 m: 2.1 m from the spot, +-10 m: too close to call, and the file did state
    # an accuracy, so the next step is a more precise position, not a stated accuracy
    registry, claims = _omaha(tmp_path, 5)
    result = verify(heic, registry=registry, claims=claims, now=NOW, options=PLAIN)
    location = _line(result, "location")
    assert location.outcome is Outcome.NO_EVIDENCE
    assert "positions with a stated accuracy" not in location.would_decide
    assert "a position more precise than the stated accuracy" in location.would_decide


def _window(tmp_path: Path, start: str, end: str) -> Path:
    return _claims(
        tmp_path,
        f"claims_version: 2\nfootage:\n  filmed_between: [{start}, {end}]\nclaims: []\n",
        f"w{len(list(tmp_path.glob('w*.yaml')))}.yaml",
    )


def test_the_gps_time_of_day_gives_the_zone_of_a_time_without_one_as_a_weak_reading(tmp_path):
    # apple_iphone6.jpg: DateTimeOriginal 2014:09:16 14:05:12 (no zone), GPS time of day
    # 13:05:12.050 UTC with a malformed date: the camera clock ran at UTC+1 h. A time of day
    # without its date agrees with many clocks a whole quarter hour away by chance, so the
    # offset it implies is a reading (weak support), and only the world's zones bound the
    # instant: a window it misses by minutes is not contradicted.
    photo = PHOTOS / "apple_iphone6.jpg"
    registry = BERLIN / "registry.geojson"
    inside = _window(tmp_path, "2014-09-16T13:00Z", "2014-09-16T13:10Z")
    result = verify(photo, registry=registry, claims=inside, now=NOW, options=PLAIN)
    time_line = _line(result, "time")
    assert time_line.outcome is Outcome.SUPPORTS
    assert time_line.strength == "weak"
    assert "UTC+1 h" in time_line.numbers["source"]
    assert "I_IMPLIED_UTC_OFFSET" in time_line.numbers["source"]
    # 14:05:12 read as UTC is inside this window; at UTC+1 h the photo is 4 min 48 s before it
    before = _window(tmp_path, "2014-09-16T13:10Z", "2014-09-16T14:10Z")
    result = verify(photo, registry=registry, claims=before, now=NOW, options=PLAIN)
    time_line = _line(result, "time")
    assert time_line.outcome is not Outcome.CONTRADICTS
    # a day later is outside every zone: contradicted
    later = _window(tmp_path, "2014-09-17T13:00Z", "2014-09-17T14:00Z")
    result = verify(photo, registry=registry, claims=later, now=NOW, options=PLAIN)
    assert _line(result, "time").outcome is Outcome.CONTRADICTS


def test_a_time_without_zone_inside_the_window_as_written_is_weak_support(tmp_path):
    # nokia_lumia800.jpg: DateTimeOriginal 2012:06:09 21:23:38, no zone and no GPS time
    photo = PHOTOS / "nokia_lumia800.jpg"
    claims = _window(tmp_path, "2012-06-09T20:23Z", "2012-06-09T22:24Z")
    result = verify(photo, registry=BERLIN / "registry.geojson", claims=claims, now=NOW,
                    options=PLAIN)  # fmt: skip
    time_line = _line(result, "time")
    assert time_line.outcome is Outcome.SUPPORTS
    assert time_line.strength == "weak"
    assert time_line.numbers["zone_known"] is False
    assert time_line.numbers["read_as_written_from_utc"] == "2012-06-09T21:23:38Z"
    # every zone: from 14 h before (UTC+14) to 12 h after (UTC-12) the time as written
    assert time_line.numbers["file_time_from_utc"] == "2012-06-09T07:23:38Z"
    assert time_line.numbers["file_time_to_utc"] == "2012-06-10T09:23:38Z"
    bottom = result.report.bottom_line
    assert bottom.verdict is BottomVerdict.NOT_ESTABLISHED  # time alone establishes nothing
    assert not [s for s in bottom.next_steps if s.startswith("time:")]  # the line decided
    assert any(s.startswith("location:") for s in bottom.next_steps)  # this one did not


# --- a fresh-eyes review's cases: evidence a forger or a coincidence must not decide ------------


def _with_accuracy(src: Path, dst: Path, numerator: int) -> Path:
    """Copy a real photo with GPSHPositioningError set to ``numerator``/1 as a SIGNED rational.

    Pillow writes tag 31 as an unsigned rational; the entry's type is then patched to
    SRATIONAL (10), as a hostile or broken writer can leave it (ExifTool reads it back signed).
    """
    import struct

    from PIL import Image

    with Image.open(src) as im:
        exif = im.getexif()
        exif.get_ifd(0x8825)[31] = 60000.0
        im.save(dst, exif=exif, quality=90)
    data = bytearray(dst.read_bytes())
    tiff = data.index(b"Exif\x00\x00") + 6
    endian = "<" if data[tiff : tiff + 2] == b"II" else ">"
    entry = data.index(struct.pack(endian + "HHI", 31, 5, 1), tiff)
    offset = struct.unpack(endian + "I", data[entry + 8 : entry + 12])[0]
    data[entry + 2 : entry + 4] = struct.pack(endian + "H", 10)
    data[tiff + offset : tiff + offset + 8] = struct.pack(endian + "ii", numerator, 1)
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.parametrize("numerator", [-60000, 0])
def test_a_stated_accuracy_that_is_not_a_positive_distance_is_ignored(tmp_path, numerator):
    from pyproj import Geod

    photo = _with_accuracy(PHOTOS / "sony_dsc-hx5v_2.jpg", tmp_path / "p.jpg", numerator)
    media = probe(photo)
    assert "W_EXIF_CORRUPT" in {n.code for n in media.notes}
    fix = camera_positions(media)[0].position
    # a claimed spot 39 km east of the photo's own position, within 300 m: never supported
    lon, lat, _ = Geod(ellps="WGS84").fwd(fix.lon, fix.lat, 90.0, 39_000.0)
    claims = _claims(
        tmp_path,
        "claims_version: 2\nfootage:\n"
        f"  filmed_at: {{lat: {lat}, lon: {lon}, within_m: 300}}\nclaims: []\n",
    )
    result = verify(photo, registry=BERLIN / "registry.geojson", claims=claims, now=NOW,
                    options=PLAIN)  # fmt: skip
    location = _line(result, "location")
    assert location.outcome is Outcome.CONTRADICTS, location.summary
    assert result.report.bottom_line.verdict is BottomVerdict.CONTRADICTED


def test_a_time_that_fits_only_as_written_does_not_stand_against_a_contradiction(tmp_path):
    # nokia_lumia800.jpg (Dublin; DateTimeOriginal 2012:06:09 21:23:38, no zone, no GPS time)
    # said to be filmed in Bakhmut: 3,100 km away, whatever the clock reads
    photo = PHOTOS / "nokia_lumia800.jpg"
    claims = _claims(
        tmp_path,
        "claims_version: 2\nfootage:\n  filmed_at: {lat: 48.5947, lon: 38.0003, within_m: 300}\n"
        "  filmed_between: [2012-06-09T21:00Z, 2012-06-09T22:00Z]\nclaims: []\n",
    )
    result = verify(photo, registry=BAKHMUT / "registry.geojson", claims=claims, now=NOW,
                    options=PLAIN)  # fmt: skip
    assert _line(result, "time").outcome is Outcome.SUPPORTS
    assert _line(result, "time").strength == "weak"
    assert _line(result, "location").outcome is Outcome.CONTRADICTS
    assert result.report.bottom_line.verdict is BottomVerdict.CONTRADICTED


def test_an_area_of_interest_the_registry_itself_leaves_does_not_bound(tmp_path):
    """A landmark outside the area of interest: the area is no bound for one with no position."""
    from pyproj import Geod

    photo = PHOTOS / "nokia_lumia800.jpg"
    fix = camera_positions(probe(photo))[0].position
    geod = Geod(ellps="WGS84")
    bridge_lon, bridge_lat, _ = geod.fwd(fix.lon, fix.lat, 0.0, 10.0)  # 10 m from the camera
    # an area of interest 2-3 km east of the camera, which the bridge lies outside of
    west, _, _ = geod.fwd(fix.lon, fix.lat, 90.0, 2_000.0)
    east, _, _ = geod.fwd(fix.lon, fix.lat, 90.0, 3_000.0)
    reg = {
        "type": "FeatureCollection",
        "geoverify_area_of_interest": [west, fix.lat - 0.01, east, fix.lat + 0.01],
        "features": [
            {"type": "Feature", "id": "bridge", "properties": {"name": "Bridge"},
             "geometry": {"type": "Point", "coordinates": [bridge_lon, bridge_lat]}},
            {"type": "Feature", "id": "pub", "properties": {"name": "Pub"}, "geometry": None},
        ],
    }  # fmt: skip
    (tmp_path / "reg.geojson").write_text(json.dumps(reg))
    claims = _claims(
        tmp_path, "claims_version: 2\nfootage:\n  filmed_at: {role: pub, within_m: 300}\n"
        "claims: []\n",
    )  # fmt: skip
    result = verify(photo, registry=tmp_path / "reg.geojson", claims=claims, now=NOW,
                    options=PLAIN)  # fmt: skip
    location = _line(result, "location")
    assert location.outcome is not Outcome.CONTRADICTS or location.strength == "weak", (
        location.summary
    )
    assert result.report.bottom_line.verdict is not BottomVerdict.CONTRADICTED
