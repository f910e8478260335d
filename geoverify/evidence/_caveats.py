"""The bottom line's caveats, and the hypothesis said in words."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from geoverify.claims import CAMERA
from geoverify.evidence._model import BottomVerdict, EvidenceLine, Outcome, fmt_m, iso

if TYPE_CHECKING:
    from geoverify.claims import ClaimSet, Hypothesis
    from geoverify.models import CheckResult
    from geoverify.registry import Landmark, Registry


def caveats_for(
    lines: Sequence[EvidenceLine],
    checks: Sequence[CheckResult],
    hyp: Hypothesis | None,
    verdict: BottomVerdict,
) -> tuple[str, ...]:
    out = []
    if hyp is None:
        out.append(
            "no hypothesis was stated (no claims file, claims_version 1, or no footage: "
            "section): the lines say what the file claims and shows, and decide nothing"
        )
    exact = sorted(
        {n.split("'")[1] for c in checks for n in c.notes if "not stated: treated as exact" in n}
    )
    if exact:
        out.append(
            "some verdicts rest on positions with no stated uncertainty, treated as exact: "
            + ", ".join(exact)
        )
    if verdict is BottomVerdict.SUPPORTED and all(
        ln.strength == "weak" for ln in lines if ln.outcome is Outcome.SUPPORTS
    ):
        out.append("all the support is weak (see each line)")
    for ln in lines:
        if ln.line == "description" and ln.outcome is Outcome.CONTRADICTS:
            out.append("the published description does not fit: " + ln.summary)
    return tuple(out)


def osm_after(hyp: Hypothesis | None, registry: Registry, claims: ClaimSet) -> tuple[str, ...]:
    """Warn when a landmark's OpenStreetMap data was edited after the footage's claimed date.

    A war-damaged place may be mapped after the event: the map then shows it as it was after.
    """
    if hyp is None:
        return ()
    claimed = hyp.filmed_until_utc or hyp.filmed_from_utc
    if claimed is None:
        return ()
    ids = _named_landmarks(hyp, claims)
    return tuple(
        caveat for lm in registry.landmarks if lm.id in ids for caveat in _edited_after(lm, claimed)
    )


def _named_landmarks(hyp: Hypothesis, claims: ClaimSet) -> set[str]:
    """Return every landmark the hypothesis and the claims name (through their roles)."""
    names = {hyp.shows, hyp.filmed_at}
    names |= {n for c in claims.claims for n in (c.subject, c.reference)}
    ids: set[str] = set()
    for name in names - {None, "", CAMERA}:
        ids |= set(claims.candidates(name or ""))
    return ids


def _edited_after(lm: Landmark, claimed: datetime) -> list[str]:
    """Say which of a landmark's OpenStreetMap sources were edited after ``claimed``."""
    out = []
    for src in lm.sources:
        if src.kind != "osm" or not src.osm_timestamp:
            continue
        try:
            edited = datetime.fromisoformat(src.osm_timestamp.replace("Z", "+00:00"))
        except ValueError:
            continue
        if edited.tzinfo is not None and edited > claimed:
            out.append(
                f"the OpenStreetMap data of {lm.id!r} ({src.osm_type} {src.osm_id} version "
                f"{src.osm_version}, {src.osm_timestamp}) was edited after the footage's "
                f"claimed date ({iso(claimed)}): the map may show the place as it was after "
                "the event; import it with --as-of that date"
            )
    return out


def describe_hypothesis(hyp: Hypothesis | None) -> str:
    """Say the hypothesis in words: what the footage shows, where and when it was filmed."""
    if hyp is None:
        return "no hypothesis stated"
    parts = []
    if hyp.shows:
        parts.append(f"shows {hyp.shows}")
    if hyp.filmed_at:
        parts.append(f"filmed within {fmt_m(hyp.within_m or 0.0)} of {hyp.filmed_at}")
    elif hyp.filmed_at_point is not None:
        p = hyp.filmed_at_point
        parts.append(f"filmed within {fmt_m(hyp.within_m or 0.0)} of {p.lat:.6f}, {p.lon:.6f}")
    if hyp.filmed_from_utc or hyp.filmed_until_utc:
        parts.append(f"between {iso(hyp.filmed_from_utc)} and {iso(hyp.filmed_until_utc)}")
    return "the footage " + ", ".join(parts) if parts else "no hypothesis stated"
