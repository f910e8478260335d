"""Metadata parity with ExifTool on every sample file: what it reports, probe reports.

ExifTool (Debian's libimage-exiftool-perl, installed by `make test` as a test oracle, never a
runtime dependency) is run with ``-n -j -G1 -a -ee0`` on every photo and video in tests/data
and samples/. Each location, time or device field it reports must be found in probe's result
with the same value (tolerances in units below), or be listed in ``GAPS`` with the reason
geoverify does not report it. A field ExifTool reports that is neither found nor named fails.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, ROOT

from geoverify.probing import MediaInfo, probe

EXIFTOOL = shutil.which("exiftool")
DEG_TOL = 1e-6  # ExifTool -n prints up to 15 significant digits; we keep the same rationals
ALT_TOL_M = 0.01
BEARING_TOL_DEG = 1e-6

FILES = sorted(
    [
        *(DATA / "photos").glob("*.jpg"),
        *(DATA / "photos").glob("*.heic"),
        *(DATA / "video_metadata").glob("*.mp4"),
        *(DATA / "video_metadata").glob("*.mov"),
        ROOT / "samples" / "karma" / "karma.mp4",
        *(ROOT / "samples" / "berlin" / "photos").glob("*.jpg"),
    ]
)

# (tag name without group) -> why probe does not report it
GAPS = {
    "ModifyDate": "when the file was last changed, not a capture time; probe reports it only "
    "when no DateTimeOriginal exists (W_EXIF_NO_ORIGINAL_TIME)",
    "CreateDate": "EXIF CreateDate (digitised) duplicates DateTimeOriginal in every sample",
    "TrackCreateDate": "per-track header times: FFmpeg exposes them as the streams' "
    "creation_time, probe compares those (W_TIMES_DISAGREE)",
    "TrackModifyDate": "a per-track change time, not a capture time",
    "MediaCreateDate": "per-track media header times: the same as TrackCreateDate here",
    "MediaModifyDate": "a per-track change time, not a capture time",
    "SonyDateTime": "a Sony maker-note copy of DateTimeOriginal: maker notes are not read",
    "SubSecTimeOriginal": "sub-second digits of DateTimeOriginal: not applied (seconds suffice "
    "for every check geoverify makes)",
    "SubSecTimeDigitized": "sub-second digits of CreateDate",
    "SubSecTime": "sub-second digits of ModifyDate",
    "GPSDateStamp": "reported as part of the GPS date/time (Composite:GPSDateTime) when valid; a "
    "malformed one is a note (W_EXIF_GPS_DATE_INVALID)",
    "GPSTimeStamp": "reported as part of the GPS date/time; alone (no date) it is used only to "
    "compare clocks (I_IMPLIED_UTC_OFFSET)",
    "GPSLatitudeRef": "applied to the latitude's sign",
    "GPSLongitudeRef": "applied to the longitude's sign",
    "GPSAltitudeRef": "applied to the altitude's sign",
    "GPSImgDirectionRef": "reported as the direction's reference (true/magnetic)",
    "GPSDestBearingRef": "reported as the direction's reference",
    "GPSTrackRef": "reported as the direction's reference",
    "GPSSpeed": "speed is not evidence of place or time; not reported",
    "GPSSpeedRef": "unit of GPSSpeed",
    "GPSVersionID": "format version, no claim",
    "GPSMapDatum": "WGS-84 in every sample; a different datum is not converted (not handled)",
    "GPSMeasureMode": "reported within the DOP note (2D/3D fix)",
    "GPSStatus": "receiver status A/V: not reported (no sample has V)",
    "GPSDifferential": "no claim of place or time",
    "GPSSatellites": "not reported for photos",
    "GPSPosition": "ExifTool's composite of latitude and longitude, compared through those",
    "AndroidCaptureFps": "a frame rate, not a claim of place or time",
    "LensSerialNumber": "a serial number identifies a device, it is no claim of place or time: "
    "not reported (a gap: analysts may want it to link files to one camera)",
    "SerialNumberHash": "as LensSerialNumber",
    "OffsetTime": "applied to the time it qualifies",
    "OffsetTimeOriginal": "applied to DateTimeOriginal",
    "OffsetTimeDigitized": "applied to CreateDate, which is not reported",
    "DateTimeCreated": "IPTC/XMP copy of DateTimeOriginal: XMP and IPTC are not read",
    "DateCreated": "XMP/IPTC copy of the capture date: XMP and IPTC are not read",
    "ProfileDateTime": "the ICC colour profile's creation date: no claim about the photo",
    "LensMake": "the lens maker: the camera's Make is reported",
    "LensModel": "the lens model: not reported (the camera's Model is)",
    "DigitalCreationDate": "IPTC, not read",
    "SubSecCreateDate": "ExifTool's composite with sub-seconds: seconds are reported",
    "SubSecDateTimeOriginal": "ExifTool's composite with sub-seconds: seconds are reported",
    "SubSecModifyDate": "ExifTool's composite with sub-seconds",
    "GPSSpeedX": "GoPro's velocity components: not evidence of place or time",
    "GPSSpeedY": "as GPSSpeedX",
    "GPSSpeedZ": "as GPSSpeedX",
    "GPSSpeed3D": "as GPSSpeedX",
    "SerialNumber": "a serial number, no claim of place or time (a gap for linking files to "
    "one camera)",
    "OtherSerialNumber": "as SerialNumber",
    "CameraSerialNumber": "a serial number, no claim of place or time (a gap for linking files "
    "to one camera)",
}


# (file, group:tag) -> why probe does not report it in that file
FILE_GAPS = {
    ("immich_thompson-springs.jpg", "Composite:DateTimeOriginal"): "ExifTool builds it from "
    "IPTC DateCreated + TimeCreated, which probe does not read (a gap)",
    ("karma.mp4", "Track5:Model"): "'HERO5 Black' comes from the udta GPMF box, which probe "
    "does not read; the telemetry track's DVNM says only 'Camera' (a gap)",
    ("max-heromode.mp4", "Track4:GPSHPositioningError"): "GPMF's GPSP precision is reported "
    "as each fix's DOP, not as a horizontal error in metres",
    ("karma.mp4", "Track4:GPSDateTime"): "the Karma drone's GPS RAW records carry their own "
    "UTC time, which probe does not decode (its Karma fixes have no time_utc): a gap",
    ("karma.mp4", "Track4:GPSTrack"): "the Karma GPS RAW heading is not decoded (a gap)",
}


def _near(a: float | None, b: float, tol: float) -> bool:
    return a is not None and abs(a - b) <= tol


def _has_lat(m: MediaInfo, v: Any) -> bool:
    # ExifTool's GPS group prints the magnitude (the sign is in the Ref); Composite is signed
    return any(
        loc.position and _near(abs(loc.position.lat), abs(float(v)), DEG_TOL) for loc in m.locations
    )


def _has_lon(m: MediaInfo, v: Any) -> bool:
    return any(
        loc.position and _near(abs(loc.position.lon), abs(float(v)), DEG_TOL) for loc in m.locations
    )


def _has_coords(m: MediaInfo, v: Any) -> bool:
    parts = [float(x) for x in str(v).split()]
    return _has_lat(m, parts[0]) and _has_lon(m, parts[1])


def _has_alt(m: MediaInfo, v: Any) -> bool:
    return any(_near(abs(loc.altitude_m or 0), float(v), ALT_TOL_M) for loc in m.locations)


def _direction(kind: str) -> Callable[[MediaInfo, Any], bool]:
    def check(m: MediaInfo, v: Any) -> bool:
        return any(
            d.kind == kind and _near(d.bearing_deg, float(v), BEARING_TOL_DEG) for d in m.directions
        )

    return check


def _has_time_raw(m: MediaInfo, v: Any) -> bool:
    text = str(v)[:19]
    iso = re.sub(r"^(\d{4}):(\d\d):(\d\d) ", r"\1-\2-\3T", text)
    return any(t.raw.startswith(text) or t.raw.startswith(iso) for t in m.creation_times)


def _has_instant(m: MediaInfo, v: Any) -> bool:
    text = str(v).rstrip("Z")
    try:
        when = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return False
    frac = float("0" + text[19:]) if len(text) > 19 and text[19] == "." else 0.0
    target = when.timestamp() + frac
    times = [t.utc for t in m.creation_times if t.utc is not None]
    if m.gps_track is not None:
        times += [f.time_utc for f in m.gps_track.fixes if f.time_utc is not None]
    return any(abs(t.timestamp() - target) < 1.0 for t in times)


def device_of(field: str) -> Callable[[MediaInfo, Any], bool]:
    return lambda m, v: str(getattr(m.device, field) or "") == str(v).strip()


CHECKS: dict[str, Callable[[MediaInfo, Any], bool]] = {
    "GPSLatitude": _has_lat,
    "GPSLongitude": _has_lon,
    "GPSAltitude": _has_alt,
    "GPSCoordinates": _has_coords,
    "GPSImgDirection": _direction("view"),
    "GPSDestBearing": _direction("destination"),
    "GPSTrack": _direction("movement"),
    "GPSHPositioningError": lambda m, v: any(
        _near(loc.accuracy_m, float(v), 1e-9) for loc in m.locations
    ),
    "GPSDOP": lambda m, v: any(n.code == "I_EXIF_GPS_DOP" for n in m.notes),
    "DateTimeOriginal": _has_time_raw,
    "CreationDate": _has_time_raw,
    "Make": device_of("make"),
    "Model": device_of("model"),
    "Software": device_of("software"),
    "FirmwareVersion": device_of("firmware"),
    "AndroidVersion": device_of("android_version"),
}


def _on_track(tag: str) -> Callable[[MediaInfo, Any], bool]:
    """A GoPro track sample: ExifTool (-ee0) gives a payload's first sample, probe its last
    (about a second later), so the nearest fix is compared within 1e-4 deg (11 m) and 5 m."""

    def check(m: MediaInfo, v: Any) -> bool:
        fixes = m.gps_track.fixes if m.gps_track is not None else ()
        value = float(v)
        if tag == "GPSLatitude":
            return any(_near(f.lat, value, 1e-4) for f in fixes)
        if tag == "GPSLongitude":
            return any(_near(f.lon, value, 1e-4) for f in fixes)
        return any(_near(f.alt_m, value, 5.0) for f in fixes)

    return check


def _gps_instant_or_named(m: MediaInfo, v: Any) -> bool:
    return _has_instant(m, v) or any(n.code == "W_EXIF_GPS_DATE_INVALID" for n in m.notes)


GROUP_CHECKS = {  # (group, tag): check
    ("Composite", "GPSDateTime"): _gps_instant_or_named,
    ("QuickTime", "CreateDate"): _has_time_raw,
}
# the location, time and device fields: GPS*, dates and times of creation, make/model/software
RELEVANT = re.compile(
    r"^(GPS\w*|\w*Date|DateTime\w*|TimeCreated|CreationDate|Make|Model|Software|"
    r"Firmware\w*|AndroidVersion|LensMake|LensModel|\w*SerialNumber\w*)$"
)
# groups probe does not read, with the reason (a gap, named)
GROUP_GAPS = {
    "XMP": "XMP packets are not read: some phones write the capture time's zone only there "
    "(nokia_lumia800.jpg: DateTimeDigitized 21:23:38+01:00), and it is lost (a gap)",
    "IPTC": "IPTC records are not read: immich_thompson-springs.jpg holds its only capture "
    "time there (15:15:44-04:00), which probe misses (a gap)",
    "Apple": "Apple maker notes (run time since boot, not a clock time) are not read",
    "Sony": "Sony maker notes are not read",
    "ICC-header": "the colour profile's header: no claim about the photo",
    "IFD1": "the thumbnail's IFD repeats IFD0's fields",
}


def _exiftool(path: Path) -> dict[str, Any]:
    assert EXIFTOOL is not None
    out = subprocess.run(
        [EXIFTOOL, "-n", "-j", "-G1", "-a", "-ee0", "-api", "LargeFileSupport=1", str(path)],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    (doc,) = json.loads(out)
    return dict(doc)


@pytest.mark.skipif(EXIFTOOL is None, reason="ExifTool (libimage-exiftool-perl) is not installed")
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_probe_reports_every_place_time_and_device_field_exiftool_reports(path):
    media = probe(path)
    missing = []
    for key, value in _exiftool(path).items():
        group, _, tag = key.partition(":")
        if group in ("System", "File", "ExifTool", "SourceFile", "ICC_Profile") or not tag:
            continue
        if not RELEVANT.match(tag):
            continue
        if any(group.startswith(g) for g in GROUP_GAPS):
            continue
        check = GROUP_CHECKS.get((group, tag)) or (
            CHECKS.get(tag) if not group.startswith("Track") or tag in CHECKS else None
        )
        if group.startswith("Track") and tag == "GPSDateTime":
            check = _has_instant  # the first time of the GoPro GPS track
        if group.startswith("Track") and tag in ("GPSLatitude", "GPSLongitude", "GPSAltitude"):
            check = _on_track(tag)
        named = FILE_GAPS.get((path.name, key))
        if named:
            continue
        if check is not None:
            if not check(media, value):
                missing.append(f"{key}={value!r} (probe does not report it)")
            continue
        if GAPS.get(tag):
            continue
        missing.append(f"{key}={value!r} (neither reported nor named in GAPS)")
    assert not missing, missing
