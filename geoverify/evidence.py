"""The bottom line: was this footage filmed where, and when, it is said to be.

Input: the hypothesis of a claims file (``footage:``: what the footage shows, where and when it
was filmed), what the file says about itself (``probe``), the frames' landmark matches, the
claim checks and the registry. Output: a ``BottomLine``: one verdict from a fixed vocabulary,
the rule of ``RULES`` that gave it, and the lines of evidence behind it, each with one outcome
(``supports``, ``contradicts``, ``no_evidence``, ``not_tested``), its numbers, one sentence an
editor can read, and what would decide it when it cannot.

The lines:

- **location**: every position the file claims (a location tag, or every fix of a GPS track,
  with its accuracy radius where stated) against ``filmed_at``; a position certainly beyond
  ``within_m`` (distance minus both uncertainties) contradicts, one certainly inside (distance
  plus both) supports; a re-muxed file's nearby position supports only weakly, as its metadata
  can be stale or forged. Claims with ``subject: camera`` count here too.
- **time**: the file's capture time against ``filmed_between``. The GPS clock is preferred; a
  time whose zone the file does not state may be local time labelled UTC, so it is widened by
  +-14 h (every zone on Earth) before it is compared; the clip's duration is allowed either way.
- **visual**: frames matched to the landmark of ``shows`` support it (strongly when the
  estimated false-match rate is at most the matcher's bound, weakly when it could not be
  estimated); frames matched to a landmark far from the claimed place contradict; no match is
  ``no_evidence``, never support and never contradiction.
- **description**: the published sentences about the place (distances, side of a river...).
  They test the published text, not the footage, and count only as context.
- **sun**: shadow claims at the claimed place and time.
- **specificity**: how many other landmarks of the same kind would fit the same description.

The rule table (``RULES``) is small, documented and deterministic; no weighted score.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from geoverify.claims import CAMERA
from geoverify.geodesy import distance_m
from geoverify.models import CheckResult, LatLon, Verdict

if TYPE_CHECKING:
    from geoverify.claims import ClaimSet, Hypothesis
    from geoverify.matching import FrameMatch
    from geoverify.probing import MediaInfo
    from geoverify.registry import Landmark, Registry

__all__ = [
    "RULES",
    "BottomLine",
    "BottomVerdict",
    "CameraPosition",
    "EvidenceLine",
    "Outcome",
    "camera_positions",
    "weigh_evidence",
]


class Outcome(enum.StrEnum):
    """What one line of evidence says about the hypothesis."""

    SUPPORTS = "supports"
    CONTRADICTS = "contradicts"
    NO_EVIDENCE = "no_evidence"
    NOT_TESTED = "not_tested"


class BottomVerdict(enum.StrEnum):
    """The answer to the editor's question."""

    SUPPORTED = "supported"
    CONTRADICTED = "contradicted"
    CONFLICTING = "conflicting"
    NOT_ESTABLISHED = "not_established"


LineName = Literal["location", "time", "visual", "description", "sun", "specificity"]
FOOTAGE_LINES = frozenset({"location", "time", "visual", "sun"})  # evidence from the footage
PRIMARY_LINES = frozenset({"location", "visual"})  # support "of its own"

# (id, verdict, condition): evaluated in this order, the first that holds gives the verdict.
RULES: tuple[tuple[str, BottomVerdict, str], ...] = (
    (
        "R1",
        BottomVerdict.CONFLICTING,
        "a line about the footage (location, time, visual, sun) supports the hypothesis and "
        "another contradicts it",
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

_ZONE_SLACK = timedelta(hours=14)  # UTC-12 .. UTC+14: a time without zone is this uncertain
_MAX_FIXES = 200  # positions of a long track checked one by one (sampled evenly beyond)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CameraPosition:
    """One position the file claims for its camera: a location tag or a GPS fix."""

    label: str
    position: LatLon
    accuracy_m: float | None
    time_utc: datetime | None
    source: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceLine:
    """One line of evidence: its outcome, the numbers behind it and one sentence.

    ``strength`` is ``strong`` or ``weak`` for ``supports`` and ``contradicts``, else ``None``;
    ``would_decide`` lists what would settle a line that cannot decide.
    """

    line: LineName
    outcome: Outcome
    summary: str
    strength: Literal["strong", "weak"] | None = None
    numbers: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    would_decide: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


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


# --- what the file claims ------------------------------------------------------------------


def camera_positions(
    media: MediaInfo, *, max_fixes: int = _MAX_FIXES
) -> tuple[CameraPosition, ...]:
    """Every position the file claims for its camera (location tags, then GPS fixes).

    A track longer than ``max_fixes`` is sampled evenly (first and last fix included).
    """
    out = []
    for loc in media.locations:
        if loc.position is not None:
            out.append(
                CameraPosition(
                    label=f"camera ({loc.source})",
                    position=loc.position,
                    accuracy_m=loc.accuracy_m,
                    time_utc=None,
                    source=loc.source,
                )
            )
    track = media.gps_track
    if track is not None and track.fixes:
        fixes = list(track.fixes)
        if len(fixes) > max_fixes:
            step = (len(fixes) - 1) / (max_fixes - 1)
            fixes = [fixes[round(i * step)] for i in range(max_fixes)]
        for fix in fixes:
            out.append(
                CameraPosition(
                    label=f"GPS fix at {fix.payload_t_s:.1f} s",
                    position=LatLon(fix.lat, fix.lon),
                    accuracy_m=None,  # GPMF gives a DOP, not metres: not converted
                    time_utc=fix.time_utc,
                    source=track.source,
                )
            )
    return tuple(out)


def _codes(media: MediaInfo | None) -> set[str]:
    return {n.code for n in media.notes} if media is not None else set()


def _fmt_m(value: float) -> str:
    return f"{value / 1000:,.1f} km" if value >= 10_000 else f"{value:,.0f} m"


# --- the lines -----------------------------------------------------------------------------


def _targets(
    hyp: Hypothesis, registry: Registry, claims: ClaimSet
) -> tuple[list[tuple[str, Landmark | LatLon]], list[str]]:
    """Find the places ``filmed_at`` names, and the candidates that have no position."""
    if hyp.filmed_at_point is not None:
        return [("the claimed point", hyp.filmed_at_point)], []
    found: list[tuple[str, Landmark | LatLon]] = []
    missing = []
    for lm in _resolve(registry, claims, hyp.filmed_at or ""):
        if lm.geometry is None:
            missing.append(lm.id)
        else:
            found.append((lm.id, lm))
    return found, missing


def _resolve(registry: Registry, claims: ClaimSet, name: str) -> list[Landmark]:
    return [registry.get(i) for i in claims.candidates(name)]


def _distance_to(pos: LatLon, target: Landmark | LatLon) -> tuple[float, float | None]:
    """Geodesic metres from ``pos`` to a point or a landmark, and the target's uncertainty."""
    if isinstance(target, LatLon):
        return distance_m(pos, target), None
    from geoverify.registry import geodesic_distance_m

    d = geodesic_distance_m(pos, target)
    return (d if d is not None else math.inf), target.uncertainty_m


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


def _against(
    tid: str, target: Landmark | LatLon, cams: Sequence[CameraPosition], within: float
) -> tuple[str, int, int, float, float, bool]:
    """Measure every camera position against one target.

    Returns (id, positions inside, outside, nearest m, farthest m, whether an uncertainty is
    unstated); inside and outside count only beyond both uncertainties.
    """
    inside = outside = 0
    nearest = math.inf
    farthest = 0.0
    unstated = False
    for cam in cams:
        d, u = _distance_to(cam.position, target)
        slack = (cam.accuracy_m or 0.0) + (u or 0.0)
        unstated |= cam.accuracy_m is None or (not isinstance(target, LatLon) and u is None)
        nearest, farthest = min(nearest, d), max(farthest, d)
        if d + slack <= within:
            inside += 1
        elif d - slack > within:
            outside += 1
    return tid, inside, outside, nearest, farthest, unstated


def location_line(
    hyp: Hypothesis | None,
    registry: Registry,
    claims: ClaimSet,
    cams: Sequence[CameraPosition],
    media: MediaInfo | None,
    camera_checks: Sequence[CheckResult] = (),
) -> EvidenceLine:
    """Weigh the file's own positions against ``filmed_at`` and the camera claims."""
    codes = _codes(media)
    remuxed = "W_REMUXED_FFMPEG" in codes
    notes: list[str] = []
    if remuxed:
        notes.append(
            "the file was re-muxed after capture (W_REMUXED_FFMPEG): its metadata can be "
            "stale, rewritten or forged"
        )
    camera_contra = [c for c in camera_checks if c.verdict is Verdict.INCONSISTENT]
    camera_ok = [c for c in camera_checks if c.verdict is Verdict.CONSISTENT]
    if hyp is None or (hyp.filmed_at is None and hyp.filmed_at_point is None):
        return _camera_claims_line(camera_contra, camera_ok, notes)
    targets, missing = _targets(hyp, registry, claims)
    within = float(hyp.within_m or 0.0)
    where = hyp.filmed_at or "the claimed point"
    if not targets:
        return EvidenceLine(
            line="location",
            outcome=Outcome.NOT_TESTED,
            summary=f"{where!r} has no position in the registry, so no distance can be measured.",
            would_decide=tuple(f"a sourced position for {m!r} in the registry" for m in missing),
        )
    if not cams:
        decide = [
            "a copy of the file that carries its capture position (the original, a GPS track, "
            "drone telemetry)"
        ]
        extra = ""
        if "W_NO_CAPTURE_METADATA" in codes:
            extra = " (no capture metadata at all: not evidence either way)"
        return EvidenceLine(
            line="location",
            outcome=Outcome.NO_EVIDENCE,
            summary=f"The file states no position of its own{extra}.",
            numbers={"within_m": within, "positions": 0},
            would_decide=tuple(decide),
            notes=tuple(notes),
        )
    per_target = [_against(tid, target, cams, within) for tid, target in targets]
    n = len(cams)
    kinds = {("in" if i == n else "out" if o == n else "mixed") for _, i, o, *_ in per_target}
    nearest = min(t[3] for t in per_target)
    farthest = max(t[4] for t in per_target)
    numbers: dict[str, Any] = {
        "positions": n,
        "within_m": within,
        "nearest_m": round(nearest, 1),
        "farthest_m": round(farthest, 1),
        "targets": [t[0] for t in per_target],
        "accuracy_stated": not any(t[5] for t in per_target),
    }
    what = "the position the file claims" if n == 1 else f"all {n} positions the file claims"
    if kinds == {"out"} or camera_contra:
        if camera_contra and kinds != {"out"}:
            c = camera_contra[0]
            summary = f"The file's own position contradicts the claim {c.text!r} ({c.name})."
        else:
            summary = (
                f"{what[0].upper()}{what[1:]} {'is' if n == 1 else 'are'} "
                f"{_fmt_m(nearest)}{'' if n == 1 else ' or more'} from {where}, far outside the "
                f"claimed {_fmt_m(within)}."
            )
        return EvidenceLine(
            line="location",
            outcome=Outcome.CONTRADICTS,
            strength="strong",
            summary=summary,
            numbers=numbers,
            notes=tuple(notes),
        )
    if kinds == {"in"}:
        weak_why = []
        if not numbers["accuracy_stated"]:
            weak_why.append("the positions' uncertainty is not stated (treated as exact)")
        if remuxed:
            weak_why.append("the file was re-muxed")
        return EvidenceLine(
            line="location",
            outcome=Outcome.SUPPORTS,
            strength="weak" if weak_why else "strong",
            summary=(
                f"{what[0].upper()}{what[1:]} {'lies' if n == 1 else 'lie'} within "
                f"{_fmt_m(within)} of {where} (farthest {_fmt_m(farthest)})."
            ),
            numbers=numbers,
            notes=tuple([*notes, f"support is weak: {'; '.join(weak_why)}"] if weak_why else notes),
        )
    inside_any = max(t[1] for t in per_target)
    outside_any = max(t[2] for t in per_target)
    if len(kinds) > 1:
        summary = f"Whether the file's positions are within {_fmt_m(within)} depends on which "
        summary += f"of {', '.join(repr(t[0]) for t in per_target)} is meant."
    elif inside_any and outside_any:
        summary = (
            f"{inside_any} of {n} positions lie within {_fmt_m(within)} of {where} and "
            f"{outside_any} outside: the file was recorded partly elsewhere."
        )
    else:
        summary = (
            f"The file's positions ({_fmt_m(nearest)} to {_fmt_m(farthest)} from {where}) are "
            f"within their uncertainty of the claimed {_fmt_m(within)}: too close to call."
        )
    return EvidenceLine(
        line="location",
        outcome=Outcome.NO_EVIDENCE,
        summary=summary,
        numbers=numbers,
        would_decide=("positions with a stated accuracy, or the frame times against the fixes",),
        notes=tuple(notes),
    )


def _file_time(media: MediaInfo) -> tuple[datetime, datetime, str, bool] | None:
    """Return when the file says it was recorded: (start, end, source, trusted)."""
    duration = timedelta(seconds=(media.video.duration_s or 0.0) if media.video else 0.0)
    track = media.gps_track
    if track is not None and track.first_time_utc is not None:
        last = track.last_time_utc or track.first_time_utc
        return track.first_time_utc, last, f"GPS clock ({track.source})", True
    stated = [(t.utc, t.source) for t in media.creation_times if t.utc and t.zone_stated]
    if stated:
        t, source = stated[0]
        return t - duration, t + duration, source, True
    bare = [(t.utc, t.source) for t in media.creation_times if t.utc]
    if bare:
        t, source = bare[0]
        slack = _ZONE_SLACK + duration
        return t - slack, t + slack, f"{source} (no zone: +-14 h)", False
    return None


def time_line(
    hyp: Hypothesis | None, media: MediaInfo | None, posted_utc: datetime | None = None
) -> EvidenceLine:
    """Weigh the file's capture time against ``filmed_between`` (and the post time).

    A post time is an upper bound on when the footage was filmed ("filmed before posted"):
    the window's end is the earlier of the two.
    """
    start_claim = hyp.filmed_from_utc if hyp is not None else None
    end_claim = hyp.filmed_until_utc if hyp is not None else None
    if posted_utc is not None and (end_claim is None or posted_utc < end_claim):
        end_claim = posted_utc
    if start_claim is None and end_claim is None:
        return EvidenceLine(
            line="time",
            outcome=Outcome.NOT_TESTED,
            summary="The hypothesis states no time when the footage was filmed.",
            would_decide=("state when it was filmed: footage.filmed_between",),
        )
    if start_claim is not None and end_claim is not None and end_claim < start_claim:
        return EvidenceLine(
            line="time",
            outcome=Outcome.CONTRADICTS,
            strength="strong",
            summary=(
                f"The footage was posted at {_iso(posted_utc)}, before the claimed start of "
                f"filming {_iso(start_claim)}."
            ),
            numbers={"posted_utc": _iso(posted_utc), "window_start_utc": _iso(start_claim)},
        )
    lo = start_claim or datetime.min.replace(tzinfo=UTC)
    hi = end_claim or datetime.max.replace(tzinfo=UTC)
    window = f"[{_iso(start_claim)}, {_iso(end_claim)}]"
    if posted_utc is not None and end_claim == posted_utc:
        window += " (the end is the post time: filmed before posted)"
    found = _file_time(media) if media is not None else None
    if found is None:
        return EvidenceLine(
            line="time",
            outcome=Outcome.NO_EVIDENCE,
            summary="The file states no capture time.",
            numbers={"window_utc": window},
            would_decide=("a copy of the file that carries its capture time",),
        )
    start, end, source, trusted = found
    codes = _codes(media)
    remuxed = "W_REMUXED_FFMPEG" in codes
    notes = []
    if "W_TIMES_DISAGREE" in codes:
        notes.append("the file's times disagree with each other (W_TIMES_DISAGREE)")
    if remuxed:
        notes.append("the file was re-muxed: its times can have been rewritten")
    numbers: dict[str, Any] = {
        "file_time_from_utc": _iso(start),
        "file_time_to_utc": _iso(end),
        "source": source,
        "window_utc": window,
    }
    if end < lo or start > hi:
        gap_s = (lo - end).total_seconds() if end < lo else (start - hi).total_seconds()
        numbers["outside_by_s"] = round(gap_s, 1)
        return EvidenceLine(
            line="time",
            outcome=Outcome.CONTRADICTS,
            strength="strong" if trusted and not remuxed else "weak",
            summary=(
                f"The file says it was recorded {_iso(start)} to {_iso(end)} ({source}), "
                f"{_duration(gap_s)} outside the claimed window {window}."
            ),
            numbers=numbers,
            notes=tuple(notes),
        )
    if lo <= start and end <= hi:
        return EvidenceLine(
            line="time",
            outcome=Outcome.SUPPORTS,
            strength="strong" if trusted and not remuxed else "weak",
            summary=f"The file's capture time ({source}) lies inside the claimed window {window}.",
            numbers=numbers,
            notes=tuple(notes),
        )
    return EvidenceLine(
        line="time",
        outcome=Outcome.NO_EVIDENCE,
        summary=(
            f"The file's capture time, {_iso(start)} to {_iso(end)} ({source}), straddles the "
            f"claimed window {window}."
        ),
        numbers=numbers,
        would_decide=("a capture time with a stated zone, or the GPS clock",),
        notes=tuple(notes),
    )


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
    shown = {lm.id: lm for lm in _resolve(registry, claims, hyp.shows)}
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
        rates = [fm.match.false_match_rate for fm in frames if fm.match.false_match_rate]
        if not rates:
            return "false-match rate not estimable (too few other references): weak"
        return f"estimated false-match rate {min(rates):.3f}"

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


def _missing_references(
    hyp: Hypothesis | None, registry: Registry, claims: ClaimSet
) -> tuple[str, ...]:
    if hyp is None or not hyp.shows:
        return ()
    return tuple(
        f"a reference image of {lm.id!r}"
        for lm in _resolve(registry, claims, hyp.shows)
        if not lm.reference_images
    )


def _split_by_place(
    others: Sequence[FrameMatch], hyp: Hypothesis, registry: Registry, claims: ClaimSet
) -> tuple[list[FrameMatch], list[FrameMatch]]:
    """Split matches to other landmarks into those near the claimed place and the rest."""
    if hyp.within_m is None or (hyp.filmed_at is None and hyp.filmed_at_point is None):
        return [], list(others)
    targets, _ = _targets(hyp, registry, claims)
    near: list[FrameMatch] = []
    far: list[FrameMatch] = []
    for fm in others:
        lm = registry.get(fm.match.best.landmark_id) if fm.match.best else None
        pos = lm.anchor if lm is not None else None
        close = pos is not None and any(
            _distance_to(pos, t)[0] <= hyp.within_m + (lm.uncertainty_m or 0.0)
            for _, t in targets
            if lm is not None
        )
        (near if close else far).append(fm)
    return near, far


def _checks_line(
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
    out: list[str] = []
    claim = next((c for c in claims.claims if c.id == check.name), None)
    if claim is not None:
        for part, name in (("subject", claim.subject), ("reference", claim.reference)):
            if not name or name == CAMERA:
                continue
            for lm in _resolve(registry, claims, name):
                if lm.geometry is None:
                    out.append(f"{check.name}: a sourced position for {lm.id!r}")
                elif (
                    part == "reference"
                    and claim.kind == "side_of_line"
                    and (lm.geometry.geom_type not in ("LineString", "MultiLineString"))
                ):
                    out.append(
                        f"{check.name}: the course of {lm.id!r} as a line (the registry has a "
                        f"{lm.geometry.geom_type.lower()})"
                    )
    reasons = [c.reason for c in check.candidates if c.verdict is Verdict.INCONCLUSIVE]
    out += [f"{check.name}: {r}" for r in dict.fromkeys(reasons) if r and "no sourced" not in r]
    return out


def specificity_line(hyp: Hypothesis | None, registry: Registry, claims: ClaimSet) -> EvidenceLine:
    """How many other landmarks of the kind ``shows`` names would fit the same description."""
    role_name = hyp.shows if hyp is not None else None
    role = claims.roles.get(role_name) if role_name else None
    if role is None or not role.kind:
        return EvidenceLine(
            line="specificity",
            outcome=Outcome.NOT_TESTED,
            summary="No role with a kind (tags) to rank other landmarks against.",
            would_decide=("a role for what the footage shows, with its kind (e.g. "
                          "{historic: memorial})",),
        )  # fmt: skip
    from geoverify.claims import rank_candidates

    used = [c for c in claims.claims if role_name in (c.subject, c.reference)]
    if not used:
        return EvidenceLine(
            line="specificity",
            outcome=Outcome.NOT_TESTED,
            summary=f"No published sentence about {role_name!r} to test other landmarks with.",
        )
    ranks = rank_candidates(registry, claims, role_name or "")
    fitting = [r for r in ranks if r.inconsistent == 0 and r.inconclusive == 0]
    named = set(role.candidates)
    others = [r.landmark_id for r in fitting if r.landmark_id not in named]
    numbers = {
        "landmarks_of_kind_with_position": len(ranks),
        "fitting": [r.landmark_id for r in fitting],
    }
    if not ranks:
        return EvidenceLine(
            line="specificity",
            outcome=Outcome.NOT_TESTED,
            summary=f"No landmark of the kind of {role_name!r} has a position in the registry.",
            numbers=numbers,
            would_decide=(f"positions of the landmarks of the kind of {role_name!r}",),
        )
    if others:
        return EvidenceLine(
            line="specificity",
            outcome=Outcome.NO_EVIDENCE,
            summary=(
                f"{len(others)} other landmark(s) of the same kind fit the published description "
                f"as well: {', '.join(others[:8])}."
            ),
            numbers=numbers,
        )
    if any(r.landmark_id in named for r in fitting):
        return EvidenceLine(
            line="specificity",
            outcome=Outcome.SUPPORTS,
            strength="weak",
            summary=f"Of {len(ranks)} landmarks of the kind, only {role_name!r} fits the "
            "published description.",
            numbers=numbers,
        )
    return EvidenceLine(
        line="specificity",
        outcome=Outcome.NO_EVIDENCE,
        summary=f"None of {len(ranks)} landmarks of the kind fits every published sentence.",
        numbers=numbers,
    )


# --- the bottom line -----------------------------------------------------------------------


def decide(lines: Sequence[EvidenceLine]) -> tuple[BottomVerdict, str, str]:
    """Apply ``RULES`` to the lines: (verdict, rule id, rule text)."""
    footage = [ln for ln in lines if ln.line in FOOTAGE_LINES]
    support = any(ln.outcome is Outcome.SUPPORTS for ln in footage)
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
) -> BottomLine:
    """Build every line of evidence and apply the rule table.

    ``checks`` are ``check_claims``' results for ``claims`` (with the file's camera positions
    as ``camera``); ``matched_at_all`` says whether frames were matched against the registry.
    """
    cams = camera_positions(media) if media is not None else ()
    by_name = {c.id: c for c in claims.claims}
    camera_checks = [
        c
        for c in checks
        if claims.version >= 2
        and c.name in by_name
        and CAMERA in (by_name[c.name].subject, by_name[c.name].reference)
    ]
    shadow = [c for c in checks if c.kind == "shadow" and c not in camera_checks]
    description = [c for c in checks if c.kind != "shadow" and c not in camera_checks]
    if media is None:  # the claims alone (geoverify check): nothing about the footage
        no_footage = "No footage was given: only the claims file was checked."
        run = ("run `geoverify verify` with the footage",)
        refs = _missing_references(hypothesis, registry, claims)
        footage_lines: tuple[EvidenceLine, ...] = (
            EvidenceLine(line="location", outcome=Outcome.NOT_TESTED, summary=no_footage,
                         would_decide=run),
            EvidenceLine(line="time", outcome=Outcome.NOT_TESTED, summary=no_footage,
                         would_decide=run),
            EvidenceLine(line="visual", outcome=Outcome.NOT_TESTED, summary=no_footage,
                         would_decide=(*run, *refs)),
        )  # fmt: skip
    else:
        footage_lines = (
            location_line(hypothesis, registry, claims, cams, media, camera_checks),
            time_line(hypothesis, media, posted_utc),
            visual_line(
                hypothesis,
                registry,
                claims,
                matches,
                max_false_match_rate=max_false_match_rate,
                matched_at_all=matched_at_all,
            ),
        )
    lines = (
        *footage_lines,
        _checks_line(
            "description",
            description,
            registry=registry,
            claims=claims,
            contradiction="weak",
            preface="These checks test the published text about the place, not the footage: ",
            none_text="No published description of the place was given to test.",
        ),
        _checks_line(
            "sun",
            shadow,
            registry=registry,
            claims=claims,
            contradiction="strong",
            preface="Shadows measured in the footage against the sun at the claimed place and "
            "time: ",
            none_text="No shadow was measured in the footage.",
        ),
        specificity_line(hypothesis, registry, claims),
    )
    verdict, rule, rule_text = decide(lines)
    steps: list[str] = []
    for ln in lines:
        if ln.outcome in (Outcome.NO_EVIDENCE, Outcome.NOT_TESTED) or verdict in (
            BottomVerdict.NOT_ESTABLISHED,
            BottomVerdict.CONFLICTING,
        ):
            steps += [f"{ln.line}: {d}" for d in ln.would_decide]
    caveats = _caveats(lines, checks, hypothesis, verdict) + _osm_after(
        hypothesis, registry, claims
    )
    return BottomLine(
        verdict=verdict,
        rule=rule,
        rule_text=rule_text,
        hypothesis=describe_hypothesis(hypothesis),
        lines=lines,
        next_steps=tuple(dict.fromkeys(steps)),
        caveats=caveats,
    )


def _caveats(
    lines: Sequence[EvidenceLine],
    checks: Sequence[CheckResult],
    hyp: Hypothesis | None,
    verdict: BottomVerdict,
) -> tuple[str, ...]:
    out = []
    if hyp is None:
        out.append(
            "the claims file states no hypothesis (claims_version 1, or no footage: section): "
            "only the published description of the place was tested"
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


def _osm_after(hyp: Hypothesis | None, registry: Registry, claims: ClaimSet) -> tuple[str, ...]:
    """Warn when a landmark's OpenStreetMap data was edited after the footage's claimed date.

    A war-damaged place may be mapped after the event: the map then shows it as it was after.
    """
    if hyp is None:
        return ()
    claimed = hyp.filmed_until_utc or hyp.filmed_from_utc
    if claimed is None:
        return ()
    names = {hyp.shows, hyp.filmed_at}
    names |= {n for c in claims.claims for n in (c.subject, c.reference)}
    ids: set[str] = set()
    for name in names - {None, "", CAMERA}:
        ids |= set(claims.candidates(name or ""))
    out = []
    for lm in registry.landmarks:
        if lm.id not in ids:
            continue
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
                    f"claimed date ({_iso(claimed)}): the map may show the place as it was after "
                    "the event; import it with --as-of that date"
                )
    return tuple(out)


def describe_hypothesis(hyp: Hypothesis | None) -> str:
    """Say the hypothesis in words: what the footage shows, where and when it was filmed."""
    if hyp is None:
        return "no hypothesis stated"
    parts = []
    if hyp.shows:
        parts.append(f"shows {hyp.shows}")
    if hyp.filmed_at:
        parts.append(f"filmed within {_fmt_m(hyp.within_m or 0.0)} of {hyp.filmed_at}")
    elif hyp.filmed_at_point is not None:
        p = hyp.filmed_at_point
        parts.append(f"filmed within {_fmt_m(hyp.within_m or 0.0)} of {p.lat:.6f}, {p.lon:.6f}")
    if hyp.filmed_from_utc or hyp.filmed_until_utc:
        parts.append(f"between {_iso(hyp.filmed_from_utc)} and {_iso(hyp.filmed_until_utc)}")
    return "the footage " + ", ".join(parts) if parts else "no hypothesis stated"


def _iso(t: datetime | None) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if t is not None else "open"


def _duration(seconds: float) -> str:
    s = abs(seconds)
    if s >= 2 * 86400:
        return f"{s / 86400:,.1f} days"
    if s >= 2 * 3600:
        return f"{s / 3600:.1f} h"
    if s >= 120:
        return f"{s / 60:.0f} min"
    return f"{s:.0f} s"
