"""The command line: output, exit codes and error records (in-process and as a real process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import KARMA, real_video
from fixtures import write_audio_only
from typer.testing import CliRunner

from geoverify import __version__
from geoverify.cli import app

runner = CliRunner()


def test_version_and_help():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"geoverify {__version__}"
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "probe" in result.output


def test_probe_table():
    result = runner.invoke(app, ["probe", str(real_video("iphone6_with-gps.mov"))])
    assert result.exit_code == 0, result.output
    assert "32.092900, 34.862000" in result.output
    assert "rotation 90 deg cw" in result.output
    assert "W_TIME_NO_ZONE" in result.output


def test_probe_json_is_strict_json():
    result = runner.invoke(app, ["probe", "--json", str(KARMA)])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["schema"] == "geoverify.probe/2"
    assert data["sha256"] == "35c2c80530e0d6c5eed8dafd71852dac621db547bef6bf5ad375b91bd0e38347"


@pytest.mark.parametrize("as_json", [False, True])
def test_error_record_and_exit_code(tmp_path, as_json):
    audio = write_audio_only(tmp_path / "a.mp4")
    args = ["probe", str(audio)] + (["--json"] if as_json else [])
    result = runner.invoke(app, args)
    assert result.exit_code == 3
    if as_json:
        record = json.loads(result.stdout)["error"]
        assert record["code"] == "E_NO_VIDEO_STREAM"
        assert record["hint"]
        assert len(record["input_sha256"]) == 64
    else:
        assert result.stderr.startswith("error: ")
        assert "E_NO_VIDEO_STREAM" in result.stderr
        assert "hint: " in result.stderr
        assert "Traceback" not in result.output


def test_usage_error_is_2():
    assert runner.invoke(app, ["probe"]).exit_code == 2


def test_control_characters_are_escaped_in_the_table(tmp_path):
    from fixtures import write_clip

    clip = write_clip(
        tmp_path / "t.mkv", container_format="matroska", metadata={"location": "\x1b[2J+1/"}
    )
    result = runner.invoke(app, ["probe", str(clip)])
    assert result.exit_code == 0
    assert "\x1b" not in result.output
    assert "\\x1b" in result.output


def test_python_dash_m_runs_as_a_process(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    proc = subprocess.run(
        [sys.executable, "-m", "geoverify", "probe", str(empty)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 3
    assert proc.stderr.splitlines()[0].startswith("error: ")
    assert "E_INPUT_EMPTY" in proc.stderr


def test_frames_command_writes_and_reports(tmp_path):
    from fixtures import write_numbered

    clip = write_numbered(tmp_path / "n.mp4", n_frames=50)
    out = tmp_path / "frames"
    result = runner.invoke(app, ["frames", str(clip), "--out", str(out), "--every", "1", "--json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert [f["t_s"] for f in manifest["frames"]] == [0.0, 1.0]
    assert (out / "frames.json").exists()
    assert (out / "f_000001.000s.png").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # nothing left staged


def test_frames_command_error_leaves_no_output(tmp_path):
    empty = tmp_path / "e.mp4"
    empty.write_bytes(b"")
    out = tmp_path / "frames"
    result = runner.invoke(app, ["frames", str(empty), "--out", str(out)])
    assert result.exit_code == 3
    assert not out.exists()


def test_registry_validate_lists_every_problem_with_exit_4(tmp_path):
    path = tmp_path / "r.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "id": "a",
                        "geometry": {"type": "Point", "coordinates": [48.5, 138.0]},
                        "properties": {"name": "a"},
                    },
                    {
                        "type": "Feature",
                        "id": "b",
                        "geometry": {"type": "Point", "coordinates": [1, None]},
                        "properties": {"name": "b"},
                    },
                ],
            }
        )
    )
    result = runner.invoke(app, ["registry", "validate", str(path)])
    assert result.exit_code == 4
    assert "feature 'a' at /features/0/geometry/coordinates" in result.stderr
    assert "feature 'b' at /features/1/geometry/coordinates/1" in result.stderr


def test_registry_add_list_import_and_check(tmp_path):
    from conftest import DATA, ROOT

    reg = tmp_path / "r.geojson"
    result = runner.invoke(
        app,
        [
            "registry",
            "add",
            str(reg),
            "--id",
            "p",
            "--name",
            "P",
            "--lat",
            "60.17",
            "--lon",
            "24.94",
            "--tag",
            "kind=test",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        [
            "registry",
            "import-osm",
            str(reg),
            str(DATA / "osm" / "helsinki_centre.osm"),
            "--tag",
            "historic=memorial",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "osm_n60131847" in json.loads(result.stdout)["added"]
    listing = runner.invoke(app, ["registry", "list", str(reg)])
    assert "Aleksis Kiven muistopatsas" in listing.stdout
    shown = runner.invoke(app, ["registry", "show", str(reg), "Aleksis Kivi Memorial", "--json"])
    assert json.loads(shown.stdout)["id"] == "osm_n60131847"
    assert runner.invoke(app, ["registry", "remove", str(reg), "p"]).exit_code == 0
    bad = runner.invoke(
        app,
        ["registry", "add", str(reg), "--id", "q", "--name", "Q", "--lat", "138", "--lon", "48"],
    )
    assert bad.exit_code == 3
    assert "latitude first" in bad.stderr
    bakhmut = ROOT / "samples" / "bakhmut"
    checked = runner.invoke(
        app,
        [
            "check",
            "--registry",
            str(bakhmut / "registry.geojson"),
            "--claims",
            str(bakhmut / "claims.yaml"),
            "--json",
        ],
    )
    assert checked.exit_code == 0, checked.output
    verdicts = {c["name"]: c["verdict"] for c in json.loads(checked.stdout)["checks"]}
    assert verdicts == {
        "east_of_river": "inconclusive",
        "from_centre": "inconclusive",
        "station_near_centre": "inconclusive",
    }
    failing = runner.invoke(
        app,
        [
            "check",
            "--registry",
            str(bakhmut / "registry.geojson"),
            "--claims",
            str(bakhmut / "claims.yaml"),
            "--fail-on",
            "inconclusive",
        ],
    )
    assert failing.exit_code == 8  # its own code, not "input rejected"


def test_bad_claims_file_exit_4(tmp_path):
    from conftest import ROOT

    claims = tmp_path / "c.yaml"
    claims.write_text("claims_version: 1\nclaims:\n  - id: x\n    kind: distance\n    text: t\n")
    result = runner.invoke(
        app,
        [
            "check",
            "--registry",
            str(ROOT / "samples" / "bakhmut" / "registry.geojson"),
            "--claims",
            str(claims),
        ],
    )
    assert result.exit_code == 4
    assert "/claims/0" in result.stderr


def test_sun_commands():
    pos = runner.invoke(
        app,
        [
            "sun",
            "position",
            "--lat",
            "39.742476",
            "--lon",
            "-105.1786",
            "--time",
            "2003-10-17T12:30:30-07:00",
            "--elevation-m",
            "1830.14",
            "--pressure-hpa",
            "820",
            "--temperature-c",
            "11",
            "--json",
        ],
    )
    assert pos.exit_code == 0, pos.output
    data = json.loads(pos.stdout)
    assert data["azimuth_deg"] == pytest.approx(194.340241, abs=1e-4)  # model Delta T, not 67 s
    naive = runner.invoke(
        app, ["sun", "position", "--lat", "48.6", "--lon", "38", "--time", "2023-03-06T10:30"]
    )
    assert naive.exit_code == 3
    assert "E_NAIVE_DATETIME" in naive.stderr
    gap = runner.invoke(
        app,
        [
            "sun",
            "position",
            "--lat",
            "48.6",
            "--lon",
            "38",
            "--time",
            "2023-03-26T03:30",
            "--tz",
            "Europe/Kyiv",
        ],
    )
    assert gap.exit_code == 3
    assert "does not exist" in gap.stderr
    check = runner.invoke(
        app,
        [
            "sun",
            "check",
            "--lat",
            "48.59472",
            "--lon",
            "38.00083",
            "--time",
            "2023-03-06T10:30",
            "--tz",
            "Europe/Kyiv",
            "--shadow-azimuth",
            "336",
            "--json",
        ],
    )
    assert json.loads(check.stdout)["verdict"] == "consistent"
    when = runner.invoke(
        app,
        [
            "sun",
            "when",
            "--lat",
            "48.59472",
            "--lon",
            "38.00083",
            "--from",
            "2023-03-06",
            "--to",
            "2023-03-06",
            "--shadow-azimuth",
            "339.15",
            "--azimuth-error",
            "1",
            "--json",
        ],
    )
    windows = json.loads(when.stdout)["windows"]
    assert len(windows) == 1
    assert windows[0]["start_utc"] < "2023-03-06T08:30:00+00:00" < windows[0]["end_utc"]


def test_match_command_on_frames_and_video(tmp_path, berlin02_pan_1s):
    import shutil

    from conftest import BERLIN, DATA

    from geoverify.registry import Landmark, ReferenceImage, Registry, save_registry

    (tmp_path / "refs").mkdir()
    shutil.copy(BERLIN / "berlin_03.jpg", tmp_path / "refs" / "dom.jpg")
    shutil.copy(DATA / "image_matching" / "box.png", tmp_path / "refs" / "box.png")
    marks = (
        Landmark(
            id="dom",
            name="Berliner Dom",
            reference_images=(ReferenceImage(path="refs/dom.jpg", sha256=""),),
        ),
        Landmark(
            id="box", name="box", reference_images=(ReferenceImage(path="refs/box.png", sha256=""),)
        ),
    )
    save_registry(Registry(name="t", landmarks=marks), tmp_path / "r.geojson")
    clip = berlin02_pan_1s
    result = runner.invoke(
        app,
        [
            "match",
            str(clip),
            "--registry",
            str(tmp_path / "r.geojson"),
            "--out",
            str(tmp_path / "m"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert manifest["frames"]
    assert all(
        f["match"]["verdict"] == "match" and f["match"]["best"]["landmark_id"] == "dom"
        for f in manifest["frames"]
    )
    assert (tmp_path / "m" / manifest["frames"][0]["annotated_image"]).exists()
    frames_dir = tmp_path / "frames"
    assert (
        runner.invoke(
            app, ["frames", str(clip), "--out", str(frames_dir), "--every", "0.5"]
        ).exit_code
        == 0
    )
    again = runner.invoke(
        app,
        [
            "match",
            str(frames_dir),
            "--registry",
            str(tmp_path / "r.geojson"),
            "--out",
            str(tmp_path / "m2"),
        ],
    )
    assert again.exit_code == 0, again.output
    assert "match" in again.stdout
    bad = runner.invoke(
        app,
        [
            "match",
            str(frames_dir),
            "--registry",
            str(tmp_path / "r.geojson"),
            "--out",
            str(tmp_path / "m3"),
            "--affine",
            "sometimes",
        ],
    )
    assert bad.exit_code == 2, bad.output  # a bad choice is a usage error (the library Literal)
    assert "affine" in bad.output
    assert not (tmp_path / "m3").exists()
