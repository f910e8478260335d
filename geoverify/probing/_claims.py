"""Capture claims in metadata: ISO 6709 places, creation times, device (see ``probing``)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from geoverify.errors import InputError
from geoverify.models import LatLon
from geoverify.probing._container import RawContainer
from geoverify.probing._model import (
    NULL_ISLAND,
    CreationTime,
    DeviceInfo,
    LocationClaim,
)

# --- claims parsing ----------------------------------------------------------------------------

_ISO6709 = re.compile(
    r"^(?P<lat>[+-]\d{2}(?:\d{2}(?:\d{2})?)?(?:\.\d+)?)"
    r"(?P<lon>[+-]\d{3}(?:\d{2}(?:\d{2})?)?(?:\.\d+)?)"
    r"(?P<alt>[+-]\d+(?:\.\d+)?)?"
    r"(?:CRS[A-Za-z0-9_:]+)?/$"
)


def _iso_angle(text: str, degree_digits: int) -> float:
    sign = -1.0 if text[0] == "-" else 1.0
    body = text[1:]
    whole, _, frac = body.partition(".")
    frac_val = float("0." + frac) if frac else 0.0
    if len(whole) == degree_digits:
        return sign * (int(whole) + frac_val)
    deg = int(whole[:degree_digits])
    minutes = int(whole[degree_digits : degree_digits + 2])
    if minutes >= 60:
        msg = "minutes of 60 or more"
        raise ValueError(msg)
    if len(whole) == degree_digits + 2:
        return sign * (deg + (minutes + frac_val) / 60.0)
    seconds = int(whole[degree_digits + 2 :]) + frac_val
    if seconds >= 60:
        msg = "seconds of 60 or more"
        raise ValueError(msg)
    return sign * (deg + minutes / 60.0 + seconds / 3600.0)


def parse_iso6709(text: str) -> tuple[LatLon, float | None]:
    """Parse an ISO 6709 point string such as ``+32.0929+034.8620+028.516/``.

    Accepts decimal degrees, degrees-minutes and degrees-minutes-seconds forms, with optional
    altitude and ``CRS`` suffix; requires the closing ``/``.

    Returns
    -------
    (LatLon, altitude_m or None)

    Raises
    ------
    InputError
        ``E_ISO6709`` when the string is malformed, ``E_COORD_RANGE`` when out of range.
    """
    match = _ISO6709.match(text.strip())
    if match is None:
        msg = f"not an ISO 6709 point: {text[:80]!r}"
        raise InputError(msg, code="E_ISO6709", hint="Expected a form like +DD.DDDD+DDD.DDDD/.")
    try:
        lat = _iso_angle(match["lat"], 2)
        lon = _iso_angle(match["lon"], 3)
    except ValueError as exc:
        msg = f"not an ISO 6709 point: {text[:80]!r} ({exc})"
        raise InputError(msg, code="E_ISO6709", hint="Check the minutes and seconds.") from None
    alt = float(match["alt"]) if match["alt"] else None
    if alt is not None and not (math.isfinite(alt) and abs(alt) < 1e8):
        msg = f"not an ISO 6709 point: altitude {match['alt'][:20]!r}... is not a usable number"
        raise InputError(msg, code="E_ISO6709", hint="The altitude is out of any real range.")
    return LatLon(lat, lon), alt


# Keys compared in lower case: Matroska writes tag names in upper case.
_LOCATION_KEYS = ("com.apple.quicktime.location.iso6709", "location", "location-eng")
_ACCURACY_KEY = "com.apple.quicktime.location.accuracy.horizontal"


def folded(meta: Mapping[str, str]) -> dict[str, str]:
    """Metadata with lower-case keys (the first of keys that differ only in case wins)."""
    out: dict[str, str] = {}
    for key, value in meta.items():
        out.setdefault(key.lower(), value)
    return out


_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})$")


def _parse_time(raw: str) -> tuple[datetime | None, bool, str | None]:
    """Parse a metadata time: (UTC instant or None, zone stated, offset text)."""
    text = raw.strip()
    if not text:
        return None, False, None
    zone = text.endswith("Z") or bool(_OFFSET.search(text))
    offset_text = None
    candidate = text
    m = _OFFSET.search(text)
    if m and "T" in text:
        offset_text = f"{m[1]}{m[2]}:{m[3]}"
        candidate = text[: m.start()] + offset_text
    try:
        parsed = datetime.fromisoformat(candidate.replace(" ", "T", 1))
    except ValueError:
        return None, zone, offset_text
    if parsed.tzinfo is None:
        return None, False, None
    try:
        return parsed.astimezone(UTC), zone, offset_text
    except OverflowError:  # e.g. 0001-01-01T00:00+05:00: before the first representable UTC
        return None, zone, offset_text


def creation_times_of(raw: RawContainer) -> list[CreationTime]:
    out: list[CreationTime] = []
    seen: set[tuple[str, str]] = set()

    def add(source: str, value: str, header_time: bool) -> None:
        if (source, value) in seen:
            return
        seen.add((source, value))
        utc, zone, offset = _parse_time(value)
        if header_time and utc is None:
            # A header time without Z or offset: the MP4/QuickTime format defines it as UTC.
            try:
                naive = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
                utc = naive.replace(tzinfo=UTC) if naive.tzinfo is None else naive
            except ValueError:
                utc = None
        local = None
        if not header_time and utc is None and not zone:
            # a tag (Matroska DATE, an Apple date) with no zone: a local wall-clock time
            try:
                naive = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
                local = naive.isoformat() if naive.tzinfo is None else None
            except ValueError:
                local = None
        if header_time:
            zone = False  # the 'Z' is FFmpeg's reading of the format rule, not the camera's
        out.append(
            CreationTime(
                source=source,
                raw=value,
                utc=utc,
                zone_stated=zone,
                local_offset=offset,
                local_time=local,
            )
        )

    meta = folded(raw.metadata)
    if "com.apple.quicktime.creationdate" in meta:
        add("com.apple.quicktime.creationdate", meta["com.apple.quicktime.creationdate"], False)
    if "creation_time" in meta:
        add("container creation_time", meta["creation_time"], True)
    for key in ("date", "date-eng", "date_recorded"):
        if key in meta:
            add(f"container {key}", meta[key], False)
    container_value = meta.get("creation_time")
    for s in raw.streams:
        value = s.metadata.get("creation_time")
        if value is not None and value != container_value:
            add(f"stream {s.index} creation_time", value, True)
    return out


def locations_of(raw: RawContainer) -> list[LocationClaim]:
    out: list[LocationClaim] = []
    accuracy: float | None = None
    meta = folded(raw.metadata)
    acc_raw = meta.get(_ACCURACY_KEY)
    if acc_raw is not None:
        try:
            acc = float(acc_raw)
            accuracy = acc if math.isfinite(acc) and acc >= 0 else None
        except ValueError:
            accuracy = None
    seen_values: set[str] = set()
    for key in _LOCATION_KEYS:
        value = meta.get(key)
        if value is None or value in seen_values:
            continue
        seen_values.add(value)
        try:
            pos, alt = parse_iso6709(value)
            problem = ""
        except InputError as exc:
            pos, alt, problem = None, None, exc.message
        if pos is not None and pos.lat == 0 and pos.lon == 0:
            pos, problem = None, NULL_ISLAND  # an unset receiver: a claim, never a position
        out.append(
            LocationClaim(
                source=next((k for k in raw.metadata if k.lower() == key), key),
                raw=value,
                position=pos,
                altitude_m=alt,
                accuracy_m=accuracy if key.startswith("com.apple") else None,
                problem=problem,
            )
        )
    return out


def device_of(meta: Mapping[str, str]) -> DeviceInfo:
    def first(*keys: str) -> str | None:
        for k in keys:
            if meta.get(k):
                return meta[k]
        return None

    return DeviceInfo(
        make=first("com.apple.quicktime.make", "make", "com.android.manufacturer"),
        model=first("com.apple.quicktime.model", "model", "com.android.model"),
        software=first("com.apple.quicktime.software", "software"),
        firmware=first("firmware"),
        android_version=first("com.android.version"),
    )
