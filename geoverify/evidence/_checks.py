"""The description and sun lines, built from the claim checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from geoverify.claims import CAMERA
from geoverify.evidence._model import EvidenceLine, Outcome, resolve_role
from geoverify.models import CheckResult, Verdict

if TYPE_CHECKING:
    from geoverify.claims import Claim, ClaimSet
    from geoverify.registry import Registry


def checks_line(
    line: Literal["description", "sun"],
    checks: Sequence[CheckResult],
    *,
    registry: Registry,
    claims: ClaimSet,
    contradiction: Literal["strong", "weak"],
    preface: str,
    none_text: str,
) -> EvidenceLine:
    if not checks:
        return EvidenceLine(line=line, outcome=Outcome.NOT_TESTED, summary=none_text)
    bad = [c for c in checks if c.verdict is Verdict.INCONSISTENT]
    unsure = [c for c in checks if c.verdict is Verdict.INCONCLUSIVE]
    numbers = {
        "consistent": sum(1 for c in checks if c.verdict is Verdict.CONSISTENT),
        "inconsistent": len(bad),
        "inconclusive": len(unsure),
    }
    decide = tuple(dict.fromkeys(n for c in unsure for n in _deciders(c, registry, claims)))
    if bad:
        return EvidenceLine(
            line=line,
            outcome=Outcome.CONTRADICTS,
            strength=contradiction,
            summary=preface + "; ".join(f"{c.text!r} does not fit" for c in bad) + ".",
            numbers=numbers,
            would_decide=decide,
        )
    if not unsure:
        return EvidenceLine(
            line=line,
            outcome=Outcome.SUPPORTS,
            strength="weak",
            summary=preface + "every one fits (" + "; ".join(repr(c.text) for c in checks) + ").",
            numbers=numbers,
        )
    return EvidenceLine(
        line=line,
        outcome=Outcome.NO_EVIDENCE,
        summary=preface
        + f"{len(unsure)} of {len(checks)} cannot be decided ("
        + "; ".join(repr(c.text) for c in unsure)
        + ").",
        numbers=numbers,
        would_decide=decide,
    )


def _deciders(check: CheckResult, registry: Registry, claims: ClaimSet) -> list[str]:
    """List everything that would decide an inconclusive check, at once.

    Not only the reason the check stopped at: every landmark it names without a position,
    and a line landmark (a river, a street) that is only a point.
    """
    claim = next((c for c in claims.claims if c.id == check.name), None)
    out = _landmark_deciders(check.name, claim, registry, claims) if claim is not None else []
    reasons = [c.reason for c in check.candidates if c.verdict is Verdict.INCONCLUSIVE]
    out += [f"{check.name}: {r}" for r in dict.fromkeys(reasons) if r and "no sourced" not in r]
    return out


_LINE_TYPES = ("LineString", "MultiLineString")


def _landmark_deciders(name: str, claim: Claim, registry: Registry, claims: ClaimSet) -> list[str]:
    """List the positions, and the courses as lines, that the claim's landmarks lack."""
    out: list[str] = []
    for part, role in (("subject", claim.subject), ("reference", claim.reference)):
        if not role or role == CAMERA:
            continue
        needs_line = part == "reference" and claim.kind == "side_of_line"
        for lm in resolve_role(registry, claims, role):
            if lm.geometry is None:
                out.append(f"{name}: a sourced position for {lm.id!r}")
            elif needs_line and lm.geometry.geom_type not in _LINE_TYPES:
                out.append(
                    f"{name}: the course of {lm.id!r} as a line (the registry has a "
                    f"{lm.geometry.geom_type.lower()})"
                )
    return out
