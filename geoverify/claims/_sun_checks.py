"""The sun's check of a claim: a shadow in the footage against the claimed place and time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoverify.claims._geometry_checks import (
    headline_unit,
    least_favourable,
    make_candidate,
    no_geometry,
    resolve,
    unknown_candidate,
)
from geoverify.claims._model import Claim, ClaimSet
from geoverify.claims._result import ClaimCandidate, ClaimCheck, Quantity
from geoverify.errors import InputError
from geoverify.geodesy import angle_difference_deg
from geoverify.models import CheckResult, LatLon, Verdict
from geoverify.registry import Registry
from geoverify.sun import ShadowMeasurement, check_shadow, sun_position

__all__ = ["check_shadow_claim"]


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


def _shadow_candidates(
    claim: Claim,
    registry: Registry,
    claims: ClaimSet,
    when: datetime,
    shadow: ShadowMeasurement,
) -> tuple[list[ClaimCandidate], dict[int, CheckResult]]:
    """Check the shadow at each candidate place of the claim's subject.

    Returns the candidates, and each place's ``check_shadow`` result by its index among them
    (a place without a position has none).
    """
    unit = headline_unit(claim)
    candidates: list[ClaimCandidate] = []
    per_place: dict[int, CheckResult] = {}
    for lm in resolve(registry, claims, claim.subject):
        pos = lm.anchor
        if pos is None:
            candidates.append(unknown_candidate({"subject": lm.id}, no_geometry(lm), unit))
            continue
        result = check_shadow(
            pos, when, shadow, name=claim.id, text=claim.text,
            where_uncertainty_m=lm.uncertainty_m or 0.0,
        )  # fmt: skip
        per_place[len(candidates)] = result
        candidates.append(
            make_candidate(
                {"subject": lm.id},
                _shadow_quantities(pos, when, shadow),
                result.notes[0] if result.notes else "",
                result.verdict,
            )
        )
    return candidates, per_place


def check_shadow_claim(claim: Claim, registry: Registry, claims: ClaimSet) -> ClaimCheck:
    """Check a shadow measured in the footage against the claimed time at each candidate place."""
    if claim.time_utc is None or claim.shadow is None:  # pragma: no cover - set by the loader
        msg = f"claim {claim.id!r} has no time or shadow"
        raise InputError(msg, code="E_CLAIMS_INVALID", hint="Give time and shadow.")
    candidates, per_place = _shadow_candidates(
        claim, registry, claims, claim.time_utc, claim.shadow
    )
    verdicts = {c.verdict for c in candidates}
    verdict = candidates[0].verdict if len(verdicts) == 1 else Verdict.INCONCLUSIVE
    head = least_favourable(candidates)
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
