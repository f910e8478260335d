"""A file's GPS track out: GPX 1.1, KML 2.2, GeoJSON or CSV; and positions at frame times.

Every fix is written as read (no smoothing, no resampling). Times: a fix's UTC time when the
track has one (GoPro GPSU); a DJI track's aircraft clock is local time with no zone, so GPX and
KML, whose times must be UTC, carry it only as a description, and GeoJSON/CSV carry it in a
``time_local`` column. ``t_s`` is the time in the video. Altitudes are as the source states
them, with their reference.

Strings come from the file (its name, the track's source, a DJI clock): a character XML 1.0 does
not allow (C0 controls, U+FFFE, U+FFFF) or a lone surrogate (an undecodable byte of a file name)
is written as U+FFFD, so every GPX/KML parses and every format is valid UTF-8.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
from typing import Any, Literal

from geoverify.models import LatLon
from geoverify.probing._model import GpsTrack

TrackFormat = Literal["gpx", "kml", "geojson", "csv"]
TRACK_FORMATS: tuple[TrackFormat, ...] = ("gpx", "kml", "geojson", "csv")

# not a UTF-8 character: a lone surrogate (surrogateescape decoding of an undecodable byte)
_NOT_UTF8 = re.compile(r"[\ud800-\udfff]")
# not an XML 1.0 Char (https://www.w3.org/TR/xml/#charsets); \r would be read back as \n
_NOT_XML = re.compile(r"[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> Any:
    """Return a string with every lone surrogate as U+FFFD; other values as they are."""
    return _NOT_UTF8.sub("\ufffd", value) if isinstance(value, str) else value


def _xml(value: str) -> str:
    """Escape ``value`` for XML text, each character XML 1.0 does not allow as U+FFFD."""
    # imported here: xml.sax pulls in urllib and ssl, 14 ms of every CLI start otherwise
    from xml.sax.saxutils import escape

    return escape(_NOT_XML.sub("\ufffd", value))


def _fields(fix: Any) -> dict[str, Any]:
    gimbal = getattr(fix, "gimbal_pry_deg", None)
    aircraft = getattr(fix, "aircraft_pry_deg", None)
    return {
        "t_s": round(float(fix.payload_t_s), 6),
        "time_utc": fix.time_utc.isoformat() if fix.time_utc is not None else None,
        "time_local": getattr(fix, "time_local", None),
        "lat": fix.lat,
        "lon": fix.lon,
        "alt_m": fix.alt_m if fix.alt_m is not None and math.isfinite(fix.alt_m) else None,
        "alt_reference": getattr(fix, "alt_reference", "") or "as the camera reports it",
        "speed_2d_mps": fix.speed_2d_mps,
        "dop": fix.dop,
        "satellites": getattr(fix, "satellites", None),
        "gimbal_yaw_deg": gimbal[2] if gimbal else None,
        "gimbal_pitch_deg": gimbal[0] if gimbal else None,
        "aircraft_yaw_deg": aircraft[2] if aircraft else None,
    }


def _geojson(rows: list[dict[str, Any]], name: str, source: str) -> bytes:
    line = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[r["lon"], r["lat"]] for r in rows]},
        "properties": {"name": name, "source": source, "fixes": len(rows)},
    }
    points = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
            "properties": {k: v for k, v in r.items() if k not in ("lat", "lon")},
        }
        for r in rows
    ]
    doc = {"type": "FeatureCollection", "features": [line, *points]}
    return (json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=1) + "\n").encode()


def _csv(rows: list[dict[str, Any]], name: str, source: str) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["t_s"])
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _gpx_point(r: dict[str, Any]) -> str:
    ele = f"<ele>{r['alt_m']}</ele>" if r["alt_m"] is not None else ""
    when = f"<time>{r['time_utc'].replace('+00:00', 'Z')}</time>" if r["time_utc"] else ""
    desc = f"t_s={r['t_s']}" + (f" local={r['time_local']}" if r["time_local"] else "")
    return f'<trkpt lat="{r["lat"]}" lon="{r["lon"]}">{ele}{when}<desc>{_xml(desc)}</desc></trkpt>'


def _gpx(rows: list[dict[str, Any]], name: str, source: str) -> bytes:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gpx version="1.1" creator="geoverify" xmlns="http://www.topografix.com/GPX/1/1">',
        f"<trk><name>{_xml(name)}</name><desc>{_xml(source)}</desc><trkseg>",
        *(_gpx_point(r) for r in rows),
        "</trkseg></trk></gpx>",
    ]
    return ("\n".join(out) + "\n").encode("utf-8")


def _kml_point(r: dict[str, Any]) -> str:
    when = (
        f"<TimeStamp><when>{r['time_utc'].replace('+00:00', 'Z')}</when></TimeStamp>"
        if r["time_utc"]
        else ""
    )
    return (
        f"<Placemark><name>{r['t_s']} s</name>{when}<Point><coordinates>"
        f"{r['lon']},{r['lat']}</coordinates></Point></Placemark>"
    )


def _kml(rows: list[dict[str, Any]], name: str, source: str) -> bytes:
    coords = " ".join(
        f"{r['lon']},{r['lat']}" + (f",{r['alt_m']}" if r["alt_m"] is not None else "")
        for r in rows
    )
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>',
        f"<name>{_xml(name)}</name><description>{_xml(source)}</description>",
        "<Placemark><name>track</name><LineString><altitudeMode>absolute</altitudeMode>"
        f"<coordinates>{coords}</coordinates></LineString></Placemark>",
        *(_kml_point(r) for r in rows),
        "</Document></kml>",
    ]
    return ("\n".join(out) + "\n").encode("utf-8")


_WRITERS = {"geojson": _geojson, "csv": _csv, "gpx": _gpx, "kml": _kml}


def export_track(track: GpsTrack, fmt: str, *, name: str = "track") -> bytes:
    """Serialise ``track`` in ``fmt`` (one of ``TRACK_FORMATS``); UTF-8 bytes."""
    write = _WRITERS.get(fmt)
    if write is None:
        msg = f"unknown track format {fmt!r}"
        raise ValueError(msg)
    rows = [{k: _text(v) for k, v in _fields(f).items()} for f in track.fixes]
    return write(rows, _text(name), _text(track.source))


def position_at(
    track: GpsTrack, t_s: float, *, max_gap_s: float = 2.0
) -> tuple[LatLon, Any] | None:
    """Find the camera position at ``t_s`` (seconds into the video), between two fixes.

    Returns the position and the nearer fix (for its attitude), or ``None`` when ``t_s`` lies
    outside the track or between fixes more than ``max_gap_s`` apart: a position is never
    extrapolated or bridged across a gap.
    """
    fixes = sorted(track.fixes, key=lambda f: f.payload_t_s)
    if not fixes or t_s < fixes[0].payload_t_s or t_s > fixes[-1].payload_t_s:
        return None
    for a, b in itertools.pairwise(fixes):
        if a.payload_t_s <= t_s <= b.payload_t_s:
            span = b.payload_t_s - a.payload_t_s
            if span > max_gap_s:
                return None
            w = 0.0 if span == 0 else (t_s - a.payload_t_s) / span
            nearer = a if w < 0.5 else b
            return LatLon(a.lat + w * (b.lat - a.lat), a.lon + w * (b.lon - a.lon)), nearer
    last = fixes[-1]
    return LatLon(last.lat, last.lon), last


def frame_cameras(track: GpsTrack | None, frames: Any) -> dict[int, dict[str, Any]]:
    """Give each frame its camera position (and viewing direction, where the track has one).

    Keyed by frame number; a frame outside the track, or in a gap longer than 2 s, is left out
    (no position is invented). Positions are linear between the two fixes around the frame's
    time; the direction is the nearer fix's gimbal yaw, as the telemetry writes it.
    """
    out: dict[int, dict[str, Any]] = {}
    if track is None or not track.fixes:
        return out
    for f in frames:
        found = position_at(track, float(f.t_s))
        if found is None:
            continue
        where, nearer = found
        gimbal = getattr(nearer, "gimbal_pry_deg", None)
        out[int(f.frame_number)] = {
            "lat": where.lat,
            "lon": where.lon,
            "alt_m": nearer.alt_m if nearer.alt_m is not None else None,
            "heading_deg": gimbal[2] % 360 if gimbal else None,
            "heading_source": "gimbal yaw (north reference not stated)" if gimbal else None,
            "source": track.source,
            "method": "linear between the two fixes around the frame time",
        }
    return out
