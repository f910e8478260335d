"""The visual line: frames matched to the landmark ``shows`` names, or to others."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from geoverify.evidence._model import (
    EvidenceLine,
    Outcome,
    claimed_targets,
    distance_to,
    resolve_role,
)

if TYPE_CHECKING:
    from geoverify.claims import ClaimSet, Hypothesis
    from geoverify.matching import FrameMatch
    from geoverify.registry import Registry


def visual_line(
    hyp: Hypothesis | None,
    registry: Registry,
    claims: ClaimSet,
    matches: Sequence[FrameMatch],
    *,
    max_false_match_rate: float,
    matched_at_all: bool,
) -> EvidenceLine:
    """Frames matched to the landmark ``shows`` names, or to others."""
    if hyp is None or not hyp.shows:
        return EvidenceLine(
            line="visual",
            outcome=Outcome.NOT_TESTED,
            summary="The hypothesis names no landmark the footage shows.",
            would_decide=("name what it shows: footage.shows",),
        )
    shown = {lm.id: lm for lm in resolve_role(registry, claims, hyp.shows)}
    with_refs = [i for i, lm in shown.items() if lm.reference_images]
    hits = [fm for fm in matches if fm.match.verdict == "match" and fm.match.best is not None]
    to_shown = [fm for fm in hits if fm.match.best and fm.match.best.landmark_id in shown]
    others = [fm for fm in hits if fm.match.best and fm.match.best.landmark_id not in shown]
    near, far = _split_by_place(others, hyp, registry, claims)
    numbers: dict[str, Any] = {
        "frames_checked": len(matches),
        "frames_matching_shown": len(to_shown),
        "frames_matching_others": len(others),
    }
    notes = []
    if near:
        ids = sorted({fm.match.best.landmark_id for fm in near if fm.match.best})
        notes.append(
            f"frames also match {', '.join(map(repr, ids))}, within the claimed distance of the "
            "claimed place: consistent with it"
        )

    def strength(frames: Sequence[FrameMatch]) -> Literal["strong", "weak"]:
        rates = [fm.match.false_match_rate for fm in frames]
        ok = [r for r in rates if r is not None and r <= max_false_match_rate]
        return "strong" if ok else "weak"

    def rate_text(frames: Sequence[FrameMatch]) -> str:
        rated = [fm for fm in frames if fm.match.false_match_rate]
        if not rated:
            return "false-match rate not estimable (too few other references): weak"
        lowest = min(rated, key=lambda fm: fm.match.false_match_rate or 1.0)
        # at its 1/(n+1) floor the rate is the controls' resolution, and is said to be
        return f"estimated false-match rate {lowest.match.false_match_rate_text}"

    if to_shown and not far:
        best = max(to_shown, key=lambda fm: fm.match.best.inliers if fm.match.best else 0)
        numbers["best_inliers"] = best.match.best.inliers if best.match.best else 0
        numbers["best_false_match_rate"] = best.match.false_match_rate
        lid = best.match.best.landmark_id if best.match.best else ""
        return EvidenceLine(
            line="visual",
            outcome=Outcome.SUPPORTS,
            strength=strength(to_shown),
            summary=(
                f"{len(to_shown)} of {len(matches)} frames match the reference of {lid!r} "
                f"({numbers['best_inliers']} consistent points at best; {rate_text(to_shown)})."
            ),
            numbers=numbers,
            notes=tuple(notes),
        )
    if far:
        ids = sorted({fm.match.best.landmark_id for fm in far if fm.match.best})
        summary = (
            f"{len(far)} frame(s) match {', '.join(map(repr, ids))}, not {hyp.shows!r}"
            f" ({rate_text(far)})"
        )
        if to_shown:
            summary += f"; {len(to_shown)} frame(s) match {hyp.shows!r}"
        return EvidenceLine(
            line="visual",
            outcome=Outcome.CONTRADICTS,
            strength="weak" if to_shown else strength(far),
            summary=summary + ".",
            numbers=numbers,
            notes=tuple(notes),
        )
    if not with_refs or not matched_at_all:
        return EvidenceLine(
            line="visual",
            outcome=Outcome.NOT_TESTED,
            summary=f"No reference image of {hyp.shows!r} is in the registry: nothing to match.",
            numbers=numbers,
            would_decide=tuple(f"a reference image of {i!r}" for i in shown if i not in with_refs),
        )
    return EvidenceLine(
        line="visual",
        outcome=Outcome.NO_EVIDENCE,
        summary=(
            f"No frame matched {hyp.shows!r} (of {len(matches)} checked); no match is not "
            "evidence either way."
        ),
        numbers=numbers,
        would_decide=("frames that show the landmark from the reference's side, or another "
                      "reference image",),
        notes=tuple(notes),
    )  # fmt: skip


def missing_references(
    hyp: Hypothesis | None, registry: Registry, claims: ClaimSet
) -> tuple[str, ...]:
    if hyp is None or not hyp.shows:
        return ()
    return tuple(
        f"a reference image of {lm.id!r}"
        for lm in resolve_role(registry, claims, hyp.shows)
        if not lm.reference_images
    )


def _split_by_place(
    others: Sequence[FrameMatch], hyp: Hypothesis, registry: Registry, claims: ClaimSet
) -> tuple[list[FrameMatch], list[FrameMatch]]:
    """Split matches to other landmarks into those near the claimed place and the rest."""
    if hyp.within_m is None or (hyp.filmed_at is None and hyp.filmed_at_point is None):
        return [], list(others)
    targets, _ = claimed_targets(hyp, registry, claims)
    near: list[FrameMatch] = []
    far: list[FrameMatch] = []
    for fm in others:
        lm = registry.get(fm.match.best.landmark_id) if fm.match.best else None
        pos = lm.anchor if lm is not None else None
        close = pos is not None and any(
            distance_to(pos, t)[0] <= hyp.within_m + (lm.uncertainty_m or 0.0)
            for _, t in targets
            if lm is not None
        )
        (near if close else far).append(fm)
    return near, far
