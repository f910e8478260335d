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
    from geoverify.probing import CreationTime, MediaInfo
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

# a wall-clock time with no zone is UTC plus an offset from -12 h to +14 h: its instant lies
# from 14 h before to 12 h after the time read as if it were UTC
_ZONE_EAST = timedelta(hours=14)
_ZONE_WEST = timedelta(hours=12)
_MAX_FIXES = 200  # positions of a long track checked one by one (sampled evenly beyond)
# How far from a case's other landmarks one with no position is assumed to lie, at least: a
# case registry holds the places of one event (a town and its surroundings); when its
# landmarks lie farther apart than this, their own span is used instead.
_CASE_REACH_M = 50_000.0


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


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Bound:
    """Where a landmark with no position can be: within ``reach_m`` of an area.

    ``area`` (shapely, x = longitude, y = latitude) is the registry's area of interest, with
    ``reach_m`` 0 (the registry says its landmarks lie inside it), or the convex hull of other
    landmarks' coordinates, with ``reach_m`` the larger of ``_CASE_REACH_M`` and how far apart
    they lie (``span_m`` plus twice the largest stated uncertainty).
    """

    landmark_id: str
    basis: Literal["area_of_interest", "other_candidates", "registry_landmarks"]
    words: str
    area: Any
    landmarks: int
    span_m: float
    reach_m: float
    uncertainty_m: float  # the largest stated uncertainty of those landmarks (0 when none)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Measured:
    """Every camera position against one target: counts beyond both uncertainties."""

    target: str
    inside: int
    outside: int
    nearest_m: float  # for a bound: the least lower bound (accuracies not subtracted)
    farthest_m: float
    place_exact: bool  # the target is a landmark whose uncertainty is not stated
    bound: _Bound | None = None
    area_m: float = 0.0  # for a bound: the least distance from a position to its area
    lower_m: float = 0.0  # for a bound: the least lower bound, accuracies subtracted


def _bound_for(
    landmark_id: str, hyp: Hypothesis, registry: Registry, claims: ClaimSet
) -> _Bound | None:
    """Bound where a landmark with no position can be, from what the registry knows.

    In order: the registry's area of interest; the other candidates of the role ``filmed_at``
    names that have a position; every landmark of the registry that has one.
    """
    import shapely

    placed = [lm.geometry for lm in registry.landmarks if lm.geometry is not None]
    aoi = registry.area_of_interest
    if aoi is not None and all(shapely.box(*aoi).covers(g) for g in placed):
        # the registry's landmarks all lie in its area of interest: so, it is assumed, does
        # this one (a registry with landmarks outside it says otherwise: the landmarks bound)
        w, s, e, n = aoi
        box = shapely.box(w, s, e, n)
        # parallels are not geodesics: follow them closely (0.01 deg, at most 1,024 vertices)
        step = max(0.01, 2 * ((e - w) + (n - s)) / 1024)
        return _Bound(
            landmark_id=landmark_id,
            basis="area_of_interest",
            words=f"the registry's area of interest (west, south, east, north: {w:g}, {s:g}, "
            f"{e:g}, {n:g} deg)",
            area=shapely.segmentize(box, max_segment_length=step),
            landmarks=0,
            span_m=_span_m(box),
            reach_m=0.0,
            uncertainty_m=0.0,
        )
    role = hyp.filmed_at or ""
    others = [lm for lm in _resolve(registry, claims, role) if lm.geometry is not None]
    basis: Literal["other_candidates", "registry_landmarks"] = "other_candidates"
    words = f"the other candidates of {role!r}"
    if not others:
        others = [lm for lm in registry.landmarks if lm.geometry is not None]
        basis, words = "registry_landmarks", "every landmark of this case with a position"
    coords = [xy for lm in others for xy in shapely.get_coordinates(lm.geometry).tolist()]
    if not coords:
        return None
    hull = shapely.MultiPoint(coords).convex_hull
    u = max((lm.uncertainty_m or 0.0 for lm in others), default=0.0)
    span = _span_m(hull)
    return _Bound(
        landmark_id=landmark_id,
        basis=basis,
        words=words,
        area=hull,
        landmarks=len(others),
        span_m=span,
        reach_m=max(_CASE_REACH_M, span + 2 * u),
        uncertainty_m=u,
    )


def _span_m(area: Any) -> float:
    """Return the largest geodesic distance between two corners of an area, metres."""
    import numpy as np
    import shapely

    from geoverify.geodesy import inverse_many

    xy = shapely.get_coordinates(area.convex_hull)
    if len(xy) < 2:
        return 0.0
    i, j = np.triu_indices(len(xy), k=1)
    d, _ = inverse_many(xy[i, 1], xy[i, 0], xy[j, 1], xy[j, 0])
    return float(d.max())


def _to_area_m(cams: Sequence[CameraPosition], area: Any) -> list[float]:
    """Geodesic metres from every camera position to an area (0 inside it).

    The area's edges are geodesics between its vertices; a point is inside when the lon/lat
    polygon covers it.
    """
    import numpy as np
    import shapely

    from geoverify.geodesy import inverse_many, offsets_from_line_many

    lat = np.array([c.position.lat for c in cams])
    lon = np.array([c.position.lon for c in cams])
    if isinstance(area, shapely.Point):
        d, _ = inverse_many(lat, lon, np.full(lat.size, area.y), np.full(lat.size, area.x))
        return [float(v) for v in d]
    rings = [area.exterior] if isinstance(area, shapely.Polygon) else [area]
    best = np.full(lat.size, np.inf)
    for ring in rings:
        line = [LatLon(y, x) for x, y in shapely.get_coordinates(ring).tolist()]
        best = np.minimum(best, offsets_from_line_many(lat, lon, line))
    if isinstance(area, shapely.Polygon):
        inside = shapely.covers(area, shapely.points(np.column_stack([lon, lat])))
        best[inside] = 0.0
    return [float(v) for v in best]


def _against(
    tid: str, target: Landmark | LatLon, cams: Sequence[CameraPosition], within: float
) -> _Measured:
    """Measure every camera position against one target.

    Inside and outside count only beyond both uncertainties (the position's stated accuracy
    and the landmark's stated uncertainty; an unstated one counts as 0).
    """
    inside = outside = 0
    nearest = math.inf
    farthest = 0.0
    place_exact = False
    for cam in cams:
        d, u = _distance_to(cam.position, target)
        slack = (cam.accuracy_m or 0.0) + (u or 0.0)
        place_exact |= not isinstance(target, LatLon) and u is None
        nearest, farthest = min(nearest, d), max(farthest, d)
        if d + slack <= within:
            inside += 1
        elif d - slack > within:
            outside += 1
    return _Measured(
        target=tid,
        inside=inside,
        outside=outside,
        nearest_m=nearest,
        farthest_m=farthest,
        place_exact=place_exact,
    )


def _against_bound(bound: _Bound, cams: Sequence[CameraPosition], within: float) -> _Measured:
    """Measure every camera position against a landmark known only by a bound.

    A position's distance to the landmark is at least its distance to the bound's area, less
    the reach, the landmarks' largest uncertainty and the position's accuracy: outside when
    that still exceeds ``within``. A bound never places a position inside.
    """
    to_area = _to_area_m(cams, bound.area)
    lower = [d - bound.reach_m - bound.uncertainty_m for d in to_area]
    slack = [cam.accuracy_m or 0.0 for cam in cams]
    least = min(lo - a for lo, a in zip(lower, slack, strict=True))
    return _Measured(
        target=bound.landmark_id,
        inside=0,
        outside=sum(1 for lo, a in zip(lower, slack, strict=True) if lo - a > within),
        nearest_m=min(lower),
        farthest_m=max(lower),
        place_exact=False,
        bound=bound,
        area_m=min(to_area),
        lower_m=least,
    )


def _bound_numbers(bounded: Sequence[_Measured]) -> dict[str, Any]:
    """Return the numbers of a bound (the same area for every landmark with no position)."""
    m = bounded[0]
    b = m.bound
    if b is None:  # pragma: no cover - only called for bounds
        return {}
    return {
        "unplaced": [x.target for x in bounded],
        "bound": b.basis,
        "bound_landmarks": b.landmarks,
        "nearest_to_bound_area_m": round(m.area_m, 1),
        "bound_area_span_m": round(b.span_m, 1),
        "bound_reach_m": round(b.reach_m, 1),
        "bound_uncertainty_m": b.uncertainty_m,
        "lower_bound_m": round(m.lower_m, 1),
    }


def _bound_sentence(m: _Measured, what: str, n: int) -> str:
    """Say what a bound establishes, with its numbers and the assumption it rests on."""
    b = m.bound
    if b is None:  # pragma: no cover - only called for bounds
        return ""
    lid = repr(b.landmark_id)
    head = (
        f"{lid} has no position, but {what} {'is' if n == 1 else 'are'} at least "
        f"{_fmt_m(m.area_m)} from {b.words}"
    )
    if b.basis == "area_of_interest":
        assume = f"assuming {lid} lies inside it, as the registry's landmarks do"
    else:
        head += f" ({b.landmarks} landmark{'' if b.landmarks == 1 else 's'}, "
        head += f"{_fmt_m(b.span_m)} across)"
        assume = f"assuming {lid} lies within {_fmt_m(b.reach_m)} of them"
    return f"{head}: {assume}, at least {_fmt_m(max(m.lower_m, 0.0))} from it"


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
    (``_bound_for``): it can contradict a position far beyond it, never support one.
    """
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
    bounds = [b for b in (_bound_for(m, hyp, registry, claims) for m in missing) if b is not None]
    if not targets and not bounds:
        return EvidenceLine(
            line="location",
            outcome=Outcome.NOT_TESTED,
            summary=f"{where!r} has no position in the registry, and no other landmark of the "
            "registry has one to bound it: no distance can be measured.",
            would_decide=tuple(f"a sourced position for {m!r} in the registry" for m in missing),
        )
    if not cams:
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
    measured = [_against(tid, target, cams, within) for tid, target in targets]
    measured += [_against_bound(b, cams, within) for b in bounds]
    return _weigh_positions(
        measured, cams, within=within, where=where, remuxed=remuxed, notes=notes,
        camera_contra=camera_contra, missing=missing,
    )  # fmt: skip


def _location_numbers(
    measured: Sequence[_Measured], cams: Sequence[CameraPosition], within: float
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
        numbers.update(_bound_numbers(bounded))
    return numbers


def _weigh_positions(
    measured: Sequence[_Measured],
    cams: Sequence[CameraPosition],
    *,
    within: float,
    where: str,
    remuxed: bool,
    notes: list[str],
    camera_contra: Sequence[CheckResult],
    missing: Sequence[str],
) -> EvidenceLine:
    """Turn the measurements into the location line's outcome, sentence and numbers."""
    n = len(cams)
    kinds = {("in" if m.inside == n else "out" if m.outside == n else "mixed") for m in measured}
    numbers = _location_numbers(measured, cams, within)
    placed = [m for m in measured if m.bound is None]
    exact = [m.target for m in placed if m.place_exact]
    if exact:
        notes = [*notes, "no stated uncertainty for the position of "
                 f"{', '.join(map(repr, exact))}: treated as exact"]  # fmt: skip
    what = "the position the file claims" if n == 1 else f"all {n} positions the file claims"
    if kinds == {"out"} or camera_contra:
        if camera_contra and kinds != {"out"}:
            c = camera_contra[0]
            summary = f"The file's own position contradicts the claim {c.text!r} ({c.name})."
        else:
            summary = _far_sentence(measured, what, n, where, within)
        bound_only = not camera_contra and all(m.bound is not None for m in measured)
        if bound_only and min(m.lower_m for m in measured) < _CASE_REACH_M:
            notes = [*notes, "the contradiction rests on an assumption about where a landmark "
                     f"with no position can be, and lies within {_fmt_m(_CASE_REACH_M)} of it: "
                     "weak"]  # fmt: skip
        strength: Literal["strong", "weak"] = (
            "weak" if bound_only and min(m.lower_m for m in measured) < _CASE_REACH_M else "strong"
        )
        return EvidenceLine(
            line="location",
            outcome=Outcome.CONTRADICTS,
            strength=strength,
            summary=summary,
            numbers=numbers,
            notes=tuple(notes),
        )
    if kinds == {"in"}:
        weak_why = []
        if not numbers["accuracy_stated"]:
            weak_why.append("the positions' accuracy is not stated (treated as exact)")
        if remuxed:
            weak_why.append("the file was re-muxed")
        farthest = max(m.farthest_m for m in measured)
        accuracy = f"; stated accuracy {_fmt_m(numbers['accuracy_m'])}" if weak_why == [] else ""
        return EvidenceLine(
            line="location",
            outcome=Outcome.SUPPORTS,
            strength="weak" if weak_why else "strong",
            summary=(
                f"{what[0].upper()}{what[1:]} {'lies' if n == 1 else 'lie'} within "
                f"{_fmt_m(within)} of {where} (farthest {_fmt_m(farthest)}{accuracy})."
            ),
            numbers=numbers,
            notes=tuple([*notes, f"support is weak: {'; '.join(weak_why)}"] if weak_why else notes),
        )
    summary, decide = _undecided(measured, cams, within, where, missing)
    return EvidenceLine(
        line="location",
        outcome=Outcome.NO_EVIDENCE,
        summary=summary,
        numbers=numbers,
        would_decide=decide,
        notes=tuple(notes),
    )


def _far_sentence(
    measured: Sequence[_Measured], what: str, n: int, where: str, within: float
) -> str:
    """Say how far outside the claimed distance every position lies, bounds included."""
    placed = [m for m in measured if m.bound is None]
    parts = []
    if placed:
        nearest = min(m.nearest_m for m in placed)
        to = where if len(placed) == len(measured) else ", ".join(repr(m.target) for m in placed)
        parts.append(
            f"{what} {'is' if n == 1 else 'are'} {_fmt_m(nearest)}{'' if n == 1 else ' or more'} "
            f"from {to}"
        )
        what = "it" if n == 1 else "they"  # the bounds below: the same positions
    parts += [_bound_sentence(m, what, n) for m in measured if m.bound is not None]
    text = "; ".join(parts)
    return f"{text[0].upper()}{text[1:]}, far outside the claimed {_fmt_m(within)}."


def _undecided(
    measured: Sequence[_Measured],
    cams: Sequence[CameraPosition],
    within: float,
    where: str,
    missing: Sequence[str],
) -> tuple[str, tuple[str, ...]]:
    """Say why the positions do not decide, and what would (from what is actually missing)."""
    n = len(cams)
    kinds = {("in" if m.inside == n else "out" if m.outside == n else "mixed") for m in measured}
    sourced = [f"a sourced position for {m!r} in the registry" for m in missing]
    bounded = [m for m in measured if m.bound is not None]
    if bounded and len(bounded) == len(measured):
        b = bounded[0].bound
        words = b.words if b is not None else ""
        one = len(missing) == 1
        return (
            f"{', '.join(map(repr, missing))} {'has' if one else 'have'} no position, and the "
            f"file's positions are only {_fmt_m(min(m.area_m for m in bounded))} or more from "
            f"{words}: too close to bound the distance to {'it' if one else 'them'} beyond the "
            f"claimed {_fmt_m(within)}."
        ), tuple(sourced)
    if len(kinds) > 1:
        names = ", ".join(repr(m.target) for m in measured)
        return (
            f"Whether the file's positions are within {_fmt_m(within)} depends on which of "
            f"{names} is meant."
        ), (f"which of {names} is meant", *sourced)
    inside_any = max(m.inside for m in measured)
    outside_any = max(m.outside for m in measured)
    if inside_any and outside_any:
        return (
            f"{inside_any} of {n} positions lie within {_fmt_m(within)} of {where} and "
            f"{outside_any} outside: the file was recorded partly elsewhere."
        ), ("the frame times against the fixes: which part of the footage was filmed where",)
    nearest = min(m.nearest_m for m in measured)
    farthest = max(m.farthest_m for m in measured)
    decide = []
    exact = [repr(m.target) for m in measured if m.place_exact]
    if exact:
        decide.append(f"a stated uncertainty for the position of {', '.join(exact)}")
    if any(c.accuracy_m is None for c in cams):
        decide.append("positions with a stated accuracy")
    else:
        decide.append("a position more precise than the stated accuracy")
    return (
        f"The file's positions ({_fmt_m(nearest)} to {_fmt_m(farthest)} from {where}) are "
        f"within their uncertainty of the claimed {_fmt_m(within)}: too close to call."
    ), tuple(decide)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _FileTime:
    """When the file says it was recorded, UTC: the interval as read and the certain one.

    ``start``/``end`` hold every instant the file's time can mean (a time with no zone widened
    by every zone on Earth); ``read_start``/``read_end`` the time read as written (the same
    when the zone is known).
    """

    start: datetime
    end: datetime
    read_start: datetime
    read_end: datetime
    source: str
    trusted: bool
    zone_known: bool


def _implied_instants(ct: CreationTime) -> tuple[datetime, datetime, str] | None:
    """Find the instants the GPS clock implies for a time without zone: (first, last, offset).

    From probe's reading (``CreationTime.implied_utc_offset_s``, reported as
    ``I_IMPLIED_UTC_OFFSET``): the camera clock at the offset the GPS time implies (rounded to
    a quarter hour), and the GPS instant itself. The capture lies between the two readings.
    """
    reading = ct.read_as_utc()  # a local time without zone: its wall clock read as UTC
    if reading is None or ct.implied_utc_offset_s is None or ct.implied_gps_utc is None:
        return None
    camera = reading - timedelta(seconds=ct.implied_utc_offset_s)
    gps = ct.implied_gps_utc
    return min(camera, gps), max(camera, gps), f"{ct.implied_utc_offset_s / 3600:+g}"


def _file_time(media: MediaInfo) -> _FileTime | None:
    """Return when the file says it was recorded, from its best clock.

    In order: the GPS track's clock; a time with its zone (the EXIF GPS time, a QuickTime time
    with its offset); a time without zone at the UTC offset the GPS clock implies for it; a
    time without zone, widened by every zone on Earth (UTC-12 to UTC+14).
    """
    duration = timedelta(seconds=(media.video.duration_s or 0.0) if media.video else 0.0)
    track = media.gps_track
    if track is not None and track.first_time_utc is not None:
        last = track.last_time_utc or track.first_time_utc
        first = track.first_time_utc
        return _FileTime(start=first, end=last, read_start=first, read_end=last,
                         source=f"GPS clock ({track.source})", trusted=True,
                         zone_known=True)  # fmt: skip
    stated = [(t.utc, t.source) for t in media.creation_times if t.utc and t.zone_stated]
    if stated:
        t, source = next(((t, s) for t, s in stated if "GPS" in s), stated[0])
        lo, hi = t - duration, t + duration
        return _FileTime(start=lo, end=hi, read_start=lo, read_end=hi, source=source,
                         trusted=True, zone_known=True)  # fmt: skip
    bare = [t for t in media.creation_times if not t.zone_stated and t.read_as_utc()]
    for ct in bare:
        implied = _implied_instants(ct)
        if implied is None:
            continue
        first, last, hours = implied
        as_written = ct.read_as_utc() or first
        # the offset rests on a GPS time of day without its date: two clocks a whole quarter
        # hour apart by chance agree as well, so it is a reading (weak), and only the world's
        # zones bound the instant (a contradiction must hold at every zone)
        return _FileTime(
            start=as_written - _ZONE_EAST - duration,
            end=as_written + _ZONE_WEST + duration,
            read_start=first - duration,
            read_end=last + duration,
            source=f"{ct.source} {ct.raw} read at UTC{hours} h, the offset its GPS time of day "
            "implies (I_IMPLIED_UTC_OFFSET), and the GPS time itself",
            trusted=False,
            zone_known=False,
        )
    if bare and (reading := bare[0].read_as_utc()) is not None:
        # local = UTC + offset, the offset from -12 h to +14 h: UTC from 14 h before to 12 h
        # after the wall-clock time read as UTC
        return _FileTime(start=reading - _ZONE_EAST - duration,
                         end=reading + _ZONE_WEST + duration, read_start=reading - duration,
                         read_end=reading + duration,
                         source=f"{bare[0].source} (no zone: -14 h to +12 h)", trusted=False,
                         zone_known=False)  # fmt: skip
    return None


def time_line(
    hyp: Hypothesis | None, media: MediaInfo | None, posted_utc: datetime | None = None
) -> EvidenceLine:
    """Weigh the file's capture time against ``filmed_between`` (and the post time).

    A post time is an upper bound on when the footage was filmed ("filmed before posted"):
    the window's end is the earlier of the two. A time without zone inside the window as
    written, but not at every zone on Earth, is weak support.
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
    lo = start_claim or datetime.min.replace(tzinfo=UTC)
    hi = end_claim or datetime.max.replace(tzinfo=UTC)
    return _weigh_time(found, lo, hi, window, _codes(media))


def _weigh_time(
    found: _FileTime, lo: datetime, hi: datetime, window: str, codes: set[str]
) -> EvidenceLine:
    """Compare the file's time with the window [lo, hi] (UTC)."""
    remuxed = "W_REMUXED_FFMPEG" in codes
    notes = []
    if "W_TIMES_DISAGREE" in codes:
        notes.append("the file's times disagree with each other (W_TIMES_DISAGREE)")
    if remuxed:
        notes.append("the file was re-muxed: its times can have been rewritten")
    start, end, source = found.start, found.end, found.source
    strength: Literal["strong", "weak"] = "strong" if found.trusted and not remuxed else "weak"
    numbers: dict[str, Any] = {
        "file_time_from_utc": _iso(start),
        "file_time_to_utc": _iso(end),
        "source": source,
        "zone_known": found.zone_known,
        "window_utc": window,
    }
    if not found.zone_known:
        numbers["read_as_written_from_utc"] = _iso(found.read_start)
        numbers["read_as_written_to_utc"] = _iso(found.read_end)
    if end < lo or start > hi:
        gap_s = (lo - end).total_seconds() if end < lo else (start - hi).total_seconds()
        numbers["outside_by_s"] = round(gap_s, 1)
        return EvidenceLine(
            line="time",
            outcome=Outcome.CONTRADICTS,
            strength=strength,
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
            strength=strength,
            summary=f"The file's capture time ({source}) lies inside the claimed window {window}.",
            numbers=numbers,
            notes=tuple(notes),
        )
    if not found.zone_known and lo <= found.read_start and found.read_end <= hi:
        return EvidenceLine(
            line="time",
            outcome=Outcome.SUPPORTS,
            strength="weak",
            summary=(
                f"The file's capture time read as written, {_iso(found.read_start)} to "
                f"{_iso(found.read_end)} ({source}), lies inside the claimed window {window}; "
                "at some of the zones it may have been written in, it does not."
            ),
            numbers=numbers,
            notes=(*notes, "support is weak: the file states no zone for its time, and no GPS "
                   "clock to imply one"),
        )  # fmt: skip
    decide = (
        ("the UTC offset of the capture time: a copy of the file that states its zone or "
         "carries a GPS time, or the local zone at the place and date",)
        if not found.zone_known
        else (f"which instant of the file's time span ({_iso(start)} to {_iso(end)}) the "
              "claimed moment is: the span crosses an end of the window",)
    )  # fmt: skip
    return EvidenceLine(
        line="time",
        outcome=Outcome.NO_EVIDENCE,
        summary=(
            f"The file's capture time, {_iso(start)} to {_iso(end)} ({source}), straddles the "
            f"claimed window {window}."
        ),
        numbers=numbers,
        would_decide=decide,
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
    from geoverify.claims import rank_candidates, uses_camera

    used = [c for c in claims.claims if role_name in (c.subject, c.reference)]
    # a claim about the camera measures the footage's own positions (the location line), not
    # the place: it cannot tell one landmark of the kind from another here
    about_camera = [c.id for c in used if uses_camera(claims, c)]
    place_claims = tuple(c for c in used if c.id not in about_camera)
    left_out = (
        (
            f"left out: {', '.join(about_camera)} (about the camera: the footage's own "
            "positions are weighed in the location line)",
        )
        if about_camera
        else ()
    )
    if not place_claims:
        return EvidenceLine(
            line="specificity",
            outcome=Outcome.NOT_TESTED,
            summary=f"No published sentence about {role_name!r} to test other landmarks with.",
            notes=left_out,
        )
    ranks = rank_candidates(
        registry, dataclasses.replace(claims, claims=place_claims), role_name or ""
    )
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
            notes=left_out,
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
            notes=left_out,
        )
    if any(r.landmark_id in named for r in fitting):
        return EvidenceLine(
            line="specificity",
            outcome=Outcome.SUPPORTS,
            strength="weak",
            summary=f"Of {len(ranks)} landmarks of the kind, only {role_name!r} fits the "
            "published description.",
            numbers=numbers,
            notes=left_out,
        )
    return EvidenceLine(
        line="specificity",
        outcome=Outcome.NO_EVIDENCE,
        summary=f"None of {len(ranks)} landmarks of the kind fits every published sentence.",
        numbers=numbers,
        notes=left_out,
    )


# --- the bottom line -----------------------------------------------------------------------


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
    A line that decided (``supports``, ``contradicts``) keeps no ``would_decide``, and the
    bottom line lists next steps only when it is not established or conflicting.
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
    # what would decide it: only for a line that did not decide, and only under a bottom line
    # that is not decided either (not established, or conflicting)
    undecided = (Outcome.NO_EVIDENCE, Outcome.NOT_TESTED)
    lines = tuple(
        ln if ln.outcome in undecided else dataclasses.replace(ln, would_decide=()) for ln in lines
    )
    steps: list[str] = []
    if verdict in (BottomVerdict.NOT_ESTABLISHED, BottomVerdict.CONFLICTING):
        for ln in lines:
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
