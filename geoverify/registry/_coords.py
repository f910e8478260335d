"""Coordinates as analysts paste them, and geometry from the command line.

``parse_position`` reads, in this order:

- an OpenStreetMap link (``?mlat=..&mlon=..`` or ``#map=ZOOM/LAT/LON``) or a Google Maps link
  (``/@LAT,LON,ZOOMz``, ``?q=LAT,LON``, ``?ll=LAT,LON``, ``!3dLAT!4dLON``);
- two decimal numbers, latitude first (``48.59472, 38.00083`` or ``48.59472 38.00083``);
- degrees, minutes and seconds with their symbols and hemispheres (``48°35′41″N 38°0′3″E``,
  ``48°35'41"N, 38°0'3"E``), read with geopy's ``Point`` and checked against the degrees
  written in the text (geopy reads some forms without symbols wrongly, e.g. ``48 35 41 N, 38 0
  3 E`` as 0, 3: such text is refused, never guessed).

Every parse is echoed back by the CLI before anything is written.
"""

from __future__ import annotations

import itertools
import json
import re
import urllib.parse
import warnings
from collections.abc import Sequence
from typing import Any

import shapely
from shapely.geometry import LineString, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from geoverify.errors import InputError
from geoverify.models import LatLon

__all__ = ["parse_geometry", "parse_position"]

_NUM = r"[-+]?\d+(?:\.\d+)?"
_DECIMAL_PAIR = re.compile(rf"^\s*({_NUM})\s*[,;\s]\s*({_NUM})\s*$")
_AT_ZOOM = re.compile(rf"@({_NUM}),({_NUM})(?:,[\d.]+[zm])?")
_3D4D = re.compile(rf"!3d({_NUM})!4d({_NUM})")
_OSM_MAP = re.compile(rf"#map=\d+(?:\.\d+)?/({_NUM})/({_NUM})")
_DMS_HINT = "Give decimal degrees (48.59472, 38.00083), 48°35′41″N 38°0′3″E, or a map link."
# A geometry is at most four levels deep (a MultiPolygon's positions). Deeper text is refused
# before it is parsed: json.loads recurses (RecursionError), and GEOS's WKT reader kills the
# process (a segmentation fault with shapely 2.2, GEOS 3.14: 30,000 nested collections).
MAX_GEOMETRY_NESTING = 32
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}()]+")
_STEP = {"[": 1, "{": 1, "(": 1, "]": -1, "}": -1, ")": -1}


def _bad(text: str, why: str) -> InputError:
    msg = f"cannot read a position from {text[:80]!r}: {why}"
    return InputError(msg, code="E_INPUT_COORD", hint=_DMS_HINT)


def _checked(lat: float, lon: float, text: str) -> LatLon:
    try:
        return LatLon(lat, lon)
    except InputError as exc:
        err = _bad(text, exc.message)
        err.hint = exc.hint or err.hint  # LatLon's hint says when the order looks swapped
        raise err from None


def _from_link(text: str) -> LatLon | None:
    if "://" not in text and not text.startswith(("www.", "maps.", "openstreetmap.")):
        return None
    url = urllib.parse.urlsplit(text if "://" in text else "https://" + text)
    query = urllib.parse.parse_qs(url.query)
    if "mlat" in query and "mlon" in query:
        return _checked(float(query["mlat"][0]), float(query["mlon"][0]), text)
    for key in ("q", "ll", "query", "center"):
        if key in query:
            m = _DECIMAL_PAIR.match(query[key][0].replace("+", " "))
            if m:
                return _checked(float(m[1]), float(m[2]), text)
    for pattern in (_3D4D, _AT_ZOOM, _OSM_MAP):
        m = pattern.search(text)
        if m:
            return _checked(float(m[1]), float(m[2]), text)
    raise _bad(text, "a link without a position in it")


def parse_position(text: str) -> LatLon:
    """Read a position as analysts paste it (see the module docstring); latitude first.

    Raises
    ------
    InputError
        ``E_INPUT_COORD`` for text that is not a position, or one out of range.
    """
    raw = text.strip()
    if not raw:
        raise _bad(text, "it is empty")
    linked = _from_link(raw)
    if linked is not None:
        return linked
    m = _DECIMAL_PAIR.match(raw)
    if m:
        return _checked(float(m[1]), float(m[2]), text)
    if not re.search(r"[°º]", raw):
        raise _bad(text, "not two decimal numbers, and no degree sign (°)")
    from geopy.point import Point as GeoPoint

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = GeoPoint(raw)
    except (ValueError, TypeError) as exc:
        raise _bad(text, str(exc)) from None
    degrees = [int(d) for d in re.findall(r"(\d+)\s*[°º]", raw)]
    if len(degrees) != 2 or (int(abs(p.latitude)), int(abs(p.longitude))) != tuple(degrees):
        raise _bad(text, f"read as {p.latitude:.6f}, {p.longitude:.6f}, which its degrees deny")
    return _checked(float(p.latitude), float(p.longitude), text)


def _positions(text: str) -> list[LatLon]:
    parts = [p for p in re.split(r"\s*;\s*|\n", text.strip()) if p.strip()]
    return [parse_position(p) for p in parts]


def _nesting(text: str) -> int:
    """How deep brackets in ``text`` nest (JSON strings left out); counted, never parsed."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _check_nesting(text: str, what: str, example: str) -> None:
    if _nesting(text) > MAX_GEOMETRY_NESTING:
        msg = f"the {what} is nested deeper than {MAX_GEOMETRY_NESTING} levels"
        raise InputError(
            msg,
            code="E_GEOM_INVALID",
            hint=f"Give one point, line or area (at most 4 levels deep), e.g. {example}",
        )


def parse_geometry(
    *,
    at: str | None = None,
    line: str | None = None,
    area: str | None = None,
    wkt: str | None = None,
    geojson: str | None = None,
) -> tuple[BaseGeometry | None, list[str]]:
    """Build a geometry from one of the ways the CLI takes it; return it with what was done.

    ``line`` and ``area`` are positions separated by ``;`` (each read by ``parse_position``,
    latitude first); an area's ring is closed if its last position does not repeat the first
    (said in the returned notes). ``wkt`` is WKT in x = longitude, y = latitude order, as WKT
    always is; ``geojson`` a GeoJSON geometry object (longitude, latitude).
    """
    given = [k for k, v in {"at": at, "line": line, "area": area, "wkt": wkt,
                            "geojson": geojson}.items() if v is not None]  # fmt: skip
    if len(given) > 1:
        msg = f"give one geometry, not {' and '.join('--' + g for g in given)}"
        raise InputError(msg, code="E_INPUT_OPTION", hint="Use one of --at, --line, --area, --wkt.")
    notes: list[str] = []
    if at is not None:
        p = parse_position(at)
        return Point(p.lon, p.lat), notes
    if line is not None:
        return _line_of(line), notes
    if area is not None:
        return _area_of(area, notes), notes
    if wkt is not None:
        return _from_wkt(wkt), notes
    if geojson is not None:
        return _from_geojson(geojson), notes
    return None, notes


def _line_of(text: str) -> LineString:
    pts = _positions(text)
    if len(pts) < 2:
        msg = "a line needs at least two positions separated by ;"
        raise InputError(msg, code="E_INPUT_COORD", hint="e.g. 48.59,38.00; 48.60,38.01")
    return LineString([(p.lon, p.lat) for p in pts])


def _area_of(text: str, notes: list[str]) -> Polygon:
    """Read an area's ring, closing it (and saying so in ``notes``) when it is open."""
    pts = _positions(text)
    if pts and pts[0] != pts[-1]:
        pts.append(pts[0])
        notes.append("the ring was closed: its first position was repeated at the end")
    if len(pts) < 4:
        msg = "an area needs at least three distinct positions separated by ;"
        raise InputError(msg, code="E_INPUT_COORD", hint="e.g. 48.59,38.00; 48.60,38.01; ...")
    return Polygon([(p.lon, p.lat) for p in pts])


def _from_wkt(wkt: str) -> BaseGeometry:
    example = "LINESTRING (38.0 48.59, ...)"
    _check_nesting(wkt, "WKT geometry", example)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # 1e999: refused when written
            geometry: BaseGeometry = shapely.from_wkt(wkt)
    except (shapely.errors.ShapelyError, NotImplementedError, ValueError, TypeError) as exc:
        # NotImplementedError: curved types (CIRCULARSTRING), which shapely does not model
        msg = f"not WKT geoverify can use: {str(exc)[:120]}"
        raise InputError(msg, code="E_INPUT_COORD", hint=f"e.g. {example}") from None
    return geometry


def _from_geojson(text: str) -> BaseGeometry:
    example = '{"type": "Point", "coordinates": [38.0, 48.59]}'
    _check_nesting(text, "GeoJSON geometry", example)
    try:
        data: Any = json.loads(text)
        geometry: BaseGeometry = shape(data)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError) as exc:
        msg = f"not a GeoJSON geometry: {str(exc)[:120]}"
        raise InputError(msg, code="E_INPUT_COORD", hint=f"e.g. {example}") from None
    except (shapely.errors.ShapelyError, NotImplementedError) as exc:
        msg = f"not a GeoJSON geometry geoverify can use: {str(exc)[:120]}"
        raise InputError(msg, code="E_INPUT_COORD", hint=f"e.g. {example}") from None
    return geometry


def describe_positions(geometry: BaseGeometry | None) -> Sequence[str]:
    """Echo a geometry's positions as "lat, lon" lines (at most 6, then a count)."""
    if geometry is None:
        return ["no position"]
    coords = shapely.get_coordinates(geometry)
    out = [f"{y:.7f}, {x:.7f}" for x, y in coords[:6]]
    if len(coords) > 6:
        out.append(f"... {len(coords)} positions in all")
    return out
