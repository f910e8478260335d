"""The rule table: from the lines of evidence to the bottom line, in a fixed order."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from geoverify.evidence._model import BottomVerdict, Outcome

if TYPE_CHECKING:
    from geoverify.evidence._model import EvidenceLine

# evidence from the footage (its content credentials included)
FOOTAGE_LINES = frozenset({"location", "time", "visual", "sun", "provenance", "text"})
PRIMARY_LINES = frozenset({"location", "visual"})  # support "of its own"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FootageFacts:
    """What the lines about the footage (``FOOTAGE_LINES``) say, as the rules read them."""

    support: bool  # one supports (a time that fits only as written excepted)
    contra: bool  # one contradicts
    strong_contra: bool  # one contradicts strongly
    primary: bool  # the location or the visual line supports
    tampered: bool = False  # the content credentials fail validation (changed after signing)

    @classmethod
    def of(cls, lines: Sequence[EvidenceLine]) -> FootageFacts:
        """Read the facts the rules test from the lines of evidence."""
        footage = [ln for ln in lines if ln.line in FOOTAGE_LINES]
        supporting = [ln for ln in footage if ln.outcome is Outcome.SUPPORTS]
        contradicting = [ln for ln in footage if ln.outcome is Outcome.CONTRADICTS]
        return cls(
            # a time that fits only as written (its zone unknown, or implied by a GPS time of
            # day alone) is weak support: it does not stand against a contradiction
            support=any(not _weak_time(ln) for ln in supporting),
            contra=bool(contradicting),
            strong_contra=any(ln.strength == "strong" for ln in contradicting),
            primary=any(ln.line in PRIMARY_LINES for ln in supporting),
            tampered=_integrity(lines),
        )


def _integrity(lines: Sequence[EvidenceLine]) -> bool:
    """Whether the provenance line contradicts the file's integrity (a failed validation)."""
    return any(
        ln.line == "provenance"
        and ln.outcome is Outcome.CONTRADICTS
        and ln.numbers.get("state") == "invalid"
        for ln in lines
    )


def _weak_time(line: EvidenceLine) -> bool:
    return line.line == "time" and line.strength == "weak"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One rule of the table: when it ``holds``, the bottom line is ``verdict``."""

    id: str
    verdict: BottomVerdict
    text: str  # the condition, in words (shown with every report)
    holds: Callable[[FootageFacts], bool]


# evaluated in this order, the first that holds gives the verdict
RULE_TABLE: tuple[Rule, ...] = (
    Rule(
        id="R0",
        verdict=BottomVerdict.CONTRADICTED,
        text="the file's content credentials (C2PA) fail validation: its content changed after "
        "it was signed, so the file is not what was signed (said first, whatever the other "
        "lines say)",
        holds=lambda f: f.tampered,
    ),
    Rule(
        id="R1",
        verdict=BottomVerdict.CONFLICTING,
        text="a line about the footage (location, time, visual, sun, provenance, text in the "
        "frames) supports the hypothesis and another contradicts it (a time that fits only as "
        "written, its zone unknown, does not count as support here)",
        holds=lambda f: f.support and f.contra,
    ),
    Rule(
        id="R2",
        verdict=BottomVerdict.CONTRADICTED,
        text="a line about the footage contradicts the hypothesis strongly, and none supports it",
        holds=lambda f: f.strong_contra and not f.support,
    ),
    Rule(
        id="R3",
        verdict=BottomVerdict.SUPPORTED,
        text="the footage's own position or a visual match supports the hypothesis (the "
        "location or visual line), and no line about the footage contradicts it",
        holds=lambda f: f.primary and not f.contra,
    ),
    Rule(
        id="R4",
        verdict=BottomVerdict.NOT_ESTABLISHED,
        text="anything else: no evidence, only weak contradictions, or support only from the "
        "time, the sun, the text in the frames or the published description",
        holds=lambda f: True,
    ),
)

# (id, verdict, condition), in the table's order
RULES: tuple[tuple[str, BottomVerdict, str], ...] = tuple(
    (r.id, r.verdict, r.text) for r in RULE_TABLE
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
    facts = FootageFacts.of(lines)
    rule = next(r for r in RULE_TABLE if r.holds(facts))  # R4 always holds
    return rule.verdict, rule.id, rule.text
