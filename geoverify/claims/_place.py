"""A place given as text: ``LAT,LON`` in decimal degrees, or a landmark of a registry."""

from __future__ import annotations

import dataclasses
import re

from geoverify.claims._suggest import did_you_mean
from geoverify.errors import InputError
from geoverify.models import LatLon
from geoverify.probing._repr import degrees_text
from geoverify.registry import Landmark, Registry

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_POINT = re.compile(rf"\s*({_NUMBER})\s*[,;\s]\s*({_NUMBER})\s*")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """A point and how it was named: ``position`` (WGS84), ``label`` to echo back."""

    position: LatLon
    label: str
    landmark_id: str | None = None

    @classmethod
    def given(cls, where: LatLon) -> Place:
        """Return the place of coordinates given as such, labelled ``LAT, LON (as given)``."""
        return cls(position=where, label=f"{degrees_text(where.lat, where.lon)} (as given)")


def find_landmark(registry: Registry, key: str) -> Landmark:
    """Return the landmark whose id, name or alias is ``key`` (``Registry.get``).

    Raises
    ------
    InputError
        ``E_UNKNOWN_LANDMARK`` as ``Registry.get``; when nothing matches, the message names the
        closest id ("did you mean 'berliner_dom'?").
    """
    try:
        return registry.get(key)
    except InputError as exc:
        guess = did_you_mean(key, [x.id for x in registry.landmarks])
        if exc.code != "E_UNKNOWN_LANDMARK" or not exc.message.startswith("no "):
            raise
        raise InputError(exc.message + guess, code=exc.code, hint=exc.hint) from None


def resolve_place(text: str, *, registry: Registry | None = None) -> Place:
    """Turn ``LAT,LON`` (decimal degrees, latitude first) or a landmark id or name into a point.

    A landmark's point is its anchor (the point itself, or a point on its surface).

    Raises
    ------
    InputError
        ``E_COORD_RANGE`` for impossible coordinates; ``E_INPUT_OPTION`` for a name without a
        registry; ``E_UNKNOWN_LANDMARK`` for a name the registry does not hold (with the
        closest id it does), or a landmark without a position.
    """
    point = _POINT.fullmatch(text)
    if point is not None:
        return Place.given(LatLon(float(point.group(1)), float(point.group(2))))
    if registry is None:
        msg = f"{text!r} is not LAT,LON in decimal degrees, and no registry names places"
        hint = "Give e.g. 52.5192,13.4011, or a landmark id with --registry REGISTRY."
        raise InputError(msg, code="E_INPUT_OPTION", hint=hint)
    lm = find_landmark(registry, text.strip())
    if lm.anchor is None:
        msg = f"landmark {lm.id!r} has no position in registry {registry.name!r}"
        hint = "Give LAT,LON instead, or add the landmark's geometry."
        raise InputError(msg, code="E_UNKNOWN_LANDMARK", hint=hint)
    p = lm.anchor
    label = f"{lm.name} ({lm.id}), {degrees_text(p.lat, p.lon)} (registry {registry.name})"
    return Place(position=p, label=label, landmark_id=lm.id)
