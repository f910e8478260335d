"""A bounded parser for GoPro GPMF telemetry: the GPS track and its UTC time stamps.

GPMF is a key-length-value format (GoPro's ``gpmf-parser`` documents it): each item is a FourCC,
a one-byte type, a one-byte structure size and a two-byte big-endian repeat count, followed by
``size * repeat`` bytes padded to a multiple of four. Type 0 marks a nested container (DEVC,
STRM). A GPS stream holds ``SCAL`` (divisors), ``GPSU`` (UTC time, ``yymmddhhmmss.sss``), ``GPSF``
(fix: 0 none, 2 2D, 3 3D), ``GPSP`` (dilution of precision x 100) and ``GPS5`` samples
(latitude, longitude, altitude, 2D speed, 3D speed as scaled int32).

The input is untrusted: every length is checked against the buffer, nesting depth is capped, and
a malformed payload is skipped with a reason rather than raising.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Iterator
from datetime import UTC, datetime

__all__ = ["GpmfFix", "device_name", "parse_gps5"]

_MAX_DEPTH = 8
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
            if any(f in ("GPS5", "GPRI") for f, *_ in _items(buf, data, inner_end, depth + 1)):
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


def _read_item(f: _StreamFields, buf: bytes, item: tuple[str, str, int, int, int]) -> None:
    """Fold one KLV item of a GPS stream into ``f``."""
    fourcc, typ, size, repeat, data = item
    if fourcc == "SCAL":
        f.scal = _numbers(buf, typ, size, repeat, data)
    elif fourcc == "GPSU" and typ == "U":
        f.gpsu = _gpsu(buf[data : data + 16])
    elif fourcc == "GPSF":
        values = _numbers(buf, typ, size, repeat, data)
        f.fix = int(values[0]) if values and _finite(values[0]) else -1
    elif fourcc == "GPSP":
        values = _numbers(buf, typ, size, repeat, data)
        f.dop = values[0] / 100.0 if values and _finite(values[0]) else None
    elif fourcc == "TYPE" and typ == "c":
        f.layout = buf[data : data + size * repeat].decode("latin-1")
    elif fourcc == "GPS5" and typ == "l" and size == 20 and repeat > 0:
        # The last sample of the payload: the one exiftool reports with its GPSU time.
        f.sample = _numbers(buf, typ, size, 1, data + size * (repeat - 1))
        f.count = repeat
    elif fourcc == "GPRI" and typ == "?" and repeat > 0:
        # Karma drone "GPS RAW": TYPE gives the layout (e.g. JlllSSSSBB): time,
        # latitude, longitude, altitude, ... The time field is not UTC; not used.
        fields = _complex(buf, f.layout, size, data + size * (repeat - 1))
        if len(fields) >= 5 and len(f.scal) == len(fields):
            f.sample = [fields[1], fields[2], fields[3], 0.0, 0.0]
            f.scal = [f.scal[1], f.scal[2], f.scal[3], 1.0, 1.0]
            f.count = repeat
            f.has_speed = False


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
    )


def _parse_payload(payload_t_s: float, buf: bytes) -> GpmfFix | None:
    """Return the fix of the payload's first GPS stream that holds a valid one."""
    for start, end in _gps_streams(buf, 0, len(buf), 0):
        fields = _StreamFields()
        for item in _items(buf, start, end, 1):
            _read_item(fields, buf, item)
        fix = _fix_of(fields, payload_t_s)
        if fix is not None:
            return fix
    return None


def _finite(value: float) -> bool:
    return math.isfinite(value) and abs(value) < 1e15


def parse_gps5(payloads: tuple[tuple[float, bytes], ...]) -> tuple[GpmfFix, ...]:
    """Parse GPMF payloads (presentation time in seconds, bytes) into one fix per payload.

    Payloads without a GPS5 stream or with invalid values are skipped.
    """
    fixes = []
    for t_s, raw in payloads:
        try:
            fix = _parse_payload(t_s, raw)
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
