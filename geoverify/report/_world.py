"""The report's inset world map: where on Earth the local map and a far point are.

Country outlines: Natural Earth 1:110m admin-0 countries (public domain), shipped in
``geoverify/data/world/countries_110m.json`` (``PROVENANCE.md`` beside it). Projection:
equirectangular (plate carrée), cropped to the points with a margin; at 1:110m an outline is
good to some kilometres, enough to say which country a point lies in (``country_at``), never
used to decide anything. A crop that would cross the antimeridian is not unwrapped: it shows
the whole width of the world instead.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from geoverify.models import LatLon
from geoverify.report._labels import Anchor, place_labels

INSET_W_PX, INSET_H_PX = 320, 190
_PAD_DEG = 12.0
_MIN_SPAN_DEG = 40.0
_CREDIT_BOX = (INSET_W_PX - 96.0, INSET_H_PX - 13.0, float(INSET_W_PX), float(INSET_H_PX))


@functools.lru_cache(maxsize=1)
def _countries() -> tuple[
    tuple[str, tuple[float, float, float, float], BaseGeometry, tuple[tuple[float, ...], ...]], ...
]:
    """Load the shipped outlines: (name, bbox, shape, rings) per country."""
    text = (resources.files("geoverify") / "data" / "world" / "countries_110m.json").read_text(
        encoding="utf-8"
    )
    out = []
    for c in json.loads(text)["countries"]:
        rings = tuple(tuple(r) for poly in c["polygons"] for r in poly)
        polys = []
        for poly in c["polygons"]:
            shells = [list(zip(r[0::2], r[1::2], strict=True)) for r in poly]
            if len(shells[0]) >= 3:
                polys.append(Polygon(shells[0], [h for h in shells[1:] if len(h) >= 3]))
        shape = unary_union([p.buffer(0) for p in polys])
        out.append((str(c["name"]), shape.bounds, shape, rings))
    return tuple(out)


def country_at(pos: LatLon) -> str | None:
    """Return the name of the country (Natural Earth 1:110m) that holds ``pos``, or ``None``."""
    p = Point(pos.lon, pos.lat)
    for name, (x0, y0, x1, y1), shape, _ in _countries():
        if x0 <= pos.lon <= x1 and y0 <= pos.lat <= y1 and shape.covers(p):
            return name
    return None


def _view(points: Sequence[LatLon]) -> tuple[float, float, float]:
    """Return (west lon, north lat, pixels per degree) of a crop holding ``points``."""
    lons = [p.lon for p in points]
    lats = [p.lat for p in points]
    west, east = min(lons) - _PAD_DEG, max(lons) + _PAD_DEG
    south, north = min(lats) - _PAD_DEG, max(lats) + _PAD_DEG
    if east - west < _MIN_SPAN_DEG:
        mid = (east + west) / 2
        west, east = mid - _MIN_SPAN_DEG / 2, mid + _MIN_SPAN_DEG / 2
    scale = min(INSET_W_PX / (east - west), INSET_H_PX / (north - south))
    # centre the points in the inset at that scale
    cx, cy = (west + east) / 2, (south + north) / 2
    return cx - INSET_W_PX / 2 / scale, cy + INSET_H_PX / 2 / scale, scale


def world_inset(
    home: LatLon, home_label: str, far: Sequence[tuple[LatLon, str, str]]
) -> dict[str, Any]:
    """Return the inset map: country outlines, the local map's place and each far point.

    ``far`` holds (position, label, kind) with kind ``camera`` or ``place``. Outlines are SVG
    path data in the inset's pixels.
    """
    west, north, scale = _view([home, *(p for p, _, _ in far)])
    east, south = west + INSET_W_PX / scale, north - INSET_H_PX / scale

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (lon - west) * scale, (north - lat) * scale

    paths = []
    for _, (x0, y0, x1, y1), _, rings in _countries():
        if x1 < west or x0 > east or y1 < south or y0 > north:
            continue
        d = []
        for r in rings:
            pts = [xy(r[i], r[i + 1]) for i in range(0, len(r), 2)]
            d.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + " Z")
        paths.append(" ".join(d))
    hx, hy = xy(home.lon, home.lat)
    markers = [{"x": round(hx, 1), "y": round(hy, 1), "kind": "home"}]
    anchors = [Anchor(x=hx, y=hy, text=home_label, radius_px=5, max_chars=44)]
    lines = []
    for pos, label, kind in far:
        x, y = xy(pos.lon, pos.lat)
        markers.append({"x": round(x, 1), "y": round(y, 1), "kind": kind})
        anchors.append(Anchor(x=x, y=y, text=label, radius_px=5, max_chars=44))
        lines.append({"x1": round(hx, 1), "y1": round(hy, 1), "x2": round(x, 1), "y2": round(y, 1)})
    return {
        "width": INSET_W_PX,
        "height": INSET_H_PX,
        "countries": paths,
        "markers": markers,
        "lines": lines,
        "labels": place_labels(
            anchors,
            width=INSET_W_PX,
            height=INSET_H_PX,
            obstacles=[_CREDIT_BOX],
            font_px=10.0,
        ),
    }
