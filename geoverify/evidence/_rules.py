"""The rule table: from the lines of evidence to the bottom line, in a fixed order."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from geoverify.evidence._model import BottomVerdict, Outcome

if TYPE_CHECKING:
    from geoverify.evidence._model import EvidenceLine

FOOTAGE_LINES = frozenset({"location", "time", "visual", "sun"})  # evidence from the footage
PRIMARY_LINES = frozenset({"location", "visual"})  # support "of its own"

# (id, verdict, condition): evaluated in this order, the first that holds gives the verdict.
RULES: tuple[tuple[str, BottomVerdict, str], ...] = (
    (
        "R1",
        BottomVerdict.CONFLICTING,
        "a line about the footage (location, time, visual, sun) supports the hypothesis and "
        "another contradicts it (a time that fits only as written, its zone unknown, does not "
        "count as support here)",
    ),
    (
        "R2",
        BottomVerdict.CONTRADICTED,
        "a line about the footage contradicts the hypothesis strongly, and none supports it",
    ),
    (
        "R3",
        BottomVerdict.SUPPORTED,
        "the footage's own position or a visual match supports the hypothesis (the location or "
        "visual line), and no line about the footage contradicts it",
    ),
    (
        "R4",
        BottomVerdict.NOT_ESTABLISHED,
        "anything else: no evidence, only weak contradictions, or support only from the time, "
        "the sun or the published description",
    ),
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BottomLine:
    """The verdict, the rule that gave it, the lines behind it and what would decide more."""

    verdict: BottomVerdict
    rule: str
    rule_text: str
    hypothesis: str
    lines: tuple[EvidenceLine, ...]
    next_steps: tuple[str, ...]
    caveats: tuple[str, ...]
    rules: tuple[tuple[str, str, str], ...] = tuple((r, v.value, t) for r, v, t in RULES)

    @property
    def headline(self) -> str:
        """One line for the top of a report: the verdict in words."""
        words = {
            BottomVerdict.SUPPORTED: "SUPPORTED",
            BottomVerdict.CONTRADICTED: "CONTRADICTED",
            BottomVerdict.CONFLICTING: "CONFLICTING EVIDENCE",
            BottomVerdict.NOT_ESTABLISHED: "NOT ESTABLISHED",
        }
        return f"{words[self.verdict]}: {self.hypothesis}"


def decide(lines: Sequence[EvidenceLine]) -> tuple[BottomVerdict, str, str]:
    """Apply ``RULES`` to the lines: (verdict, rule id, rule text)."""
    footage = [ln for ln in lines if ln.line in FOOTAGE_LINES]
    # a time that fits only as written (its zone unknown, or implied by a GPS time of day
    # alone) is weak support: it does not stand against a contradiction
    support = any(
        ln.outcome is Outcome.SUPPORTS and not (ln.line == "time" and ln.strength == "weak")
        for ln in footage
    )
    contra = any(ln.outcome is Outcome.CONTRADICTS for ln in footage)
    strong_contra = any(
        ln.outcome is Outcome.CONTRADICTS and ln.strength == "strong" for ln in footage
    )
    primary = any(ln.outcome is Outcome.SUPPORTS and ln.line in PRIMARY_LINES for ln in footage)
    holds = {
        "R1": support and contra,
        "R2": strong_contra and not support,
        "R3": primary and not contra,
        "R4": True,
    }
    for rid, verdict, text in RULES:
        if holds[rid]:
            return verdict, rid, text
    raise AssertionError  # pragma: no cover - R4 always holds
