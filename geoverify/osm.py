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

``fetch_overpass`` (``registry fetch-osm``) is the one function that downloads: one Overpass
query, bounded as a whole by its time limit, with redirects followed only on the same scheme,
host and port; a partial answer (a ``remark`` saying the server stopped the query) is refused,
and every string the server sends is escaped before it reaches a message or a record.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import math
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

import shapely
from shapely.geometry import LineString, MultiLineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge

from geoverify._io import hash_regular_file, limit_error, open_regular
from geoverify.errors import (
    GeoverifyError,
    InputError,
    MissingDependencyError,
    NetworkError,
    RegistryError,
)
from geoverify.models import Note
from geoverify.registry import Landmark, Source, landmark_problems

__all__ = [
    "OsmData",
    "OsmImport",
    "OverpassFetch",
    "bbox_around",
    "fetch_overpass",
    "import_osm",
    "overpass_query",
    "parse_bbox",
    "parse_tag_filters",
    "read_osm",
]

_MAX_BYTES = 2 * 2**30
_MAX_JSON_BYTES = 512 * 2**20
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
    notes: list[Note] = dataclasses.field(default_factory=list)
    as_of: datetime | None = None
    versions: dict[tuple[str, int], int] = dataclasses.field(default_factory=dict)
    newer: int = 0  # element versions dated after as_of, left out
    undated: int = 0  # element versions without a timestamp, left out under as_of

    def accept(self, kind: str, oid: int, meta: _Meta, visible: bool) -> bool:
        """Whether this version of an element is the one to keep (the newest, as of ``as_of``).

        A history file holds every version: the newest one dated at or before ``as_of`` wins,
        and an element deleted by then (``visible="false"``) is dropped.
        """
        if self.as_of is not None:
            when = _timestamp(meta.timestamp)
            if when is None:
                self.undated += 1
                return False
            if when > self.as_of:
                self.newer += 1
                return False
        key = (kind, oid)
        version = meta.version or 0
        if key in self.versions and self.versions[key] >= version:
            return False
        self.versions[key] = version
        if not visible:
            if kind == "node":
                self.nodes.pop(oid, None)
            elif kind == "way":
                self.ways.pop(oid, None)
            else:
                self.relations.pop(oid, None)
            return False
        return True


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OsmImport:
    """Landmarks made from an OSM file, with what was skipped and why."""

    landmarks: tuple[Landmark, ...]
    skipped: tuple[Note, ...]
    file_sha256: str


# --- reading -------------------------------------------------------------------------------------


_INT_TEXT = re.compile(r"-?\d{1,19}")


def _int(value: Any) -> int | None:
    """Read an OSM id, ref or version: an integer or its decimal text (not a float or bool)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 2**63 else None
    if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _clean(text: Any, notes: list[Note], where: str) -> str:
    """Text from the file; a lone surrogate (invalid Unicode) becomes U+FFFD, with a note."""
    value = str(text)
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        notes.append(
            Note(
                code="W_OSM_TEXT_INVALID",
                message=f"{where}: text with invalid Unicode (a lone surrogate) shown as U+FFFD",
                field="osm",
            )
        )
        value = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)
    return value


def tags_of(raw: Any, notes: list[Note], where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {_clean(k, notes, where): _clean(v, notes, where) for k, v in raw.items()}


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


def _timestamp(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _read_xml(path: Path, fh: BinaryIO, as_of: datetime | None = None) -> OsmData:
    data = OsmData(source_name=path.name, as_of=as_of)
    try:
        for _, elem in ET.iterparse(fh, events=("end",)):
            tag = elem.tag
            if tag not in ("node", "way", "relation"):
                continue
            oid = _int(elem.get("id"))
            if oid is None:
                elem.clear()
                continue
            tags = {t.get("k", ""): t.get("v", "") for t in elem.findall("tag")}
            meta = _Meta(_int(elem.get("version")), elem.get("timestamp", ""))
            if not data.accept(tag, oid, meta, elem.get("visible", "true") != "false"):
                elem.clear()
                continue
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
    except (LookupError, ValueError, UnicodeError) as exc:  # e.g. an unknown XML encoding
        raise _bad(path, f"XML error: {str(exc)[:200]}") from None
    return data


def _no_constant(name: str) -> Any:
    msg = f"{name} is not valid JSON"
    raise ValueError(msg)


def _overpass_way_refs(e: dict[str, Any], data: OsmData) -> list[int]:
    """Return a way's node ids; the nodes an ``out geom`` export inlines are added to ``data``."""
    raw_refs = e.get("nodes")
    refs = (
        [r for r in (_int(x) for x in raw_refs or []) if r is not None]
        if isinstance(raw_refs, list)
        else []
    )
    geometry = e.get("geometry")
    if isinstance(geometry, list) and len(geometry) == len(refs):  # `out geom` layout
        for ref, pt in zip(refs, geometry, strict=True):
            c = _coord(pt.get("lat"), pt.get("lon")) if isinstance(pt, dict) else None
            if c is not None and ref not in data.nodes:
                data.nodes[ref] = (c[0], c[1], {}, _Meta(None, ""))
    return refs


def _overpass_members(e: dict[str, Any], data: OsmData) -> list[tuple[str, int, str]]:
    """Return a relation's members as (type, ref, role); a member without a ref is dropped."""
    members = []
    raw_members = e.get("members")
    for m in raw_members if isinstance(raw_members, list) else []:
        mref = _int(m.get("ref")) if isinstance(m, dict) else None
        if mref is not None:
            members.append(
                (
                    _clean(m.get("type", ""), data.notes, "member"),
                    mref,
                    _clean(m.get("role", ""), data.notes, "member"),
                )
            )
    return members


def _read_overpass(path: Path, fh: BinaryIO, as_of: datetime | None = None) -> OsmData:
    raw = fh.read(_MAX_JSON_BYTES + 1)
    if len(raw) > _MAX_JSON_BYTES:
        raise _bad(path, "Overpass JSON larger than 512 MiB: use .osm.pbf for large extracts")
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _bad(path, f"JSON error: {str(exc)[:200]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("elements"), list):
        raise _bad(path, "no 'elements' list (is this an Overpass JSON export?)")
    data = OsmData(source_name=path.name, as_of=as_of)
    unusable = 0
    for e in doc["elements"]:
        if not isinstance(e, dict):
            unusable += 1
            continue
        oid = _int(e.get("id"))
        kind = e.get("type")
        if oid is None or kind not in ("node", "way", "relation"):
            unusable += 1
            continue
        tags = tags_of(e.get("tags"), data.notes, f"{kind} {oid}")
        meta = _Meta(_int(e.get("version")), _clean(e.get("timestamp", ""), data.notes, "time"))
        if not data.accept(kind, oid, meta, e.get("visible", True) is not False):
            continue
        if kind == "node":
            c = _coord(e.get("lat"), e.get("lon"))
            if c is not None:
                data.nodes[oid] = (c[0], c[1], tags, meta)
        elif kind == "way":
            data.ways[oid] = (_overpass_way_refs(e, data), tags, meta)
        else:
            data.relations[oid] = (_overpass_members(e, data), tags, meta)
    if unusable:
        data.notes.append(
            Note(
                code="W_OSM_BAD_ELEMENT",
                message=f"{unusable} element(s) without a usable type and integer id were skipped",
                field="osm",
            )
        )
    return data


def _read_pbf(path: Path, as_of: datetime | None = None) -> OsmData:
    try:
        import osmium
    except ImportError:
        msg = "reading .osm.pbf needs the optional osmium package"
        raise MissingDependencyError(
            msg, hint="pip install 'geoverify[osm]'  (or: pip install osmium)"
        ) from None
    data = OsmData(source_name=path.name, as_of=as_of)
    names = {"n": "node", "w": "way", "r": "relation"}
    try:
        processor: Any = osmium.FileProcessor(str(path))
        for o in processor:
            tags = {t.k: t.v for t in o.tags}
            meta = _Meta(
                o.version, o.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ") if o.timestamp else ""
            )
            kind = "node" if o.is_node() else "way" if o.is_way() else "relation"
            if not data.accept(kind, o.id, meta, bool(o.visible)):
                continue
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


def read_osm(path: str | os.PathLike[str], *, as_of: datetime | None = None) -> OsmData:
    """Read an OSM file; the format is recognised from the content, not the name.

    Only a regular file is opened (a FIFO or a device is refused before it is read), of at
    most 2 GiB (Overpass JSON: 512 MiB, as it is parsed whole). With ``as_of`` (aware), each
    element is taken as it was then: from a history file (``.osh``, ``.osh.pbf``) the newest
    version dated at or before it; versions dated after it are left out and counted in a note.
    """
    if as_of is not None and as_of.tzinfo is None:
        msg = "as_of must be timezone-aware"
        raise InputError(msg, code="E_NAIVE_DATETIME", hint="e.g. 2023-03-01T00:00+00:00")
    p = Path(os.fspath(path))
    fd = open_regular(p, "OSM file", limit_error)
    with os.fdopen(fd, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            raise _bad(p, "the file is empty")
        if size > _MAX_BYTES:
            raise _bad(p, "larger than 2 GiB: cut an extract first (osmium extract)")
        head = fh.read(64)
        fh.seek(0)
        text = head.lstrip()
        if text.startswith(b"<"):
            return _dated(_read_xml(p, fh, as_of))
        if text.startswith(b"{"):
            return _dated(_read_overpass(p, fh, as_of))
        if head[4:8] == b"\n\tOS" or b"OSMHeader" in head:
            return _dated(_read_pbf(p, as_of))
    raise _bad(p, "not OSM XML, Overpass JSON or PBF")


def _dated(data: OsmData) -> OsmData:
    """Say what ``as_of`` left out."""
    if data.as_of is None:
        return data
    when = data.as_of.isoformat()
    if data.newer:
        data.notes.append(
            Note(
                code="W_OSM_NEWER_THAN_AS_OF",
                message=f"{data.newer} element version(s) dated after {when} were left out; "
                "only a history file (.osh, .osh.pbf) holds the versions before them",
                field="osm",
            )
        )
    if data.undated:
        data.notes.append(
            Note(
                code="W_OSM_UNDATED",
                message=f"{data.undated} element version(s) without a timestamp were left out "
                f"(their state on {when} cannot be known)",
                field="osm",
            )
        )
    return data


# --- selecting and building geometry -------------------------------------------------------------


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Read ``west,south,east,north`` in degrees (RFC 7946, osmnx and QGIS order).

    An impossible box is refused, and one that reads only in the other common order
    (south,west,north,east) says so in its hint.
    """
    try:
        w, s, e, n = (float(x) for x in text.split(","))
    except ValueError:
        msg = f"--bbox {text!r} is not four numbers west,south,east,north"
        raise InputError(msg, code="E_INPUT_OPTION", hint="e.g. 37.95,48.55,38.06,48.63") from None
    if all(math.isfinite(v) for v in (w, s, e, n)) and (
        -180 <= w < e <= 180 and -90 <= s < n <= 90
    ):
        return w, s, e, n
    hint = "Give west,south,east,north in degrees (as osmnx and QGIS)."
    if -180 <= s < n <= 180 and -90 <= w < e <= 90:
        hint = (
            f"This reads as south,west,north,east; geoverify takes west,south,east,north: "
            f"--bbox {s},{w},{n},{e}"
        )
    msg = f"--bbox {text!r} is not a box west,south,east,north"
    raise InputError(msg, code="E_INPUT_OPTION", hint=hint)


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


def _name_ids(names: Iterable[str], prefix: str) -> dict[str, str]:
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
        (west, south, east, north) in degrees, the order of RFC 7946, osmnx and QGIS: keep
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
    box: BaseGeometry | None = None
    if bbox is not None:
        w, s, e, n = bbox
        if not (-90 <= s < n <= 90 and -180 <= w < e <= 180):
            msg = f"bad bounding box {bbox!r}"
            raise InputError(
                msg, code="E_INPUT_OPTION", hint="Give south,west,north,east in degrees."
            )
        box = shapely.box(w, s, e, n)
    p = Path(os.fspath(path))
    data = read_osm(p, as_of=as_of)
    sha = hash_regular_file(p, max_bytes=_MAX_BYTES, what="OSM file", error=limit_error)
    run = _Importer(data=data, filters=filters, box=box, sha=sha, id_prefix=id_prefix)
    run.nodes()
    run.ways(merge_by_name=merge_by_name)
    run.merged_ways()
    run.relations()
    if bbox is not None and not run.made and run.outside:
        raise _bbox_empty(bbox, run.outside)
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


def _bbox_empty(bbox: tuple[float, float, float, float], outside: int) -> InputError:
    """Return the error for a box that selects nothing while matching elements lie outside."""
    w, s, e, n = bbox
    msg = (
        f"nothing matching the tags lies inside the box west {w}, south {s}, east {e}, "
        f"north {n}; {outside} matching element(s) lie outside it"
    )
    hint = "--bbox is west,south,east,north (as osmnx and QGIS); check the order."
    if -90 <= w < e <= 90 and -180 <= s < n <= 180:
        hint += f" If you meant south,west,north,east, that box is --bbox {s},{w},{n},{e}"
    return InputError(msg, code="E_OSM_BBOX_EMPTY", hint=hint)


_NamedWay = tuple[int, list[tuple[float, float]], dict[str, str], "_Meta"]


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
        self, kind: str, oid: int, tags: dict[str, str], meta: _Meta, geom: BaseGeometry
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
        name_ids = _name_ids(self.by_name, self.id_prefix)
        for name, parts in sorted(self.by_name.items()):
            geom = _merged_lines([c for _, c, _, _ in parts])
            if not self.keep(geom):
                continue
            common = dict(parts[0][2])
            for _, _, t, _ in parts[1:]:
                common = {k: v for k, v in common.items() if t.get(k) == v}
            sources = [_source("way", oid, meta, self.data, self.sha) for oid, _, _, meta in parts]
            lm = _landmark(name_ids[name], common, geom, sources, name)
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


# --- fetching from Overpass (only when the user runs `registry fetch-osm`) ----------------------
#
# One POST, bounded as a whole: connecting, the TLS handshake, the headers and the body must all
# end within ``timeout_s``. A socket timeout alone bounds each read, so a server sending one byte
# a second would never hit it, and name resolution has no timeout at all: the request runs in a
# worker thread, the caller waits for it until the deadline, then shuts its sockets down.
# Everything a server says (status reason, headers, remark, timestamps) is escaped before it is
# put in a message or a record: control characters would otherwise reach the terminal.

DEFAULT_OVERPASS_ENDPOINT = "https://overpass-api.de/api/interpreter"
OVERPASS_ENDPOINT_ENV = "GEOVERIFY_OVERPASS_URL"
MIN_FETCH_TIMEOUT_S = 0.1
MAX_FETCH_TIMEOUT_S = 3600.0
_MAX_REDIRECTS = 5
_CHUNK_BYTES = 64 * 2**10
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HEADERS = {"User-Agent": "geoverify (registry fetch-osm)", "Accept": "application/json"}
# Overpass states in `remark` that it stopped a query ("runtime error: Query timed out in
# "query" at line 3 after 26 seconds.", "... run out of memory ..."): the elements are a part.
_PARTIAL_REMARK = re.compile(r"\berror\b|timed out|out of memory", re.IGNORECASE)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OverpassFetch:
    """One Overpass response, saved verbatim: where from, when, its hash and data timestamp.

    ``endpoint`` is the URL the query was sent to, ``final_url`` the one that answered (they
    differ only when the server redirected to another path on the same scheme, host and port).
    ``osm_base`` is the data's timestamp as the server states it ("" when it does not), with
    any control character escaped (the saved file keeps the server's bytes).
    """

    endpoint: str
    final_url: str
    query: str
    fetched_utc: str
    path: str
    sha256: str
    size_bytes: int
    osm_base: str


def _safe(text: object, max_chars: int = 200) -> str:
    """Return server text fit for a message: control characters escaped, cut to ``max_chars``.

    A terminal escape sequence (``ESC ]0;...``) or a bidirectional override from a server
    must never reach a terminal or a log as it is.
    """
    value = str(text)
    out = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
        for ch in value[:max_chars]
    )
    return out + ("..." if len(value) > max_chars else "")


def _check_timeout_s(timeout_s: float) -> float:
    """Return ``timeout_s`` as a float when it is a time limit in the accepted range."""
    try:
        value = float(timeout_s)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(timeout_s, bool) or not (
        math.isfinite(value) and MIN_FETCH_TIMEOUT_S <= value <= MAX_FETCH_TIMEOUT_S
    ):
        msg = (
            f"--timeout-s {_safe(repr(timeout_s), 60)} is not a time limit from "
            f"{MIN_FETCH_TIMEOUT_S:g} to {MAX_FETCH_TIMEOUT_S:g} s"
        )
        hint = (
            f"Give seconds from {MIN_FETCH_TIMEOUT_S:g} to {MAX_FETCH_TIMEOUT_S:g}, "
            "e.g. --timeout-s 90."
        )
        raise InputError(msg, code="E_INPUT_OPTION", hint=hint)
    return value


def _check_endpoint(url: str, origin: str = "--endpoint") -> str:
    """Return ``url`` when it is an http(s) URL with a host; raise ``InputError`` otherwise.

    Only printable ASCII is accepted (a non-ASCII host goes in its ``xn--`` form, a path
    percent-encoded), so the URL can be shown and recorded as it is; credentials in the URL
    are refused (they would be written into the provenance record).
    """
    hint = "Give an http(s) URL with a host, e.g. https://overpass-api.de/api/interpreter"
    shown = _safe(repr(url), 200)
    if not isinstance(url, str) or not url.isascii() or not url.isprintable() or " " in url:
        msg = f"the Overpass endpoint {shown} ({origin}) holds spaces, control or non-ASCII text"
        hint += " (a host in its xn-- form, a path percent-encoded)"
        raise InputError(msg, code="E_INPUT_OPTION", hint=hint)
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # a port that is not a number in 0-65535 raises here
    except ValueError as exc:
        msg = f"the Overpass endpoint {shown} ({origin}) is not a valid URL: {_safe(exc, 100)}"
        raise InputError(msg, code="E_INPUT_OPTION", hint=hint) from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        msg = f"the Overpass endpoint {shown} ({origin}) is not an http(s) URL with a host"
        raise InputError(msg, code="E_INPUT_OPTION", hint=hint)
    if parts.username is not None or parts.password is not None:
        msg = f"the Overpass endpoint {shown} ({origin}) carries credentials (user@host)"
        hint = "Give the URL without user and password; they would be saved in the provenance."
        raise InputError(msg, code="E_INPUT_OPTION", hint=hint)
    return url


def overpass_query(
    box: tuple[float, float, float, float],
    tags: Sequence[str],
    *,
    timeout_s: float = 60,
    as_of: datetime | None = None,
) -> str:
    """Write the Overpass QL query for every element matching ``tags`` in ``box`` (w, s, e, n).

    ``timeout_s`` (0.1 to 3600 s) is the server's time limit for the query, rounded up to whole
    seconds.
    """
    limit_s = math.ceil(_check_timeout_s(timeout_s))
    w, s, e, n = box
    area = f"({s:.7f},{w:.7f},{n:.7f},{e:.7f})"
    parts = []
    for key, value in parse_tag_filters(tags):
        k = json.dumps(key)
        selector = f"[{k}={json.dumps(value)}]" if value is not None else f"[{k}]"
        parts.append(f"  nwr{selector}{area};")
    date = ""
    if as_of is not None:  # Overpass "attic" data: the map as it was then
        date = f'[date:"{as_of.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}"]'
    head = f"[out:json][timeout:{limit_s}]{date};\n"
    return head + "(\n" + "\n".join(parts) + "\n);\n(._;>;);\nout meta;\n"


def fetch_overpass(
    query: str,
    out_dir: str | os.PathLike[str],
    *,
    endpoint: str | None = None,
    timeout_s: float = 90.0,
) -> OverpassFetch:
    """Send one Overpass query and save the response verbatim in ``out_dir``.

    The endpoint is ``endpoint``, else the ``GEOVERIFY_OVERPASS_URL`` environment variable,
    else the public Overpass API. The response is saved as ``overpass_<sha256[:16]>.json`` with
    a ``.provenance.json`` beside it (endpoint, the URL that answered, query, time, SHA-256,
    the data's ``osm_base`` timestamp). This is the only function of geoverify that uses the
    network.

    Parameters
    ----------
    query
        Overpass QL, e.g. from ``overpass_query``.
    out_dir
        Folder for the answer and its provenance record (created when missing).
    endpoint
        An http(s) URL with a host.
    timeout_s
        Time limit of the whole fetch in seconds, 0.1 to 3600: connecting, waiting for the
        server and downloading the answer together.

    Raises
    ------
    InputError
        ``E_INPUT_OPTION``: the endpoint is not an http(s) URL with a host, or ``timeout_s`` is
        out of range (nothing is sent).
    NetworkError
        The server cannot be reached, takes longer than ``timeout_s`` (``E_NET_TIMEOUT``),
        refuses (429: rate limited, with its ``Retry-After``), answers malformed HTTP or
        something that is not Overpass JSON (``E_NET_BAD_RESPONSE``), redirects to another
        scheme, host or port (``E_NET_REDIRECT``), or says in its ``remark`` that it stopped
        the query early (``E_NET_PARTIAL``). Nothing is saved.
    """
    import hashlib

    from geoverify._io import write_atomic
    from geoverify._output import prepare_output_dir

    if endpoint:
        url, origin = endpoint, "--endpoint"
    elif os.environ.get(OVERPASS_ENDPOINT_ENV):
        url, origin = os.environ[OVERPASS_ENDPOINT_ENV], f"${OVERPASS_ENDPOINT_ENV}"
    else:
        url, origin = DEFAULT_OVERPASS_ENDPOINT, "the default"
    url = _check_endpoint(url, origin)
    limit_s = _check_timeout_s(timeout_s)
    body = urllib.parse.urlencode({"data": query}).encode("utf-8")
    raw, final_url = _post_within(url, body, limit_s)
    osm_base = _overpass_answer(raw, url)
    sha = hashlib.sha256(raw).hexdigest()
    folder = prepare_output_dir(out_dir, what="the OSM folder")
    target = folder / f"overpass_{sha[:16]}.json"
    write_atomic(target, raw)
    fetched = OverpassFetch(
        endpoint=url,
        final_url=final_url,
        query=query,
        fetched_utc=datetime.now(UTC).isoformat(timespec="seconds"),
        path=str(target),
        sha256=sha,
        size_bytes=len(raw),
        osm_base=osm_base,
    )
    write_atomic(
        target.with_suffix(".provenance.json"),
        json.dumps(dataclasses.asdict(fetched), indent=2).encode("utf-8"),
    )
    return fetched


def _overpass_answer(raw: bytes, url: str) -> str:
    """Check an answer is complete Overpass JSON; return its ``osm_base`` timestamp, escaped."""
    if len(raw) > _MAX_JSON_BYTES:
        msg = f"{url} sent more than 512 MiB"
        raise NetworkError(msg, code="E_NET_BAD_RESPONSE", hint="Query a smaller area.")
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        msg = f"{url} answered something that is not JSON: {_safe(exc, 120)}"
        raise NetworkError(msg, code="E_NET_BAD_RESPONSE", hint="Check the endpoint.") from None
    remark = doc.get("remark") if isinstance(doc, dict) else None
    if remark is not None and _PARTIAL_REMARK.search(str(remark)):
        msg = f"{url} stopped the query early, its answer is partial: {_safe(remark, 200)}"
        hint = "Query a smaller area or fewer tags, or give a larger --timeout-s; or try later."
        raise NetworkError(msg, code="E_NET_PARTIAL", hint=hint)
    if not isinstance(doc, dict) or not isinstance(doc.get("elements"), list):
        said = f": {_safe(remark, 160)}" if remark is not None else ""
        msg = f"{url} answered JSON without an 'elements' list{said}"
        raise NetworkError(msg, code="E_NET_BAD_RESPONSE", hint="Check the query and endpoint.")
    osm3s = doc.get("osm3s")
    return _safe(osm3s.get("timestamp_osm_base", ""), 100) if isinstance(osm3s, dict) else ""


class _Watched:
    """A connection that hands its socket to ``watch`` once connected (HTTP or HTTPS)."""

    sock: socket.socket

    def __init__(self, *args: Any, watch: Callable[[socket.socket], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watch = watch

    def connect(self) -> None:
        """Connect as the connection class does, then let the deadline watch the socket."""
        super().connect()  # type: ignore[misc]
        self._watch(self.sock)


class _WatchedHTTP(_Watched, http.client.HTTPConnection):
    """An HTTP connection whose socket the deadline watches."""


class _WatchedHTTPS(_Watched, http.client.HTTPSConnection):
    """An HTTPS connection whose socket the deadline watches."""


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watch: Callable[[socket.socket], None]) -> None:
        super().__init__()
        self._watch_socket = watch

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        watch = self._watch_socket

        def connection(host: str, /, **kwargs: Any) -> http.client.HTTPConnection:
            return _WatchedHTTP(host, watch=watch, **kwargs)

        return self.do_open(connection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watch: Callable[[socket.socket], None]) -> None:
        super().__init__()
        self._watch_socket = watch

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        import ssl

        watch = self._watch_socket

        def connection(host: str, /, **kwargs: Any) -> http.client.HTTPConnection:
            return _WatchedHTTPS(host, watch=watch, **kwargs)

        return self.do_open(connection, req, context=ssl.create_default_context())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Follow no redirect here: ``_post`` checks each one (same scheme, host and port)."""

    def http_error_302(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
    ) -> None:
        """Return nothing, so the redirect reaches ``_post`` as an ``HTTPError``."""
        return None

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _remaining_s(deadline: float) -> float:
    """Return the seconds left before ``deadline`` (``time.monotonic``); raise when none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _post_within(url: str, body: bytes, timeout_s: float) -> tuple[bytes, str]:
    """POST ``body`` to ``url``; return the answer and the URL that gave it, within the limit."""
    deadline = time.monotonic() + timeout_s
    sockets: list[socket.socket] = []
    outcome: list[tuple[bytes, str] | BaseException] = []
    expired = threading.Event()

    def shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def watch(sock: socket.socket) -> None:
        sockets.append(sock)
        if expired.is_set():  # connected after the caller gave up
            shut(sock)

    def work() -> None:
        try:
            outcome.append(_post(url, body, deadline, watch))
        except BaseException as exc:  # handed to the caller, which raises it
            outcome.append(exc)

    worker = threading.Thread(target=work, name="geoverify-overpass", daemon=True)
    worker.start()
    finished = False
    try:
        worker.join(max(0.0, deadline - time.monotonic()))
        finished = not worker.is_alive()
    finally:
        if not finished:  # over time, or interrupted: end the request where it stands
            expired.set()
            for sock in list(sockets):
                shut(sock)
    result = outcome[0] if finished and outcome else TimeoutError()
    if isinstance(result, BaseException):
        raise _network_error(result, url, timeout_s) from None
    return result


def _post(
    url: str, body: bytes, deadline: float, watch: Callable[[socket.socket], None]
) -> tuple[bytes, str]:
    """POST ``body``, following redirects to the same scheme, host and port; runs in a thread."""
    opener = urllib.request.build_opener(_HTTPHandler(watch), _HTTPSHandler(watch), _NoRedirect())
    for _ in range(_MAX_REDIRECTS + 1):
        request = urllib.request.Request(url, data=body, headers=_HEADERS, method="POST")
        try:
            with opener.open(request, timeout=_remaining_s(deadline)) as response:
                return _read_body(response, deadline), url
        except urllib.error.HTTPError as exc:
            location = exc.headers.get("Location") if exc.headers else None
            exc.close()  # it holds the response and its socket
            if not (300 <= exc.code < 400 and location):
                raise
            url = _redirect_target(url, location)
    msg = f"{url} redirected the query more than {_MAX_REDIRECTS} times"
    raise NetworkError(msg, code="E_NET_REDIRECT", hint="Check the endpoint.")


def _read_body(response: Any, deadline: float) -> bytes:
    """Read at most 512 MiB + 1 byte, a chunk at a time, until the end or the deadline."""
    chunks: list[bytes] = []
    size = 0
    while size <= _MAX_JSON_BYTES:
        _remaining_s(deadline)
        chunk = response.read1(_CHUNK_BYTES)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _redirect_target(url: str, location: str) -> str:
    """Return where a redirect leads when it keeps the scheme, host and port of ``url``."""
    old = urllib.parse.urlsplit(url)
    try:
        new_url = urllib.parse.urldefrag(urllib.parse.urljoin(url, location.strip())).url
        new = urllib.parse.urlsplit(new_url)
        new_port = new.port or _DEFAULT_PORTS.get(new.scheme)
    except ValueError:
        msg = f"{url} redirected the query to a malformed URL {_safe(repr(location), 200)}"
        raise NetworkError(msg, code="E_NET_REDIRECT", hint="Check the endpoint.") from None
    same = (new.scheme, new.hostname, new_port) == (
        old.scheme,
        old.hostname,
        old.port or _DEFAULT_PORTS[old.scheme],
    )
    if not same or not new_url.isascii() or not new_url.isprintable() or " " in new_url:
        msg = (
            f"{url} redirected the query to {_safe(repr(new_url), 200)}, another scheme, host "
            f"or port ({old.scheme}://{old.netloc} -> {_safe(new.scheme, 20)}://"
            f"{_safe(new.netloc, 100)}): refused"
        )
        hint = "If you trust that server, give its URL as --endpoint."
        raise NetworkError(msg, code="E_NET_REDIRECT", hint=hint)
    return new_url


def _network_error(exc: BaseException, url: str, timeout_s: float) -> BaseException:
    """Return the ``NetworkError`` that says what ``exc`` means, or ``exc`` (a bug) itself."""
    if isinstance(exc, GeoverifyError):
        return exc
    if isinstance(exc, urllib.error.HTTPError):
        return _http_error(exc, url)
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        msg = f"{url} took longer than {timeout_s:g} s (connect, answer and download together)"
        hint = "Try again later, query a smaller area, or give a larger --timeout-s."
        return NetworkError(msg, code="E_NET_TIMEOUT", hint=hint)
    if isinstance(reason, http.client.HTTPException):  # bad chunk, status line or headers
        name, text = type(reason).__name__, _safe(reason, 120)
        what = text if text.startswith(name) else f"{name}: {text}".rstrip(": ")
        msg = f"{url} answered malformed HTTP ({what})"
        return NetworkError(msg, code="E_NET_BAD_RESPONSE", hint="Check the endpoint.")
    if isinstance(reason, OSError | str):
        msg = f"cannot reach {url}: {_safe(reason, 200)}"
        hint = "Check the network, or use --endpoint."
        return NetworkError(msg, code="E_NET_UNREACHABLE", hint=hint)
    return exc


def _http_error(exc: urllib.error.HTTPError, url: str) -> GeoverifyError:
    """Return the ``NetworkError`` of an HTTP error status (429: rate limited)."""
    if exc.code == 429:
        retry = exc.headers.get("Retry-After", "") if exc.headers else ""
        wait = f" {retry.strip()} s" if re.fullmatch(r"\s*\d{1,6}\s*", retry or "") else ""
        msg = f"{url} refused the query: too many requests (HTTP 429)"
        hint = f"Wait{wait} and run it again, or use --endpoint."
        return NetworkError(msg, code="E_NET_RATE_LIMITED", hint=hint)
    msg = f"{url} answered HTTP {exc.code} {_safe(exc.reason, 100)}".rstrip()
    return NetworkError(msg, code="E_NET_HTTP", hint="Check the query and the endpoint.")
