"""The command line an analyst meets (issue 35, part 6): help that names the extras, global
options after the command, `sun --at` with the place echoed, "did you mean" for ids and roles,
and `verify` without claims (a triage of one file, as `batch` does)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from geoverify.cli import app
from geoverify.cli._common import lift_global_flags

runner = CliRunner()
BERLIN = ROOT / "samples" / "berlin"
REGISTRY = BERLIN / "registry.geojson"
# NREL SPA (Reda and Andreas 2008), table A4.1: Golden, Colorado, 2003-10-17 12:30:30 -07:00
SPA_LAT, SPA_LON, SPA_AZIMUTH_DEG = 39.742476, -105.1786, 194.340241
SPA_ARGS = ["--time", "2003-10-17T12:30:30-07:00", "--elevation-m", "1830.14",
            "--pressure-hpa", "820", "--temperature-c", "11"]  # fmt: skip
TOL_DEG = 1e-4


def _help(*command):
    # rich wraps to the terminal: a wide one keeps each option's help on few lines
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "250"}, color=False)
    assert result.exit_code == 0, result.output
    return re.sub(r"[\s│]+", " ", result.output)


def test_the_help_names_the_extras_to_install():
    assert "pip install 'geoverify[learned]'" in _help("verify")
    assert "pip install 'geoverify[dask]'" in _help("batch")
    assert "pip install 'geoverify'" not in _help("verify") + _help("batch")


def test_verify_says_it_takes_a_photo():
    assert "Local video or photo (JPEG, PNG, HEIC) file." in _help("verify")


def test_global_options_work_after_the_command_too(tmp_path):
    claims = BERLIN / "claims.yaml"
    args = ["--registry", str(REGISTRY), "--claims", str(claims)]
    before = runner.invoke(app, ["-q", "check", *args])
    after = runner.invoke(app, ["check", *args, "-q"])
    assert before.exit_code == after.exit_code == 0, after.output
    assert after.stdout == before.stdout
    # as a real process, with a sub-group's command
    proc = subprocess.run(
        [sys.executable, "-m", "geoverify", "sun", "position", "--at", "1,2",
         "--time", "2020-01-01T00:00Z", "--verbose"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # never past `--`, and a command's own arguments stay in order
    assert lift_global_flags(["check", "-q", "--", "-v"]) == ["-q", "check", "--", "-v"]
    assert lift_global_flags(["sun", "position", "--lat", "1", "-v"]) == [
        "-v", "sun", "position", "--lat", "1"
    ]  # fmt: skip


def _registry_with_the_spa_site(tmp_path):
    doc = {
        "type": "FeatureCollection",
        "name": "spa",
        "geoverify_registry": 1,
        "features": [
            {
                "type": "Feature",
                "id": "nrel_golden",
                "geometry": {"type": "Point", "coordinates": [SPA_LON, SPA_LAT]},
                "properties": {"name": "NREL Solar Radiation Research Laboratory"},
            }
        ],
    }
    path = tmp_path / "spa.geojson"
    path.write_text(json.dumps(doc))
    return path


def test_sun_at_a_landmark_or_coordinates_echoes_the_place(tmp_path):
    registry = _registry_with_the_spa_site(tmp_path)
    by_id = runner.invoke(
        app, ["sun", "position", "--at", "nrel_golden", "--registry", str(registry), *SPA_ARGS]
    )
    assert by_id.exit_code == 0, by_id.output
    assert by_id.stdout.splitlines()[0] == (
        "place           NREL Solar Radiation Research Laboratory (nrel_golden), "
        "39.742476, -105.178600 (registry spa)"
    )
    shown = float(re.search(r"sun azimuth\s+([\d.]+)", by_id.stdout).group(1))
    assert shown == pytest.approx(SPA_AZIMUTH_DEG, abs=TOL_DEG)
    by_point = runner.invoke(
        app, ["sun", "position", "--at", f"{SPA_LAT}, {SPA_LON}", "--json", *SPA_ARGS]
    )
    data = json.loads(by_point.stdout)
    assert data["azimuth_deg"] == pytest.approx(SPA_AZIMUTH_DEG, abs=TOL_DEG)
    assert data["place"]["label"] == "39.742476, -105.178600 (as given)"
    # sun check and sun when take --at too, and say where they looked
    check = runner.invoke(
        app,
        ["sun", "check", "--at", "nrel_golden", "--registry", str(registry),
         "--time", "2003-10-17T12:30:30-07:00", "--shadow-azimuth", "14.34"],
    )  # fmt: skip
    assert check.exit_code == 0, check.output
    assert check.stdout.startswith("place           NREL Solar Radiation")
    when = runner.invoke(
        app,
        ["sun", "when", "--at", "nrel_golden", "--registry", str(registry),
         "--from", "2003-10-17", "--to", "2003-10-17", "--shadow-azimuth", "14.34"],
    )  # fmt: skip
    assert when.exit_code == 0, when.output
    assert "(nrel_golden)" in when.stdout.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--at", "nrel_goldn"], "E_UNKNOWN_LANDMARK", "did you mean 'nrel_golden'?"),
        (["--at", "nrel_golden", "--lat", "1", "--lon", "2"], "E_INPUT_OPTION", "not both"),
        (["--lat", "1"], "E_INPUT_OPTION", "--lat and --lon"),
        (["--at", "95,10"], "E_COORD_RANGE", "latitude 95.0"),
    ],
)
def test_sun_place_errors_are_one_line_with_a_hint(tmp_path, args, code, said):
    registry = _registry_with_the_spa_site(tmp_path)
    result = runner.invoke(
        app, ["sun", "position", *args, "--registry", str(registry), "--time", "2020-01-01T00:00Z"]
    )
    assert result.exit_code == 3
    first, hint = result.stderr.splitlines()[:2]
    assert first.endswith(f"[{code}]")
    assert said in first
    assert hint.startswith("hint: ")
    assert result.stdout == ""


def test_a_mistyped_id_or_role_gets_did_you_mean(tmp_path):
    claims = tmp_path / "claims.yaml"
    claims.write_text(
        "claims_version: 2\nfootage:\n  shows: berlner_dom\n"
        "roles:\n  photo_positions: [camera_01, camera_02]\nclaims: []\n"
    )
    result = runner.invoke(app, ["check", "--registry", str(REGISTRY), "--claims", str(claims)])
    assert result.exit_code == 4
    assert "no landmark 'berlner_dom' in registry 'berlin' (did you mean 'berliner_dom'?)" in (
        result.stderr
    )
    role = runner.invoke(
        app,
        ["candidates", "--registry", str(REGISTRY), "--claims", str(BERLIN / "claims.yaml"),
         "--role", "photo_position"],
    )  # fmt: skip
    assert role.exit_code == 3
    assert "(did you mean 'photo_positions'?)" in role.stderr
    shown = runner.invoke(app, ["registry", "show", str(REGISTRY), "berliner_dm"])
    assert shown.exit_code == 3
    assert "(did you mean 'berliner_dom'?) [E_UNKNOWN_LANDMARK]" in shown.stderr
    # nothing close: no guess
    far = runner.invoke(
        app,
        ["candidates", "--registry", str(REGISTRY), "--claims", str(BERLIN / "claims.yaml"),
         "--role", "xyz"],
    )  # fmt: skip
    assert "did you mean" not in far.stderr


@pytest.fixture(scope="module")
def triaged(tmp_path_factory):
    """`verify` on the real Berlin photograph 01, without claims, as text and as JSON."""
    out = tmp_path_factory.mktemp("triage")
    photo = BERLIN / "photos" / "berlin_01.jpg"
    common = [str(photo), "--registry", str(REGISTRY), "--affine", "off"]
    text = runner.invoke(app, ["-q", "verify", *common, "--out", str(out / "text")])
    as_json = runner.invoke(app, ["verify", *common, "--out", str(out / "json"), "--json"])
    return text, as_json, out


def test_verify_without_claims_is_a_triage(triaged):
    text, _, out = triaged
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0] == "what the file claims:"
    assert "  position 52.518917, 13.400294 (EXIF GPS)" in lines
    assert "  matched Berliner Dom in 1 of 1 frame" in lines
    i = lines.index("where it says it was:")
    assert lines[i + 1].startswith("  the file's position (EXIF GPS) is 52.518917, 13.400294, ")
    assert lines[i + 1].endswith(" m from Berliner Dom")
    assert lines[-2] == "BOTTOM LINE  no hypothesis stated"
    assert lines[-1] == f"report: {out / 'text' / 'report.html'}"
    assert (out / "text" / "report.html").is_file()
    # the report says the same as the terminal: a triage, never "not established"
    report = json.loads((out / "text" / "report.json").read_text(encoding="utf-8"))
    assert report["plain_summary"] == (
        "No hypothesis was stated. It matched Berliner Dom in 1 of 1 frame. "
        "Its own position (EXIF GPS): 52.518917, 13.400294."
    )
    html = (out / "text" / "report.html").read_text(encoding="utf-8")
    assert '<span class="verdict">no hypothesis stated</span>' in html
    assert "not established" not in html.split('id="bottom-line"')[1].split("</section>")[0]


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is the reference")
def test_the_triage_position_is_the_files_own(triaged):
    _, as_json, _ = triaged
    assert as_json.exit_code == 0, as_json.output
    found = json.loads(as_json.stdout)["triage"]
    ref = json.loads(
        subprocess.run(
            ["exiftool", "-json", "-n", "-GPSLatitude", "-GPSLongitude",
             str(BERLIN / "photos" / "berlin_01.jpg")],
            capture_output=True, text=True, check=True,
        ).stdout
    )[0]  # fmt: skip
    lat, lon = re.search(r"is (-?\d+\.\d{6}), (-?\d+\.\d{6})", found["place"]).groups()
    assert abs(float(lat) - ref["GPSLatitude"]) <= 1e-6
    assert abs(float(lon) - ref["GPSLongitude"]) <= 1e-6
    assert found["bottom_line"] == "no hypothesis stated"
    assert [m["name"] for m in found["matched"]] == ["Berliner Dom"]


PHOTOS = ROOT / "tests" / "data" / "photos"


def _exiftool(path, *tags):
    out = subprocess.run(
        ["exiftool", "-json", "-n", *(f"-{t}" for t in tags), str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)[0]


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is the reference")
def test_the_triage_says_each_direction_by_its_kind_and_the_device_once():
    from datetime import datetime

    from geoverify.batch._triage import file_claims
    from geoverify.probing import probe

    sony = PHOTOS / "sony_dsc-hx5v_2.jpg"
    tags = ["GPSImgDirection", "GPSImgDirectionRef", "GPSTrack", "GPSTrackRef",
            "DateTimeOriginal", "GPSDateStamp", "GPSTimeStamp", "Make", "Model"]  # fmt: skip
    ref = _exiftool(sony, *tags)
    said = file_claims(probe(sony))
    # GPSImgDirection is where the lens points (ref M: magnetic); GPSTrack is the direction of
    # travel (ref T), never "facing"
    assert ref["GPSImgDirectionRef"] == "M"
    assert ref["GPSTrackRef"] == "T"
    assert (
        f"facing {ref['GPSImgDirection']:.1f} deg from magnetic north (EXIF GPSImgDirection)"
        in said
    )
    assert f"moving toward {ref['GPSTrack']:.1f} deg from true north (EXIF GPSTrack)" in said
    assert not any(s.startswith("facing") and "GPSTrack" in s for s in said)
    # EXIF's local time in ISO form, with the offset its own GPS clock implies (exiftool's
    # two fields, subtracted here, to the quarter hour)
    local = datetime.strptime(ref["DateTimeOriginal"], "%Y:%m:%d %H:%M:%S")
    gps = datetime.strptime(f"{ref['GPSDateStamp']} {ref['GPSTimeStamp']}", "%Y:%m:%d %H:%M:%S")
    quarters = round((local - gps).total_seconds() / 900)
    offset = f"UTC+{quarters // 4:02d}:{quarters % 4 * 15:02d}"
    assert (
        f"created {local:%Y-%m-%d %H:%M:%S} local time, zone not stated "
        f"({offset} by the file's GPS clock) (EXIF DateTimeOriginal)"
    ) in said
    assert f"device {ref['Make']} {ref['Model']}" in said
    nokia = _exiftool(PHOTOS / "nokia_lumia800.jpg", "Make", "Model")
    assert nokia["Model"].startswith(nokia["Make"])  # "Nokia" + "Nokia Lumia 800"
    assert f"device {nokia['Model']}" in file_claims(probe(PHOTOS / "nokia_lumia800.jpg"))


def test_the_triage_distance_is_the_geodesic(triaged):
    from pyproj import Geod

    _, as_json, _ = triaged
    place = json.loads(as_json.stdout)["triage"]["place"]
    lat, lon, metres = re.search(
        r"is (-?\d+\.\d{6}), (-?\d+\.\d{6}), ([\d,]+) m from Berliner Dom", place
    ).groups()
    dom = next(f for f in json.loads(REGISTRY.read_text())["features"] if f["id"] == "berliner_dom")
    assert dom["geometry"]["type"] == "Point"
    dom_lon, dom_lat = dom["geometry"]["coordinates"]
    _, _, expected_m = Geod(ellps="WGS84").inv(float(lon), float(lat), dom_lon, dom_lat)
    # shown to the metre, from a position shown to 6 decimals (<= 0.1 m)
    assert abs(float(metres.replace(",", "")) - expected_m) <= 0.6


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is the reference")
def test_a_time_with_its_offset_is_said_in_utc_with_the_offset_written():
    from datetime import UTC, datetime

    from geoverify.batch._triage import file_claims
    from geoverify.probing import probe

    clip = ROOT / "tests" / "data" / "video_metadata" / "iphone6_with-gps.mov"
    ref = _exiftool(clip, "CreationDate")["CreationDate"]  # 2019:07:24 11:25:40+03:00
    when = datetime.strptime(ref, "%Y:%m:%d %H:%M:%S%z")
    offset = ref[-6:]
    said = file_claims(probe(clip))
    assert (
        f"created {when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC (written with offset {offset}) "
        "(com.apple.quicktime.creationdate)"
    ) in said


def test_check_says_the_bottom_line_with_the_registrys_names():
    bakhmut = ROOT / "samples" / "bakhmut"
    registry = json.loads((bakhmut / "registry.geojson").read_text(encoding="utf-8"))
    name = next(f["properties"]["name"] for f in registry["features"] if f["id"] == "t34_monument")
    result = runner.invoke(
        app,
        ["check", "--registry", str(bakhmut / "registry.geojson"),
         "--claims", str(bakhmut / "claims.yaml")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    said = "BOTTOM LINE  NOT ESTABLISHED: The claim that the footage shows "
    assert first.startswith(said + name)
    assert "shows monument" not in first
    # a claimed range in metres, as README's qualifier table defines "just under" (0.8 v to v)
    assert '("just under 500 m" read as 400-500 m, 80% to 100% of the value)' in result.stdout
