"""The file's positions measured against the claimed place: a landmark, a point or a bound.

A landmark with no position is bounded (``bound_for``): by the registry's area of interest,
else by the role's other candidates, else by every landmark of the registry. A bound can place
a position certainly beyond the claimed distance, never inside it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from geoverify.evidence._model import CameraPosition, distance_to, fmt_m, resolve_role
from geoverify.models import LatLon

if TYPE_CHECKING:
    from geoverify.claims import ClaimSet, Hypothesis
    from geoverify.registry import Landmark, Registry

# How far from a case's other landmarks one with no position is assumed to lie, at least: a
# case registry holds the places of one event (a town and its surroundings); when its
# landmarks lie farther apart than this, their own span is used instead.
CASE_REACH_M = 50_000.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Bound:
    """Where a landmark with no position can be: within ``reach_m`` of an area.

    ``area`` (shapely, x = longitude, y = latitude) is the registry's area of interest, with
    ``reach_m`` 0 (the registry says its landmarks lie inside it), or the convex hull of other
    landmarks' coordinates, with ``reach_m`` the larger of ``CASE_REACH_M`` and how far apart
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
class Measured:
    """Every camera position against one target: counts beyond both uncertainties."""

    target: str
    inside: int
    outside: int
    nearest_m: float  # for a bound: the least lower bound (accuracies not subtracted)
    farthest_m: float
    place_exact: bool  # the target is a landmark whose uncertainty is not stated
    bound: Bound | None = None
    area_m: float = 0.0  # for a bound: the least distance from a position to its area
    lower_m: float = 0.0  # for a bound: the least lower bound, accuracies subtracted


def bound_for(
    landmark_id: str, hyp: Hypothesis, registry: Registry, claims: ClaimSet
) -> Bound | None:
    """Bound where a landmark with no position can be, from what the registry knows.

    In order: the registry's area of interest; the other candidates of the role ``filmed_at``
    names that have a position; every landmark of the registry that has one.
    """
    return _aoi_bound(landmark_id, registry) or _landmarks_bound(landmark_id, hyp, registry, claims)


def _aoi_bound(landmark_id: str, registry: Registry) -> Bound | None:
    """Bound by the registry's area of interest, when every placed landmark lies inside it.

    The registry's landmarks all lie in its area of interest: so, it is assumed, does this one
    (a registry with landmarks outside it says otherwise: the landmarks bound).
    """
    import shapely

    placed = [lm.geometry for lm in registry.landmarks if lm.geometry is not None]
    aoi = registry.area_of_interest
    if aoi is None or not all(shapely.box(*aoi).covers(g) for g in placed):
        return None
    w, s, e, n = aoi
    box = shapely.box(w, s, e, n)
    # parallels are not geodesics: follow them closely (0.01 deg, at most 1,024 vertices)
    step = max(0.01, 2 * ((e - w) + (n - s)) / 1024)
    return Bound(
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


def _landmarks_bound(
    landmark_id: str, hyp: Hypothesis, registry: Registry, claims: ClaimSet
) -> Bound | None:
    """Bound by the other candidates of ``filmed_at`` with a position, else every landmark's."""
    import shapely

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
    return Bound(
        landmark_id=landmark_id,
        basis=basis,
        words=words,
        area=hull,
        landmarks=len(others),
        span_m=span,
        reach_m=max(CASE_REACH_M, span + 2 * u),
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


def against(
    tid: str, target: Landmark | LatLon, cams: Sequence[CameraPosition], within: float
) -> Measured:
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
    return Measured(
        target=tid,
        inside=inside,
        outside=outside,
        nearest_m=nearest,
        farthest_m=farthest,
        place_exact=place_exact,
    )


def against_bound(bound: Bound, cams: Sequence[CameraPosition], within: float) -> Measured:
    """Measure every camera position against a landmark known only by a bound.

    A position's distance to the landmark is at least its distance to the bound's area, less
    the reach, the landmarks' largest uncertainty and the position's accuracy: outside when
    that still exceeds ``within``. A bound never places a position inside.
    """
    to_area = _to_area_m(cams, bound.area)
    lower = [d - bound.reach_m - bound.uncertainty_m for d in to_area]
    slack = [cam.accuracy_m or 0.0 for cam in cams]
    least = min(lo - a for lo, a in zip(lower, slack, strict=True))
    return Measured(
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


def bound_numbers(bounded: Sequence[Measured]) -> dict[str, Any]:
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


def bound_sentence(m: Measured, what: str, n: int) -> str:
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


def bounds_for(
    missing: Sequence[str], hyp: Hypothesis, registry: Registry, claims: ClaimSet
) -> list[Bound]:
    """Bound every landmark with no position that can be bounded (``bound_for``)."""
    bounds = (bound_for(m, hyp, registry, claims) for m in missing)
    return [b for b in bounds if b is not None]


def against_bounds(
    bounds: Sequence[Bound], cams: Sequence[CameraPosition], within: float
) -> list[Measured]:
    return [against_bound(b, cams, within) for b in bounds]
