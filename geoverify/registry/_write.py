"""Writing a registry: GeoJSON out, and locked atomic edits of the file.

Every edit reads the file under its lock (``_lock``), changes the registry in memory, writes
back the features it did not touch as they were read, and validates the result with the loading
rules before it replaces the file. ``update_landmark`` is in ``_update``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import mapping

from geoverify._io import write_atomic
from geoverify._output import real_path
from geoverify.errors import GeoverifyError, InputError, OutputError, RegistryError
from geoverify.models import Note
from geoverify.registry._document import DEEP_HINT, parse_registry_document, read_registry_bytes
from geoverify.registry._lock import LOCK_WAIT_S, locked
from geoverify.registry._model import (
    REGISTRY_FORMAT,
    Landmark,
    ReferenceImage,
    Registry,
    Source,
)
from geoverify.registry._read import AREA_MEMBER, registry_from_geojson, structured_notes


def _feature(lm: Landmark) -> dict[str, Any]:
    geometry = None
    if lm.geometry is not None:
        geometry = _listify(mapping(lm.geometry))
    feature: dict[str, Any] = {"type": "Feature", "id": lm.id}
    for key, value in lm.foreign_members.items():
        feature.setdefault(key, value)
    feature["geometry"] = geometry
    feature["properties"] = _properties(lm)
    return feature


def _properties(lm: Landmark) -> dict[str, Any]:
    """Return a feature's properties: what geoverify models, then what it kept as read."""
    props: dict[str, Any] = {"name": lm.name}
    if lm.aliases:
        props["aliases"] = list(lm.aliases)
    if lm.tags:
        props["tags"] = dict(lm.tags)
    if lm.uncertainty_m is not None:
        props["uncertainty_m"] = lm.uncertainty_m
    if lm.sources:
        props["sources"] = [source_properties(s) for s in lm.sources]
    if lm.reference_images:
        props["reference_images"] = [_image_properties(r) for r in lm.reference_images]
    for key, value in lm.extra_properties.items():
        if key != "notes":
            props.setdefault(key, value)
    structured = lm.extra_properties.get("notes")
    if structured is not None and lm.notes == structured_notes(structured):
        props["notes"] = structured  # unchanged since it was read: the object as it was
    elif lm.notes:
        props["notes"] = lm.notes
    return props


def source_properties(source: Source) -> dict[str, Any]:
    """Return a source as its GeoJSON object: the fields that are given (not empty, not null)."""
    return {k: v for k, v in dataclasses.asdict(source).items() if v not in ("", None)}


def _image_properties(image: ReferenceImage) -> dict[str, Any]:
    return {
        **{"path": image.path, "sha256": image.sha256},
        **({"note": image.note} if image.note else {}),
        **{k: v for k, v in image.extra.items() if k not in ("path", "sha256", "note")},
    }


def _listify(obj: Any) -> Any:
    if isinstance(obj, tuple | list):
        return [_listify(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _listify(v) for k, v in obj.items()}
    if isinstance(obj, np.floating):
        return float(obj)
    return obj


def registry_to_geojson(registry: Registry) -> dict[str, Any]:
    """Return the registry as a GeoJSON FeatureCollection (lon/lat order, RFC 7946).

    Members and properties that geoverify does not model (``Registry.foreign_members``,
    ``Landmark.extra_properties`` and ``foreign_members``) are written back as they were read.
    """
    doc: dict[str, Any] = {"type": "FeatureCollection", "name": registry.name}
    for key, value in registry.foreign_members.items():
        doc.setdefault(key, value)
    doc["geoverify_registry"] = REGISTRY_FORMAT
    if registry.area_of_interest is not None:
        doc[AREA_MEMBER] = list(registry.area_of_interest)
    doc["features"] = [_feature(lm) for lm in registry.landmarks]
    return doc


def landmark_problems(landmark: Landmark) -> tuple[str, ...]:
    """List what would make ``landmark`` unreadable once written (empty: it can be written).

    The landmark is written to GeoJSON and read back with the rules of ``load_registry``
    (reference images are not looked for).
    """
    doc = {"type": "FeatureCollection", "features": [_feature(landmark)]}
    try:
        registry_from_geojson(_roundtrip(doc), where="<new>")
    except RegistryError as exc:
        lines = exc.detail.splitlines() or [exc.message]
        return tuple(line.removeprefix("<new>: ") for line in lines)
    except GeoverifyError as exc:
        return (exc.message,)
    return ()


def _roundtrip(doc: dict[str, Any]) -> Any:
    """Return the document as a reader will see it: through strict JSON text."""
    try:
        text = json.dumps(doc, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
    except RecursionError:
        msg = "the registry cannot be written as GeoJSON: a value is nested too deep"
        raise RegistryError(
            msg,
            code="E_REGISTRY_WRITE_REFUSED",
            hint=DEEP_HINT,
        ) from None
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        msg = f"the registry cannot be written as GeoJSON: {exc}"
        raise RegistryError(
            msg,
            code="E_REGISTRY_WRITE_REFUSED",
            hint="Every number must be finite and every text valid Unicode.",
        ) from None
    return json.loads(text)


def _encode_checked(doc: dict[str, Any], target: Path) -> bytes:
    """Validate ``doc`` with the loading rules, then encode it; refuse what could not be read."""
    checked = _roundtrip(doc)
    try:
        registry_from_geojson(checked, where=str(target), base_dir=target.parent)
    except RegistryError as exc:
        msg = f"refused to write {str(target)!r}, it would not load again: {exc.message}"
        raise RegistryError(
            msg,
            code="E_REGISTRY_WRITE_REFUSED",
            hint="Fix the values given (the registry on disk is unchanged).",
            detail=exc.detail,
        ) from None
    text = json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=1)
    return (text + "\n").encode("utf-8")


def save_registry(
    registry: Registry, path: str | os.PathLike[str], *, lock_wait_s: float = LOCK_WAIT_S
) -> None:
    """Write the registry as GeoJSON, atomically (temporary file, then rename), under a lock.

    The document is validated with the rules of ``load_registry`` before it is written: a
    registry that could not be loaded again is refused (``E_REGISTRY_WRITE_REFUSED``) and the
    file on disk is left as it was. A symbolic link is followed (its target is written), and an
    existing file keeps its permissions. Another process's lock is waited for at most
    ``lock_wait_s`` seconds (``E_REGISTRY_LOCKED``).
    """
    p = real_path(path)
    data = _encode_checked(registry_to_geojson(registry), p)
    with locked(p, lock_wait_s):
        write_atomic(p, data)


def _read_current(path: Path) -> tuple[dict[str, Any], Registry]:
    if not path.exists():
        doc: dict[str, Any] = {
            "type": "FeatureCollection",
            "name": path.stem,
            "geoverify_registry": REGISTRY_FORMAT,
            "features": [],
        }
        return doc, Registry(name=path.stem, landmarks=())
    raw = read_registry_bytes(path)
    doc = parse_registry_document(raw, str(path))
    return doc, registry_from_geojson(doc, where=str(path), base_dir=path.parent)


def modify_registry(path: Path, change: Callable[[Registry], Registry], wait_s: float) -> Registry:
    """Edit the registry file under its lock: features not edited are written back as read.

    A ``change`` that returns the registry it was given writes nothing.
    """
    with locked(path, wait_s):
        doc, current = _read_current(path)
        updated = change(current)
        if updated is current:
            return current
        raw_by_id = {}
        for feat in doc.get("features", []):
            props = feat.get("properties") or {}
            raw_by_id[feat.get("id", props.get("id"))] = feat
        unchanged = {lm.id: lm for lm in current.landmarks}
        features = [
            raw_by_id[lm.id] if unchanged.get(lm.id) is lm else _feature(lm)
            for lm in updated.landmarks
        ]
        out = {**doc, "features": features}
        if updated.area_of_interest != current.area_of_interest:
            if updated.area_of_interest is None:
                out.pop(AREA_MEMBER, None)
            else:
                out[AREA_MEMBER] = list(updated.area_of_interest)
        write_atomic(path, _encode_checked(out, path))
        return updated


def refuse_unwritable(lm: Landmark) -> None:
    problems = landmark_problems(lm)
    if problems:
        first = problems[0].rsplit(" [", 1)[0]
        msg = f"landmark {lm.id!r} cannot be written: {first}"
        raise RegistryError(
            msg,
            code="E_REGISTRY_WRITE_REFUSED",
            hint="Fix the values given (the registry on disk is unchanged).",
            detail="\n".join(problems),
        )


def _replacement(before: Landmark, new: Landmark) -> Landmark:
    """Put ``new`` in place of ``before``, keeping what ``new`` leaves empty (add_landmarks)."""
    given = new.geometry is not None
    return dataclasses.replace(
        new,
        aliases=new.aliases or before.aliases,
        tags=new.tags or before.tags,
        geometry=new.geometry if given else before.geometry,
        original_geometry=new.original_geometry if given else before.original_geometry,
        uncertainty_m=before.uncertainty_m if new.uncertainty_m is None else new.uncertainty_m,
        sources=new.sources or before.sources,
        reference_images=new.reference_images or before.reference_images,
        notes=new.notes or before.notes,
        extra_properties={**before.extra_properties, **new.extra_properties},
        foreign_members={**before.foreign_members, **new.foreign_members},
    )


def add_landmark(
    path: str | os.PathLike[str],
    landmark: Landmark,
    *,
    replace: bool = False,
    force: bool = False,
    lock_wait_s: float = LOCK_WAIT_S,
) -> Registry:
    """Add (or with ``replace`` redefine) a landmark in the registry file, under a lock.

    A landmark whose swapped coordinates (lat/lon for lon/lat) fall inside the registry's area
    of interest while it lies outside is refused (``RegistryError``, ``E_PROBABLY_SWAPPED``,
    the registry unchanged) unless ``force``; ``area_warnings`` says what the area of interest
    makes of a landmark before it is added. See ``add_landmarks``; ``update_landmark`` changes
    some fields of a landmark.
    """
    return _add(path, [landmark], replace=replace, refuse_swapped=not force, wait_s=lock_wait_s)


def add_landmarks(
    path: str | os.PathLike[str],
    landmarks: Sequence[Landmark],
    *,
    replace: bool = False,
    lock_wait_s: float = LOCK_WAIT_S,
) -> Registry:
    """Add several landmarks at once (one lock, one atomic write).

    Each landmark is checked with the loading rules first; any that would not load again is
    refused (``E_REGISTRY_WRITE_REFUSED``, exit 4) and nothing is written. An id that exists
    already is refused (``E_DUPLICATE_ID``) unless ``replace``: then the new landmark takes the
    old one's place, and what it leaves empty is kept from the old one, so nothing is lost
    silently: its aliases, tags, geometry, uncertainty, sources, reference images and notes
    (each when the new one has none), and what geoverify does not model (unknown properties,
    foreign members). To clear a field, remove the landmark and add it again.

    Another process's lock is waited for at most ``lock_wait_s`` seconds, then refused
    (``E_REGISTRY_LOCKED``); a lock file that is a symbolic link is refused
    (``E_REGISTRY_LOCK``).
    """
    return _add(path, landmarks, replace=replace, refuse_swapped=False, wait_s=lock_wait_s)


def _add(
    path: str | os.PathLike[str],
    landmarks: Sequence[Landmark],
    *,
    replace: bool,
    refuse_swapped: bool,
    wait_s: float,
) -> Registry:
    """Add ``landmarks`` (see ``add_landmarks``); ``refuse_swapped``: as ``add_landmark``."""
    p = real_path(path)
    new_ids = [lm.id for lm in landmarks]
    if len(set(new_ids)) != len(new_ids):
        msg = "the landmarks to add repeat an id"
        raise RegistryError(msg, code="E_DUPLICATE_ID", hint="Give every landmark its own id.")
    for lm in landmarks:
        refuse_unwritable(lm)

    def change(reg: Registry) -> Registry:
        if refuse_swapped:
            for lm in landmarks:
                area_warnings(reg, lm)  # raises E_PROBABLY_SWAPPED
        incoming = set(new_ids)
        old = {lm.id: lm for lm in reg.landmarks if lm.id in incoming}
        if old and not replace:
            clash = sorted(old)
            msg = f"landmark id {clash[0]!r} already exists in {str(p)!r}"
            raise RegistryError(
                msg,
                code="E_DUPLICATE_ID",
                hint="Choose another id, change it with `geoverify registry update`, or "
                "redefine it with --replace.",
            )
        added = []
        for lm in landmarks:
            before = old.get(lm.id)
            added.append(lm if before is None else _replacement(before, lm))
        kept = tuple(lm for lm in reg.landmarks if lm.id not in incoming)
        return dataclasses.replace(reg, landmarks=(*kept, *added))

    return modify_registry(p, change, wait_s)


def area_warnings(
    registry: Registry, landmark: Landmark, *, force: bool = False
) -> tuple[Note, ...]:
    """Return the area-of-interest warnings ``landmark`` would raise in ``registry``.

    ``W_OUTSIDE_AREA`` when it lies outside the registry's area of interest, and
    ``W_PROBABLY_SWAPPED`` when its swapped coordinates (lat/lon for lon/lat) fall inside;
    the latter raises ``RegistryError`` (``E_PROBABLY_SWAPPED``) unless ``force``. Without an
    area of interest there is nothing to say.
    """
    if registry.area_of_interest is None or landmark.geometry is None:
        return ()
    probe = Registry(name=registry.name, landmarks=(landmark,),
                     area_of_interest=registry.area_of_interest)  # fmt: skip
    try:
        checked = registry_from_geojson(registry_to_geojson(probe), where="<new>")
    except GeoverifyError:
        return ()  # the write itself says what is wrong
    flagged = tuple(w for w in checked.warnings
                    if w.code in ("W_PROBABLY_SWAPPED", "W_OUTSIDE_AREA"))  # fmt: skip
    swapped = [w for w in flagged if w.code == "W_PROBABLY_SWAPPED"]
    if swapped and not force:
        raise RegistryError(
            swapped[0].message,
            code="E_PROBABLY_SWAPPED",
            hint="Check the order (latitude first), or pass --force to write it anyway.",
        )
    return flagged


def remove_landmark(
    path: str | os.PathLike[str], landmark_id: str, *, lock_wait_s: float = LOCK_WAIT_S
) -> Registry:
    """Remove a landmark by id from the registry file, under a lock."""
    p = real_path(path)

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

    return modify_registry(p, change, lock_wait_s)


def set_area_of_interest(
    path: str | os.PathLike[str],
    box: tuple[float, float, float, float] | None,
    *,
    lock_wait_s: float = LOCK_WAIT_S,
) -> Registry:
    """Set (or with ``None`` remove) the registry's area of interest, (west, south, east, north).

    Landmarks outside it are flagged on every load (``W_OUTSIDE_AREA``), and those whose
    swapped coordinates fall inside it as ``W_PROBABLY_SWAPPED``.
    """
    p = real_path(path)
    if box is not None:
        w, s, e, n = box
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            msg = f"bad area of interest {box!r}"
            raise InputError(
                msg, code="E_INPUT_OPTION", hint="Give west,south,east,north in degrees."
            )
    return modify_registry(
        p, lambda reg: dataclasses.replace(reg, area_of_interest=box), lock_wait_s
    )


def add_reference_image(
    path: str | os.PathLike[str],
    landmark_id: str,
    image: str | os.PathLike[str],
    *,
    note: str = "",
    copy: bool = False,
    lock_wait_s: float = LOCK_WAIT_S,
) -> Registry:
    """Add a reference photograph to a landmark: hashed, its path relative to the registry.

    The image must lie inside the registry's folder; with ``copy`` it is copied into its
    ``images/`` subfolder first (a file of the same name and other content is refused). It is
    decoded first, safely, as matching will (``geoverify._images.read_image``).
    """
    import shutil

    from geoverify._images import read_image

    p = real_path(path)
    src = Path(os.fspath(image))
    _, sha = read_image(src, 60_000_000)  # decoded safely, as matching will read it
    folder = p.parent.resolve()

    def hash_file(f: Path) -> str:
        from geoverify._io import hash_regular_file, limit_error

        return hash_regular_file(f, max_bytes=256 * 2**20, what="image", error=limit_error)

    target = src.resolve()
    if copy:
        target = folder / "images" / src.name
        if target.exists() and hash_file(target) != sha:
            msg = f"{str(target)!r} exists with other content"
            raise OutputError(msg, code="E_OUTPUT_EXISTS", hint="Rename the image first.")
        target.parent.mkdir(exist_ok=True)
        if not target.exists():
            shutil.copyfile(src, target)
    try:
        rel = target.relative_to(folder).as_posix()
    except ValueError:
        msg = f"{str(src)!r} is not inside the registry's folder {str(folder)!r}"
        raise InputError(
            msg,
            code="E_REF_IMAGE_PATH",
            hint="Pass --copy to copy it into the registry's images/ folder.",
        ) from None
    ref = ReferenceImage(path=rel, sha256=sha, note=note)

    def change(reg: Registry) -> Registry:
        lm = reg.get(landmark_id)
        if any(r.path == rel for r in lm.reference_images):
            msg = f"{rel!r} is already a reference image of {lm.id!r}"
            raise RegistryError(msg, code="E_DUPLICATE_ID", hint="Nothing to add.")
        new = dataclasses.replace(lm, reference_images=(*lm.reference_images, ref))
        return dataclasses.replace(
            reg, landmarks=tuple(new if x.id == lm.id else x for x in reg.landmarks)
        )

    return modify_registry(p, change, lock_wait_s)
