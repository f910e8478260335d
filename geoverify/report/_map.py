"""The report's map: registry geometry, cameras and the claimed place, as SVG coordinates."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from geoverify.evidence import CameraPosition
from geoverify.models import LatLon
from geoverify.report._model import ClaimedPlace


def _flatten(coords: Any) -> list[tuple[float, float]]:
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [(float(coords[0]), float(coords[1]))]
    out: list[tuple[float, float]] = []
    for c in coords:
        out += _flatten(c)
    return out


_FAR_CAMERA_M = 20_000.0  # a camera farther than this from the landmarks is a callout


def _cameras_on_map(
    land: Sequence[tuple[float, float]], cameras: Sequence[CameraPosition]
) -> tuple[list[CameraPosition], str | None]:
    """Split the cameras: within 20 km of the landmarks' centre, and a callout for the rest."""
    from geoverify.geodesy import distance_m

    if not land or not cameras:
        return list(cameras), None
    centre = LatLon(
        (min(p[1] for p in land) + max(p[1] for p in land)) / 2,
        (min(p[0] for p in land) + max(p[0] for p in land)) / 2,
    )
    dists = [distance_m(c.position, centre) for c in cameras]
    near = [c for c, d in zip(cameras, dists, strict=True) if d <= _FAR_CAMERA_M]
    far = [d for d in dists if d > _FAR_CAMERA_M]
    if not far:
        return near, None
    callout = (
        f"{len(far)} camera position(s) the file claims lie {min(far) / 1000:,.0f} km "
        "or more away: off this map"
    )
    return near, callout


def svg_map(
    features: Sequence[Mapping[str, Any]],
    cameras: Sequence[CameraPosition],
    links: Sequence[tuple[str, str]],
    place: ClaimedPlace | None = None,
) -> dict[str, Any]:
    """Project lon/lat to a 640x420 SVG with a local equirectangular projection.

    ``place`` is drawn as the circle of ``within_m`` around the claimed place.

    Camera positions far from every landmark (over 20 km) are not drawn, which would zoom the
    map out to a continent: they become a labelled callout with their distance.
    """
    land = [p for f in features for p in _flatten(f["geometry"]["coordinates"])]
    near_cams, callout = _cameras_on_map(land, cameras)
    pts = land + [(c.position.lon, c.position.lat) for c in near_cams]
    if place is not None and place.within_m <= _FAR_CAMERA_M:  # the circle fits in the map
        dlat = place.within_m / 111_320.0
        dlon = dlat / max(math.cos(math.radians(place.centre.lat)), 1e-6)
        pts += [
            (place.centre.lon - dlon, place.centre.lat - dlat),
            (place.centre.lon + dlon, place.centre.lat + dlat),
        ]
    empty: dict[str, Any] = {
        "width": 640,
        "height": 420,
        "items": [],
        "links": [],
        "track": "",
        "scale_m": None,
        "scale_px": 0,
        "callout": callout,
        "circle": None,
    }
    if not pts:
        return empty
    lat0 = (min(p[1] for p in pts) + max(p[1] for p in pts)) / 2
    k = math.cos(math.radians(lat0))
    lon0 = (min(p[0] for p in pts) + max(p[0] for p in pts)) / 2
    xs = [(p[0] - lon0) * k for p in pts]
    ys = [p[1] - lat0 for p in pts]
    pad = 50.0
    span_x = max(max(xs) - min(xs), 1e-7)
    span_y = max(max(ys) - min(ys), 1e-7)
    s = min((640 - 2 * pad) / span_x, (420 - 2 * pad) / span_y)  # pixels per degree of latitude

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (320 + ((lon - lon0) * k) * s, 210 - (lat - lat0) * s)

    def osm(lat: float, lon: float) -> str:
        return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=18/{lat:.6f}/{lon:.6f}"

    items = []
    for f in features:
        g = f["geometry"]
        kind = g["type"]
        coords = _flatten(g["coordinates"])
        svg_pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(*c) for c in coords))
        lon, lat = coords[0]
        x, y = xy(lon, lat)
        items.append(
            {
                "kind": "point"
                if kind in ("Point", "MultiPoint")
                else ("area" if "Polygon" in kind else "line"),
                "points": svg_pts,
                "x": round(x, 1),
                "y": round(y, 1),
                "label": f["name"],
                "osm": osm(lat, lon),
                "coord": f"{lat:.6f}, {lon:.6f}",
                "osm_data": "; ".join(f.get("osm", [])),
            }
        )
    track = " ".join(
        f"{x:.1f},{y:.1f}" for x, y in (xy(c.position.lon, c.position.lat) for c in near_cams)
    )
    for i, c in enumerate(near_cams):
        if i and i != len(near_cams) - 1:
            continue  # a track: its first and last fix are labelled, the line shows the rest
        x, y = xy(c.position.lon, c.position.lat)
        items.append(
            {
                "kind": "camera",
                "points": "",
                "x": round(x, 1),
                "y": round(y, 1),
                "label": c.label,
                "osm": osm(c.position.lat, c.position.lon),
                "coord": f"{c.position.lat:.6f}, {c.position.lon:.6f}",
                "osm_data": "",
            }
        )
    by_id = {f["id"]: f for f in features}
    lines = []
    for a, b in links:
        if a in by_id and b in by_id:
            pa = _flatten(by_id[a]["geometry"]["coordinates"])[0]
            pb = _flatten(by_id[b]["geometry"]["coordinates"])[0]
            (x1, y1), (x2, y2) = xy(*pa), xy(*pb)
            lines.append(
                {"x1": round(x1, 1), "y1": round(y1, 1), "x2": round(x2, 1), "y2": round(y2, 1)}
            )
    metres_per_px = 111_320.0 / s
    scale_m = 1.0
    for nice in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000):
        if nice / metres_per_px <= 160:
            scale_m = float(nice)
    circle = None
    if place is not None:
        cx, cy = xy(place.centre.lon, place.centre.lat)
        circle = {
            "cx": round(cx, 1),
            "cy": round(cy, 1),
            "r": round(place.within_m / metres_per_px, 1),
            "label": f"claimed: within {place.within_m:g} m of {place.label}",
        }
    return {
        **empty,
        "circle": circle,
        "items": items,
        "links": lines,
        "track": track if len(near_cams) > 1 else "",
        "scale_px": round(scale_m / metres_per_px, 1),
        "scale_m": int(scale_m),
    }
