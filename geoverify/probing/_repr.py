"""What a notebook shows of a probe result: the claims a person reads, in plain units.

Positions in decimal degrees (6 places, latitude first) with the file's own text (EXIF's
degree-minute-second rationals) beside them, the stated accuracy, the camera's direction, the
device, and a video's GPS track summarised (fixes, time span, first and last position).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from geoverify.probing._model import (
        CameraDirection,
        CreationTime,
        DeviceInfo,
        LocationClaim,
        MediaInfo,
    )

_DIRECTION_VERB = {
    "view": "facing",  # where the lens points
    "destination": "subject at",  # GPSDestBearing: the bearing to the photographed subject
    "movement": "moving toward",  # GPSTrack: the direction of travel, not of the lens
}


_EXIF_DMS = re.compile(r"\(([\d.]+), ([\d.]+), ([\d.]+)\) ([NSEW])")


def degrees_text(lat: float, lon: float) -> str:
    """Say a position in decimal degrees, 6 places (about 0.1 m), latitude first."""
    return f"{lat:.6f}, {lon:.6f}"


def dms_text(raw: str) -> str:
    """Return EXIF rationals as degrees, minutes and seconds; any other text as it is.

    ``(52.0, 31.0, 8.1) N (13.0, 24.0, 1.06) E`` becomes ``52° 31′ 8.1″ N, 13° 24′ 1.06″ E``.
    """
    found = _EXIF_DMS.findall(raw)
    if len(found) != 2:
        return raw
    return ", ".join(f"{float(d):g}° {float(m):g}′ {float(s):g}″ {h}" for d, m, s, h in found)


def time_text(t: CreationTime) -> str:
    """Say a creation time as a person reads it, never in EXIF's ``2011:01:13`` form.

    An instant in UTC; a local time with no zone as such (with the UTC offset at which it
    agrees with the file's GPS clock, when there is one); the raw text when it could not be
    read.
    """
    if t.utc is not None:
        said = t.utc.strftime("%Y-%m-%d %H:%M:%S UTC")
        if not t.zone_stated:
            return said + " (as the format defines it; no zone written)"
        offset = t.local_offset or ""
        return said + (f" (written with offset {offset})" if offset.strip("Z+-0:") else "")
    if t.local_time is None:
        return f"{t.raw!r} (not a readable time)"
    said = f"{t.local_time.replace('T', ' ')} local time, zone not stated"
    if t.implied_utc_offset_s is not None:
        minutes = round(t.implied_utc_offset_s / 60)
        sign = "-" if minutes < 0 else "+"
        hours, mins = divmod(abs(minutes), 60)
        said += f" (UTC{sign}{hours:02d}:{mins:02d} by the file's GPS clock)"
    return said


def device_text(device: DeviceInfo) -> str:
    """Say the make and model once: ``Nokia Lumia 800``, not ``Nokia Nokia Lumia 800``."""
    make, model = (device.make or "").strip(), (device.model or "").strip()
    if make and model.casefold().startswith(make.casefold()):
        make = ""
    return " ".join(x for x in (make, model) if x)


def direction_text(d: CameraDirection) -> str:
    """Say a direction by its kind: the lens faces, the subject lies at, the device moves."""
    verb = _DIRECTION_VERB.get(d.kind, f"{d.kind} bearing")
    return f"{verb} {d.bearing_deg:.1f} deg from {d.reference} north"


def media_rows(info: MediaInfo) -> list[tuple[str, str]]:
    """Return (label, text) rows: identity, picture, time, place, direction, device, track.

    The trust notes are not among them: ``MediaInfo._repr_html_`` adds them last.
    """
    rows = [
        ("file", info.path),
        ("sha256", info.sha256),
        ("container", info.container.format_sniffed),
    ]
    if info.video is not None:
        v = info.video
        rows.append(
            ("video", f"{v.codec} {v.display_width}x{v.display_height}, rotation {v.rotation_deg}")
        )
    elif info.still is not None:
        s = info.still
        rows.append(("photo", f"{s.format} {s.display_width}x{s.display_height}"))
    rows += [("created", f"{time_text(t)} ({t.source})") for t in info.creation_times]
    rows += [_location_row(loc) for loc in info.locations]
    rows += [("direction", f"{direction_text(d)} ({d.source})") for d in info.directions]
    device = info.device
    said = [device_text(device)] if device.make or device.model else []
    if device.software:
        said.append(f"software {device.software}")
    if said:
        rows.append(("device", " ".join(said)))
    return rows + _track_rows(info)


def _location_row(loc: LocationClaim) -> tuple[str, str]:
    """Say one location claim: decimal degrees, accuracy, altitude, source, the file's text."""
    if loc.position is None:
        return "location", f"{loc.raw} ({loc.source}): {loc.problem or 'no position'}"
    p = loc.position
    acc = "accuracy not stated"
    if loc.accuracy_m is not None:
        acc = f"accuracy {loc.accuracy_m:,.0f} m"
    alt = f", altitude {loc.altitude_m:,.1f} m" if loc.altitude_m is not None else ""
    raw = (
        f"; as written: {dms_text(loc.raw)}"
        if loc.raw and loc.raw != degrees_text(p.lat, p.lon)
        else ""
    )
    return "location", f"{degrees_text(p.lat, p.lon)} ({acc}{alt}; {loc.source}{raw})"


def _track_rows(info: MediaInfo) -> list[tuple[str, str]]:
    track = info.gps_track
    if track is None or not track.fixes:
        return []
    first, last = track.fixes[0], track.fixes[-1]
    span = ""
    if track.first_time_utc is not None and track.last_time_utc is not None:
        a = track.first_time_utc.strftime("%Y-%m-%d %H:%M:%S")
        same_day = track.first_time_utc.date() == track.last_time_utc.date()
        b = track.last_time_utc.strftime("%H:%M:%S UTC" if same_day else "%Y-%m-%d %H:%M:%S UTC")
        span = f", {a} to {b}"
    cut = " (truncated)" if track.truncated else ""
    return [
        (
            "GPS track",
            f"{len(track.fixes)} fixes of {track.sample_count} samples{span}{cut} ({track.source})",
        ),
        ("GPS track from", degrees_text(first.lat, first.lon)),
        ("GPS track to", degrees_text(last.lat, last.lon)),
    ]
