"""A bounded parser for GoPro GPMF telemetry: the GPS track and its UTC time stamps.

GPMF is a key-length-value format (GoPro's ``gpmf-parser`` documents it): each item is a FourCC,
a one-byte type, a one-byte structure size and a two-byte big-endian repeat count, followed by
``size * repeat`` bytes padded to a multiple of four. Type 0 marks a nested container (DEVC,
STRM). A GPS stream holds ``SCAL`` (divisors), ``GPSU`` (UTC time, ``yymmddhhmmss.sss``), ``GPSF``
(fix: 0 none, 2 2D, 3 3D), ``GPSP`` (dilution of precision x 100) and ``GPS5`` samples
(latitude, longitude, altitude, 2D speed, 3D speed as scaled int32).

The GoPro Karma drone writes no GPS5: its telemetry holds ``GLPI`` (the autopilot's fused
position: system time in ms, latitude, longitude, altitude, relative altitude, velocity north,
east, down, heading), ``GPRI`` (the raw GPS receiver: system time in µs, latitude, longitude,
altitude, ..., fix type, satellites) and ``SYST`` (pairs of drone system time and UTC). GLPI is
read as the position, as ExifTool reads it (``GPSLatitude``; GPRI is its ``GPSLatitudeRaw``),
GPRI's fix type is kept, and the system times become UTC by the SYST pairs of the whole track,
interpolated between the two that bracket the time (ExifTool's ``ConvertSystemTime``).

The input is untrusted: every length is checked against the buffer, nesting depth is capped, and
a malformed payload is skipped with a reason rather than raising.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import struct
from collections.abc import Generator, Iterator
from datetime import UTC, datetime

__all__ = ["GpmfFix", "device_name", "parse_gps5"]

_MAX_DEPTH = 8
_POSITION_RECORDS = ("GPS5", "GLPI", "GPRI")  # in the order a payload's fix prefers them
_UNIX_2000_S = 946_684_800.0  # a SYST UTC before 2000 is a clock never set (MAVLink sends 0)
_NUMERIC = {
    "b": ">b",
    "B": ">B",
    "s": ">h",
    "S": ">H",
    "l": ">i",
    "L": ">I",
    "j": ">q",
    "J": ">Q",
    "f": ">f",
    "d": ">d",
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GpmfFix:
    """The last GPS sample of one GPMF payload, with the payload's GPSU time (UTC).

    The last sample is the one exiftool (``-ee``) reports for each payload, so the two tools
    can be compared value for value.

    Attributes
    ----------
    payload_t_s
        Presentation time of the payload in the telemetry track, seconds.
    time_utc
        GPSU time of the payload (timezone-aware, UTC), or ``None`` when absent or invalid.
    lat, lon
        WGS84 degrees.
    alt_m
        Altitude in metres as the camera reports it (GoPro: above the WGS84 ellipsoid on
        most models).
    speed_2d_mps
        Ground speed, metres per second (``None`` for record types not decoded for speed).
    fix
        GPSF fix type (0 none, 2 two-dimensional, 3 three-dimensional), -1 when absent.
    dop
        GPSP dilution of precision (already divided by 100), or ``None``.
    samples_in_payload
        Number of GPS5 samples in the payload (about 18 per second).
    record
        The GPMF record read: ``GPS5`` (GoPro cameras), ``GLPI`` (the Karma drone's fused
        position), ``GPRI`` (the Karma's raw GPS, when it writes no GLPI); empty for fixes that
        are not GPMF.
    """

    payload_t_s: float
    time_utc: datetime | None
    lat: float
    lon: float
    alt_m: float | None
    speed_2d_mps: float | None
    fix: int
    dop: float | None
    samples_in_payload: int
    record: str = ""


def _items(
    buf: bytes, start: int, end: int, depth: int
) -> Iterator[tuple[str, str, int, int, int]]:
    """Yield (fourcc, type, size, repeat, data offset) for items in ``buf[start:end]``."""
    pos = start
    while pos + 8 <= end:
        fourcc_b = buf[pos : pos + 4]
        type_b = buf[pos + 4]
        size = buf[pos + 5]
        repeat = struct.unpack_from(">H", buf, pos + 6)[0]
        length = size * repeat
        padded = (length + 3) & ~3
        data = pos + 8
        if data + length > end or fourcc_b == b"\x00\x00\x00\x00":
            return
        fourcc = fourcc_b.decode("latin-1")
        yield fourcc, chr(type_b) if type_b else "\x00", size, repeat, data
        pos = data + padded


def _numbers(buf: bytes, typ: str, size: int, repeat: int, data: int) -> list[float]:
    fmt = _NUMERIC.get(typ)
    if fmt is None:
        return []
    width = struct.calcsize(fmt)
    count = size * repeat // width
    return [float(v) for v in struct.unpack_from(f">{count}{fmt[1]}", buf, data)]


def _complex(buf: bytes, layout: str, size: int, data: int) -> list[float]:
    """Decode the first structure of a complex ('?') item whose TYPE string is ``layout``."""
    fmt = ">"
    for ch in layout:
        code = _NUMERIC.get(ch)
        if code is None:
            return []
        fmt += code[1]
    if struct.calcsize(fmt) != size:
        return []
    return [float(v) for v in struct.unpack_from(fmt, buf, data)]


def _gpsu(raw: bytes) -> datetime | None:
    try:
        text = raw.decode("ascii")
        return datetime.strptime(text[:16], "%y%m%d%H%M%S.%f").replace(tzinfo=UTC)
    except (UnicodeDecodeError, ValueError):
        return None


def _gps_streams(buf: bytes, start: int, end: int, depth: int) -> Iterator[tuple[int, int]]:
    for fourcc, typ, size, repeat, data in _items(buf, start, end, depth):
        if typ != "\x00" or depth >= _MAX_DEPTH:
            continue
        inner_end = data + size * repeat
        if fourcc == "STRM":
            if any(f in _POSITION_RECORDS for f, *_ in _items(buf, data, inner_end, depth + 1)):
                yield data, inner_end
        else:
            yield from _gps_streams(buf, data, inner_end, depth + 1)


@dataclasses.dataclass(slots=True)
class _StreamFields:
    """What one GPS stream of a payload holds, gathered item by item."""

    scal: list[float] = dataclasses.field(default_factory=list)
    layout: str = ""
    gpsu: datetime | None = None
    fix: int = -1
    dop: float | None = None
    sample: list[float] = dataclasses.field(default_factory=list)
    count: int = 0
    has_speed: bool = True
    record: str = ""
    system_s: float | None = None  # Karma: the sample's drone system time, seconds
    gps_fix_type: int = -1  # Karma GPRI: MAVLink fix type of the payload's last raw sample


def _read_scal(f: _StreamFields, buf: bytes, typ: str, size: int, repeat: int, data: int) -> None:
    f.scal = _numbers(buf, typ, size, repeat, data)


def _read_gpsu(f: _StreamFields, buf: bytes, typ: str, size: int, repeat: int, data: int) -> None:
    if typ == "U":
        f.gpsu = _gpsu(buf[data : data + 16])


def _read_gpsf(f: _StreamFields, buf: bytes, typ: str, size: int, repeat: int, data: int) -> None:
    values = _numbers(buf, typ, size, repeat, data)
    f.fix = int(values[0]) if values and _finite(values[0]) else -1


def _read_gpsp(f: _StreamFields, buf: bytes, typ: str, size: int, repeat: int, data: int) -> None:
    values = _numbers(buf, typ, size, repeat, data)
    f.dop = values[0] / 100.0 if values and _finite(values[0]) else None


def _read_type(f: _StreamFields, buf: bytes, typ: str, size: int, repeat: int, data: int) -> None:
    if typ == "c":
        f.layout = buf[data : data + size * repeat].decode("latin-1")


def _read_gps5(f: _StreamFields, buf: bytes, typ: str, size: int, repeat: int, data: int) -> None:
    if typ == "l" and size == 20 and repeat > 0:
        # The last sample of the payload: the one exiftool reports with its GPSU time.
        f.sample = _numbers(buf, typ, size, 1, data + size * (repeat - 1))
        f.count = repeat


def _read_glpi_gpri(
    f: _StreamFields, buf: bytes, typ: str, size: int, repeat: int, data: int, fourcc: str
) -> None:
    if typ == "?" and repeat > 0:
        _read_karma(f, fourcc, _complex(buf, f.layout, size, data + size * (repeat - 1)), repeat)


_FIELD_READERS = {
    "SCAL": _read_scal,
    "GPSU": _read_gpsu,
    "GPSF": _read_gpsf,
    "GPSP": _read_gpsp,
    "TYPE": _read_type,
    "GPS5": _read_gps5,
}


def _read_item(f: _StreamFields, buf: bytes, item: tuple[str, str, int, int, int]) -> None:
    """Fold one KLV item of a GPS stream into ``f``."""
    fourcc, typ, size, repeat, data = item
    if fourcc in ("GLPI", "GPRI"):
        _read_glpi_gpri(f, buf, typ, size, repeat, data, fourcc)
        return
    reader = _FIELD_READERS.get(fourcc)
    if reader is not None:
        reader(f, buf, typ, size, repeat, data)


def _read_karma(f: _StreamFields, fourcc: str, fields: list[float], repeat: int) -> None:
    """Fold the last sample of a Karma GLPI or GPRI record (already decoded by TYPE) into ``f``.

    Both start with the system time and latitude, longitude, altitude (GLPI: ``LllllsssS``,
    GPRI: ``JlllSSSSBB``); values are divided by SCAL here, so ``f.scal`` becomes ones.
    """
    wanted = 9 if fourcc == "GLPI" else 10
    if len(fields) < wanted or len(f.scal) != len(fields) or any(s == 0 for s in f.scal):
        return
    v = [x / s for x, s in zip(fields, f.scal, strict=True)]
    speed = math.hypot(v[5], v[6]) if fourcc == "GLPI" else 0.0  # north, east velocity
    f.sample = [v[1], v[2], v[3], speed, 0.0]
    f.scal = [1.0] * 5
    f.count = repeat
    f.has_speed = fourcc == "GLPI"
    f.record = fourcc
    f.system_s = v[0] if _finite(v[0]) else None
    if fourcc == "GPRI":
        f.gps_fix_type = int(v[8]) if _finite(v[8]) else -1


def _mavlink_fix(fix_type: int) -> int:
    """MAVLink GPS_FIX_TYPE (0-1 none, 2 2D, 3 3D, 4-8 3D with corrections) as GPSF's 0/2/3."""
    if fix_type < 0 or fix_type > 8:
        return -1
    return 0 if fix_type < 2 else min(fix_type, 3)


def _fix_of(f: _StreamFields, payload_t_s: float) -> GpmfFix | None:
    """Return the stream's fix; ``None`` when its sample, scales or values are no position."""
    if len(f.sample) != 5:
        return None
    scales = f.scal if len(f.scal) == 5 else ([f.scal[0]] * 5 if len(f.scal) == 1 else [])
    if not scales or any(s == 0 for s in scales):
        return None
    lat, lon, alt, speed2d, _speed3d = (v / s for v, s in zip(f.sample, scales, strict=True))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and _finite(alt)):
        return None  # NaN compares false: a fix of NaN or inf is no fix
    has_speed = f.has_speed and _finite(speed2d)
    return GpmfFix(
        payload_t_s=payload_t_s,
        time_utc=f.gpsu,
        lat=lat,
        lon=lon,
        alt_m=alt,
        speed_2d_mps=speed2d if has_speed else None,
        fix=f.fix,
        dop=f.dop,
        samples_in_payload=f.count,
        record=f.record or "GPS5",
    )


def _parse_payload(payload_t_s: float, buf: bytes, clock: _SystemClock) -> GpmfFix | None:
    """Return the payload's fix: GPS5, else the Karma's GLPI, else its GPRI, the first valid."""
    found: dict[str, tuple[_StreamFields, GpmfFix]] = {}
    for start, end in _gps_streams(buf, 0, len(buf), 0):
        fields = _StreamFields()
        for item in _items(buf, start, end, 1):
            _read_item(fields, buf, item)
        fix = _fix_of(fields, payload_t_s)
        if fix is not None:
            found.setdefault(fix.record, (fields, fix))
    for record in _POSITION_RECORDS:
        if record not in found:
            continue
        fields, fix = found[record]
        if fields.system_s is None:
            return fix
        raw = found.get("GPRI", (None, None))[0]
        gps_fix = _mavlink_fix(raw.gps_fix_type) if raw is not None else -1
        return dataclasses.replace(fix, time_utc=clock.utc(fields.system_s), fix=gps_fix)
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class _SystemClock:
    """The Karma's SYST pairs (system time s, UTC s), sorted by system time."""

    pairs: tuple[tuple[float, float], ...]

    def utc(self, system_s: float) -> datetime | None:
        """UTC of a system time, interpolated between the SYST pairs that bracket it.

        Outside the pairs the nearest two are extended, as ExifTool does; with one pair the two
        clocks are taken to run at the same rate. A rate that is not about one second per second
        is no calibration (``None``).
        """
        pairs = self.pairs
        if not pairs:
            return None
        if len(pairs) == 1:
            (s0, u0), rate = pairs[0], 1.0
        else:
            below = bisect.bisect_right(pairs, system_s, key=lambda pair: pair[0]) - 1
            k = min(max(below, 0), len(pairs) - 2)  # the bracketing pair, or the nearest two
            (s0, u0), (s1, u1) = pairs[k], pairs[k + 1]
            rate = (u1 - u0) / (s1 - s0) if s1 != s0 else 1.0
        if not 0.5 < rate < 2.0:
            return None
        try:
            return datetime.fromtimestamp(u0 + (system_s - s0) * rate, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None


def _syst_pairs(buf: bytes, start: int, end: int, depth: int) -> Iterator[tuple[float, float]]:
    """Yield the (system s, UTC s) pairs of the SYST records in ``buf[start:end]``."""
    scal: list[float] = []
    layout = ""
    for fourcc, typ, size, repeat, data in _items(buf, start, end, depth):
        if typ == "\x00" and depth < _MAX_DEPTH:
            yield from _syst_pairs(buf, data, data + size * repeat, depth + 1)
        elif fourcc == "SCAL":
            scal = _numbers(buf, typ, size, repeat, data)
        elif fourcc == "TYPE" and typ == "c":
            layout = buf[data : data + size * repeat].decode("latin-1")
        elif fourcc == "SYST" and _is_syst(typ, layout, scal):
            whole = yield from _syst_record(buf, layout, scal, (size, repeat, data))
            if not whole:
                return


def _is_syst(typ: str, layout: str, scal: list[float]) -> bool:
    """Whether a SYST item is the Karma's (system time, UTC) pairs with usable scales."""
    return typ == "?" and layout == "JJ" and len(scal) == 2 and all(scal)


def _syst_record(
    buf: bytes, layout: str, scal: list[float], where: tuple[int, int, int]
) -> Generator[tuple[float, float], None, bool]:
    """Yield the pairs of one SYST record; return ``False`` when a sample is malformed."""
    size, repeat, data = where
    for i in range(repeat):
        values = _complex(buf, layout, size, data + size * i)
        if len(values) != 2:
            return False
        pair = (values[0] / scal[0], values[1] / scal[1])
        if all(_finite(x) for x in pair) and pair[1] > _UNIX_2000_S:
            yield pair
    return True


def _system_clock(payloads: tuple[tuple[float, bytes], ...]) -> _SystemClock:
    pairs: set[tuple[float, float]] = set()
    for _t_s, raw in payloads:
        try:
            pairs.update(_syst_pairs(raw, 0, len(raw), 0))
        except (struct.error, ValueError, OverflowError):
            continue
    return _SystemClock(tuple(sorted(pairs)))


def _finite(value: float) -> bool:
    return math.isfinite(value) and abs(value) < 1e15


def parse_gps5(payloads: tuple[tuple[float, bytes], ...]) -> tuple[GpmfFix, ...]:
    """Parse GPMF payloads (presentation time in seconds, bytes) into one fix per payload.

    Payloads without a GPS stream or with invalid values are skipped. The Karma's system times
    are converted to UTC by the SYST pairs of all payloads.
    """
    clock = _system_clock(payloads)
    fixes = []
    for t_s, raw in payloads:
        try:
            fix = _parse_payload(t_s, raw, clock)
        except (struct.error, ValueError, OverflowError, ZeroDivisionError):
            fix = None
        if fix is not None:
            fixes.append(fix)
    return tuple(fixes)


def device_name(payloads: tuple[tuple[float, bytes], ...]) -> str | None:
    """Find the first DVNM (device name) in GPMF payloads, e.g. ``GoPro Max``, or ``None``.

    Nesting is followed to ``_MAX_DEPTH`` like the GPS parser; only the first few payloads are
    read (the name repeats in every one).
    """

    def walk(buf: bytes, start: int, end: int, depth: int) -> str | None:
        for fourcc, typ, size, repeat, data in _items(buf, start, end, depth):
            if typ == "\x00" and depth < _MAX_DEPTH:
                found = walk(buf, data, data + size * repeat, depth + 1)
                if found:
                    return found
            elif fourcc == "DVNM" and typ == "c":
                text = buf[data : data + size * repeat].split(b"\x00")[0]
                return text.decode("latin-1").strip() or None
        return None

    for _t_s, raw in payloads[:4]:
        try:
            name = walk(raw, 0, len(raw), 0)
        except (struct.error, ValueError, IndexError):
            name = None
        if name:
            return name
    return None
