"""The GPMF parser on real raw payloads, and on every truncation and corruption of them."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import KARMA, ROOT, VIDEO_DATA
from hypothesis import given, settings, strategies as st

from geoverify.probing._gpmf import parse_gps5

HERO5 = (VIDEO_DATA / "hero5.raw").read_bytes()
HERO6 = (VIDEO_DATA / "hero6.raw").read_bytes()


def test_hero5_payload_has_a_3d_fix_with_utc():
    (fix,) = parse_gps5(((0.0, HERO5),))
    assert fix.fix == 3
    assert fix.time_utc is not None
    assert fix.time_utc.tzinfo is not None
    assert fix.samples_in_payload > 0
    assert -90 <= fix.lat <= 90
    assert -180 <= fix.lon <= 180


def test_hero6_payload_without_fix_says_so():
    (fix,) = parse_gps5(((0.0, HERO6),))
    # GPSF 0 (no fix) comes with GPSP 9999, the receiver's "unknown" precision.
    assert fix.fix == 0
    assert fix.dop == 99.99


def test_every_prefix_parses_without_error():
    for payload in (HERO5, HERO6):
        for cut in range(0, len(payload), 7):
            parse_gps5(((0.0, payload[:cut]),))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048), st.integers(min_value=0, max_value=4000))
def test_corrupted_payloads_never_raise(noise, where):
    data = bytearray(HERO5)
    pos = where % len(data)
    data[pos : pos + len(noise)] = noise
    parse_gps5(((0.0, bytes(data)),))


# --- the GoPro Karma drone: GLPI / GPRI records timed by SYST pairs ------------------------------

KARMA_ROWS = ROOT / "tests" / "data" / "video_metadata"


def _karma_payloads() -> tuple[tuple[float, bytes], ...]:
    """The telemetry payloads of samples/karma/karma.mp4, demuxed by PyAV."""
    import av

    with av.open(str(KARMA)) as container:
        (stream,) = (
            s
            for s in container.streams
            if s.type == "data" and "GoPro MET" in str(s.metadata.get("handler_name", ""))
        )
        return tuple(
            (float(p.pts * p.time_base), bytes(p)) for p in container.demux(stream) if p.size
        )


def _exiftool_rows(name: str) -> list[dict[str, str]]:
    with (KARMA_ROWS / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def _renamed(payloads: tuple[tuple[float, bytes], ...], old: bytes, new: bytes) -> Any:
    return tuple((t, raw.replace(old, new)) for t, raw in payloads)


def test_karma_without_glpi_falls_back_to_the_raw_gps_and_its_own_times():
    # A firmware that writes no fused position: the GLPI records renamed, GPRI read instead,
    # and its microsecond system times converted by the same SYST pairs (ExifTool's *Raw tags).
    fixes = parse_gps5(_renamed(_karma_payloads(), b"GLPI", b"XLPI"))
    rows = _exiftool_rows("karma_gpsraw_exiftool.csv")
    assert len(fixes) == len(rows) == 12
    for fix, row in zip(fixes, rows, strict=True):
        expected = datetime.strptime(row["gps_datetime_utc"], "%Y:%m:%d %H:%M:%S.%f")
        assert fix.record == "GPRI"
        assert fix.time_utc is not None
        assert abs(fix.time_utc - expected.replace(tzinfo=UTC)) <= timedelta(microseconds=10)
        assert fix.lat == pytest.approx(float(row["lat"]), abs=1e-7)
        assert fix.lon == pytest.approx(float(row["lon"]), abs=1e-7)
        assert fix.alt_m == pytest.approx(float(row["alt_m"]), abs=1e-3)
        assert fix.speed_2d_mps is None  # GPRI's speed field is not decoded


def test_karma_without_syst_pairs_keeps_positions_and_claims_no_time():
    fixes = parse_gps5(_renamed(_karma_payloads(), b"SYST", b"XYST"))
    rows = _exiftool_rows("karma_gps_exiftool.csv")
    assert [round(f.lat, 7) for f in fixes] == [float(r["lat"]) for r in rows]
    assert all(f.time_utc is None for f in fixes)


def test_karma_one_syst_pair_runs_the_clocks_at_the_same_rate():
    # Only the first payload keeps its SYST: UTC = its UTC + (system time - its system time).
    payloads = _karma_payloads()
    one = (payloads[0], *_renamed(payloads[1:], b"SYST", b"XYST"))
    fixes = parse_gps5(one)
    rows = _exiftool_rows("karma_gps_exiftool.csv")
    for fix, row in zip(fixes, rows, strict=True):
        expected = datetime.strptime(row["gps_datetime_utc"], "%Y:%m:%d %H:%M:%S.%f")
        assert fix.time_utc is not None
        # the drone's clock runs 0.15 % fast against UTC here: 17 ms after 11 s
        assert abs(fix.time_utc - expected.replace(tzinfo=UTC)) <= timedelta(milliseconds=20)


def test_karma_syst_of_an_unset_clock_is_no_calibration():
    # MAVLink sends UTC 0 until the GPS has set the clock: such pairs calibrate nothing.
    out = []
    for t_s, raw in _karma_payloads():
        data = bytearray(raw)
        pos = data.find(b"SYST")
        if pos >= 0:
            data[pos + 16 : pos + 24] = (0).to_bytes(8, "big")  # the UTC half of the pair
        out.append((t_s, bytes(data)))
    fixes = parse_gps5(tuple(out))
    assert fixes
    assert all(f.time_utc is None for f in fixes)
