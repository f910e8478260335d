"""The verdict every matcher pass shares: negative controls, false-match rate, mirrored footage.

A pass scores references (``LandmarkScore``: verified correspondences); ``decide`` scores the
best candidate against negative controls the same way, estimates the false-match rate
(k + 1) / (n + 1) from them, reaches the verdict (match, no match, ambiguous) and says whether
the footage looks mirrored. See ``geoverify.matching`` for the method.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Literal

from geoverify.matching._options import MatchOptions
from geoverify.matching._verify import LandmarkScore, Reference

Verdict = Literal["match", "no_match", "ambiguous"]
# verdicts from worst to best: a second pass's result replaces the first's only when better
RANK = {"no_match": 0, "ambiguous": 1, "match": 2}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ImageMatch:
    """What one frame shows, with the evidence and its reliability.

    ``verdict`` is ``match`` (best score with inliers >= ``min_inliers``, a false-match rate
    at or below the limit, and no close runner-up), ``ambiguous`` (a different landmark scores
    close), or ``no_match``. ``false_match_rate`` is ``None`` when there were too few controls
    to estimate it; ``false_match_rate_at_floor`` says that no control scored as high as the
    best, so the rate is 1 / (``controls`` + 1), the lowest that many controls can estimate
    (``false_match_rate_text`` says it in words). ``mirrored``: the frame is matched
    (verdict ``match``) to the mirrored reference of its landmark; for any verdict,
    ``best.mirrored`` says which orientation scored best. ``scale`` maps frame pixels to the
    scaled image the points refer to.
    ``affine`` says the result comes from the affine-simulation pass (its scores and controls
    were all computed that way). ``affine_decision`` says why that pass was or was not run:
    ``not_needed`` (the plain pass found enough consistent points), ``off`` (not asked for),
    ``skipped`` (the low-resolution screen found no landmark worth it, see the notes), ``run``.
    ``control_references`` names the negative controls scored: landmark ids (``(mirrored)``
    for a mirrored reference) and ``background:<file>`` for the bundled background photographs.
    ``excluded_controls`` names, in a sentence each, the background photographs left out of
    the controls because they show one of the registry's references, and why
    (``MatchIndex.excluded_background`` holds them as records).
    """

    verdict: Verdict
    best: LandmarkScore | None
    runner_up: LandmarkScore | None
    false_match_rate: float | None
    controls: int
    control_scores: tuple[int, ...]
    mirrored: bool
    scale: float
    notes: tuple[str, ...]
    affine: bool = False
    affine_decision: Literal["not_needed", "off", "skipped", "run"] = "not_needed"
    control_references: tuple[str, ...] = ()
    false_match_rate_at_floor: bool = False
    excluded_controls: tuple[str, ...] = ()

    @property
    def verdict_text(self) -> str:
        """The verdict as a person should read it: a match without an estimated rate says so."""
        if self.verdict == "match" and self.false_match_rate is None:
            return "match (false-match rate not estimated)"
        return self.verdict.replace("_", " ")

    @property
    def false_match_rate_text(self) -> str:
        """The estimated false-match rate in words, with what it rests on.

        ``0.040 (1 in 25, the lowest 24 controls can estimate: none scored as high)`` at the
        floor, ``0.080 (1 of 24 controls scored as high)`` above it.
        """
        best = self.best.inliers if self.best is not None else None
        return false_match_rate_text(
            self.false_match_rate,
            controls=self.controls,
            as_high=sum(1 for c in self.control_scores if best is not None and c >= best),
            at_floor=self.false_match_rate_at_floor,
            scored=best is not None,
        )

    def _repr_html_(self) -> str:
        """Show the verdict and the evidence behind it in Jupyter (text escaped)."""
        from geoverify.models import html_table

        rate = self.false_match_rate_text
        return html_table(
            [
                ("verdict", self.verdict_text),
                ("best", f"{self.best.landmark_id} ({self.best.inliers} inliers)" if self.best
                 else "-"),
                ("runner-up", f"{self.runner_up.landmark_id} ({self.runner_up.inliers})"
                 if self.runner_up else "-"),
                ("false-match rate", rate),
                ("controls", f"{self.controls}: {list(self.control_scores)[:8]}"),
                ("mirrored", self.mirrored),
                ("affine pass", self.affine),
                *(("note", n) for n in self.notes),
                *(("control left out", n) for n in self.excluded_controls),
            ]
        )  # fmt: skip


def false_match_rate_text(
    rate: float | None, *, controls: int, as_high: int, at_floor: bool, scored: bool = True
) -> str:
    """Say an estimated false-match rate with what it rests on (see ``ImageMatch``).

    ``as_high``: the controls that scored at least as high as the best match (k of
    (k + 1) / (n + 1)); ``at_floor``: none did, so the rate is 1 / (``controls`` + 1);
    ``scored``: some landmark scored (without, there is no score to estimate a rate for).
    """
    if rate is None:
        if not scored:
            return "not estimated (no landmark scored)"
        if controls == 0:
            return "not estimated (no negative control scored)"
        return f"not estimated (too few negative controls: {controls})"
    if at_floor:
        return (
            f"{rate:.3f} (1 in {controls + 1}, the lowest {controls} controls can estimate: "
            "none scored as high)"
        )
    return f"{rate:.3f} ({as_high} of {controls} controls scored as high)"


def decide(
    refs: Sequence[Reference],
    score: Callable[[Sequence[int]], Sequence[LandmarkScore]],
    candidates: Sequence[int],
    control_order: Sequence[int],
    opts: MatchOptions,
    scale: float,
    *,
    controls_only_if_needed: bool = False,
) -> ImageMatch:
    """Verify the candidates, then the negative controls, and reach a verdict.

    ``score(ids)`` verifies the frame against each reference of ``ids`` (a pass's
    correspondences and their geometry), in order: the candidates at once, then the controls
    at once, so a pass may score them side by side. ``control_order`` lists every reference,
    most retrieval votes first; the controls are the first ``max_controls`` of them that show
    another landmark than the best candidate. With ``controls_only_if_needed`` the controls
    are skipped when the best score is below ``min_inliers`` (the verdict is ``no_match``
    whatever they score).
    """
    scores: dict[int, LandmarkScore] = dict(zip(candidates, score(candidates), strict=True))
    best_ref = _best(scores, refs)
    others, skipped = _controls_of(refs, best_ref, control_order, opts, controls_only_if_needed)
    missing = [i for i in others if i not in scores]
    scores.update(zip(missing, score(missing), strict=True))
    controls = [scores[i].inliers for i in others]
    fmr, k = _false_match_rate(best_ref, controls, opts)
    notes: list[str] = []
    if best_ref is not None:
        background = any(refs[i].background for i in others)
        notes += _control_notes(best_ref, controls, fmr, background, opts, skipped)
    runner = _runner_up(scores, refs, best_ref)
    verdict_ = verdict(best_ref, runner, controls, fmr, opts, notes)
    # mirrored footage is a finding about a match; the orientation that scored best in a frame
    # that matches nothing is noise (``best.mirrored`` keeps it)
    mirrored = best_ref is not None and best_ref.mirrored and verdict_ == "match"
    if best_ref is not None and mirrored:
        notes.append(_mirrored_note(best_ref, scores, refs))
    return ImageMatch(
        verdict=verdict_,
        best=best_ref,
        runner_up=runner,
        false_match_rate=fmr,
        controls=len(controls),
        control_scores=tuple(sorted(controls, reverse=True)),
        mirrored=mirrored,
        scale=scale,
        notes=tuple(notes),
        control_references=tuple(_control_name(refs[i]) for i in others),
        false_match_rate_at_floor=fmr is not None and k == 0,
    )


def _controls_of(
    refs: Sequence[Reference],
    best: LandmarkScore | None,
    control_order: Sequence[int],
    opts: MatchOptions,
    only_if_needed: bool,
) -> tuple[list[int], bool]:
    """Return the negative controls to score, and whether they were skipped (then none).

    References of the other landmarks, both orientations, and background photographs, most
    retrieval votes first; skipped ``only_if_needed`` when the best score cannot be a match.
    """
    if only_if_needed and (best is None or best.inliers < opts.min_inliers):
        return [], True
    best_id = best.landmark_id if best is not None else None
    return [i for i in control_order if refs[i].landmark_id != best_id][: opts.max_controls], False


def _control_name(ref: Reference) -> str:
    """Name a control as ``control_references`` does: landmark id, ``(mirrored)`` if it is."""
    return ref.landmark_id + (" (mirrored)" if ref.mirrored else "")


def _best(scores: dict[int, LandmarkScore], refs: Sequence[Reference]) -> LandmarkScore | None:
    """Return the best score (upright before mirrored on a tie), or ``None`` if none scored."""
    best_i = max(scores, key=lambda i: (scores[i].inliers, not refs[i].mirrored), default=None)
    return scores[best_i] if best_i is not None and scores[best_i].inliers > 0 else None


def _runner_up(
    scores: dict[int, LandmarkScore], refs: Sequence[Reference], best: LandmarkScore | None
) -> LandmarkScore | None:
    """Return the best score of another registry landmark (not a background photograph)."""
    best_id = best.landmark_id if best is not None else None
    for i in sorted(scores, key=lambda i: -scores[i].inliers):
        if refs[i].landmark_id != best_id and scores[i].inliers > 0 and not refs[i].background:
            return scores[i]
    return None


def _false_match_rate(
    best: LandmarkScore | None, controls: Sequence[int], opts: MatchOptions
) -> tuple[float | None, int]:
    """Return (k + 1) / (n + 1) and k, or ``None`` with too few controls (or nothing scored)."""
    if best is None or len(controls) < opts.min_controls:
        return None, 0
    k = sum(1 for c in controls if c >= best.inliers)
    return (k + 1) / (len(controls) + 1), k


def _control_notes(
    best: LandmarkScore,
    controls: Sequence[int],
    fmr: float | None,
    background: bool,
    opts: MatchOptions,
    skipped: bool,
) -> list[str]:
    """Say what the controls rest on: too few of them, and the best control's score.

    ``background``: background photographs were among the controls; ``skipped``: the
    controls were not scored.
    """
    notes = []
    if fmr is None and not skipped:
        kinds = "other landmarks' references, both orientations"
        if background:
            kinds += ", background photographs"
        notes.append(
            f"only {len(controls)} negative controls ({kinds}): "
            f"too few to estimate a false-match rate (need {opts.min_controls})"
        )
    if controls:
        notes.append(f"best control: {max(controls)} inliers; best match: {best.inliers}")
    return notes


def _mirrored_note(
    best: LandmarkScore, scores: dict[int, LandmarkScore], refs: Sequence[Reference]
) -> str:
    """Say that the frame matches the mirrored reference better than the upright one."""
    other_orientation = max(
        (
            scores[i].inliers
            for i in scores
            if refs[i].landmark_id == best.landmark_id and refs[i].mirrored != best.mirrored
        ),
        default=0,
    )
    return (
        f"the frame matches the mirrored reference of {best.landmark_id!r} better "
        f"({best.inliers} vs {other_orientation} inliers): "
        "the footage is probably mirrored"
    )


def verdict(
    best: LandmarkScore | None,
    runner: LandmarkScore | None,
    controls: Sequence[int],
    fmr: float | None,
    opts: MatchOptions,
    notes: list[str],
) -> Verdict:
    """Reach the verdict from the best score, the runner-up and the controls; say why in notes."""
    if best is None:
        return "no_match"
    if best.inliers < opts.min_inliers:
        notes.append(f"{best.inliers} inliers: fewer than the {opts.min_inliers} a match needs")
        return "no_match"
    if runner is not None and runner.inliers >= opts.ambiguity_ratio * best.inliers:
        notes.append(
            f"runner-up {runner.landmark_id!r} scores {runner.inliers} inliers, "
            f"close to {best.inliers}"
        )
        return "ambiguous"
    if fmr is not None and fmr > opts.max_false_match_rate:
        notes.append(f"estimated false-match rate {fmr:.3f} is above {opts.max_false_match_rate}")
        return "no_match"
    if max(controls, default=0) >= opts.ambiguity_ratio * best.inliers:
        return "ambiguous"
    return "match"


_RANK = {"no_match": 0, "ambiguous": 1, "match": 2}
