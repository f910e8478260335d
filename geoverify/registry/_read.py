"""Reading a registry: strict GeoJSON, every problem listed with file, feature and pointer."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import os
from pathlib import Path, PurePosixPath
from typing import Any

import shapely
from shapely.geometry import (
    shape,
)
from shapely.geometry.base import BaseGeometry

from geoverify._io import hash_regular_file, read_regular_file
from geoverify.errors import GeoverifyError, RegistryError
from geoverify.models import Note
from geoverify.registry._model import (
    GEOM_TYPES,
    MAX_FILE_BYTES,
    MAX_REFERENCE_BYTES,
    Landmark,
    ReferenceImage,
    Registry,
    RegistryProblem,
    Source,
)

# --- reading -------------------------------------------------------------------------------------


# properties and members that geoverify models; everything else is kept as read
_MODELLED_PROPERTIES = frozenset(
    {"name", "aliases", "tags", "uncertainty_m", "sources", "reference_images", "notes"}
)
_FEATURE_MEMBERS = frozenset({"type", "id", "geometry", "properties"})
_TOP_MEMBERS = frozenset(
    {"type", "features", "name", "geoverify_registry", "geoverify_area_of_interest"}
)
AREA_MEMBER = "geoverify_area_of_interest"
# A registry is about nine levels deep (a MultiPolygon's positions); deeper nesting is refused
# before anything walks it, so that no reader or writer recurses past Python's limit.
MAX_NESTING = 64


class _Collector:
    def __init__(self) -> None:
        self.problems: list[RegistryProblem] = []
        self.warnings: list[Note] = []
        self.dims: set[int] = set()  # position dimensions seen in the current geometry

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

    hint = "Fix the JSON syntax (NaN, Infinity and duplicate keys are refused)."
    try:
        return json.loads(text, parse_constant=no_constants, object_pairs_hook=pairs)
    except RecursionError:
        msg = f"{where} is not usable GeoJSON: nested deeper than {MAX_NESTING} levels"
        raise RegistryError(msg, code="E_REGISTRY_JSON", hint=_DEEP_HINT) from None
    except ValueError as exc:
        msg = f"{where} is not valid GeoJSON: {exc}"
        raise RegistryError(msg, code="E_REGISTRY_JSON", hint=hint) from None


_DEEP_HINT = "A registry is a few levels deep: remove the deeply nested value."


def _too_deep(data: Any, limit: int) -> str | None:
    """Return the JSON pointer of a value nested deeper than ``limit`` (``None``: none is).

    Walks with an explicit stack, never recursion, so any depth (even a cycle) is safe; the
    pointer is looked for only when the quick walk found something too deep.
    """
    stack: list[tuple[Any, int]] = [(data, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth = pop()
        if type(value) is dict:
            value = value.values()
        elif type(value) is not list:
            continue
        if depth > limit:
            return _deep_pointer(data, limit)
        for child in value:
            if type(child) is list or type(child) is dict:  # as json.loads makes them
                push((child, depth + 1))
    return None


def _deep_pointer(data: Any, limit: int) -> str:
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, keys = stack.pop()
        if len(keys) >= limit:
            return "/" + "/".join(k.replace("~", "~0").replace("/", "~1") for k in keys)
        items = value.items() if type(value) is dict else enumerate(value)
        for key, child in items:
            if type(child) is list or type(child) is dict:
                stack.append((child, (*keys, str(key))))
    return "/"


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_finite(v: Any) -> bool:
    """Tell whether a JSON number is a finite float (a 400-digit integer is not)."""
    if not _is_number(v):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


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
    if not all(_is_finite(v) for v in pos):
        c.add("E_COORD_RANGE", ptr, fid, "coordinate is not a finite number")
        return None
    c.dims.add(len(pos))
    lon, lat = float(pos[0]), float(pos[1])
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
    if not isinstance(gtype, str) or gtype not in GEOM_TYPES:
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
    c.dims = set()
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
    if len(c.problems) == n_before and len(c.dims) > 1:
        c.add(
            "E_GEOM_INVALID",
            cptr,
            fid,
            "positions mix [lon, lat] and [lon, lat, alt]: give every position the same size",
        )
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
        wrong = [
            key
            for key, value in item.items()
            if not (
                (isinstance(value, int) and not isinstance(value, bool)) or value is None
                if key in _INT_SOURCE_FIELDS
                else isinstance(value, str)
            )
        ]
        if wrong:
            kind = "an integer or null" if wrong[0] in _INT_SOURCE_FIELDS else "a string"
            c.add(
                "E_REGISTRY_INVALID",
                f"{ptr}/{i}/{wrong[0]}",
                fid,
                f"source field {wrong[0]!r} must be {kind}, got {json.dumps(item[wrong[0]])[:40]}",
            )
            continue
        out.append(Source(**item))
    return tuple(out)


_INT_SOURCE_FIELDS = frozenset({"osm_id", "osm_version"})


def _inside(base: Path, rel: str) -> Path | None:
    if not rel or any(ord(ch) < 32 or ord(ch) == 127 for ch in rel):
        return None  # NUL and control characters: no file name an analyst meant
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts:
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
        if not isinstance(sha, str) or not isinstance(item.get("note", ""), str):
            c.add("E_REGISTRY_INVALID", iptr, fid, "sha256 and note must be strings")
            continue
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
            try:
                actual = hash_regular_file(
                    full, max_bytes=MAX_REFERENCE_BYTES, what="reference image", error=_ref_error
                )
            except GeoverifyError as exc:
                c.add(exc.code, f"{iptr}/path", fid, exc.message)
                continue
            if sha and sha != actual:
                c.add(
                    "E_REF_IMAGE_CHANGED",
                    f"{iptr}/sha256",
                    fid,
                    f"{rel!r} has SHA-256 {actual[:12]}..., the registry says {str(sha)[:12]}...",
                )
                continue
            sha = actual
        extra = {k: v for k, v in item.items() if k not in ("path", "sha256", "note")}
        out.append(
            ReferenceImage(path=rel, sha256=str(sha), note=str(item.get("note", "")), extra=extra)
        )
    return tuple(out)


def _ref_error(message: str, reason: str, hint: str) -> GeoverifyError:
    code = {"too_large": "E_REF_IMAGE_TOO_LARGE", "not_regular": "E_REF_IMAGE_PATH"}.get(
        reason, "E_REF_IMAGE_MISSING"
    )
    return RegistryError(message, code=code, hint=hint)


def _feature_id(
    feat: Any, n: int, seen: dict[str, int], c: _Collector
) -> tuple[str, dict[str, Any]] | None:
    """Return the feature's id and properties; ``None`` (the problem recorded) when it has none."""
    ptr = f"/features/{n}"
    if not isinstance(feat, dict) or feat.get("type") != "Feature":
        c.add("E_REGISTRY_INVALID", ptr, "", "not a GeoJSON Feature")
        return None
    props = feat.get("properties") or {}
    fid_raw = feat.get("id", props.get("id") if isinstance(props, dict) else None)
    if not isinstance(fid_raw, str) or not fid_raw.strip():
        c.add("E_REGISTRY_INVALID", f"{ptr}/id", "", "every feature needs a string id")
        return None
    fid = fid_raw
    if fid in seen:
        c.add("E_DUPLICATE_ID", f"{ptr}/id", fid, f"id also used by /features/{seen[fid]}")
        return None
    seen[fid] = n
    if not isinstance(props, dict):
        c.add("E_REGISTRY_INVALID", f"{ptr}/properties", fid, "properties must be an object")
        return None
    return fid, props


def _descriptive(
    props: dict[str, Any], ptr: str, fid: str, c: _Collector
) -> tuple[list[str], dict[str, str], float | None]:
    """Return aliases, tags and uncertainty_m; a bad one is recorded and left out."""
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
    if unc is not None and not (_is_finite(unc) and unc >= 0):
        c.add(
            "E_REGISTRY_INVALID",
            f"{ptr}/properties/uncertainty_m",
            fid,
            f"uncertainty_m must be a number >= 0, got {json.dumps(unc)[:30]}",
        )
        unc = None
    return aliases, tags, float(unc) if unc is not None else None


def _valid_geometry(
    geom_raw: Any, ptr: str, fid: str, repair: bool, c: _Collector
) -> tuple[bool, BaseGeometry | None, BaseGeometry | None]:
    """Return (usable, geometry, original before repair) of a feature's checked geometry."""
    if geom_raw is None:
        return True, None, None
    geometry = shape(geom_raw)
    if geometry.is_valid:
        return True, geometry, None
    reason = shapely.is_valid_reason(geometry)
    if repair:
        c.warn("W_GEOM_REPAIRED", f"feature {fid!r}: {reason}; repaired (the original is kept)")
        return True, shapely.make_valid(geometry), geometry
    c.add(
        "E_GEOM_INVALID",
        f"{ptr}/geometry",
        fid,
        f"invalid geometry: {reason} (load with repair to fix it, keeping the original)",
    )
    return False, None, None


def _landmark_of(
    feat: Any,
    n: int,
    seen: dict[str, int],
    base_dir: Path | None,
    repair: bool,
    c: _Collector,
) -> Landmark | None:
    """Build one feature's ``Landmark``; ``None`` when a problem (recorded in ``c``) stops it."""
    ident = _feature_id(feat, n, seen, c)
    if ident is None:
        return None
    fid, props = ident
    ptr = f"/features/{n}"
    geom_raw = feat.get("geometry")
    geometry_ok = _check_geometry(geom_raw, f"{ptr}/geometry", fid, c)
    name = props.get("name")
    if not isinstance(name, str) or not name.strip():
        c.add("E_REGISTRY_INVALID", f"{ptr}/properties/name", fid, "a landmark needs a name")
        return None
    aliases, tags, unc = _descriptive(props, ptr, fid, c)
    sources = _parse_sources(props.get("sources"), f"{ptr}/properties/sources", fid, c)
    images = _parse_images(
        props.get("reference_images"), f"{ptr}/properties/reference_images", fid, base_dir, c
    )
    notes = props.get("notes", "")
    extra = {k: v for k, v in props.items() if k not in _MODELLED_PROPERTIES}
    if not isinstance(notes, str):
        extra["notes"] = notes  # a structured notes object, kept as it is
    foreign = {k: v for k, v in feat.items() if k not in _FEATURE_MEMBERS}
    if geom_raw is not None and not geometry_ok:
        return None
    usable, geometry, original = _valid_geometry(geom_raw, ptr, fid, repair, c)
    if not usable:
        return None
    return Landmark(
        id=fid,
        name=name,
        aliases=tuple(aliases),
        tags=dict(tags),
        geometry=geometry,
        uncertainty_m=unc,
        sources=sources,
        reference_images=images,
        notes=notes if isinstance(notes, str) else structured_notes(notes),
        original_geometry=original,
        extra_properties=extra,
        foreign_members=foreign,
    )


def registry_from_geojson(
    data: Any,
    *,
    where: str = "<data>",
    base_dir: Path | None = None,
    repair: bool = False,
) -> Registry:
    """Validate parsed GeoJSON and build a ``Registry`` (see ``load_registry``)."""
    c = _Collector()
    deep = _too_deep(data, MAX_NESTING)
    if deep is not None:
        msg = f"{where}: nested deeper than {MAX_NESTING} levels (at {deep[:120]})"
        raise RegistryError(msg, code="E_REGISTRY_INVALID", hint=_DEEP_HINT)
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
        landmark = _landmark_of(feat, n, seen, base_dir, repair, c)
        if landmark is not None:
            landmarks.append(landmark)
    if c.problems:
        listing = "\n".join(f"{where}: {p}" for p in c.problems)
        first = c.problems[0]
        first_text = str(first).removesuffix(f" [{first.code}]")
        msg = f"{len(c.problems)} problem(s) in {where}; first: {first_text}"
        raise RegistryError(
            msg,
            code="E_REGISTRY_INVALID",
            hint="Fix every problem listed in the detail, then validate again.",
            detail=listing,
        )
    area = _area_of_interest(data.get(AREA_MEMBER), c)
    if area is not None:
        for lm in landmarks:
            _check_area(lm, area, c)
    if c.problems:  # the area member itself is wrong
        listing = "\n".join(f"{where}: {p}" for p in c.problems)
        msg = f"{len(c.problems)} problem(s) in {where}; first: {c.problems[0].message}"
        raise RegistryError(
            msg, code="E_REGISTRY_INVALID", hint="Fix the area of interest.", detail=listing
        )
    raw_name = data.get("name")
    name = raw_name if isinstance(raw_name, str) else Path(where).stem
    return Registry(
        area_of_interest=area,
        name=name,
        landmarks=tuple(landmarks),
        warnings=tuple(c.warnings),
        foreign_members={k: v for k, v in data.items() if k not in _TOP_MEMBERS},
    )


def _area_of_interest(raw: Any, c: _Collector) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    ok = isinstance(raw, list) and len(raw) == 4 and all(_is_finite(v) for v in raw)
    if ok:
        w, s, e, n = (float(v) for v in raw)
        ok = -180 <= w < e <= 180 and -90 <= s < n <= 90
    if not ok:
        c.add(
            "E_REGISTRY_INVALID",
            f"/{AREA_MEMBER}",
            "",
            f"the area of interest is [west, south, east, north] in degrees, got "
            f"{json.dumps(raw)[:60]}",
        )
        return None
    return (w, s, e, n)


def _inside_box(lon: float, lat: float, box: tuple[float, float, float, float]) -> bool:
    w, s, e, n = box
    return w <= lon <= e and s <= lat <= n


def _check_area(lm: Landmark, box: tuple[float, float, float, float], c: _Collector) -> None:
    """Flag a landmark outside the area of interest, and one that is probably swapped."""
    if lm.geometry is None:
        return
    coords = [(float(x), float(y)) for x, y, *_ in shapely.get_coordinates(lm.geometry)]
    if not coords or any(_inside_box(x, y, box) for x, y in coords):
        return
    if all(_inside_box(y, x, box) for x, y in coords):
        c.warn(
            "W_PROBABLY_SWAPPED",
            f"feature {lm.id!r} lies outside the area of interest, but its coordinates swapped "
            f"(lat/lon for lon/lat) fall inside: probably swapped (GeoJSON wants [lon, lat])",
        )
        return
    c.warn("W_OUTSIDE_AREA", f"feature {lm.id!r} lies outside the registry's area of interest")


def structured_notes(notes: Any) -> str:
    """Render a ``notes`` value that is not a string as text (the object itself is kept)."""
    return json.dumps(notes, ensure_ascii=False, sort_keys=True)


def _registry_read_error(message: str, reason: str, hint: str) -> GeoverifyError:
    if reason == "too_large":
        return RegistryError(message, code="E_REGISTRY_TOO_LARGE", hint="Split the registry.")
    if reason == "not_regular":
        return RegistryError(message, code="E_REGISTRY_NOT_FILE", hint=hint)
    return RegistryError(
        message,
        code="E_REGISTRY_MISSING",
        hint="Check the path, or create one with `geoverify registry add`.",
    )


def read_registry_bytes(path: Path) -> bytes:
    """Read the registry file's bytes: a regular file of at most 512 MiB (``RegistryError``)."""
    return read_regular_file(
        path, max_bytes=MAX_FILE_BYTES, what="registry file", error=_registry_read_error
    )


def parse_registry_document(raw: bytes, where: str) -> Any:
    """Decode and parse a registry file's bytes as strict JSON (``RegistryError``)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        msg = f"{where!r} is not UTF-8 text"
        raise RegistryError(
            msg, code="E_REGISTRY_JSON", hint="Save the file as UTF-8 GeoJSON."
        ) from None
    return _strict_json(text, where)


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
    raw = read_registry_bytes(p)
    data = parse_registry_document(raw, str(p))
    reg = registry_from_geojson(data, where=str(p), base_dir=p.parent, repair=repair)
    return dataclasses.replace(reg, path=str(p), sha256=hashlib.sha256(raw).hexdigest())
