"""Ranking the landmarks that could fill a role: "how unique is this identification?"."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

from geoverify.claims._check import CameraFix, checker
from geoverify.claims._model import ClaimSet
from geoverify.claims._result import UNITS, ClaimCheck, Unit
from geoverify.claims._suggest import did_you_mean
from geoverify.errors import InputError
from geoverify.models import CheckResult, Verdict
from geoverify.registry import Registry

__all__ = ["CandidateRank", "rank_candidates"]


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
        msg = f"no role {role!r} in the claims file{did_you_mean(role, claims.roles)}"
        raise InputError(
            msg, code="E_UNKNOWN_ROLE", hint=f"Roles: {', '.join(claims.roles) or 'none'}."
        )
    check = checker(registry, claims, camera)
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
