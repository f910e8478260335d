"""Checking a feature's raw GeoJSON geometry before shapely sees it.

Positions are [lon, lat] or [lon, lat, alt] numbers, finite and in range (an out-of-range
position that would fit swapped says so); lines have two distinct positions or more; rings are
closed with four or more; one geometry does not mix 2D and 3D positions. Every problem is
recorded in a ``Collector`` with its code, JSON pointer and feature id, never raised.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

from geoverify.models import Note
from geoverify.registry._model import GEOM_TYPES, RegistryProblem


class Collector:
    """The problems (each stops its feature) and warnings found while reading one registry."""

    def __init__(self) -> None:
        self.problems: list[RegistryProblem] = []
        self.warnings: list[Note] = []
        self.dims: set[int] = set()  # position dimensions seen in the current geometry

    def add(self, code: str, pointer: str, fid: str, message: str) -> None:
        """Record a problem at JSON ``pointer`` of feature ``fid``."""
        self.problems.append(
            RegistryProblem(code=code, pointer=pointer, feature_id=fid, message=message)
        )

    def warn(self, code: str, message: str) -> None:
        """Record a warning about the registry (it still loads)."""
        self.warnings.append(Note(code=code, message=message, field="registry"))


def is_number(v: Any) -> bool:
    """Tell whether a JSON value is a number (``true`` and ``false`` are not)."""
    return isinstance(v, int | float) and not isinstance(v, bool)


def is_finite(v: Any) -> bool:
    """Tell whether a JSON number is a finite float (a 400-digit integer is not)."""
    if not is_number(v):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def _check_position(pos: Any, ptr: str, fid: str, c: Collector) -> tuple[float, float] | None:
    if not isinstance(pos, list) or len(pos) not in (2, 3):
        c.add(
            "E_GEOM_INVALID",
            ptr,
            fid,
            f"a position is [lon, lat] or [lon, lat, alt], got {json.dumps(pos)[:60]}",
        )
        return None
    bad = [i for i, v in enumerate(pos) if not is_number(v)]
    if bad:
        i = bad[0]
        c.add(
            "E_COORD_TYPE",
            f"{ptr}/{i}",
            fid,
            f"coordinate is {json.dumps(pos[i])[:40]}, not a number",
        )
        return None
    if not all(is_finite(v) for v in pos):
        c.add("E_COORD_RANGE", ptr, fid, "coordinate is not a finite number")
        return None
    c.dims.add(len(pos))
    lon, lat = float(pos[0]), float(pos[1])
    if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 180.0:
        hint = ""
        if -90.0 <= lon <= 90.0 and -180.0 <= lat <= 180.0:
            hint = " (looks like [lat, lon]: GeoJSON wants [lon, lat])"
        c.add("E_COORD_RANGE", ptr, fid, f"[{pos[0]}, {pos[1]}] is out of range{hint}")
        return None
    return lon, lat


def _check_line(coords: Any, ptr: str, fid: str, c: Collector) -> list[tuple[float, float]] | None:
    if not isinstance(coords, list):
        c.add("E_GEOM_INVALID", ptr, fid, "a line is a list of positions")
        return None
    pts = [_check_position(p, f"{ptr}/{i}", fid, c) for i, p in enumerate(coords)]
    if any(p is None for p in pts):
        return None
    line = [p for p in pts if p is not None]
    if len(line) < 2:
        c.add("E_GEOM_INVALID", ptr, fid, f"a line needs at least 2 positions, got {len(line)}")
        return None
    if all(p == line[0] for p in line):
        c.add("E_GEOM_INVALID", ptr, fid, "zero-length line: every position is the same")
        return None
    for i, (a, b) in enumerate(itertools.pairwise(line)):
        if abs(a[0] - b[0]) > 180.0:
            c.warn(
                "W_ANTIMERIDIAN",
                f"feature {fid!r}: segment {i} crosses the antimeridian; geoverify measures it "
                "the short way round (RFC 7946 asks for such lines to be split)",
            )
    return line


def _check_ring(coords: Any, ptr: str, fid: str, c: Collector) -> list[tuple[float, float]] | None:
    ring = _check_line(coords, ptr, fid, c)
    if ring is None:
        return None
    if len(ring) < 4:
        c.add(
            "E_GEOM_INVALID",
            ptr,
            fid,
            f"a polygon ring needs at least 4 positions, got {len(ring)}",
        )
        return None
    if ring[0] != ring[-1]:
        c.add("E_GEOM_INVALID", ptr, fid, "unclosed ring: the last position must repeat the first")
        return None
    return ring


def check_geometry(geom: Any, ptr: str, fid: str, c: Collector) -> bool:
    """Check a feature's raw ``geometry`` member (``null`` is allowed); record every problem.

    Returns ``True`` when it is usable: no problem was recorded for it.
    """
    if geom is None:
        return True
    if not isinstance(geom, dict):
        c.add("E_GEOM_INVALID", ptr, fid, "geometry must be an object or null")
        return False
    gtype = geom.get("type")
    if not isinstance(gtype, str) or gtype not in GEOM_TYPES:
        c.add(
            "E_GEOM_INVALID",
            f"{ptr}/type",
            fid,
            f"unsupported geometry type {json.dumps(gtype)[:40]}",
        )
        return False
    coords = geom.get("coordinates")
    cptr = f"{ptr}/coordinates"
    n_before = len(c.problems)
    c.dims = set()
    if gtype == "Point":
        _check_position(coords, cptr, fid, c)
    elif gtype == "LineString":
        _check_line(coords, cptr, fid, c)
    elif gtype == "Polygon":
        _check_polygon(coords, cptr, fid, c)
    else:
        _check_parts(gtype, coords, cptr, fid, c)
    if len(c.problems) == n_before and len(c.dims) > 1:
        c.add(
            "E_GEOM_INVALID",
            cptr,
            fid,
            "positions mix [lon, lat] and [lon, lat, alt]: give every position the same size",
        )
    return len(c.problems) == n_before


def _check_polygon(coords: Any, ptr: str, fid: str, c: Collector) -> None:
    if not isinstance(coords, list) or not coords:
        c.add("E_GEOM_INVALID", ptr, fid, "a polygon is a non-empty list of rings")
        return
    for i, ring in enumerate(coords):
        _check_ring(ring, f"{ptr}/{i}", fid, c)


def _check_parts(gtype: str, coords: Any, ptr: str, fid: str, c: Collector) -> None:
    """Check each part of a MultiPoint, MultiLineString or MultiPolygon."""
    if not isinstance(coords, list) or not coords:
        c.add("E_GEOM_INVALID", ptr, fid, f"{gtype} needs a non-empty list of parts")
        return
    for i, part in enumerate(coords):
        check = {"MultiPoint": _check_position, "MultiLineString": _check_line}.get(gtype)
        if check is not None:
            check(part, f"{ptr}/{i}", fid, c)
        else:
            _check_polygon(part, f"{ptr}/{i}", fid, c)
