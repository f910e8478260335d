"""The location line: the file's own positions against ``filmed_at`` and the camera claims."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from geoverify.evidence._model import (
    CameraPosition,
    EvidenceLine,
    Outcome,
    claimed_targets,
    codes_of,
    distance_to,
    fmt_m,
    resolve_role,
)
from geoverify.models import CheckResult, LatLon, Verdict

if TYPE_CHECKING:
    from geoverify.claims import ClaimSet, Hypothesis
    from geoverify.probing import MediaInfo
    from geoverify.registry import Landmark, Registry

# How far from a case's other landmarks one with no position is assumed to lie, at least: a
# case registry holds the places of one event (a town and its surroundings); when its
# landmarks lie farther apart than this, their own span is used instead.
_CASE_REACH_M = 50_000.0


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
    others = [lm for lm in resolve_role(registry, claims, role) if lm.geometry is not None]
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
        d, u = distance_to(cam.position, target)
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
        f"{fmt_m(m.area_m)} from {b.words}"
    )
    if b.basis == "area_of_interest":
        assume = f"assuming {lid} lies inside it, as the registry's landmarks do"
    else:
        head += f" ({b.landmarks} landmark{'' if b.landmarks == 1 else 's'}, "
        head += f"{fmt_m(b.span_m)} across)"
        assume = f"assuming {lid} lies within {fmt_m(b.reach_m)} of them"
    return f"{head}: {assume}, at least {fmt_m(max(m.lower_m, 0.0))} from it"


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
    codes = codes_of(media)
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
    targets, missing = claimed_targets(hyp, registry, claims)
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
                     f"with no position can be, and lies within {fmt_m(_CASE_REACH_M)} of it: "
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
        accuracy = f"; stated accuracy {fmt_m(numbers['accuracy_m'])}" if weak_why == [] else ""
        return EvidenceLine(
            line="location",
            outcome=Outcome.SUPPORTS,
            strength="weak" if weak_why else "strong",
            summary=(
                f"{what[0].upper()}{what[1:]} {'lies' if n == 1 else 'lie'} within "
                f"{fmt_m(within)} of {where} (farthest {fmt_m(farthest)}{accuracy})."
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
            f"{what} {'is' if n == 1 else 'are'} {fmt_m(nearest)}{'' if n == 1 else ' or more'} "
            f"from {to}"
        )
        what = "it" if n == 1 else "they"  # the bounds below: the same positions
    parts += [_bound_sentence(m, what, n) for m in measured if m.bound is not None]
    text = "; ".join(parts)
    return f"{text[0].upper()}{text[1:]}, far outside the claimed {fmt_m(within)}."


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
            f"file's positions are only {fmt_m(min(m.area_m for m in bounded))} or more from "
            f"{words}: too close to bound the distance to {'it' if one else 'them'} beyond the "
            f"claimed {fmt_m(within)}."
        ), tuple(sourced)
    if len(kinds) > 1:
        names = ", ".join(repr(m.target) for m in measured)
        return (
            f"Whether the file's positions are within {fmt_m(within)} depends on which of "
            f"{names} is meant."
        ), (f"which of {names} is meant", *sourced)
    inside_any = max(m.inside for m in measured)
    outside_any = max(m.outside for m in measured)
    if inside_any and outside_any:
        return (
            f"{inside_any} of {n} positions lie within {fmt_m(within)} of {where} and "
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
        f"The file's positions ({fmt_m(nearest)} to {fmt_m(farthest)} from {where}) are "
        f"within their uncertainty of the claimed {fmt_m(within)}: too close to call."
    ), tuple(decide)
