"""The specificity line: how many other landmarks of the kind would fit the description."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from geoverify.evidence._model import EvidenceLine, Outcome

if TYPE_CHECKING:
    from geoverify.claims import ClaimSet, Hypothesis
    from geoverify.registry import Registry


def specificity_line(hyp: Hypothesis | None, registry: Registry, claims: ClaimSet) -> EvidenceLine:
    """How many other landmarks of the kind ``shows`` names would fit the same description."""
    role_name = hyp.shows if hyp is not None else None
    role = claims.roles.get(role_name) if role_name else None
    if role is None or not role.kind:
        return EvidenceLine(
            line="specificity",
            outcome=Outcome.NOT_TESTED,
            summary="No role with a kind (tags) to rank other landmarks against.",
            would_decide=("a role for what the footage shows, with its kind (e.g. "
                          "{historic: memorial})",),
        )  # fmt: skip
    from geoverify.claims import rank_candidates, uses_camera

    used = [c for c in claims.claims if role_name in (c.subject, c.reference)]
    # a claim about the camera measures the footage's own positions (the location line), not
    # the place: it cannot tell one landmark of the kind from another here
    about_camera = [c.id for c in used if uses_camera(claims, c)]
    place_claims = tuple(c for c in used if c.id not in about_camera)
    left_out = (
        (
            f"left out: {', '.join(about_camera)} (about the camera: the footage's own "
            "positions are weighed in the location line)",
        )
        if about_camera
        else ()
    )
    if not place_claims:
        return EvidenceLine(
            line="specificity",
            outcome=Outcome.NOT_TESTED,
            summary=f"No published sentence about {role_name!r} to test other landmarks with.",
            notes=left_out,
        )
    ranks = rank_candidates(
        registry, dataclasses.replace(claims, claims=place_claims), role_name or ""
    )
    fitting = [r for r in ranks if r.inconsistent == 0 and r.inconclusive == 0]
    named = set(role.candidates)
    others = [r.landmark_id for r in fitting if r.landmark_id not in named]
    numbers = {
        "landmarks_of_kind_with_position": len(ranks),
        "fitting": [r.landmark_id for r in fitting],
    }
    if not ranks:
        return EvidenceLine(
            line="specificity",
            outcome=Outcome.NOT_TESTED,
            summary=f"No landmark of the kind of {role_name!r} has a position in the registry.",
            numbers=numbers,
            notes=left_out,
            would_decide=(f"positions of the landmarks of the kind of {role_name!r}",),
        )
    if others:
        return EvidenceLine(
            line="specificity",
            outcome=Outcome.NO_EVIDENCE,
            summary=(
                f"{len(others)} other landmark(s) of the same kind fit the published description "
                f"as well: {', '.join(others[:8])}."
            ),
            numbers=numbers,
            notes=left_out,
        )
    if any(r.landmark_id in named for r in fitting):
        return EvidenceLine(
            line="specificity",
            outcome=Outcome.SUPPORTS,
            strength="weak",
            summary=f"Of {len(ranks)} landmarks of the kind, only {role_name!r} fits the "
            "published description.",
            numbers=numbers,
            notes=left_out,
        )
    return EvidenceLine(
        line="specificity",
        outcome=Outcome.NO_EVIDENCE,
        summary=f"None of {len(ranks)} landmarks of the kind fits every published sentence.",
        numbers=numbers,
        notes=left_out,
    )
