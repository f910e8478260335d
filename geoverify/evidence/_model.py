"""The lines' model: outcomes, a line of evidence, the camera's positions, shared helpers."""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from geoverify.geodesy import distance_m
from geoverify.models import LatLon

if TYPE_CHECKING:
    from geoverify.claims import ClaimSet, Hypothesis
    from geoverify.probing import MediaInfo
    from geoverify.registry import Landmark, Registry

# the ``source`` of a camera position resected from marked points (``geoverify.resection``)
RESECTION = "resection (geoverify locate)"
_MAX_FIXES = 200  # positions of a long track checked one by one (sampled evenly beyond)


class Outcome(enum.StrEnum):
    """What one line of evidence says about the hypothesis."""

    SUPPORTS = "supports"
    CONTRADICTS = "contradicts"
    NO_EVIDENCE = "no_evidence"
    NOT_TESTED = "not_tested"


class BottomVerdict(enum.StrEnum):
    """The answer to the editor's question."""

    SUPPORTED = "supported"
    CONTRADICTED = "contradicted"
    CONFLICTING = "conflicting"
    NOT_ESTABLISHED = "not_established"


LineName = Literal[
    "location", "time", "visual", "description", "sun", "specificity", "provenance", "text"
]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CameraPosition:
    """One position the file claims for its camera: a location tag or a GPS fix.

    A camera whose view is known (a resected one) also carries ``heading_deg`` (true north),
    ``heading_uncertainty_deg`` (the spread it states, degrees) and ``hfov_deg`` (its
    horizontal field of view), for the location line's facing check (``facing_checks``).
    """

    label: str
    position: LatLon
    accuracy_m: float | None
    time_utc: datetime | None
    source: str
    heading_deg: float | None = None
    heading_uncertainty_deg: float | None = None
    hfov_deg: float | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceLine:
    """One line of evidence: its outcome, the numbers behind it and one sentence.

    ``strength`` is ``strong`` or ``weak`` for ``supports`` and ``contradicts``, else ``None``;
    ``would_decide`` lists what would settle a line that cannot decide.
    """

    line: LineName
    outcome: Outcome
    summary: str
    strength: Literal["strong", "weak"] | None = None
    numbers: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    would_decide: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


# --- what the file claims ------------------------------------------------------------------


def camera_positions(
    media: MediaInfo, *, max_fixes: int = _MAX_FIXES
) -> tuple[CameraPosition, ...]:
    """Every position the file claims for its camera (location tags, then GPS fixes).

    A track longer than ``max_fixes`` is sampled evenly (first and last fix included).
    """
    out = []
    for loc in media.locations:
        if loc.position is not None:
            out.append(
                CameraPosition(
                    label=f"camera ({loc.source})",
                    position=loc.position,
                    accuracy_m=loc.accuracy_m,
                    time_utc=None,
                    source=loc.source,
                )
            )
    track = media.gps_track
    if track is not None and track.fixes:
        fixes = list(track.fixes)
        if len(fixes) > max_fixes:
            step = (len(fixes) - 1) / (max_fixes - 1)
            fixes = [fixes[round(i * step)] for i in range(max_fixes)]
        for fix in fixes:
            out.append(
                CameraPosition(
                    label=f"GPS fix at {fix.payload_t_s:.1f} s",
                    position=LatLon(fix.lat, fix.lon),
                    accuracy_m=None,  # GPMF gives a DOP, not metres: not converted
                    time_utc=fix.time_utc,
                    source=track.source,
                )
            )
    return tuple(out)


def codes_of(media: MediaInfo | None) -> set[str]:
    return {n.code for n in media.notes} if media is not None else set()


def fmt_m(value: float) -> str:
    return f"{value / 1000:,.1f} km" if value >= 10_000 else f"{value:,.0f} m"


def claimed_targets(
    hyp: Hypothesis, registry: Registry, claims: ClaimSet
) -> tuple[list[tuple[str, Landmark | LatLon]], list[str]]:
    """Find the places ``filmed_at`` names, and the candidates that have no position."""
    if hyp.filmed_at_point is not None:
        return [("the claimed point", hyp.filmed_at_point)], []
    found: list[tuple[str, Landmark | LatLon]] = []
    missing = []
    for lm in resolve_role(registry, claims, hyp.filmed_at or ""):
        if lm.geometry is None:
            missing.append(lm.id)
        else:
            found.append((lm.id, lm))
    return found, missing


def resolve_role(registry: Registry, claims: ClaimSet, name: str) -> list[Landmark]:
    return [registry.get(i) for i in claims.candidates(name)]


def distance_to(pos: LatLon, target: Landmark | LatLon) -> tuple[float, float | None]:
    """Geodesic metres from ``pos`` to a point or a landmark, and the target's uncertainty."""
    if isinstance(target, LatLon):
        return distance_m(pos, target), None
    from geoverify.registry import geodesic_distance_m

    d = geodesic_distance_m(pos, target)
    return (d if d is not None else math.inf), target.uncertainty_m


def iso(t: datetime | None) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if t is not None else "open"
