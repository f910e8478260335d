"""Still images (JPEG, PNG, HEIC): EXIF capture claims through Pillow and pillow-heif.

Read with Pillow (JPEG, PNG's ``eXIf`` chunk) and pillow-heif (HEIC), headers only: no pixel
is decoded here. Every claim is normalised like the video ones:

- GPS position from GPSLatitude/Longitude and their N/S/E/W references, with GPSAltitude
  (negative below sea level when GPSAltitudeRef is 1), GPSHPositioningError as the accuracy
  radius and GPSDOP in a note. (0, 0) is "null island": an unset receiver, no location.
- Directions: GPSImgDirection (where the lens points), GPSDestBearing, GPSTrack (movement), each
  with its T/M reference. A magnetic bearing is kept as written and flagged; it is never
  treated as true (no declination model is applied).
- Times: DateTimeOriginal with OffsetTimeOriginal (or OffsetTime) when present (zone stated),
  otherwise a local wall-clock time in an unknown zone (``local_time``, no UTC instant);
  GPSDateStamp + GPSTimeStamp as UTC. When both exist, their difference is
  reported as the implied UTC offset; an offset that is no whole quarter hour, or that
  contradicts the stated offset, is a clock-inconsistency note, not a choice between them.
- Device: Make, Model, Software.
- Every tag of IFD0, the Exif and GPS IFDs and the Interop IFD, as text (``exif_tags``).
- Whether the picture's data is all there, from the file's structure (``_still_data``): a cut
  photo whose EXIF is readable gets ``W_MEDIA_DATA_MISSING``; one with nothing readable left is
  ``E_IMAGE_INVALID``.
Malformed fields (a GPS date of ``2014:09:259``, a rational with a zero denominator) become
notes, never exceptions.
"""

from __future__ import annotations

import dataclasses
import io
import math
import re
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from geoverify.errors import LimitError, MediaError
from geoverify.models import LatLon, Note, Severity, sanitize_text
from geoverify.probing._exif_tags import IFD_EXIF, IFD_GPS, IFD_INTEROP, exif_tags
from geoverify.probing._model import (
    NULL_ISLAND,
    CameraDirection,
    CreationTime,
    DeviceInfo,
    LocationClaim,
    MetadataTag,
    StillImageInfo,
)
from geoverify.probing._still_data import image_data

_DATE = re.compile(r"^(\d{4}):(\d\d):(\d\d) (\d\d):(\d\d):(\d\d)$")
_OFFSET = re.compile(r"^([+-])(\d\d):(\d\d)$")
# clocks within this of each other agree; a camera clock drifts seconds, not minutes
_CLOCK_TOLERANCE_S = 120.0


def _note(code: str, message: str, field: str, severity: Severity = Severity.WARNING) -> Note:
    return Note(code=code, message=sanitize_text(message), severity=severity, field=field)


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return out if math.isfinite(out) else None


def _angle(dms: Any) -> float | None:
    """Degrees from an EXIF (degrees, minutes, seconds) triple of rationals."""
    if not isinstance(dms, tuple | list) or len(dms) != 3:
        return None
    parts = [_number(v) for v in dms]
    if any(p is None or p < 0 for p in parts):
        return None
    d, m, s = (p for p in parts if p is not None)
    return d + m / 60 + s / 3600


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if value is None:
        return None
    text = sanitize_text(str(value)).strip("\x00 ").strip()
    return text or None


def _lat_lon(gps: Mapping[int, Any]) -> tuple[LatLon | None, str]:
    """Return the GPS position and the problem with it ("" when none)."""
    lat, lon = _angle(gps.get(2)), _angle(gps.get(4))
    lat_ref, lon_ref = _text(gps.get(1)), _text(gps.get(3))
    if lat is None or lon is None or lat_ref not in ("N", "S") or lon_ref not in ("E", "W"):
        return None, "GPS latitude/longitude or their N/S/E/W references are malformed"
    lat = -lat if lat_ref == "S" else lat
    lon = -lon if lon_ref == "W" else lon
    if lat == 0 and lon == 0:
        return None, NULL_ISLAND
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, f"GPS position ({lat}, {lon}) is out of range"
    return LatLon(lat, lon), ""


def _accuracy_m(gps: Mapping[int, Any], notes: list[Note]) -> float | None:
    """GPSHPositioningError, a positive distance (anything else is noted and ignored)."""
    accuracy = _number(gps.get(31))
    if accuracy is not None and not (math.isfinite(accuracy) and accuracy > 0):
        # a horizontal positioning error is a positive distance: anything else would shrink
        # every distance the evidence measures
        notes.append(
            _note(
                "W_EXIF_CORRUPT",
                f"GPSHPositioningError {accuracy:g} is not a positive distance: ignored",
                "location",
            )
        )
        return None
    return accuracy


def _dop_note(gps: Mapping[int, Any]) -> Note | None:
    dop = _number(gps.get(11))
    if dop is None:
        return None
    mode = _text(gps.get(10))
    return _note(
        "I_EXIF_GPS_DOP",
        f"GPS dilution of precision {dop:g}"
        + (f" ({mode}D fix)" if mode in ("2", "3") else "")
        + (": a poor fix, metres to tens of metres off" if dop > 5 else ""),
        "location",
        Severity.WARNING if dop > 5 else Severity.INFO,
    )


def _position(gps: Mapping[int, Any], notes: list[Note]) -> LocationClaim | None:
    if 2 not in gps and 4 not in gps:
        return None
    raw = f"{gps.get(2)} {_text(gps.get(1))} {gps.get(4)} {_text(gps.get(3))}"
    position, problem = _lat_lon(gps)
    alt = _number(gps.get(6))
    if alt is not None and gps.get(5) in (1, b"\x01"):
        alt = -alt
    accuracy = _accuracy_m(gps, notes)
    dop = _dop_note(gps)
    if dop is not None:
        notes.append(dop)
    if problem == NULL_ISLAND:
        notes.append(_note("W_LOCATION_NULL_ISLAND", f"EXIF GPS: {problem}", "location"))
    elif problem:
        notes.append(_note("W_EXIF_GPS_INVALID", problem, "location"))
    return LocationClaim(
        source="EXIF GPS",
        raw=sanitize_text(raw),
        position=position,
        altitude_m=alt,
        accuracy_m=accuracy,
        problem=problem,
    )


def _directions(gps: Mapping[int, Any], notes: list[Note]) -> list[CameraDirection]:
    out = []
    for tag, ref_tag, name, kind in (
        (17, 16, "GPSImgDirection", "view"),
        (24, 23, "GPSDestBearing", "destination"),
        (15, 14, "GPSTrack", "movement"),
    ):
        if tag not in gps:
            continue
        bearing = _number(gps.get(tag))
        ref = _text(gps.get(ref_tag))
        if bearing is None or not 0 <= bearing <= 360:
            notes.append(_note("W_EXIF_DIRECTION_INVALID", f"{name} {gps.get(tag)!r}", "direction"))
            continue
        reference = {"T": "true", "M": "magnetic"}.get(ref or "", "unknown")
        out.append(
            CameraDirection(
                source=f"EXIF {name}", kind=kind, bearing_deg=bearing % 360, reference=reference
            )
        )
        if reference == "magnetic":
            notes.append(
                _note(
                    "W_DIRECTION_MAGNETIC",
                    f"{name} {bearing:g} deg is from magnetic north, as the file gives it; "
                    "verify's facing check converts it with the World Magnetic Model's "
                    "declination when the capture date is known (never treated as true)",
                    "direction",
                )
            )
        elif reference == "unknown":
            notes.append(
                _note(
                    "W_DIRECTION_REFERENCE_UNKNOWN",
                    f"{name} {bearing:g} deg gives no T/M reference: true or magnetic north "
                    "is unknown",
                    "direction",
                )
            )
    return out


def _exif_time(
    exif: Mapping[int, Any], tag: int, offset_tags: tuple[int, ...], label: str, notes: list[Note]
) -> CreationTime | None:
    raw = _text(exif.get(tag))
    if raw is None:
        return None
    m = _DATE.match(raw)
    if not m:
        notes.append(_note("W_EXIF_TIME_INVALID", f"{label} {raw!r} is not a date", "creation"))
        return CreationTime(source=f"EXIF {label}", raw=raw, utc=None, zone_stated=False,
                            local_offset=None)  # fmt: skip
    offset_raw = next((_text(exif.get(t)) for t in offset_tags if _text(exif.get(t))), None)
    tz: timezone | None = None
    zone_stated = False
    if offset_raw is not None:
        om = _OFFSET.match(offset_raw)
        if om:
            sign = -1 if om.group(1) == "-" else 1
            delta = timedelta(hours=int(om.group(2)), minutes=int(om.group(3)))
            if delta <= timedelta(hours=14):
                tz = timezone(sign * delta)
                zone_stated = True
        if not zone_stated:
            notes.append(
                _note("W_EXIF_TIME_INVALID", f"offset {offset_raw!r} is malformed", "creation")
            )
    try:
        y, mo, d, h, mi, sec = (int(g) for g in m.groups())
        local = datetime(y, mo, d, h, mi, sec, tzinfo=tz)
    except ValueError:
        notes.append(_note("W_EXIF_TIME_INVALID", f"{label} {raw!r} is no date", "creation"))
        return CreationTime(source=f"EXIF {label}", raw=raw, utc=None, zone_stated=False,
                            local_offset=None)  # fmt: skip
    if not zone_stated:  # a wall-clock time in an unknown zone: no instant is claimed
        return CreationTime(
            source=f"EXIF {label}",
            raw=raw,
            utc=None,
            zone_stated=False,
            local_offset=None,
            local_time=local.isoformat(),
        )
    return CreationTime(
        source=f"EXIF {label} + OffsetTime",
        raw=f"{raw} {offset_raw}",
        utc=local.astimezone(UTC),
        zone_stated=True,
        local_offset=offset_raw,
    )


def _time_of_day_s(stamp: Any) -> float | None:
    """Seconds into the UTC day of an EXIF GPSTimeStamp (h, m, s), or ``None`` if malformed."""
    parts = [_number(v) for v in stamp] if isinstance(stamp, tuple | list) else []
    if len(parts) != 3 or not all(p is not None and p >= 0 for p in parts):
        return None
    h, mi, s = (p for p in parts if p is not None)
    if h < 24 and mi < 60 and s < 61:
        return h * 3600 + mi * 60 + s
    return None


def _gps_instant(date_raw: str | None, seconds: float) -> datetime | None:
    """Return the instant of a GPSDateStamp and a time of day (``None``: malformed)."""
    dm = re.match(r"^(\d{4}):(\d\d):(\d\d)$", date_raw or "")
    if not dm:
        return None
    try:
        day = datetime(int(dm.group(1)), int(dm.group(2)), int(dm.group(3)), tzinfo=UTC)
        return day + timedelta(seconds=seconds)
    except (ValueError, OverflowError):
        return None


def _gps_time(
    gps: Mapping[int, Any], notes: list[Note]
) -> tuple[CreationTime | None, float | None]:
    """Read the GPS UTC time, and the GPS time of day (seconds) when the date is missing or bad."""
    if 7 not in gps and 29 not in gps:
        return None, None
    date_raw = _text(gps.get(29))
    stamp = gps.get(7)
    raw = f"{date_raw} {stamp}"
    seconds = _time_of_day_s(stamp)
    if seconds is None:
        notes.append(
            _note("W_EXIF_GPS_TIME_INVALID", f"GPS time stamp {stamp!r} is malformed", "creation")
        )
        return None, None
    utc = _gps_instant(date_raw, seconds)
    if utc is None:
        what = "missing" if date_raw is None else f"malformed ({date_raw!r})"
        notes.append(
            _note(
                "W_EXIF_GPS_DATE_INVALID",
                f"the GPS date is {what}: the GPS time of day {_hms(seconds)} UTC is kept for "
                "comparing clocks, no GPS instant is reported",
                "creation",
            )
        )
        return None, seconds
    return (
        CreationTime(
            source="EXIF GPS date/time (UTC)", raw=raw, utc=utc, zone_stated=True, local_offset="Z"
        ),
        seconds,
    )


def _hms(seconds: float) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{int(h):02d}:{int(m):02d}:{s:06.3f}"


def _clock_notes(
    local: CreationTime | None, gps_utc: datetime | None, gps_day_s: float | None
) -> tuple[list[Note], CreationTime | None]:
    """Compare a camera clock with the GPS clock: the notes, and the time with what it implies.

    The second item is ``local`` with ``implied_utc_offset_s`` and ``implied_gps_utc`` set when
    a time without zone agrees with the GPS clock at a whole quarter-hour offset, else ``None``.
    """
    own_utc = local.read_as_utc() if local is not None else None
    if local is None or own_utc is None:
        return [], None
    if gps_utc is not None:
        diff = (own_utc - gps_utc).total_seconds()
        against = f"the GPS UTC time {gps_utc.isoformat()}"
        gps_instant = gps_utc
    elif gps_day_s is None:
        return [], None
    else:
        # only the GPS time of day: compare within a day, the nearest way round
        own = own_utc.hour * 3600 + own_utc.minute * 60 + own_utc.second
        diff = (own - gps_day_s + 43200) % 86400 - 43200
        against = f"the GPS time of day {_hms(gps_day_s)} UTC (no GPS date)"
        gps_instant = own_utc.replace(microsecond=0) - timedelta(seconds=diff)
    if local.zone_stated:
        if abs(diff) > _CLOCK_TOLERANCE_S:
            return [
                _note(
                    "W_CLOCK_INCONSISTENT",
                    f"{local.source} {local.raw} is {diff / 3600:+.2f} h from {against}: one "
                    "clock is wrong (both are reported, neither is chosen)",
                    "creation",
                )
            ], None
        return [], None
    quarter = round(diff / 900) * 900
    text = f"{diff / 3600:+.3f} h"
    if abs(diff - quarter) > _CLOCK_TOLERANCE_S or abs(quarter) > 14 * 3600:
        return [
            _note(
                "W_CLOCK_INCONSISTENT",
                f"{local.source} {local.raw} (no zone) minus {against} is {text}: no time-zone "
                "offset, so the camera clock or the GPS time is off (both reported)",
                "creation",
            )
        ], None
    implied = dataclasses.replace(
        local, implied_utc_offset_s=float(quarter), implied_gps_utc=gps_instant
    )
    return [
        _note(
            "I_IMPLIED_UTC_OFFSET",
            f"{local.source} {local.raw} (no zone) minus {against} is {text}: the camera clock "
            f"ran at UTC{quarter / 3600:+g} h (to {abs(diff - quarter):.0f} s); whether that was "
            "the local zone at the place and date is for the analyst to check",
            "creation",
            Severity.INFO,
        )
    ], implied


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StillRead:
    """What ``read_still`` found in a photo: its picture, its claims, its tags and notes.

    ``data_complete`` is ``False`` when the file's structure shows image data missing
    (``geoverify.probing._still_data``); a ``W_MEDIA_DATA_MISSING`` note then says what.
    """

    still: StillImageInfo
    times: tuple[CreationTime, ...]
    locations: tuple[LocationClaim, ...]
    directions: tuple[CameraDirection, ...]
    device: DeviceInfo
    tags: tuple[MetadataTag, ...]
    notes: tuple[Note, ...]
    data_complete: bool


def _open(data: bytes, sniffed: str, max_pixels: int) -> tuple[Any, ...]:
    """Open the header with Pillow: (width, height, format, IFD0, Exif, GPS, Interop, warnings)."""
    from geoverify._images import pillow_image, pixel_limit_error

    image_mod = pillow_image()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with image_mod.open(io.BytesIO(data)) as im:
                width, height = im.size
                fmt = str(im.format or sniffed).lower()
                exif = im.getexif()
                gps = dict(exif.get_ifd(IFD_GPS))
                sub = dict(exif.get_ifd(IFD_EXIF))
                interop = dict(exif.get_ifd(IFD_INTEROP)) if sub.get(IFD_INTEROP) else {}
                base = dict(exif)
    except image_mod.DecompressionBombError as exc:
        # the header claims more pixels than Pillow opens: the same diagnosis as `frames` and
        # the matcher give the same file (geoverify._images), a limit, not a broken file
        raise pixel_limit_error(data, max_pixels, str(exc)) from None
    except Exception as exc:  # Pillow raises many types on hostile input
        msg = f"the image header cannot be read ({type(exc).__name__}): not a readable image"
        hint = "The file is truncated or corrupt."
        raise MediaError(msg, code="E_IMAGE_INVALID", hint=hint) from None
    return width, height, fmt, base, sub, gps, interop, caught


def _still_info(width: int, height: int, fmt: str, orientation: Any) -> StillImageInfo:
    """Return the picture's size as stored and as shown (orientation 5-8 swaps them)."""
    orientation = orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else None
    swap = orientation in (5, 6, 7, 8)
    heif = fmt in ("heif", "heic")
    return StillImageInfo(
        format="heic" if heif else fmt,
        width=width,
        height=height,
        orientation=orientation,
        display_width=height if swap else width,
        display_height=width if swap else height,
        decoder="pillow-heif" if heif else "Pillow",
    )


def read_still(data: bytes, sniffed: str, *, max_pixels: int) -> StillRead:
    """Read a still image's structure, header and EXIF; no pixel is decoded.

    Raises
    ------
    MediaError
        ``E_IMAGE_INVALID`` when nothing in the file can be read (its structure is cut before
        both the picture and the EXIF) or Pillow cannot read the header.
    LimitError
        ``E_LIMIT_PIXELS`` above ``max_pixels``.
    """
    notes: list[Note] = []
    layout = image_data(data, "heic" if sniffed == "heif" else sniffed)
    nothing = MediaError(
        f"nothing in the file can be read: {layout.problem}",
        code="E_IMAGE_INVALID",
        hint="The file is truncated: get the whole file from its source.",
    )
    try:  # a header that claims too many pixels is a limit first, whatever follows it
        width, height, fmt, base, sub, gps, interop, caught = _open(data, sniffed, max_pixels)
    except MediaError:
        if not layout.usable:
            raise nothing from None
        raise
    if width * height > max_pixels:
        msg = f"the image is {width}x{height}, above the {max_pixels:,}-pixel limit"
        raise LimitError(msg, code="E_LIMIT_PIXELS", hint="Scale the image down first.")
    if not layout.usable:
        # decided from the bytes: pillow-heif 1.9 opens a cut HEIF lazily where 1.8 refused it
        raise nothing
    if not layout.complete:
        notes.append(_note("W_MEDIA_DATA_MISSING", layout.problem, "container"))
    for w in caught:
        notes.append(_note("W_EXIF_CORRUPT", f"Pillow: {str(w.message)[:160]}", "metadata"))
    still = _still_info(width, height, fmt, base.get(274))
    times = _times(base, sub, gps, notes)
    locations = []
    position = _position(gps, notes)
    if position is not None:
        locations.append(position)
    directions = _directions(gps, notes)
    device = DeviceInfo(
        make=_text(base.get(271)), model=_text(base.get(272)), software=_text(base.get(305))
    )
    if not gps:
        notes.append(
            _note(
                "I_NO_EXIF_GPS",
                "the image carries no GPS block: platforms strip it, so this is no evidence "
                "either way",
                "location",
                Severity.INFO,
            )
        )
    tags = exif_tags(
        (("EXIF IFD0", base), ("EXIF SubIFD", sub), ("EXIF GPS", gps), ("EXIF Interop", interop))
    )
    return StillRead(
        still=still,
        times=tuple(times),
        locations=tuple(locations),
        directions=tuple(directions),
        device=device,
        tags=tags,
        notes=tuple(notes),
        data_complete=layout.complete,
    )


def _times(
    base: Mapping[int, Any], sub: Mapping[int, Any], gps: Mapping[int, Any], notes: list[Note]
) -> list[CreationTime]:
    """DateTimeOriginal (else DateTime), the GPS time, and what their difference says."""
    times = []
    original = _exif_time(sub, 36867, (36881, 36880), "DateTimeOriginal", notes)
    if original is not None:
        times.append(original)
    gps_time, gps_day_s = _gps_time(gps, notes)
    if gps_time is not None:
        times.append(gps_time)
    if original is None:
        modified = _exif_time(base, 306, (36880,), "DateTime (last change)", notes)
        if modified is not None:
            times.append(modified)
            notes.append(
                _note(
                    "W_EXIF_NO_ORIGINAL_TIME",
                    "no DateTimeOriginal: only DateTime, when the file was last changed",
                    "creation",
                )
            )
    clock, implied = _clock_notes(original, gps_time.utc if gps_time else None, gps_day_s)
    notes += clock
    if implied is not None and original is not None:  # with the offset the GPS clock implies
        times[times.index(original)] = implied
    return times
