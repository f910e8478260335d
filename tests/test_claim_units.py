"""Every number a claim check reports carries its own unit; ``camera`` runs in every role form.

Issue 30, items 2 and 3. One claims file walks every kind of claim (and every kind again with
``camera``, the GoPro GPS track of samples/karma/karma.mp4, as subject) on real geodata: the
sourced points of samples/bakhmut and samples/berlin, OpenStreetMap streets and squares of
central Helsinki (tests/data/osm, ODbL) and the NREL SPA test site (tests/data/solar_position).
For every check, in report.json, in ``geoverify check --json`` and in every rendering (``check``
and ``verify`` in the terminal, report.md, report.html), each margin is in the unit of the value
it is the margin of: it is recomputed from the measured value and the claimed range, in that
unit. At least one number per kind is checked against GeographicLib (pyproj.Geod): distances
to 1 mm, bearings to 1e-6 degree (the shadow against the published NREL SPA output).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
import typing
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import DATA, KARMA, ROOT
from pyproj import Geod
from typer.testing import CliRunner

from geoverify.claims import UNITS, Claim, check_claims, load_claims, rank_candidates
from geoverify.cli import app
from geoverify.models import LatLon
from geoverify.osm import import_osm
from geoverify.registry import Registry, load_registry, point_landmark, save_registry

GEOD = Geod(ellps="WGS84")
TOL_M = 1e-3  # distances against GeographicLib
TOL_DEG = 1e-6  # bearings against GeographicLib
# a margin recomputed from the measured value and the claimed range: decisions are taken at
# the resolution of the measurement (1 mm, 1e-6 degree), so the margin may differ by half that
TOL_MARGIN = {"m": 1e-3, "deg": 1e-6, "ratio": 1e-9}
# the NREL SPA vector with geoverify's Delta T model: it agrees to 1e-4 deg (tests/test_sun.py)
TOL_SUN_DEG = 1e-4
SCHEMA = json.loads((ROOT / "geoverify" / "schemas" / "report.schema.json").read_text())
SPA = {
    v["id"]: v
    for v in json.loads((DATA / "solar_position" / "spa_reference_vectors.json").read_text())[
        "position_vectors"
    ]
}["pvlib_golden_2003_next_day"]
HELSINKI = {
    "osm_n60131847",  # Aleksis Kivi memorial (statue)
    "osm_n60131839",  # Albert Edelfelt memorial (statue)
    "osm_name_mikonkatu",  # streets, as lines
    "osm_name_kaivokatu",
    "osm_name_mannerheimintie",
    "osm_r2919118",  # Rautatientori, the railway square (a multipolygon)
    "osm_w122595207",  # the National Theatre (a building)
}
runner = CliRunner()


def _cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def _registry(path: Path) -> Path:
    """Write one registry of real positions: Bakhmut, Berlin, Helsinki OSM, the SPA site."""
    osm = import_osm(
        DATA / "osm" / "helsinki_centre.osm",
        tags=["highway", "building", "historic=memorial", "place"],
        merge_by_name=True,
    )
    i = SPA["input"]
    golden = point_landmark(
        "nrel_golden", "NREL SPA test site, Golden, Colorado", LatLon(i["lat"], i["lon"])
    )
    landmarks = [
        *load_registry(ROOT / "samples" / "bakhmut" / "registry.geojson").landmarks,
        *load_registry(ROOT / "samples" / "berlin" / "registry.geojson").landmarks,
        *(lm for lm in osm.landmarks if lm.id in HELSINKI),
        golden,
    ]
    # no reference images: this is about the claims, not about matching frames
    plain = tuple(dataclasses.replace(lm, reference_images=()) for lm in landmarks)
    save_registry(Registry(name="every kind", landmarks=plain), path)
    return path


WALK = """\
claims_version: 2
footage:
  shows: memorial
  filmed_at: {role: memorial, within_m: 300}
roles:
  city_centre: [city_wikipedia, city_geonames_713174, myru_42_central_square]
  memorial: {candidates: [osm_n60131847], kind: {historic: memorial}}
  photo_positions: {candidates: [camera_01, camera_02, camera_03]}
claims:
  - {id: station_near_centre, kind: distance, text: "within 1 km of the city centre",
     subject: railway_station_bakhmut, reference: city_centre,
     distance: {qualifier: within, value_m: 1000}}
  - {id: station_west_of_square, kind: distance, text: "about 1 km west of the central square",
     subject: railway_station_bakhmut, reference: myru_42_central_square,
     distance: {qualifier: about, value_m: 1000}, direction: west}
  - {id: hall_north_of_bank, kind: direction, text: "north of the former bank",
     subject: former_city_hall_zemstvo, reference: centre_children_youth_former_bank,
     direction: north}
  - {id: kivi_west_of_mannerheimintie, kind: side_of_line, text: "west of Mannerheimintie",
     subject: memorial, line: osm_name_mannerheimintie, side: west}
  - {id: kivi_west_of_mikonkatu, kind: side_of_line, text: "about 50 m west of Mikonkatu",
     subject: memorial, line: osm_name_mikonkatu, side: west,
     distance: {qualifier: about, value_m: 50}}
  - {id: edelfelt_south_of_kaivokatu, kind: side_of_line, text: "just under 50 m south of it",
     subject: osm_n60131839, line: osm_name_kaivokatu, side: south,
     distance: {qualifier: just under, value_m: 50}}
  - {id: kivi_on_the_square, kind: within, text: "on the railway square",
     subject: memorial, area: osm_r2919118}
  - {id: nearest_building, kind: nearest, text: "next to the central-square building",
     subject: railway_station_bakhmut, target: myru_42_central_square,
     of_kind: {building: "yes"}}
  - {id: golden_shadow, kind: shadow, text: "filmed at 12:30 MST on 18 October 2003",
     subject: nrel_golden, time: "2003-10-18T12:30:30-07:00",
     shadow: {azimuth_deg: 17.311132, azimuth_error_deg: 5, length_ratio: 1.2, ratio_error: 0.1}}
  - {id: ratio_only_shadow, kind: shadow, text: "long shadows",
     subject: nrel_golden, time: "2003-10-18T12:30:30-07:00",
     shadow: {length_ratio: 2.0, ratio_error: 0.5}}
  - {id: photos_near_dom, kind: distance, text: "about 30-60 m from the Berliner Dom",
     subject: photo_positions, reference: berliner_dom, distance: {range_m: [30, 60]}}
  - {id: camera_far, kind: distance, text: "filmed over 1000 km from Helsinki",
     subject: camera, reference: memorial, distance: {qualifier: more than, value_m: 1000000},
     direction: north}
  - {id: camera_west, kind: direction, text: "filmed west of the square",
     subject: camera, reference: myru_42_central_square, direction: west}
  - {id: camera_side, kind: side_of_line, text: "filmed north of Kaivokatu",
     subject: camera, line: osm_name_kaivokatu, side: north}
  - {id: camera_in_square, kind: within, text: "filmed on the square",
     subject: camera, area: osm_r2919118}
  - {id: camera_nearest, kind: nearest, text: "filmed next to the Kivi memorial",
     subject: camera, target: memorial, of_kind: {historic: memorial}}
  - {id: camera_shadow, kind: shadow, text: "filmed around noon",
     subject: camera, time: "2016-01-01T12:00:00-08:00",
     shadow: {azimuth_deg: 0, azimuth_error_deg: 10}}
  - {id: memorial_far_from_camera, kind: distance, text: "the memorial is far from the camera",
     subject: memorial, reference: camera, distance: {qualifier: more than, value_m: 1000}}
"""


@pytest.fixture(scope="module")
def registry_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _registry(tmp_path_factory.mktemp("registry") / "registry.geojson")


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory, registry_path: Path) -> dict[str, Any]:
    """Run every kind through ``verify`` (karma.mp4) and ``check``, as a user would."""
    tmp = tmp_path_factory.mktemp("walk")
    registry = registry_path
    claims = tmp / "claims.yaml"
    claims.write_text(WALK)
    out = tmp / "out"
    rc, verify_text, err = _cli(
        "verify", str(KARMA), "--registry", str(registry), "--claims", str(claims),
        "--out", str(out),
    )  # fmt: skip
    assert rc == 0, err
    rc, check_text, err = _cli("check", "--registry", str(registry), "--claims", str(claims))
    assert rc == 0, err
    rc, check_json, err = _cli(
        "check", "--registry", str(registry), "--claims", str(claims), "--json"
    )
    assert rc == 0, err
    return {
        "registry": load_registry(registry),
        "report": json.loads((out / "report.json").read_text()),
        "html": (out / "report.html").read_text(),
        "md": (out / "report.md").read_text(),
        "verify_text": verify_text,
        "check_text": check_text,
        "check_json": json.loads(check_json)["checks"],
    }


# --- every margin in the unit of its measured value ------------------------------------------


def _angle(a: float, b: float) -> float:
    """Signed smallest difference b - a in degrees, in [-180, 180)."""
    return (b - a + 180.0) % 360.0 - 180.0


def _margin_from_range(q: dict[str, Any]) -> float:
    """The margin as its definition says, from the measured value and the claimed range."""
    value, lo, hi = q["measured"], q["claimed_min"], q["claimed_max"]
    if q["unit"] == "deg":  # a sector of bearings: the bearing's turn nearest the sector
        centre = (lo + hi) / 2.0
        value = centre + _angle(centre, value)
    bounds = []
    if lo is not None:
        bounds.append(value - lo)
    if hi is not None:
        bounds.append(hi - value)
    return min(bounds)


def _assert_quantities(quantities: list[dict[str, Any]], where: str) -> None:
    for q in quantities:
        assert q["unit"] in UNITS, where
        if q["margin"] is None:
            continue
        assert q["measured"] is not None, where
        assert q["margin"] == pytest.approx(_margin_from_range(q), abs=TOL_MARGIN[q["unit"]]), (
            f"{where}: {q['name']} margin is not in {q['unit']}"
        )


def _assert_check(check: dict[str, Any]) -> None:
    where = check["name"]
    assert check["unit"] in UNITS
    _assert_quantities(check["quantities"], where)
    if check["quantities"]:  # the headline is the first quantity, in its unit
        head = check["quantities"][0]
        assert (check["measured"], check["margin"], check["unit"]) == (
            head["measured"],
            head["margin"],
            head["unit"],
        ), where
    for cand in check["candidates"]:
        assert cand["unit"] == check["unit"], where  # every choice has its headline in one unit
        _assert_quantities(cand["quantities"], f"{where} {cand['landmarks']}")
        if cand["quantities"]:
            head = cand["quantities"][0]
            assert (cand["measured"], cand["margin"]) == (head["measured"], head["margin"])


def test_the_walk_covers_every_kind_and_every_kind_with_the_camera(walk):
    kinds = set(typing.get_args(typing.get_type_hints(Claim)["kind"]))
    checks = walk["report"]["checks"]
    assert {c["kind"] for c in checks} == kinds
    camera = {c["kind"] for c in checks if c["name"].startswith("camera_")}
    assert camera == kinds
    # with the GoPro track, every claim about the camera was measured at all 12 fixes
    for c in checks:
        if c["name"].startswith("camera_") and c["kind"] != "side_of_line":
            assert len(c["candidates"]) == 12
            assert all(cand["measured"] is not None for cand in c["candidates"]), c["name"]


def test_each_margin_is_in_the_unit_of_its_measured_value_in_the_json(walk):
    report = walk["report"]
    jsonschema.validate(report, SCHEMA)
    unit_enum = SCHEMA["properties"]["checks"]["items"]["properties"]["unit"]["enum"]
    assert unit_enum == list(UNITS)
    for checks in (report["checks"], walk["check_json"]):
        for check in checks:
            _assert_check(check)
    by_name = {c["name"]: c for c in report["checks"]}
    # the case of the issue: a side without a distance is a bearing, its margin in degrees
    side = by_name["kivi_west_of_mannerheimintie"]
    assert side["verdict"] == "inconsistent"
    assert [(q["name"], q["unit"]) for q in side["quantities"]] == [
        ("bearing_from_line", "deg"),
        ("distance_from_line", "m"),
    ]
    assert side["unit"] == "deg"
    assert side["quantities"][1]["margin"] is None  # measured, not claimed
    # a distance and a bearing in one sentence: two quantities, two units, two margins
    both = by_name["station_west_of_square"]
    assert [q["unit"] for q in both["quantities"]] == ["m", "deg"]
    ratio = by_name["ratio_only_shadow"]
    assert ratio["unit"] == "ratio"
    assert ratio["margin"] == ratio["quantities"][0]["margin"] is not None


_SEGMENT = re.compile(
    r"measured (?P<value>-?\d+\.\d+) (?P<unit>m|deg|ratio)"
    r"(?:; claimed (?P<claimed>.*); margin (?P<margin>[+-]\d+\.\d+|-)(?: (?P<margin_unit>\w+))?)?$"
)


def _assert_segments(text: str, check: dict[str, Any]) -> None:
    """One rendered line of a check: a segment per quantity, each number with its unit."""
    segments = text.split(" | ")
    quantities = check["quantities"]
    if not quantities:
        assert text.lstrip().startswith("not measured"), text
        return
    assert len(segments) == len(quantities), text
    for segment, q in zip(segments, quantities, strict=True):
        found = _SEGMENT.search(segment)
        if q["measured"] is None:
            assert "not measured" in segment, segment
            continue
        assert found is not None, segment
        assert found["unit"] == q["unit"], segment
        digits = 3 if q["unit"] == "ratio" else 1
        assert found["value"] == f"{q['measured']:.{digits}f}", segment
        if q["margin"] is not None:
            assert found["margin_unit"] == q["unit"], segment  # the margin in its value's unit
            assert found["margin"] == f"{q['margin']:+.{digits}f}", segment
            assert re.search(rf"\b{q['unit']}\b", found["claimed"]), segment


def _check_blocks(text: str) -> dict[str, str]:
    """Map each check's name to its quantity line in the terminal output."""
    lines = text.splitlines()
    out = {}
    for i, line in enumerate(lines):
        head = re.match(r"(CONSISTENT|INCONSISTENT|INCONCLUSIVE)\s+(\S+): ", line)
        if head:
            out[head[2]] = lines[i + 1].strip()
    return out


def test_each_margin_is_in_the_unit_of_its_measured_value_in_the_terminal(walk):
    checks = {c["name"]: c for c in walk["check_json"]}
    for text in (walk["check_text"], walk["verify_text"]):
        blocks = _check_blocks(text)
        assert set(blocks) == set(checks)
        for name, line in blocks.items():
            # `check` has no footage: the claims about the camera are not measured there
            expected = checks[name] if text is walk["check_text"] else _by_name(walk, name)
            _assert_segments(line, expected)
    # the case: the side's margin in degrees, the distance shown apart, not claimed;
    # both numbers found independently of geoverify (GeographicLib, a foot-point search)
    reg = walk["registry"]
    kivi = next(lm.anchor for lm in reg.landmarks if lm.id == "osm_n60131847")
    dist, bearing = _to_lines(kivi, reg.get("osm_name_mannerheimintie").geometry)
    west = {"measured": bearing, "claimed_min": 180.0, "claimed_max": 360.0, "unit": "deg"}
    margin = _margin_from_range(west)  # the bearing's nearest turn to the west sector
    side = _check_blocks(walk["check_text"])["kivi_west_of_mannerheimintie"]
    assert (
        f"claimed west: bearing 180 to 360 deg; margin {margin:+.1f} deg".replace("+", "") in side
    )
    assert side.endswith(f"distance from the line (not claimed): measured {dist:.1f} m")


def _by_name(walk: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in walk["report"]["checks"] if c["name"] == name)


def test_each_margin_is_in_the_unit_of_its_measured_value_in_report_md(walk):
    lines = [
        ln for ln in walk["md"].splitlines() if re.match(r"- \*\*(in)?(consistent|conclusive)", ln)
    ]
    checks = walk["report"]["checks"]
    assert len(lines) == len(checks)
    for line, check in zip(lines, checks, strict=True):
        detail = line.split(" (", 1)[1] if check["text"].count("(") == 0 else line
        _assert_segments(detail.removesuffix(")"), check)


class _ClaimsTable(HTMLParser):
    """The rows of the claims table: each cell's text, split by quantity."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self._in_verdict_row = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        cls = dict(attrs).get("class") or ""
        if tag == "td" and cls == "verdict":
            self.rows.append([])
            self._in_verdict_row = True
        if tag == "td" and self._in_verdict_row:
            self._cell = [""]
            self.rows[-1].append(self._cell)
        elif tag == "div" and self._cell is not None and cls == "quantity" and self._cell != [""]:
            self._cell.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None
        if tag == "tr":
            self._in_verdict_row = False
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[-1] += data


def test_each_margin_is_in_the_unit_of_its_measured_value_in_report_html(walk):
    table = _ClaimsTable()
    table.feed(walk["html"])
    checks = walk["report"]["checks"]
    assert len(table.rows) == len(checks)
    for row, check in zip(table.rows, checks, strict=True):
        _verdict, _text, measured, claimed, margins, _survives = row
        quantities = check["quantities"]
        if not quantities:
            assert measured == ["not measured"]
            continue
        assert len(measured) == len(claimed) == len(margins) == len(quantities)
        for m, c, g, q in zip(measured, claimed, margins, quantities, strict=True):
            value = m.rsplit(": ", 1)[1]  # "label: 470.0 m"
            segment = f"measured {value}; claimed {c}; margin {g}"
            if q["margin"] is None:
                segment = f"measured {value}"
                assert g == "-"
            _assert_segments(segment, {**check, "quantities": [q]})


# --- the numbers, against GeographicLib --------------------------------------------------------


def _inv(a: LatLon, b: LatLon) -> tuple[float, float]:
    """(initial bearing from a to b in [0, 360), geodesic distance in metres), GeographicLib."""
    az, _, dist = GEOD.inv(a.lon, a.lat, b.lon, b.lat)
    return az % 360.0, dist


def _foot(p: LatLon, a: LatLon, b: LatLon) -> tuple[float, float]:
    """(distance m, bearing from the line to p) for the geodesic segment a-b, by bisection.

    The nearest point of a geodesic to p is where the geodesic from p meets it at a right
    angle (or an end): bisection on the cosine of that angle, every step by pyproj.Geod.
    """
    az_ab, _, length = GEOD.inv(a.lon, a.lat, b.lon, b.lat)

    def at(t: float) -> tuple[LatLon, float]:
        lon, lat, back = GEOD.fwd(a.lon, a.lat, az_ab, t * length)
        return LatLon(lat, lon), back + 180.0  # the segment's azimuth at that point

    def ahead(t: float) -> float:
        foot, az_line = at(t)
        return math.cos(math.radians(_inv(foot, p)[0] - az_line))

    lo, hi = 0.0, 1.0
    if ahead(lo) <= 0:
        hi = 0.0
    elif ahead(hi) >= 0:
        lo = 1.0
    else:
        for _ in range(80):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if ahead(mid) > 0 else (lo, mid)
    foot, _ = at((lo + hi) / 2)
    bearing, dist = _inv(foot, p)
    return dist, bearing


def _to_lines(p: LatLon, geometry: Any) -> tuple[float, float]:
    parts = getattr(geometry, "geoms", [geometry])
    rings = []
    for part in parts:
        if part.geom_type == "Polygon":
            rings += [part.exterior, *part.interiors]
        else:
            rings.append(part)
    best = (math.inf, math.nan)
    for ring in rings:
        pts = [LatLon(y, x) for x, y, *_ in ring.coords]
        for a, b in itertools.pairwise(pts):
            if a != b:
                best = min(best, _foot(p, a, b))
    return best


def _quantity(check: dict[str, Any], name: str) -> dict[str, Any]:
    return next(q for q in check["quantities"] if q["name"] == name)


def test_a_number_of_every_kind_against_geographiclib(walk):
    reg = walk["registry"]
    pos = {lm.id: lm.anchor for lm in reg.landmarks if lm.anchor is not None}
    checks = {c["name"]: c for c in walk["report"]["checks"]}
    # distance: every published centre, every candidate
    for cand in checks["station_near_centre"]["candidates"]:
        expected = _inv(pos["railway_station_bakhmut"], pos[cand["landmarks"]["reference"]])[1]
        assert cand["measured"] == pytest.approx(expected, abs=TOL_M)
    for cand in checks["photos_near_dom"]["candidates"]:
        expected = _inv(pos[cand["landmarks"]["subject"]], pos["berliner_dom"])[1]
        assert cand["measured"] == pytest.approx(expected, abs=TOL_M)
    # a distance with a direction: both numbers
    both = checks["station_west_of_square"]
    az, dist = _inv(pos["myru_42_central_square"], pos["railway_station_bakhmut"])
    assert _quantity(both, "distance")["measured"] == pytest.approx(dist, abs=TOL_M)
    assert _quantity(both, "bearing")["measured"] == pytest.approx(az, abs=TOL_DEG)
    # direction
    az, _ = _inv(pos["centre_children_youth_former_bank"], pos["former_city_hall_zemstvo"])
    assert checks["hall_north_of_bank"]["measured"] == pytest.approx(az, abs=TOL_DEG)
    # side of a line: distance from the street and bearing from it, found independently
    for name, subject, street in (
        ("kivi_west_of_mannerheimintie", "osm_n60131847", "osm_name_mannerheimintie"),
        ("kivi_west_of_mikonkatu", "osm_n60131847", "osm_name_mikonkatu"),
        ("edelfelt_south_of_kaivokatu", "osm_n60131839", "osm_name_kaivokatu"),
    ):
        dist, bearing = _to_lines(pos[subject], reg.get(street).geometry)
        assert _quantity(checks[name], "distance_from_line")["measured"] == pytest.approx(
            dist, abs=TOL_M
        ), name
        assert _quantity(checks[name], "bearing_from_line")["measured"] == pytest.approx(
            bearing, abs=TOL_DEG
        ), name
    # within: the distance to the square's edge (outside: negative)
    square = reg.get("osm_r2919118").geometry
    edge, _ = _to_lines(pos["osm_n60131847"], square)
    inside = checks["kivi_on_the_square"]
    assert abs(inside["measured"]) == pytest.approx(edge, abs=TOL_M)
    assert inside["measured"] < 0  # the Kivi memorial stands just off the mapped square
    # nearest: the target's distance, and the claimed bound is the nearest other's
    nearest = checks["nearest_building"]
    assert nearest["measured"] == pytest.approx(
        _inv(pos["railway_station_bakhmut"], pos["myru_42_central_square"])[1], abs=TOL_M
    )
    assert nearest["quantities"][0]["claimed_max"] == pytest.approx(
        _inv(pos["railway_station_bakhmut"], pos["former_city_hall_zemstvo"])[1], abs=TOL_M
    )
    # shadow: the claimed range is centred on the published sun azimuth + 180
    azimuth = _quantity(checks["golden_shadow"], "shadow_azimuth")
    centre = (azimuth["claimed_min"] + azimuth["claimed_max"]) / 2
    published = SPA["expected"]["azimuth_deg"] + 180.0
    assert _angle(published, centre) == pytest.approx(0.0, abs=TOL_SUN_DEG)
    # the camera: each GPS fix of karma.mp4 against the Kivi memorial
    cameras = walk["report"]["cameras"]
    for cand in checks["camera_far"]["candidates"]:
        i = int(cand["landmarks"]["subject"].rsplit("_", 1)[1]) - 1
        fix = LatLon(cameras[i]["position"]["lat"], cameras[i]["position"]["lon"])
        az, dist = _inv(pos["osm_n60131847"], fix)
        assert cand["quantities"][0]["measured"] == pytest.approx(dist, abs=TOL_M)
        assert cand["quantities"][1]["measured"] == pytest.approx(az, abs=TOL_DEG)


# --- camera with every role form (item 3) ------------------------------------------------------

# {part: (plain landmark id, role with candidates, role with candidates and a kind)}
_FORMS = {
    "plain": {},
    "candidates": {
        "building": "[myru_42_central_square, former_city_hall_zemstvo]",
        "street": "[osm_name_mikonkatu]",
        "square": "[osm_r2919118]",
        "memorial": "[osm_n60131847]",
    },
    "kind": {
        "building": '{candidates: [myru_42_central_square], kind: {building: "yes"}}',
        "street": '{candidates: [osm_name_mikonkatu], kind: {highway: "*"}}',
        "square": "{candidates: [osm_r2919118], kind: {place: square}}",
        "memorial": "{candidates: [osm_n60131847], kind: {historic: memorial}}",
    },
}
_PLAIN = {
    "building": "myru_42_central_square",
    "street": "osm_name_mikonkatu",
    "square": "osm_r2919118",
    "memorial": "osm_n60131847",
}
_CAMERA_CLAIMS = """\
  - {{id: d_from, kind: distance, text: t, subject: camera, reference: {building},
     distance: {{qualifier: about, value_m: 200}}}}
  - {{id: d_to, kind: distance, text: t, subject: {building}, reference: camera,
     distance: {{qualifier: about, value_m: 200}}, direction: west}}
  - {{id: dir_from, kind: direction, text: t, subject: camera, reference: {building},
     direction: north}}
  - {{id: dir_to, kind: direction, text: t, subject: {building}, reference: camera,
     direction: north}}
  - {{id: side_from, kind: side_of_line, text: t, subject: camera, line: {street}, side: east,
     distance: {{qualifier: under, value_m: 100}}}}
  - {{id: side_to, kind: side_of_line, text: t, subject: {memorial}, line: camera, side: east}}
  - {{id: in_from, kind: within, text: t, subject: camera, area: {square}}}
  - {{id: in_to, kind: within, text: t, subject: {memorial}, area: camera}}
  - {{id: near_from, kind: nearest, text: t, subject: camera, target: {memorial},
     of_kind: {{historic: memorial}}}}
  - {{id: near_to, kind: nearest, text: t, subject: {memorial}, target: camera,
     of_kind: {{historic: memorial}}}}
  - {{id: sun, kind: shadow, text: t, subject: camera, time: "2016-01-01T12:00:00-08:00",
     shadow: {{azimuth_deg: 0, azimuth_error_deg: 10}}}}
  - {{id: place, kind: distance, text: a sentence about the place alone,
     subject: {building}, reference: railway_station_bakhmut,
     distance: {{qualifier: under, value_m: 2000}}}}
"""


def _role_form_claims(form: str) -> str:
    roles = _FORMS[form]
    names = {part: part if roles else _PLAIN[part] for part in _PLAIN}
    lines = ["claims_version: 2", f"footage: {{shows: {names['building']}}}"]
    if roles:
        lines.append("roles:")
        lines += [f"  {part}: {spec}" for part, spec in roles.items()]
    lines.append("claims:")
    return "\n".join(lines) + "\n" + _CAMERA_CLAIMS.format(**names)


@pytest.mark.parametrize("form", sorted(_FORMS))
def test_camera_runs_with_every_role_form(form, registry_path, tmp_path):
    claims = tmp_path / "claims.yaml"
    claims.write_text(_role_form_claims(form))
    reg = str(registry_path)
    rc, out, err = _cli("claims", "validate", str(claims), "--registry", reg)
    assert rc == 0, err
    rc, out, err = _cli("check", "--registry", reg, "--claims", str(claims), "--json")
    assert rc == 0, err  # not exit 4 "no landmark 'camera'"
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert all(
        "states no position" in checks[n]["notes"][0] for n in checks if n != "place"
    )  # no footage, no camera position: inconclusive, never an error
    lines = {ln["line"]: ln for ln in json.loads(out)["bottom_line"]["lines"]}
    if form == "kind":  # the role's kind ranks the buildings on the one sentence about the place
        assert lines["specificity"]["numbers"]["landmarks_of_kind_with_position"] >= 2
        assert "d_from" in lines["specificity"]["notes"][0]  # left out, and said so
    rc, out, err = _cli(
        "verify", str(KARMA), "--registry", reg, "--claims", str(claims),
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert rc == 0, err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    by_name = {c["name"]: c for c in report["checks"]}
    fixes = {f"camera_position_{i}" for i in range(1, 13)}  # the GoPro track's 12 fixes
    for name in ("d_from", "dir_from", "in_from", "near_from", "sun"):
        assert {c["landmarks"]["subject"] for c in by_name[name]["candidates"]} == fixes
        assert by_name[name]["measured"] is not None, name
    for name in ("d_to", "dir_to", "near_to"):
        assert {c["landmarks"]["reference"] for c in by_name[name]["candidates"]} == fixes
        assert by_name[name]["measured"] is not None, name
    assert "not an area" in by_name["in_to"]["notes"][0]
    assert "not a line" in by_name["side_to"]["notes"][0]


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        (  # a role with a kind naming a landmark the registry lacks
            "roles: {building: {candidates: [no_such_building], kind: {building: 'yes'}}}\n"
            "footage: {shows: building}\nclaims:\n"
            " - {id: d, kind: distance, text: t, subject: camera, reference: building,"
            " distance: {qualifier: about, value_m: 200}}\n",
            "E_CLAIMS_UNKNOWN_LANDMARK",
        ),
        (  # the footage said to show its own positions
            "footage: {shows: camera}\nclaims: []\n",
            "E_CLAIMS_INVALID",
        ),
        (
            "footage: {filmed_at: {role: camera, within_m: 100}}\nclaims: []\n",
            "E_CLAIMS_INVALID",
        ),
        (  # the footage's positions as a candidate of a role
            "roles: {spot: [camera]}\nclaims:\n"
            " - {id: d, kind: distance, text: t, subject: spot, reference: osm_n60131847,"
            " distance: {qualifier: about, value_m: 200}}\n",
            "E_CLAIMS_INVALID",
        ),
    ],
)
def test_validate_refuses_what_check_refuses(claims, code, registry_path, tmp_path):
    path = tmp_path / "claims.yaml"
    path.write_text("claims_version: 2\n" + claims)
    reg = str(registry_path)
    for args in (
        ("claims", "validate", str(path), "--registry", reg, "--json"),
        ("check", "--registry", reg, "--claims", str(path), "--json"),
    ):
        rc, out, _ = _cli(*args)
        assert rc == 4, args
        assert json.loads(out)["error"]["code"] == code


def test_rank_candidates_with_and_without_the_camera(registry_path):
    """The library: a claim about the camera ranks by the footage's positions when given."""
    from geoverify.evidence import CameraPosition

    reg = load_registry(registry_path)
    path = registry_path.parent / "rank.yaml"
    path.write_text(_role_form_claims("kind"))
    cs = load_claims(path)
    assert {r.landmark_id for r in rank_candidates(reg, cs, "building")} >= {
        "myru_42_central_square",
        "railway_station_bakhmut",
    }
    # a camera 200 m east of the former city hall: only that building is about 200 m away
    hall = reg.get("former_city_hall_zemstvo").anchor
    lon, lat, _ = GEOD.fwd(hall.lon, hall.lat, 90.0, 200.0)
    fix = CameraPosition(
        label="test fix", position=LatLon(lat, lon), accuracy_m=None, time_utc=None, source="t"
    )
    only = dataclasses.replace(cs, claims=tuple(c for c in cs.claims if c.id == "d_from"))
    ranks = rank_candidates(reg, only, "building", camera=[fix])
    assert ranks[0].landmark_id == "former_city_hall_zemstvo"
    assert ranks[0].consistent == 1
    assert ranks[0].worst_margin_unit == "m"
    (check,) = check_claims(reg, only, camera=[fix])
    assert check.verdict.value == "inconsistent"  # the role names the other building
    assert check.unit == "m"
    assert check.measured == pytest.approx(
        _inv(fix.position, reg.get("myru_42_central_square").anchor)[1], abs=TOL_M
    )
