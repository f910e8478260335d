from __future__ import annotations

import json
import math
from datetime import datetime
from fractions import Fraction

import pytest

from geoverify import InputError, LatLon, Verdict, to_jsonable


def test_latlon_valid():
    p = LatLon(48.58, 38.0)
    assert (p.lat, p.lon) == (48.58, 38.0)
    assert LatLon(90, -180).lat == 90.0


@pytest.mark.parametrize(
    ("lat", "lon", "code"),
    [
        (math.nan, 0.0, "E_COORD_RANGE"),
        (0.0, math.inf, "E_COORD_RANGE"),
        (90.0001, 0.0, "E_COORD_RANGE"),
        (0.0, 180.5, "E_COORD_RANGE"),
        ("48.5", 38.0, "E_COORD_TYPE"),
        (None, 38.0, "E_COORD_TYPE"),
        (True, 38.0, "E_COORD_TYPE"),
    ],
)
def test_latlon_invalid(lat, lon, code):
    with pytest.raises(InputError) as exc:
        LatLon(lat, lon)
    assert exc.value.code == code


def test_swapped_order_is_named():
    with pytest.raises(InputError) as exc:
        LatLon(138.0, 48.5)  # (lon, lat) of a place in Japan
    assert "latitude first" in exc.value.hint


def test_to_jsonable_is_strict():
    assert to_jsonable({"f": Fraction(30000, 1001), "v": Verdict.CONSISTENT}) == {
        "f": "30000/1001",
        "v": "consistent",
    }
    with pytest.raises(ValueError, match="non-finite"):
        to_jsonable(math.nan)
    with pytest.raises(ValueError, match="naive"):
        to_jsonable(datetime(2020, 1, 1))  # a naive datetime is the point
    json.dumps(to_jsonable("lone \udcff surrogate"), ensure_ascii=False).encode()
