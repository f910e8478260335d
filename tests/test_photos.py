"""Photographs and DJI telemetry as evidence: EXIF claims and SRT tracks against other tools.

Expected values come from metadata-extractor's checked-in outputs
(tests/data/photos/expected_metadata-extractor, which print degrees-minutes-seconds rounded to
the hundredth of a second of arc and bearings to 0.01 deg) and from the upstream DJI_SRT_Parser
tests (tests/data/dji_srt/PROVENANCE.md).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest
from conftest import DATA

from geoverify import InputError, MediaError
from geoverify.probing import probe
from geoverify.probing._srt import parse_srt

PHOTOS = DATA / "photos"
SRT = DATA / "dji_srt"
EXPECTED = PHOTOS / "expected_metadata-extractor"
# metadata-extractor prints seconds of arc to 2 decimals: 0.005" is 1.4e-6 deg
DMS_TOL_DEG = 0.005 / 3600 + 1e-9
BEARING_TOL_DEG = 0.005 + 1e-9


def _expected(name: str) -> dict[str, str]:
    out = {}
    for line in (EXPECTED / f"{name}.java.txt").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\[(GPS|Exif IFD0|Exif SubIFD) - 0x[0-9a-f]+\] (.+?) = (.*)$", line)
        if m:
            out[m.group(2)] = m.group(3)
    return out


def _dms(text: str, ref: str) -> float:
    """Degrees from metadata-extractor's text; it prints some values already signed."""
    d, m, s = (float(x) for x in re.findall(r"[-\d.]+", text))
    value = abs(d) + m / 60 + s / 3600
    return -value if ref in ("S", "W") or text.startswith("-") else value


@pytest.mark.parametrize(
    "name", ["apple_iphone4.jpg", "apple_iphone6.jpg", "nokia_lumia800.jpg", "sony_dsc-hx5v_2.jpg"]
)
def test_exif_claims_agree_with_metadata_extractor(name):
    want = _expected(name)
    media = probe(PHOTOS / name)
    assert media.still is not None
    assert media.video is None
    assert media.device.make == want["Make"]
    assert media.device.model == want["Model"]
    (loc,) = media.locations
    lat = _dms(want["GPS Latitude"], want["GPS Latitude Ref"])
    lon = _dms(want["GPS Longitude"], want["GPS Longitude Ref"])
    assert loc.position is not None
    assert loc.position.lat == pytest.approx(lat, abs=DMS_TOL_DEG)
    assert loc.position.lon == pytest.approx(lon, abs=DMS_TOL_DEG)
    if "GPS Altitude" in want:
        assert loc.altitude_m == pytest.approx(float(want["GPS Altitude"].split()[0]), abs=0.005)
    original = next(t for t in media.creation_times if t.source.startswith("EXIF DateTimeOrig"))
    assert original.raw == want["Date/Time Original"]
    assert not original.zone_stated  # no OffsetTime in these files: local time, zone unknown
    if "GPS Img Direction" in want:
        view = next(d for d in media.directions if d.kind == "view")
        assert view.bearing_deg == pytest.approx(
            float(want["GPS Img Direction"].split()[0]), abs=BEARING_TOL_DEG
        )
        ref = want["GPS Img Direction Ref"]
        assert view.reference == ("magnetic" if ref.startswith("Magnetic") else "true")


def test_a_magnetic_bearing_is_flagged_never_treated_as_true():
    media = probe(PHOTOS / "sony_dsc-hx5v_2.jpg")
    view = next(d for d in media.directions if d.kind == "view")
    assert (view.reference, view.bearing_deg) == ("magnetic", 46.5)
    assert any(n.code == "W_DIRECTION_MAGNETIC" for n in media.notes)
    movement = next(d for d in media.directions if d.kind == "movement")
    assert (movement.reference, movement.bearing_deg) == ("true", 89.31)


def test_a_malformed_gps_date_is_a_note_and_the_clock_comparison_uses_the_time_of_day():
    media = probe(PHOTOS / "apple_iphone6.jpg")  # GPS date stamp "2014:09:259"
    codes = {n.code for n in media.notes}
    assert "W_EXIF_GPS_DATE_INVALID" in codes
    assert not any(t.source.startswith("EXIF GPS") for t in media.creation_times)
    implied = next(n for n in media.notes if n.code == "I_IMPLIED_UTC_OFFSET")
    assert "UTC+1 h" in implied.message  # 14:05:12 local vs 13:05:12.05 UTC: BST
    dest = next(d for d in media.directions if d.kind == "destination")
    view = next(d for d in media.directions if d.kind == "view")
    assert (dest.bearing_deg - view.bearing_deg) % 360 == pytest.approx(180, abs=0.01)


def test_gps_time_against_the_camera_clock():
    sony = probe(PHOTOS / "sony_dsc-hx5v_2.jpg")
    gps = next(t for t in sony.creation_times if t.source.startswith("EXIF GPS"))
    assert gps.utc == datetime(2010, 5, 15, 15, 12, 7, tzinfo=UTC)
    note = next(n for n in sony.notes if n.code == "I_IMPLIED_UTC_OFFSET")
    assert "UTC+2 h" in note.message
    assert "to 2 s" in note.message
    heic = probe(PHOTOS / "immich_IMG_2682.heic")
    assert any("UTC-5 h" in n.message for n in heic.notes)  # Nebraska in March: CDT


def test_a_poor_fix_says_so():
    nokia = probe(PHOTOS / "nokia_lumia800.jpg")
    dop = next(n for n in nokia.notes if n.code == "I_EXIF_GPS_DOP")
    assert "44.46" in dop.message
    assert "poor" in dop.message


def test_heic_is_read_with_accuracy_and_its_pixels_decode_upright():
    from geoverify.probing import read_photo

    media = probe(PHOTOS / "immich_IMG_2682.heic")
    assert media.still is not None
    assert (media.still.format, media.still.width, media.still.height) == ("heic", 4032, 3024)
    (loc,) = media.locations
    assert loc.position is not None
    assert (round(loc.position.lat, 4), round(loc.position.lon, 6)) == (41.2203, -96.071625)
    assert loc.accuracy_m == 10.0  # GPSHPositioningError
    image, digest = read_photo(PHOTOS / "immich_IMG_2682.heic")
    assert image.shape == (3024, 4032, 3)
    assert digest == media.sha256


def test_null_island_is_no_location(tmp_path):
    from PIL import Image

    gps = {1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)}
    exif = Image.Exif()
    exif[0x8825] = gps
    path = tmp_path / "null.jpg"
    Image.new("RGB", (64, 48), (90, 120, 150)).save(path, exif=exif)
    media = probe(path)
    (loc,) = media.locations
    assert loc.position is None
    assert "null island" in loc.problem


def test_a_photo_without_gps_says_absence_is_no_evidence():
    media = probe(DATA.parent.parent / "geoverify" / "data" / "background" / "opencv_home.jpg")
    assert media.locations == ()
    assert any(n.code == "I_NO_EXIF_GPS" for n in media.notes)


def test_a_truncated_photo_is_a_clear_error(tmp_path):
    bad = tmp_path / "cut.jpg"
    bad.write_bytes((PHOTOS / "apple_iphone6.jpg").read_bytes()[:300])
    with pytest.raises(MediaError) as exc:
        probe(bad)
    assert exc.value.code == "E_IMAGE_INVALID"


# --- DJI SRT ------------------------------------------------------------------------------------


def test_every_dji_format_parses_to_the_upstream_values():
    pro = parse_srt(SRT / "mavic_pro.SRT")
    assert pro.home == (-20.2532, 149.0251)  # HOME(lon, lat): longitude first
    assert pro.cues == 468
    assert len(pro.fixes) == 468
    first = pro.fixes[0]
    assert (first.lat, first.lon, first.satellites) == (-20.2533, 149.0251, 16)
    assert first.payload_t_s == 1.0
    assert first.time_local == "2017-08-05T14:11:51"  # the aircraft clock: no zone
    assert first.time_utc is None
    # upstream reports 118.65 m, a smoothed value; the largest raw barometer reading is 118.7
    assert max(f.alt_m for f in pro.fixes if f.alt_m is not None) == pytest.approx(118.65, abs=0.1)
    assert first.alt_reference == "take-off point (barometric)"

    style2 = parse_srt(SRT / "mavic_2_style.SRT")  # misspelt "longtitude", no timing lines
    assert (style2.fixes[0].lat, style2.fixes[0].lon) == (-20.2533, 149.0251)
    assert any(n.code == "I_TELEMETRY_UNTIMED" for n in style2.notes)

    air2 = parse_srt(SRT / "mavic_air2.srt")
    assert air2.cues == 25
    assert (air2.fixes[0].lat, air2.fixes[0].lon, air2.fixes[0].alt_m) == (
        41.420684, 2.162162, 27.3,
    )  # fmt: skip
    assert air2.fixes[1].payload_t_s == pytest.approx(0.016, abs=1e-9)

    rtk = parse_srt(SRT / "p4_rtk.SRT")
    assert max(f.satellites or 0 for f in rtk.fixes) == 15
    assert rtk.fixes[0].gimbal_pry_deg == (-24.4, 0.0, 110.4)
    assert rtk.fixes[0].aircraft_pry_deg == (2.7, -7.0, 110.1)
    assert (rtk.fixes[0].lat, rtk.fixes[0].lon) == (-34.237922, -58.851745)

    air = parse_srt(SRT / "mavic_air.SRT")  # no GPS at all: parses, with no position
    assert air.fixes == ()
    assert any(n.code == "W_TELEMETRY_NO_POSITION" for n in air.notes)


def test_broken_srt_files():
    with pytest.raises(InputError) as exc:
        parse_srt(SRT / "broken_empty.SRT")
    assert exc.value.code == "E_TELEMETRY_EMPTY"
    cut = parse_srt(SRT / "broken_incomplete.SRT")
    assert cut.fixes
    assert any(n.code == "W_TELEMETRY_TRUNCATED" for n in cut.notes)
    with pytest.raises(InputError) as exc:
        parse_srt(SRT / "missing.SRT")
    assert exc.value.code == "E_TELEMETRY_MISSING"


def test_a_sidecar_beside_a_video_becomes_its_track(tmp_path):
    import shutil

    # a real video with no track of its own, and a real DJI sidecar under its name
    video = tmp_path / "flight.mp4"
    shutil.copy(DATA / "video_metadata" / "android_keyed_moov_only.mp4", video)
    shutil.copy(SRT / "p4_rtk.SRT", tmp_path / "flight.SRT")
    media = probe(video)
    assert media.gps_track is not None
    assert media.gps_track.source == "DJI SRT telemetry flight.SRT"
    assert len(media.gps_track.fixes) == 55
    assert media.telemetry is not None
    assert media.telemetry.found_by == "sidecar with the video's name"
    assert media.telemetry.sha256 == hashlib.sha256((SRT / "p4_rtk.SRT").read_bytes()).hexdigest()
    assert any(n.code == "W_TELEMETRY_SIDECAR" for n in media.notes)
    (view,) = media.directions
    assert (view.bearing_deg, view.reference) == (110.4, "unknown")
    # given explicitly, a broken file is an error; as a sidecar, a note
    with pytest.raises(InputError):
        probe(video, telemetry=SRT / "broken_empty.SRT")
    shutil.copy(SRT / "broken_empty.SRT", tmp_path / "flight.SRT")
    assert any(n.code == "W_TELEMETRY_UNREADABLE" for n in probe(video).notes)


# --- tracks out, and tied to frames --------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["gpx", "kml", "geojson", "csv"])
def test_the_track_exports_in_four_formats_fix_for_fix(tmp_path, fmt):
    import csv
    import json
    import xml.etree.ElementTree as ET

    import gpxpy
    from conftest import KARMA
    from typer.testing import CliRunner

    from geoverify.cli import app

    media = probe(KARMA)
    assert media.gps_track is not None
    fixes = media.gps_track.fixes
    out = tmp_path / f"track.{fmt}"
    result = CliRunner().invoke(app, ["probe", str(KARMA), "--track", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    if fmt == "gpx":  # read back by gpxpy, a GPX library
        points = gpxpy.parse(text).tracks[0].segments[0].points
        got = [(p.latitude, p.longitude, p.time) for p in points]
        want = [(f.lat, f.lon, f.time_utc) for f in fixes]
    elif fmt == "kml":
        ns = {"k": "http://www.opengis.net/kml/2.2"}
        coords = ET.fromstring(text).find(".//k:LineString/k:coordinates", ns)
        assert coords is not None
        got = [tuple(float(v) for v in c.split(",")[:2]) for c in (coords.text or "").split()]
        want = [(f.lon, f.lat) for f in fixes]
    elif fmt == "geojson":
        doc = json.loads(text)
        got = [tuple(c) for c in doc["features"][0]["geometry"]["coordinates"]]
        want = [(f.lon, f.lat) for f in fixes]
        assert len(doc["features"]) == 1 + len(fixes)
    else:
        rows = list(csv.DictReader(text.splitlines()))
        got = [(float(r["lat"]), float(r["lon"]), float(r["t_s"])) for r in rows]
        want = [(f.lat, f.lon, round(f.payload_t_s, 6)) for f in fixes]
    assert got == want


def test_no_track_to_export_is_a_clear_error(tmp_path):
    from typer.testing import CliRunner

    from geoverify.cli import app

    out = tmp_path / "t.gpx"
    args = ["probe", str(PHOTOS / "sony_dsc-hx5v_2.jpg"), "--track", "gpx", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3
    assert "E_NO_GPS_TRACK" in result.output
    assert not out.exists()


def test_frames_carry_the_camera_position_from_the_track(tmp_path):
    import json

    from conftest import KARMA
    from typer.testing import CliRunner

    from geoverify.cli import app
    from geoverify.probing._track import position_at

    out = tmp_path / "f"
    result = CliRunner().invoke(app, ["frames", str(KARMA), "--out", str(out), "--every", "1"])
    assert result.exit_code == 0, result.output
    frames = json.loads((out / "frames.json").read_text())["frames"]
    track = probe(KARMA).gps_track
    assert track is not None
    placed = [f for f in frames if f["camera"] is not None]
    assert placed
    for f in placed:
        where, _ = position_at(track, f["t_s"])
        assert (f["camera"]["lat"], f["camera"]["lon"]) == (where.lat, where.lon)
        assert f["camera"]["source"] == track.source
        assert track.source.startswith("GoPro GPMF telemetry track (Karma drone GLPI")
    first, last = track.fixes[0].payload_t_s, track.fixes[-1].payload_t_s
    for f in frames:  # outside the track: no position invented
        if not first <= f["t_s"] <= last:
            assert f["camera"] is None


def test_verify_places_each_frame_on_the_drone_track_and_the_map_draws_it(tmp_path):
    import json
    import shutil

    from fixtures import write_clip

    from geoverify.pipeline import VerifyOptions, save_verification, verify

    berlin = DATA.parent.parent / "samples" / "berlin"
    video = write_clip(tmp_path / "flight.mp4", n_frames=50)  # a generated 2 s clip
    shutil.copy(SRT / "p4_rtk.SRT", tmp_path / "flight.SRT")  # a real flight's telemetry
    result = verify(
        video,
        registry=berlin / "registry.geojson",
        claims=berlin / "claims.yaml",
        now=datetime(2026, 12, 1, tzinfo=UTC),
        options=VerifyOptions(),
    )
    track = result.media.gps_track
    assert track is not None
    placed = [f for f in result.report.frames if f["camera"] is not None]
    assert placed
    for f in placed:
        assert f["camera"]["source"] == "DJI SRT telemetry flight.SRT"
        assert f["camera"]["heading_deg"] is not None  # the gimbal yaw
    sources = {c.source for c in result.report.cameras}
    assert "DJI SRT telemetry flight.SRT" in sources  # the track's fixes, drawn on the map
    save_verification(result, tmp_path / "r")
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert any(f["camera"] for f in report["frames"])


@pytest.mark.parametrize("case", ["heic_cut", "exif_only"])
def test_hostile_photos_are_one_line_errors(tmp_path, case):
    from typer.testing import CliRunner

    from geoverify.cli import app

    path = tmp_path / ("p.heic" if case == "heic_cut" else "p.jpg")
    if case == "heic_cut":
        path.write_bytes((PHOTOS / "immich_IMG_2682.heic").read_bytes()[:5000])
    else:  # a JPEG start and an EXIF header with nothing after it
        path.write_bytes(b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*\x00\x00\x00\x08")
    result = CliRunner().invoke(app, ["probe", str(path)])
    assert result.exit_code == 3
    assert "E_IMAGE_INVALID" in result.output
    assert "Traceback" not in result.output
    assert " at 0x" not in result.output  # no object address: the same file, the same message


# --- the oldest DJI format, a sidecar of another length, a sidecar named by the user ------------


def _oldest_format(src, dst):
    """Write ``src`` (a later-format DJI SRT) in the oldest format, deterministically.

    The oldest firmware writes the date without leading zeros (``2017.8.5``), the barometric
    height as ``Hb:`` (and ``Hs:``) and the exposure as ``TV:``/``IR:F``; positions and times
    are the real file's. The format is as DJI_SRT_Parser (MIT) documents and parses it.
    """

    def date(m):
        return f"{m[1]}.{int(m[2])}.{int(m[3])} "

    text = src.read_text(encoding="utf-8")
    text = re.sub(r"(\d{4})\.(\d{2})\.(\d{2}) ", date, text)
    text = re.sub(r"BAROMETER:(-?[\d.]+)", r"Hb:\1 Hs:\1", text)
    text = re.sub(r"Shutter:(\S+) EV: Fnum:(\S+)", r"TV:\1 EV: 0 IR:F\2", text)
    dst.write_text(text, encoding="utf-8")
    return dst


def test_the_oldest_dji_format_keeps_its_dates_and_heights(tmp_path):
    source = SRT / "mavic_pro.SRT"
    old = parse_srt(_oldest_format(source, tmp_path / "old.SRT"))
    pro = parse_srt(source)  # the same flight in the later format
    assert "2017.8.5 14:11:51" in (tmp_path / "old.SRT").read_text()
    assert old.cues == 468
    first = old.fixes[0]
    assert first.time_local == "2017-08-05T14:11:51"  # month and day without a leading zero
    assert first.alt_reference == "take-off point (barometric)"
    # the heights are the file's own BAROMETER values, read from the text here
    heights = [float(h) for h in re.findall(r"BAROMETER:(-?[\d.]+)", source.read_text())]
    assert [f.alt_m for f in old.fixes] == pytest.approx(heights, abs=1e-9)
    assert [(f.lat, f.lon, f.time_local, f.payload_t_s) for f in old.fixes] == [
        (f.lat, f.lon, f.time_local, f.payload_t_s) for f in pro.fixes
    ]
    assert old.duration_s == pro.duration_s == 469.0  # the last cue ends at 00:07:49,000


def test_a_sidecar_of_another_length_than_the_video_is_flagged(tmp_path):
    import shutil

    from fixtures import write_clip

    video = tmp_path / "clip.mov"  # a real 4.0 s iPhone video
    shutil.copy(DATA / "video_metadata" / "iphone6_with-gps.mov", video)
    shutil.copy(SRT / "mavic_pro.SRT", tmp_path / "clip.SRT")  # 468 cues, to 469 s
    media = probe(video)
    assert media.telemetry is not None
    assert media.telemetry.duration_s == 469.0
    note = next(n.message for n in media.notes if n.code == "W_TELEMETRY_DURATION_MISMATCH")
    assert "run to 469.0 s but the video lasts 4.0 s" in note
    # a sidecar that ends with its video: no warning (0.416 s of cues, a 0.44 s clip)
    short = write_clip(tmp_path / "short.mp4", n_frames=11, fps=25)
    shutil.copy(SRT / "mavic_air2.srt", tmp_path / "short.srt")
    media = probe(short)
    assert media.telemetry is not None
    assert media.telemetry.duration_s == pytest.approx(0.416)
    assert "W_TELEMETRY_DURATION_MISMATCH" not in {n.code for n in media.notes}


def test_a_telemetry_file_given_by_the_user_is_described_as_given(tmp_path):
    import shutil

    video = tmp_path / "flight.mp4"
    shutil.copy(DATA / "video_metadata" / "android_keyed_moov_only.mp4", video)
    given = probe(video, telemetry=SRT / "p4_rtk.SRT")
    assert given.telemetry is not None
    assert given.telemetry.found_by == "given (--telemetry)"
    note = next(n.message for n in given.notes if n.code == "W_TELEMETRY_SIDECAR")
    assert "given by the user as this video's telemetry (--telemetry)" in note
    assert "only its name ties it" not in note  # its name is not the video's
    shutil.copy(SRT / "p4_rtk.SRT", tmp_path / "flight.SRT")
    found = probe(video)
    note = next(n.message for n in found.notes if n.code == "W_TELEMETRY_SIDECAR")
    assert "found beside the video with its name" in note
    assert "only its name ties it to this video" in note


# --- the photo's EXIF tags, its null island, its altitude as shown ----------------------------


@pytest.mark.parametrize(
    "name", ["apple_iphone4.jpg", "apple_iphone6.jpg", "nokia_lumia800.jpg", "sony_dsc-hx5v_2.jpg"]
)
def test_every_exif_tag_is_listed_as_metadata_extractor_lists_it(name):
    """Per directory, the tags metadata-extractor reads; it decodes MakerNote and PrintIM into
    directories of their own, which probe lists in the IFD that holds them (not decoded)."""
    want: dict[str, int] = {}
    for line in (EXPECTED / f"{name}.java.txt").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\[(GPS|Exif IFD0|Exif SubIFD|Interoperability) - 0x[0-9a-f]+\] ", line)
        if m:
            want[m.group(1)] = want.get(m.group(1), 0) + 1
    scopes = {"EXIF IFD0": "Exif IFD0", "EXIF SubIFD": "Exif SubIFD", "EXIF GPS": "GPS",
              "EXIF Interop": "Interoperability"}  # fmt: skip
    media = probe(PHOTOS / name)
    got: dict[str, int] = {}
    for tag in media.tags:
        if tag.key not in ("MakerNote", "PrintImageMatching"):
            got[scopes[tag.scope]] = got.get(scopes[tag.scope], 0) + 1
    assert got == want
    tags = {(t.scope, t.key): t.value for t in media.tags}
    expected = _expected(name)
    assert tags[("EXIF IFD0", "Make")] == expected["Make"]
    assert tags[("EXIF SubIFD", "DateTimeOriginal")] == expected["Date/Time Original"]


def test_a_gps_altitude_is_shown_to_a_tenth_of_a_metre_and_kept_exact():
    import json

    from typer.testing import CliRunner

    from geoverify.cli import app

    media = probe(PHOTOS / "apple_iphone6.jpg")  # GPSAltitude 27704/249 m
    (loc,) = media.locations
    assert loc.altitude_m == 27704 / 249
    tags = {(t.scope, t.key): t.value for t in media.tags}
    assert tags[("EXIF GPS", "GPSAltitude")] == "27704/249 (= 111.2610442)"
    result = CliRunner().invoke(app, ["probe", str(PHOTOS / "apple_iphone6.jpg")])
    assert ", alt 111.3 m (EXIF GPS" in result.output
    assert "111.26104417670683" not in result.output
    as_json = CliRunner().invoke(app, ["probe", str(PHOTOS / "apple_iphone6.jpg"), "--json"])
    assert json.loads(as_json.output)["locations"][0]["altitude_m"] == 27704 / 249


@pytest.mark.parametrize(
    ("name", "local", "gps_utc", "offset_h"),
    [
        # ExifTool 12.57: DateTimeOriginal 2014:09:16 14:05:12, GPSTimeStamp 13:05:12.05 (and a
        # malformed GPSDateStamp 2014:09:259: only the time of day is usable)
        ("apple_iphone6.jpg", "2014-09-16T14:05:12", datetime(2014, 9, 16, 13, 5, 12, 50000), 1),
        # ExifTool 12.57: DateTimeOriginal 2002:07:13 15:58:28, GPSTimeStamp 14:58:24, no date
        ("exiftool_GPS.jpg", "2002-07-13T15:58:28", datetime(2002, 7, 13, 14, 58, 24), 1),
    ],
)
def test_a_time_without_zone_carries_the_offset_the_gps_clock_implies(
    name, local, gps_utc, offset_h
):
    media = probe(PHOTOS / name)
    ct = next(t for t in media.creation_times if t.source.startswith("EXIF DateTimeOriginal"))
    assert ct.utc is None
    assert ct.local_time == local
    assert ct.implied_utc_offset_s == offset_h * 3600.0
    assert ct.implied_gps_utc is not None
    assert abs((ct.implied_gps_utc - gps_utc.replace(tzinfo=UTC)).total_seconds()) < 0.001
    assert "I_IMPLIED_UTC_OFFSET" in {n.code for n in media.notes}
