"""Checking a claim over every choice of its roles, with the names resolved once.

``check_claim`` dispatches to the geometric checks (``_geometry_checks``) or the sun's
(``_sun_checks``); ``checker`` is the one way ``check_claims`` and ``rank_candidates`` check
claims, the footage's own positions standing in the role ``camera``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Protocol

from shapely.geometry import Point

from geoverify.claims._geometry_checks import (
    evaluate,
    expected_text,
    headline_unit,
    least_favourable,
    method_text,
    resolve,
    role_named,
    tolerance_of,
    unknown_candidate,
)
from geoverify.claims._model import CAMERA, Claim, ClaimSet, Role
from geoverify.claims._result import ClaimCandidate, ClaimCheck
from geoverify.claims._suggest import did_you_mean
from geoverify.claims._sun_checks import check_shadow_claim
from geoverify.errors import InputError, RegistryError
from geoverify.models import LatLon, Verdict
from geoverify.registry import Landmark, Registry

__all__ = ["CameraFix", "check_claim", "check_names", "checker", "uses_camera"]


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
    known = [*claims.roles, *(lm.id for lm in registry.landmarks)]
    for claim_id, part, name in named:
        if not name or (name == CAMERA and claims.version >= 2):
            continue
        for candidate in role_named(claims, name).candidates:
            try:
                registry.get(candidate)
            except InputError as exc:
                via = f" (role {name!r})" if candidate != name else ""
                guess = did_you_mean(candidate, known) if exc.message.startswith("no ") else ""
                problems.append(f"claim {claim_id!r}, {part}{via}: {exc.message}{guess}")
    return list(dict.fromkeys(problems))


def check_claim(claim: Claim, registry: Registry, claims: ClaimSet) -> ClaimCheck:
    """Check one claim against the registry, over every candidate choice of its roles.

    Returns a ``ClaimCheck`` (a ``CheckResult`` listing every measured quantity, each in its
    own unit) whatever the outcome; raises ``RegistryError`` (``E_CLAIMS_UNKNOWN_LANDMARK``)
    only when a role names a landmark the registry does not have.
    """
    if claim.kind == "shadow":
        return check_shadow_claim(claim, registry, claims)
    notes: list[str] = []
    subjects = resolve(registry, claims, claim.subject)
    refs = resolve(registry, claims, claim.reference)
    results = [evaluate(claim, s, r, registry, notes) for s in subjects for r in refs]
    verdicts = {c.verdict for c in results}
    survives: bool | None = None if len(results) == 1 else len(verdicts) == 1
    if len(verdicts) == 1:
        verdict = results[0].verdict
    else:
        verdict = Verdict.INCONCLUSIVE
        split = ", ".join(
            f"{c.landmarks['subject']}/{c.landmarks['reference']}: {c.verdict}" for c in results
        )
        notes.append(f"the verdict depends on which landmark is meant ({split})")
    notes += _stated_notes(claim, claims)
    first = least_favourable(results)  # the headline: never the most flattering choice
    spread = _spread_note(claim, results)
    if spread is not None:
        notes.insert(0, spread)
    if verdict is Verdict.INCONCLUSIVE and len(verdicts) == 1:
        notes.insert(0, first.reason)
    return ClaimCheck(
        name=claim.id,
        kind=claim.kind,
        text=claim.text,
        verdict=verdict,
        measured=first.measured,
        expected=expected_text(claim),
        tolerance=tolerance_of(first),
        margin=first.margin,
        unit=first.unit,
        method=method_text(claim),
        notes=tuple(dict.fromkeys(notes)),
        candidates=tuple(results),
        survives_choice=survives,
        quantities=first.quantities,
    )


def _stated_notes(claim: Claim, claims: ClaimSet) -> list[str]:
    """Return the notes the claims file gives: its roles' (subject, reference), then the claim's."""
    notes = []
    for role_name in (claim.subject, claim.reference):
        role = claims.roles.get(role_name)
        if role is not None and role.notes:
            notes.append(f"{role_name}: {role.notes}")
    if claim.notes:
        notes.append(claim.notes)
    return notes


def _spread_note(claim: Claim, results: list[ClaimCandidate]) -> str | None:
    """Say how far the measured value runs over several choices (``None``: one, or none)."""
    measured = [c.measured for c in results if c.measured is not None]
    if len(results) <= 1 or not measured:
        return None
    return (
        f"over the {len(results)} choices the measured value runs from "
        f"{min(measured):.1f} to {max(measured):.1f} {headline_unit(claim)}; the least "
        "favourable choice is shown"
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
    unit = headline_unit(claim)
    return ClaimCheck(
        name=claim.id,
        kind=claim.kind,
        text=claim.text,
        verdict=Verdict.INCONCLUSIVE,
        measured=None,
        expected=expected_text(claim),
        tolerance=None,
        margin=None,
        unit=unit,
        method=method_text(claim),
        notes=(reason,),
        candidates=(unknown_candidate({"subject": CAMERA}, reason, unit),),
        survives_choice=None,
    )


def uses_camera(claims: ClaimSet, claim: Claim) -> bool:
    """Whether ``claim`` names the footage's own positions (``camera``, claims_version 2)."""
    return claims.version >= 2 and CAMERA in (claim.subject, claim.reference)


def checker(
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
