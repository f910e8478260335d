"""Selecting OSM elements and making them landmarks: points, lines merged from ways, areas."""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import LineString, MultiLineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge

from geoverify._io import hash_regular_file, limit_error
from geoverify.errors import InputError
from geoverify.models import BBox, Note
from geoverify.osm._read import MAX_BYTES, ElementMeta, OsmData, read_osm
from geoverify.registry import Landmark, Source, landmark_problems

_AREA_KEYS = {"building", "landuse", "leisure", "amenity", "place", "man_made", "shop", "tourism"}
_AREA_VALUES = {("natural", "water"), ("natural", "wood"), ("waterway", "riverbank")}
_LINEAR_KEYS = {"highway", "waterway", "railway", "barrier", "power", "route"}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OsmImport:
    """Landmarks made from an OSM file, with what was skipped and why."""

    landmarks: tuple[Landmark, ...]
    skipped: tuple[Note, ...]
    file_sha256: str


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Read ``west,south,east,north`` in degrees (RFC 7946, osmnx and QGIS order).

    The tuple form of ``BBox.parse``: an impossible box is refused, and one that reads only in
    the other common order (south,west,north,east) says so in its hint.
    """
    return BBox.parse(text).as_tuple()


def bbox_around(centre: Any, radius_m: float) -> tuple[float, float, float, float]:
    """Return the (west, south, east, north) box that holds a circle around a LatLon."""
    from geoverify.geodesy import destination

    if not (math.isfinite(radius_m) and 0 < radius_m <= 100_000):
        msg = f"--radius-m {radius_m!r} must be between 0 and 100,000 m"
        raise InputError(msg, code="E_INPUT_OPTION", hint="e.g. --radius-m 2000")
    north = destination(centre, 0.0, radius_m).lat
    south = destination(centre, 180.0, radius_m).lat
    east = destination(centre, 90.0, radius_m).lon
    west = destination(centre, 270.0, radius_m).lon
    return west, south, east, north


def as_bbox(bbox: BBox | tuple[float, float, float, float]) -> BBox:
    """Take a ``BBox`` as it is, or make one from a (west, south, east, north) tuple."""
    if isinstance(bbox, BBox):
        return bbox
    w, s, e, n = bbox
    if not BBox.is_box(w, s, e, n):
        msg = f"bad bounding box {bbox!r}"
        raise InputError(msg, code="E_INPUT_OPTION", hint="Give south,west,north,east in degrees.")
    return BBox(west=float(w), south=float(s), east=float(e), north=float(n))


def parse_tag_filters(filters: Sequence[str]) -> list[tuple[str, str | None]]:
    """Parse ``["historic=memorial", "waterway"]`` into (key, value or ``None``) pairs."""
    out: list[tuple[str, str | None]] = []
    for f in filters:
        key, sep, value = f.partition("=")
        if not key:
            msg = f"bad tag filter {f!r}"
            raise InputError(msg, code="E_INPUT_OPTION", hint="Write KEY or KEY=VALUE.")
        out.append((key, value if sep and value != "*" else None))
    return out


def _matches(tags: Mapping[str, str], filters: list[tuple[str, str | None]]) -> bool:
    return any(k in tags and (v is None or tags[k] == v) for k, v in filters)


def _is_area(tags: Mapping[str, str]) -> bool:
    if tags.get("area") == "no":
        return False
    if tags.get("area") == "yes":
        return True
    if any((k, v) in _AREA_VALUES for k, v in tags.items()):
        return True
    if any(k in _LINEAR_KEYS for k in tags):
        return False
    return any(k in _AREA_KEYS for k in tags)


def _way_coords(data: OsmData, refs: list[int]) -> list[tuple[float, float]] | None:
    coords = []
    for r in refs:
        node = data.nodes.get(r)
        if node is None:
            return None
        coords.append((node[1], node[0]))  # shapely order: x = lon, y = lat
    return coords


def _rings(data: OsmData, way_ids: list[int]) -> list[list[tuple[float, float]]] | None:
    """Join ways end to end into closed rings; ``None`` when a ring does not close.

    Near-linear in the number of ways: pieces are found through an index of their end points
    (of the pieces that meet at a point, the first in member order is taken).
    """
    pieces = []
    for wid in way_ids:
        way = data.ways.get(wid)
        coords = _way_coords(data, way[0]) if way else None
        if coords is None or len(coords) < 2:
            return None
        pieces.append(coords)
    ends: dict[tuple[float, float], list[int]] = defaultdict(list)
    for i, piece in enumerate(pieces):
        ends[piece[0]].append(i)
        if piece[-1] != piece[0]:
            ends[piece[-1]].append(i)
    used = [False] * len(pieces)
    rings = []
    for i, first in enumerate(pieces):
        if used[i]:
            continue
        used[i] = True
        ring = list(first)
        while ring[0] != ring[-1]:
            at = ends.get(ring[-1], [])
            while at and used[at[0]]:  # drop pieces already taken; each is dropped once
                at.pop(0)
            if not at:
                return None
            j = at.pop(0)
            used[j] = True
            piece = pieces[j]
            ring.extend(piece[1:] if piece[0] == ring[-1] else piece[-2::-1])
        if len(ring) >= 4:
            rings.append(ring)
    return rings


def _multipolygon(data: OsmData, members: list[tuple[str, int, str]]) -> BaseGeometry | None:
    outer_ids = [ref for t, ref, role in members if t == "way" and role in ("outer", "")]
    inner_ids = [ref for t, ref, role in members if t == "way" and role == "inner"]
    outers = _rings(data, outer_ids)
    inners = _rings(data, inner_ids) if inner_ids else []
    if not outers or inners is None:
        return None
    polys = []
    for ring in outers:
        shell = Polygon(ring)
        shapely.prepare(shell)
        holes = [h for h in inners if shell.contains(Point(h[0]))]
        polys.append(Polygon(ring, holes))
    geom = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
    return geom if geom.is_valid else _polygonal(shapely.make_valid(geom))


def _polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    """Keep the polygons of a repaired geometry; ``None`` when no area is left.

    ``make_valid`` can return a collection with lines and points, which a registry cannot hold.
    """
    if isinstance(geom, Polygon | shapely.MultiPolygon):
        return geom
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon | shapely.MultiPolygon)]
    polys = [q for p in parts for q in (p.geoms if isinstance(p, shapely.MultiPolygon) else [p])]
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _merged_lines(lines: list[list[tuple[float, float]]]) -> BaseGeometry:
    merged = linemerge(MultiLineString(lines))
    return merged


def _slug(text: str) -> str:
    """Make an id part from a name in any script: letters and digits kept (``бахмутка``)."""
    return re.sub(r"[\W_]+", "_", text.casefold()).strip("_")


def name_ids(names: Iterable[str], prefix: str) -> dict[str, str]:
    """Give merged names stable, unique ids.

    The id is the slug, with a hash of the exact name when the slug is empty or shared by
    another name (``Foo Bar`` and ``foo-bar``).
    """
    import hashlib

    names = sorted(set(names))
    slugs = {n: _slug(n) for n in names}
    counts: dict[str, int] = defaultdict(int)
    for slug in slugs.values():
        counts[slug] += 1
    out = {}
    for n in names:
        slug = slugs[n]
        if not slug or counts[slug] > 1:
            digest = hashlib.sha256(n.encode("utf-8", "surrogatepass")).hexdigest()[:10]
            slug = f"{slug}_{digest}" if slug else digest
        out[n] = f"{prefix}name_{slug}"
    return out


def _source(kind: str, oid: int, meta: ElementMeta, data: OsmData, sha: str) -> Source:
    return Source(
        kind="osm",
        title=f"OpenStreetMap {kind} {oid} from {data.source_name} (sha256 {sha[:16]})",
        url=f"https://www.openstreetmap.org/{kind}/{oid}",
        licence="ODbL, (c) OpenStreetMap contributors",
        osm_type=kind,
        osm_id=oid,
        osm_version=meta.version,
        osm_timestamp=meta.timestamp,
    )


def _names(tags: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    name = tags.get("name") or tags.get("name:en") or tags.get("ref") or ""
    aliases = [
        v
        for k, v in sorted(tags.items())
        if (k.startswith(("name:", "alt_name", "old_name", "official_name"))) and v != name
    ]
    return name, tuple(dict.fromkeys(aliases))


def import_osm(
    path: str | os.PathLike[str],
    *,
    tags: Sequence[str],
    bbox: BBox | tuple[float, float, float, float] | None = None,
    merge_by_name: bool = False,
    id_prefix: str = "osm_",
    as_of: datetime | None = None,
) -> OsmImport:
    """Make landmarks from the elements of an OSM file that match ``tags``.

    Parameters
    ----------
    path
        ``.osm`` XML, Overpass JSON or ``.osm.pbf``.
    tags
        Filters such as ``historic=memorial`` or ``waterway``; an element matching any is kept.
    bbox
        A ``BBox``, or (west, south, east, north) in degrees, the order of RFC 7946, osmnx and
        QGIS: keep
        elements whose geometry meets this box. When the box selects nothing but elements
        outside it match the tags, ``E_OSM_BBOX_EMPTY`` is raised (never an empty import).
    merge_by_name
        Merge selected ways with the same ``name`` into one line landmark.
    id_prefix
        Prefix of the landmark ids (``osm_n123``, ``osm_w456``, ``osm_r789``).
    as_of
        Take the map as it was at this time (see ``read_osm``); each landmark keeps its
        element's version and timestamp.
    """
    filters = parse_tag_filters(tags)
    if not filters:
        msg = "no tag filter given"
        raise InputError(msg, code="E_INPUT_OPTION", hint="Select with --tag KEY=VALUE.")
    area = None if bbox is None else as_bbox(bbox)
    box: BaseGeometry | None = None if area is None else shapely.box(*area.as_tuple())
    p = Path(os.fspath(path))
    data = read_osm(p, as_of=as_of)
    sha = hash_regular_file(p, max_bytes=MAX_BYTES, what="OSM file", error=limit_error)
    run = _Importer(data=data, filters=filters, box=box, sha=sha, id_prefix=id_prefix)
    run.nodes()
    run.ways(merge_by_name=merge_by_name)
    run.merged_ways()
    run.relations()
    if area is not None and not run.made and run.outside:
        raise _bbox_empty(area, run.outside)
    kept = []
    for lm in run.made:
        problems = landmark_problems(lm)
        if problems:  # e.g. a way whose nodes all lie on one point: no line to write
            run.skipped.append(
                Note(
                    code="W_OSM_UNREPRESENTABLE",
                    message=f"{lm.id} ({lm.name}) cannot be a registry landmark: {problems[0]}",
                    field="osm",
                )
            )
        else:
            kept.append(lm)
    return OsmImport(landmarks=tuple(kept), skipped=tuple(run.skipped), file_sha256=sha)


def _bbox_empty(bbox: BBox, outside: int) -> InputError:
    """Return the error for a box that selects nothing while matching elements lie outside."""
    w, s, e, n = bbox.as_tuple()
    msg = (
        f"nothing matching the tags lies inside the box west {w}, south {s}, east {e}, "
        f"north {n}; {outside} matching element(s) lie outside it"
    )
    hint = "--bbox is west,south,east,north (as osmnx and QGIS); check the order."
    if BBox.reads_swapped(w, s, e, n):
        hint += f" If you meant south,west,north,east, that box is --bbox {s},{w},{n},{e}"
    return InputError(msg, code="E_OSM_BBOX_EMPTY", hint=hint)


_NamedWay = tuple[int, list[tuple[float, float]], dict[str, str], "ElementMeta"]


class _Importer:
    """One ``import_osm`` run: the elements that match, as landmarks, in file-id order.

    ``made`` collects the landmarks, ``skipped`` the notes on what could not be one,
    ``outside`` counts matching elements outside the box.
    """

    def __init__(
        self,
        *,
        data: OsmData,
        filters: Any,
        box: BaseGeometry | None,
        sha: str,
        id_prefix: str,
    ) -> None:
        self.data = data
        self.filters = filters
        self.box = box
        self.sha = sha
        self.id_prefix = id_prefix
        self.made: list[Landmark] = []
        self.skipped: list[Note] = list(data.notes)
        self.outside = 0
        self.by_name: dict[str, list[_NamedWay]] = defaultdict(list)

    def keep(self, geom: BaseGeometry | None) -> bool:
        """Whether a geometry is kept: not empty, and inside the box when there is one."""
        if geom is None or geom.is_empty:
            return False
        if self.box is not None and not geom.intersects(self.box):
            self.outside += 1
            return False
        return True

    def add(
        self, kind: str, oid: int, tags: dict[str, str], meta: ElementMeta, geom: BaseGeometry
    ) -> None:
        """Make the landmark of one element when its geometry is kept."""
        if self.keep(geom):
            source = _source(kind, oid, meta, self.data, self.sha)
            lid = f"{self.id_prefix}{kind[0]}{oid}"
            self.made.append(_landmark(lid, tags, geom, [source], f"{kind} {oid}"))

    def skip(self, code: str, message: str) -> None:
        self.skipped.append(Note(code=code, message=message, field="osm"))

    def nodes(self) -> None:
        for oid, (lat, lon, t, meta) in sorted(self.data.nodes.items()):
            if t and _matches(t, self.filters):
                self.add("node", oid, t, meta, Point(lon, lat))

    def ways(self, *, merge_by_name: bool) -> None:
        """Make closed ways of area tags polygons, others lines (or keep them to merge by name)."""
        for oid, (refs, t, meta) in sorted(self.data.ways.items()):
            if not _matches(t, self.filters):
                continue
            coords = _way_coords(self.data, refs)
            if coords is None or len(coords) < 2:
                self.skip("W_OSM_INCOMPLETE", f"way {oid}: nodes missing from the file")
                continue
            closed = len(coords) >= 4 and coords[0] == coords[-1]
            if closed and _is_area(t):
                area = Polygon(coords)
                repaired = area if area.is_valid else _polygonal(shapely.make_valid(area))
                if repaired is None:
                    self.skip(
                        "W_OSM_UNREPRESENTABLE", f"way {oid}: a closed way that encloses no area"
                    )
                    continue
                self.add("way", oid, t, meta, repaired)
            elif merge_by_name and t.get("name"):
                self.by_name[t["name"]].append((oid, coords, t, meta))
            else:
                self.add("way", oid, t, meta, LineString(coords))

    def merged_ways(self) -> None:
        """One line landmark per name of the ways kept to merge, with the tags they share."""
        ids = name_ids(self.by_name, self.id_prefix)
        for name, parts in sorted(self.by_name.items()):
            geom = _merged_lines([c for _, c, _, _ in parts])
            if not self.keep(geom):
                continue
            common = dict(parts[0][2])
            for _, _, t, _ in parts[1:]:
                common = {k: v for k, v in common.items() if t.get(k) == v}
            sources = [_source("way", oid, meta, self.data, self.sha) for oid, _, _, meta in parts]
            lm = _landmark(ids[name], common, geom, sources, name)
            notes = f"merged from {len(parts)} OSM ways with name {name!r}"
            self.made.append(dataclasses.replace(lm, notes=notes))

    def relations(self) -> None:
        """Multipolygons and boundaries as areas; waterways, streets and routes as lines."""
        for oid, (members, t, meta) in sorted(self.data.relations.items()):
            if not _matches(t, self.filters):
                continue
            rtype = t.get("type", "")
            rel_geom = self._relation_geometry(rtype, members)
            if rel_geom is None:
                self.skip(
                    "W_OSM_INCOMPLETE",
                    f"relation {oid} ({rtype or 'no type'}): members missing from the file, "
                    "or rings that do not close",
                )
                continue
            self.add("relation", oid, t, meta, rel_geom)

    def _relation_geometry(
        self, rtype: str, members: list[tuple[str, int, str]]
    ) -> BaseGeometry | None:
        if rtype in ("multipolygon", "boundary"):
            return _multipolygon(self.data, members)
        if rtype in ("waterway", "street", "route"):
            ways = self.data.ways
            lines = [ways[ref] for kind, ref, _ in members if kind == "way" and ref in ways]
            member_coords = [_way_coords(self.data, refs) for refs, _, _ in lines]
            complete = [c for c in member_coords if c is not None and len(c) >= 2]
            if complete and len(complete) == len(member_coords):
                return _merged_lines(complete)
        return None


def _landmark(
    lid: str, tags: Mapping[str, str], geom: BaseGeometry, sources: Iterable[Source], fallback: str
) -> Landmark:
    name, aliases = _names(tags)
    return Landmark(
        id=lid,
        name=name or fallback,
        aliases=aliases,
        tags=dict(tags),
        geometry=geom,
        sources=tuple(sources),
    )
