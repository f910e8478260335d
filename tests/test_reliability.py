"""Every known contract break (issue 11) as a regression test: exit codes, no traceback, nothing
lost. Inputs are in tests/data/reliability/ (see its PROVENANCE.md) or made here."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DATA, KARMA, ROOT, VIDEO_DATA
from typer.testing import CliRunner

from geoverify import (
    GeoverifyError,
    LimitError,
    OutputError,
    RegistryError,
    load_claims,
    load_registry,
    probe,
)
from geoverify.cli import app
from geoverify.errors import EXIT_CODES
from geoverify.registry import add_landmark, point_landmark, remove_landmark, save_registry

runner = CliRunner()
CASES = DATA / "reliability"
BAKHMUT = ROOT / "samples" / "bakhmut" / "registry.geojson"
BERLIN_REG = ROOT / "samples" / "berlin" / "registry.geojson"
GEOVERIFY = Path(sys.executable).parent / "geoverify"


def _cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def _copy_registry(tmp_path: Path, src: Path = BAKHMUT) -> Path:
    dst = tmp_path / "reg.geojson"
    shutil.copy(src, dst)
    return dst


# --- the registry validator ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "pointer", "code"),
    [
        ("reg_huge_int", "/features/0/geometry/coordinates", "E_COORD_RANGE"),
        ("reg_type_list", "/features/0/geometry/type", "E_GEOM_INVALID"),
        ("reg_mixed_dims", "/features/0/geometry/coordinates", "E_GEOM_INVALID"),
        ("reg_nul_image", "/features/0/properties/reference_images/0/path", "E_REF_IMAGE_PATH"),
    ],
)
def test_registry_validator_lists_crafted_values_with_exit_4(case, pointer, code):
    rc, _, err = _cli("registry", "validate", str(CASES / f"{case}.geojson"))
    assert rc == 4
    assert f"at {pointer}" in err
    assert f"[{code}]" in err
    with pytest.raises(RegistryError):
        load_registry(CASES / f"{case}.geojson")


def test_source_fields_are_type_checked(tmp_path):
    doc = json.loads(BERLIN_REG.read_text())
    doc["features"][0]["properties"]["sources"] = [{"kind": "osm", "osm_id": "12", "title": 5}]
    path = tmp_path / "r.geojson"
    path.write_text(json.dumps(doc))
    with pytest.raises(RegistryError) as exc:
        load_registry(path)
    assert "/sources/0/osm_id" in exc.value.detail


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "folder"])
def test_registry_claims_and_osm_paths_must_be_regular_files(tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "x.geojson"
        os.mkfifo(path)
    elif kind == "dev_zero":
        path = Path("/dev/zero")
    else:
        path = tmp_path / "d.geojson"
        path.mkdir()
    # a real process with a deadline: a FIFO must not hang, /dev/zero must not be read
    for args, rc_expected in (
        (["registry", "validate", str(path)], 4),
        (["check", "--registry", str(BAKHMUT), "--claims", str(path)], 4),
        (["registry", "import-osm", str(tmp_path / "new.geojson"), str(path), "--tag", "x"], 3),
    ):
        proc = subprocess.run(
            [str(GEOVERIFY), *args], capture_output=True, text=True, timeout=60, check=False
        )
        assert proc.returncode == rc_expected, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert "regular file" in proc.stderr or "folder" in proc.stderr
    assert not (tmp_path / "new.geojson").exists()


def test_a_reference_image_over_the_size_limit_is_refused_unread(tmp_path):
    reg = _copy_registry(tmp_path, BERLIN_REG)
    doc = json.loads(reg.read_text())
    shutil.copytree(BERLIN_REG.parent / "photos", tmp_path / "photos")
    big = tmp_path / "photos" / "huge.jpg"
    with open(big, "wb") as fh:  # sparse: 300 MiB on paper, nothing on disk
        fh.truncate(300 * 2**20)
    doc["features"][0]["properties"]["reference_images"] = [{"path": "photos/huge.jpg"}]
    reg.write_text(json.dumps(doc))
    rc, _, err = _cli("registry", "validate", str(reg))
    assert rc == 4
    assert "E_REF_IMAGE_TOO_LARGE" in err


@pytest.mark.parametrize("content", [b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"<html>", b""])
def test_validate_decodes_reference_images_as_match_does(tmp_path, content):
    reg = _copy_registry(tmp_path, BERLIN_REG)
    doc = json.loads(reg.read_text())
    (tmp_path / "fake.jpg").write_bytes(content)
    doc["features"][0]["properties"]["reference_images"] = [{"path": "fake.jpg"}]
    reg.write_text(json.dumps(doc))
    rc, _, err = _cli("registry", "validate", str(reg))
    assert rc == 4
    assert "fake.jpg" in err
    truncated = (BERLIN_REG.parent / "photos" / "berlin_03.jpg").read_bytes()[:2000]
    (tmp_path / "fake.jpg").write_bytes(truncated)
    rc, _, err = _cli("registry", "validate", str(reg))
    assert rc == 4


# --- registry edits: nothing lost, nothing unreadable written ---------------------------------


def test_an_edit_keeps_what_geoverify_does_not_model(tmp_path):
    path = tmp_path / "u.geojson"
    shutil.copy(CASES / "reg_unknown_members.geojson", path)
    before = json.loads(path.read_text())
    rc, _, _ = _cli(
        "registry", "add", str(path), "--id", "b", "--name", "B", "--lat", "1", "--lon", "1"
    )
    assert rc == 0
    after = json.loads(path.read_text())
    assert after["description"] == before["description"]
    assert after["features"][0] == before["features"][0]  # untouched: byte-for-meaning
    assert after["features"][0]["properties"]["notes"] == {"structured": [1, 2]}
    rc, _, _ = _cli("registry", "remove", str(path), "b")
    assert rc == 0
    assert json.loads(path.read_text()) == before
    # the library keeps it too: load, save elsewhere, load again
    reg = load_registry(CASES / "reg_unknown_members.geojson")
    save_registry(reg, tmp_path / "copy.geojson")
    copy = json.loads((tmp_path / "copy.geojson").read_text())
    assert copy["description"] == before["description"]
    assert copy["features"][0]["bbox"] == before["features"][0]["bbox"]
    assert copy["features"][0]["properties"]["wikidata"] == "Q1"
    assert copy["features"][0]["properties"]["notes"] == {"structured": [1, 2]}


def test_replace_keeps_the_old_landmarks_unknown_properties(tmp_path):
    path = tmp_path / "u.geojson"
    shutil.copy(CASES / "reg_unknown_members.geojson", path)
    rc, _, _ = _cli(
        "registry", "add", str(path), "--id", "a", "--name", "A2", "--lat", "2", "--lon", "2",
        "--replace",
    )  # fmt: skip
    assert rc == 0
    feat = json.loads(path.read_text())["features"][0]
    assert feat["properties"]["name"] == "A2"
    assert feat["properties"]["wikidata"] == "Q1"
    assert feat["geometry"]["coordinates"] == [2.0, 2.0]


@pytest.mark.parametrize(
    "args",
    [
        ["--id", " ", "--name", "X"],
        ["--id", "x", "--name", ""],
        ["--id", "x", "--name", "X", "--uncertainty-m", "-5"],
        ["--id", "x", "--name", "X", "--uncertainty-m", "nan"],
    ],
)
def test_add_refuses_what_could_not_be_loaded_and_changes_nothing(tmp_path, args):
    path = _copy_registry(tmp_path)
    before = path.read_bytes()
    rc, _, err = _cli("registry", "add", str(path), *args, "--lat", "48.6", "--lon", "38")
    assert rc == 4
    assert "E_REGISTRY_WRITE_REFUSED" in err
    assert path.read_bytes() == before
    assert len(load_registry(path)) == 12  # still loads, and remove still works
    rc, _, _ = _cli("registry", "remove", str(path), "railway_station_bakhmut")
    assert rc == 0


def test_edits_through_a_symlink_go_to_its_target_and_keep_the_mode(tmp_path):
    real = _copy_registry(tmp_path)
    os.chmod(real, 0o600)
    link = tmp_path / "link.geojson"
    link.symlink_to(real.name)
    add_landmark(link, point_landmark("x", "X", _latlon(48.6, 38.0)))
    assert link.is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert "x" in {lm.id for lm in load_registry(real)}
    assert (tmp_path / "reg.geojson.lock").exists()
    assert not (tmp_path / "link.geojson.lock").exists()  # one lock per real file
    remove_landmark(real, "x")
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


def _latlon(lat: float, lon: float):
    from geoverify import LatLon

    return LatLon(lat, lon)


# --- claims --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("claims_python_tag", "E_CLAIMS_INVALID"),
        ("claims_bad_date", "E_CLAIMS_INVALID"),
        ("claims_year1", "E_CLAIMS_INVALID"),
        ("claims_tz_dir", "E_CLAIMS_INVALID"),
        ("claims_deep", "E_CLAIMS_INVALID"),
        ("claims_role_empty", "E_CLAIMS_INVALID"),
        ("claims_unknown_landmark", "E_CLAIMS_UNKNOWN_LANDMARK"),
        ("claims_bearing_nan", "E_CLAIMS_INVALID"),
        ("claims_surrogate", "E_CLAIMS_INVALID"),
    ],
)
def test_bad_claims_files_exit_4_as_text_and_as_json(case, code):
    path = CASES / f"{case}.yaml"
    rc, _, err = _cli("check", "--registry", str(BAKHMUT), "--claims", str(path))
    assert rc == 4
    assert f"[{code}]" in err
    assert err.count(f"[{code}]") == 1  # the code is printed once
    rc, out, _ = _cli("check", "--registry", str(BAKHMUT), "--claims", str(path), "--json")
    assert rc == 4
    assert json.loads(out)["error"]["code"] == code


@pytest.mark.parametrize(
    "text",
    [
        "claims_version: 1\nclaims: []\n---\nx: 1\n",  # two documents
        "claims_version: 1\nclaims: []\nsource: {? [1, 2] : x}\n",  # an unhashable key
        "claims_version: 1\nclaims: []\nsource: {title: " + "9" * 5000 + "}\n",  # 5,000 digits
        "claims_version: 1\nclaims: []\nsource: " + "[" * 5000 + "]" * 5000 + "\n",
        "claims_version: 1\nroles: {r: {candidates: []}}\nclaims: []\n",
        "claims_version: 1\nclaims:\n - {id: s, kind: shadow, text: t, subject: x, time: "
        "'2023-03-06T10:15', tz: " + "A" * 300 + ", shadow: {azimuth_deg: 3}}\n",
        "claims_version: 1\nclaims:\n - {id: s, kind: shadow, text: t, subject: x, time: "
        "'2023-03-06T10:15+02:00', shadow: {azimuth_deg: .nan}}\n",
    ],
)
def test_hostile_yaml_is_a_claims_error(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    start = time.monotonic()
    with pytest.raises(RegistryError) as exc:
        load_claims(path)
    assert exc.value.exit_code == 4
    assert time.monotonic() - start < 30  # bounded, not the 608 s the sweep measured


def test_a_deep_1_mib_claims_file_is_refused_quickly(tmp_path):
    path = tmp_path / "deep.yaml"
    depth = (2**20 - 100) // 5
    path.write_text("claims_version: 1\nclaims: []\nsource: " + "{a: " * depth + "1" + "}" * depth)
    with pytest.raises(RegistryError):
        load_claims(path)


def test_unknown_landmarks_are_all_listed(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "claims_version: 1\nroles: {r: [nope_a, railway_station_bakhmut]}\nclaims:\n"
        " - {id: c1, kind: distance, text: x, subject: r, reference: nope_b, "
        "distance: {qualifier: about, value_m: 9}}\n"
    )
    rc, _, err = _cli("check", "--registry", str(BAKHMUT), "--claims", str(path))
    assert rc == 4
    assert "nope_a" in err
    assert "nope_b" in err


# --- probe ---------------------------------------------------------------------------------


def _patch_gpmf(dst: Path, key: bytes, value: float) -> Path:
    """GoPro MAX sample with every GPSF (or GPSP) item rewritten as one float: NaN or inf."""
    src = (VIDEO_DATA / "max-heromode.mp4").read_bytes()
    data = bytearray(src)
    for m in re.finditer(key, src):
        i = m.start()
        data[i + 4] = ord("f")
        data[i + 5] = 4
        data[i + 6 : i + 8] = struct.pack(">H", 1)
        data[i + 8 : i + 12] = struct.pack(">f", value)
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.parametrize(
    ("key", "value"), [(b"GPSF", float("nan")), (b"GPSF", float("inf")), (b"GPSP", float("nan"))]
)
def test_gpmf_nan_and_inf_are_no_fix_not_a_crash(tmp_path, key, value):
    path = _patch_gpmf(tmp_path / "g.mp4", key, value)
    info = probe(path)
    from geoverify import to_jsonable

    json.dumps(to_jsonable(info), allow_nan=False)
    rc, out, _ = _cli("probe", str(path), "--json")
    assert rc == 0
    track = json.loads(out)["gps_track"]
    for fix in track["fixes"] if track else []:
        assert fix["dop"] is None or fix["dop"] >= 0


def test_crafted_video_metadata_becomes_notes():
    info = probe(CASES / "video_date_year1.mp4")
    assert any(n.code == "W_TIME_UNPARSEABLE" for n in info.notes)
    info = probe(CASES / "video_location_alt_inf.mov")
    assert any(n.code == "W_LOCATION_INVALID" for n in info.notes)
    assert all(loc.position is None for loc in info.locations)
    rc, out, _ = _cli("probe", str(CASES / "video_location_alt_inf.mov"), "--json")
    assert rc == 0
    json.loads(out)


def test_out_of_memory_is_a_limit_not_a_corrupt_file(tmp_path):
    import av
    import numpy as np

    from geoverify import DecodeLimits, FrameOptions, select_frames

    path = tmp_path / "big.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=1)
        stream.width = stream.height = 8192
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast"}
        frame = av.VideoFrame.from_ndarray(np.zeros((8192, 8192, 3), np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    limits = DecodeLimits(max_memory_bytes=10**9, max_pixels=10**8)
    with pytest.raises(LimitError) as exc:
        select_frames(path, options=FrameOptions(every_s=1.0), limits=limits)
    assert exc.value.code == "E_LIMIT_MEMORY"
    assert exc.value.exit_code == 6


# --- sun -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "rc_expected"),
    [
        (["position", "--lat", "48.6", "--lon", "38", "--time", "0001-01-01T00:00+05:00"], 3),
        (
            [
                "position",
                "--lat",
                "48.6",
                "--lon",
                "38",
                "--time",
                "2023-03-06T10:15",
                "--tz",
                "America",
            ],
            3,
        ),
        (
            [
                "position",
                "--lat",
                "48.6",
                "--lon",
                "38",
                "--time",
                "2023-03-06T10:15",
                "--tz",
                "A" * 300,
            ],
            3,
        ),
        (
            [
                "when",
                "--lat",
                "48.6",
                "--lon",
                "38",
                "--from",
                "9999-12-30",
                "--to",
                "9999-12-31",
                "--shadow-azimuth",
                "300",
            ],
            3,
        ),
        (
            [
                "where",
                "--time",
                "2023-03-06T10:15+02:00",
                "--shadow-azimuth",
                "300",
                "--cell-deg",
                "0.01",
            ],
            6,
        ),
    ],
)
def test_sun_inputs_out_of_range_are_errors_with_their_exit_code(args, rc_expected):
    rc, out, err = _cli("sun", *args)
    assert rc == rc_expected
    assert err.startswith("error: ")
    assert out == ""  # `sun where` errors go to stderr, never as JSON on stdout


def test_sun_where_into_a_missing_folder_is_an_output_error(tmp_path):
    rc, _, err = _cli(
        "sun", "where", "--time", "2023-03-06T10:15+02:00", "--shadow-azimuth", "300",
        "--bbox", "0,0,1,1", "--out", str(tmp_path / "nope" / "x.geojson"),
    )  # fmt: skip
    assert rc == 7
    assert "E_OUTPUT_WRITE" in err


# --- OSM -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "tags", "rc_expected"),
    [
        ("osm_zero_length_way.osm", ["highway", "building"], 0),
        ("osm_spike_area.osm", ["highway", "building"], 0),
        ("osm_overpass_inf_id.json", ["historic", "highway"], 0),
        ("osm_overpass_nodes_int.json", ["historic", "highway"], 0),
        ("osm_overpass_deep.json", ["historic", "highway"], 4),
        ("osm_overpass_surrogate_name.json", ["historic", "highway"], 0),
    ],
)
def test_osm_import_writes_only_what_loads_again(tmp_path, case, tags, rc_expected):
    reg = _copy_registry(tmp_path)
    before = reg.read_bytes()
    args = [x for t in tags for x in ("--tag", t)]
    rc, out, _ = _cli("registry", "import-osm", str(reg), str(CASES / case), *args, "--json")
    assert rc == rc_expected
    if rc:
        assert reg.read_bytes() == before
        return
    load_registry(reg)  # what was written loads
    report = json.loads(out)
    if case in ("osm_zero_length_way.osm", "osm_spike_area.osm"):
        written = {lm.id: lm for lm in load_registry(reg)}
        for lid in report["added"]:
            assert written[lid].geometry.geom_type in ("Polygon", "MultiPolygon", "LineString")
    if case == "osm_zero_length_way.osm":
        assert report["added"] == []
        assert report["skipped"][0]["code"] == "W_OSM_UNREPRESENTABLE"
    if case == "osm_overpass_surrogate_name.json":
        assert report["skipped"][0]["code"] == "W_OSM_TEXT_INVALID"


def test_an_unknown_xml_encoding_is_an_osm_error(tmp_path):
    osm = tmp_path / "x.osm"
    osm.write_text('<?xml version="1.0" encoding="x-nonexistent"?><osm/>')
    rc, _, err = _cli("registry", "import-osm", str(tmp_path / "r.geojson"), str(osm), "--tag", "x")
    assert rc == 4
    assert "E_OSM_INVALID" in err


def test_merge_by_name_gives_names_in_any_script_their_own_stable_ids(tmp_path):
    from geoverify.osm import import_osm

    first = import_osm(CASES / "osm_cyrillic_merge.osm", tags=["waterway"], merge_by_name=True)
    again = import_osm(CASES / "osm_cyrillic_merge.osm", tags=["waterway"], merge_by_name=True)
    ids = [lm.id for lm in first.landmarks]
    assert ids == ["osm_name_бахмутка", "osm_name_сухая"]
    assert ids == [lm.id for lm in again.landmarks]
    reg = _copy_registry(tmp_path)
    rc, _, _ = _cli(
        "registry", "import-osm", str(reg), str(CASES / "osm_cyrillic_merge.osm"),
        "--tag", "waterway", "--merge-by-name",
    )  # fmt: skip
    assert rc == 0


def test_names_whose_slugs_collide_get_distinct_ids():
    from geoverify.osm._assemble import name_ids

    ids = name_ids(["Foo Bar", "foo-bar", "!!!"], "osm_")
    assert len(set(ids.values())) == 3
    assert name_ids(["foo-bar", "Foo Bar", "!!!"], "osm_") == ids  # order does not matter


def test_a_multipolygon_of_20k_ways_assembles(tmp_path):
    """The ring is cut into 20,000 ways listed in shuffled order (the sweep measured 14.6 s
    for this with the quadratic join; bench/bench_osm.py measures the scaling)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_osm import ring_relation_xml

    osm = tmp_path / "mp.osm"
    osm.write_text(ring_relation_xml(20_000))
    from geoverify.osm import import_osm

    result = import_osm(osm, tags=["landuse"])
    assert [lm.geometry.geom_type for lm in result.landmarks] == ["Polygon"]
    assert len(result.landmarks[0].geometry.exterior.coords) == 20_001


# --- outputs -------------------------------------------------------------------------------


def test_output_paths_that_cannot_be_written_fail_before_decoding(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("hi")
    for out in (afile, afile / "sub"):
        rc, _, err = _cli("frames", str(KARMA), "--out", str(out))
        assert rc == 7, err
        assert "E_OUTPUT_" in err
    rc, _, err = _cli("frames", str(KARMA), "--out", "")
    assert rc == 7
    assert afile.read_text() == "hi"


def test_match_on_a_folder_without_or_with_a_corrupt_manifest(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    rc, _, err = _cli(
        "match", str(empty), "--registry", str(BERLIN_REG), "--out", str(tmp_path / "m")
    )
    assert rc == 3
    assert "E_FRAMES_MANIFEST_MISSING" in err
    (empty / "frames.json").write_text('{"frames": [{"file": "../../etc/passwd"}]}')
    rc, _, err = _cli(
        "match", str(empty), "--registry", str(BERLIN_REG), "--out", str(tmp_path / "m")
    )
    assert rc == 3
    assert "E_FRAMES_MANIFEST_INVALID" in err
    (empty / "frames.json").write_text("{not json")
    rc, _, err = _cli(
        "match", str(empty), "--registry", str(BERLIN_REG), "--out", str(tmp_path / "m")
    )
    assert rc == 3


def test_symlinks_in_an_output_folder_are_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "frames").symlink_to(outside)
    rc, _, err = _cli("frames", str(KARMA), "--out", str(out), "--keyframes")
    assert rc == 7
    assert "E_OUTPUT_SYMLINK" in err
    assert list(outside.iterdir()) == []
    link_out = tmp_path / "link_out"
    link_out.symlink_to(outside)
    rc, _, err = _cli("frames", str(KARMA), "--out", str(link_out), "--keyframes")
    assert rc == 7
    assert list(outside.iterdir()) == []


def test_staged_folder_is_moved_in_whole_or_not_at_all(tmp_path):
    from geoverify._output import staged_dir, write_manifest

    out = tmp_path / "report"
    with staged_dir(out) as stage:
        (stage / "a.txt").write_text("first")
        write_manifest(stage)
    assert (out / "a.txt").read_text() == "first"

    def half_written() -> None:
        with staged_dir(out) as stage:
            (stage / "a.txt").write_text("second, half written")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        half_written()
    assert (out / "a.txt").read_text() == "first"  # the previous report is whole
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no temporary folder left
    with staged_dir(out) as stage:  # a second run replaces the first
        (stage / "b.txt").write_text("second")
        write_manifest(stage)
    assert sorted(p.name for p in out.iterdir()) == ["b.txt", "manifest.json"]


def test_verify_refuses_a_folder_it_did_not_write(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the analyst's own notes")
    rc, _, err = _cli(
        "verify", str(KARMA), "--registry", str(BAKHMUT),
        "--claims", str(ROOT / "samples" / "bakhmut" / "claims.yaml"), "--out", str(out),
    )  # fmt: skip
    assert rc == 7
    assert "E_OUTPUT_NOT_EMPTY" in err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_a_file_name_with_an_invalid_byte_gives_a_whole_report_and_a_failure_keeps_it(
    tmp_path,
):
    out = tmp_path / "out"
    bad_name = tmp_path / os.fsdecode(b"walk_\xff.mp4")  # not UTF-8: a surrogate in Python
    shutil.copy(KARMA, bad_name)
    claims = ROOT / "samples" / "bakhmut" / "claims.yaml"
    args = ["verify", str(bad_name), "--registry", str(BAKHMUT), "--out", str(out)]
    rc, _, err = _cli(*args, "--claims", str(claims))
    assert rc == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(
        str(p.relative_to(out))
        for p in out.rglob("*")
        if p.is_file() and p != out / "manifest.json"
    )
    assert "walk\\_\ufffd.mp4" in (out / "report.md").read_text()
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    rc, _, _ = _cli(*args, "--claims", str(tmp_path / "missing.yaml"))
    assert rc == 4
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.fixture
def tiny_fs(tmp_path):
    """A 256 KiB tmpfs (and a read-only one) mounted for the test; skipped where mount is denied."""
    mounts = {}
    for name, opts in (("small", "size=256k"), ("ro", "ro,size=64k")):
        point = tmp_path / name
        point.mkdir()
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(point)],
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            for m in mounts.values():
                subprocess.run(["umount", str(m)], check=False)
            pytest.skip("cannot mount a tmpfs here (needs root)")
        mounts[name] = point
    yield mounts
    for m in mounts.values():
        subprocess.run(["umount", str(m)], check=True)


def test_disk_full_and_read_only_are_output_errors_and_leave_nothing(tiny_fs):
    rc, _, err = _cli("frames", str(KARMA), "--out", str(tiny_fs["ro"] / "f"), "--keyframes")
    assert rc == 7
    assert "E_OUTPUT_WRITE" in err
    out = tiny_fs["small"] / "f"
    rc, _, err = _cli("frames", str(KARMA), "--out", str(out), "--every", "0.2")
    assert rc == 7, err
    assert "E_OUTPUT_DISK_FULL" in err
    assert not (out / "frames.json").exists()  # no folder claims to be complete
    assert [p for p in tiny_fs["small"].rglob("*") if p.suffix == ".part"] == []
    reg = tiny_fs["small"] / "reg.geojson"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copy(BAKHMUT, reg)
    before = reg.read_bytes()
    filler = tiny_fs["small"] / "filler"
    # fill the disk, then try to edit the registry
    with contextlib.suppress(OSError), open(filler, "wb", buffering=0) as fh:
        fh.write(b"x" * 2**20)
    rc, _, err = _cli(
        "registry", "add", str(reg), "--id", "x", "--name", "X", "--lat", "1", "--lon", "1"
    )
    assert rc == 7, err
    assert reg.read_bytes() == before


# --- signals -------------------------------------------------------------------------------


@pytest.mark.parametrize("delay_s", [0.15, 0.3, 0.6, 1.2])
def test_ctrl_c_at_any_moment_exits_130_with_one_line(tmp_path, delay_s):
    proc = subprocess.Popen(
        [str(GEOVERIFY), "frames", str(KARMA), "--out", str(tmp_path / "f"), "--every", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay_s)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:  # finished before the signal arrived: say so, do not pass
        pytest.skip(f"the command finished within {delay_s} s, before the signal")
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "interrupted"
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".") or p.suffix == ".part"]
    assert leftovers == []


def test_sigterm_exits_143(tmp_path):
    proc = subprocess.Popen(
        [str(GEOVERIFY), "frames", str(KARMA), "--out", str(tmp_path / "f"), "--every", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.8)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the command finished before the signal")
    assert proc.returncode == 143, err
    assert "Traceback" not in err


# --- the exit-code table -------------------------------------------------------------------


def test_readme_exit_code_table_is_the_catalogue():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Errors and exit codes", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", section, flags=re.M))
    assert {int(k) for k in rows} == set(EXIT_CODES)
    for code, meaning in EXIT_CODES.items():
        assert rows[str(code)] == meaning
    from geoverify import errors

    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, GeoverifyError) and c is not GeoverifyError
    ]
    assert {c.exit_code for c in classes} <= set(EXIT_CODES)
    assert OutputError.exit_code == 7


# --- any bad file through any public reader -----------------------------------------------


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    import random

    files = {}
    files["empty"] = tmp_path / "empty.bin"
    files["empty"].write_bytes(b"")
    files["noise"] = tmp_path / "noise.bin"
    files["noise"].write_bytes(random.Random(11).randbytes(4096))
    files["folder"] = tmp_path / "folder.bin"
    files["folder"].mkdir()
    files["fifo"] = tmp_path / "fifo.bin"
    os.mkfifo(files["fifo"])
    files["missing"] = tmp_path / "missing.bin"
    files["nul_name"] = Path(str(tmp_path / "a") + "\x00b")
    files["dev_zero"] = Path("/dev/zero")
    files["html"] = tmp_path / "page.bin"
    files["html"].write_text("<html><script>alert(1)</script></html>")
    files["json_nan"] = tmp_path / "nan.bin"
    files["json_nan"].write_text('{"type": "FeatureCollection", "features": [NaN], "elements": []}')
    return files


def test_no_public_reader_lets_anything_but_a_geoverify_error_escape(tmp_path):
    from geoverify import DecodeLimits, FrameOptions, import_osm, select_frames
    from geoverify.matching import load_frames_dir, load_image
    from geoverify.osm import read_osm

    limits = DecodeLimits(timeout_s=30)
    readers = {
        "probe": lambda p: probe(p, limits=limits),
        "select_frames": lambda p: select_frames(p, options=FrameOptions(every_s=1), limits=limits),
        "load_registry": load_registry,
        "load_claims": load_claims,
        "import_osm": lambda p: import_osm(p, tags=["x"]),
        "read_osm": read_osm,
        "load_image": load_image,
        "load_frames_dir": load_frames_dir,
    }
    codes: list[tuple[str, str, int]] = []
    for kind, path in _bad_files(tmp_path).items():
        for name, reader in readers.items():
            try:
                reader(path)
            except GeoverifyError as exc:
                codes.append((name, kind, exc.exit_code))
            except Exception as exc:  # pragma: no cover - the failure this test looks for
                pytest.fail(f"{name}({kind}) raised {type(exc).__name__}: {exc}")
    assert {code for _, _, code in codes} <= set(EXIT_CODES)
    assert len(codes) >= 70  # nearly every pair is refused (a few readers accept "noise")


# --- seeded media mutation -----------------------------------------------------------------

_MUTATED = [VIDEO_DATA / "iphone6_with-gps.mov", VIDEO_DATA / "max-heromode.mp4", KARMA]


def _mutations(data: bytes, seed: int) -> list[tuple[str, bytes]]:
    import random

    rng = random.Random(seed)
    out = []
    for i in range(2):  # byte flips, clustered in the first 64 KiB (headers, moov) or anywhere
        b = bytearray(data)
        span = min(len(b), 65536) if i == 0 else len(b)
        for _ in range(24):
            b[rng.randrange(span)] ^= 1 << rng.randrange(8)
        out.append((f"flip{i}", bytes(b)))
    for frac in (rng.uniform(0.01, 0.2), rng.uniform(0.3, 0.9)):
        out.append((f"cut{frac:.2f}", data[: int(len(data) * frac)]))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("source", _MUTATED, ids=lambda p: p.name)
def test_mutated_media_end_in_a_documented_exit_code_and_leave_nothing(tmp_path, source):
    data = source.read_bytes()
    for label, blob in _mutations(data, seed=20261201):
        path = tmp_path / f"m_{label}{source.suffix}"
        path.write_bytes(blob)
        out = tmp_path / f"out_{label}"
        for args in (
            ["probe", str(path), "--json"],
            ["frames", str(path), "--out", str(out), "--keyframes"],
        ):
            rc, stdout, _ = _cli(*args)
            assert rc in (0, 3, 6), (label, args, rc)
            if "--json" in args:
                json.loads(stdout)  # a result or an error record, strict JSON either way
        if out.exists():  # a folder is there only if it is complete
            assert (out / "frames.json").is_file()
        assert path.read_bytes() == blob  # the input is never modified
        leftovers = [
            p for p in tmp_path.rglob("*") if p.name.startswith(".") or p.suffix == ".part"
        ]
        assert leftovers == []
