"""Claims: verdicts built on geodesic constructions, qualifiers, roles, uncertainty, bad files."""

from __future__ import annotations

import pytest
import yaml
from shapely.geometry import LineString, Polygon

from geoverify import LatLon, RegistryError, Verdict
from geoverify.claims import (
    QUALIFIERS,
    check_claims,
    claims_from_data,
    load_claims,
    rank_candidates,
)
from geoverify.geodesy import destination
from geoverify.registry import Landmark, Registry, point_landmark as pl

ORIGIN = LatLon(48.59, 38.0)
TOL_M = 1e-3


def _reg(*landmarks):
    return Registry(name="t", landmarks=tuple(landmarks))


def _claims(*claims, roles=None):
    return claims_from_data({"claims_version": 1, "roles": roles or {}, "claims": list(claims)})


def _dist_claim(cid="c", subject="a", reference="b", **distance):
    return {
        "id": cid,
        "kind": "distance",
        "text": "t",
        "subject": subject,
        "reference": reference,
        "distance": distance,
    }


def _only(reg, cs):
    (result,) = check_claims(reg, cs)
    return result


def test_distance_verdicts_and_margin():
    b = destination(ORIGIN, 77.0, 1900.0)  # built geodesically: 1900 m away
    reg = _reg(pl("a", "a", ORIGIN), pl("b", "b", b))
    r = _only(reg, _claims(_dist_claim(qualifier="about", value_m=2000)))
    assert r.verdict is Verdict.CONSISTENT
    assert r.measured == pytest.approx(1900.0, abs=TOL_M)
    assert r.margin == pytest.approx(300.0, abs=TOL_M)  # 1900 - 1600
    assert "[1600, 2400] m" in r.expected
    r = _only(reg, _claims(_dist_claim(qualifier="just under", value_m=1500)))
    assert r.verdict is Verdict.INCONSISTENT
    assert r.margin == pytest.approx(-400.0, abs=TOL_M)


def test_value_exactly_on_the_bound_is_decided_the_same_every_time():
    b = destination(ORIGIN, 10.0, 500.0)
    reg = _reg(pl("a", "a", ORIGIN), pl("b", "b", b))
    results = {_only(reg, _claims(_dist_claim(range_m=[400.0, 500.0]))).verdict for _ in range(5)}
    assert results == {Verdict.CONSISTENT}


def test_uncertainty_straddling_a_bound_is_inconclusive():
    b = destination(ORIGIN, 200.0, 480.0)
    reg = _reg(pl("a", "a", ORIGIN, uncertainty_m=15.0), pl("b", "b", b, uncertainty_m=15.0))
    r = _only(reg, _claims(_dist_claim(qualifier="just under", value_m=500)))
    assert r.verdict is Verdict.INCONCLUSIVE
    assert r.candidates[0].possible_max == pytest.approx(510.0, abs=TOL_M)
    assert "straddle" in r.notes[0]


def test_role_with_several_candidates_reports_each_and_whether_it_survives():
    near = destination(ORIGIN, 90.0, 900.0)
    far = destination(ORIGIN, 90.0, 1100.0)
    reg = _reg(pl("a", "a", ORIGIN), pl("c1", "c1", near), pl("c2", "c2", far))
    cs = _claims(
        _dist_claim(reference="centre", qualifier="within", value_m=1000),
        roles={"centre": {"candidates": ["c1", "c2"]}},
    )
    r = _only(reg, cs)
    assert r.verdict is Verdict.INCONCLUSIVE
    assert r.survives_choice is False
    assert [c.verdict for c in r.candidates] == [Verdict.CONSISTENT, Verdict.INCONSISTENT]
    assert any("depends on which landmark" in n for n in r.notes)


def test_direction_sector_wraps_north():
    reg = _reg(pl("ref", "ref", ORIGIN), pl("s", "s", destination(ORIGIN, 359.9, 1000.0)))
    claim = {
        "id": "d",
        "kind": "direction",
        "text": "north of",
        "subject": "s",
        "reference": "ref",
        "direction": "north",
    }
    r = _only(reg, _claims(claim))
    assert r.verdict is Verdict.CONSISTENT
    assert r.measured == pytest.approx(359.9, abs=1e-6)
    assert r.margin == pytest.approx(44.9, abs=1e-6)
    east = {**claim, "direction": "east"}
    assert _only(reg, _claims(east)).verdict is Verdict.INCONSISTENT
    narrow = {**claim, "direction": "bearing:0.1", "half_width_deg": 0.1}
    r = _only(reg, _claims(narrow))
    assert r.verdict is Verdict.INCONSISTENT  # 359.9 vs 0.1 differ by 0.2 deg
    assert r.margin == pytest.approx(-0.1, abs=1e-6)


def _river():
    # a river flowing north through ORIGIN, 4 km long, built from geodesic destinations
    south = destination(ORIGIN, 180.0, 2000.0)
    north = destination(ORIGIN, 0.0, 2000.0)
    return Landmark(
        id="river",
        name="river",
        tags={"waterway": "river"},
        geometry=LineString(
            [(south.lon, south.lat), (ORIGIN.lon, ORIGIN.lat), (north.lon, north.lat)]
        ),
    )


def _side_claim(side="east", **distance):
    claim = {
        "id": "s",
        "kind": "side_of_line",
        "text": "x m east of the river",
        "subject": "m",
        "line": "river",
        "side": side,
    }
    if distance:
        claim["distance"] = distance
    return claim


def test_side_of_line_east_with_distance():
    m = destination(ORIGIN, 90.0, 470.0)
    reg = _reg(_river(), pl("m", "m", m))
    r = _only(reg, _claims(_side_claim(qualifier="just under", value_m=500)))
    assert r.verdict is Verdict.CONSISTENT
    assert r.measured == pytest.approx(470.0, abs=0.01)
    assert _only(reg, _claims(_side_claim(side="west"))).verdict is Verdict.INCONSISTENT
    far = _reg(_river(), pl("m", "m", destination(ORIGIN, 90.0, 700.0)))
    assert (
        _only(far, _claims(_side_claim(qualifier="just under", value_m=500))).verdict
        is Verdict.INCONSISTENT
    )


def test_side_of_a_point_river_is_inconclusive_with_reason():
    reg = _reg(pl("river", "river", ORIGIN), pl("m", "m", destination(ORIGIN, 90.0, 470.0)))
    r = _only(reg, _claims(_side_claim()))
    assert r.verdict is Verdict.INCONCLUSIVE
    assert "not a line" in r.notes[0]


def test_missing_position_is_inconclusive_not_a_guess():
    reg = _reg(_river(), Landmark(id="m", name="T-34"))
    r = _only(reg, _claims(_side_claim()))
    assert r.verdict is Verdict.INCONCLUSIVE
    assert r.measured is None
    assert "no sourced position" in r.notes[0]


def test_within_area_and_nearest():
    corners = [destination(ORIGIN, b, 1000.0) for b in (45.0, 135.0, 225.0, 315.0)]
    area = Landmark(id="area", name="area", geometry=Polygon([(p.lon, p.lat) for p in corners]))
    inside = pl("in", "in", destination(ORIGIN, 10.0, 300.0))
    outside = pl("out", "out", destination(ORIGIN, 10.0, 1500.0))
    reg = _reg(
        area,
        inside,
        outside,
        pl("s1", "s1", destination(ORIGIN, 0, 200.0), tags={"amenity": "school"}),
        pl("s2", "s2", destination(ORIGIN, 0, 900.0), tags={"amenity": "school"}),
    )
    within = {"id": "w", "kind": "within", "text": "in the area", "subject": "in", "area": "area"}
    assert _only(reg, _claims(within)).verdict is Verdict.CONSISTENT
    assert _only(reg, _claims({**within, "subject": "out"})).verdict is Verdict.INCONSISTENT
    nearest = {
        "id": "n",
        "kind": "nearest",
        "text": "nearest school",
        "subject": "in",
        "target": "s1",
        "of_kind": {"amenity": "school"},
    }
    assert _only(reg, _claims(nearest)).verdict is Verdict.CONSISTENT
    assert _only(reg, _claims({**nearest, "target": "s2"})).verdict is Verdict.INCONSISTENT


def test_rank_candidates_orders_by_fit():
    reg = _reg(
        pl("centre", "centre", ORIGIN),
        pl("m1", "m1", destination(ORIGIN, 90.0, 2050.0), tags={"historic": "memorial"}),
        pl("m2", "m2", destination(ORIGIN, 90.0, 800.0), tags={"historic": "memorial"}),
        pl("shop", "shop", destination(ORIGIN, 90.0, 2000.0)),
    )
    cs = _claims(
        _dist_claim(subject="monument", reference="centre", qualifier="about", value_m=2000),
        roles={"monument": {"candidates": ["m2"], "kind": {"historic": "memorial"}}},
    )
    ranks = rank_candidates(reg, cs, "monument")
    assert [r.landmark_id for r in ranks] == ["m1", "m2"]
    assert ranks[0].consistent == 1
    assert ranks[1].inconsistent == 1


def test_qualifier_table_is_the_documented_one():
    assert QUALIFIERS["just under"] == (0.8, 1.0)
    assert QUALIFIERS["about"] == (0.8, 1.2)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (
            {"claims_version": 1, "claims": [_dist_claim(qualifier="roughly-ish", value_m=1)]},
            "unknown qualifier",
        ),
        ({"claims_version": 1, "claims": [_dist_claim(value_m=-5, qualifier="about")]}, "value_m"),
        (
            {"claims_version": 1, "claims": [{"id": "x", "kind": "teleport", "text": "t"}]},
            "/claims/0",
        ),
        ({"claims_version": 3, "claims": []}, "claims_version"),
        ({"claims_version": 1, "claims": [_dist_claim(), _dist_claim()]}, "qualifier"),
    ],
)
def test_bad_claims_are_listed(data, fragment):
    with pytest.raises(RegistryError) as exc:
        claims_from_data(data)
    assert exc.value.code == "E_CLAIMS_INVALID"
    assert fragment in exc.value.detail


def test_yaml_aliases_and_syntax_refused(tmp_path):
    bomb = tmp_path / "c.yaml"
    bomb.write_text("a: &x [1, 2]\nb: *x\n")
    with pytest.raises(RegistryError) as exc:
        load_claims(bomb)
    assert "aliases" in exc.value.message
    broken = tmp_path / "b.yaml"
    broken.write_text("claims: [\n")
    with pytest.raises(RegistryError):
        load_claims(broken)


def test_bakhmut_sample_says_what_it_can_and_cannot_decide():
    from conftest import ROOT

    from geoverify.registry import load_registry

    reg = load_registry(ROOT / "samples" / "bakhmut" / "registry.geojson")
    cs = load_claims(ROOT / "samples" / "bakhmut" / "claims.yaml")
    results = {r.name: r for r in check_claims(reg, cs)}
    # no sourced coordinate of the monument: never a guess
    assert results["east_of_river"].verdict is Verdict.INCONCLUSIVE
    assert results["from_centre"].verdict is Verdict.INCONCLUSIVE
    # the centre-point sensitivity: one published centre says yes, two say no
    station = results["station_near_centre"]
    assert station.survives_choice is False
    verdicts = [c.verdict for c in station.candidates]
    assert verdicts.count(Verdict.CONSISTENT) == 1
    assert verdicts.count(Verdict.INCONSISTENT) == 2
    yaml.safe_load((ROOT / "samples" / "bakhmut" / "claims.yaml").read_text())


def test_shadow_claim_at_a_place_and_time():
    from datetime import UTC, datetime

    from geoverify.sun import sun_position

    sun = sun_position(ORIGIN, datetime(2023, 3, 6, 8, 30, tzinfo=UTC))
    claim = {
        "id": "sh",
        "kind": "shadow",
        "text": "filmed at 10:30 local time on 6 March 2023",
        "subject": "a",
        "time": "2023-03-06T10:30",
        "tz": "Europe/Kyiv",
        "shadow": {"azimuth_deg": round(sun.shadow_azimuth_deg + 2.0, 3), "azimuth_error_deg": 5},
    }
    reg = _reg(pl("a", "a", ORIGIN), Landmark(id="nowhere", name="no position"))
    r = _only(reg, _claims(claim))
    assert r.verdict is Verdict.CONSISTENT
    assert r.margin == pytest.approx(3.0, abs=1e-3)
    late = {**claim, "time": "2023-03-06T15:30"}
    assert _only(reg, _claims(late)).verdict is Verdict.INCONSISTENT
    assert _only(reg, _claims({**claim, "subject": "nowhere"})).verdict is Verdict.INCONCLUSIVE
    with pytest.raises(RegistryError) as exc:
        claims_from_data({"claims_version": 1, "claims": [{**claim, "tz": None}]})
    assert "no time zone" in exc.value.detail


def test_side_of_line_margin_is_in_the_unit_of_what_it_compares():
    """Issue 30, item 2: "west of the river" measures a bearing; its margin is in degrees."""
    from geoverify.cli._common import render_check

    m = destination(ORIGIN, 90.0, 125.3)  # east of a river flowing north
    reg = _reg(_river(), pl("m", "m", m))
    r = _only(reg, _claims(_side_claim(side="west")))
    assert r.verdict is Verdict.INCONSISTENT
    assert (r.unit, r.measured, r.margin) == (
        "deg",
        pytest.approx(90.0, abs=1e-6),
        pytest.approx(-90.0, abs=1e-6),
    )
    side, dist = r.quantities
    assert (side.unit, side.claimed_min, side.claimed_max) == ("deg", 180.0, 360.0)
    assert (dist.unit, dist.margin) == ("m", None)  # measured, not claimed
    assert dist.measured == pytest.approx(125.3, abs=TOL_M)
    line = render_check(r)[1]
    assert "claimed west: bearing 180 to 360 deg; margin -90.0 deg" in line
    assert "margin -90.0 m" not in line
    # with a distance claimed, each margin is in its own quantity's unit
    r = _only(reg, _claims(_side_claim(side="west", qualifier="about", value_m=100)))
    assert [(q.name, q.unit) for q in r.quantities] == [
        ("distance_from_line", "m"),
        ("bearing_from_line", "deg"),
    ]
    assert r.quantities[0].margin == pytest.approx(120.0 - 125.3, abs=TOL_M)
    assert r.quantities[1].margin == pytest.approx(-90.0, abs=1e-6)
    assert (r.unit, r.margin) == ("m", r.quantities[0].margin)


def test_a_shadow_about_the_camera_without_positions_is_inconclusive_not_a_crash():
    claim = {
        "id": "sun",
        "kind": "shadow",
        "text": "filmed at noon",
        "subject": "camera",
        "time": "2023-03-06T12:00+02:00",
        "shadow": {"length_ratio": 1.5},
    }
    cs = claims_from_data({"claims_version": 2, "claims": [claim]})
    (r,) = check_claims(_reg(pl("a", "a", ORIGIN)), cs)
    assert r.verdict is Verdict.INCONCLUSIVE
    assert r.unit == "ratio"
    assert "states no position" in r.notes[0]


@pytest.mark.parametrize(
    ("distance_m", "uncertainty_m", "want"),
    [
        (48.7, 200.0, Verdict.INCONCLUSIVE),  # the line may lie on either side of the point
        (470.0, 200.0, Verdict.INCONSISTENT),  # even 200 m off, the point stays west
    ],
)
def test_a_side_is_undecided_when_the_line_may_lie_beyond_the_point(
    distance_m, uncertainty_m, want
):
    import dataclasses

    river = dataclasses.replace(_river(), uncertainty_m=uncertainty_m)
    reg = _reg(river, pl("m", "m", destination(ORIGIN, 270.0, distance_m)))
    r = _only(reg, _claims(_side_claim(side="east")))
    assert r.verdict is want, r


# --- a whole day claimed in a zone (filmed_on + tz) -----------------------------------------


def _footage(**footage):
    return claims_from_data({"claims_version": 2, "footage": footage, "claims": []})


@pytest.mark.parametrize(
    ("day", "zone", "start", "end"),
    [
        # Kyiv is UTC+2 (EET) in early March 2023: the day runs 22:00 to 22:00 UTC
        ("2023-03-06", "Europe/Kyiv", "2023-03-05T22:00:00+00:00", "2023-03-06T22:00:00+00:00"),
        # Berlin moved to CEST at 01:00 UTC on 26 March 2023: a day of 23 hours
        ("2023-03-26", "Europe/Berlin", "2023-03-25T23:00:00+00:00", "2023-03-26T22:00:00+00:00"),
        # Santiago left DST at 03:00 UTC on 2 April 2023 (24:00 on 1 April became 23:00,
        # tzdata's "Apr Sun>=2 3:00u"): 1 April lasted 25 hours
        (
            "2023-04-01",
            "America/Santiago",
            "2023-04-01T03:00:00+00:00",
            "2023-04-02T04:00:00+00:00",
        ),
        # Santiago's clocks went from 24:00 to 01:00 at 04:00 UTC on 3 September 2023
        # (tzdata's "Sep Sun>=2 4:00u"): the day starts then and lasts 23 hours
        (
            "2023-09-03",
            "America/Santiago",
            "2023-09-03T04:00:00+00:00",
            "2023-09-04T03:00:00+00:00",
        ),
    ],
)
def test_a_whole_day_is_the_window_of_that_day_in_its_zone(day, zone, start, end):
    from datetime import datetime

    hyp = _footage(shows="a", filmed_on=day, tz=zone).footage
    assert hyp.filmed_from_utc == datetime.fromisoformat(start)
    assert hyp.filmed_until_utc == datetime.fromisoformat(end)


def test_tz_also_reads_filmed_between_times_without_an_offset():
    from datetime import UTC, datetime

    hyp = _footage(filmed_between=["2023-03-06T10:00", None], tz="Europe/Kyiv").footage
    assert hyp.filmed_from_utc == datetime(2023, 3, 6, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("footage", "said"),
    [
        ({"filmed_on": "2023-03-06"}, "filmed_on needs tz"),
        (
            {"filmed_on": "2023-03-06", "tz": "Europe/Kyv"},
            "unknown time zone 'Europe/Kyv' (did you mean 'Europe/Kyiv'?)",
        ),
        ({"filmed_on": "2023-02-30", "tz": "UTC"}, "is not a day YYYY-MM-DD"),
        (
            {"filmed_between": ["2023-03-06T10:00", None], "tz": "Europe/Kyv"},
            "filmed_between/0: unknown time zone 'Europe/Kyv' (did you mean 'Europe/Kyiv'?)",
        ),
        (
            {"filmed_between": ["2023-03-06T10:00", None]},
            "filmed_between/0: time '2023-03-06T10:00' has no time zone (give the UTC offset)",
        ),
        (
            {"filmed_on": "2023-03-06", "tz": "UTC", "filmed_between": [None, None]},
            "either filmed_on (a whole day) or filmed_between",
        ),
    ],
)
def test_a_bad_day_claim_is_refused_with_its_place(footage, said):
    with pytest.raises(RegistryError) as err:
        _footage(**footage)
    assert err.value.code == "E_CLAIMS_INVALID"
    assert said in (err.value.detail or err.value.message)
    assert "/footage" in (err.value.detail or err.value.message)
    assert "Value error" not in f"{err.value.detail} {err.value.message}"  # not our words
