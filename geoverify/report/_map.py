"""The report's map: registry geometry, cameras and the claimed place, as SVG coordinates.

The local map is framed on the landmarks the report names, the cameras and the claimed place
near them. A point farther than ``_FAR_CAMERA_M`` from the landmarks' centre would zoom the map
out to a continent: it is marked instead by an arrow at the map's edge, pointing along the
initial geodesic bearing from the nearest landmark, with its distance, and drawn on the inset world
map (``_world``). Labels are placed by ``_labels.place_labels`` (none overlaps another or leaves
the map); the scale bar is a 1-2-5 x 10^n length between 60 and 160 pixels.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from geoverify.evidence import RESECTION, CameraPosition
from geoverify.models import LatLon
from geoverify.report._basemap import basemap_parts
from geoverify.report._labels import Anchor, Box, place_labels
from geoverify.report._model import ClaimedPlace
from geoverify.report._sentences import fmt_distance, in_country, nearest_landmark
from geoverify.report._world import world_inset


def _flatten(coords: Any) -> list[tuple[float, float]]:
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [(float(coords[0]), float(coords[1]))]
    out: list[tuple[float, float]] = []
    for c in coords:
        out += _flatten(c)
    return out


_FAR_CAMERA_M = 20_000.0  # a point farther than this from the landmarks: edge arrow + inset


def _centre(land: Sequence[tuple[float, float]]) -> LatLon | None:
    if not land:
        return None
    return LatLon(
        (min(p[1] for p in land) + max(p[1] for p in land)) / 2,
        (min(p[0] for p in land) + max(p[0] for p in land)) / 2,
    )


def _cameras_on_map(
    land: Sequence[tuple[float, float]], cameras: Sequence[CameraPosition]
) -> tuple[list[CameraPosition], list[tuple[CameraPosition, float]]]:
    """Split the cameras: within 20 km of the landmarks' centre, and the rest with distances."""
    from geoverify.geodesy import distance_m

    centre = _centre(land)
    if centre is None or not cameras:
        return list(cameras), []
    near, far = [], []
    for c in cameras:
        d = distance_m(c.position, centre)
        if d <= _FAR_CAMERA_M:
            near.append(c)
        else:
            far.append((c, d))
    return near, far


def _callout(far: Sequence[tuple[CameraPosition, float]]) -> str | None:
    """Say where the far cameras are, in a sentence (the inset map shows them)."""
    if not far:
        return None
    n = len(far)
    what = (
        "The camera position the file claims lies"
        if n == 1
        else (f"The {n} camera positions the file claims lie")
    )
    return (
        f"{what}{in_country(far[0][0].position)} off this map: the world map beside it shows where."
    )


_RESECTION = RESECTION
_WIDTH_PX, _HEIGHT_PX, _PAD_PX = 640, 420, 50.0
_M_PER_DEG_LAT = 111_320.0  # metres per degree of latitude, as the map's scale bar takes it
_MAX_SCALE_PX = 160  # the scale bar's longest length (so at least 160 / 2.5 = 64)
_SCALE_BOX: Box = (14.0, 380.0, 190.0, 410.0)  # the scale bar and its text: no label there
_EDGE_PX = 22.0  # an edge arrow's tip, from the map's border


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
        # at least 50 m across, so that one point (or two close ones) is not a 1 mm map
        span_x = max(max(xs) - min(xs), 50 / _M_PER_DEG_LAT)
        span_y = max(max(ys) - min(ys), 50 / _M_PER_DEG_LAT)
        s = min((_WIDTH_PX - 2 * _PAD_PX) / span_x, (_HEIGHT_PX - 2 * _PAD_PX) / span_y)
        return cls(lon0_deg=lon0, lat0_deg=lat0, cos_lat0=k, px_per_deg=s)

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        """Return the pixel (x, y) of a lon/lat position."""
        return (
            _WIDTH_PX / 2 + ((lon - self.lon0_deg) * self.cos_lat0) * self.px_per_deg,
            _HEIGHT_PX / 2 - (lat - self.lat0_deg) * self.px_per_deg,
        )

    @property
    def centre(self) -> LatLon:
        return LatLon(self.lat0_deg, self.lon0_deg)

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
        return [] if place is None else [(place.centre.lon, place.centre.lat)]
    dlat = place.within_m / _M_PER_DEG_LAT
    dlon = dlat / max(math.cos(math.radians(place.centre.lat)), 1e-6)
    return [
        (place.centre.lon - dlon, place.centre.lat - dlat),
        (place.centre.lon + dlon, place.centre.lat + dlat),
    ]


def _place_is_far(land: Sequence[tuple[float, float]], place: ClaimedPlace | None) -> float | None:
    """Return the claimed place's distance from the landmarks' centre when it is off the map."""
    from geoverify.geodesy import distance_m

    centre = _centre(land)
    if place is None or centre is None:
        return None
    d = distance_m(place.centre, centre)
    return d if d > _FAR_CAMERA_M else None


def svg_map(
    features: Sequence[Mapping[str, Any]],
    cameras: Sequence[CameraPosition],
    links: Sequence[tuple[str, str]],
    place: ClaimedPlace | None = None,
    resection: Mapping[str, Any] | None = None,
    views: Sequence[Mapping[str, Any]] = (),
    basemap: Sequence[Mapping[str, Any]] = (),
    reference_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """Project lon/lat to a 640x420 SVG with a local equirectangular projection.

    ``place`` is drawn as the circle of ``within_m`` around the claimed place; ``resection``
    (``geoverify locate``'s record) as its camera, its 90 % region, its field of view and a ray
    to each marked point.

    Camera positions and a claimed place far from every landmark (over 20 km) are not drawn,
    which would zoom the map out to a continent: each becomes an arrow at the map's edge with
    its distance, and a point on the inset world map (``inset``; ``None`` when all is near).
    ``basemap`` (``_basemap.basemap_features``) is drawn under everything; it does not move
    the frame. An edge arrow's distance is from the nearest of ``reference_ids`` (the landmarks
    the location line measured, when on the map), else from the nearest landmark.
    """
    land = [p for f in features for p in _flatten(f["geometry"]["coordinates"])]
    near_cams, far_cams = _cameras_on_map(land, cameras)
    far_place = place if _place_is_far(land, place) is not None else None
    near_place = place if far_place is None else None
    shapes = _resection_shapes(resection)
    pts = (
        land
        + [(c.position.lon, c.position.lat) for c in near_cams]
        + _circle_corners(near_place)
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
        "scale_text": "",
        "callout": _callout(far_cams),
        "circle": None,
        "resection": None,
        "arrows": [],
        "labels": [],
        "inset": None,
        "basemap": [],
        "views": [],
    }
    if not pts:
        return empty
    proj = _Projection.fitting(pts)
    scale_m = _scale_m(proj.metres_per_px)
    items = _feature_items(features, proj) + _camera_items(near_cams, proj)
    circle = _circle(near_place, proj)
    arrows = _arrows(proj, far_cams, far_place, features, reference_ids)
    return {
        **empty,
        "circle": circle,
        "items": items,
        "links": _link_lines(features, links, proj),
        "track": _track(near_cams, proj),
        "resection": _resection_svg(shapes, proj) if shapes else None,
        "views": _view_cones(views, proj),
        "scale_px": round(scale_m / proj.metres_per_px, 1),
        "scale_m": int(scale_m),
        "scale_text": fmt_distance(scale_m),
        "arrows": arrows,
        "labels": _labels(items, circle, arrows),
        "basemap": _basemap_svg(basemap, proj),
        "inset": _inset(proj, far_cams, far_place),
    }


def _track(cameras: Sequence[CameraPosition], proj: _Projection) -> str:
    """Return the SVG points of the file's own track (empty for fewer than two positions)."""
    own = [c for c in cameras if not c.source.startswith(_RESECTION)]
    if len(own) < 2:
        return ""
    return " ".join(
        f"{x:.1f},{y:.1f}" for x, y in (proj.xy(c.position.lon, c.position.lat) for c in own)
    )


def _basemap_svg(basemap: Sequence[Mapping[str, Any]], proj: _Projection) -> list[dict[str, str]]:
    """Project the basemap: one SVG polyline (or polygon) per part, with its kind and name."""
    out = []
    for record in basemap:
        shape = "polygon" if "Polygon" in record["geometry"]["type"] else "polyline"
        for line in basemap_parts(record):
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (proj.xy(*p) for p in line))
            out.append(
                {"kind": record["kind"], "shape": shape, "points": points, "name": record["name"]}
            )
    return out


def _labels(
    items: Sequence[Mapping[str, Any]],
    circle: Mapping[str, Any] | None,
    arrows: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Place every label: the edge arrows' first (they hug the border), then the markers."""
    anchors = [
        Anchor(x=a["x"], y=a["y"], text=a["label"], radius_px=9, max_chars=60) for a in arrows
    ]
    anchors += [Anchor(x=it["x"], y=it["y"], text=it["label"]) for it in items]
    if circle is not None:
        anchors.append(
            Anchor(
                x=circle["cx"],
                y=circle["cy"] + circle["r"],
                text=circle["label"],
                radius_px=2,
                max_chars=60,
            )
        )
    return place_labels(anchors, width=_WIDTH_PX, height=_HEIGHT_PX, obstacles=[_SCALE_BOX])


def _edge_point(dx: float, dy: float) -> tuple[float, float]:
    """Return where the ray from the map's centre along (dx, dy) meets the inset border."""
    cx, cy = _WIDTH_PX / 2, _HEIGHT_PX / 2
    tx = (cx - _EDGE_PX) / abs(dx) if abs(dx) > 1e-9 else math.inf
    for margin in (_EDGE_PX, _HEIGHT_PX - _SCALE_BOX[1] + _EDGE_PX):
        ty = (cy - margin) / abs(dy) if abs(dy) > 1e-9 else math.inf
        x, y = cx + dx * min(tx, ty), cy + dy * min(tx, ty)
        if x > _SCALE_BOX[2] + 12 or y < _SCALE_BOX[1] - 12:
            break  # clear of the scale bar (else: the edge above the scale bar's row)
    return x, y


def _arrows(
    proj: _Projection,
    far_cams: Sequence[tuple[CameraPosition, float]],
    place: ClaimedPlace | None,
    features: Sequence[Mapping[str, Any]],
    ids: Sequence[str],
) -> list[dict[str, Any]]:
    """Return an edge arrow for the far cameras and for a far claimed place.

    Each arrow points along the initial geodesic bearing from the landmark nearest to what it
    stands for (``nearest_landmark``: one of ``ids`` when on the map, else any landmark) and
    says that distance and that landmark's name: the very number the location sentence says.
    """
    from geoverify.geodesy import bearing_deg

    targets: list[tuple[list[LatLon], str]] = []
    if far_cams:
        what = "camera" if len(far_cams) == 1 else "cameras"
        targets.append(([c.position for c, _ in far_cams], what))
    if place is not None:
        targets.append(([place.centre], "claimed place"))
    out = []
    for positions, what in targets:
        near = nearest_landmark(positions, features, ids)
        if near is None:  # pragma: no cover - a far point is far from some landmark
            continue
        bearing = bearing_deg(near.landmark, near.point) or 0.0
        dx, dy = math.sin(math.radians(bearing)), -math.cos(math.radians(bearing))
        x, y = _edge_point(dx, dy)
        tip = (x + dx * 10, y + dy * 10)
        px, py = -dy * 6, dx * 6
        points = f"{tip[0]:.1f},{tip[1]:.1f} {x + px:.1f},{y + py:.1f} {x - px:.1f},{y - py:.1f}"
        label = f"{what}: {fmt_distance(near.distance_m)} from {near.feature['name']}"
        out.append({"x": round(x, 1), "y": round(y, 1), "points": points, "label": label})
    return out


def _in_country(what: str, pos: LatLon) -> str:
    where = in_country(pos).strip(" ,").removeprefix("in ").removeprefix("the ")
    return f"{what} ({where})" if where else what


def _inset(
    proj: _Projection,
    far_cams: Sequence[tuple[CameraPosition, float]],
    place: ClaimedPlace | None,
) -> dict[str, Any] | None:
    """Return the inset world map when something lies off the local map, else ``None``."""
    far: list[tuple[LatLon, str, str]] = []
    if far_cams:
        cam, _ = min(far_cams, key=lambda cd: cd[1])
        far.append((cam.position, _in_country("camera", cam.position), "camera"))
    if place is not None:
        far.append((place.centre, _in_country("claimed place", place.centre), "place"))
    if not far:
        return None
    home = proj.centre
    label = _in_country("this map", home)
    return world_inset(home, label, far)


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
        # the label's marker: the point, a line's middle vertex, an area's mean vertex
        kind = _feature_kind(g["type"])
        if kind == "line":
            x, y = proj.xy(*coords[len(coords) // 2])
        elif kind == "area":
            x, y = proj.xy(
                sum(c[0] for c in coords) / len(coords), sum(c[1] for c in coords) / len(coords)
            )
        else:
            x, y = proj.xy(lon, lat)
        items.append(
            {
                "kind": kind,
                "id": f["id"],
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
    """Return the longest 1-2-5 x 10^n length, metres, whose bar is at most 160 pixels.

    A map holds at most a few hundred kilometres (farther points are edge arrows), so the bar
    is at least 60 pixels: 160 / 2.5, the largest ratio between two steps of the series.
    """
    n = math.floor(math.log10(max(metres_per_px * _MAX_SCALE_PX, 1e-3)))
    for exp in (n, n - 1):
        for step in (5, 2, 1):
            length = step * 10.0**exp
            if length / metres_per_px <= _MAX_SCALE_PX:
                return length
    return 10.0**n  # pragma: no cover  (the loop always finds one)


def _circle(place: ClaimedPlace | None, proj: _Projection) -> dict[str, Any] | None:
    """Return the circle of ``within_m`` around the claimed place, in pixels."""
    if place is None:
        return None
    cx, cy = proj.xy(place.centre.lon, place.centre.lat)
    return {
        "cx": round(cx, 1),
        "cy": round(cy, 1),
        "r": round(place.within_m / proj.metres_per_px, 1),
        "label": f"claimed: within {fmt_distance(place.within_m)} of {place.label}",
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


def facing_views(lines: Sequence[Any]) -> list[dict[str, Any]]:
    """Return the viewing cones of the location line's facing checks, one per camera.

    A resected camera's cone is drawn with the resection (``_resection_svg``), not twice.
    """
    seen: dict[str, dict[str, Any]] = {}
    for ln in lines:
        for check in ln.numbers.get("facing", ()) if ln.line == "location" else ():
            cone = check.get("cone")
            if cone and not str(check["heading_source"]).startswith(_RESECTION):
                seen.setdefault(check["camera"], check)
    return list(seen.values())


def _view_cones(views: Sequence[Mapping[str, Any]], proj: _Projection) -> list[dict[str, str]]:
    """Project each camera's field of view (``facing_views``) to an SVG point list."""
    return [
        {
            "points": " ".join(
                f"{x:.1f},{y:.1f}" for x, y in (proj.xy(p["lon"], p["lat"]) for p in v["cone"])
            ),
            "label": f"{v['camera']}: faced {v['heading_deg']:.0f}° ({v['heading_source']})",
        }
        for v in views
    ]
