"""Geodesy on the WGS84 ellipsoid: distances, bearings, destinations, offsets from lines.

Pure functions; scalar helpers take ``LatLon`` and the ``*_many`` forms take numpy arrays
(vectorised). All work is done by ``pyproj.Geod`` (PROJ's implementation of Karney's
algorithms, "Algorithms for geodesics", J. Geodesy 87, 2013): distances are accurate to
nanometres and azimuths to about 1e-9 degrees except on nearly antipodal lines, where the
azimuth itself is ill-conditioned.

Point-to-line offsets find the nearest point of each geodesic segment geodesically: starting at
the segment's planar foot point, the along-segment position s is updated by d cos(theta) (d the
geodesic distance to the point, theta the angle at the current foot between the segment and the
geodesic to the point) until the correction is below 1 micrometre; s is clamped to the segment.
This converges to the foot of the geodesic perpendicular (the distance is stationary where
theta = 90 degrees). Tested against dense brute-force sampling of 50 km lines (0.1 m).

Bearings are clockwise from true north in [0, 360). Coordinates are (lat, lon) degrees; no
(lon, lat) order exists in this module.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
from pyproj import Geod

from geoverify.errors import InputError
from geoverify.models import LatLon

__all__ = [
    "WGS84",
    "LineOffset",
    "angle_difference_deg",
    "bearing_deg",
    "destination",
    "distance_m",
    "inverse_many",
    "offset_from_line",
    "offsets_from_line_many",
]

WGS84 = Geod(ellps="WGS84")
FloatArray = npt.NDArray[np.float64]
_MAX_ITER = 30
_TOL_M = 1e-6


def _norm_bearing(deg: float) -> float:
    b = deg % 360.0
    return 0.0 if b == 360.0 else b


def distance_m(a: LatLon, b: LatLon) -> float:
    """Geodesic distance between two points, metres."""
    _, _, d = WGS84.inv(a.lon, a.lat, b.lon, b.lat)
    return float(d)


def bearing_deg(a: LatLon, b: LatLon) -> float | None:
    """Return the initial bearing from ``a`` to ``b``: degrees clockwise from north, [0, 360).

    Returns ``None`` when the bearing is undefined: coincident points, or ``a`` at a pole
    (every direction from a pole is south or north).
    """
    if (a.lat == b.lat and a.lon == b.lon) or abs(a.lat) == 90.0:
        return None
    az, _, d = WGS84.inv(a.lon, a.lat, b.lon, b.lat)
    if d == 0.0:
        return None
    return _norm_bearing(float(az))


def destination(start: LatLon, bearing_deg: float, distance_m: float) -> LatLon:
    """Return the point ``distance_m`` metres from ``start`` along initial ``bearing_deg``."""
    if not (math.isfinite(bearing_deg) and math.isfinite(distance_m)):
        msg = f"bearing and distance must be finite, got {bearing_deg!r}, {distance_m!r}"
        raise InputError(msg, code="E_INPUT_NAN", hint="Give finite numbers.")
    lon, lat, _ = WGS84.fwd(start.lon, start.lat, bearing_deg, distance_m)
    lon = ((float(lon) + 180.0) % 360.0) - 180.0
    return LatLon(max(-90.0, min(90.0, float(lat))), lon)


def angle_difference_deg(a: float, b: float) -> float:
    """Signed smallest difference ``b - a`` between two bearings, in (-180, 180]."""
    d = (b - a + 180.0) % 360.0 - 180.0
    return 180.0 if d == -180.0 else d


def inverse_many(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Vectorised inverse problem: (distance_m, initial bearing_deg in [0, 360)) arrays.

    Raises ``InputError`` for non-finite or out-of-range input (pyproj would return NaN).
    """
    arrays = [np.asarray(x, dtype=np.float64) for x in (lat1, lon1, lat2, lon2)]
    _check_arrays(arrays[0], arrays[1])
    _check_arrays(arrays[2], arrays[3])
    az, _, dist = WGS84.inv(arrays[1], arrays[0], arrays[3], arrays[2])
    return np.asarray(dist, dtype=np.float64), np.mod(np.asarray(az, dtype=np.float64), 360.0)


def _check_arrays(lat: FloatArray, lon: FloatArray) -> None:
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
        msg = "coordinates contain NaN or infinity"
        raise InputError(msg, code="E_COORD_RANGE", hint="Remove or fix the non-finite values.")
    if np.any(np.abs(lat) > 90.0) or np.any(np.abs(lon) > 180.0):
        msg = "coordinates out of range (|lat| <= 90, |lon| <= 180)"
        hint = "Check for swapped latitude and longitude."
        raise InputError(msg, code="E_COORD_RANGE", hint=hint)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LineOffset:
    """Where a point lies relative to a line (a sequence of geodesic segments).

    Attributes
    ----------
    distance_m
        Geodesic distance from the point to the nearest point of the line.
    nearest
        That nearest point.
    segment_index
        Index of the segment holding it (segment i joins vertices i and i+1).
    along_m
        Distance along the line from its first vertex to the nearest point.
    side
        ``left`` or ``right`` of the line's direction of travel, or ``on`` (within 1 mm), or
        ``beyond_end`` when the nearest point is an end vertex and the point lies past it.
    bearing_from_line_deg
        Bearing from the nearest point to the point, or ``None`` when the point is on the line.
    """

    distance_m: float
    nearest: LatLon
    segment_index: int
    along_m: float
    side: Literal["left", "right", "on", "beyond_end"]
    bearing_from_line_deg: float | None


def _feet(
    plat: FloatArray,
    plon: FloatArray,
    alat: FloatArray,
    alon: FloatArray,
    blat: FloatArray,
    blon: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Nearest point of segment A->B to P, for arrays of (P, A, B) triples.

    Returns (foot lat, foot lon, s along the segment, distance P-foot, segment azimuth at the
    foot, segment length), each an array.
    """
    az_ab, _, length = WGS84.inv(alon, alat, blon, blat)
    az_ab = np.asarray(az_ab, dtype=np.float64)
    length = np.asarray(length, dtype=np.float64)
    az_ap, _, d_ap = WGS84.inv(alon, alat, plon, plat)
    # start from the along-track projection at A
    s = np.clip(np.asarray(d_ap) * np.cos(np.radians(np.asarray(az_ap) - az_ab)), 0.0, length)
    for _ in range(_MAX_ITER):
        flon, flat, back = WGS84.fwd(alon, alat, az_ab, s)
        seg_az = np.asarray(back, dtype=np.float64) + 180.0  # forward azimuth at the foot
        az_fp, _, d_fp = WGS84.inv(flon, flat, plon, plat)
        step = np.asarray(d_fp) * np.cos(np.radians(np.asarray(az_fp) - seg_az))
        new_s = np.clip(s + step, 0.0, length)
        moved = float(np.max(np.abs(new_s - s), initial=0.0))
        s = new_s
        if moved < _TOL_M:
            break
    flon, flat, back = WGS84.fwd(alon, alat, az_ab, s)
    _, _, dist = WGS84.inv(flon, flat, plon, plat)
    return (
        np.asarray(flat, dtype=np.float64),
        np.asarray(flon, dtype=np.float64),
        s,
        np.asarray(dist, dtype=np.float64),
        np.asarray(back, dtype=np.float64) + 180.0,
        length,
    )


def offset_from_line(point: LatLon, line: Sequence[LatLon]) -> LineOffset:
    """Distance and side from ``point`` to a line of geodesic segments through ``line``.

    Raises
    ------
    InputError
        ``E_GEOM_INVALID`` for fewer than two vertices or a line of zero length.
    """
    if len(line) < 2:
        msg = f"a line needs at least two vertices, got {len(line)}"
        raise InputError(msg, code="E_GEOM_INVALID", hint="Give the line's vertices in order.")
    lat = np.array([p.lat for p in line])
    lon = np.array([p.lon for p in line])
    keep = np.ones(lat.size, dtype=bool)
    keep[1:] = (lat[1:] != lat[:-1]) | (lon[1:] != lon[:-1])  # drop repeated vertices
    lat, lon = lat[keep], lon[keep]
    if lat.size < 2:
        msg = "the line has zero length (all vertices coincide)"
        hint = "A zero-length line has no direction or side; give a real line."
        raise InputError(msg, code="E_GEOM_INVALID", hint=hint)
    n = lat.size - 1
    flat, flon, s, dist, seg_az, length = _feet(
        np.full(n, point.lat), np.full(n, point.lon), lat[:-1], lon[:-1], lat[1:], lon[1:]
    )
    i = int(np.argmin(dist))
    d = float(dist[i])
    along = float(np.sum(length[:i]) + s[i])
    nearest = LatLon(float(flat[i]), ((float(flon[i]) + 180.0) % 360.0) - 180.0)
    if d < 1e-3:
        return LineOffset(
            distance_m=d,
            nearest=nearest,
            segment_index=i,
            along_m=along,
            side="on",
            bearing_from_line_deg=None,
        )
    az_fp, _, _ = WGS84.inv(flon[i], flat[i], point.lon, point.lat)
    bearing = _norm_bearing(float(az_fp))
    turn = angle_difference_deg(float(seg_az[i]), bearing)
    at_start = i == 0 and s[i] <= _TOL_M
    at_end = i == length.size - 1 and s[i] >= length[i] - _TOL_M
    side: Literal["left", "right", "on", "beyond_end"]
    if (at_start or at_end) and abs(abs(turn) - 90.0) > 1.0:
        side = "beyond_end"
    else:
        side = "right" if turn > 0 else "left"
    return LineOffset(
        distance_m=d,
        nearest=nearest,
        segment_index=i,
        along_m=along,
        side=side,
        bearing_from_line_deg=bearing,
    )


def offsets_from_line_many(
    lat: npt.ArrayLike, lon: npt.ArrayLike, line: Sequence[LatLon], *, signed: bool = False
) -> FloatArray:
    """Geodesic distances (m) from many points to one line: the vectorised form for bulk work.

    With ``signed``, points to the left of the line's direction of travel get negative
    distances and points to the right positive ones (0 on the line).
    """
    plat = np.asarray(lat, dtype=np.float64).ravel()
    plon = np.asarray(lon, dtype=np.float64).ravel()
    _check_arrays(plat, plon)
    if len(line) < 2:
        msg = "a line needs at least two vertices"
        raise InputError(msg, code="E_GEOM_INVALID", hint="Give the line's vertices in order.")
    la = np.array([p.lat for p in line])
    lo = np.array([p.lon for p in line])
    nseg = la.size - 1
    # every (point, segment) pair at once
    alat = np.repeat(la[:-1][None, :], plat.size, axis=0).ravel()
    alon = np.repeat(lo[:-1][None, :], plat.size, axis=0).ravel()
    blat = np.repeat(la[1:][None, :], plat.size, axis=0).ravel()
    blon = np.repeat(lo[1:][None, :], plat.size, axis=0).ravel()
    ptlat = np.repeat(plat, nseg)
    ptlon = np.repeat(plon, nseg)
    flat, flon, _, dist, seg_az, _ = _feet(ptlat, ptlon, alat, alon, blat, blon)
    per_point = dist.reshape(plat.size, nseg)
    best = np.argmin(per_point, axis=1)
    rows = np.arange(plat.size)
    out = per_point[rows, best]
    if not signed:
        return np.asarray(out, dtype=np.float64)
    pick = rows * nseg + best
    az_fp, _, _ = WGS84.inv(flon[pick], flat[pick], plon, plat)
    turn = (np.asarray(az_fp) - seg_az[pick] + 180.0) % 360.0 - 180.0
    return np.asarray(np.where(out < 1e-3, 0.0, np.sign(turn) * out), dtype=np.float64)
