"""The bottom line: was this footage filmed where, and when, it is said to be.

Input: the hypothesis of a claims file (``footage:``: what the footage shows, where and when it
was filmed), what the file says about itself (``probe``), the frames' landmark matches, the
claim checks and the registry. Output: a ``BottomLine``: one verdict from a fixed vocabulary,
the rule of ``RULES`` that gave it, and the lines of evidence behind it, each with one outcome
(``supports``, ``contradicts``, ``no_evidence``, ``not_tested``), its numbers, one sentence an
editor can read, and what would decide it when it cannot.

The lines:

- **location**: every position the file claims (a location tag, or every fix of a GPS track,
  with its stated accuracy: EXIF GPSHPositioningError, Apple's accuracy radius) against
  ``filmed_at``; a position certainly beyond ``within_m`` (distance minus the position's
  accuracy and the place's uncertainty) contradicts, one certainly inside (distance plus both)
  supports, weakly when the position states no accuracy or the file was re-muxed (its metadata
  can be stale or forged). A place with no position is bounded instead: by the registry's area
  of interest, else by the role's other candidates, else by every landmark of the registry
  (assumed within 50 km, or their own span, of them); a position beyond the bound contradicts,
  and a bound never supports. Claims with ``subject: camera`` count here too.
- **time**: the file's capture time against ``filmed_between``. The GPS clock is preferred (a
  GPS track, the EXIF GPS time), then a time with its zone, then a time without zone at the UTC
  offset the file's GPS time of day implies (probe's ``I_IMPLIED_UTC_OFFSET``); a time with no
  zone at all may be local time in any zone, so it is widened from 14 h before to 12 h after
  (UTC-12 to UTC+14): inside the window only as written, it is weak support. The clip's
  duration is allowed either way.
- **visual**: frames matched to the landmark of ``shows`` support it (strongly when the
  estimated false-match rate is at most the matcher's bound, weakly when it could not be
  estimated); frames matched to a landmark far from the claimed place contradict; no match is
  ``no_evidence``, never support and never contradiction.
- **provenance**: the file's content credentials (C2PA), read and validated offline. A manifest
  that fails validation contradicts the file's integrity (rule R0: said first); a valid one
  whose signer is on the analyst's trust list supports the hypothesis when its signed capture
  place or time fits it, contradicts it when they do not; an untrusted signer, no manifest
  (platforms strip them) or a remote one (not fetched) is ``no_evidence``.
- **text**: registry names read in the frames (``geoverify.text``: signs, street names).
  Text naming the claimed place or a landmark within the claimed distance of it supports,
  weakly; text naming only registry places far from it (over 20 km beyond) contradicts,
  weakly (a road sign names distant towns, a sign can be moved, a name can repeat); no
  readable text, or none naming a registry place, is ``no_evidence``.
- **description**: the published sentences about the place (distances, side of a river...).
  They test the published text, not the footage, and count only as context.
- **sun**: shadow claims at the claimed place and time.
- **specificity**: how many other landmarks of the same kind would fit the same description.

The rule table (``RULES``) is small, documented and deterministic; no weighted score.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from geoverify.claims import CAMERA
from geoverify.evidence._caveats import (
    caveats_for,
    describe_hypothesis as describe_hypothesis,
    osm_after,
)
from geoverify.evidence._checks import checks_line
from geoverify.evidence._declination import Declination, magnetic_declination
from geoverify.evidence._facing import (
    CameraHeading,
    FacingCheck,
    camera_headings,
    facing_check,
    facing_checks,
)
from geoverify.evidence._location import location_line as location_line
from geoverify.evidence._model import (
    RESECTION,
    BottomVerdict,
    CameraPosition,
    EvidenceLine,
    LineName as LineName,
    Outcome,
    camera_positions,
)
from geoverify.evidence._provenance import provenance_line as provenance_line
from geoverify.evidence._rules import (
    FOOTAGE_LINES as FOOTAGE_LINES,
    PRIMARY_LINES as PRIMARY_LINES,
    RULES,
    BottomLine,
    decide as decide,
)
from geoverify.evidence._specificity import specificity_line as specificity_line
from geoverify.evidence._text import text_line as text_line
from geoverify.evidence._time import time_line as time_line
from geoverify.evidence._visual import missing_references, visual_line as visual_line

if TYPE_CHECKING:
    from geoverify.claims import ClaimSet, Hypothesis
    from geoverify.matching import FrameMatch
    from geoverify.models import CheckResult
    from geoverify.probing import MediaInfo
    from geoverify.registry import Registry
    from geoverify.text import FrameText

__all__ = [
    "RESECTION",
    "RULES",
    "BottomLine",
    "BottomVerdict",
    "CameraHeading",
    "CameraPosition",
    "Declination",
    "EvidenceLine",
    "FacingCheck",
    "Outcome",
    "camera_headings",
    "camera_positions",
    "facing_check",
    "facing_checks",
    "magnetic_declination",
    "weigh_evidence",
]


def weigh_evidence(
    *,
    hypothesis: Hypothesis | None,
    registry: Registry,
    claims: ClaimSet,
    checks: Sequence[CheckResult],
    media: MediaInfo | None,
    matches: Sequence[FrameMatch] = (),
    matched_at_all: bool = False,
    max_false_match_rate: float = 0.05,
    posted_utc: datetime | None = None,
    cameras: Sequence[CameraPosition] | None = None,
    texts: Sequence[FrameText] | None = None,
) -> BottomLine:
    """Build every line of evidence and apply the rule table.

    ``texts``: the text read in the frames (``geoverify.text.read_frames_text``, with the
    registry's names matched); ``None``: not read, the text line is ``not_tested``.

    ``checks`` are ``check_claims``' results for ``claims`` (with the file's camera positions
    as ``camera``); ``matched_at_all`` says whether frames were matched against the registry.
    ``cameras`` are the camera positions the location line weighs: the file's own
    (``camera_positions(media)``) when ``None``; ``verify`` adds a resected camera to them.
    A line that decided (``supports``, ``contradicts``) keeps no ``would_decide``, and the
    bottom line lists next steps only when it is not established or conflicting.
    """
    camera_checks, shadow, description = _split_checks(checks, claims)
    if media is None:  # the claims alone (geoverify check): nothing about the footage
        footage_lines = _no_footage_lines(hypothesis, registry, claims)
    else:
        footage_lines = (
            location_line(
                hypothesis,
                registry,
                claims,
                camera_positions(media) if cameras is None else tuple(cameras),
                media,
                camera_checks,
            ),
            time_line(hypothesis, media, posted_utc),
            visual_line(
                hypothesis,
                registry,
                claims,
                matches,
                max_false_match_rate=max_false_match_rate,
                matched_at_all=matched_at_all,
            ),
            provenance_line(hypothesis, media, registry, claims),
            text_line(hypothesis, registry, claims, texts),
        )
    lines = (
        *footage_lines,
        _description_line(description, registry, claims),
        _sun_line(shadow, registry, claims),
        specificity_line(hypothesis, registry, claims),
    )
    verdict, rule, rule_text = decide(lines)
    lines = tuple(_settled(ln) for ln in lines)
    caveats = caveats_for(lines, checks, hypothesis, verdict) + osm_after(
        hypothesis, registry, claims
    )
    return BottomLine(
        verdict=verdict,
        rule=rule,
        rule_text=rule_text,
        hypothesis=describe_hypothesis(hypothesis),
        lines=lines,
        next_steps=_next_steps(lines, verdict),
        caveats=caveats,
    )


def _split_checks(
    checks: Sequence[CheckResult], claims: ClaimSet
) -> tuple[list[CheckResult], list[CheckResult], list[CheckResult]]:
    """Split the checks by line: about the camera (location), shadows (sun), the rest."""
    by_name = {c.id: c for c in claims.claims}

    def about_camera(check: CheckResult) -> bool:
        claim = by_name.get(check.name)
        return claim is not None and CAMERA in (claim.subject, claim.reference)

    camera_checks = [c for c in checks if claims.version >= 2 and about_camera(c)]
    shadow = [c for c in checks if c.kind == "shadow" and c not in camera_checks]
    description = [c for c in checks if c.kind != "shadow" and c not in camera_checks]
    return camera_checks, shadow, description


def _no_footage_lines(
    hypothesis: Hypothesis | None, registry: Registry, claims: ClaimSet
) -> tuple[EvidenceLine, ...]:
    """Return the footage's lines when only the claims were checked: none was tested."""
    no_footage = "No footage was given: only the claims file was checked."
    run = ("run `geoverify verify` with the footage",)
    refs = missing_references(hypothesis, registry, claims)
    return (
        EvidenceLine(line="location", outcome=Outcome.NOT_TESTED, summary=no_footage,
                     would_decide=run),
        EvidenceLine(line="time", outcome=Outcome.NOT_TESTED, summary=no_footage,
                     would_decide=run),
        EvidenceLine(line="visual", outcome=Outcome.NOT_TESTED, summary=no_footage,
                     would_decide=(*run, *refs)),
        EvidenceLine(line="provenance", outcome=Outcome.NOT_TESTED, summary=no_footage,
                     would_decide=run),
        EvidenceLine(line="text", outcome=Outcome.NOT_TESTED, summary=no_footage,
                     would_decide=run),
    )  # fmt: skip


def _description_line(
    checks: Sequence[CheckResult], registry: Registry, claims: ClaimSet
) -> EvidenceLine:
    return checks_line(
        "description",
        checks,
        registry=registry,
        claims=claims,
        contradiction="weak",
        preface="These checks test the published text about the place, not the footage: ",
        none_text="No published description of the place was given to test.",
    )


def _sun_line(checks: Sequence[CheckResult], registry: Registry, claims: ClaimSet) -> EvidenceLine:
    return checks_line(
        "sun",
        checks,
        registry=registry,
        claims=claims,
        contradiction="strong",
        preface="Shadows measured in the footage against the sun at the claimed place and time: ",
        none_text="No shadow was measured in the footage.",
    )


_UNDECIDED = (Outcome.NO_EVIDENCE, Outcome.NOT_TESTED)


def _settled(line: EvidenceLine) -> EvidenceLine:
    """Drop what would decide a line that decided: only an undecided line keeps it."""
    return line if line.outcome in _UNDECIDED else dataclasses.replace(line, would_decide=())


def _next_steps(lines: Sequence[EvidenceLine], verdict: BottomVerdict) -> tuple[str, ...]:
    """List what would decide the lines, only under a bottom line that is not decided either.

    That is, one not established or conflicting; each step once, in the lines' order.
    """
    if verdict not in (BottomVerdict.NOT_ESTABLISHED, BottomVerdict.CONFLICTING):
        return ()
    return tuple(dict.fromkeys(f"{ln.line}: {d}" for ln in lines for d in ln.would_decide))
