"""Editing one landmark in place: ``update_landmark`` and the change list it reports."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from geoverify._output import real_path
from geoverify.errors import InputError, RegistryError
from geoverify.registry._coords import describe_positions
from geoverify.registry._lock import LOCK_WAIT_S
from geoverify.registry._model import (
    FieldChange,
    Landmark,
    LandmarkEdit,
    LandmarkUpdate,
    Registry,
    Source,
)
from geoverify.registry._write import (
    area_warnings,
    modify_registry,
    refuse_unwritable,
    source_properties,
)


def _render(value: Any) -> str:
    """Render a field's value as one line for the analyst (text as JSON, so spaces show)."""
    if value is None:
        return "not stated"
    if isinstance(value, BaseGeometry):
        where = describe_positions(value)  # "lat, lon"
        if len(where) == 1:
            return f"{value.geom_type} {where[0]}"
        count = len(shapely.get_coordinates(value))
        return f"{value.geom_type} of {count} positions from {where[0]}"
    if isinstance(value, float | int):
        return f"{value:g} m"
    if isinstance(value, tuple) and value and isinstance(value[0], Source):
        value = [source_properties(s) for s in value]
    elif isinstance(value, tuple):
        value = list(value)
    elif not isinstance(value, str):
        value = dict(value)
    return json.dumps(value, ensure_ascii=False)


def _edited(lm: Landmark, edit: LandmarkEdit) -> Landmark:
    """Apply ``edit`` to ``lm``: replace what it gives, add aliases, tags and sources."""
    extra = dict(lm.extra_properties)
    if edit.notes is not None:
        extra.pop("notes", None)  # a structured notes object gives way to the new text
    aliases = (*lm.aliases, *(a for a in dict.fromkeys(edit.aliases) if a not in lm.aliases))
    sources = (*lm.sources, *(s for s in dict.fromkeys(edit.sources) if s not in lm.sources))
    return dataclasses.replace(
        lm,
        name=lm.name if edit.name is None else edit.name,
        aliases=aliases,
        tags={**lm.tags, **edit.tags},
        geometry=lm.geometry if edit.geometry is None else edit.geometry,
        original_geometry=lm.original_geometry if edit.geometry is None else None,
        uncertainty_m=lm.uncertainty_m if edit.uncertainty_m is None else edit.uncertainty_m,
        sources=sources,
        notes=lm.notes if edit.notes is None else edit.notes,
        extra_properties=extra,
    )


_EDITED_FIELDS = ("name", "geometry", "uncertainty_m", "aliases", "tags", "sources", "notes")


def update_landmark(
    path: str | os.PathLike[str],
    landmark_id: str,
    edit: LandmarkEdit,
    *,
    force: bool = False,
    lock_wait_s: float = LOCK_WAIT_S,
) -> LandmarkUpdate:
    """Change some fields of a landmark in the registry file, keeping all the others.

    What ``edit`` gives replaces the name, geometry, uncertainty and notes; its aliases,
    sources and tags are added to the landmark's (a tag's new value replaces that key's old
    one). Reference images and what geoverify does not model are kept. The landmark is found
    by its exact id (``E_UNKNOWN_LANDMARK``). Like ``add_landmark``, the result is checked with
    the loading rules first (``E_REGISTRY_WRITE_REFUSED``), under the lock (at most
    ``lock_wait_s`` seconds of waiting, ``E_REGISTRY_LOCKED``); an edit that changes nothing
    writes nothing.

    A new geometry whose swapped coordinates fall inside the registry's area of interest is
    refused (``E_PROBABLY_SWAPPED``) unless ``force``; ``LandmarkUpdate.warnings`` holds the
    area-of-interest warnings of the new geometry.

    Returns
    -------
    LandmarkUpdate
        The registry written, the landmark before and after, and each field changed with its
        old and new value as text.
    """
    p = real_path(path)
    if edit == LandmarkEdit():
        msg = f"nothing to change in landmark {landmark_id!r}"
        raise InputError(
            msg,
            code="E_INPUT_OPTION",
            hint="Give a geometry, a name, aliases, tags, sources, notes or an uncertainty.",
        )
    outcome: list[LandmarkUpdate] = []

    def change(reg: Registry) -> Registry:
        before = next((lm for lm in reg.landmarks if lm.id == landmark_id), None)
        if before is None:
            msg = f"no landmark {landmark_id!r} in {str(p)!r}"
            raise RegistryError(
                msg,
                code="E_UNKNOWN_LANDMARK",
                hint="Give the landmark's exact id (`geoverify registry list`), or add it with "
                "`geoverify registry add`.",
            )
        after = _edited(before, edit)
        changes = tuple(
            FieldChange(
                field=f,
                old=_render(getattr(before, f)),
                new=_render(getattr(after, f)),
            )
            for f in _EDITED_FIELDS
            if not _same(getattr(before, f), getattr(after, f))
        )
        warnings = area_warnings(reg, after, force=force) if edit.geometry is not None else ()
        if not changes:
            outcome.append(LandmarkUpdate(registry=reg, before=before, after=before,
                                          changes=(), warnings=warnings))  # fmt: skip
            return reg
        refuse_unwritable(after)
        updated = dataclasses.replace(
            reg, landmarks=tuple(after if lm is before else lm for lm in reg.landmarks)
        )
        outcome.append(LandmarkUpdate(registry=updated, before=before, after=after,
                                      changes=changes, warnings=warnings))  # fmt: skip
        return updated

    modify_registry(p, change, lock_wait_s)
    return outcome[0]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, BaseGeometry) and isinstance(b, BaseGeometry):
        return bool(a.equals_exact(b, 0.0)) and a.geom_type == b.geom_type
    if isinstance(a, BaseGeometry) or isinstance(b, BaseGeometry):
        return False
    return bool(a == b)
