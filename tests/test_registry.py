"""Registry: strict GeoJSON validation (every problem listed), round trip, locking, queries."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from geoverify import LatLon, RegistryError
from geoverify.geodesy import distance_m
from geoverify.registry import (
    Landmark,
    add_landmark,
    load_registry,
    point_landmark as pl,
    remove_landmark,
    save_registry,
)


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
