"""The report's map: registry geometry, cameras and the claimed place, as SVG coordinates."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from geoverify.evidence import RESECTION, CameraPosition
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


_RESECTION = RESECTION
_WIDTH_PX, _HEIGHT_PX, _PAD_PX = 640, 420, 50.0
_M_PER_DEG_LAT = 111_320.0  # metres per degree of latitude, as the map's scale bar takes it
_NICE_SCALES_M = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000)
_MAX_SCALE_PX = 160  # the scale bar's largest length


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Projection:
    """A local equirectangular projection of lon/lat degrees to the map's pixels."""

    lon0_deg: float
    lat0_deg: float
    cos_lat0: float
    px_per_deg: float  # pixels per degree of latitude

    @classmethod
    def fitting(cls, pts: Sequence[tuple[float, float]]) -> _Projection:
        """Centre the (lon, lat) points and fit them inside the padded map."""
        lat0 = (min(p[1] for p in pts) + max(p[1] for p in pts)) / 2
        k = math.cos(math.radians(lat0))
        lon0 = (min(p[0] for p in pts) + max(p[0] for p in pts)) / 2
        xs = [(p[0] - lon0) * k for p in pts]
        ys = [p[1] - lat0 for p in pts]
        span_x = max(max(xs) - min(xs), 1e-7)
        span_y = max(max(ys) - min(ys), 1e-7)
        s = min((_WIDTH_PX - 2 * _PAD_PX) / span_x, (_HEIGHT_PX - 2 * _PAD_PX) / span_y)
        return cls(lon0_deg=lon0, lat0_deg=lat0, cos_lat0=k, px_per_deg=s)

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        """Return the pixel (x, y) of a lon/lat position."""
        return (
            320 + ((lon - self.lon0_deg) * self.cos_lat0) * self.px_per_deg,
            210 - (lat - self.lat0_deg) * self.px_per_deg,
        )

    @property
    def metres_per_px(self) -> float:
        return _M_PER_DEG_LAT / self.px_per_deg


def _osm_url(lat: float, lon: float) -> str:
    return (
        f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=18/{lat:.6f}/{lon:.6f}"
    )


def _circle_corners(place: ClaimedPlace | None) -> list[tuple[float, float]]:
    """Return the corners of the box around the claimed circle, when it fits in the map."""
    if place is None or place.within_m > _FAR_CAMERA_M:
        return []
    dlat = place.within_m / _M_PER_DEG_LAT
    dlon = dlat / max(math.cos(math.radians(place.centre.lat)), 1e-6)
    return [
        (place.centre.lon - dlon, place.centre.lat - dlat),
        (place.centre.lon + dlon, place.centre.lat + dlat),
    ]


def svg_map(
    features: Sequence[Mapping[str, Any]],
    cameras: Sequence[CameraPosition],
    links: Sequence[tuple[str, str]],
    place: ClaimedPlace | None = None,
    resection: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Project lon/lat to a 640x420 SVG with a local equirectangular projection.

    ``place`` is drawn as the circle of ``within_m`` around the claimed place; ``resection``
    (``geoverify locate``'s record) as its camera, its 90 % region, its field of view and a ray
    to each marked point.

    Camera positions far from every landmark (over 20 km) are not drawn, which would zoom the
    map out to a continent: they become a labelled callout with their distance.
    """
    land = [p for f in features for p in _flatten(f["geometry"]["coordinates"])]
    near_cams, callout = _cameras_on_map(land, cameras)
    shapes = _resection_shapes(resection)
    pts = (
        land
        + [(c.position.lon, c.position.lat) for c in near_cams]
        + _circle_corners(place)
        + [p for shape in shapes.values() for line in shape for p in line]
    )
    empty: dict[str, Any] = {
        "width": _WIDTH_PX,
        "height": _HEIGHT_PX,
        "items": [],
        "links": [],
        "track": "",
        "scale_m": None,
        "scale_px": 0,
        "callout": callout,
        "circle": None,
        "resection": None,
    }
    if not pts:
        return empty
    proj = _Projection.fitting(pts)
    own = [c for c in near_cams if not c.source.startswith(_RESECTION)]
    track = " ".join(
        f"{x:.1f},{y:.1f}" for x, y in (proj.xy(c.position.lon, c.position.lat) for c in own)
    )
    scale_m = _scale_m(proj.metres_per_px)
    return {
        **empty,
        "circle": _circle(place, proj),
        "items": _feature_items(features, proj) + _camera_items(near_cams, proj),
        "links": _link_lines(features, links, proj),
        "track": track if len(own) > 1 else "",
        "resection": _resection_svg(shapes, proj) if shapes else None,
        "scale_px": round(scale_m / proj.metres_per_px, 1),
        "scale_m": int(scale_m),
    }


def _feature_kind(geometry_type: str) -> str:
    if geometry_type in ("Point", "MultiPoint"):
        return "point"
    return "area" if "Polygon" in geometry_type else "line"


def _feature_items(
    features: Sequence[Mapping[str, Any]], proj: _Projection
) -> list[dict[str, Any]]:
    """Return the map items of the landmarks: their outline and a label at their first point."""
    items = []
    for f in features:
        g = f["geometry"]
        coords = _flatten(g["coordinates"])
        svg_pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (proj.xy(*c) for c in coords))
        lon, lat = coords[0]
        x, y = proj.xy(lon, lat)
        items.append(
            {
                "kind": _feature_kind(g["type"]),
                "points": svg_pts,
                "x": round(x, 1),
                "y": round(y, 1),
                "label": f["name"],
                "osm": _osm_url(lat, lon),
                "coord": f"{lat:.6f}, {lon:.6f}",
                "osm_data": "; ".join(f.get("osm", [])),
            }
        )
    return items


def _camera_items(cameras: Sequence[CameraPosition], proj: _Projection) -> list[dict[str, Any]]:
    """Return the labelled cameras: a track's first and last fix (the line shows the rest)."""
    own = [c for c in cameras if not c.source.startswith(_RESECTION)]
    labelled = [c for i, c in enumerate(own) if i in (0, len(own) - 1)]
    labelled += [c for c in cameras if c.source.startswith(_RESECTION)]
    items = []
    for c in labelled:
        x, y = proj.xy(c.position.lon, c.position.lat)
        items.append(
            {
                "kind": "resected" if c.source.startswith(_RESECTION) else "camera",
                "points": "",
                "x": round(x, 1),
                "y": round(y, 1),
                "label": c.label,
                "osm": _osm_url(c.position.lat, c.position.lon),
                "coord": f"{c.position.lat:.6f}, {c.position.lon:.6f}",
                "osm_data": "",
            }
        )
    return items


def _link_lines(
    features: Sequence[Mapping[str, Any]], links: Sequence[tuple[str, str]], proj: _Projection
) -> list[dict[str, float]]:
    """Return the lines between the first points of linked landmarks that are on the map."""
    by_id = {f["id"]: f for f in features}
    lines = []
    for a, b in links:
        if a in by_id and b in by_id:
            pa = _flatten(by_id[a]["geometry"]["coordinates"])[0]
            pb = _flatten(by_id[b]["geometry"]["coordinates"])[0]
            (x1, y1), (x2, y2) = proj.xy(*pa), proj.xy(*pb)
            lines.append(
                {"x1": round(x1, 1), "y1": round(y1, 1), "x2": round(x2, 1), "y2": round(y2, 1)}
            )
    return lines


def _scale_m(metres_per_px: float) -> float:
    """Return the longest round length, metres, whose scale bar fits in 160 pixels."""
    scale_m = 1.0
    for nice in _NICE_SCALES_M:
        if nice / metres_per_px <= _MAX_SCALE_PX:
            scale_m = float(nice)
    return scale_m


def _circle(place: ClaimedPlace | None, proj: _Projection) -> dict[str, Any] | None:
    """Return the circle of ``within_m`` around the claimed place, in pixels."""
    if place is None:
        return None
    cx, cy = proj.xy(place.centre.lon, place.centre.lat)
    return {
        "cx": round(cx, 1),
        "cy": round(cy, 1),
        "r": round(place.within_m / proj.metres_per_px, 1),
        "label": f"claimed: within {place.within_m:g} m of {place.label}",
    }


def _resection_shapes(
    resection: Mapping[str, Any] | None,
) -> dict[str, list[list[tuple[float, float]]]]:
    """Return the resection's region, field of view and rays as lon/lat lines (none: empty).

    They are the features of the record's ``geojson`` (``geoverify.resection.camera_geojson``,
    what ``locate --out`` writes as camera.geojson), drawn as they are.
    """
    if not resection:
        return {}
    shapes: dict[str, list[list[tuple[float, float]]]] = {"region": [], "cone": [], "rays": []}
    slot = {"90 % region": "region", "field of view": "cone", "ray": "rays"}
    for f in resection["geojson"]["features"]:
        name = slot.get(f["properties"]["role"])
        if name is not None:
            coords = f["geometry"]["coordinates"]
            line = coords[0] if f["geometry"]["type"] == "Polygon" else coords
            shapes[name].append([(float(x), float(y)) for x, y in line])
    return shapes


def _resection_svg(
    shapes: Mapping[str, list[list[tuple[float, float]]]], proj: _Projection
) -> dict[str, Any]:
    """Project the resection's shapes: SVG point lists for the region and cone, ray segments."""

    def points(line: list[tuple[float, float]]) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in (proj.xy(*p) for p in line))

    rays = []
    for (lon1, lat1), (lon2, lat2) in (ray for ray in shapes["rays"]):
        (x1, y1), (x2, y2) = proj.xy(lon1, lat1), proj.xy(lon2, lat2)
        rays.append(
            {"x1": round(x1, 1), "y1": round(y1, 1), "x2": round(x2, 1), "y2": round(y2, 1)}
        )
    return {
        "region": points(shapes["region"][0]) if shapes["region"] else "",
        "cone": points(shapes["cone"][0]) if shapes["cone"] else "",
        "rays": rays,
    }
