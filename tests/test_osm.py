"""OSM import on real OpenStreetMap data in three formats."""

from __future__ import annotations

import sys

import pytest
from conftest import DATA

from geoverify import LatLon, MissingDependencyError, RegistryError
from geoverify.geodesy import distance_m
from geoverify.osm import import_osm, read_osm

OSM = DATA / "osm"
FORMATS = ["helsinki_centre.osm", "helsinki_centre_overpass.json", "helsinki.osm.pbf"]


@pytest.mark.parametrize("name", FORMATS)
def test_memorials_with_pinned_versions(name):
    result = import_osm(
        OSM / name, tags=["historic=memorial"], bbox=(24.9375, 60.1685, 24.9450, 60.1722)
    )
    by_id = {lm.id: lm for lm in result.landmarks}
    kivi = by_id["osm_n60131847"]
    assert kivi.name == "Aleksis Kiven muistopatsas"
    assert "Aleksis Kivi Memorial" in kivi.aliases
    assert kivi.tags["memorial"] == "statue"
    # the values of node 60131847 in the source file
    assert kivi.anchor == LatLon(60.1716831, 24.9439197)
    src = kivi.sources[0]
    assert (src.osm_type, src.osm_id, src.osm_version, src.osm_timestamp) == (
        "node",
        60131847,
        17,
        "2018-11-15T00:36:42Z",
    )
    assert "ODbL" in src.licence


def test_the_three_formats_agree():
    results = [
        import_osm(
            OSM / n,
            tags=["historic=memorial", "building"],
            bbox=(24.9400, 60.1690, 24.9440, 60.1715),
        )
        for n in FORMATS
    ]
    ids = [sorted(lm.id for lm in r.landmarks) for r in results]
    assert ids[0] == ids[1] == ids[2]
    for a, b in zip(results[0].landmarks, results[2].landmarks, strict=True):
        assert a.geometry.equals_exact(b.geometry, 1e-7)


def test_a_street_mapped_as_many_ways_becomes_one_landmark():
    result = import_osm(OSM / "helsinki.osm.pbf", tags=["highway"], merge_by_name=True)
    street = next(lm for lm in result.landmarks if lm.id == "osm_name_mannerheimintie")
    assert len(street.sources) > 10  # every OSM way keeps its id and version
    assert all(s.osm_type == "way" and s.osm_version for s in street.sources)
    assert street.geometry.geom_type in ("LineString", "MultiLineString")
    assert "merged from" in street.notes


def test_closed_building_ways_are_polygons_and_relations_are_assembled():
    result = import_osm(OSM / "helsinki.osm.pbf", tags=["building"])
    kinds = {lm.geometry.geom_type for lm in result.landmarks}
    assert "Polygon" in kinds
    relations = [lm for lm in result.landmarks if lm.id.startswith("osm_r")]
    assert relations
    assert all(lm.geometry.is_valid and lm.geometry.area > 0 for lm in relations)


def test_incomplete_elements_are_reported_not_guessed():
    result = import_osm(OSM / "helsinki_centre.osm", tags=["type=multipolygon"])
    assert any(n.code == "W_OSM_INCOMPLETE" for n in result.skipped)


def test_geodesic_distance_between_two_imported_statues():
    result = import_osm(OSM / "helsinki_centre.osm", tags=["historic=memorial"])
    by_id = {lm.id: lm for lm in result.landmarks}
    d = distance_m(by_id["osm_n60131847"].anchor, by_id["osm_n60131839"].anchor)
    # GeographicLib Inverse for (60.1716831, 24.9439197) -> (60.1699517, 24.9430680)
    from pyproj import Geod

    _, _, expected = Geod(ellps="WGS84").inv(24.9439197, 60.1716831, 24.9430680, 60.1699517)
    assert d == pytest.approx(expected, abs=1e-6)
    assert 190 < d < 200


@pytest.mark.parametrize(
    "content", [b"", b"\x00\x01garbage", b"<osm><node id='1' lat='x'", b'{"no": 1}']
)
def test_bad_osm_files(tmp_path, content):
    path = tmp_path / "bad.osm"
    path.write_bytes(content)
    with pytest.raises(RegistryError) as exc:
        import_osm(path, tags=["historic"])
    assert exc.value.code == "E_OSM_INVALID"


def test_pbf_without_osmium_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "osmium", None)  # as if the optional extra were absent
    with pytest.raises(MissingDependencyError) as exc:
        read_osm(OSM / "helsinki.osm.pbf")
    assert "pip install 'geoverify[osm]'" in exc.value.hint
