"""Geodesy against GeographicLib's reference data, and point-to-line offsets by brute force."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from conftest import DATA

from geoverify import InputError, LatLon
from geoverify.geodesy import (
    WGS84,
    angle_difference_deg,
    bearing_deg,
    destination,
    distance_m,
    inverse_many,
    offset_from_line,
    offsets_from_line_many,
)

TOL_M = 1e-3  # distance: 1 mm
TOL_DEG = 1e-6  # azimuth
TOL_OFFSET_M = 0.1  # point-to-line distance vs dense brute force

GEODTEST = np.loadtxt(DATA / "geodesic" / "GeodTest-100.dat")
CASES = json.loads((DATA / "geodesic" / "geographiclib_python_testcases.json").read_text())


def _wrap(lon):
    return (lon + 180.0) % 360.0 - 180.0


@pytest.mark.parametrize("row", range(len(GEODTEST)))
def test_geodtest_inverse_and_direct(row):
    lat1, lon1, azi1, lat2, lon2, _azi2, s12, *_ = GEODTEST[row]
    a, b = LatLon(lat1, lon1), LatLon(lat2, _wrap(lon2))
    assert distance_m(a, b) == pytest.approx(s12, abs=TOL_M)
    # Azimuths of nearly antipodal lines are ill-conditioned (GeodTest's own note): compare
    # those through the direct problem instead.
    if s12 < 19.9e6:
        assert angle_difference_deg(azi1 % 360.0, bearing_deg(a, b)) == pytest.approx(
            0.0, abs=TOL_DEG
        )
    end = destination(a, azi1, s12)
    assert distance_m(end, b) == pytest.approx(0.0, abs=TOL_M)


def test_vectorised_inverse_matches_geodtest():
    lat1, lon1, azi1, lat2, lon2, _azi2, s12 = GEODTEST[:, :7].T
    dist, az = inverse_many(lat1, lon1, lat2, _wrap(lon2))
    assert np.max(np.abs(dist - s12)) < TOL_M
    short = s12 < 19.9e6
    diff = (az[short] - azi1[short] % 360.0 + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(diff)) < TOL_DEG


@pytest.mark.parametrize("case", CASES["testcases"], ids=lambda c: f"{c['lat1']},{c['lon1']}")
def test_geographiclib_python_cases(case):
    a = LatLon(case["lat1"], case["lon1"])
    b = LatLon(case["lat2"], _wrap(case["lon2"]))
    assert distance_m(a, b) == pytest.approx(case["s12_m"], abs=TOL_M)


def test_geodsolve_jfk_cdg():
    case = CASES["geodsolve_cases"][0]
    inv, expect, tol = case["inverse"], case["expect"], case["tolerance"]
    a, b = LatLon(inv["lat1"], inv["lon1"]), LatLon(inv["lat2"], inv["lon2"])
    assert distance_m(a, b) == pytest.approx(expect["s12_m"], abs=tol["s12_m"])
    assert bearing_deg(a, b) == pytest.approx(expect["azi1"], abs=tol["azi_deg"])


def test_bearing_wraps_and_is_undefined_where_it_must_be():
    here = LatLon(48.59, 38.0)
    assert bearing_deg(here, here) is None
    assert bearing_deg(LatLon(90.0, 0.0), here) is None
    north_ish = destination(here, 359.9, 1000.0)
    east_ish = destination(here, 0.1, 1000.0)
    assert angle_difference_deg(bearing_deg(here, north_ish), bearing_deg(here, east_ish)) == (
        pytest.approx(0.2, abs=1e-6)
    )
    assert 0.0 <= bearing_deg(here, north_ish) < 360.0


def test_antimeridian():
    a, b = LatLon(0.0, 179.9), LatLon(0.0, -179.9)
    assert distance_m(a, b) == pytest.approx(22263.898, abs=0.01)  # 0.2 deg of the equator
    assert bearing_deg(a, b) == pytest.approx(90.0, abs=TOL_DEG)
    assert destination(a, 90.0, 22263.898).lon == pytest.approx(-179.9, abs=1e-6)


def test_inverse_many_refuses_nan_and_range():
    with pytest.raises(InputError):
        inverse_many([np.nan], [0], [0], [0])
    with pytest.raises(InputError):
        inverse_many([95.0], [0], [0], [0])


def _brute_force_offset(point, line, samples=200_000):
    """Distance to the line by sampling every segment densely along its geodesic."""
    best = np.inf
    for a, b in itertools.pairwise(line):
        az, _, length = WGS84.inv(a.lon, a.lat, b.lon, b.lat)
        s = np.linspace(0.0, length, samples)
        lon, lat, _ = WGS84.fwd(
            np.full(samples, a.lon), np.full(samples, a.lat), np.full(samples, az), s
        )
        _, _, d = WGS84.inv(lon, lat, np.full(samples, point.lon), np.full(samples, point.lat))
        best = min(best, float(np.min(d)))
    return best


LINES = {
    "50 km north-south": [LatLon(48.4, 38.0), LatLon(48.85, 38.01)],
    "50 km diagonal, 3 segments": [
        LatLon(48.45, 37.8),
        LatLon(48.58, 37.95),
        LatLon(48.62, 38.1),
        LatLon(48.75, 38.3),
    ],
    "high latitude 40 km": [LatLon(69.5, 17.0), LatLon(69.7, 17.9)],
}


@pytest.mark.parametrize("name", list(LINES))
@pytest.mark.parametrize(("dlat", "dlon"), [(0.01, 0.05), (-0.03, 0.2), (0.2, -0.1)])
def test_offset_matches_brute_force(name, dlat, dlon):
    line = LINES[name]
    mid = line[len(line) // 2]
    point = LatLon(mid.lat + dlat, mid.lon + dlon)
    result = offset_from_line(point, line)
    # brute-force sampling at 50 km / 2e5 = 0.25 m spacing overestimates by < 1 mm
    assert result.distance_m == pytest.approx(_brute_force_offset(point, line), abs=TOL_OFFSET_M)
    assert distance_m(point, result.nearest) == pytest.approx(result.distance_m, abs=1e-6)


def test_side_of_a_northward_line():
    line = [LatLon(48.58, 38.0), LatLon(48.60, 38.0)]
    east = offset_from_line(LatLon(48.59, 38.00676), line)  # about 500 m east
    west = offset_from_line(LatLon(48.59, 37.99324), line)
    assert east.side == "right"
    assert west.side == "left"
    assert east.bearing_from_line_deg == pytest.approx(90.0, abs=0.1)
    assert east.distance_m == pytest.approx(
        distance_m(LatLon(48.59, 38.0), LatLon(48.59, 38.00676)), abs=0.01
    )
    beyond = offset_from_line(LatLon(48.65, 38.0), line)
    assert beyond.side == "beyond_end"
    on = offset_from_line(LatLon(48.59, 38.0), line)
    assert on.side == "on"
    assert on.bearing_from_line_deg is None


def test_zero_length_and_short_lines_are_refused():
    with pytest.raises(InputError) as exc:
        offset_from_line(LatLon(1, 1), [LatLon(0, 0), LatLon(0, 0)])
    assert exc.value.code == "E_GEOM_INVALID"
    with pytest.raises(InputError):
        offset_from_line(LatLon(1, 1), [LatLon(0, 0)])


def test_offsets_many_equal_single_calls():
    line = LINES["50 km diagonal, 3 segments"]
    rng = np.random.default_rng(7)
    lat = 48.6 + rng.uniform(-0.2, 0.2, 50)
    lon = 38.0 + rng.uniform(-0.3, 0.3, 50)
    many = offsets_from_line_many(lat, lon, line)
    single = [
        offset_from_line(LatLon(a, b), line).distance_m for a, b in zip(lat, lon, strict=True)
    ]
    assert np.max(np.abs(many - np.array(single))) < 1e-6


def test_signed_offsets_many():
    line = [LatLon(48.58, 38.0), LatLon(48.60, 38.0)]  # northward
    d = offsets_from_line_many([48.59, 48.59], [38.00676, 37.99324], line, signed=True)
    assert d[0] > 0  # east of a northward line: right
    assert d[1] < 0
    assert abs(d[0]) == pytest.approx(
        offset_from_line(LatLon(48.59, 38.00676), line).distance_m, abs=1e-6
    )
