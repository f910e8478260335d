"""The specificity line: how many other landmarks of the kind would fit the description."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from geoverify.evidence._model import EvidenceLine, Outcome

if TYPE_CHECKING:
    from geoverify.claims import CandidateRank, Claim, ClaimSet, Hypothesis
    from geoverify.registry import Registry


def specificity_line(hyp: Hypothesis | None, registry: Registry, claims: ClaimSet) -> EvidenceLine:
    """How many other landmarks of the kind ``shows`` names would fit the same description."""
    role_name = hyp.shows if hyp is not None else None
    role = claims.roles.get(role_name) if role_name else None
    if role_name is None or role is None or not role.kind:
        return EvidenceLine(
            line="specificity",
            outcome=Outcome.NOT_TESTED,
            summary="No role with a kind (tags) to rank other landmarks against.",
            would_decide=("a role for what the footage shows, with its kind (e.g. "
                          "{historic: memorial})",),
        )  # fmt: skip
    from geoverify.claims import rank_candidates

    place_claims, left_out = _place_claims(claims, role_name)
    if not place_claims:
        return EvidenceLine(
            line="specificity",
            outcome=Outcome.NOT_TESTED,
            summary=f"No published sentence about {role_name!r} to test other landmarks with.",
            notes=left_out,
        )
    ranks = rank_candidates(registry, dataclasses.replace(claims, claims=place_claims), role_name)
    return _ranked_line(ranks, set(role.candidates), role_name, left_out)


def _ranked_line(
    ranks: Sequence[CandidateRank], named: set[str], role_name: str, left_out: tuple[str, ...]
) -> EvidenceLine:
    """Weigh the ranking: only the named candidates fit, others fit as well, or none does."""
    fitting = [r for r in ranks if r.inconsistent == 0 and r.inconclusive == 0]
    numbers = {
        "landmarks_of_kind_with_position": len(ranks),
        "fitting": [r.landmark_id for r in fitting],
    }
    others = [r.landmark_id for r in fitting if r.landmark_id not in named]
    if not ranks:
        outcome, summary = (
            Outcome.NOT_TESTED,
            (f"No landmark of the kind of {role_name!r} has a position in the registry."),
        )
    elif others:
        outcome, summary = (
            Outcome.NO_EVIDENCE,
            (
                f"{len(others)} other landmark(s) of the same kind fit the published description "
                f"as well: {', '.join(others[:8])}."
            ),
        )
    elif any(r.landmark_id in named for r in fitting):
        return EvidenceLine(
            line="specificity",
            outcome=Outcome.SUPPORTS,
            strength="weak",
            summary=f"Of {len(ranks)} landmarks of the kind, only {role_name!r} fits the "
            "published description.",
            numbers=numbers,
            notes=left_out,
        )
    else:
        outcome, summary = (
            Outcome.NO_EVIDENCE,
            (f"None of {len(ranks)} landmarks of the kind fits every published sentence."),
        )
    return EvidenceLine(
        line="specificity",
        outcome=outcome,
        summary=summary,
        numbers=numbers,
        notes=left_out,
        would_decide=(
            (f"positions of the landmarks of the kind of {role_name!r}",) if not ranks else ()
        ),
    )


def _place_claims(claims: ClaimSet, role_name: str) -> tuple[tuple[Claim, ...], tuple[str, ...]]:
    """Return the claims about the place ``role_name`` names, and a note of those left out.

    A claim about the camera measures the footage's own positions (the location line), not
    the place: it cannot tell one landmark of the kind from another here.
    """
    from geoverify.claims import uses_camera

    used = [c for c in claims.claims if role_name in (c.subject, c.reference)]
    about_camera = [c.id for c in used if uses_camera(claims, c)]
    place_claims = tuple(c for c in used if c.id not in about_camera)
    if not about_camera:
        return place_claims, ()
    return place_claims, (
        f"left out: {', '.join(about_camera)} (about the camera: the footage's own "
        "positions are weighed in the location line)",
    )
