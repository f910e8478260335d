"""Stage 5, claims: published statements about places turned into geodesic checks.

Input: a claims file (YAML) that an analyst writes from a published text, and a registry.
Output: one ``CheckResult`` per claim, with the measured value, the claimed range, the margin,
a verdict (consistent / inconsistent / inconclusive), the method and the caveats.

Claim kinds
-----------
``distance``      distance between two landmarks ("about 2 km from the city centre")
``direction``     bearing from a reference to the subject in a compass sector ("east of")
``side_of_line``  which side of a line and how far ("just under 500 m east of the river")
``within``        the subject lies inside an area
``nearest``       the nearest landmark of a kind to the subject is a given one
``shadow``        a shadow measured in the footage fits the sun at the claimed place and time

A role (``monument``, ``city_centre``) names one or several candidate landmarks. Every choice
is evaluated; when the verdicts differ the claim is inconclusive and the notes say which
definition decides it.

Verbal qualifiers map to explicit intervals (``QUALIFIERS``), always printed with the result so
a reader can disagree:

================================================  ==================
qualifier                                         interval for value v
================================================  ==================
exactly                                           [0.97 v, 1.03 v]
about, approximately, around, roughly, some       [0.8 v, 1.2 v]
just under, nearly, almost                        [0.8 v, v]
just over, a little over, a little more than      [v, 1.2 v]
under, less than, at most, within, up to          [0, v]
over, more than, at least                         [v, infinity)
================================================  ==================

``range_m: [a, b]`` gives an interval directly ("between 1 and 2 km").

Compass words are sectors centred on their bearing: the four cardinal words span +-45 degrees,
the four intercardinal words +-22.5 degrees; ``side_of_line`` asks only that the direction from
the line towards the subject has a component that way (+-90 degrees). Position uncertainty
(``uncertainty_m`` of each landmark) widens the measured value into a possible range; a range
that straddles a bound of the claim gives ``inconclusive``. Bounds are inclusive and values are
compared at the resolution of the measurement (1 mm, 1e-6 degree), so a value exactly on a bound
is consistent, every time.

Every measured value carries its own unit: a check returns a ``ClaimCheck`` whose
``quantities`` list what was measured (a distance in metres, a bearing in degrees, a shadow's
length ratio), each with its claimed range and its margin in the same unit. "About 1 km west of
the square" measures a distance and a bearing; "west of the river" a bearing from the line (the
distance from the line is shown, not claimed).

In a claims_version 2 file, ``camera`` as a subject or reference means the footage's own
positions. ``check_claims``, ``rank_candidates`` and ``check_names`` resolve names the same way,
so ``geoverify claims validate`` refuses exactly what ``check`` and ``verify`` would refuse.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon

from geoverify.claims._file import (
    CAMERA,
    COMPASS,
    QUALIFIERS,
    Claim,
    ClaimSet,
    Hypothesis,
    Role,
    claims_from_data,
    load_claims,
)
from geoverify.claims._result import (
    UNITS,
    ClaimCandidate,
    ClaimCheck,
    Quantity,
    Unit,
    describe_quantity,
    format_value,
    quantities_of,
)
from geoverify.errors import InputError, RegistryError
from geoverify.geodesy import angle_difference_deg, bearing_deg, distance_m, offset_from_line
from geoverify.models import CandidateCheck, CheckResult, LatLon, Verdict
from geoverify.registry import Landmark, Registry, geodesic_distance_m
from geoverify.sun import ShadowMeasurement, check_shadow, sun_position

__all__ = [
    "CAMERA",
    "COMPASS",
    "QUALIFIERS",
    "UNITS",
    "CameraFix",
    "CandidateRank",
    "Claim",
    "ClaimCandidate",
    "ClaimCheck",
    "ClaimSet",
    "Hypothesis",
    "Quantity",
    "Unit",
    "check_claim",
    "check_claims",
    "check_names",
    "claims_from_data",
    "describe_quantity",
    "format_value",
    "load_claims",
    "quantities_of",
    "rank_candidates",
    "uses_camera",
]


# --- checking ------------------------------------------------------------------------------------


def _role(claims: ClaimSet, name: str) -> Role:
    return claims.roles.get(name) or Role(name=name, candidates=claims.candidates(name))


def _resolve(registry: Registry, claims: ClaimSet, name: str) -> list[Landmark]:
    role = _role(claims, name)
    out = []
    for c in role.candidates:
        try:
            out.append(registry.get(c))
        except InputError as exc:  # the claims file names what the registry does not have
            msg = f"the claims file names {c!r}: {exc.message}"
            raise RegistryError(
                msg,
                code="E_CLAIMS_UNKNOWN_LANDMARK",
                hint=exc.hint,
            ) from None
    return out


def _unknown_names(registry: Registry, claims: ClaimSet) -> list[str]:
    """Every landmark the claims name (directly or through a role) that the registry lacks."""
    problems = []
    named = [(c.id, part, name) for c in claims.claims for part, name in (
        ("subject", c.subject), ("reference", c.reference))]  # fmt: skip
    if claims.footage is not None:
        named += [
            ("footage", "shows", claims.footage.shows or ""),
            ("footage", "filmed_at", claims.footage.filmed_at or ""),
        ]
    for claim_id, part, name in named:
        if not name or (name == CAMERA and claims.version >= 2):
            continue
        for candidate in _role(claims, name).candidates:
            try:
                registry.get(candidate)
            except InputError as exc:
                via = f" (role {name!r})" if candidate != name else ""
                problems.append(f"claim {claim_id!r}, {part}{via}: {exc.message}")
    return list(dict.fromkeys(problems))


# Decisions are taken at the resolution of the measurement (1 mm, 1e-6 degree): geodesics are
# exact to nanometres, so a point built 500 m away must not fail "at most 500 m" by 1e-10 m.
_RES_M = 1e-3
_RES_DEG = 1e-6


def _q(value: float, res: float) -> float:
    return round(value / res) * res if math.isfinite(value) else value


def _interval_verdict(
    measured: float, u: float, lo: float, hi: float
) -> tuple[Verdict, float, float, float, str]:
    measured = _q(measured, _RES_M)
    pmin, pmax = _q(max(0.0, measured - u), _RES_M), _q(measured + u, _RES_M)
    margin = min(measured - lo, hi - measured)
    if lo <= pmin and pmax <= hi:
        return Verdict.CONSISTENT, pmin, pmax, margin, "inside the claimed range"
    if pmax < lo or pmin > hi:
        return Verdict.INCONSISTENT, pmin, pmax, margin, "outside the claimed range"
    return (
        Verdict.INCONCLUSIVE,
        pmin,
        pmax,
        margin,
        f"the possible values [{pmin:.0f}, {pmax:.0f}] m straddle a bound of the claimed range",
    )


def _sector_verdict(
    bearing: float, spread: float, centre: float, half: float
) -> tuple[Verdict, float, str]:
    off = _q(abs(angle_difference_deg(centre, bearing)), _RES_DEG)
    spread = _q(spread, _RES_DEG)
    margin = half - off
    if off + spread <= half:
        return Verdict.CONSISTENT, margin, "inside the claimed sector"
    if off - spread > half:
        return Verdict.INCONSISTENT, margin, "outside the claimed sector"
    return Verdict.INCONCLUSIVE, margin, f"within {spread:.1f} deg of the sector's edge"


def _interval_text(claim: Claim) -> str:
    lo, hi = claim.interval_m or (0.0, math.inf)
    hi_text = "inf" if math.isinf(hi) else f"{hi:.0f}"
    return f"[{lo:.0f}, {hi_text}] m ({claim.interval_rule})"


def _sector_text(claim: Claim) -> str:
    c, h = claim.sector or (0.0, 180.0)
    return f"{claim.direction}: bearing {c - h:g} to {c + h:g} deg"


def _interval_quantity(
    name: str, label: str, measured: float, u: float, claim: Claim
) -> tuple[Quantity, str]:
    """Measure a distance against the claim's interval (metres): the quantity and why."""
    lo, hi = claim.interval_m or (0.0, math.inf)
    verdict, pmin, pmax, margin, why = _interval_verdict(measured, u, lo, hi)
    quantity = Quantity(
        name=name,
        label=label,
        unit="m",
        measured=measured,
        possible_min=pmin,
        possible_max=pmax,
        claimed_min=lo,
        claimed_max=None if math.isinf(hi) else hi,
        claimed=_interval_text(claim),
        margin=margin,
        verdict=verdict,
    )
    return quantity, why


def _bearing_spread_deg(uncertainty_m: float, distance_m: float) -> float:
    """How far a bearing can swing when either end may be ``uncertainty_m`` from its place.

    The largest angle a point within ``uncertainty_m`` of the target subtends at ``distance_m``
    is asin(u / d); when the uncertainty reaches the distance, the bearing can be anything
    (180 deg either way): the side of a line, or a direction, cannot then be told.
    """
    if uncertainty_m <= 0:
        return 0.0
    if uncertainty_m >= distance_m:
        return 180.0
    return math.degrees(math.asin(uncertainty_m / distance_m))


def _sector_quantity(
    name: str, label: str, bearing: float | None, spread: float, claim: Claim
) -> tuple[Quantity, str]:
    """Measure a bearing against the claim's compass sector (degrees): the quantity and why."""
    centre, half = claim.sector or (0.0, 180.0)
    claimed = Quantity(
        name=name,
        label=label,
        unit="deg",
        measured=bearing,
        claimed_min=centre - half,
        claimed_max=centre + half,
        claimed=_sector_text(claim),
    )
    if bearing is None:
        why = "the two positions coincide: there is no direction"
        return dataclasses.replace(claimed, verdict=Verdict.INCONCLUSIVE), why
    verdict, margin, why = _sector_verdict(bearing, spread, centre, half)
    quantity = dataclasses.replace(
        claimed,
        possible_min=bearing - spread,
        possible_max=bearing + spread,
        margin=margin,
        verdict=verdict,
    )
    return quantity, why


def _unc(lm: Landmark, notes: list[str]) -> float:
    if lm.uncertainty_m is None:
        notes.append(f"position uncertainty of {lm.id!r} is not stated: treated as exact")
        return 0.0
    return lm.uncertainty_m


def _no_geometry(lm: Landmark) -> str:
    return f"{lm.id!r} has no sourced position in the registry"


def _lines(lm: Landmark) -> list[list[LatLon]]:
    geom = lm.geometry
    if isinstance(geom, LineString):
        parts = [geom]
    elif isinstance(geom, MultiLineString):
        parts = list(geom.geoms)
    else:
        return []
    return [[LatLon(y, x) for x, y, *_ in part.coords] for part in parts]


def _headline_unit(claim: Claim) -> Unit:
    """Return the unit of a claim's headline quantity: the same for every choice of landmarks."""
    if claim.kind == "direction":
        return "deg"
    if claim.kind == "side_of_line":
        return "m" if claim.interval_m is not None else "deg"
    if claim.kind == "shadow":
        no_azimuth = claim.shadow is not None and claim.shadow.azimuth_deg is None
        return "ratio" if no_azimuth else "deg"
    return "m"


def _unknown(pair: Mapping[str, str], reason: str, unit: Unit) -> ClaimCandidate:
    return ClaimCandidate(
        landmarks=pair,
        measured=None,
        possible_min=None,
        possible_max=None,
        margin=None,
        verdict=Verdict.INCONCLUSIVE,
        reason=reason,
        unit=unit,
    )


_ORDER = [Verdict.INCONSISTENT, Verdict.INCONCLUSIVE, Verdict.CONSISTENT]


def _candidate(
    pair: Mapping[str, str],
    quantities: Sequence[Quantity],
    reason: str,
    verdict: Verdict | None = None,
) -> ClaimCandidate:
    """One choice of landmarks: the headline is the first quantity; the verdict the worst."""
    head = quantities[0]
    if verdict is None:
        verdict = min(
            (q.verdict for q in quantities if q.verdict is not None),
            key=_ORDER.index,
            default=Verdict.INCONCLUSIVE,
        )
    return ClaimCandidate(
        landmarks=pair,
        measured=head.measured,
        possible_min=head.possible_min,
        possible_max=head.possible_max,
        margin=head.margin,
        verdict=verdict,
        reason=reason,
        unit=head.unit,
        quantities=tuple(quantities),
    )


def _evaluate(
    claim: Claim, subject: Landmark, ref: Landmark, registry: Registry, notes: list[str]
) -> ClaimCandidate:
    pair = {"subject": subject.id, "reference": ref.id}
    s_pos = subject.anchor
    if s_pos is None:
        return _unknown(pair, _no_geometry(subject), _headline_unit(claim))
    if not isinstance(subject.geometry, Point):
        notes.append(f"{subject.id!r} is not a point: its representative point is used")
    if claim.kind == "nearest":
        return _evaluate_nearest(claim, subject, s_pos, ref, registry, notes, pair)
    if ref.geometry is None:
        return _unknown(pair, _no_geometry(ref), _headline_unit(claim))
    u = _unc(subject, notes) + _unc(ref, notes)
    check = {
        "distance": _check_distance,
        "direction": _check_direction,
        "within": _check_within,
        "side_of_line": _check_side,
    }[claim.kind]
    return check(claim, s_pos, ref, u, pair)


def _bearing_quantity(claim: Claim, s_pos: LatLon, ref: Landmark, u: float) -> tuple[Quantity, str]:
    """Measure the bearing from the reference point to the subject against the claimed sector."""
    r_pos = ref.anchor
    b = bearing_deg(r_pos, s_pos) if r_pos is not None else None
    spread = 0.0
    if b is not None and r_pos is not None and u:
        spread = _bearing_spread_deg(u, distance_m(r_pos, s_pos))
    return _sector_quantity("bearing", "bearing from the reference", b, spread, claim)


def _check_distance(
    claim: Claim, s_pos: LatLon, ref: Landmark, u: float, pair: Mapping[str, str]
) -> ClaimCandidate:
    d = geodesic_distance_m(s_pos, ref)
    if d is None:  # pragma: no cover - geometry checked by the caller
        return _unknown(pair, _no_geometry(ref), "m")
    distance, why = _interval_quantity("distance", "distance from the reference", d, u, claim)
    quantities = [distance]
    if claim.sector is not None:  # "about 1 km west of the square": the direction too
        bearing, direction_why = _bearing_quantity(claim, s_pos, ref, u)
        quantities.append(bearing)
        why = f"distance: {why}; direction: {direction_why}"
        if bearing.measured is not None:
            why += f" (bearing from the reference {bearing.measured:.1f} deg)"
    return _candidate(pair, quantities, why)


def _check_direction(
    claim: Claim, s_pos: LatLon, ref: Landmark, u: float, pair: Mapping[str, str]
) -> ClaimCandidate:
    bearing, why = _bearing_quantity(claim, s_pos, ref, u)
    return _candidate(pair, [bearing], why)


def _check_within(
    claim: Claim, s_pos: LatLon, ref: Landmark, u: float, pair: Mapping[str, str]
) -> ClaimCandidate:
    geom = ref.geometry
    if not isinstance(geom, Polygon | MultiPolygon):
        return _unknown(pair, f"{ref.id!r} is not an area", "m")
    inside = geom.covers(Point(s_pos.lon, s_pos.lat))
    edge = min(offset_from_line(s_pos, line).distance_m for line in _rings(geom))
    margin = _q(edge if inside else -edge, _RES_M)
    if abs(margin) <= u:
        verdict = Verdict.INCONCLUSIVE
        why = f"{abs(margin):.0f} m from the edge, within the position uncertainty"
    elif inside:
        verdict, why = Verdict.CONSISTENT, "inside the area"
    else:
        verdict, why = Verdict.INCONSISTENT, "outside the area"
    quantity = Quantity(
        name="distance_inside_area",
        label="distance inside the area's edge (negative: outside)",
        unit="m",
        measured=margin,
        possible_min=margin - u,
        possible_max=margin + u,
        claimed_min=0.0,
        claimed=f"inside {claim.reference}: at least 0 m inside its edge",
        margin=margin,
        verdict=verdict,
    )
    return _candidate(pair, [quantity], why)


def _check_side(
    claim: Claim, s_pos: LatLon, ref: Landmark, u: float, pair: Mapping[str, str]
) -> ClaimCandidate:
    unit = _headline_unit(claim)
    lines = _lines(ref)
    if not lines:
        return _unknown(
            pair,
            f"{ref.id!r} is not a line (no course is known), so no side can be measured",
            unit,
        )
    best = min((offset_from_line(s_pos, line) for line in lines), key=lambda o: o.distance_m)
    if best.side == "beyond_end":
        return _unknown(
            pair, f"the subject lies beyond the end of the mapped line {ref.id!r}", unit
        )
    if best.bearing_from_line_deg is None:
        return _unknown(pair, "the subject lies on the line", unit)
    spread = _bearing_spread_deg(u, best.distance_m) if u else 0.0
    side, side_why = _sector_quantity(
        "bearing_from_line", "bearing from the line to the subject",
        best.bearing_from_line_deg, spread, claim,
    )  # fmt: skip
    why = f"side: {side_why} (from the line towards {best.bearing_from_line_deg:.1f} deg)"
    label = "distance from the line"
    if claim.interval_m is None:  # measured, not claimed: shown, never decides
        distance = Quantity(
            name="distance_from_line",
            label=f"{label} (not claimed)",
            unit="m",
            measured=best.distance_m,
            possible_min=max(0.0, best.distance_m - u),
            possible_max=best.distance_m + u,
            claimed="not claimed",
        )
        return _candidate(pair, [side, distance], why)
    distance, dist_why = _interval_quantity("distance_from_line", label, best.distance_m, u, claim)
    why += f"; distance {best.distance_m:.0f} m: {dist_why}"
    return _candidate(pair, [distance, side], why)


def _rings(geom: Polygon | MultiPolygon) -> list[list[LatLon]]:
    polys = [geom] if isinstance(geom, Polygon) else list(geom.geoms)
    rings = [r for p in polys for r in (p.exterior, *p.interiors)]
    return [[LatLon(y, x) for x, y, *_ in r.coords] for r in rings]


def _evaluate_nearest(
    claim: Claim,
    subject: Landmark,
    s_pos: LatLon,
    target: Landmark,
    registry: Registry,
    notes: list[str],
    pair: dict[str, str],
) -> ClaimCandidate:
    """Check that the target is the nearest landmark of the kind.

    Measured: the distance to the target; claimed: at most the distance to the nearest other
    landmark of the kind; the margin is the gap between the two (metres).
    """
    ranked = [
        (lm, d) for lm, d in registry.nearest(s_pos, tags=claim.of_kind, k=3) if lm.id != subject.id
    ]
    if not ranked:
        return _unknown(pair, "no landmark of that kind has a position", "m")
    first, d1 = ranked[0]
    u = _unc(subject, notes) + max((_unc(lm, notes) for lm, _ in ranked[:2]), default=0.0)
    label = "distance to the target"
    if first.id == target.id:
        other = ranked[1] if len(ranked) > 1 else None
        gap = other[1] - d1 if other is not None else math.inf
        verdict = Verdict.CONSISTENT if gap > 2 * u else Verdict.INCONCLUSIVE
        reason = f"{target.id!r} is the nearest ({d1:.0f} m)" + (
            ""
            if verdict is Verdict.CONSISTENT
            else ", but the runner-up is within the position uncertainty"
        )
        quantity = Quantity(
            name="distance_to_target",
            label=label,
            unit="m",
            measured=d1,
            claimed_max=other[1] if other is not None else None,
            claimed=f"no farther than the nearest other landmark of the kind ({other[0].id!r}, "
            f"{other[1]:.1f} m)"
            if other is not None
            else "no farther than any other landmark of the kind (there is none)",
            margin=gap if math.isfinite(gap) else None,
            verdict=verdict,
        )
        return _candidate(pair, [quantity], reason, verdict)
    d_target = geodesic_distance_m(s_pos, target)
    if d_target is None:
        return _unknown(pair, _no_geometry(target), "m")
    gap = d1 - d_target
    verdict = Verdict.INCONSISTENT if -gap > 2 * u else Verdict.INCONCLUSIVE
    quantity = Quantity(
        name="distance_to_target",
        label=label,
        unit="m",
        measured=d_target,
        claimed_max=d1,
        claimed=f"no farther than the nearest other landmark of the kind ({first.id!r}, "
        f"{d1:.1f} m)",
        margin=gap,
        verdict=verdict,
    )
    reason = f"{first.id!r} is nearer ({d1:.0f} m vs {d_target:.0f} m)"
    return _candidate(pair, [quantity], reason, verdict)


def _expected(claim: Claim) -> str:
    if claim.kind == "shadow":
        when = claim.time_utc.isoformat() if claim.time_utc is not None else "?"
        return f"the shadow of the sun at the claimed place, at {when}"
    parts = []
    if claim.kind in ("direction", "side_of_line", "distance") and claim.sector is not None:
        parts.append(_sector_text(claim))
    if claim.interval_m is not None:
        parts.append(_interval_text(claim))
    if claim.kind == "within":
        parts.append(f"inside {claim.reference}")
    if claim.kind == "nearest":
        parts.append(f"nearest {dict(claim.of_kind)} is {claim.reference}")
    return "; ".join(parts)


def _method(claim: Claim) -> str:
    base = "WGS84 ellipsoid, geodesics (Karney, via PROJ)"
    return {
        "distance": f"{base}: distance from the subject to the reference geometry",
        "direction": f"{base}: initial bearing from the reference point to the subject",
        "side_of_line": f"{base}: nearest point on the line found geodesically; "
        "side from the bearing of the perpendicular",
        "within": f"{base}: point in area; margin is the distance to the area's edge",
        "nearest": f"{base}: geodesic distances to every landmark of the kind",
        "shadow": "NREL SPA solar position; shadow azimuth = sun azimuth + 180; "
        "length / height = cot(elevation)",
    }[claim.kind]


def check_claim(claim: Claim, registry: Registry, claims: ClaimSet) -> ClaimCheck:
    """Check one claim against the registry, over every candidate choice of its roles.

    Returns a ``ClaimCheck`` (a ``CheckResult`` listing every measured quantity, each in its
    own unit) whatever the outcome; raises ``RegistryError`` (``E_CLAIMS_UNKNOWN_LANDMARK``)
    only when a role names a landmark the registry does not have.
    """
    if claim.kind == "shadow":
        return _check_shadow_claim(claim, registry, claims)
    notes: list[str] = []
    subjects = _resolve(registry, claims, claim.subject)
    refs = _resolve(registry, claims, claim.reference)
    results = [_evaluate(claim, s, r, registry, notes) for s in subjects for r in refs]
    verdicts = {c.verdict for c in results}
    choices = len(results)
    survives: bool | None = None if choices == 1 else len(verdicts) == 1
    if len(verdicts) == 1:
        verdict = results[0].verdict
    else:
        verdict = Verdict.INCONCLUSIVE
        split = ", ".join(
            f"{c.landmarks['subject']}/{c.landmarks['reference']}: {c.verdict}" for c in results
        )
        notes.append(f"the verdict depends on which landmark is meant ({split})")
    for role_name in (claim.subject, claim.reference):
        role = claims.roles.get(role_name)
        if role is not None and role.notes:
            notes.append(f"{role_name}: {role.notes}")
    if claim.notes:
        notes.append(claim.notes)
    first = _least_favourable(results)  # the headline: never the most flattering choice
    if len(results) > 1:
        measured = [c.measured for c in results if c.measured is not None]
        if measured:
            notes.insert(
                0,
                f"over the {len(results)} choices the measured value runs from "
                f"{min(measured):.1f} to {max(measured):.1f} {_headline_unit(claim)}; the least "
                "favourable choice is shown",
            )
    if verdict is Verdict.INCONCLUSIVE and len(verdicts) == 1:
        notes.insert(0, first.reason)
    return ClaimCheck(
        name=claim.id,
        kind=claim.kind,
        text=claim.text,
        verdict=verdict,
        measured=first.measured,
        expected=_expected(claim),
        tolerance=_tolerance(first),
        margin=first.margin,
        unit=first.unit,
        method=_method(claim),
        notes=tuple(dict.fromkeys(notes)),
        candidates=tuple(results),
        survives_choice=survives,
        quantities=first.quantities,
    )


def _tolerance(candidate: CandidateCheck) -> float | None:
    """Return the uncertainty allowed for in the headline's decision, in its unit."""
    if candidate.possible_max is None or candidate.measured is None:
        return None
    return round(candidate.possible_max - candidate.measured, 9)


def _shadow_quantities(pos: LatLon, when: datetime, shadow: ShadowMeasurement) -> list[Quantity]:
    """Measure the shadow in the footage against the sun at the place and time.

    The same sun as ``check_shadow`` (NREL SPA, standard atmosphere); with the sun below the
    horizon there is no claimed range.
    """
    sun = sun_position(pos, when)
    up = sun.above_horizon
    out = []
    if shadow.azimuth_deg is not None:
        expected, err = sun.shadow_azimuth_deg, shadow.azimuth_error_deg
        claimed: dict[str, Any] = {"claimed": "no direct shadow: the sun is below the horizon"}
        if up and expected is not None:
            margin = err - abs(angle_difference_deg(expected, shadow.azimuth_deg))
            claimed = {
                "claimed_min": expected - err,
                "claimed_max": expected + err,
                "claimed": f"{expected:.2f} +- {err:g} deg (the shadow of the sun at the "
                "claimed place and time)",
                "margin": margin,
                "verdict": Verdict.CONSISTENT if margin >= -1e-9 else Verdict.INCONSISTENT,
            }
        out.append(
            Quantity(name="shadow_azimuth", label="shadow azimuth", unit="deg",
                     measured=shadow.azimuth_deg, **claimed)
        )  # fmt: skip
    if shadow.length_ratio is not None:
        ratio, r_err = sun.shadow_length_ratio, shadow.ratio_error
        claimed = {"claimed": "no direct shadow: the sun is below the horizon"}
        if up and ratio is not None:
            margin = r_err - abs(shadow.length_ratio - ratio)
            claimed = {
                "claimed_min": ratio - r_err,
                "claimed_max": ratio + r_err,
                "claimed": f"{ratio:.3f} +- {r_err:g} ratio (cot of the sun's elevation)",
                "margin": margin,
                "verdict": Verdict.CONSISTENT if margin >= -1e-12 else Verdict.INCONSISTENT,
            }
        out.append(
            Quantity(name="shadow_length_ratio", label="shadow length / height", unit="ratio",
                     measured=shadow.length_ratio, **claimed)
        )  # fmt: skip
    return out


def _check_shadow_claim(claim: Claim, registry: Registry, claims: ClaimSet) -> ClaimCheck:
    """Check a shadow measured in the footage against the claimed time at each candidate place."""
    if claim.time_utc is None or claim.shadow is None:  # pragma: no cover - set by the loader
        msg = f"claim {claim.id!r} has no time or shadow"
        raise InputError(msg, code="E_CLAIMS_INVALID", hint="Give time and shadow.")
    unit = _headline_unit(claim)
    candidates: list[ClaimCandidate] = []
    per_place: dict[int, CheckResult] = {}
    for lm in _resolve(registry, claims, claim.subject):
        pos = lm.anchor
        if pos is None:
            candidates.append(_unknown({"subject": lm.id}, _no_geometry(lm), unit))
            continue
        result = check_shadow(
            pos, claim.time_utc, claim.shadow, name=claim.id, text=claim.text,
            where_uncertainty_m=lm.uncertainty_m or 0.0,
        )  # fmt: skip
        per_place[len(candidates)] = result
        candidates.append(
            _candidate(
                {"subject": lm.id},
                _shadow_quantities(pos, claim.time_utc, claim.shadow),
                result.notes[0] if result.notes else "",
                result.verdict,
            )
        )
    verdicts = {c.verdict for c in candidates}
    verdict = candidates[0].verdict if len(verdicts) == 1 else Verdict.INCONCLUSIVE
    head = _least_favourable(candidates)
    place = per_place.get(candidates.index(head))
    notes = list(place.notes) if place else [head.reason]
    if len(verdicts) > 1:
        notes.append("the verdict depends on which place is meant")
    if claim.notes:
        notes.append(claim.notes)
    return ClaimCheck(
        name=claim.id,
        kind="shadow",
        text=claim.text,
        verdict=verdict,
        measured=head.measured,
        expected=(place.expected if place else "") + f" at {claim.time_utc.isoformat()}",
        tolerance=place.tolerance if place else None,
        margin=head.margin,
        unit=head.unit,
        method=place.method if place else "NREL SPA solar position",
        notes=tuple(dict.fromkeys(notes)),
        candidates=tuple(candidates),
        survives_choice=None if len(candidates) == 1 else len(verdicts) == 1,
        quantities=head.quantities,
    )


_RANK = {Verdict.INCONSISTENT: 0, Verdict.INCONCLUSIVE: 1, Verdict.CONSISTENT: 2}


def _least_favourable(results: Sequence[ClaimCandidate]) -> ClaimCandidate:
    """Pick the worst choice: an inconsistent one first, then the smallest margin.

    Every choice of one claim has its headline in the same unit, so the margins compare.
    """
    return min(
        results,
        key=lambda c: (_RANK[c.verdict], c.margin if c.margin is not None else math.inf),
    )


class CameraFix(Protocol):
    """A position the footage claims for its camera (``geoverify.evidence.CameraPosition``)."""

    @property
    def label(self) -> str:
        """How the position is named in the report."""
        ...

    @property
    def position(self) -> LatLon:
        """The position, WGS84."""
        ...

    @property
    def accuracy_m(self) -> float | None:
        """Its stated accuracy radius, metres (``None``: not stated)."""
        ...


def _with_camera(
    registry: Registry, claims: ClaimSet, camera: Sequence[CameraFix]
) -> tuple[Registry, ClaimSet]:
    """Add the footage's positions to the registry and claims, as the role ``camera``."""
    fixes = tuple(
        Landmark(
            id=f"camera_position_{i + 1}",
            name=cam.label,
            geometry=Point(cam.position.lon, cam.position.lat),
            uncertainty_m=cam.accuracy_m,
            tags={"geoverify:kind": "embedded_camera_position"},
        )
        for i, cam in enumerate(camera)
    )
    role = Role(
        name=CAMERA,
        candidates=tuple(f.id for f in fixes),
        notes="the footage's own positions, as the file states them",
    )
    reg = dataclasses.replace(registry, landmarks=(*registry.landmarks, *fixes))
    return reg, dataclasses.replace(claims, roles={**claims.roles, CAMERA: role})


def _no_camera(claim: Claim) -> ClaimCheck:
    reason = "the footage states no position of its own: nothing to measure"
    unit = _headline_unit(claim)
    return ClaimCheck(
        name=claim.id,
        kind=claim.kind,
        text=claim.text,
        verdict=Verdict.INCONCLUSIVE,
        measured=None,
        expected=_expected(claim),
        tolerance=None,
        margin=None,
        unit=unit,
        method=_method(claim),
        notes=(reason,),
        candidates=(_unknown({"subject": CAMERA}, reason, unit),),
        survives_choice=None,
    )


def uses_camera(claims: ClaimSet, claim: Claim) -> bool:
    """Whether ``claim`` names the footage's own positions (``camera``, claims_version 2)."""
    return claims.version >= 2 and CAMERA in (claim.subject, claim.reference)


def _checker(
    registry: Registry, claims: ClaimSet, camera: Sequence[CameraFix] | None
) -> Callable[[Claim, ClaimSet], ClaimCheck]:
    """Return the one way claims are checked (``check_claims``, ``rank_candidates``).

    The names are resolved once: ``camera`` becomes a role of the footage's positions when
    there are any; without positions a claim about the camera is inconclusive, never an error.
    """
    check_names(registry, claims)
    has_camera = bool(camera) and any(uses_camera(claims, c) for c in claims.claims)
    reg = registry
    camera_role: Role | None = None
    if has_camera and camera:
        reg, with_cam = _with_camera(registry, claims, camera)
        camera_role = with_cam.roles[CAMERA]

    def check(claim: Claim, trial: ClaimSet) -> ClaimCheck:
        if not uses_camera(trial, claim):
            return check_claim(claim, reg, trial)
        if camera_role is None:
            return _no_camera(claim)
        roles = {**trial.roles, CAMERA: camera_role}
        return check_claim(claim, reg, dataclasses.replace(trial, roles=roles))

    return check


def check_names(registry: Registry, claims: ClaimSet) -> None:
    """Check that every landmark the claims name is in the registry (``check_claims`` does).

    Cheap, so a caller can fail before decoding anything. ``check_claims`` and
    ``rank_candidates`` (and so ``geoverify claims validate``, ``check`` and ``verify``) resolve
    names through this one function.

    Raises
    ------
    RegistryError
        ``E_CLAIMS_UNKNOWN_LANDMARK`` (exit 4) listing every name the registry does not have.
    """
    problems = _unknown_names(registry, claims)
    if problems:
        msg = f"{len(problems)} name(s) in the claims file are not in the registry; first: "
        raise RegistryError(
            msg + problems[0],
            code="E_CLAIMS_UNKNOWN_LANDMARK",
            hint="Add the landmarks to the registry, or correct the ids in the claims file.",
            detail="\n".join(problems),
        )


def check_claims(
    registry: Registry, claims: ClaimSet, *, camera: Sequence[CameraFix] | None = None
) -> tuple[ClaimCheck, ...]:
    """Check every claim; one result each, in file order.

    In a claims_version 2 file the subject (or reference) ``camera`` means the footage's own
    positions: ``camera`` gives them (``geoverify.evidence.camera_positions``), each checked
    as a candidate; without positions such a claim is inconclusive.

    Raises
    ------
    RegistryError
        ``E_CLAIMS_UNKNOWN_LANDMARK`` (exit 4) listing every landmark the claims name that the
        registry does not have, before anything is checked.
    """
    check = _checker(registry, claims, camera)
    return tuple(check(c, claims) for c in claims.claims)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CandidateRank:
    """How well one landmark would fit a role: verdicts of the claims that use the role.

    ``worst_margins`` holds the smallest margin in each unit (a margin in metres and one in
    degrees do not compare); ``worst_margin`` is the first of them in the order m, deg, ratio,
    in ``worst_margin_unit``.
    """

    landmark_id: str
    consistent: int
    inconclusive: int
    inconsistent: int
    worst_margin: float | None
    results: tuple[CheckResult, ...]
    worst_margin_unit: Unit | None = None
    worst_margins: Mapping[str, float] = dataclasses.field(default_factory=dict)


def _rank(landmark_id: str, results: tuple[ClaimCheck, ...]) -> CandidateRank:
    worst: dict[str, float] = {}
    for r in results:
        if r.margin is not None:
            worst[r.unit] = min(worst.get(r.unit, math.inf), r.margin)
    unit = next((u for u in UNITS if u in worst), None)
    return CandidateRank(
        landmark_id=landmark_id,
        consistent=sum(r.verdict is Verdict.CONSISTENT for r in results),
        inconclusive=sum(r.verdict is Verdict.INCONCLUSIVE for r in results),
        inconsistent=sum(r.verdict is Verdict.INCONSISTENT for r in results),
        worst_margin=worst[unit] if unit is not None else None,
        results=results,
        worst_margin_unit=unit,
        worst_margins={u: worst[u] for u in UNITS if u in worst},
    )


def rank_candidates(
    registry: Registry,
    claims: ClaimSet,
    role: str,
    *,
    camera: Sequence[CameraFix] | None = None,
) -> tuple[CandidateRank, ...]:
    """Try every landmark of the role's kind in the role; rank by verdicts, then by margin.

    Answers "how unique is this identification?": the landmarks that satisfy every claim that
    mentions the role, best first. Names are resolved as ``check_claims`` resolves them: a claim
    about the ``camera`` uses ``camera`` (the footage's positions) and is inconclusive without
    them.

    Raises
    ------
    InputError
        ``E_UNKNOWN_ROLE`` when the claims file has no such role.
    RegistryError
        ``E_CLAIMS_UNKNOWN_LANDMARK`` as ``check_claims``.
    """
    if role not in claims.roles:
        msg = f"no role {role!r} in the claims file"
        raise InputError(
            msg, code="E_UNKNOWN_ROLE", hint=f"Roles: {', '.join(claims.roles) or 'none'}."
        )
    check = _checker(registry, claims, camera)
    spec = claims.roles[role]
    used = [c for c in claims.claims if role in (c.subject, c.reference)]
    pool = registry.by_tags(spec.kind) if spec.kind else registry.landmarks
    ranks = []
    for lm in pool:
        if lm.geometry is None:
            continue
        roles = {**claims.roles, role: dataclasses.replace(spec, candidates=(lm.id,))}
        trial = dataclasses.replace(claims, roles=roles)
        ranks.append(_rank(lm.id, tuple(check(c, trial) for c in used)))

    def key(r: CandidateRank) -> tuple[float, ...]:
        margins = [-r.worst_margins.get(u, -math.inf) for u in UNITS]
        return (r.inconsistent, -r.consistent, *margins)

    ranks.sort(key=key)
    return tuple(ranks)
