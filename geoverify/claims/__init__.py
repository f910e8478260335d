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
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Protocol

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
from geoverify.errors import InputError, RegistryError
from geoverify.geodesy import angle_difference_deg, bearing_deg, distance_m, offset_from_line
from geoverify.models import CandidateCheck, CheckResult, LatLon, Verdict
from geoverify.registry import Landmark, Registry, geodesic_distance_m
from geoverify.sun import check_shadow

__all__ = [
    "CAMERA",
    "COMPASS",
    "QUALIFIERS",
    "CameraFix",
    "Claim",
    "ClaimSet",
    "Hypothesis",
    "check_claim",
    "check_claims",
    "check_names",
    "claims_from_data",
    "load_claims",
    "rank_candidates",
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
        f"the possible values [{pmin:.0f}, {pmax:.0f}] straddle a bound of the claimed range",
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


def _unknown(pair: Mapping[str, str], reason: str) -> CandidateCheck:
    return CandidateCheck(
        landmarks=pair,
        measured=None,
        possible_min=None,
        possible_max=None,
        margin=None,
        verdict=Verdict.INCONCLUSIVE,
        reason=reason,
    )


def _evaluate(
    claim: Claim, subject: Landmark, ref: Landmark, registry: Registry, notes: list[str]
) -> CandidateCheck:
    pair = {"subject": subject.id, "reference": ref.id}
    s_pos = subject.anchor
    if s_pos is None:
        return _unknown(pair, _no_geometry(subject))
    if not isinstance(subject.geometry, Point):
        notes.append(f"{subject.id!r} is not a point: its representative point is used")
    if claim.kind == "nearest":
        return _evaluate_nearest(claim, subject, s_pos, ref, registry, notes, pair)
    if ref.geometry is None:
        return _unknown(pair, _no_geometry(ref))
    u = _unc(subject, notes) + _unc(ref, notes)
    check = {
        "distance": _check_distance,
        "direction": _check_direction,
        "within": _check_within,
        "side_of_line": _check_side,
    }[claim.kind]
    return check(claim, s_pos, ref, u, pair)


def _check_distance(
    claim: Claim, s_pos: LatLon, ref: Landmark, u: float, pair: Mapping[str, str]
) -> CandidateCheck:
    d = geodesic_distance_m(s_pos, ref)
    if d is None:  # pragma: no cover - geometry checked by the caller
        return _unknown(pair, _no_geometry(ref))
    lo, hi = claim.interval_m or (0.0, math.inf)
    verdict, pmin, pmax, margin, why = _interval_verdict(d, u, lo, hi)
    if claim.sector is not None:  # "about 1 km west of the square": the direction too
        direction = _check_direction(claim, s_pos, ref, u, pair)
        why = f"distance: {why}; direction: {direction.reason}"
        if direction.measured is not None:
            why += f" (bearing from the reference {direction.measured:.1f} deg)"
        verdict = min(verdict, direction.verdict, key=_ORDER.index)
    return CandidateCheck(
        landmarks=pair,
        measured=d,
        possible_min=pmin,
        possible_max=pmax,
        margin=margin,
        verdict=verdict,
        reason=why,
    )


def _check_direction(
    claim: Claim, s_pos: LatLon, ref: Landmark, u: float, pair: Mapping[str, str]
) -> CandidateCheck:
    r_pos = ref.anchor
    if r_pos is None:  # pragma: no cover - geometry checked by the caller
        return _unknown(pair, _no_geometry(ref))
    b = bearing_deg(r_pos, s_pos)
    if b is None:
        return _unknown(pair, "the two positions coincide: there is no direction")
    spread = math.degrees(math.atan2(u, distance_m(r_pos, s_pos))) if u else 0.0
    centre, half = claim.sector or (0.0, 180.0)
    verdict, margin, why = _sector_verdict(b, spread, centre, half)
    return CandidateCheck(
        landmarks=pair,
        measured=b,
        possible_min=b - spread,
        possible_max=b + spread,
        margin=margin,
        verdict=verdict,
        reason=why,
    )


def _check_within(
    claim: Claim, s_pos: LatLon, ref: Landmark, u: float, pair: Mapping[str, str]
) -> CandidateCheck:
    geom = ref.geometry
    if not isinstance(geom, Polygon | MultiPolygon):
        return _unknown(pair, f"{ref.id!r} is not an area")
    inside = geom.covers(Point(s_pos.lon, s_pos.lat))
    edge = min(offset_from_line(s_pos, line).distance_m for line in _rings(geom))
    margin = edge if inside else -edge
    if abs(margin) <= u:
        verdict = Verdict.INCONCLUSIVE
        why = f"{abs(margin):.0f} m from the edge, within the position uncertainty"
    elif inside:
        verdict, why = Verdict.CONSISTENT, "inside the area"
    else:
        verdict, why = Verdict.INCONSISTENT, "outside the area"
    return CandidateCheck(
        landmarks=pair,
        measured=margin,
        possible_min=margin - u,
        possible_max=margin + u,
        margin=margin,
        verdict=verdict,
        reason=why,
    )


_ORDER = [Verdict.INCONSISTENT, Verdict.INCONCLUSIVE, Verdict.CONSISTENT]


def _check_side(
    claim: Claim, s_pos: LatLon, ref: Landmark, u: float, pair: Mapping[str, str]
) -> CandidateCheck:
    lines = _lines(ref)
    if not lines:
        return _unknown(
            pair, f"{ref.id!r} is not a line (no course is known), so no side can be measured"
        )
    best = min((offset_from_line(s_pos, line) for line in lines), key=lambda o: o.distance_m)
    if best.side == "beyond_end":
        return _unknown(pair, f"the subject lies beyond the end of the mapped line {ref.id!r}")
    if best.bearing_from_line_deg is None:
        return _unknown(pair, "the subject lies on the line")
    centre, half = claim.sector or (0.0, 180.0)
    spread = math.degrees(math.atan2(u, best.distance_m)) if u else 0.0
    verdict, margin, side_why = _sector_verdict(best.bearing_from_line_deg, spread, centre, half)
    why = f"side: {side_why} (from the line towards {best.bearing_from_line_deg:.1f} deg)"
    pmin: float | None = None
    pmax: float | None = None
    if claim.interval_m is not None:
        lo, hi = claim.interval_m
        dist_verdict, pmin, pmax, margin, dist_why = _interval_verdict(best.distance_m, u, lo, hi)
        why += f"; distance {best.distance_m:.0f} m: {dist_why}"
        verdict = min(verdict, dist_verdict, key=_ORDER.index)
    return CandidateCheck(
        landmarks=pair,
        measured=best.distance_m,
        possible_min=pmin,
        possible_max=pmax,
        margin=margin,
        verdict=verdict,
        reason=why,
    )


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
) -> CandidateCheck:
    ranked = [
        (lm, d) for lm, d in registry.nearest(s_pos, tags=claim.of_kind, k=3) if lm.id != subject.id
    ]
    if not ranked:
        return CandidateCheck(
            landmarks=pair,
            measured=None,
            possible_min=None,
            possible_max=None,
            margin=None,
            verdict=Verdict.INCONCLUSIVE,
            reason="no landmark of that kind has a position",
        )
    first, d1 = ranked[0]
    u = _unc(subject, notes) + max((_unc(lm, notes) for lm, _ in ranked[:2]), default=0.0)
    if first.id == target.id:
        gap = ranked[1][1] - d1 if len(ranked) > 1 else math.inf
        verdict = Verdict.CONSISTENT if gap > 2 * u else Verdict.INCONCLUSIVE
        reason = f"{target.id!r} is the nearest ({d1:.0f} m)" + (
            ""
            if verdict is Verdict.CONSISTENT
            else ", but the runner-up is within the position uncertainty"
        )
        return CandidateCheck(
            landmarks=pair,
            measured=d1,
            possible_min=None,
            possible_max=None,
            margin=gap if math.isfinite(gap) else None,
            verdict=verdict,
            reason=reason,
        )
    d_target = geodesic_distance_m(s_pos, target)
    if d_target is None:
        return CandidateCheck(
            landmarks=pair,
            measured=None,
            possible_min=None,
            possible_max=None,
            margin=None,
            verdict=Verdict.INCONCLUSIVE,
            reason=_no_geometry(target),
        )
    gap = d1 - d_target
    verdict = Verdict.INCONSISTENT if -gap > 2 * u else Verdict.INCONCLUSIVE
    return CandidateCheck(
        landmarks=pair,
        measured=d_target,
        possible_min=None,
        possible_max=None,
        margin=gap,
        verdict=verdict,
        reason=f"{first.id!r} is nearer ({d1:.0f} m vs {d_target:.0f} m)",
    )


_UNITS = {
    "distance": "m",
    "side_of_line": "m",
    "within": "m",
    "nearest": "m",
    "direction": "deg",
    "shadow": "deg",
}


def _expected(claim: Claim) -> str:
    parts = []
    if claim.kind in ("direction", "side_of_line", "distance") and claim.sector is not None:
        c, h = claim.sector
        parts.append(f"{claim.direction}: bearing {c - h:g} to {c + h:g} deg")
    if claim.interval_m is not None:
        lo, hi = claim.interval_m
        hi_text = "inf" if math.isinf(hi) else f"{hi:.0f}"
        parts.append(f"[{lo:.0f}, {hi_text}] m ({claim.interval_rule})")
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
    }[claim.kind]


def check_claim(claim: Claim, registry: Registry, claims: ClaimSet) -> CheckResult:
    """Check one claim against the registry, over every candidate choice of its roles.

    Returns a ``CheckResult`` whatever the outcome; raises ``RegistryError``
    (``E_CLAIMS_UNKNOWN_LANDMARK``) only when a role names a landmark the registry does not
    have.
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
                f"{min(measured):.1f} to {max(measured):.1f} {_UNITS[claim.kind]}; the least "
                "favourable choice is shown",
            )
    if verdict is Verdict.INCONCLUSIVE and len(verdicts) == 1:
        notes.insert(0, first.reason)
    tolerance = None
    if (
        first.possible_min is not None
        and first.possible_max is not None
        and first.measured is not None
    ):
        tolerance = round(first.possible_max - first.measured, 9)
    return CheckResult(
        name=claim.id,
        kind=claim.kind,
        text=claim.text,
        verdict=verdict,
        measured=first.measured,
        expected=_expected(claim),
        tolerance=tolerance,
        margin=first.margin,
        unit=_UNITS[claim.kind],
        method=_method(claim),
        notes=tuple(dict.fromkeys(notes)),
        candidates=tuple(results),
        survives_choice=survives,
    )


def _check_shadow_claim(claim: Claim, registry: Registry, claims: ClaimSet) -> CheckResult:
    """Check a shadow measured in the footage against the claimed time at each candidate place."""
    if claim.time_utc is None or claim.shadow is None:  # pragma: no cover - set by the loader
        msg = f"claim {claim.id!r} has no time or shadow"
        raise InputError(msg, code="E_CLAIMS_INVALID", hint="Give time and shadow.")
    candidates = []
    per_place: list[CheckResult] = []
    for lm in _resolve(registry, claims, claim.subject):
        pos = lm.anchor
        if pos is None:
            candidates.append(_unknown({"subject": lm.id}, _no_geometry(lm)))
            continue
        result = check_shadow(
            pos, claim.time_utc, claim.shadow, name=claim.id, text=claim.text,
            where_uncertainty_m=lm.uncertainty_m or 0.0,
        )  # fmt: skip
        per_place.append(result)
        candidates.append(
            CandidateCheck(
                landmarks={"subject": lm.id},
                measured=result.measured,
                possible_min=None,
                possible_max=None,
                margin=result.margin,
                verdict=result.verdict,
                reason=result.notes[0] if result.notes else "",
            )
        )
    verdicts = {c.verdict for c in candidates}
    verdict = candidates[0].verdict if len(verdicts) == 1 else Verdict.INCONCLUSIVE
    first = per_place[0] if per_place else None
    notes = list(first.notes) if first else [candidates[0].reason]
    if len(verdicts) > 1:
        notes.append("the verdict depends on which place is meant")
    if claim.notes:
        notes.append(claim.notes)
    return CheckResult(
        name=claim.id,
        kind="shadow",
        text=claim.text,
        verdict=verdict,
        measured=first.measured if first else None,
        expected=(first.expected if first else "") + f" at {claim.time_utc.isoformat()}",
        tolerance=first.tolerance if first else None,
        margin=first.margin if first else None,
        unit=first.unit if first else "deg",
        method=first.method if first else "NREL SPA solar position",
        notes=tuple(dict.fromkeys(notes)),
        candidates=tuple(candidates),
        survives_choice=None if len(candidates) == 1 else len(verdicts) == 1,
    )


_RANK = {Verdict.INCONSISTENT: 0, Verdict.INCONCLUSIVE: 1, Verdict.CONSISTENT: 2}


def _least_favourable(results: list[CandidateCheck]) -> CandidateCheck:
    """Pick the worst choice: an inconsistent one first, then the smallest margin."""
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
    from shapely.geometry import Point

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


def _no_camera(claim: Claim) -> CheckResult:
    reason = "the footage states no position of its own: nothing to measure"
    return CheckResult(
        name=claim.id,
        kind=claim.kind,
        text=claim.text,
        verdict=Verdict.INCONCLUSIVE,
        measured=None,
        expected=_expected(claim),
        tolerance=None,
        margin=None,
        unit=_UNITS[claim.kind],
        method=_method(claim),
        notes=(reason,),
        candidates=(_unknown({"subject": CAMERA}, reason),),
        survives_choice=None,
    )


def check_names(registry: Registry, claims: ClaimSet) -> None:
    """Check that every landmark the claims name is in the registry (``check_claims`` does).

    Cheap, so a caller can fail before decoding anything.

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
) -> tuple[CheckResult, ...]:
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
    check_names(registry, claims)
    uses_camera = claims.version >= 2 and any(
        CAMERA in (c.subject, c.reference) for c in claims.claims
    )
    if not uses_camera:
        return tuple(check_claim(c, registry, claims) for c in claims.claims)
    if not camera:
        return tuple(
            _no_camera(c)
            if CAMERA in (c.subject, c.reference)
            else check_claim(c, registry, claims)
            for c in claims.claims
        )
    reg, with_cam = _with_camera(registry, claims, camera)
    return tuple(check_claim(c, reg, with_cam) for c in claims.claims)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CandidateRank:
    """How well one landmark would fit a role: verdicts of the claims that use the role."""

    landmark_id: str
    consistent: int
    inconclusive: int
    inconsistent: int
    worst_margin: float | None
    results: tuple[CheckResult, ...]


def rank_candidates(registry: Registry, claims: ClaimSet, role: str) -> tuple[CandidateRank, ...]:
    """Try every landmark of the role's kind in the role; rank by verdicts, then by margin.

    Answers "how unique is this identification?": the landmarks that satisfy every claim that
    mentions the role, best first.
    """
    if role not in claims.roles:
        msg = f"no role {role!r} in the claims file"
        raise InputError(
            msg, code="E_UNKNOWN_ROLE", hint=f"Roles: {', '.join(claims.roles) or 'none'}."
        )
    spec = claims.roles[role]
    used = [c for c in claims.claims if role in (c.subject, c.reference)]
    pool = registry.by_tags(spec.kind) if spec.kind else registry.landmarks
    ranks = []
    for lm in pool:
        if lm.geometry is None:
            continue
        roles = dict(claims.roles)
        roles[role] = dataclasses.replace(spec, candidates=(lm.id,))
        trial = dataclasses.replace(claims, roles=roles)
        results = tuple(check_claim(c, registry, trial) for c in used)
        margins = [
            r.margin / (r.tolerance or 1.0) if False else r.margin
            for r in results
            if r.margin is not None
        ]
        ranks.append(
            CandidateRank(
                landmark_id=lm.id,
                consistent=sum(r.verdict is Verdict.CONSISTENT for r in results),
                inconclusive=sum(r.verdict is Verdict.INCONCLUSIVE for r in results),
                inconsistent=sum(r.verdict is Verdict.INCONSISTENT for r in results),
                worst_margin=min(margins) if margins else None,
                results=results,
            )
        )
    ranks.sort(
        key=lambda r: (
            r.inconsistent,
            -r.consistent,
            -(r.worst_margin if r.worst_margin is not None else -math.inf),
        )
    )
    return tuple(ranks)
