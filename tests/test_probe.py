"""probe() on real camera and phone files, against ffprobe/exiftool output and upstream values."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from conftest import VIDEO_DATA, real_video

from geoverify import probe

REAL = ["iphone6_with-gps.mov", "max-heromode.mp4", "karma.mp4", "android_keyed_moov_only.mp4"]
TOL_DEG = 1e-9  # ISO 6709 strings carry 4 decimals: parsing must be exact
TOL_S = 0.001  # duration in seconds; exiftool prints 1e-13 s, the media time base is 1/90000 s


@pytest.mark.parametrize("name", REAL)
def test_identity_and_stream_match_ffprobe(name, expected_tool_output):
    exp = expected_tool_output[name]
    info = probe(real_video(name))
    assert info.sha256 == exp["sha256"]
    assert info.size_bytes == exp["size_bytes"]
    v = info.video
    assert v is not None
    ev = exp["video"][0]
    assert v.codec == ev["codec_name"]
    assert (v.stored_width, v.stored_height) == (ev["width"], ev["height"])
    assert v.nominal_frame_rate == Fraction(ev["r_frame_rate"])
    assert v.frame_count_header == int(ev["nb_frames"])
    assert v.frame_count_timestamps == int(ev["nb_frames"])
    # ffprobe's rotation is the display matrix angle (counter-clockwise); ours is clockwise.
    expected_rotation = (-ev["rotation_side_data"][0]) % 360 if ev["rotation_side_data"] else 0
    assert v.rotation_deg == expected_rotation
    if expected_rotation in (90, 270):
        assert (v.display_width, v.display_height) == (ev["height"], ev["width"])
    # Video duration from timestamps against exiftool's media duration of the same track
    # (track N+1 is stream N in a QuickTime file). The container's overall duration differs
    # between FFmpeg versions (5.1 took the audio track, 8.x the longest track), so it is not
    # compared to the old ffprobe figure.
    track = f"Track{v.index + 1}:MediaDuration"
    assert v.duration_s == pytest.approx(exp["exiftool"][track], abs=TOL_S)
    assert info.container.major_brand == exp["ffprobe_format_tags"]["major_brand"]
    assert info.decoder_versions["pyav"]


def test_iphone_keyed_metadata(expected_tool_output):
    upstream = expected_tool_output["iphone6_with-gps.mov"]["upstream_asserted"]
    info = probe(real_video("iphone6_with-gps.mov"))
    (loc,) = info.locations
    assert loc.raw == upstream["com.apple.quicktime.location.ISO6709"]
    assert loc.position is not None
    assert loc.position.lat == pytest.approx(32.0929, abs=TOL_DEG)
    assert loc.position.lon == pytest.approx(34.8620, abs=TOL_DEG)
    assert loc.altitude_m == pytest.approx(28.516, abs=1e-9)
    apple = next(t for t in info.creation_times if t.source == "com.apple.quicktime.creationdate")
    assert apple.raw == upstream["com.apple.quicktime.creationdate"]
    assert apple.zone_stated
    assert apple.local_offset == "+03:00"
    assert apple.utc == datetime(2019, 7, 24, 8, 25, 40, tzinfo=UTC)
    header = next(t for t in info.creation_times if t.source == "container creation_time")
    assert not header.zone_stated
    assert header.utc == datetime(2019, 7, 24, 8, 25, 57, tzinfo=UTC)
    assert info.device.make == "Apple"
    assert info.device.model == "iPhone 6"
    assert info.device.software == upstream["com.apple.quicktime.software"]
    assert info.video is not None
    assert (info.video.display_width, info.video.display_height) == (320, 568)
    assert info.video.variable_frame_rate is False
    assert [a.codec for a in info.audio] == ["aac"]
    codes = {n.code for n in info.notes}
    assert "W_TIME_NO_ZONE" in codes
    assert "W_TIMES_DISAGREE" not in codes  # 17 s apart: mvhd is written when recording ends


def _exiftool_fixes(name: str) -> list[dict[str, str]]:
    with open(VIDEO_DATA / name, newline="") as fh:
        return list(csv.DictReader(fh))


def test_gopro_max_gps_track_and_local_time_labelled_utc():
    info = probe(real_video("max-heromode.mp4"))
    (loc,) = info.locations
    assert loc.raw == "+33.1268-117.3273/"
    assert loc.position is not None
    assert (loc.position.lat, loc.position.lon) == (33.1268, -117.3273)
    track = info.gps_track
    assert track is not None
    rows = _exiftool_fixes("max-heromode_gps_exiftool.csv")
    assert len(track.fixes) == len(rows)
    for fix, row in zip(track.fixes, rows, strict=True):
        expected_time = datetime.strptime(row["gps_datetime_utc"], "%Y:%m:%d %H:%M:%S.%f")
        assert fix.time_utc == expected_time.replace(tzinfo=UTC)
        assert fix.lat == pytest.approx(float(row["lat"]), abs=1e-7)
        assert fix.lon == pytest.approx(float(row["lon"]), abs=1e-7)
        assert fix.alt_m == pytest.approx(float(row["alt_m"]), abs=1e-3)
    notes = {n.code: n for n in info.notes}
    assert "W_TIME_LOCAL_AS_UTC" in notes
    assert "UTC-8" in notes["W_TIME_LOCAL_AS_UTC"].message
    assert "W_LOCATION_GPS_DISAGREE" not in notes


def test_karma_gps_track_matches_exiftool_position_and_time():
    """The Karma drone's fused position (GLPI) and its UTC from the SYST clock pairs, value for
    value against ExifTool's GPSLatitude/GPSDateTime (``exiftool -ee -n``, 10 µs printed)."""
    info = probe(real_video("karma.mp4"))
    assert info.locations == ()
    track = info.gps_track
    assert track is not None
    rows = _exiftool_fixes("karma_gps_exiftool.csv")
    assert len(track.fixes) == len(rows) == 12
    for fix, row in zip(track.fixes, rows, strict=True):
        expected = datetime.strptime(row["gps_datetime_utc"], "%Y:%m:%d %H:%M:%S.%f")
        assert fix.time_utc is not None
        assert abs(fix.time_utc - expected.replace(tzinfo=UTC)) <= timedelta(microseconds=10)
        assert fix.lat == pytest.approx(float(row["lat"]), abs=1e-7)
        assert fix.lon == pytest.approx(float(row["lon"]), abs=1e-7)
        assert fix.alt_m == pytest.approx(float(row["alt_m"]), abs=1e-3)
        assert fix.record == "GLPI"
        assert fix.fix == 3  # GPRI's MAVLink fix type 3: a 3D fix
    assert track.first_time_utc == track.fixes[0].time_utc
    assert "SYST" in track.source
    codes = {n.code for n in info.notes}
    assert "I_GPS_NO_UTC" not in codes
    assert "I_TIME_GPS_AGREES" in codes  # creation_time 19:27:57, first fix 19:27:58.28
    assert info.device.firmware == "HD5.02.02.00.00"


def test_android_stub_metadata_survives_missing_media():
    info = probe(real_video("android_keyed_moov_only.mp4"))
    (loc,) = info.locations
    assert loc.position is not None
    assert (loc.position.lat, loc.position.lon) == (33.9951, -118.4762)
    assert info.device.android_version == "7.1.2"
    assert info.video is not None
    assert info.video.rotation_deg == 90
    assert info.video.rotation_source.startswith("track header")
    assert not info.video.first_frame_decoded
    assert info.media_data_complete is False
    codes = {n.code for n in info.notes}
    assert {"W_MEDIA_DATA_MISSING", "W_NO_FRAME_DECODED"} <= codes


def test_input_is_never_modified(tmp_path):
    src = real_video("iphone6_with-gps.mov")
    copy = tmp_path / "clip.mov"
    copy.write_bytes(src.read_bytes())
    before = (copy.stat().st_mtime_ns, copy.read_bytes())
    probe(copy)
    assert (copy.stat().st_mtime_ns, copy.read_bytes()) == before
