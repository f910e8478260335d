"""Which way the camera faced: declination, headings, the facing check, the location line, the map.

References geoverify did not compute: NOAA's published WMM2025 test values (the WMM2025
technical report's table: declination to 0.01 degrees at 2025.0 and 2027.5, heights 0 and
100 km), GeographicLib's geodesic azimuths (the geographiclib package, Karney's own Python
implementation), ExifTool's reading of the photos' GPSImgDirection, the field of view from the
35 mm equivalent focal length (2 atan(36 / 2f) over the long side: arithmetic on the EXIF
value), and the OpenSfM Berlin dataset's ground control points (the Berliner Dom's pixel in
photographs 02 and 03, surveyed by the dataset's authors).
"""

from __future__ import annotations

import html
import json
import math
import shutil
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import DATA, ROOT
from geographiclib.geodesic import Geodesic

from geoverify import probe
from geoverify.errors import InputError
from geoverify.evidence import (
    RESECTION,
    CameraPosition,
    Outcome,
    camera_headings,
    facing_check,
    facing_checks,
    magnetic_declination,
)
from geoverify.frames import FrameOptions
from geoverify.matching import MatchOptions
from geoverify.models import LatLon
from geoverify.pipeline import VerifyOptions, save_verification, verify
from geoverify.registry import load_registry
from geoverify.resection import locate

PHOTOS = DATA / "photos"
SRT = DATA / "dji_srt"
BERLIN = ROOT / "samples" / "berlin"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TOL_DEC_DEG = 0.01  # NOAA prints declinations to 0.01 degrees
TOL_AZ_DEG = 1e-6
PLAIN = VerifyOptions(
    frames=FrameOptions(best=1), matching=MatchOptions(affine="off"), text=None
)  # the text line has its own tests (test_text): OCR is most of a photo's verify

# NOAA/BGS, "The US/UK World Magnetic Model for 2025-2030", test values table:
# (decimal year, height km, lat, lon, declination deg)
WMM2025_TEST_VALUES = [
    (2025.0, 0, 80, 0, 1.28),
    (2025.0, 0, 0, 120, -0.16),
    (2025.0, 0, -80, 240, 68.78),
    (2025.0, 100, 80, 0, 0.85),
    (2025.0, 100, 0, 120, -0.15),
    (2025.0, 100, -80, 240, 68.21),
    (2027.5, 0, 80, 0, 2.59),
    (2027.5, 0, 0, 120, -0.24),
    (2027.5, 0, -80, 240, 68.49),
    (2027.5, 100, 80, 0, 2.16),
    (2027.5, 100, 0, 120, -0.23),
    (2027.5, 100, -80, 240, 67.93),
]
# 2025.0 is 1 January 00:00 UTC; 2027.5 is half of 2027's 365 days on: 2 July 12:00 UTC
_DATES = {2025.0: datetime(2025, 1, 1, tzinfo=UTC), 2027.5: datetime(2027, 7, 2, 12, tzinfo=UTC)}


@pytest.mark.parametrize(("year", "height_km", "lat", "lon", "expected"), WMM2025_TEST_VALUES)
def test_declination_matches_the_wmm2025_reports_test_values(year, height_km, lat, lon, expected):
    lon180 = (lon + 180) % 360 - 180
    dec = magnetic_declination(LatLon(lat, lon180), _DATES[year], height_km=height_km)
    assert dec is not None
    assert dec.model == "WMM-2025"
    assert dec.declination_deg == pytest.approx(expected, abs=TOL_DEC_DEG)
    assert 0 < dec.uncertainty_deg < 1.5


def test_no_declination_outside_the_models_or_for_a_naive_time():
    assert magnetic_declination(LatLon(51.78, 8.37), datetime(2010, 5, 15, tzinfo=UTC)) is None
    with pytest.raises(InputError) as exc:
        magnetic_declination(LatLon(51.78, 8.37), datetime(2020, 5, 15))
    assert exc.value.code == "E_INPUT_TIME"


# --- headings from the real photos -------------------------------------------------------------


def _exif_direction(path: Path) -> tuple[float, str]:
    out = subprocess.run(
        ["exiftool", "-json", "-n", "-GPSImgDirection", "-GPSImgDirectionRef", str(path)],
        capture_output=True, check=True, text=True,
    )  # fmt: skip
    record = json.loads(out.stdout)[0]
    return float(record["GPSImgDirection"]), str(record["GPSImgDirectionRef"])


needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool")


@needs_exiftool
@pytest.mark.parametrize(
    ("name", "focal_35mm"), [("apple_iphone6.jpg", 29), ("immich_IMG_2682.heic", 28)]
)
def test_a_true_heading_is_used_as_written_with_the_field_from_the_focal_length(name, focal_35mm):
    bearing, ref = _exif_direction(PHOTOS / name)
    assert ref == "T"
    (heading,), kept_out = camera_headings(probe(PHOTOS / name, now=NOW), [])
    assert kept_out == ()
    assert heading.heading_deg == pytest.approx(bearing, abs=1e-7)  # ExifTool prints 10 digits
    assert heading.spread_deg == 0.0
    assert not heading.spread_stated
    # both photos are landscape: the 36 mm film width lies along the picture's width
    assert heading.hfov_deg == pytest.approx(
        2 * math.degrees(math.atan(36 / (2 * focal_35mm))), abs=1e-9
    )


@needs_exiftool
def test_a_magnetic_heading_is_turned_to_true_north_with_the_wmm():
    path = PHOTOS / "immich_thompson-springs.jpg"
    bearing, ref = _exif_direction(path)
    assert ref == "M"
    media = probe(path, now=NOW)
    (heading,), _ = camera_headings(media, [])
    when = datetime(2022, 1, 10, 21, 15, 33, tzinfo=UTC)  # its GPS time (PROVENANCE)
    dec = magnetic_declination(LatLon(39.115, -108.40096833333334), when)
    assert dec is not None
    assert dec.model == "WMM-2020"
    # the day used (the first instant the file states) moves the declination by < 0.001 deg
    assert heading.heading_deg == pytest.approx(bearing + dec.declination_deg, abs=1e-3)
    assert heading.heading_deg != pytest.approx(bearing, abs=1.0)  # never taken as true
    assert heading.spread_deg == pytest.approx(dec.uncertainty_deg, abs=1e-3)
    assert heading.reference.startswith("magnetic north + declination")


@needs_exiftool
def test_a_magnetic_heading_with_no_declination_is_kept_out_never_taken_as_true():
    path = PHOTOS / "sony_dsc-hx5v_2.jpg"  # 2010: before the models with an error model
    bearing, ref = _exif_direction(path)
    assert ref == "M"
    headings, kept_out = camera_headings(probe(path, now=NOW), [])
    assert headings == ()
    (why,) = kept_out
    assert f"{bearing:g} deg (magnetic north)" in why
    assert "kept out, not treated as true" in why


def test_a_dji_gimbal_yaw_of_unknown_reference_allows_true_and_magnetic(tmp_path):
    video = tmp_path / "flight.mp4"
    shutil.copy(DATA / "video_metadata" / "android_keyed_moov_only.mp4", video)
    shutil.copy(SRT / "p4_rtk.SRT", tmp_path / "flight.SRT")  # a real flight's telemetry
    media = probe(video, now=NOW)
    headings, _ = camera_headings(media, [])
    assert len(headings) == 50  # 55 fixes with a gimbal yaw, sampled evenly
    first = headings[0]
    # the first cue: GPS (-58.851745, -34.237922), G.PRY yaw 110.4 deg (the SRT file itself)
    assert (first.position.lat, first.position.lon) == (-34.237922, -58.851745)
    when = media.creation_times[0].utc
    assert when is not None
    dec = magnetic_declination(first.position, when)
    assert dec is not None
    low, high = sorted((110.4, 110.4 + dec.declination_deg))
    assert first.heading_deg - first.spread_deg <= low
    assert first.heading_deg + first.spread_deg >= high
    assert "north reference not stated" in first.reference


# --- the check ----------------------------------------------------------------------------------


def _exif_camera(photo: Path) -> CameraPosition:
    media = probe(photo, now=NOW)
    loc = next(x for x in media.locations if x.position is not None)
    assert loc.position is not None
    return CameraPosition(
        label="camera", position=loc.position, accuracy_m=None, time_utc=None, source=loc.source
    )


def test_the_bearing_is_geographiclibs_and_the_check_decides_only_when_certain():
    reg = load_registry(BERLIN / "registry.geojson")
    dom = reg.get("berliner_dom")
    media = probe(BERLIN / "photos" / "berlin_02.jpg", now=NOW)
    cam = _exif_camera(BERLIN / "photos" / "berlin_02.jpg")
    dom_at = LatLon(52.51926834404209, 13.400703631118825)  # the registry's surveyed point
    g = Geodesic.WGS84.Inverse(cam.position.lat, cam.position.lon, dom_at.lat, dom_at.lon)
    azimuth = g["azi1"] % 360
    hfov = 2 * math.degrees(math.atan(36 / (2 * 35)))  # FocalLengthIn35mmFilm 35, landscape
    for heading_deg, spread, expected in [
        (azimuth + 180, 0.0, "no"),  # facing away
        (azimuth, 0.0, "yes"),  # facing it
        (azimuth + hfov / 2 + 5, 0.0, "no"),  # 5 deg beyond the edge
        (azimuth + hfov / 2 + 5, 10.0, "undecided"),  # ... but within the heading's spread
    ]:
        viewed = CameraPosition(
            label="camera", position=cam.position, accuracy_m=None, time_utc=None,
            source="resection (geoverify locate)", heading_deg=heading_deg % 360,
            heading_uncertainty_deg=spread, hfov_deg=hfov,
        )  # fmt: skip
        (heading,), _ = camera_headings(None, [viewed])
        check = facing_check(heading, dom)
        assert check.bearing_deg is not None
        assert check.in_view == expected, (heading_deg, spread)
        assert check.distance_m == pytest.approx(g["s12"], abs=1e-3)
    check = facing_check(camera_headings(None, [viewed])[0][0], dom)
    assert check.off_axis_deg == pytest.approx(hfov / 2 + 5, abs=TOL_AZ_DEG)
    # the file's own heading is absent here: nothing to check
    assert camera_headings(media, [])[0] == ()


def test_a_resected_camera_sees_the_surveyed_landmark_where_the_dataset_marks_it():
    reg = load_registry(BERLIN / "registry.geojson")
    gcp = json.loads((BERLIN / "photos" / "berlin_ground_control_points.json").read_text())
    dom_obs = {o["shot_id"]: o["projection"] for o in gcp["points"][0]["observations"]}
    for shot in ("02", "03"):  # the Dom is observed in these two (the dataset's list)
        fix = locate(BERLIN / "photos" / f"berlin_{shot}.jpg", BERLIN / f"points_{shot}.csv",
                     registry=reg)  # fmt: skip
        cam = CameraPosition(
            label="resected", position=fix.camera, accuracy_m=None, time_utc=None,
            source=RESECTION, heading_deg=fix.heading_deg,
            heading_uncertainty_deg=fix.uncertainty.heading_deg_90, hfov_deg=fix.hfov_deg,
        )  # fmt: skip
        check = facing_check(camera_headings(None, [cam])[0][0], reg.get("berliner_dom"))
        x_px = dom_obs[f"{shot}.jpg"][0] * max(fix.width_px, fix.height_px)
        pixel_angle = math.degrees(math.atan(abs(x_px) / fix.focal.value_px))
        assert check.in_view != "no"
        assert abs(check.off_axis_deg - pixel_angle) <= fix.uncertainty.heading_deg_90
        assert check.off_axis_deg < check.half_hfov_deg  # type: ignore[operator]


# --- the location line and the map ---------------------------------------------------------------


def _turned(tmp_path: Path, heading_deg: float, name: str) -> Path:
    """Return berlin_02.jpg with its GPSImgDirection set (ExifTool rewrites only that tag)."""
    out = tmp_path / name
    subprocess.run(
        ["exiftool", "-q", f"-GPSImgDirection={heading_deg}", "-GPSImgDirectionRef=T",
         "-o", str(out), str(BERLIN / "photos" / "berlin_02.jpg")],
        check=True,
    )  # fmt: skip
    return out


def _location(result):
    return next(ln for ln in result.report.bottom_line.lines if ln.line == "location")


class _Polylines(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.titles: list[str] = []
        self._in = False

    def handle_starttag(self, tag, attrs):
        if tag == "polyline":  # a camera's cone: orange, its <title> says whose
            a = dict(attrs)
            self._in = a.get("stroke") == "#c60" and a.get("stroke-dasharray") == "5 3"

    def handle_data(self, data):
        if self._in and data.strip():
            self.titles.append(data.strip())
            self._in = False


@needs_exiftool
def test_a_camera_facing_away_contradicts_the_location_line_and_the_map_draws_its_cone(
    tmp_path,
):
    reg = BERLIN / "registry.geojson"
    cam = _exif_camera(BERLIN / "photos" / "berlin_02.jpg").position
    g = Geodesic.WGS84.Inverse(cam.lat, cam.lon, 52.51926834404209, 13.400703631118825)
    azimuth = round(g["azi1"] % 360, 2)  # the Dom seen from the photo's EXIF position
    away = _turned(tmp_path, round((azimuth + 180) % 360, 2), "away.jpg")
    result = verify(away, registry=reg, claims=BERLIN / "claims.yaml", options=PLAIN, now=NOW)
    line = _location(result)
    assert (line.outcome, line.strength) == (Outcome.CONTRADICTS, "weak")  # a compass: weak
    assert "it could not have been in view" in line.summary
    (record,) = line.numbers["facing"]
    assert record["in_view"] == "no"
    assert record["off_axis_deg"] == pytest.approx(180, abs=0.1)
    # the plain sentence is the line's own, not a distance that would read as support
    assert "could not have been in view" in result.report.plain_lines["location"]
    save_verification(result, tmp_path / "out")
    parser = _Polylines()
    parser.feed((tmp_path / "out" / "report.html").read_text(encoding="utf-8"))
    faced = f"{(azimuth + 180) % 360:.0f}°"
    assert parser.titles == [f"camera (EXIF GPS): faced {faced} (EXIF GPSImgDirection)"]
    # the details block says the facing check in words, with GeographicLib's bearing (the
    # record keeps 0.01°), never as a Python dict
    page = html.unescape((tmp_path / "out" / "report.html").read_text(encoding="utf-8"))
    assert "{'" not in page
    assert f"Berliner Dom lies at {round(g['azi1'] % 360, 2):g}°, {g['s12']:.0f} m away" in page
    assert ": not in view (margin " in page

    toward = _turned(tmp_path, azimuth, "toward.jpg")
    result = verify(toward, registry=reg, claims=BERLIN / "claims.yaml", options=PLAIN, now=NOW)
    line = _location(result)
    assert line.outcome is Outcome.SUPPORTS
    assert any(n.startswith("facing: 'berliner_dom' lies 0.0° off the axis") for n in line.notes)


def test_no_shows_no_facing_check():
    reg = load_registry(BERLIN / "registry.geojson")
    from geoverify.claims import ClaimSet, Hypothesis

    claims = ClaimSet(claims=(), roles={}, source={}, version=2, footage=Hypothesis())
    assert facing_checks(claims.footage, reg, claims, None, []) == ((), ())
