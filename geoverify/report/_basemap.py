"""The local map's basemap: the registry's OpenStreetMap rivers, roads and areas near the case.

Where the registry was imported from OpenStreetMap (``geoverify registry import-osm``), its
lines and areas that the report does not name are drawn under the landmarks, so the map shows
the streets and the river it was checked against. Only landmarks with an OSM source are taken
(a surveyed point is a landmark, not a basemap), only inside the box of the named landmarks
widened by half its size and at least ``_MARGIN_M``, simplified to ``_SIMPLIFY_DEG`` (about
1 m) and at most ``_MAX_FEATURES`` of them (the nearest to the case first), so a city-sized
import does not make a city-sized report.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry

from geoverify.registry import Landmark

_MARGIN_M = 500.0
_SIMPLIFY_DEG = 1e-5
_MAX_FEATURES = 1500
_M_PER_DEG_LAT = 111_320.0
_DRAWN = ("LineString", "MultiLineString", "Polygon", "MultiPolygon")


def basemap_kind(tags: Mapping[str, str], geometry_type: str) -> str:
    """Return how a basemap feature is drawn: ``water``, ``road``, ``area`` or ``line``."""
    if "waterway" in tags or tags.get("natural") == "water" or "water" in tags:
        return "water"
    if "highway" in tags or "railway" in tags:
        return "road"
    return "area" if "Polygon" in geometry_type else "line"


def _frame(features: Sequence[Mapping[str, Any]]) -> BaseGeometry | None:
    """Return the named landmarks' box, widened, in lon/lat degrees."""
    pts = [p for f in features for p in _points(f["geometry"]["coordinates"])]
    if not pts:
        return None
    w, e = min(p[0] for p in pts), max(p[0] for p in pts)
    s, n = min(p[1] for p in pts), max(p[1] for p in pts)
    k = max(math.cos(math.radians((s + n) / 2)), 1e-6)
    dlat = max((n - s) / 2, _MARGIN_M / _M_PER_DEG_LAT)
    dlon = max((e - w) / 2, _MARGIN_M / _M_PER_DEG_LAT / k)
    return box(w - dlon, s - dlat, e + dlon, n + dlat)


def _points(coords: Any) -> Iterable[tuple[float, float]]:
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        yield float(coords[0]), float(coords[1])
        return
    for c in coords:
        yield from _points(c)


def basemap_features(
    landmarks: Iterable[Landmark], named: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Return the OSM lines and areas near the named landmarks, as GeoJSON-like records.

    ``named`` are the map's features (``map_features``): they are drawn as landmarks, never
    again as basemap.
    """
    frame = _frame(named)
    if frame is None:
        return []
    taken = {f["id"] for f in named}
    found = []
    for lm in landmarks:
        g = lm.geometry
        if g is None or lm.id in taken or g.geom_type in ("Point", "MultiPoint"):
            continue
        if not any(src.kind == "osm" for src in lm.sources) or not g.intersects(frame):
            continue
        clipped = g.intersection(frame).simplify(_SIMPLIFY_DEG, preserve_topology=True)
        if clipped.is_empty or clipped.geom_type not in _DRAWN:
            continue
        found.append((clipped.distance(frame.centroid), lm, clipped))
    found.sort(key=lambda item: item[0])
    return [
        {
            "kind": basemap_kind(lm.tags, g.geom_type),
            "name": lm.name,
            "geometry": json.loads(json.dumps(mapping(g))),
        }
        for _, lm, g in found[:_MAX_FEATURES]
    ]


def basemap_parts(record: Mapping[str, Any]) -> list[list[tuple[float, float]]]:
    """Return a basemap record's lines (lon, lat): a line's vertices, a polygon's outer ring."""
    g = record["geometry"]
    coords = g["coordinates"]
    if g["type"] == "LineString":
        lines = [coords]
    elif g["type"] == "MultiLineString":
        lines = list(coords)
    elif g["type"] == "Polygon":
        lines = [coords[0]]
    else:
        lines = [poly[0] for poly in coords]
    return [[(float(x), float(y)) for x, y, *_ in line] for line in lines]
