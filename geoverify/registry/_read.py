"""Reading a registry: strict GeoJSON, every problem listed with file, feature and pointer.

The file's bytes and JSON are read by ``_document``, each feature's raw geometry is checked by
``_checks``; this module reads the properties (names, tags, sources, reference images), builds
the ``Landmark`` values and checks them against the registry's area of interest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path, PurePosixPath
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geoverify._io import hash_regular_file
from geoverify.errors import GeoverifyError, RegistryError
from geoverify.registry._checks import Collector, check_geometry, is_finite
from geoverify.registry._document import (
    DEEP_HINT,
    MAX_NESTING,
    parse_registry_document,
    read_registry_bytes,
    too_deep,
)
from geoverify.registry._model import (
    MAX_REFERENCE_BYTES,
    Landmark,
    ReferenceImage,
    Registry,
    RegistryProblem,
    Source,
)

# properties and members that geoverify models; everything else is kept as read
_MODELLED_PROPERTIES = frozenset(
    {"name", "aliases", "tags", "uncertainty_m", "sources", "reference_images", "notes"}
)
_FEATURE_MEMBERS = frozenset({"type", "id", "geometry", "properties"})
_TOP_MEMBERS = frozenset(
    {"type", "features", "name", "geoverify_registry", "geoverify_area_of_interest"}
)
AREA_MEMBER = "geoverify_area_of_interest"
_SOURCE_FIELDS = frozenset(f.name for f in dataclasses.fields(Source))
_INT_SOURCE_FIELDS = frozenset({"osm_id", "osm_version"})


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _parse_sources(raw: Any, ptr: str, fid: str, c: Collector) -> tuple[Source, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.add("E_REGISTRY_INVALID", ptr, fid, "sources must be a list")
        return ()
    out = []
    for i, item in enumerate(raw):
        problem = _source_problem(item)
        if problem is not None:
            where, message = problem
            c.add("E_REGISTRY_INVALID", f"{ptr}/{i}{where}", fid, message)
            continue
        out.append(Source(**item))
    return tuple(out)


def _source_problem(item: Any) -> tuple[str, str] | None:
    """Return (pointer below the source, message) of what is wrong with a source, or ``None``."""
    if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
        return "", "a source is an object with a 'kind'"
    unknown = set(item) - _SOURCE_FIELDS
    if unknown:
        return "", f"unknown source fields: {sorted(unknown)}"
    wrong = [key for key, value in item.items() if not _source_value_ok(key, value)]
    if not wrong:
        return None
    kind = "an integer or null" if wrong[0] in _INT_SOURCE_FIELDS else "a string"
    return (
        f"/{wrong[0]}",
        f"source field {wrong[0]!r} must be {kind}, got {json.dumps(item[wrong[0]])[:40]}",
    )


def _source_value_ok(key: str, value: Any) -> bool:
    if key in _INT_SOURCE_FIELDS:
        return (isinstance(value, int) and not isinstance(value, bool)) or value is None
    return isinstance(value, str)


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
    raw: Any, ptr: str, fid: str, base: Path | None, c: Collector
) -> tuple[ReferenceImage, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.add("E_REGISTRY_INVALID", ptr, fid, "reference_images must be a list")
        return ()
    out = []
    for i, item in enumerate(raw):
        image = _reference_image(item, f"{ptr}/{i}", fid, base, c)
        if image is not None:
            out.append(image)
    return tuple(out)


def _reference_image(
    item: Any, iptr: str, fid: str, base: Path | None, c: Collector
) -> ReferenceImage | None:
    """Read one reference image entry; ``None`` when a problem (recorded in ``c``) stops it."""
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        c.add("E_REGISTRY_INVALID", iptr, fid, "a reference image is an object with a 'path'")
        return None
    rel = item["path"]
    sha = item.get("sha256", "")
    if not isinstance(sha, str) or not isinstance(item.get("note", ""), str):
        c.add("E_REGISTRY_INVALID", iptr, fid, "sha256 and note must be strings")
        return None
    if base is not None:
        actual = _image_sha256(base, rel, sha, iptr, fid, c)
        if actual is None:
            return None
        sha = actual
    extra = {k: v for k, v in item.items() if k not in ("path", "sha256", "note")}
    return ReferenceImage(path=rel, sha256=str(sha), note=str(item.get("note", "")), extra=extra)


def _image_sha256(base: Path, rel: str, sha: str, iptr: str, fid: str, c: Collector) -> str | None:
    """Hash a reference image file; ``None`` when it is outside, missing, unusable or changed."""
    full = _inside(base, rel)
    if full is None:
        c.add(
            "E_REF_IMAGE_PATH",
            f"{iptr}/path",
            fid,
            f"{rel!r} is not inside the registry's folder",
        )
        return None
    if not full.is_file():
        c.add("E_REF_IMAGE_MISSING", f"{iptr}/path", fid, f"reference image {rel!r} not found")
        return None
    try:
        actual = hash_regular_file(
            full, max_bytes=MAX_REFERENCE_BYTES, what="reference image", error=_ref_error
        )
    except GeoverifyError as exc:
        c.add(exc.code, f"{iptr}/path", fid, exc.message)
        return None
    if sha and sha != actual:
        c.add(
            "E_REF_IMAGE_CHANGED",
            f"{iptr}/sha256",
            fid,
            f"{rel!r} has SHA-256 {actual[:12]}..., the registry says {str(sha)[:12]}...",
        )
        return None
    return actual


def _ref_error(message: str, reason: str, hint: str) -> GeoverifyError:
    code = {"too_large": "E_REF_IMAGE_TOO_LARGE", "not_regular": "E_REF_IMAGE_PATH"}.get(
        reason, "E_REF_IMAGE_MISSING"
    )
    return RegistryError(message, code=code, hint=hint)


def _feature_id(
    feat: Any, n: int, seen: dict[str, int], c: Collector
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
    props: dict[str, Any], ptr: str, fid: str, c: Collector
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
    if unc is not None and not (is_finite(unc) and unc >= 0):
        c.add(
            "E_REGISTRY_INVALID",
            f"{ptr}/properties/uncertainty_m",
            fid,
            f"uncertainty_m must be a number >= 0, got {json.dumps(unc)[:30]}",
        )
        unc = None
    return aliases, tags, float(unc) if unc is not None else None


def _valid_geometry(
    geom_raw: Any, ptr: str, fid: str, repair: bool, c: Collector
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
    c: Collector,
) -> Landmark | None:
    """Build one feature's ``Landmark``; ``None`` when a problem (recorded in ``c``) stops it."""
    ident = _feature_id(feat, n, seen, c)
    if ident is None:
        return None
    fid, props = ident
    ptr = f"/features/{n}"
    geom_raw = feat.get("geometry")
    geometry_ok = check_geometry(geom_raw, f"{ptr}/geometry", fid, c)
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
    c = Collector()
    features = _features_of(data, where, c)
    landmarks: list[Landmark] = []
    seen: dict[str, int] = {}
    for n, feat in enumerate(features):
        landmark = _landmark_of(feat, n, seen, base_dir, repair, c)
        if landmark is not None:
            landmarks.append(landmark)
    if c.problems:
        first = c.problems[0]
        raise _problems_error(
            where,
            c.problems,
            str(first).removesuffix(f" [{first.code}]"),
            "Fix every problem listed in the detail, then validate again.",
        )
    area = _area_of_interest(data.get(AREA_MEMBER), c)
    if area is not None:
        for lm in landmarks:
            _check_area(lm, area, c)
    if c.problems:  # the area member itself is wrong
        raise _problems_error(where, c.problems, c.problems[0].message, "Fix the area of interest.")
    raw_name = data.get("name")
    name = raw_name if isinstance(raw_name, str) else Path(where).stem
    return Registry(
        area_of_interest=area,
        name=name,
        landmarks=tuple(landmarks),
        warnings=tuple(c.warnings),
        foreign_members={k: v for k, v in data.items() if k not in _TOP_MEMBERS},
    )


def _features_of(data: Any, where: str, c: Collector) -> list[Any]:
    """Return the FeatureCollection's features; refuse a document that is not one."""
    deep = too_deep(data, MAX_NESTING)
    if deep is not None:
        msg = f"{where}: nested deeper than {MAX_NESTING} levels (at {deep[:120]})"
        raise RegistryError(msg, code="E_REGISTRY_INVALID", hint=DEEP_HINT)
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
    return features


def _problems_error(
    where: str, problems: list[RegistryProblem], first: str, hint: str
) -> RegistryError:
    """One ``E_REGISTRY_INVALID`` naming the first problem, every one listed in the detail."""
    listing = "\n".join(f"{where}: {p}" for p in problems)
    msg = f"{len(problems)} problem(s) in {where}; first: {first}"
    return RegistryError(msg, code="E_REGISTRY_INVALID", hint=hint, detail=listing)


def _area_of_interest(raw: Any, c: Collector) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    ok = isinstance(raw, list) and len(raw) == 4 and all(is_finite(v) for v in raw)
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


def _check_area(lm: Landmark, box: tuple[float, float, float, float], c: Collector) -> None:
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
