"""Writing a registry: GeoJSON out, locked atomic edits."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import (
    mapping,
)

from geoverify._io import write_atomic
from geoverify.errors import GeoverifyError, InputError, OutputError, RegistryError
from geoverify.registry._model import (
    REGISTRY_FORMAT,
    Landmark,
    ReferenceImage,
    Registry,
)
from geoverify.registry._read import (
    AREA_MEMBER,
    parse_registry_document,
    read_registry_bytes,
    registry_from_geojson,
    structured_notes,
)

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
    structured = lm.extra_properties.get("notes")
    for key, value in lm.extra_properties.items():
        if key != "notes":
            props.setdefault(key, value)
    if structured is not None and lm.notes == structured_notes(structured):
        props["notes"] = structured  # unchanged since it was read: the object as it was
    elif lm.notes:
        props["notes"] = lm.notes
    geometry = None
    if lm.geometry is not None:
        geometry = _listify(mapping(lm.geometry))
    feature: dict[str, Any] = {"type": "Feature", "id": lm.id}
    for key, value in lm.foreign_members.items():
        feature.setdefault(key, value)
    feature["geometry"] = geometry
    feature["properties"] = props
    return feature


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


def _real(path: str | os.PathLike[str]) -> Path:
    """Return the file a path names, through symbolic links: edits go to the link's target."""
    return Path(os.path.realpath(os.fspath(path)))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``'s sidecar ``.lock`` (one per real file)."""
    lock = path.with_name(path.name + ".lock")
    try:
        fh = open(lock, "a+b")  # noqa: SIM115  (closed below)
    except OSError as exc:
        msg = f"cannot lock {str(path)!r}: {exc.strerror}"
        raise OutputError(
            msg, code="E_OUTPUT_WRITE", hint="The registry's folder must be writable."
        ) from None
    with fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def save_registry(registry: Registry, path: str | os.PathLike[str]) -> None:
    """Write the registry as GeoJSON, atomically (temporary file, then rename), under a lock.

    The document is validated with the rules of ``load_registry`` before it is written: a
    registry that could not be loaded again is refused (``E_REGISTRY_WRITE_REFUSED``) and the
    file on disk is left as it was. A symbolic link is followed (its target is written), and an
    existing file keeps its permissions.
    """
    p = _real(path)
    data = _encode_checked(registry_to_geojson(registry), p)
    with _locked(p):
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


def _modify(path: Path, change: Callable[[Registry], Registry]) -> Registry:
    """Edit the registry file under its lock: features not edited are written back as read."""
    with _locked(path):
        doc, current = _read_current(path)
        updated = change(current)
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


def add_landmark(
    path: str | os.PathLike[str], landmark: Landmark, *, replace: bool = False
) -> Registry:
    """Add (or with ``replace`` overwrite) a landmark in the registry file, under a lock."""
    return add_landmarks(path, [landmark], replace=replace)


def add_landmarks(
    path: str | os.PathLike[str], landmarks: Sequence[Landmark], *, replace: bool = False
) -> Registry:
    """Add several landmarks at once (one lock, one atomic write); see ``add_landmark``.

    Each landmark is checked with the loading rules first; any that would not load again is
    refused (``E_REGISTRY_WRITE_REFUSED``, exit 4) and nothing is written. With ``replace``, a
    landmark that replaces one of the same id keeps what geoverify does not model of the old
    one (unknown properties, foreign members).
    """
    p = _real(path)
    new_ids = [lm.id for lm in landmarks]
    if len(set(new_ids)) != len(new_ids):
        msg = "the landmarks to add repeat an id"
        raise RegistryError(msg, code="E_DUPLICATE_ID", hint="Give every landmark its own id.")
    for lm in landmarks:
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

    def change(reg: Registry) -> Registry:
        incoming = set(new_ids)
        old = {lm.id: lm for lm in reg.landmarks if lm.id in incoming}
        if old and not replace:
            clash = sorted(old)
            msg = f"landmark id {clash[0]!r} already exists in {str(p)!r}"
            raise RegistryError(
                msg,
                code="E_DUPLICATE_ID",
                hint="Choose another id, or replace it explicitly.",
            )
        added = []
        for lm in landmarks:
            before = old.get(lm.id)
            if before is not None:
                lm = dataclasses.replace(
                    lm,
                    extra_properties={**before.extra_properties, **lm.extra_properties},
                    foreign_members={**before.foreign_members, **lm.foreign_members},
                )
            added.append(lm)
        kept = tuple(lm for lm in reg.landmarks if lm.id not in incoming)
        return dataclasses.replace(reg, landmarks=(*kept, *added))

    return _modify(p, change)


def remove_landmark(path: str | os.PathLike[str], landmark_id: str) -> Registry:
    """Remove a landmark by id from the registry file, under a lock."""
    p = _real(path)

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


def set_area_of_interest(
    path: str | os.PathLike[str], box: tuple[float, float, float, float] | None
) -> Registry:
    """Set (or with ``None`` remove) the registry's area of interest, (west, south, east, north).

    Landmarks outside it are flagged on every load (``W_OUTSIDE_AREA``), and those whose
    swapped coordinates fall inside it as ``W_PROBABLY_SWAPPED``.
    """
    p = _real(path)
    if box is not None:
        w, s, e, n = box
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            msg = f"bad area of interest {box!r}"
            raise InputError(
                msg, code="E_INPUT_OPTION", hint="Give west,south,east,north in degrees."
            )
    return _modify(p, lambda reg: dataclasses.replace(reg, area_of_interest=box))


def add_reference_image(
    path: str | os.PathLike[str],
    landmark_id: str,
    image: str | os.PathLike[str],
    *,
    note: str = "",
    copy: bool = False,
) -> Registry:
    """Add a reference photograph to a landmark: hashed, its path relative to the registry.

    The image must lie inside the registry's folder; with ``copy`` it is copied into its
    ``images/`` subfolder first (a file of the same name and other content is refused). It is
    decoded first, safely, as matching will (``geoverify._images.read_image``).
    """
    import shutil

    from geoverify._images import read_image

    p = _real(path)
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

    return _modify(p, change)
