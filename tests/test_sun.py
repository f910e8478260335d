"""Sun position against the published NREL SPA output; shadow checks and inverse searches."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from conftest import DATA

from geoverify import InputError, LatLon, Verdict
from geoverify.sun import (
    ShadowMeasurement,
    check_shadow,
    shadow_azimuth_from_image,
    shadow_places,
    shadow_time_windows,
    sun_position,
    sun_positions,
)

TOL_DEG = 1e-6  # against the SPA tester's published output (printed to 6 decimals)
REF = json.loads((DATA / "solar_position" / "spa_reference_vectors.json").read_text())
VECTORS = {v["id"]: v for v in REF["position_vectors"]}
GOLDEN = LatLon(39.742476, -105.1786)
BAKHMUT = LatLon(48.59472, 38.00083)  # Wikipedia city point (samples/bakhmut)


def test_nrel_spa_reference_output():
    v = VECTORS["nrel_spa_golden_2003"]
    i, e = v["input"], v["expected"]
    when = datetime.fromisoformat(i["local_time"]).replace(
        tzinfo=timezone(timedelta(hours=i["utc_offset_hours"]))
    )
    sun = sun_position(
        LatLon(i["lat"], i["lon"]),
        when,
        elevation_m=i["elevation_m"],
        pressure_hpa=i["pressure_mbar"],
        temperature_c=i["temperature_c"],
        delta_t=i["delta_t_s"],
    )
    assert sun.zenith_deg == pytest.approx(e["topocentric_zenith_deg"], abs=TOL_DEG)
    assert sun.azimuth_deg == pytest.approx(e["topocentric_azimuth_deg"], abs=TOL_DEG)
    assert sun.elevation_geometric_deg == pytest.approx(
        e["geometric_elevation_e0_deg"], abs=TOL_DEG
    )
    assert sun.elevation_deg == pytest.approx(e["apparent_elevation_deg"], abs=TOL_DEG)
    assert sun.shadow_azimuth_deg == pytest.approx(
        (e["topocentric_azimuth_deg"] + 180) % 360, abs=TOL_DEG
    )


def test_same_instant_in_a_dst_zone():
    v = VECTORS["pvlib_golden_2003_dst_variant"]
    i, e = v["input"], v["expected"]
    when = datetime.fromisoformat(i["local_time"]).replace(tzinfo=ZoneInfo("America/Denver"))
    assert when.utcoffset() == timedelta(hours=-6)  # MDT in October 2003
    sun = sun_position(
        GOLDEN,
        when,
        elevation_m=i["elevation_m"],
        pressure_hpa=i["pressure_pa"] / 100,
        temperature_c=i["temperature_c"],
        delta_t=i["delta_t_s"],
    )
    assert sun.azimuth_deg == pytest.approx(e["azimuth_deg"], abs=TOL_DEG)
    assert 90 - sun.elevation_deg == pytest.approx(e["apparent_zenith_deg"], abs=TOL_DEG)


def test_next_day_with_the_delta_t_model():
    v = VECTORS["pvlib_golden_2003_next_day"]
    i, e = v["input"], v["expected"]
    when = datetime.fromisoformat(i["utc"].replace("Z", "+00:00"))
    sun = sun_position(
        GOLDEN, when, pressure_hpa=i["pressure_pa"] / 100, temperature_c=i["temperature_c"]
    )
    tol = 1e-4  # the vector's own note: it depends on the Delta T estimate at this level
    assert sun.azimuth_deg == pytest.approx(e["azimuth_deg"], abs=tol)
    assert 90 - sun.elevation_deg == pytest.approx(e["apparent_zenith_deg"], abs=tol)


def test_vectorised_equals_scalar():
    times = [datetime(2023, 3, 6, h, 17, tzinfo=UTC) for h in range(0, 24, 3)]
    arr = sun_positions(BAKHMUT.lat, BAKHMUT.lon, [t.timestamp() for t in times])
    for k, t in enumerate(times):
        s = sun_position(BAKHMUT, t)
        assert arr["azimuth_deg"][k] == pytest.approx(s.azimuth_deg, abs=1e-9)
        assert arr["elevation_deg"][k] == pytest.approx(s.elevation_deg, abs=1e-9)


def test_interpolated_series_match_direct_evaluation():
    t = 1.67e9 + np.arange(20_000) * 37.0  # enough samples for the 10-minute grid path
    many = sun_positions(BAKHMUT.lat, BAKHMUT.lon, t)
    few = sun_positions(BAKHMUT.lat, BAKHMUT.lon, t[::1000])
    assert np.max(np.abs(many["azimuth_deg"][::1000] - few["azimuth_deg"])) < 1e-6
    assert np.max(np.abs(many["elevation_deg"][::1000] - few["elevation_deg"])) < 1e-6


def test_gopro_max_scene_matches_the_pvlib_figure_in_provenance():
    # video_metadata PROVENANCE: pvlib gives about 10.5 deg elevation, azimuth about 238 deg at
    # the first GPS fix (2019-11-18 23:45:14Z, 33.1267615, -117.3273375): "about" -> 0.5 deg
    sun = sun_position(
        LatLon(33.1267615, -117.3273375), datetime(2019, 11, 18, 23, 45, 14, tzinfo=UTC)
    )
    assert sun.elevation_deg == pytest.approx(10.5, abs=0.5)
    assert sun.azimuth_deg == pytest.approx(238.0, abs=0.5)


def test_naive_datetime_refused():
    with pytest.raises(InputError) as exc:
        sun_position(BAKHMUT, datetime(2023, 3, 6, 10, 0))  # naive on purpose
    assert exc.value.code == "E_NAIVE_DATETIME"


def test_dst_change_in_kyiv_is_the_same_instant():
    kyiv = ZoneInfo("Europe/Kyiv")
    before = datetime(2023, 3, 26, 2, 30, tzinfo=kyiv)  # EET, UTC+2
    after = datetime(2023, 3, 26, 4, 30, tzinfo=kyiv)  # EEST, UTC+3
    # same-zone subtraction in Python ignores the offset change; compare the instants in UTC
    assert after.astimezone(UTC) - before.astimezone(UTC) == timedelta(hours=1)
    assert sun_position(BAKHMUT, after).when_utc == datetime(2023, 3, 26, 1, 30, tzinfo=UTC)


def test_night_polar_day_and_polar_night_never_nan():
    svalbard = LatLon(78.22, 15.65)
    midnight_sun = sun_position(svalbard, datetime(2023, 6, 21, 23, 0, tzinfo=UTC))
    assert midnight_sun.above_horizon
    assert math.isfinite(midnight_sun.shadow_length_ratio)
    polar_night = sun_position(svalbard, datetime(2023, 12, 21, 11, 0, tzinfo=UTC))
    assert not polar_night.above_horizon
    assert polar_night.shadow_azimuth_deg is None
    result = check_shadow(
        svalbard, datetime(2023, 12, 21, 11, 0, tzinfo=UTC), ShadowMeasurement(azimuth_deg=10.0)
    )
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "below the horizon" in result.expected
    pole = sun_position(LatLon(90.0, 0.0), datetime(2023, 6, 21, 12, tzinfo=UTC))
    assert pole.elevation_deg == pytest.approx(23.44, abs=0.05)


def test_forward_shadow_check():
    when = datetime(2023, 3, 6, 8, 30, tzinfo=UTC)
    sun = sun_position(BAKHMUT, when)
    ok = check_shadow(
        BAKHMUT,
        when,
        ShadowMeasurement(
            azimuth_deg=(sun.shadow_azimuth_deg + 3) % 360,
            azimuth_error_deg=5,
            length_ratio=sun.shadow_length_ratio + 0.05,
            ratio_error=0.1,
        ),
    )
    assert ok.verdict is Verdict.CONSISTENT
    assert ok.margin == pytest.approx(2.0, abs=1e-6)
    bad = check_shadow(
        BAKHMUT,
        when,
        ShadowMeasurement(azimuth_deg=(sun.shadow_azimuth_deg + 20) % 360, azimuth_error_deg=5),
    )
    assert bad.verdict is Verdict.INCONSISTENT
    assert bad.margin == pytest.approx(-15.0, abs=1e-6)


def test_time_windows_contain_the_true_time():
    truth = datetime(2023, 3, 6, 8, 30, tzinfo=UTC)
    sun = sun_position(BAKHMUT, truth)
    shadow = ShadowMeasurement(
        azimuth_deg=sun.shadow_azimuth_deg,
        azimuth_error_deg=1.0,
        length_ratio=sun.shadow_length_ratio,
        ratio_error=0.05,
    )
    windows = shadow_time_windows(BAKHMUT, date(2023, 3, 1), date(2023, 3, 10), shadow)
    assert any(w.start_utc <= truth <= w.end_utc for w in windows)
    # one morning window a day at most, each a few minutes long
    assert len(windows) <= 10
    assert all((w.end_utc - w.start_utc) < timedelta(minutes=30) for w in windows)
    for w in windows:  # each edge is within the stated resolution of the true boundary
        mid = w.start_utc + (w.end_utc - w.start_utc) / 2
        assert check_shadow(BAKHMUT, mid, shadow).verdict is Verdict.CONSISTENT


def test_azimuth_only_windows_and_bad_ranges():
    truth = datetime(2023, 7, 1, 14, 0, tzinfo=UTC)
    sun = sun_position(BAKHMUT, truth)
    shadow = ShadowMeasurement(azimuth_deg=sun.shadow_azimuth_deg, azimuth_error_deg=2.0)
    windows = shadow_time_windows(BAKHMUT, date(2023, 7, 1), date(2023, 7, 1), shadow)
    assert any(w.start_utc <= truth <= w.end_utc for w in windows)
    with pytest.raises(InputError):
        shadow_time_windows(BAKHMUT, date(2023, 7, 2), date(2023, 7, 1), shadow)
    with pytest.raises(InputError):
        ShadowMeasurement()


def test_places_band_contains_the_true_place():
    when = datetime(2023, 3, 6, 8, 30, tzinfo=UTC)
    sun = sun_position(BAKHMUT, when)
    shadow = ShadowMeasurement(
        azimuth_deg=sun.shadow_azimuth_deg,
        azimuth_error_deg=2.0,
        length_ratio=sun.shadow_length_ratio,
        ratio_error=0.05,
    )
    band = shadow_places(
        when, shadow, south=30, west=10, north=70, east=70, cell_deg=2.0, refine_levels=2
    )
    from shapely.geometry import Point, shape

    cells = [shape(f["geometry"]) for f in band["features"]]
    assert cells
    assert (
        any(c.covers(Point(BAKHMUT.lon, BAKHMUT.lat)) for c in cells)
        or min(c.distance(Point(BAKHMUT.lon, BAKHMUT.lat)) for c in cells) < 0.5
    )  # the true place lies in, or within half a finest cell of, the band


def test_shadow_azimuth_from_a_top_down_frame():
    # reference street drawn left -> right in the image, bearing 90 (east); shadow drawn
    # straight down in the image: a quarter turn clockwise from east, so south
    az, err = shadow_azimuth_from_image(
        (100, 100), (100, 300), (50, 400), (450, 400), 90.0, pixel_error_px=2
    )
    assert az == pytest.approx(180.0, abs=1e-9)
    assert 0 < err < 2
    # with a homography to a ground plane with y pointing north (image y flipped)
    h = np.array([[1.0, 0, 0], [0, -1.0, 0], [0, 0, 1.0]])
    az_h, _ = shadow_azimuth_from_image(
        (100, 100), (100, 300), (50, 400), (450, 400), 90.0, ground_homography=h
    )
    assert az_h == pytest.approx(180.0, abs=1e-9)
    with pytest.raises(InputError):
        shadow_azimuth_from_image((1, 1), (1, 1), (0, 0), (5, 0), 90.0)
