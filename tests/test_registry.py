"""Registry: strict GeoJSON validation (every problem listed), round trip, locking, queries."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Point
from typer.testing import CliRunner

from geoverify import InputError, LatLon, RegistryError
from geoverify.cli import app
from geoverify.geodesy import distance_m
from geoverify.registry import (
    Landmark,
    LandmarkEdit,
    Source,
    add_landmark,
    load_registry,
    parse_geometry,
    point_landmark as pl,
    remove_landmark,
    save_registry,
    update_landmark,
)

runner = CliRunner()


def _fc(*features, **extra):
    return {"type": "FeatureCollection", "features": list(features), **extra}


def _pt(fid, lon, lat, **props):
    return {
        "type": "Feature",
        "id": fid,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"name": fid, **props},
    }


def _write(tmp_path, data, name="r.geojson"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _problems(tmp_path, data, **kw):
    with pytest.raises(RegistryError) as exc:
        load_registry(_write(tmp_path, data), **kw)
    return exc.value


def test_valid_registry_round_trip(tmp_path):
    river = {
        "type": "Feature",
        "id": "river",
        "geometry": {"type": "LineString", "coordinates": [[38.0, 48.58], [38.001, 48.60]]},
        "properties": {
            "name": "Бахмут",
            "aliases": ["Bakhmutka", "Bakhmutovka"],
            "tags": {"waterway": "river"},
            "uncertainty_m": 20,
            "sources": [{"kind": "osm", "osm_type": "way", "osm_id": 1, "osm_version": 3}],
        },
    }
    area = {
        "type": "Feature",
        "id": "square",
        "geometry": {
            "type": "Polygon",  # clockwise ring: accepted
            "coordinates": [[[38.0, 48.59], [38.0, 48.591], [38.001, 48.591], [38.0, 48.59]]],
        },
        "properties": {"name": "Square", "tags": {"place": "square"}},
    }
    nowhere = {"type": "Feature", "id": "t34", "geometry": None, "properties": {"name": "T-34"}}
    path = _write(tmp_path, _fc(_pt("a", 38.0, 48.59), river, area, nowhere))
    reg = load_registry(path)
    assert len(reg) == 4
    assert reg.get("Bakhmutka").id == "river"
    assert reg.get("t34").anchor is None
    assert reg.get("a").anchor == LatLon(48.59, 38.0)
    assert reg.sha256
    out = tmp_path / "copy.geojson"
    save_registry(reg, out)
    again = load_registry(out)
    assert [lm.id for lm in again] == [lm.id for lm in reg]
    assert again.get("river").geometry.equals(reg.get("river").geometry)
    assert again.get("river").sources[0].osm_version == 3
    raw = json.loads(out.read_text())
    assert raw["features"][0]["geometry"]["coordinates"] == [38.0, 48.59]  # lon, lat on disk


def test_every_problem_is_listed_with_pointer_and_id(tmp_path):
    data = _fc(
        _pt("nan_lat", 38.0, "48.5"),
        _pt("swapped", 48.59, 138.0),
        _pt("null", None, 48.5),
        {
            "type": "Feature",
            "id": "short",
            "geometry": {"type": "LineString", "coordinates": [[1, 1]]},
            "properties": {"name": "s"},
        },
        {
            "type": "Feature",
            "id": "zero",
            "geometry": {"type": "LineString", "coordinates": [[1, 1], [1, 1]]},
            "properties": {"name": "z"},
        },
        {
            "type": "Feature",
            "id": "unclosed",
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
            "properties": {"name": "u"},
        },
        {
            "type": "Feature",
            "id": "dims",
            "geometry": {"type": "Point", "coordinates": [1]},
            "properties": {"name": "d"},
        },
        _pt("dup", 1, 1),
        _pt("dup", 2, 2),
    )
    err = _problems(tmp_path, data)
    assert err.code == "E_REGISTRY_INVALID"
    detail = err.detail
    assert "feature 'nan_lat' at /features/0/geometry/coordinates/1" in detail
    assert "E_COORD_TYPE" in detail
    assert "looks like [lat, lon]" in detail
    assert "feature 'null' at /features/2/geometry/coordinates/0" in detail
    assert "at least 2 positions" in detail
    assert "zero-length line" in detail
    assert "unclosed ring" in detail
    assert "feature 'dims'" in detail
    assert "E_DUPLICATE_ID" in detail
    assert err.message.startswith("8 problem(s)")  # seven bad features and one duplicate id


def test_nan_and_duplicate_keys_are_refused(tmp_path):
    text = (
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "a", '
        '"geometry": {"type": "Point", "coordinates": [NaN, 1]}, "properties": {"name": "a"}}]}'
    )
    assert _problems(tmp_path, text).code == "E_REGISTRY_JSON"
    dup = '{"type": "FeatureCollection", "type": "Feature", "features": []}'
    assert "duplicate key" in _problems(tmp_path, dup).message


def test_self_intersecting_polygon_rejected_or_repaired(tmp_path):
    bowtie = {
        "type": "Feature",
        "id": "bowtie",
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
        "properties": {"name": "b"},
    }
    err = _problems(tmp_path, _fc(bowtie))
    assert "Self-intersection" in err.detail
    reg = load_registry(_write(tmp_path, _fc(bowtie)), repair=True)
    lm = reg.get("bowtie")
    assert lm.geometry.is_valid
    assert lm.geometry.area > 0  # shapely gives the bowtie itself area 0
    assert lm.original_geometry is not None
    assert "W_GEOM_REPAIRED" in {w.code for w in reg.warnings}


def test_crs_member_warns_and_antimeridian_line_warns(tmp_path):
    line = {
        "type": "Feature",
        "id": "cable",
        "geometry": {"type": "LineString", "coordinates": [[179.5, 0], [-179.5, 0]]},
        "properties": {"name": "c"},
    }
    reg = load_registry(_write(tmp_path, _fc(line, crs={"type": "name"})))
    codes = {w.code for w in reg.warnings}
    assert {"W_CRS_MEMBER", "W_ANTIMERIDIAN"} <= codes


def test_reference_images_must_exist_and_stay_inside(tmp_path):
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "a.jpg").write_bytes(b"jpeg bytes")
    good = _pt("good", 1, 1, reference_images=[{"path": "refs/a.jpg"}])
    reg = load_registry(_write(tmp_path, _fc(good)))
    assert reg.get("good").reference_images[0].sha256 == hashlib.sha256(b"jpeg bytes").hexdigest()
    bad = _fc(
        _pt("missing", 1, 1, reference_images=[{"path": "refs/none.jpg"}]),
        _pt("escape", 1, 1, reference_images=[{"path": "../etc/passwd"}]),
        _pt("absolute", 1, 1, reference_images=[{"path": "/etc/passwd"}]),
        _pt("changed", 1, 1, reference_images=[{"path": "refs/a.jpg", "sha256": "0" * 64}]),
    )
    detail = _problems(tmp_path, bad).detail
    for code in ("E_REF_IMAGE_MISSING", "E_REF_IMAGE_PATH", "E_REF_IMAGE_CHANGED"):
        assert code in detail
    assert detail.count("E_REF_IMAGE_PATH") == 2


def _adder(path: str, start: int) -> None:
    for i in range(start, start + 10):
        add_landmark(path, pl(f"p{i}", f"P{i}", LatLon(48.0 + i / 1000, 38.0)))


def test_two_processes_adding_lose_nothing(tmp_path):
    path = tmp_path / "shared.geojson"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_adder, args=(str(path), s)) for s in (0, 100)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    reg = load_registry(path)
    assert len(reg) == 20
    remove_landmark(path, "p0")
    assert len(load_registry(path)) == 19
    with pytest.raises(RegistryError):
        add_landmark(path, pl("p1", "again", LatLon(1, 1)))


def test_spatial_queries_are_geodesic():
    rng = np.random.default_rng(3)
    lat = 48.5 + rng.uniform(0, 0.2, 2000)
    lon = 37.9 + rng.uniform(0, 0.2, 2000)
    marks = [
        pl(f"m{i}", f"m{i}", LatLon(a, b), tags={"kind": "x" if i % 2 else "y"})
        for i, (a, b) in enumerate(zip(lat, lon, strict=True))
    ]
    from geoverify.registry import Registry

    reg = Registry(name="t", landmarks=tuple(marks))
    here = LatLon(48.6, 38.0)
    brute = sorted(
        (distance_m(here, LatLon(a, b)), i) for i, (a, b) in enumerate(zip(lat, lon, strict=True))
    )
    nearest = reg.nearest(here, k=5)
    assert [lm.id for lm, _ in nearest] == [f"m{i}" for _, i in brute[:5]]
    assert nearest[0][1] == pytest.approx(brute[0][0], abs=1e-6)
    inside = reg.within(here, 1000.0)
    assert {lm.id for lm, _ in inside} == {f"m{i}" for d, i in brute if d <= 1000.0}
    tagged = reg.nearest(here, tags={"kind": "x"})
    best_x = next(i for _, i in brute if i % 2)
    assert tagged[0][0].id == f"m{best_x}"


def test_distance_to_lines_and_areas():
    from shapely.geometry import LineString, Polygon

    from geoverify.registry import geodesic_distance_m

    line = Landmark(id="l", name="l", geometry=LineString([(38.0, 48.58), (38.0, 48.60)]))
    area = Landmark(
        id="a",
        name="a",
        geometry=Polygon([(38.0, 48.58), (38.01, 48.58), (38.01, 48.59), (38.0, 48.59)]),
    )
    p = LatLon(48.59, 38.00676)
    assert geodesic_distance_m(p, line) == pytest.approx(
        distance_m(LatLon(48.59, 38.0), p), abs=0.05
    )
    assert geodesic_distance_m(LatLon(48.585, 38.005), area) == 0.0
    assert geodesic_distance_m(p, Landmark(id="n", name="n")) is None


def test_missing_file(tmp_path):
    with pytest.raises(RegistryError) as exc:
        load_registry(tmp_path / "none.geojson")
    assert exc.value.code == "E_REGISTRY_MISSING"
    assert Path(tmp_path / "none.geojson").exists() is False


@pytest.mark.parametrize("here_lon", [179.999, -179.999])
def test_queries_across_the_antimeridian(here_lon):
    from geoverify.registry import Registry

    east = pl("east", "east", LatLon(-17.0, 179.995))
    west = pl("west", "west", LatLon(-17.0, -179.995))
    reg = Registry(name="t", landmarks=(east, west))
    here = LatLon(-17.0, here_lon)
    found = {lm.id for lm, _ in reg.within(here, 3000.0)}
    assert found == {"east", "west"}  # both lie within 1.2 km, on either side of 180 degrees
    nearest = reg.nearest(here, k=2)
    assert nearest[0][0].id == ("east" if here_lon > 0 else "west")


# --- the lock: never through a link, never forever --------------------------------------------


def _registry_with_one(tmp_path: Path) -> Path:
    path = tmp_path / "reg.geojson"
    add_landmark(path, pl("a", "A", LatLon(48.59, 38.0)))
    return path


@pytest.mark.parametrize("kind", ["dangling link", "link to a file", "fifo", "folder"])
def test_a_lock_file_that_is_a_link_or_not_a_file_is_refused(tmp_path, kind):
    import os

    from geoverify import OutputError

    path = _registry_with_one(tmp_path)
    lock = tmp_path / "reg.geojson.lock"
    lock.unlink()
    target = tmp_path / "elsewhere.txt"
    if kind == "dangling link":
        lock.symlink_to(target)
    elif kind == "link to a file":
        target.write_bytes(b"victim")
        lock.symlink_to(target)
    elif kind == "fifo":
        os.mkfifo(lock)
    else:
        lock.mkdir()
    before = path.read_bytes()
    with pytest.raises(OutputError) as exc:
        add_landmark(path, pl("b", "B", LatLon(48.6, 38.0)), lock_wait_s=0)
    assert exc.value.code == "E_REGISTRY_LOCK"
    assert exc.value.exit_code == 7
    assert "reg.geojson.lock" in exc.value.message
    assert path.read_bytes() == before
    if kind == "link to a file":
        assert target.read_bytes() == b"victim"
    else:
        assert not target.exists()  # nothing created at the link's target
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["reg.geojson", "reg.geojson.lock"] + (["elsewhere.txt"] if target.exists() else [])
    )


_HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold_lock(lock: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(lock), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_held_lock_is_waited_for_a_bounded_time_then_refused(tmp_path):
    from geoverify import OutputError

    path = _registry_with_one(tmp_path)
    before = path.read_bytes()
    holder = _hold_lock(tmp_path / "reg.geojson.lock", 60)
    try:
        t0 = time.monotonic()
        with pytest.raises(OutputError) as exc:
            add_landmark(path, pl("b", "B", LatLon(48.6, 38.0)), lock_wait_s=0.3)
        waited = time.monotonic() - t0
        assert exc.value.code == "E_REGISTRY_LOCKED"
        assert "another process holds the lock" in exc.value.message
        assert "reg.geojson.lock" in exc.value.message
        assert "unchanged" in exc.value.hint
        assert 0.3 <= waited < 5
        assert path.read_bytes() == before
    finally:
        holder.kill()
        holder.communicate()  # reaps it and closes its pipe
    add_landmark(path, pl("b", "B", LatLon(48.6, 38.0)), lock_wait_s=0)  # the lock is free
    assert {lm.id for lm in load_registry(path)} == {"a", "b"}


def test_a_lock_released_within_the_wait_is_taken(tmp_path):
    path = _registry_with_one(tmp_path)
    holder = _hold_lock(tmp_path / "reg.geojson.lock", 0.25)
    try:
        add_landmark(path, pl("b", "B", LatLon(48.6, 38.0)), lock_wait_s=20)
    finally:
        holder.communicate(timeout=20)
    assert {lm.id for lm in load_registry(path)} == {"a", "b"}


def test_a_bad_lock_wait_is_refused(tmp_path):
    path = _registry_with_one(tmp_path)
    before = path.read_bytes()
    for wait in (-1.0, float("nan"), float("inf")):
        with pytest.raises(InputError) as exc:
            remove_landmark(path, "a", lock_wait_s=wait)
        assert exc.value.code == "E_INPUT_OPTION"
    assert path.read_bytes() == before


# --- nesting: refused with a message, never a RecursionError or a crash -----------------------


@pytest.mark.parametrize(
    ("option", "text"),
    [
        ("--geojson", "[" * 3000 + "]" * 3000),
        ("--geojson", '{"type": "Point", "coordinates": ' + "[" * 40 + "1" + "]" * 40 + "}"),
        ("--geojson", "[" * 3000),  # unbalanced: counted, not parsed
        ("--wkt", "GEOMETRYCOLLECTION (" * 40 + "POINT (38 48.6)" + ")" * 40),
        ("--wkt", "(" * 5000),
    ],
)
def test_deeply_nested_geometry_text_is_refused(tmp_path, option, text):
    path = _registry_with_one(tmp_path)
    before = path.read_bytes()
    result = runner.invoke(app, ["registry", "add", str(path), "--id", "x", "--name", "X",
                                 option, text])  # fmt: skip
    assert result.exit_code == 3, result.output
    assert "nested deeper than 32 levels [E_GEOM_INVALID]" in result.stderr
    assert path.read_bytes() == before


def test_geometry_text_shapely_cannot_model_is_refused():
    for wkt in ("CIRCULARSTRING (38 48, 38.1 48.1, 38.2 48)", "POINT (38 48"):
        with pytest.raises(InputError) as exc:
            parse_geometry(wkt=wkt)
        assert exc.value.code == "E_INPUT_COORD"
    geometry, _ = parse_geometry(wkt="MULTIPOLYGON (((38 48, 38.1 48, 38.1 48.1, 38 48)))")
    assert geometry.geom_type == "MultiPolygon"  # four levels: well inside the limit


@pytest.mark.parametrize(("depth", "code"), [(80, "E_REGISTRY_INVALID"), (5000, "E_REGISTRY_JSON")])
def test_a_registry_file_nested_too_deep_is_refused_and_not_edited(tmp_path, depth, code):
    deep = "[" * depth + "]" * depth
    text = json.dumps(_fc(_pt("a", 38.0, 48.59, wikidata="@DEEP@"))).replace('"@DEEP@"', deep)
    path = _write(tmp_path, text)
    err = _problems(tmp_path, text)
    assert err.code == code
    assert "nested deeper than 64 levels" in err.message
    if depth == 80:
        assert "/features/0/properties/wikidata/0/0" in err.message
    with pytest.raises(RegistryError):
        add_landmark(path, pl("b", "B", LatLon(48.6, 38.0)))
    assert path.read_text() == text


# --- update: change what is given, keep the rest ---------------------------------------------


def _rich_registry(tmp_path: Path) -> Path:
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "t34.jpg").write_bytes(b"jpeg bytes")
    t34 = {
        "type": "Feature",
        "id": "t34",
        "geometry": None,
        "bbox": [1, 2, 3, 4],
        "properties": {
            "name": "T-34",
            "aliases": ["Tank monument"],
            "tags": {"historic": "memorial"},
            "sources": [{"kind": "publication", "title": "news"}],
            "reference_images": [{"path": "refs/t34.jpg"}],
            "notes": "no sourced position yet",
            "wikidata": "Q1",
        },
    }
    return _write(tmp_path, _fc(t34, _pt("b", 38.0, 48.59)), name="case.geojson")


def test_update_changes_what_is_given_and_keeps_the_rest(tmp_path):
    path = _rich_registry(tmp_path)
    raw_b = json.loads(path.read_text())["features"][1]
    edit = LandmarkEdit(
        geometry=Point(38.0010, 48.5950),
        aliases=("Танк", "Tank monument"),
        tags={"memorial": "tank"},
        sources=(Source(kind="survey", title="walk 2023"),),
        uncertainty_m=5.0,
    )
    result = update_landmark(path, "t34", edit)
    assert [c.field for c in result.changes] == [
        "geometry",
        "uncertainty_m",
        "aliases",
        "tags",
        "sources",
    ]
    assert str(result.changes[0]) == "geometry: not stated -> Point 48.5950000, 38.0010000"
    lm = load_registry(path).get("t34")
    assert lm.anchor == LatLon(48.5950, 38.0010)
    assert lm.name == "T-34"
    assert lm.aliases == ("Tank monument", "Танк")  # added, the one it had not repeated
    assert dict(lm.tags) == {"historic": "memorial", "memorial": "tank"}
    assert [s.title for s in lm.sources] == ["news", "walk 2023"]
    assert [r.path for r in lm.reference_images] == ["refs/t34.jpg"]
    assert lm.notes == "no sourced position yet"
    assert lm.uncertainty_m == 5.0
    raw = json.loads(path.read_text())["features"]
    assert raw[0]["properties"]["wikidata"] == "Q1"
    assert raw[0]["bbox"] == [1, 2, 3, 4]
    assert raw[1] == raw_b  # the landmark not edited: as it was
    # replacing fields: name and notes; a tag key gets its new value
    result = update_landmark(
        path, "t34", LandmarkEdit(name="T-34-85", notes="moved", tags={"memorial": "statue"})
    )
    assert [str(c) for c in result.changes] == [
        'name: "T-34" -> "T-34-85"',
        'tags: {"historic": "memorial", "memorial": "tank"} -> '
        '{"historic": "memorial", "memorial": "statue"}',
        'notes: "no sourced position yet" -> "moved"',
    ]
    # an update that changes nothing writes nothing
    before = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    result = update_landmark(path, "t34", LandmarkEdit(aliases=("Танк",)))
    assert result.changes == ()
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == mtime


def test_update_refusals_leave_the_registry_unchanged(tmp_path):
    from geoverify.registry import set_area_of_interest

    path = _rich_registry(tmp_path)
    set_area_of_interest(path, (37.95, 48.55, 38.06, 48.63))
    before = path.read_bytes()
    refusals = [
        ("nope", LandmarkEdit(name="X"), "E_UNKNOWN_LANDMARK"),
        ("T-34", LandmarkEdit(name="X"), "E_UNKNOWN_LANDMARK"),  # the id, not the name
        ("t34", LandmarkEdit(), "E_INPUT_OPTION"),
        ("t34", LandmarkEdit(uncertainty_m=-5.0), "E_REGISTRY_WRITE_REFUSED"),
        ("t34", LandmarkEdit(name=" "), "E_REGISTRY_WRITE_REFUSED"),
        ("t34", LandmarkEdit(geometry=Point(48.595, 38.001)), "E_PROBABLY_SWAPPED"),
    ]
    for landmark_id, edit, code in refusals:
        with pytest.raises((RegistryError, InputError)) as exc:
            update_landmark(path, landmark_id, edit)
        assert exc.value.code == code
        assert path.read_bytes() == before
    result = update_landmark(path, "t34", LandmarkEdit(geometry=Point(48.595, 38.001)), force=True)
    assert [w.code for w in result.warnings] == ["W_PROBABLY_SWAPPED"]


def test_add_replace_keeps_what_it_is_not_given(tmp_path):
    path = _rich_registry(tmp_path)
    add_landmark(path, pl("t34", "T-34 tank", LatLon(48.595, 38.001)), replace=True)
    lm = load_registry(path).get("t34")
    assert lm.name == "T-34 tank"
    assert lm.anchor == LatLon(48.595, 38.001)
    assert lm.aliases == ("Tank monument",)
    assert dict(lm.tags) == {"historic": "memorial"}
    assert [s.title for s in lm.sources] == ["news"]
    assert [r.path for r in lm.reference_images] == ["refs/t34.jpg"]
    assert lm.notes == "no sourced position yet"
    assert lm.extra_properties["wikidata"] == "Q1"


def test_cli_update_prints_each_change(tmp_path):
    path = _rich_registry(tmp_path)
    args = ["registry", "update", str(path), "t34", "--at", "48.5950, 38.0010", "--alias", "Танк"]
    args += ["--tag", "memorial=tank", "--source", "walk", "--source-url", "https://example.org"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "read: 48.5950000, 38.0010000"
    assert "geometry: not stated -> Point 48.5950000, 38.0010000" in lines
    assert 'aliases: ["Tank monument"] -> ["Tank monument", "Танк"]' in lines
    assert lines[-1] == f"updated t34 in {path}"
    assert [r.path for r in load_registry(path).get("t34").reference_images] == ["refs/t34.jpg"]
    before = path.read_bytes()
    result = runner.invoke(app, ["registry", "update", str(path), "t34", "--uncertainty-m", "-1"])
    assert result.exit_code == 4
    assert "E_REGISTRY_WRITE_REFUSED" in result.stderr
    result = runner.invoke(app, ["registry", "update", str(path), "t34", "--geojson", "[" * 99])
    assert result.exit_code == 3
    assert "E_GEOM_INVALID" in result.stderr
    assert path.read_bytes() == before


def test_a_reference_images_other_members_survive_an_edit(tmp_path):
    """A credit or a capture date on a reference image is the analyst's: kept on every write."""
    import json
    import shutil

    from geoverify.registry import LandmarkEdit, update_landmark

    src = Path(__file__).resolve().parent.parent / "samples" / "berlin"
    shutil.copytree(src, tmp_path / "b", ignore=shutil.ignore_patterns("*.mp4"))
    reg = tmp_path / "b" / "registry.geojson"
    doc = json.loads(reg.read_text())
    feature = next(f for f in doc["features"] if f["properties"].get("reference_images"))
    feature["properties"]["reference_images"][0].update(captured="2023-01-01", credit="Jane")
    reg.write_text(json.dumps(doc))
    update_landmark(reg, feature["id"], LandmarkEdit(notes="a new note"))
    after = json.loads(reg.read_text())
    image = next(f for f in after["features"] if f["id"] == feature["id"])["properties"][
        "reference_images"
    ][0]
    assert image["captured"] == "2023-01-01"
    assert image["credit"] == "Jane"
    assert image["sha256"] == feature["properties"]["reference_images"][0]["sha256"]


def test_add_landmark_refuses_a_probably_swapped_point_itself(tmp_path):
    # the Bakhmut point that `registry add --at "38.0008, 48.5947"` refuses (test_workbench),
    # given from Python: the library refuses it, not only the command
    from geoverify.registry import set_area_of_interest

    path = tmp_path / "r.geojson"
    set_area_of_interest(path, (37.95, 48.55, 38.06, 48.63))
    before = path.read_bytes()
    swapped = pl("s", "S", LatLon(38.0008, 48.5947))
    with pytest.raises(RegistryError) as exc:
        add_landmark(path, swapped)
    assert exc.value.code == "E_PROBABLY_SWAPPED"
    assert "probably swapped" in exc.value.message
    assert path.read_bytes() == before
    add_landmark(path, swapped, force=True)
    assert {w.code for w in load_registry(path).warnings} == {"W_PROBABLY_SWAPPED"}
    add_landmark(path, pl("far", "Far", LatLon(50.45, 30.52)))  # outside, not swapped: added
    assert "far" in {lm.id for lm in load_registry(path)}
