"""The geometric checks of a claim: distance, direction, side of a line, within, nearest.

Each evaluator measures one choice of landmarks and returns a ``ClaimCandidate`` whose
``quantities`` carry their own units; the helpers here (name resolution, the verdict of an
interval or a compass sector, the least favourable choice) are shared with the sun's checks
(``_sun_checks``) and with ``check_claim`` (``_check``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon

from geoverify.claims._model import Claim, ClaimSet, Role
from geoverify.claims._result import ClaimCandidate, Quantity, Unit
from geoverify.errors import InputError, RegistryError
from geoverify.geodesy import angle_difference_deg, bearing_deg, distance_m, offset_from_line
from geoverify.models import CandidateCheck, LatLon, Verdict
from geoverify.registry import Landmark, Registry, geodesic_distance_m

__all__ = [
    "evaluate",
    "expected_text",
    "headline_unit",
    "least_favourable",
    "make_candidate",
    "method_text",
    "no_geometry",
    "resolve",
    "role_named",
    "tolerance_of",
    "unknown_candidate",
]


def role_named(claims: ClaimSet, name: str) -> Role:
    return claims.roles.get(name) or Role(name=name, candidates=claims.candidates(name))


def resolve(registry: Registry, claims: ClaimSet, name: str) -> list[Landmark]:
    role = role_named(claims, name)
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


def no_geometry(lm: Landmark) -> str:
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


def headline_unit(claim: Claim) -> Unit:
    """Return the unit of a claim's headline quantity: the same for every choice of landmarks."""
    if claim.kind == "direction":
        return "deg"
    if claim.kind == "side_of_line":
        return "m" if claim.interval_m is not None else "deg"
    if claim.kind == "shadow":
        no_azimuth = claim.shadow is not None and claim.shadow.azimuth_deg is None
        return "ratio" if no_azimuth else "deg"
    return "m"


def unknown_candidate(pair: Mapping[str, str], reason: str, unit: Unit) -> ClaimCandidate:
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


def make_candidate(
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


def evaluate(
    claim: Claim, subject: Landmark, ref: Landmark, registry: Registry, notes: list[str]
) -> ClaimCandidate:
    pair = {"subject": subject.id, "reference": ref.id}
    s_pos = subject.anchor
    if s_pos is None:
        return unknown_candidate(pair, no_geometry(subject), headline_unit(claim))
    if not isinstance(subject.geometry, Point):
        notes.append(f"{subject.id!r} is not a point: its representative point is used")
    if claim.kind == "nearest":
        return _evaluate_nearest(claim, subject, s_pos, ref, registry, notes, pair)
    if ref.geometry is None:
        return unknown_candidate(pair, no_geometry(ref), headline_unit(claim))
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
        return unknown_candidate(pair, no_geometry(ref), "m")
    distance, why = _interval_quantity("distance", "distance from the reference", d, u, claim)
    quantities = [distance]
    if claim.sector is not None:  # "about 1 km west of the square": the direction too
        bearing, direction_why = _bearing_quantity(claim, s_pos, ref, u)
        quantities.append(bearing)
        why = f"distance: {why}; direction: {direction_why}"
        if bearing.measured is not None:
            why += f" (bearing from the reference {bearing.measured:.1f} deg)"
    return make_candidate(pair, quantities, why)


def _check_direction(
    claim: Claim, s_pos: LatLon, ref: Landmark, u: float, pair: Mapping[str, str]
) -> ClaimCandidate:
    bearing, why = _bearing_quantity(claim, s_pos, ref, u)
    return make_candidate(pair, [bearing], why)


def _check_within(
    claim: Claim, s_pos: LatLon, ref: Landmark, u: float, pair: Mapping[str, str]
) -> ClaimCandidate:
    geom = ref.geometry
    if not isinstance(geom, Polygon | MultiPolygon):
        return unknown_candidate(pair, f"{ref.id!r} is not an area", "m")
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
    return make_candidate(pair, [quantity], why)


def _check_side(
    claim: Claim, s_pos: LatLon, ref: Landmark, u: float, pair: Mapping[str, str]
) -> ClaimCandidate:
    unit = headline_unit(claim)
    lines = _lines(ref)
    if not lines:
        return unknown_candidate(
            pair,
            f"{ref.id!r} is not a line (no course is known), so no side can be measured",
            unit,
        )
    best = min((offset_from_line(s_pos, line) for line in lines), key=lambda o: o.distance_m)
    if best.side == "beyond_end":
        return unknown_candidate(
            pair, f"the subject lies beyond the end of the mapped line {ref.id!r}", unit
        )
    if best.bearing_from_line_deg is None:
        return unknown_candidate(pair, "the subject lies on the line", unit)
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
        return make_candidate(pair, [side, distance], why)
    distance, dist_why = _interval_quantity("distance_from_line", label, best.distance_m, u, claim)
    why += f"; distance {best.distance_m:.0f} m: {dist_why}"
    return make_candidate(pair, [distance, side], why)


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
        return unknown_candidate(pair, "no landmark of that kind has a position", "m")
    first, d1 = ranked[0]
    u = _unc(subject, notes) + max((_unc(lm, notes) for lm, _ in ranked[:2]), default=0.0)
    if first.id == target.id:
        other = ranked[1] if len(ranked) > 1 else None
        return _nearest_is_target(target, d1, other, u, pair)
    d_target = geodesic_distance_m(s_pos, target)
    if d_target is None:
        return unknown_candidate(pair, no_geometry(target), "m")
    gap = d1 - d_target
    verdict = Verdict.INCONSISTENT if -gap > 2 * u else Verdict.INCONCLUSIVE
    quantity = Quantity(
        name="distance_to_target",
        label="distance to the target",
        unit="m",
        measured=d_target,
        claimed_max=d1,
        claimed=f"no farther than the nearest other landmark of the kind ({first.id!r}, "
        f"{d1:.1f} m)",
        margin=gap,
        verdict=verdict,
    )
    reason = f"{first.id!r} is nearer ({d1:.0f} m vs {d_target:.0f} m)"
    return make_candidate(pair, [quantity], reason, verdict)


def _nearest_is_target(
    target: Landmark,
    d1: float,
    other: tuple[Landmark, float] | None,
    u: float,
    pair: dict[str, str],
) -> ClaimCandidate:
    """Judge a nearest claim whose target is the nearest landmark of the kind (``d1`` metres).

    Consistent unless the runner-up ``other`` is within twice the position uncertainty ``u``
    (metres) of it: then inconclusive.
    """
    gap = other[1] - d1 if other is not None else math.inf
    verdict = Verdict.CONSISTENT if gap > 2 * u else Verdict.INCONCLUSIVE
    reason = f"{target.id!r} is the nearest ({d1:.0f} m)" + (
        ""
        if verdict is Verdict.CONSISTENT
        else ", but the runner-up is within the position uncertainty"
    )
    quantity = Quantity(
        name="distance_to_target",
        label="distance to the target",
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
    return make_candidate(pair, [quantity], reason, verdict)


def expected_text(claim: Claim) -> str:
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


def method_text(claim: Claim) -> str:
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


def tolerance_of(candidate: CandidateCheck) -> float | None:
    """Return the uncertainty allowed for in the headline's decision, in its unit."""
    if candidate.possible_max is None or candidate.measured is None:
        return None
    return round(candidate.possible_max - candidate.measured, 9)


_RANK = {Verdict.INCONSISTENT: 0, Verdict.INCONCLUSIVE: 1, Verdict.CONSISTENT: 2}


def least_favourable(results: Sequence[ClaimCandidate]) -> ClaimCandidate:
    """Pick the worst choice: an inconsistent one first, then the smallest margin.

    Every choice of one claim has its headline in the same unit, so the margins compare.
    """
    return min(
        results,
        key=lambda c: (_RANK[c.verdict], c.margin if c.margin is not None else math.inf),
    )
