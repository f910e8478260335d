"""OpenStreetMap as a source of landmarks: .osm XML, Overpass JSON and .osm.pbf files.

Input: a local OSM file (nothing is downloaded). Output: ``Landmark`` values with the OSM
element's type, id, version and timestamp in their sources, so the map state used is pinned.

Selection is by tags (``historic=memorial``, or ``waterway`` for any value; several filters
are alternatives) and optionally by a bounding box. Geometry:

- a node is a point;
- a way is a line, or a polygon when it is closed and its tags describe an area (``area=yes``,
  ``building``, ``landuse``, ``natural=water``...; never ``highway`` or ``waterway`` unless
  ``area=yes``);
- a ``multipolygon`` or ``boundary`` relation is assembled from its member ways into rings
  (ways joined end to end), outer and inner;
- a ``waterway``, ``street`` or ``route`` relation is the merged line of its member ways;
- with ``merge_by_name``, selected ways that share a name become one line (a river or a street
  is mapped as many ways).

Incomplete elements (a way whose nodes are missing, a relation whose members are outside the
extract) are skipped and reported, never guessed. ``.osm.pbf`` needs the optional ``osmium``
package (``pip install 'geoverify[osm]'``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import LineString, MultiLineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge

from geoverify.errors import InputError, MissingDependencyError, RegistryError
from geoverify.models import Note
from geoverify.registry import Landmark, Source

__all__ = ["OsmData", "OsmImport", "import_osm", "parse_tag_filters", "read_osm"]

_MAX_BYTES = 2 * 2**30
_AREA_KEYS = {"building", "landuse", "leisure", "amenity", "place", "man_made", "shop", "tourism"}
_AREA_VALUES = {("natural", "water"), ("natural", "wood"), ("waterway", "riverbank")}
_LINEAR_KEYS = {"highway", "waterway", "railway", "barrier", "power", "route"}
_TYPE_LETTER = {"node": "n", "way": "w", "relation": "r"}


@dataclasses.dataclass(frozen=True, slots=True)
class _Meta:
    version: int | None
    timestamp: str


@dataclasses.dataclass(slots=True)
class OsmData:
    """Parsed OSM elements (``lat``/``lon`` in degrees), as read from one file."""

    nodes: dict[int, tuple[float, float, dict[str, str], _Meta]] = dataclasses.field(
        default_factory=dict
    )
    ways: dict[int, tuple[list[int], dict[str, str], _Meta]] = dataclasses.field(
        default_factory=dict
    )
    relations: dict[int, tuple[list[tuple[str, int, str]], dict[str, str], _Meta]] = (
        dataclasses.field(default_factory=dict)
    )
    source_name: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OsmImport:
    """Landmarks made from an OSM file, with what was skipped and why."""

    landmarks: tuple[Landmark, ...]
    skipped: tuple[Note, ...]
    file_sha256: str


# --- reading -------------------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _bad(path: Path, why: str) -> RegistryError:
    msg = f"{str(path)!r} is not a usable OSM file: {why}"
    hint = "Export .osm XML, Overpass JSON (out meta) or .osm.pbf from OpenStreetMap."
    return RegistryError(msg, code="E_OSM_INVALID", hint=hint)


def _coord(lat: Any, lon: Any) -> tuple[float, float] | None:
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(la) and math.isfinite(lo) and -90 <= la <= 90 and -180 <= lo <= 180):
        return None
    return la, lo


def _read_xml(path: Path) -> OsmData:
    data = OsmData(source_name=path.name)
    try:
        for _, elem in ET.iterparse(path, events=("end",)):
            tag = elem.tag
            if tag not in ("node", "way", "relation"):
                continue
            oid = _int(elem.get("id"))
            if oid is None:
                elem.clear()
                continue
            tags = {t.get("k", ""): t.get("v", "") for t in elem.findall("tag")}
            meta = _Meta(_int(elem.get("version")), elem.get("timestamp", ""))
            if tag == "node":
                c = _coord(elem.get("lat"), elem.get("lon"))
                if c is not None:
                    data.nodes[oid] = (c[0], c[1], tags, meta)
            elif tag == "way":
                refs = [
                    r for r in (_int(nd.get("ref")) for nd in elem.findall("nd")) if r is not None
                ]
                data.ways[oid] = (refs, tags, meta)
            else:
                members = []
                for m in elem.findall("member"):
                    ref = _int(m.get("ref"))
                    if ref is not None:
                        members.append((m.get("type", ""), ref, m.get("role", "")))
                data.relations[oid] = (members, tags, meta)
            elem.clear()
    except ET.ParseError as exc:
        raise _bad(path, f"XML error: {exc}") from None
    return data


def _read_overpass(path: Path) -> OsmData:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(path, f"JSON error: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("elements"), list):
        raise _bad(path, "no 'elements' list (is this an Overpass JSON export?)")
    data = OsmData(source_name=path.name)
    for e in doc["elements"]:
        if not isinstance(e, dict):
            continue
        oid = _int(e.get("id"))
        kind = e.get("type")
        if oid is None or kind not in ("node", "way", "relation"):
            continue
        raw_tags = e.get("tags") or {}
        tags = {str(k): str(v) for k, v in raw_tags.items()} if isinstance(raw_tags, dict) else {}
        meta = _Meta(_int(e.get("version")), str(e.get("timestamp", "")))
        if kind == "node":
            c = _coord(e.get("lat"), e.get("lon"))
            if c is not None:
                data.nodes[oid] = (c[0], c[1], tags, meta)
        elif kind == "way":
            refs = [r for r in (_int(x) for x in e.get("nodes") or []) if r is not None]
            geometry = e.get("geometry")
            if isinstance(geometry, list) and len(geometry) == len(refs):  # `out geom` layout
                for ref, pt in zip(refs, geometry, strict=True):
                    c = _coord(pt.get("lat"), pt.get("lon")) if isinstance(pt, dict) else None
                    if c is not None and ref not in data.nodes:
                        data.nodes[ref] = (c[0], c[1], {}, _Meta(None, ""))
            data.ways[oid] = (refs, tags, meta)
        else:
            members = []
            for m in e.get("members") or []:
                if isinstance(m, dict) and _int(m.get("ref")) is not None:
                    members.append((str(m.get("type", "")), int(m["ref"]), str(m.get("role", ""))))
            data.relations[oid] = (members, tags, meta)
    return data


def _read_pbf(path: Path) -> OsmData:
    try:
        import osmium
    except ImportError:
        msg = "reading .osm.pbf needs the optional osmium package"
        raise MissingDependencyError(
            msg, hint="pip install 'geoverify[osm]'  (or: pip install osmium)"
        ) from None
    data = OsmData(source_name=path.name)
    names = {"n": "node", "w": "way", "r": "relation"}
    try:
        processor: Any = osmium.FileProcessor(str(path))
        for o in processor:
            tags = {t.k: t.v for t in o.tags}
            meta = _Meta(
                o.version, o.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ") if o.timestamp else ""
            )
            if o.is_node():
                if o.location.valid():
                    data.nodes[o.id] = (o.location.lat, o.location.lon, tags, meta)
            elif o.is_way():
                data.ways[o.id] = ([n.ref for n in o.nodes], tags, meta)
            elif o.is_relation():
                data.relations[o.id] = (
                    [(names[m.type], m.ref, m.role) for m in o.members],
                    tags,
                    meta,
                )
    except RuntimeError as exc:
        raise _bad(path, f"PBF error: {exc}") from None
    return data


def read_osm(path: str | os.PathLike[str]) -> OsmData:
    """Read an OSM file; the format is recognised from the content, not the name."""
    p = Path(os.fspath(path))
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        msg = f"cannot read OSM file {str(p)!r}: {exc.strerror}"
        raise InputError(msg, code="E_INPUT_MISSING", hint="Check the path.") from None
    if size == 0:
        raise _bad(p, "the file is empty")
    if size > _MAX_BYTES:
        raise _bad(p, "larger than 2 GiB: cut an extract first (osmium extract)")
    text = head.lstrip()
    if text.startswith(b"<"):
        return _read_xml(p)
    if text.startswith(b"{"):
        return _read_overpass(p)
    if head[4:8] == b"\n\tOS" or b"OSMHeader" in head:
        return _read_pbf(p)
    raise _bad(p, "not OSM XML, Overpass JSON or PBF")


# --- selecting and building geometry -------------------------------------------------------------


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
    """Join ways end to end into closed rings; ``None`` when a ring does not close."""
    pieces = []
    for wid in way_ids:
        way = data.ways.get(wid)
        coords = _way_coords(data, way[0]) if way else None
        if coords is None or len(coords) < 2:
            return None
        pieces.append(coords)
    rings = []
    while pieces:
        ring = pieces.pop(0)
        while ring[0] != ring[-1]:
            for i, p in enumerate(pieces):
                if p[0] == ring[-1]:
                    ring = ring + p[1:]
                elif p[-1] == ring[-1]:
                    ring = ring + p[::-1][1:]
                else:
                    continue
                pieces.pop(i)
                break
            else:
                return None
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
        holes = [h for h in inners if shell.contains(Point(h[0]))]
        polys.append(Polygon(ring, holes))
    geom = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
    return geom if geom.is_valid else shapely.make_valid(geom)


def _merged_lines(lines: list[list[tuple[float, float]]]) -> BaseGeometry:
    merged = linemerge(MultiLineString(lines))
    return merged


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "unnamed"


def _source(kind: str, oid: int, meta: _Meta, data: OsmData, sha: str) -> Source:
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
    bbox: tuple[float, float, float, float] | None = None,
    merge_by_name: bool = False,
    id_prefix: str = "osm_",
) -> OsmImport:
    """Make landmarks from the elements of an OSM file that match ``tags``.

    Parameters
    ----------
    path
        ``.osm`` XML, Overpass JSON or ``.osm.pbf``.
    tags
        Filters such as ``historic=memorial`` or ``waterway``; an element matching any is kept.
    bbox
        (south, west, north, east) in degrees: keep elements whose geometry meets this box.
    merge_by_name
        Merge selected ways with the same ``name`` into one line landmark.
    id_prefix
        Prefix of the landmark ids (``osm_n123``, ``osm_w456``, ``osm_r789``).
    """
    import hashlib

    filters = parse_tag_filters(tags)
    if not filters:
        msg = "no tag filter given"
        raise InputError(msg, code="E_INPUT_OPTION", hint="Select with --tag KEY=VALUE.")
    box: BaseGeometry | None = None
    if bbox is not None:
        s, w, n, e = bbox
        if not (-90 <= s < n <= 90 and -180 <= w < e <= 180):
            msg = f"bad bounding box {bbox!r}"
            raise InputError(
                msg, code="E_INPUT_OPTION", hint="Give south,west,north,east in degrees."
            )
        box = shapely.box(w, s, e, n)
    p = Path(os.fspath(path))
    data = read_osm(p)
    sha = hashlib.sha256(p.read_bytes()).hexdigest()
    skipped: list[Note] = []
    made: list[Landmark] = []

    def keep(geom: BaseGeometry | None) -> bool:
        return geom is not None and not geom.is_empty and (box is None or geom.intersects(box))

    for oid, (lat, lon, t, meta) in sorted(data.nodes.items()):
        if t and _matches(t, filters):
            geom = Point(lon, lat)
            if keep(geom):
                made.append(
                    _landmark(
                        f"{id_prefix}n{oid}",
                        t,
                        geom,
                        [_source("node", oid, meta, data, sha)],
                        f"node {oid}",
                    )
                )
    by_name: dict[str, list[tuple[int, list[tuple[float, float]], dict[str, str], _Meta]]] = (
        defaultdict(list)
    )
    for oid, (refs, t, meta) in sorted(data.ways.items()):
        if not _matches(t, filters):
            continue
        coords = _way_coords(data, refs)
        if coords is None or len(coords) < 2:
            skipped.append(
                Note(
                    code="W_OSM_INCOMPLETE",
                    message=f"way {oid}: nodes missing from the file",
                    field="osm",
                )
            )
            continue
        closed = len(coords) >= 4 and coords[0] == coords[-1]
        way_geom: BaseGeometry
        if closed and _is_area(t):
            way_geom = Polygon(coords)
            if not way_geom.is_valid:
                way_geom = shapely.make_valid(way_geom)
        else:
            if merge_by_name and t.get("name"):
                by_name[t["name"]].append((oid, coords, t, meta))
                continue
            way_geom = LineString(coords)
        if keep(way_geom):
            made.append(
                _landmark(
                    f"{id_prefix}w{oid}",
                    t,
                    way_geom,
                    [_source("way", oid, meta, data, sha)],
                    f"way {oid}",
                )
            )
    for name, parts in sorted(by_name.items()):
        geom = _merged_lines([c for _, c, _, _ in parts])
        if not keep(geom):
            continue
        common = dict(parts[0][2])
        for _, _, t, _ in parts[1:]:
            common = {k: v for k, v in common.items() if t.get(k) == v}
        sources = [_source("way", oid, meta, data, sha) for oid, _, _, meta in parts]
        lm = _landmark(f"{id_prefix}name_{_slug(name)}", common, geom, sources, name)
        made.append(
            dataclasses.replace(lm, notes=f"merged from {len(parts)} OSM ways with name {name!r}")
        )
    for oid, (members, t, meta) in sorted(data.relations.items()):
        if not _matches(t, filters):
            continue
        rtype = t.get("type", "")
        rel_geom: BaseGeometry | None = None
        if rtype in ("multipolygon", "boundary"):
            rel_geom = _multipolygon(data, members)
        elif rtype in ("waterway", "street", "route"):
            lines = [
                data.ways[ref] for kind, ref, _ in members if kind == "way" and ref in data.ways
            ]
            member_coords = [_way_coords(data, refs) for refs, _, _ in lines]
            complete = [c for c in member_coords if c is not None and len(c) >= 2]
            if complete and len(complete) == len(member_coords):
                rel_geom = _merged_lines(complete)
        if rel_geom is None:
            skipped.append(
                Note(
                    code="W_OSM_INCOMPLETE",
                    message=f"relation {oid} ({rtype or 'no type'}): members missing from "
                    "the file, or rings that do not close",
                    field="osm",
                )
            )
            continue
        if keep(rel_geom):
            made.append(
                _landmark(
                    f"{id_prefix}r{oid}",
                    t,
                    rel_geom,
                    [_source("relation", oid, meta, data, sha)],
                    f"relation {oid}",
                )
            )
    return OsmImport(landmarks=tuple(made), skipped=tuple(skipped), file_sha256=sha)


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
