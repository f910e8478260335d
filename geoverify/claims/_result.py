"""What a claim check measured: one ``Quantity`` per measured value, each with its own unit.

A claim can assert more than one thing: "about 1 km west of the square" is a distance (metres)
and a bearing (degrees); "just under 500 m east of the river" is a distance from the line and a
side of it. Each is a ``Quantity``: the measured value, the range the landmarks' position
uncertainty allows, the claimed range and the margin, all in the quantity's one ``unit``. A
margin is always the margin of the quantity it belongs to, so it is never in another unit than
the value it is compared with.

``ClaimCheck`` is the ``CheckResult`` of a claim: its ``measured``, ``margin``, ``tolerance`` and
``unit`` are those of its headline quantity (the first of ``quantities``), and ``quantities``
lists every quantity of the least favourable choice of landmarks. ``ClaimCandidate`` is the same
for one choice of landmarks.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Final, Literal, cast

from geoverify.models import CandidateCheck, CheckResult, Verdict

__all__ = [
    "UNITS",
    "ClaimCandidate",
    "ClaimCheck",
    "Quantity",
    "Unit",
    "describe_quantity",
    "format_value",
    "quantities_of",
]

Unit = Literal["m", "deg", "ratio"]
# every unit a check result carries: metres, degrees (bearings and azimuths, clockwise from true
# north) and a dimensionless ratio (a shadow's length over the height that casts it)
UNITS: Final[tuple[Unit, ...]] = ("m", "deg", "ratio")
_DECIMALS: Final[dict[str, int]] = {"m": 1, "deg": 1, "ratio": 3}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Quantity:
    """One measured quantity of a check, with its claimed range and margin, in one unit.

    Attributes
    ----------
    name
        Stable name: ``distance``, ``bearing``, ``distance_from_line``, ``bearing_from_line``,
        ``distance_inside_area``, ``distance_to_target``, ``shadow_azimuth``,
        ``shadow_length_ratio``.
    label
        The quantity in words, e.g. ``distance from the reference``.
    unit
        ``m``, ``deg`` or ``ratio``: the unit of ``measured``, ``possible_min``,
        ``possible_max``, ``claimed_min``, ``claimed_max`` and ``margin`` alike.
    measured
        The measured value, or ``None`` when it could not be measured.
    possible_min, possible_max
        The range the true value may take given the landmarks' position uncertainty.
    claimed_min, claimed_max
        The claimed range (inclusive); ``None`` for an open end, or for both when the claim
        says nothing about this quantity (then ``margin`` and ``verdict`` are ``None``). For
        bearings (``deg``) the sector runs clockwise from ``claimed_min`` to ``claimed_max``,
        which may lie outside [0, 360): a bearing b is inside when b + 360 k is, for some
        integer k.
    claimed
        The claimed range in words, with its unit.
    margin
        Signed distance from the measured value to the nearest bound of the claimed range:
        positive inside, negative outside, in ``unit``. Decided at the resolution of the
        measurement (1 mm, 1e-6 degree).
    verdict
        The verdict on this quantity alone (``None``: not claimed, only measured).
    """

    name: str
    label: str
    unit: Unit
    measured: float | None
    possible_min: float | None = None
    possible_max: float | None = None
    claimed_min: float | None = None
    claimed_max: float | None = None
    claimed: str = ""
    margin: float | None = None
    verdict: Verdict | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClaimCandidate(CandidateCheck):
    """A claim evaluated for one choice of landmarks, with every quantity it measured.

    ``measured``, ``possible_min``, ``possible_max`` and ``margin`` are those of the headline
    quantity, in ``unit``; ``quantities`` holds all of them (empty when nothing was measured).
    """

    unit: Unit
    quantities: tuple[Quantity, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClaimCheck(CheckResult):
    """The result of one claim, with every quantity measured for its headline choice.

    ``measured``, ``margin``, ``tolerance`` and ``unit`` are those of the headline quantity;
    ``quantities`` lists every quantity of the least favourable choice of landmarks, each in its
    own unit (empty when nothing could be measured).
    """

    quantities: tuple[Quantity, ...] = ()


def quantities_of(result: CheckResult) -> tuple[Quantity, ...]:
    """Return the quantities of any check result.

    A ``ClaimCheck`` lists its own; any other ``CheckResult`` (``geoverify.sun.check_shadow``)
    has one, in its ``unit``, described by its ``expected`` text.
    """
    if isinstance(result, ClaimCheck):
        return result.quantities
    if result.measured is None and result.margin is None:
        return ()
    return (
        Quantity(
            name=result.kind,
            label=result.kind,
            unit=cast("Unit", result.unit),
            measured=result.measured,
            claimed=result.expected,
            margin=result.margin,
            verdict=result.verdict,
        ),
    )


def format_value(value: float | None, unit: str, *, signed: bool = False) -> str:
    """Return ``value`` with its unit (``470.0 m``, ``+90.0 deg``, ``0.834 ratio``), or ``-``."""
    if value is None or not math.isfinite(value):
        return "-"
    digits = _DECIMALS.get(unit, 1)
    return f"{value:{'+' if signed else ''}.{digits}f} {unit}"


def describe_quantity(quantity: Quantity, *, escape: Callable[[str], str] = str) -> str:
    """Say one quantity in words, every number with its unit.

    ``distance from the line: measured 470.0 m; claimed [400, 500] m (...); margin +70.0 m``;
    a quantity that is measured but not claimed is ``label: measured 125.3 m``. ``escape`` is
    applied to the claimed range in words (it may quote names from the claims file), so that a
    long or hostile name can be cut or escaped without losing the margin.
    """
    q = quantity
    value = format_value(q.measured, q.unit)
    measured = "not measured" if q.measured is None else f"measured {value}"
    claimed_nothing = q.claimed_min is None and q.claimed_max is None and q.verdict is None
    if claimed_nothing and q.margin is None:
        return f"{q.label}: {measured}"
    margin = format_value(q.margin, q.unit, signed=True)
    return f"{q.label}: {measured}; claimed {escape(q.claimed)}; margin {margin}"
