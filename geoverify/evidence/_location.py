"""The location line: the file's own positions against ``filmed_at`` and the camera claims."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from geoverify.evidence._facing import FacingCheck, facing_checks
from geoverify.evidence._measure import (
    CASE_REACH_M as _CASE_REACH_M,
    Measured,
    against,
    against_bounds,
    bound_numbers,
    bound_sentence,
    bounds_for,
)
from geoverify.evidence._model import (
    RESECTION,
    CameraPosition,
    EvidenceLine,
    Outcome,
    claimed_targets,
    codes_of,
    fmt_m,
)
from geoverify.models import CheckResult, Verdict

if TYPE_CHECKING:
    from geoverify.claims import ClaimSet, Hypothesis
    from geoverify.probing import MediaInfo
    from geoverify.registry import Registry


def _camera_claims_line(
    contra: Sequence[CheckResult], ok: Sequence[CheckResult], notes: list[str]
) -> EvidenceLine:
    """Weigh the camera claims alone: the location line when the hypothesis names no place."""
    if contra:
        c = contra[0]
        return EvidenceLine(
            line="location",
            outcome=Outcome.CONTRADICTS,
            strength="strong",
            summary=f"The file's own position contradicts the claim {c.text!r} ({c.name}).",
            numbers={"claims_inconsistent": [c.name for c in contra]},
            notes=tuple(notes),
        )
    if ok:
        return EvidenceLine(
            line="location",
            outcome=Outcome.SUPPORTS,
            strength="weak",
            summary="The file's own position fits the claims about where the camera was: "
            + "; ".join(repr(c.text) for c in ok),
            numbers={"claims_consistent": [c.name for c in ok]},
            notes=tuple(notes),
        )
    return EvidenceLine(
        line="location",
        outcome=Outcome.NOT_TESTED,
        summary="The hypothesis states no place where the footage was filmed.",
        would_decide=("state where it was filmed: footage.filmed_at in the claims file",),
    )


def location_line(
    hyp: Hypothesis | None,
    registry: Registry,
    claims: ClaimSet,
    cams: Sequence[CameraPosition],
    media: MediaInfo | None,
    camera_checks: Sequence[CheckResult] = (),
) -> EvidenceLine:
    """Weigh the file's own positions against ``filmed_at`` and the camera claims.

    A landmark ``filmed_at`` names that has no position is tested through a bound
    (``bound_for``): it can contradict a position far beyond it, never support one. The
    cameras' headings are then checked against the landmark ``shows`` names (``facing``):
    a landmark certainly out of every camera's view contradicts the line.
    """
    line = _position_line(hyp, registry, claims, cams, media, camera_checks)
    checks, kept_out = facing_checks(hyp, registry, claims, media, cams)
    return with_facing(line, checks, kept_out)


def _position_line(
    hyp: Hypothesis | None,
    registry: Registry,
    claims: ClaimSet,
    cams: Sequence[CameraPosition],
    media: MediaInfo | None,
    camera_checks: Sequence[CheckResult] = (),
) -> EvidenceLine:
    """Weigh the file's own positions alone (``location_line`` without the facing check)."""
    codes = codes_of(media)
    remuxed = "W_REMUXED_FFMPEG" in codes
    notes = _remux_notes(remuxed)
    camera_contra = [c for c in camera_checks if c.verdict is Verdict.INCONSISTENT]
    if hyp is None or (hyp.filmed_at is None and hyp.filmed_at_point is None):
        camera_ok = [c for c in camera_checks if c.verdict is Verdict.CONSISTENT]
        return _camera_claims_line(camera_contra, camera_ok, notes)
    targets, missing = claimed_targets(hyp, registry, claims)
    within = float(hyp.within_m or 0.0)
    where = hyp.filmed_at or "the claimed point"
    bounds = bounds_for(missing, hyp, registry, claims)
    if not targets and not bounds:
        return _unplaced_line(where, missing)
    if not cams:
        return _no_position_line(codes, within, notes)
    measured = [against(tid, target, cams, within) for tid, target in targets]
    measured += against_bounds(bounds, cams, within)
    positions = _Positions(
        measured=measured, cams=cams, within_m=within, where=where, remuxed=remuxed,
        camera_contra=camera_contra, missing=missing,
    )  # fmt: skip
    return _weigh_positions(positions, notes)


def _remux_notes(remuxed: bool) -> list[str]:
    if not remuxed:
        return []
    return [
        "the file was re-muxed after capture (W_REMUXED_FFMPEG): its metadata can be "
        "stale, rewritten or forged"
    ]


def _unplaced_line(where: str, missing: Sequence[str]) -> EvidenceLine:
    """Return the line when the claimed place has no position, and nothing bounds it."""
    return EvidenceLine(
        line="location",
        outcome=Outcome.NOT_TESTED,
        summary=f"{where!r} has no position in the registry, and no other landmark of the "
        "registry has one to bound it: no distance can be measured.",
        would_decide=tuple(f"a sourced position for {m!r} in the registry" for m in missing),
    )


def _no_position_line(codes: set[str], within: float, notes: Sequence[str]) -> EvidenceLine:
    """Return the line when the file states no position of its own."""
    extra = ""
    if "W_NO_CAPTURE_METADATA" in codes:
        extra = " (no capture metadata at all: not evidence either way)"
    return EvidenceLine(
        line="location",
        outcome=Outcome.NO_EVIDENCE,
        summary=f"The file states no position of its own{extra}.",
        numbers={"within_m": within, "positions": 0},
        would_decide=(
            "a copy of the file that carries its capture position (the original, a GPS "
            "track, drone telemetry)",
        ),
        notes=tuple(notes),
    )


def _location_numbers(
    measured: Sequence[Measured], cams: Sequence[CameraPosition], within: float
) -> dict[str, Any]:
    placed = [m for m in measured if m.bound is None]
    stated = [c.accuracy_m for c in cams if c.accuracy_m is not None]
    numbers: dict[str, Any] = {"positions": len(cams), "within_m": within}
    if placed:
        numbers["nearest_m"] = round(min(m.nearest_m for m in placed), 1)
        numbers["farthest_m"] = round(max(m.farthest_m for m in placed), 1)
    numbers["targets"] = [m.target for m in measured]
    # the positions' own accuracy (EXIF GPSHPositioningError, Apple's accuracy radius)
    numbers["accuracy_stated"] = len(stated) == len(cams)
    if stated:
        numbers["accuracy_m"] = max(stated)
    if placed:
        numbers["place_uncertainty_stated"] = not any(m.place_exact for m in placed)
    bounded = [m for m in measured if m.bound is not None]
    if bounded:
        numbers.update(bound_numbers(bounded))
    return numbers


def _kind(m: Measured, n: int) -> Literal["in", "out", "mixed"]:
    """Say whether all ``n`` positions are inside, all outside, or neither, for one target."""
    if m.inside == n:
        return "in"
    return "out" if m.outside == n else "mixed"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Positions:
    """The file's positions measured against every target, and what the line weighs with them."""

    measured: Sequence[Measured]
    cams: Sequence[CameraPosition]
    within_m: float
    where: str
    remuxed: bool
    camera_contra: Sequence[CheckResult]
    missing: Sequence[str]

    @property
    def n(self) -> int:
        return len(self.cams)

    @property
    def kinds(self) -> set[str]:
        return {_kind(m, self.n) for m in self.measured}

    @property
    def what(self) -> str:
        n = self.n
        if any(c.source.startswith(RESECTION) for c in self.cams):
            return "the resected camera" if n == 1 else f"all {n} camera positions"
        return "the position the file claims" if n == 1 else f"all {n} positions the file claims"

    @property
    def whose(self) -> str:
        """Whose positions the sentences speak of: the file's, a resected camera's, or both."""
        resected = sum(c.source.startswith(RESECTION) for c in self.cams)
        if not resected:
            return "The file's positions"
        if resected == len(self.cams):
            return "The resected camera"
        return "The file's positions and the resected camera"


def _weigh_positions(p: _Positions, notes: list[str]) -> EvidenceLine:
    """Turn the measurements into the location line's outcome, sentence and numbers."""
    numbers = _location_numbers(p.measured, p.cams, p.within_m)
    exact = [m.target for m in p.measured if m.bound is None and m.place_exact]
    if exact:
        notes = [*notes, "no stated uncertainty for the position of "
                 f"{', '.join(map(repr, exact))}: treated as exact"]  # fmt: skip
    kinds = p.kinds
    if kinds == {"out"} or p.camera_contra:
        return _contradicting(p, numbers, notes)
    if kinds == {"in"}:
        return _supporting(p, numbers, notes)
    summary, decide = _undecided(p)
    return EvidenceLine(
        line="location",
        outcome=Outcome.NO_EVIDENCE,
        summary=summary,
        numbers=numbers,
        would_decide=decide,
        notes=tuple(notes),
    )


def _contradicting(p: _Positions, numbers: dict[str, Any], notes: list[str]) -> EvidenceLine:
    """Return the contradiction: every position far outside, or a camera claim that fails.

    Weak when it rests only on bounds (no camera claim) and lies within ``_CASE_REACH_M``.
    """
    if p.camera_contra and p.kinds != {"out"}:
        c = p.camera_contra[0]
        who = "The file's own position" if p.whose == "The file's positions" else p.whose
        summary = f"{who} contradicts the claim {c.text!r} ({c.name})."
    else:
        summary = _far_sentence(p.measured, p.what, p.n, p.where, p.within_m)
    bound_only = not p.camera_contra and all(m.bound is not None for m in p.measured)
    weak = bound_only and min(m.lower_m for m in p.measured) < _CASE_REACH_M
    if weak:
        notes = [*notes, "the contradiction rests on an assumption about where a landmark "
                 f"with no position can be, and lies within {fmt_m(_CASE_REACH_M)} of it: "
                 "weak"]  # fmt: skip
    return EvidenceLine(
        line="location",
        outcome=Outcome.CONTRADICTS,
        strength="weak" if weak else "strong",
        summary=summary,
        numbers=numbers,
        notes=tuple(notes),
    )


def _supporting(p: _Positions, numbers: dict[str, Any], notes: list[str]) -> EvidenceLine:
    """Return the support: every position inside; weak without stated accuracy or re-muxed."""
    weak_why = []
    if not numbers["accuracy_stated"]:
        weak_why.append("the positions' accuracy is not stated (treated as exact)")
    if p.remuxed:
        weak_why.append("the file was re-muxed")
    farthest = max(m.farthest_m for m in p.measured)
    accuracy = f"; stated accuracy {fmt_m(numbers['accuracy_m'])}" if weak_why == [] else ""
    what = p.what
    return EvidenceLine(
        line="location",
        outcome=Outcome.SUPPORTS,
        strength="weak" if weak_why else "strong",
        summary=(
            f"{what[0].upper()}{what[1:]} {'lies' if p.n == 1 else 'lie'} within "
            f"{fmt_m(p.within_m)} of {p.where} (farthest {fmt_m(farthest)}{accuracy})."
        ),
        numbers=numbers,
        notes=tuple([*notes, f"support is weak: {'; '.join(weak_why)}"] if weak_why else notes),
    )


def _far_sentence(
    measured: Sequence[Measured], what: str, n: int, where: str, within: float
) -> str:
    """Say how far outside the claimed distance every position lies, bounds included."""
    placed = [m for m in measured if m.bound is None]
    parts = []
    if placed:
        nearest = min(m.nearest_m for m in placed)
        to = where if len(placed) == len(measured) else ", ".join(repr(m.target) for m in placed)
        parts.append(
            f"{what} {'is' if n == 1 else 'are'} {fmt_m(nearest)}{'' if n == 1 else ' or more'} "
            f"from {to}"
        )
        what = "it" if n == 1 else "they"  # the bounds below: the same positions
    parts += [bound_sentence(m, what, n) for m in measured if m.bound is not None]
    text = "; ".join(parts)
    return f"{text[0].upper()}{text[1:]}, far outside the claimed {fmt_m(within)}."


def _undecided(p: _Positions) -> tuple[str, tuple[str, ...]]:
    """Say why the positions do not decide, and what would (from what is actually missing)."""
    sourced = [f"a sourced position for {m!r} in the registry" for m in p.missing]
    bounded = [m for m in p.measured if m.bound is not None]
    if bounded and len(bounded) == len(p.measured):
        return _bound_too_close(p, bounded), tuple(sourced)
    if len(p.kinds) > 1:
        names = ", ".join(repr(m.target) for m in p.measured)
        return (
            f"Whether the file's positions are within {fmt_m(p.within_m)} depends on which of "
            f"{names} is meant."
        ), (f"which of {names} is meant", *sourced)
    inside_any = max(m.inside for m in p.measured)
    outside_any = max(m.outside for m in p.measured)
    if inside_any and outside_any:
        return (
            f"{inside_any} of {p.n} positions lie within {fmt_m(p.within_m)} of {p.where} and "
            f"{outside_any} outside: the file was recorded partly elsewhere."
        ), ("the frame times against the fixes: which part of the footage was filmed where",)
    return _too_close(p)


def _bound_too_close(p: _Positions, bounded: Sequence[Measured]) -> str:
    """Say that the positions lie too close to a bound to place them beyond the claim."""
    b = bounded[0].bound
    words = b.words if b is not None else ""
    one = len(p.missing) == 1
    return (
        f"{', '.join(map(repr, p.missing))} {'has' if one else 'have'} no position, and the "
        f"file's positions are only {fmt_m(min(m.area_m for m in bounded))} or more from "
        f"{words}: too close to bound the distance to {'it' if one else 'them'} beyond the "
        f"claimed {fmt_m(p.within_m)}."
    )


def _too_close(p: _Positions) -> tuple[str, tuple[str, ...]]:
    """Say that the positions lie within their uncertainty of the claim, and what would help."""
    nearest = min(m.nearest_m for m in p.measured)
    farthest = max(m.farthest_m for m in p.measured)
    decide = []
    exact = [repr(m.target) for m in p.measured if m.place_exact]
    if exact:
        decide.append(f"a stated uncertainty for the position of {', '.join(exact)}")
    if any(c.accuracy_m is None for c in p.cams):
        decide.append("positions with a stated accuracy")
    else:
        decide.append("a position more precise than the stated accuracy")
    return (
        f"{p.whose} ({fmt_m(nearest)} to {fmt_m(farthest)} from {p.where}) are "
        f"within their uncertainty of the claimed {fmt_m(p.within_m)}: too close to call."
    ), tuple(decide)


# --- the facing check: the landmark shown against the cameras' headings ------------------------


def with_facing(
    line: EvidenceLine, checks: Sequence[FacingCheck], kept_out: Sequence[str]
) -> EvidenceLine:
    """Add the facing checks to the location line; they contradict it only when certain.

    Certain means: every camera with a heading had every landmark ``shows`` may name out of
    its field of view, even allowing the stated uncertainties (footage shows a landmark if it
    was in view at some moment, so one camera that may have seen it is enough to keep it).
    The contradiction is strong only when every heading states its own uncertainty.
    """
    if not checks and not kept_out:
        return line
    numbers = {**line.numbers, "facing": [_facing_record(c) for c in checks]}
    if kept_out:
        numbers["facing_kept_out"] = list(kept_out)
    notes = [*line.notes, *(f"heading kept out: {k}" for k in kept_out)]
    if checks and all(c.in_view == "no" for c in checks):
        return _out_of_view(line, checks, numbers, notes)
    notes.append(_facing_note(checks))
    return dataclasses.replace(line, numbers=numbers, notes=tuple(n for n in notes if n))


def _out_of_view(
    line: EvidenceLine, checks: Sequence[FacingCheck], numbers: dict[str, Any], notes: list[str]
) -> EvidenceLine:
    """Return the line contradicted: no camera could have had the landmark in view."""
    strong = all(c.spread_stated for c in checks)
    if not strong:
        notes.append("the heading states no uncertainty of its own (a compass): "
                     "treated as exact, so the contradiction is weak")  # fmt: skip
    keep = line.outcome is Outcome.CONTRADICTS and line.strength == "strong"
    # a position already too far says so first: the heading only adds to it
    facing = _out_of_view_sentence(checks)
    summary = (
        f"{line.summary} {facing}"
        if line.outcome is Outcome.CONTRADICTS
        else f"{facing} {line.summary}"
    )
    return dataclasses.replace(
        line,
        outcome=Outcome.CONTRADICTS,
        strength="strong" if strong or keep else "weak",
        summary=summary,
        numbers=numbers,
        would_decide=(),
        notes=tuple(notes),
    )


def _facing_record(c: FacingCheck) -> dict[str, Any]:
    record = dataclasses.asdict(c)
    for key in ("heading_deg", "bearing_deg", "distance_m", "off_axis_deg", "half_hfov_deg",
                "slack_deg", "margin_deg"):  # fmt: skip
        if record[key] is not None:
            record[key] = round(record[key], 2)
    return record


def _out_of_view_sentence(checks: Sequence[FacingCheck]) -> str:
    """Say which way the camera faced and where the landmark lay: it could not have been seen."""
    c = min(checks, key=lambda k: k.off_axis_deg - k.slack_deg)  # the nearest to being in view
    n = len({k.camera for k in checks})
    who = "The camera at its claimed position" if n == 1 else f"Each of the {n} cameras"
    half = c.half_hfov_deg or 0.0
    return (
        f"{who} faced {c.heading_deg:.0f}° ({c.heading_source}) and {c.landmark!r} lies at "
        f"{c.bearing_deg if c.bearing_deg is not None else float('nan'):.0f}°, "
        f"{c.off_axis_deg:.0f}° off its axis, beyond half its {2 * half:.0f}° field of view "
        f"plus {c.slack_deg:.1f}° of uncertainty: it could not have been in view."
    )


def _facing_note(checks: Sequence[FacingCheck]) -> str:
    """Say whether the landmark was in view, and if that is undecided, why."""
    if not checks:
        return ""
    seen = [c for c in checks if c.in_view == "yes"]
    if seen:
        c = seen[0]
        return (
            f"facing: {c.landmark!r} lies {c.off_axis_deg:.1f}° off the axis of {c.camera} "
            f"({c.heading_source}, {c.heading_deg:.1f}°), inside half its "
            f"{2 * (c.half_hfov_deg or 0.0):.0f}° field of view even allowing "
            f"{c.slack_deg:.1f}° of uncertainty"
        )
    c = min(checks, key=lambda k: k.off_axis_deg)
    if c.half_hfov_deg is None:
        why = f"the field of view is unknown ({c.hfov_source})"
    else:
        why = (f"{c.off_axis_deg:.1f}° off its axis against half a {2 * c.half_hfov_deg:.0f}° "
               f"field, within {c.slack_deg:.1f}° of uncertainty")  # fmt: skip
    return f"facing: whether {c.landmark!r} was in view of {c.camera} is undecided: {why}"
