"""Stage 3, registry: landmarks with geometry, sources and reference images, as GeoJSON.

Input: an RFC 7946 GeoJSON FeatureCollection (the only place where coordinates are in
longitude, latitude order). Output: a ``Registry`` of frozen ``Landmark`` values. The raw JSON is
validated strictly before anything reaches shapely, and every problem is listed at once with the
file, the feature id and a JSON pointer: NaN, duplicate keys, out-of-range or swapped
coordinates, strings or nulls for numbers, wrong dimensions, short or unclosed rings, zero-length
lines, self-intersecting polygons (rejected, or repaired with the original kept when asked),
duplicate ids, reference images that are missing, outside the registry's folder or changed.

Inside geoverify a landmark's geometry is a shapely geometry with x = longitude and
y = latitude (shapely's convention); ``Landmark.anchor`` gives a ``LatLon``. Distances are never
computed on these degrees: ``geoverify.geodesy`` does that. Spatial queries use an STRtree only
to find candidates, then measure geodesically.

Writers (``save_registry``, ``add_landmark``, ``remove_landmark``) take an exclusive lock on a
sidecar ``.lock`` file, re-read the registry, and replace it atomically, so two processes adding
at once lose nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import itertools
import json
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import shapely
from shapely.geometry import (
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
    mapping,
    shape,
)
from shapely.geometry.base import BaseGeometry

from geoverify._io import write_atomic
from geoverify.errors import InputError, RegistryError
from geoverify.geodesy import distance_m, offset_from_line
from geoverify.models import LatLon, Note

__all__ = [
    "Landmark",
    "ReferenceImage",
    "Registry",
    "RegistryProblem",
    "Source",
    "add_landmark",
    "add_landmarks",
    "geodesic_distance_m",
    "load_registry",
    "registry_from_geojson",
    "remove_landmark",
    "save_registry",
]

REGISTRY_FORMAT = 1
_GEOM_TYPES = {"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"}
_MAX_FILE_BYTES = 512 * 2**20


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """Where a landmark's position or identity comes from.

    ``kind`` is ``osm``, ``survey``, ``publication``, ``register`` or ``other``. OSM sources
    carry the element id, version and timestamp, so the map state used is pinned.
    """

    kind: str
    title: str = ""
    url: str = ""
    date: str = ""
    licence: str = ""
    osm_type: str = ""
    osm_id: int | None = None
    osm_version: int | None = None
    osm_timestamp: str = ""
    note: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReferenceImage:
    """A reference photograph of a landmark: path relative to the registry file, SHA-256."""

    path: str
    sha256: str
    note: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Landmark:
    """A named place or feature with a position (or none yet), sources and reference images.

    Attributes
    ----------
    id
        Unique within the registry.
    name, aliases
        Names in any language (``Бахмут``, ``Bakhmutka``, ``Bakhmutovka``).
    tags
        Kind as OSM-style tags: ``{"historic": "memorial", "memorial": "tank"}``.
    geometry
        shapely geometry, x = longitude, y = latitude (WGS84); ``None`` when no sourced
        position exists: checks that need it say "inconclusive".
    uncertainty_m
        How far the true position may be from ``geometry``, metres (``None``: not stated).
    sources, reference_images, notes
        Provenance and material for matching.
    original_geometry
        The invalid geometry as read, when the registry was loaded with ``repair=True``.
    """

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)
    geometry: BaseGeometry | None = None
    uncertainty_m: float | None = None
    sources: tuple[Source, ...] = ()
    reference_images: tuple[ReferenceImage, ...] = ()
    notes: str = ""
    original_geometry: BaseGeometry | None = None

    @property
    def anchor(self) -> LatLon | None:
        """A point of the geometry (the point itself, or a point on the surface)."""
        if self.geometry is None or self.geometry.is_empty:
            return None
        if isinstance(self.geometry, Point):
            return LatLon(self.geometry.y, self.geometry.x)
        p = self.geometry.representative_point()
        return LatLon(p.y, p.x)

    def has_tags(self, wanted: Mapping[str, str]) -> bool:
        """Whether every wanted tag matches (value ``*``: the key is present)."""
        return all(k in self.tags and (v == "*" or self.tags[k] == v) for k, v in wanted.items())

    def matches_name(self, text: str) -> bool:
        """Case-insensitive match on the id, the name or any alias."""
        t = text.casefold()
        return t in {
            self.id.casefold(),
            self.name.casefold(),
            *(a.casefold() for a in self.aliases),
        }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RegistryProblem:
    """One problem found in a registry file."""

    code: str
    pointer: str
    feature_id: str
    message: str

    def __str__(self) -> str:
        where = f"feature {self.feature_id!r} " if self.feature_id else ""
        return f"{where}at {self.pointer or '/'}: {self.message} [{self.code}]"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Registry:
    """Landmarks by id, with spatial queries. Build with ``load_registry``."""

    name: str
    landmarks: tuple[Landmark, ...]
    path: str = ""
    sha256: str = ""
    warnings: tuple[Note, ...] = ()
    _tree: Any = dataclasses.field(default=None, repr=False, compare=False)
    _tree_ids: tuple[int, ...] = dataclasses.field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = [lm.id for lm in self.landmarks]
        if len(set(ids)) != len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            msg = f"duplicate landmark ids: {', '.join(dupes[:5])}"
            raise RegistryError(msg, code="E_DUPLICATE_ID", hint="Give every landmark its own id.")
        located = [i for i, lm in enumerate(self.landmarks) if lm.geometry is not None]
        tree = shapely.STRtree([self.landmarks[i].geometry for i in located]) if located else None
        object.__setattr__(self, "_tree", tree)
        object.__setattr__(self, "_tree_ids", tuple(located))

    def __len__(self) -> int:
        return len(self.landmarks)

    def __iter__(self) -> Iterator[Landmark]:
        return iter(self.landmarks)

    def get(self, key: str) -> Landmark:
        """Return the landmark whose id, name or alias is ``key``.

        Raises
        ------
        InputError
            ``E_UNKNOWN_LANDMARK`` when none or several match.
        """
        exact = [lm for lm in self.landmarks if lm.id == key]
        found = exact or [lm for lm in self.landmarks if lm.matches_name(key)]
        if len(found) == 1:
            return found[0]
        if not found:
            msg = f"no landmark {key!r} in registry {self.name!r}"
            hint = "List the registry's landmarks with `geoverify registry list`."
            raise InputError(msg, code="E_UNKNOWN_LANDMARK", hint=hint)
        ids = ", ".join(lm.id for lm in found)
        msg = f"{key!r} names several landmarks: {ids}"
        raise InputError(msg, code="E_UNKNOWN_LANDMARK", hint="Use the landmark's id.")

    def by_tags(self, tags: Mapping[str, str]) -> tuple[Landmark, ...]:
        """Landmarks that carry all ``tags`` (value ``*`` matches any value)."""
        return tuple(lm for lm in self.landmarks if lm.has_tags(tags))

    def within(
        self, point: LatLon, radius_m: float, *, tags: Mapping[str, str] | None = None
    ) -> list[tuple[Landmark, float]]:
        """Landmarks whose geometry lies within ``radius_m`` metres of ``point``, nearest first.

        Candidates come from the STRtree with a box in degrees that is certain to contain the
        circle; each is then measured geodesically.
        """
        if not (math.isfinite(radius_m) and radius_m >= 0):
            msg = f"radius must be a finite number of metres >= 0, got {radius_m!r}"
            raise InputError(msg, code="E_INPUT_OPTION", hint="Give a radius in metres.")
        if self._tree is None:
            return []
        box = _degree_box(point, radius_m)
        out = []
        for j in self._tree.query(box):
            lm = self.landmarks[self._tree_ids[int(j)]]
            if tags and not lm.has_tags(tags):
                continue
            d = geodesic_distance_m(point, lm)
            if d is not None and d <= radius_m:
                out.append((lm, d))
        out.sort(key=lambda pair: pair[1])
        return out

    def nearest(
        self, point: LatLon, *, tags: Mapping[str, str] | None = None, k: int = 1
    ) -> list[tuple[Landmark, float]]:
        """Return the ``k`` landmarks nearest to ``point`` (geodesic metres), optionally by tags."""
        if self._tree is None:
            return []
        pool = [i for i in self._tree_ids if self.landmarks[i].has_tags(tags)] if tags else []
        if tags and not pool:
            return []
        if tags and len(pool) <= 2048:  # a small tagged subset: measure it all
            measured = [
                (self.landmarks[i], geodesic_distance_m(point, self.landmarks[i])) for i in pool
            ]
            ranked = sorted(((lm, d) for lm, d in measured if d is not None), key=lambda x: x[1])
            return ranked[:k]
        # planar nearest neighbours give a radius that surely holds the k geodesic nearest
        probe = Point(point.lon, point.lat)
        radius = 0.0
        idx = self._tree.query_nearest(probe, all_matches=True)
        for j in list(idx)[: max(k, 1)]:
            d = geodesic_distance_m(point, self.landmarks[self._tree_ids[int(j)]])
            radius = max(radius, d or 0.0)
        while True:
            found = self.within(point, radius, tags=tags)
            if len(found) >= k or radius > 2.1e7:
                return found[:k]
            radius = max(radius * 2.0, 100.0)


def _degree_box(point: LatLon, radius_m: float) -> BaseGeometry:
    """Return a lon/lat box that contains every point within ``radius_m`` of ``point``."""
    dlat = radius_m / 110_574.0 * 1.01 + 1e-9  # metres per degree of latitude is >= 110.574 km
    coslat = math.cos(math.radians(min(89.9, abs(point.lat) + dlat)))
    dlon = 180.0 if coslat < 1e-6 else min(180.0, radius_m / (111_320.0 * coslat) * 1.01 + 1e-9)
    south, north = max(-90.0, point.lat - dlat), min(90.0, point.lat + dlat)
    if north >= 90.0 or south <= -90.0 or dlon >= 180.0:
        return shapely.box(-180.0, south, 180.0, north)
    west, east = point.lon - dlon, point.lon + dlon
    if west < -180.0:  # across the antimeridian: the part beyond it wraps to the east
        return shapely.union(
            shapely.box(-180.0, south, east, north), shapely.box(west + 360.0, south, 180.0, north)
        )
    if east > 180.0:
        return shapely.union(
            shapely.box(west, south, 180.0, north), shapely.box(-180.0, south, east - 360.0, north)
        )
    return shapely.box(west, south, east, north)


def _lines_of(geom: BaseGeometry) -> list[list[LatLon]]:
    if isinstance(geom, LineString):
        return [[LatLon(y, x) for x, y, *_ in geom.coords]]
    if isinstance(geom, Polygon):
        rings = [geom.exterior, *geom.interiors]
        return [[LatLon(y, x) for x, y, *_ in r.coords] for r in rings]
    if isinstance(geom, MultiLineString | MultiPolygon):
        return [line for part in geom.geoms for line in _lines_of(part)]
    return []


def geodesic_distance_m(point: LatLon, landmark: Landmark) -> float | None:
    """Geodesic distance from ``point`` to a landmark's geometry, metres (0 inside an area).

    ``None`` when the landmark has no geometry.
    """
    geom = landmark.geometry
    if geom is None or geom.is_empty:
        return None
    if isinstance(geom, Point):
        return distance_m(point, LatLon(geom.y, geom.x))
    if isinstance(geom, MultiPoint):
        return min(distance_m(point, LatLon(p.y, p.x)) for p in geom.geoms)
    if isinstance(geom, Polygon | MultiPolygon) and geom.covers(Point(point.lon, point.lat)):
        return 0.0
    return min(offset_from_line(point, line).distance_m for line in _lines_of(geom))


# --- reading -------------------------------------------------------------------------------------


class _Collector:
    def __init__(self) -> None:
        self.problems: list[RegistryProblem] = []
        self.warnings: list[Note] = []

    def add(self, code: str, pointer: str, fid: str, message: str) -> None:
        self.problems.append(
            RegistryProblem(code=code, pointer=pointer, feature_id=fid, message=message)
        )

    def warn(self, code: str, message: str) -> None:
        self.warnings.append(Note(code=code, message=message, field="registry"))


def _strict_json(text: str, where: str) -> Any:
    def no_constants(name: str) -> Any:
        msg = f"{name} is not valid JSON"
        raise ValueError(msg)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                msg = f"duplicate key {key!r}"
                raise ValueError(msg)
            out[key] = value
        return out

    try:
        return json.loads(text, parse_constant=no_constants, object_pairs_hook=pairs)
    except (ValueError, RecursionError) as exc:
        msg = f"{where} is not valid GeoJSON: {exc}"
        hint = "Fix the JSON syntax (NaN, Infinity and duplicate keys are refused)."
        raise RegistryError(msg, code="E_REGISTRY_JSON", hint=hint) from None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_position(pos: Any, ptr: str, fid: str, c: _Collector) -> tuple[float, float] | None:
    if not isinstance(pos, list) or len(pos) not in (2, 3):
        c.add(
            "E_GEOM_INVALID",
            ptr,
            fid,
            f"a position is [lon, lat] or [lon, lat, alt], got {json.dumps(pos)[:60]}",
        )
        return None
    bad = [i for i, v in enumerate(pos) if not _is_number(v)]
    if bad:
        i = bad[0]
        c.add(
            "E_COORD_TYPE",
            f"{ptr}/{i}",
            fid,
            f"coordinate is {json.dumps(pos[i])[:40]}, not a number",
        )
        return None
    lon, lat = float(pos[0]), float(pos[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        c.add("E_COORD_RANGE", ptr, fid, "coordinate is not finite")
        return None
    if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 180.0:
        hint = ""
        if -90.0 <= lon <= 90.0 and -180.0 <= lat <= 180.0:
            hint = " (looks like [lat, lon]: GeoJSON wants [lon, lat])"
        c.add("E_COORD_RANGE", ptr, fid, f"[{pos[0]}, {pos[1]}] is out of range{hint}")
        return None
    return lon, lat


def _check_line(coords: Any, ptr: str, fid: str, c: _Collector) -> list[tuple[float, float]] | None:
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


def _check_ring(coords: Any, ptr: str, fid: str, c: _Collector) -> list[tuple[float, float]] | None:
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


def _check_geometry(geom: Any, ptr: str, fid: str, c: _Collector) -> bool:
    if geom is None:
        return True
    if not isinstance(geom, dict):
        c.add("E_GEOM_INVALID", ptr, fid, "geometry must be an object or null")
        return False
    gtype = geom.get("type")
    if gtype not in _GEOM_TYPES:
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
    if gtype == "Point":
        _check_position(coords, cptr, fid, c)
    elif gtype == "LineString":
        _check_line(coords, cptr, fid, c)
    elif gtype == "Polygon":
        _check_polygon(coords, cptr, fid, c)
    elif not isinstance(coords, list) or not coords:
        c.add("E_GEOM_INVALID", cptr, fid, f"{gtype} needs a non-empty list of parts")
    else:
        for i, part in enumerate(coords):
            check = {"MultiPoint": _check_position, "MultiLineString": _check_line}.get(gtype)
            if check is not None:
                check(part, f"{cptr}/{i}", fid, c)
            else:
                _check_polygon(part, f"{cptr}/{i}", fid, c)
    return len(c.problems) == n_before


def _check_polygon(coords: Any, ptr: str, fid: str, c: _Collector) -> None:
    if not isinstance(coords, list) or not coords:
        c.add("E_GEOM_INVALID", ptr, fid, "a polygon is a non-empty list of rings")
        return
    for i, ring in enumerate(coords):
        _check_ring(ring, f"{ptr}/{i}", fid, c)


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _parse_sources(raw: Any, ptr: str, fid: str, c: _Collector) -> tuple[Source, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.add("E_REGISTRY_INVALID", ptr, fid, "sources must be a list")
        return ()
    out = []
    fields = {f.name for f in dataclasses.fields(Source)}
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
            c.add("E_REGISTRY_INVALID", f"{ptr}/{i}", fid, "a source is an object with a 'kind'")
            continue
        unknown = set(item) - fields
        if unknown:
            c.add(
                "E_REGISTRY_INVALID", f"{ptr}/{i}", fid, f"unknown source fields: {sorted(unknown)}"
            )
            continue
        try:
            out.append(Source(**item))
        except TypeError as exc:
            c.add("E_REGISTRY_INVALID", f"{ptr}/{i}", fid, str(exc))
    return tuple(out)


def _inside(base: Path, rel: str) -> Path | None:
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or not rel:
        return None
    full = (base / pure).resolve()
    try:
        full.relative_to(base.resolve())
    except ValueError:
        return None
    return full


def _parse_images(
    raw: Any, ptr: str, fid: str, base: Path | None, c: _Collector
) -> tuple[ReferenceImage, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.add("E_REGISTRY_INVALID", ptr, fid, "reference_images must be a list")
        return ()
    out = []
    for i, item in enumerate(raw):
        iptr = f"{ptr}/{i}"
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            c.add("E_REGISTRY_INVALID", iptr, fid, "a reference image is an object with a 'path'")
            continue
        rel = item["path"]
        sha = item.get("sha256", "")
        if base is not None:
            full = _inside(base, rel)
            if full is None:
                c.add(
                    "E_REF_IMAGE_PATH",
                    f"{iptr}/path",
                    fid,
                    f"{rel!r} is not inside the registry's folder",
                )
                continue
            if not full.is_file():
                c.add(
                    "E_REF_IMAGE_MISSING", f"{iptr}/path", fid, f"reference image {rel!r} not found"
                )
                continue
            actual = hashlib.sha256(full.read_bytes()).hexdigest()
            if sha and sha != actual:
                c.add(
                    "E_REF_IMAGE_CHANGED",
                    f"{iptr}/sha256",
                    fid,
                    f"{rel!r} has SHA-256 {actual[:12]}..., the registry says {str(sha)[:12]}...",
                )
                continue
            sha = actual
        out.append(ReferenceImage(path=rel, sha256=str(sha), note=str(item.get("note", ""))))
    return tuple(out)


def registry_from_geojson(
    data: Any,
    *,
    where: str = "<data>",
    base_dir: Path | None = None,
    repair: bool = False,
) -> Registry:
    """Validate parsed GeoJSON and build a ``Registry`` (see ``load_registry``)."""
    c = _Collector()
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        msg = f"{where}: the top level must be a GeoJSON FeatureCollection"
        raise RegistryError(
            msg,
            code="E_REGISTRY_INVALID",
            hint='Wrap the features in {"type": "FeatureCollection", "features": [...]}.',
        )
    if "crs" in data:
        c.warn(
            "W_CRS_MEMBER",
            "the file has a 'crs' member; RFC 7946 coordinates are always WGS84 lon/lat, "
            "and geoverify reads them so",
        )
    features = data.get("features")
    if not isinstance(features, list):
        msg = f"{where}: 'features' must be a list"
        raise RegistryError(msg, code="E_REGISTRY_INVALID", hint="Fix the file.")
    landmarks: list[Landmark] = []
    seen: dict[str, int] = {}
    for n, feat in enumerate(features):
        ptr = f"/features/{n}"
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            c.add("E_REGISTRY_INVALID", ptr, "", "not a GeoJSON Feature")
            continue
        props = feat.get("properties") or {}
        fid_raw = feat.get("id", props.get("id") if isinstance(props, dict) else None)
        if not isinstance(fid_raw, str) or not fid_raw.strip():
            c.add("E_REGISTRY_INVALID", f"{ptr}/id", "", "every feature needs a string id")
            continue
        fid = fid_raw
        if fid in seen:
            c.add("E_DUPLICATE_ID", f"{ptr}/id", fid, f"id also used by /features/{seen[fid]}")
            continue
        seen[fid] = n
        if not isinstance(props, dict):
            c.add("E_REGISTRY_INVALID", f"{ptr}/properties", fid, "properties must be an object")
            continue
        geom_raw = feat.get("geometry")
        geometry_ok = _check_geometry(geom_raw, f"{ptr}/geometry", fid, c)
        name = props.get("name")
        if not isinstance(name, str) or not name.strip():
            c.add("E_REGISTRY_INVALID", f"{ptr}/properties/name", fid, "a landmark needs a name")
            continue
        aliases = props.get("aliases", [])
        if not _str_list(aliases):
            c.add(
                "E_REGISTRY_INVALID",
                f"{ptr}/properties/aliases",
                fid,
                "aliases must be a list of strings",
            )
            aliases = []
        tags = props.get("tags", {})
        if not isinstance(tags, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
        ):
            c.add(
                "E_REGISTRY_INVALID",
                f"{ptr}/properties/tags",
                fid,
                "tags must map strings to strings",
            )
            tags = {}
        unc = props.get("uncertainty_m")
        if unc is not None and not (_is_number(unc) and math.isfinite(unc) and unc >= 0):
            c.add(
                "E_REGISTRY_INVALID",
                f"{ptr}/properties/uncertainty_m",
                fid,
                f"uncertainty_m must be a number >= 0, got {json.dumps(unc)[:30]}",
            )
            unc = None
        sources = _parse_sources(props.get("sources"), f"{ptr}/properties/sources", fid, c)
        images = _parse_images(
            props.get("reference_images"), f"{ptr}/properties/reference_images", fid, base_dir, c
        )
        notes = props.get("notes", "")
        geometry: BaseGeometry | None = None
        original: BaseGeometry | None = None
        if geom_raw is not None and geometry_ok:
            geometry = shape(geom_raw)
            if not geometry.is_valid:
                reason = shapely.is_valid_reason(geometry)
                if repair:
                    original = geometry
                    geometry = shapely.make_valid(geometry)
                    c.warn(
                        "W_GEOM_REPAIRED",
                        f"feature {fid!r}: {reason}; repaired (the original is kept)",
                    )
                else:
                    c.add(
                        "E_GEOM_INVALID",
                        f"{ptr}/geometry",
                        fid,
                        f"invalid geometry: {reason} "
                        "(load with repair to fix it, keeping the original)",
                    )
                    continue
        elif geom_raw is not None:
            continue
        landmarks.append(
            Landmark(
                id=fid,
                name=name,
                aliases=tuple(aliases),
                tags=dict(tags),
                geometry=geometry,
                uncertainty_m=float(unc) if unc is not None else None,
                sources=sources,
                reference_images=images,
                notes=notes if isinstance(notes, str) else json.dumps(notes),
                original_geometry=original,
            )
        )
    if c.problems:
        listing = "\n".join(f"{where}: {p}" for p in c.problems)
        first = c.problems[0]
        msg = f"{len(c.problems)} problem(s) in {where}; first: {first}"
        raise RegistryError(
            msg,
            code="E_REGISTRY_INVALID",
            hint="Fix every problem listed in the detail, then validate again.",
            detail=listing,
        )
    raw_name = data.get("name")
    name = raw_name if isinstance(raw_name, str) else Path(where).stem
    return Registry(name=name, landmarks=tuple(landmarks), warnings=tuple(c.warnings))


def load_registry(path: str | os.PathLike[str], *, repair: bool = False) -> Registry:
    """Load and validate a registry GeoJSON file.

    Parameters
    ----------
    path
        The GeoJSON file; reference image paths are relative to its folder.
    repair
        Repair self-intersecting polygons (``shapely.make_valid``), keeping the original in
        ``Landmark.original_geometry`` and a warning, instead of refusing them.

    Raises
    ------
    RegistryError
        ``E_REGISTRY_INVALID`` listing every problem (file, feature id, JSON pointer) in
        ``detail``; ``E_REGISTRY_JSON`` for a syntax error.
    """
    p = Path(os.fspath(path))
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        msg = f"no registry file {str(p)!r}"
        raise RegistryError(
            msg,
            code="E_REGISTRY_MISSING",
            hint="Check the path, or create one with `geoverify registry add`.",
        ) from None
    except OSError as exc:
        msg = f"cannot read {str(p)!r}: {exc.strerror}"
        raise RegistryError(
            msg,
            code="E_REGISTRY_MISSING",
            hint="Check the path and permissions.",
        ) from None
    if len(raw) > _MAX_FILE_BYTES:
        msg = f"{str(p)!r} is larger than {_MAX_FILE_BYTES // 2**20} MiB"
        raise RegistryError(
            msg,
            code="E_REGISTRY_INVALID",
            hint="Split the registry.",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        msg = f"{str(p)!r} is not UTF-8 text"
        raise RegistryError(
            msg,
            code="E_REGISTRY_JSON",
            hint="Save the file as UTF-8 GeoJSON.",
        ) from None
    data = _strict_json(text, str(p))
    reg = registry_from_geojson(data, where=str(p), base_dir=p.parent, repair=repair)
    return dataclasses.replace(reg, path=str(p), sha256=hashlib.sha256(raw).hexdigest())


# --- writing -------------------------------------------------------------------------------------


def _feature(lm: Landmark) -> dict[str, Any]:
    props: dict[str, Any] = {"name": lm.name}
    if lm.aliases:
        props["aliases"] = list(lm.aliases)
    if lm.tags:
        props["tags"] = dict(lm.tags)
    if lm.uncertainty_m is not None:
        props["uncertainty_m"] = lm.uncertainty_m
    if lm.sources:
        props["sources"] = [
            {k: v for k, v in dataclasses.asdict(s).items() if v not in ("", None)}
            for s in lm.sources
        ]
    if lm.reference_images:
        props["reference_images"] = [
            {k: v for k, v in dataclasses.asdict(r).items() if v != ""} for r in lm.reference_images
        ]
    if lm.notes:
        props["notes"] = lm.notes
    geometry = None
    if lm.geometry is not None:
        geometry = _listify(mapping(lm.geometry))
    return {"type": "Feature", "id": lm.id, "geometry": geometry, "properties": props}


def _listify(obj: Any) -> Any:
    if isinstance(obj, tuple | list):
        return [_listify(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _listify(v) for k, v in obj.items()}
    if isinstance(obj, np.floating):
        return float(obj)
    return obj


def registry_to_geojson(registry: Registry) -> dict[str, Any]:
    """Return the registry as a GeoJSON FeatureCollection (lon/lat order, RFC 7946)."""
    return {
        "type": "FeatureCollection",
        "name": registry.name,
        "geoverify_registry": REGISTRY_FORMAT,
        "features": [_feature(lm) for lm in registry.landmarks],
    }


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock = path.with_name(path.name + ".lock")
    with open(lock, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def save_registry(registry: Registry, path: str | os.PathLike[str]) -> None:
    """Write the registry as GeoJSON, atomically (temporary file, then rename), under a lock."""
    p = Path(os.fspath(path))
    text = json.dumps(registry_to_geojson(registry), ensure_ascii=False, allow_nan=False, indent=1)
    with _locked(p):
        write_atomic(p, (text + "\n").encode("utf-8"))


def _modify(path: Path, change: Callable[[Registry], Registry]) -> Registry:
    with _locked(path):
        current = load_registry(path) if path.exists() else Registry(name=path.stem, landmarks=())
        updated = change(current)
        text = json.dumps(
            registry_to_geojson(updated), ensure_ascii=False, allow_nan=False, indent=1
        )
        write_atomic(path, (text + "\n").encode("utf-8"))
        return updated


def add_landmark(
    path: str | os.PathLike[str], landmark: Landmark, *, replace: bool = False
) -> Registry:
    """Add (or with ``replace`` overwrite) a landmark in the registry file, under a lock."""
    return add_landmarks(path, [landmark], replace=replace)


def add_landmarks(
    path: str | os.PathLike[str], landmarks: Sequence[Landmark], *, replace: bool = False
) -> Registry:
    """Add several landmarks at once (one lock, one atomic write); see ``add_landmark``."""
    p = Path(os.fspath(path))
    new_ids = [lm.id for lm in landmarks]
    if len(set(new_ids)) != len(new_ids):
        msg = "the landmarks to add repeat an id"
        raise RegistryError(msg, code="E_DUPLICATE_ID", hint="Give every landmark its own id.")

    def change(reg: Registry) -> Registry:
        incoming = set(new_ids)
        others = tuple(lm for lm in reg.landmarks if lm.id not in incoming)
        if len(others) != len(reg.landmarks) and not replace:
            clash = sorted(incoming & {lm.id for lm in reg.landmarks})
            msg = f"landmark id {clash[0]!r} already exists in {str(p)!r}"
            raise RegistryError(
                msg,
                code="E_DUPLICATE_ID",
                hint="Choose another id, or replace it explicitly.",
            )
        return dataclasses.replace(reg, landmarks=(*others, *landmarks))

    return _modify(p, change)


def remove_landmark(path: str | os.PathLike[str], landmark_id: str) -> Registry:
    """Remove a landmark by id from the registry file, under a lock."""
    p = Path(os.fspath(path))

    def change(reg: Registry) -> Registry:
        kept = tuple(lm for lm in reg.landmarks if lm.id != landmark_id)
        if len(kept) == len(reg.landmarks):
            msg = f"no landmark {landmark_id!r} in {str(p)!r}"
            raise RegistryError(
                msg,
                code="E_UNKNOWN_LANDMARK",
                hint="List ids with `geoverify registry list`.",
            )
        return dataclasses.replace(reg, landmarks=kept)

    return _modify(p, change)


def point_landmark(
    landmark_id: str,
    name: str,
    position: LatLon,
    *,
    tags: Mapping[str, str] | None = None,
    uncertainty_m: float | None = None,
    sources: Sequence[Source] = (),
    notes: str = "",
) -> Landmark:
    """Build a point landmark from a ``LatLon``."""
    return Landmark(
        id=landmark_id,
        name=name,
        tags=dict(tags or {}),
        geometry=Point(position.lon, position.lat),
        uncertainty_m=uncertainty_m,
        sources=tuple(sources),
        notes=notes,
    )
