"""The GPMF parser on real raw payloads, and on every truncation and corruption of them."""

from __future__ import annotations

from conftest import VIDEO_DATA
from hypothesis import given, settings, strategies as st

from geoverify._gpmf import parse_gps5

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
