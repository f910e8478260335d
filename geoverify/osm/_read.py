"""Reading OSM files: .osm XML, Overpass JSON, .osm.pbf and history files (.osh) as of a time."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from geoverify._io import limit_error, open_regular
from geoverify.errors import InputError, MissingDependencyError, RegistryError
from geoverify.models import Note

MAX_BYTES = 2 * 2**30
MAX_JSON_BYTES = 512 * 2**20


@dataclasses.dataclass(frozen=True, slots=True)
class ElementMeta:
    """An element version's number and timestamp, as the file states them."""

    version: int | None
    timestamp: str


@dataclasses.dataclass(slots=True)
class OsmData:
    """Parsed OSM elements (``lat``/``lon`` in degrees), as read from one file."""

    nodes: dict[int, tuple[float, float, dict[str, str], ElementMeta]] = dataclasses.field(
        default_factory=dict
    )
    ways: dict[int, tuple[list[int], dict[str, str], ElementMeta]] = dataclasses.field(
        default_factory=dict
    )
    relations: dict[int, tuple[list[tuple[str, int, str]], dict[str, str], ElementMeta]] = (
        dataclasses.field(default_factory=dict)
    )
    source_name: str = ""
    notes: list[Note] = dataclasses.field(default_factory=list)
    as_of: datetime | None = None
    versions: dict[tuple[str, int], int] = dataclasses.field(default_factory=dict)
    newer: int = 0  # element versions dated after as_of, left out
    undated: int = 0  # element versions without a timestamp, left out under as_of

    def accept(self, kind: str, oid: int, meta: ElementMeta, visible: bool) -> bool:
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


def _xml_element(data: OsmData, elem: ET.Element) -> None:
    """Add one ``node``, ``way`` or ``relation`` element to ``data`` (if it is taken)."""
    tag = elem.tag
    oid = _int(elem.get("id"))
    if oid is None:
        return
    tags = {t.get("k", ""): t.get("v", "") for t in elem.findall("tag")}
    meta = ElementMeta(_int(elem.get("version")), elem.get("timestamp", ""))
    if not data.accept(tag, oid, meta, elem.get("visible", "true") != "false"):
        return
    if tag == "node":
        c = _coord(elem.get("lat"), elem.get("lon"))
        if c is not None:
            data.nodes[oid] = (c[0], c[1], tags, meta)
    elif tag == "way":
        refs = [r for r in (_int(nd.get("ref")) for nd in elem.findall("nd")) if r is not None]
        data.ways[oid] = (refs, tags, meta)
    else:
        members = []
        for m in elem.findall("member"):
            ref = _int(m.get("ref"))
            if ref is not None:
                members.append((m.get("type", ""), ref, m.get("role", "")))
        data.relations[oid] = (members, tags, meta)


def _read_xml(path: Path, fh: BinaryIO, as_of: datetime | None = None) -> OsmData:
    data = OsmData(source_name=path.name, as_of=as_of)
    try:
        for _, elem in ET.iterparse(fh, events=("end",)):
            if elem.tag not in ("node", "way", "relation"):
                continue
            _xml_element(data, elem)
            elem.clear()
    except ET.ParseError as exc:
        raise _bad(path, f"XML error: {exc}") from None
    except (LookupError, ValueError, UnicodeError) as exc:  # e.g. an unknown XML encoding
        raise _bad(path, f"XML error: {str(exc)[:200]}") from None
    return data


def no_constant(name: str) -> Any:
    """Refuse ``NaN`` and ``Infinity`` in JSON (``json.loads``'s ``parse_constant``)."""
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
                data.nodes[ref] = (c[0], c[1], {}, ElementMeta(None, ""))
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
    raw = fh.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        raise _bad(path, "Overpass JSON larger than 512 MiB: use .osm.pbf for large extracts")
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=no_constant)
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
        meta = ElementMeta(
            _int(e.get("version")), _clean(e.get("timestamp", ""), data.notes, "time")
        )
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
            meta = ElementMeta(
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
        if size > MAX_BYTES:
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
