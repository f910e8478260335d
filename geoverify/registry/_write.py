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
from geoverify.errors import RegistryError
from geoverify.registry._model import (
    REGISTRY_FORMAT,
    Landmark,
    Registry,
)
from geoverify.registry._read import load_registry

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
