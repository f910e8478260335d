"""The registry in memory: sources, reference images, landmarks, and geodesic queries."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import shapely
from shapely.geometry import (
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
)
from shapely.geometry.base import BaseGeometry

from geoverify.errors import InputError, RegistryError
from geoverify.geodesy import distance_m, offset_from_line
from geoverify.models import LatLon, Note

REGISTRY_FORMAT = 1
GEOM_TYPES = {"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"}
MAX_FILE_BYTES = 512 * 2**20
MAX_REFERENCE_BYTES = 256 * 2**20  # a reference photograph; larger is refused, not read


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
    """A reference photograph of a landmark: path relative to the registry file, SHA-256.

    ``extra`` holds the entry's other members (a credit, a capture date...), written back as
    they were read.
    """

    path: str
    sha256: str
    note: str = ""
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)


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
    extra_properties, foreign_members
        What geoverify does not model, kept as read so that an edit of the registry changes
        only what it edits: properties such as ``wikidata`` or a structured ``notes`` object,
        and feature members other than ``type``, ``id``, ``geometry`` and ``properties``
        (RFC 7946 foreign members, ``bbox``).
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
    extra_properties: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    foreign_members: Mapping[str, Any] = dataclasses.field(default_factory=dict)

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
class LandmarkEdit:
    """What ``update_landmark`` changes in a landmark; a field left at its default is kept.

    Attributes
    ----------
    name, geometry, uncertainty_m, notes
        Replace the landmark's (``None``: kept). ``geometry`` is shapely, x = longitude,
        y = latitude (``parse_geometry`` reads it from text); ``uncertainty_m`` in metres.
    aliases, sources
        Added to the landmark's, in order; one it has already is skipped.
    tags
        Set key by key: a new key is added, a key it has gets the new value, others are kept.
    """

    name: str | None = None
    geometry: BaseGeometry | None = None
    uncertainty_m: float | None = None
    notes: str | None = None
    aliases: tuple[str, ...] = ()
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)
    sources: tuple[Source, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FieldChange:
    """One field an edit changed, with its old and new value as text for the analyst."""

    field: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"{self.field}: {self.old} -> {self.new}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LandmarkUpdate:
    """What ``update_landmark`` did: the landmark before and after, and each field changed.

    ``changes`` is empty when the edit changed nothing (then nothing was written);
    ``warnings`` holds the area-of-interest warnings of a new geometry.
    """

    registry: Registry
    before: Landmark
    after: Landmark
    changes: tuple[FieldChange, ...]
    warnings: tuple[Note, ...] = ()


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
    """Landmarks by id, with spatial queries. Build with ``load_registry``.

    ``foreign_members`` holds the file's top-level members that geoverify does not model
    (``description``, ``crs``, ``bbox``...), written back unchanged. ``area_of_interest`` is the
    box the case is about, (west, south, east, north) in degrees (the file's
    ``geoverify_area_of_interest``): a landmark outside it is flagged, and one whose swapped
    coordinates fall inside is flagged as probably swapped.
    """

    name: str
    landmarks: tuple[Landmark, ...]
    path: str = ""
    sha256: str = ""
    warnings: tuple[Note, ...] = ()
    foreign_members: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    area_of_interest: tuple[float, float, float, float] | None = None
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

    def _repr_html_(self) -> str:
        """Show the landmarks as a table in Jupyter (every string escaped)."""
        import html

        from geoverify.models import html_table

        rows = []
        for lm in self.landmarks[:500]:
            pos = lm.anchor
            rows.append(
                (
                    lm.id,
                    lm.name,
                    lm.geometry.geom_type if lm.geometry is not None else "no position",
                    f"{pos.lat:.6f}, {pos.lon:.6f}" if pos else "-",
                    "-" if lm.uncertainty_m is None else f"{lm.uncertainty_m:g} m",
                    ", ".join(f"{k}={v}" for k, v in list(lm.tags.items())[:3]),
                    len(lm.reference_images),
                )
            )
        more = f"<p>... {len(self) - 500} more</p>" if len(self) > 500 else ""
        warn = "".join(f"<p><b>{html.escape(w.code)}</b>: {html.escape(w.message)}</p>"
                       for w in self.warnings)  # fmt: skip
        header = ("id", "name", "geometry", "lat, lon", "uncertainty", "kind", "images")
        return (
            f"<h4>registry {html.escape(self.name)}: {len(self)} landmarks</h4>"
            + html_table(rows, header=header)
            + more
            + warn
        )

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
        if tags:
            pool = [i for i in self._tree_ids if self.landmarks[i].has_tags(tags)]
            if not pool:
                return []
            if len(pool) <= 2048:  # a small tagged subset: measure it all
                return self._measured(point, pool)[:k]
        return self._nearest_by_radius(point, tags=tags, k=k)

    def _measured(self, point: LatLon, pool: list[int]) -> list[tuple[Landmark, float]]:
        """Return the landmarks of ``pool`` (indexes) with a position, nearest first."""
        measured = [
            (self.landmarks[i], geodesic_distance_m(point, self.landmarks[i])) for i in pool
        ]
        return sorted(((lm, d) for lm, d in measured if d is not None), key=lambda x: x[1])

    def _nearest_by_radius(
        self, point: LatLon, *, tags: Mapping[str, str] | None, k: int
    ) -> list[tuple[Landmark, float]]:
        """Grow a geodesic radius until it holds ``k`` landmarks (or the whole Earth)."""
        if self._tree is None:
            return []
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
