"""The visual line: frames matched to the landmark ``shows`` names, or to others."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    from geoverify.registry import Landmark, Registry


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
    to_shown, others = _partition(matches, shown)
    near, far = _split_by_place(others, hyp, registry, claims)
    numbers: dict[str, Any] = {
        "frames_checked": len(matches),
        "frames_matching_shown": len(to_shown),
        "frames_matching_others": len(others),
    }
    notes = _near_notes(near)
    if to_shown and not far:
        return _supporting(to_shown, len(matches), numbers, notes, max_false_match_rate)
    if far:
        strength = "weak" if to_shown else _strength(far, max_false_match_rate)
        return _contradicting(far, len(to_shown), hyp.shows, strength, numbers, notes)
    if not matched_at_all or not any(lm.reference_images for lm in shown.values()):
        return _no_reference_line(hyp.shows, shown, numbers)
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
        notes=notes,
    )  # fmt: skip


def _partition(
    matches: Sequence[FrameMatch], shown: Mapping[str, Landmark]
) -> tuple[list[FrameMatch], list[FrameMatch]]:
    """Split the matched frames: to a landmark of ``shows``, and to any other landmark."""
    hits = [fm for fm in matches if fm.match.verdict == "match" and fm.match.best is not None]
    to_shown = [fm for fm in hits if _best_id(fm) in shown]
    others = [fm for fm in hits if _best_id(fm) not in shown]
    return to_shown, others


def _no_reference_line(
    shows: str, shown: Mapping[str, Landmark], numbers: dict[str, Any]
) -> EvidenceLine:
    """Return the line when no frame could be matched to a reference of ``shows``."""
    return EvidenceLine(
        line="visual",
        outcome=Outcome.NOT_TESTED,
        summary=f"No reference image of {shows!r} is in the registry: nothing to match.",
        numbers=numbers,
        would_decide=tuple(
            f"a reference image of {i!r}" for i, lm in shown.items() if not lm.reference_images
        ),
    )


def _contradicting(
    far: Sequence[FrameMatch],
    to_shown: int,
    shows: str,
    strength: Literal["strong", "weak"],
    numbers: dict[str, Any],
    notes: tuple[str, ...],
) -> EvidenceLine:
    """Return the contradiction of frames matching landmarks far from the claimed place."""
    summary = (
        f"{len(far)} frame(s) match {', '.join(map(repr, _ids(far)))}, not {shows!r}"
        f" ({_rate_text(far)})"
    )
    if to_shown:
        summary += f"; {to_shown} frame(s) match {shows!r}"
    return EvidenceLine(
        line="visual",
        outcome=Outcome.CONTRADICTS,
        strength=strength,
        summary=summary + ".",
        numbers=numbers,
        notes=notes,
    )


def _best_id(fm: FrameMatch) -> str | None:
    """Return the landmark a frame's best match names (``None`` when there is none)."""
    return fm.match.best.landmark_id if fm.match.best else None


def _ids(frames: Sequence[FrameMatch]) -> list[str]:
    """Return the landmarks the frames match, sorted, each once."""
    return sorted({fm.match.best.landmark_id for fm in frames if fm.match.best})


def _near_notes(near: Sequence[FrameMatch]) -> tuple[str, ...]:
    """Note frames that match other landmarks within the claimed distance of the place."""
    if not near:
        return ()
    return (
        f"frames also match {', '.join(map(repr, _ids(near)))}, within the claimed distance of "
        "the claimed place: consistent with it",
    )


def _strength(
    frames: Sequence[FrameMatch], max_false_match_rate: float
) -> Literal["strong", "weak"]:
    """Strong when some frame's estimated false-match rate is at most the bound."""
    rates = [fm.match.false_match_rate for fm in frames]
    ok = [r for r in rates if r is not None and r <= max_false_match_rate]
    return "strong" if ok else "weak"


def _rate_text(frames: Sequence[FrameMatch]) -> str:
    """Say the lowest estimated false-match rate of the frames, or that none was estimated."""
    rated = [fm for fm in frames if fm.match.false_match_rate]
    if not rated:
        return "false-match rate not estimable (too few other references): weak"
    lowest = min(rated, key=lambda fm: fm.match.false_match_rate or 1.0)
    # at its 1/(n+1) floor the rate is the controls' resolution, and is said to be
    return f"estimated false-match rate {lowest.match.false_match_rate_text}"


def _supporting(
    to_shown: Sequence[FrameMatch],
    checked: int,
    numbers: dict[str, Any],
    notes: tuple[str, ...],
    max_false_match_rate: float,
) -> EvidenceLine:
    """Return the support of the frames that match the landmark ``shows`` names."""
    best = max(to_shown, key=lambda fm: fm.match.best.inliers if fm.match.best else 0)
    inliers = best.match.best.inliers if best.match.best else 0
    numbers = {
        **numbers,
        "best_inliers": inliers,
        "best_false_match_rate": best.match.false_match_rate,
    }
    lid = _best_id(best) or ""
    return EvidenceLine(
        line="visual",
        outcome=Outcome.SUPPORTS,
        strength=_strength(to_shown, max_false_match_rate),
        summary=(
            f"{len(to_shown)} of {checked} frames match the reference of {lid!r} "
            f"({inliers} consistent points at best; {_rate_text(to_shown)})."
        ),
        numbers=numbers,
        notes=notes,
    )


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
