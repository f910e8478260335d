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


# --- BBox: the one bounding-box type (west, south, east, north) ---------------------------------


def test_bbox_reads_the_cli_form_and_gives_it_back():
    # a box in the Donbas reads as a box in either order: only the documented order is taken
    from geoverify.models import BBox

    box = BBox.parse("37.95,48.55,38.06,48.63")  # around Bakhmut, west,south,east,north
    assert box.as_tuple() == (37.95, 48.55, 38.06, 48.63)
    assert BBox.parse(box.text()) == box


@pytest.mark.parametrize(
    ("text", "in_hint"),
    [
        # Seattle given south,west,north,east: a longitude of -122 cannot be a latitude
        ("47.5,-122.4,47.7,-122.2", "--bbox -122.4,47.5,-122.2,47.7"),
        ("38.06,48.55,37.95,48.63", "west,south,east,north"),  # west > east
        ("37.95,48.55,38.06", "e.g."),  # three numbers
        ("37.95,nan,38.06,48.63", "west,south,east,north"),
        ("-200,0,10,10", "west,south,east,north"),
    ],
)
def test_bbox_refuses_what_is_not_a_box_with_a_hint(text, in_hint):
    from geoverify.models import BBox

    with pytest.raises(InputError) as err:
        BBox.parse(text)
    assert err.value.code == "E_INPUT_OPTION"
    assert in_hint in err.value.hint


def test_bbox_built_in_python_is_validated_too():
    from geoverify.models import BBox

    with pytest.raises(InputError) as err:
        BBox(west=47.5, south=-122.4, east=47.7, north=-122.2)
    assert "This reads as south,west,north,east" in err.value.hint
    with pytest.raises(InputError):
        BBox(west=True, south=0.0, east=1.0, north=1.0)  # type: ignore[arg-type]
