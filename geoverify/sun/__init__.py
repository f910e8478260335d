"""Sun and shadows: where the sun was, and when or where a shadow fits.

Input: places (``LatLon``), timezone-aware times, and shadow measurements. Output: sun
positions, ``CheckResult`` verdicts for shadow claims, time windows and places where a measured
shadow fits.

Method. Solar position is the NREL Solar Position Algorithm (Reda and Andreas 2004, NREL/TP-560-
34302), implemented here in vectorised numpy from the published equations and tables
(``_spa_tables``): topocentric azimuth (clockwise from true north) and zenith, with atmospheric
refraction from pressure and temperature. Its stated uncertainty is +-0.0003 degree for years
-2000 to 6000; the tests reproduce the published SPA reference output to 1e-6 degree. Delta T
(TT - UT) defaults to the Espenak and Meeus polynomials (NASA eclipse pages); it moves the sun
by about 1e-5 degree per second of error. A shadow points away from the sun (azimuth + 180
degrees), and its length is the object's height times cot(elevation), on level ground.

Times are timezone-aware datetimes; a naive datetime is refused (``E_NAIVE_DATETIME``). Below the
horizon there is no shadow: checks say so (inconclusive), never NaN.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from geoverify.errors import InputError, LimitError
from geoverify.geodesy import angle_difference_deg
from geoverify.models import (
    SHADOW_AZIMUTH_ERROR_DEG,
    SHADOW_CELL_DEG,
    SHADOW_RATIO_ERROR,
    CheckResult,
    LatLon,
    Verdict,
)
from geoverify.sun._position import (
    FloatArray,
    SunPosition,
    day_window_utc,
    delta_t_s,
    parse_time,
    require_aware,
    sun_position,
    sun_positions,
)

__all__ = [
    "ShadowMeasurement",
    "SunPosition",
    "TimeWindow",
    "check_shadow",
    "day_window_utc",
    "delta_t_s",
    "parse_time",
    "shadow_azimuth_from_image",
    "shadow_places",
    "shadow_time_windows",
    "sun_position",
    "sun_positions",
]


# --- shadows -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ShadowMeasurement:
    """A shadow measured in a frame.

    ``azimuth_deg`` is the direction from the object's base to the shadow's tip (clockwise from
    true north) with its uncertainty ``azimuth_error_deg``; ``length_ratio`` is shadow length /
    object height with ``ratio_error``. Either may be ``None`` when not measured.
    """

    azimuth_deg: float | None = None
    azimuth_error_deg: float = SHADOW_AZIMUTH_ERROR_DEG
    length_ratio: float | None = None
    ratio_error: float = SHADOW_RATIO_ERROR

    def __post_init__(self) -> None:
        if self.azimuth_deg is None and self.length_ratio is None:
            msg = "a shadow measurement needs an azimuth, a length ratio, or both"
            raise InputError(
                msg, code="E_INPUT_OPTION", hint="Give --shadow-azimuth and/or --length-ratio."
            )

        def finite(v: float | None) -> bool:
            return v is not None and math.isfinite(v)

        az, az_err, ratio, ratio_err = (
            self.azimuth_deg,
            self.azimuth_error_deg,
            self.length_ratio,
            self.ratio_error,
        )
        checks = (
            ("azimuth_deg", az, az is None or (finite(az) and 0 <= az <= 360)),
            ("azimuth_error_deg", az_err, finite(az_err) and 0 <= az_err <= 90),
            ("length_ratio", ratio, ratio is None or (finite(ratio) and ratio > 0)),
            ("ratio_error", ratio_err, finite(ratio_err) and ratio_err >= 0),
        )
        for name, value, ok in checks:
            if not ok:
                msg = f"{name} {value!r} is out of range"
                raise InputError(msg, code="E_INPUT_OPTION", hint=f"Check {name}.")


def _ratio_from_elevation(elevation_deg: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore"):
        return np.where(
            elevation_deg > 0, 1.0 / np.tan(np.radians(np.maximum(elevation_deg, 1e-9))), np.inf
        )


def _describe(where: LatLon, shadow: ShadowMeasurement, sun: SunPosition) -> str:
    """Say what was measured, where and when (a check's ``text`` when none is given)."""
    described = []
    if shadow.azimuth_deg is not None:
        described.append(
            f"shadow azimuth {shadow.azimuth_deg:g} +- {shadow.azimuth_error_deg:g} deg"
        )
    if shadow.length_ratio is not None:
        described.append(f"length ratio {shadow.length_ratio:g} +- {shadow.ratio_error:g}")
    return (
        f"{' and '.join(described)} measured, at {where.lat:.5f}, {where.lon:.5f} "
        f"on {sun.when_utc.isoformat()}"
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Comparison:
    """The measured shadow against the expected one: fits, margin, expectations, notes."""

    fits: tuple[bool, ...]
    margin_deg: float | None
    expected: tuple[str, ...]
    notes: tuple[str, ...]


def _compare(shadow: ShadowMeasurement, azimuth_deg: float, ratio: float) -> _Comparison:
    """Compare each measured quantity with the expected shadow azimuth and length ratio."""
    fits, expected, notes = [], [], []
    margin_deg: float | None = None
    if shadow.azimuth_deg is not None:
        off = abs(angle_difference_deg(azimuth_deg, shadow.azimuth_deg))
        margin_deg = shadow.azimuth_error_deg - off
        fits.append(off <= shadow.azimuth_error_deg + 1e-9)
        expected.append(f"shadow azimuth {azimuth_deg:.2f} deg +- {shadow.azimuth_error_deg:g}")
        notes.append(
            f"measured shadow azimuth {shadow.azimuth_deg:.2f} deg "
            f"is {off:.2f} deg from the expected"
        )
    if shadow.length_ratio is not None:
        off_r = abs(shadow.length_ratio - ratio)
        fits.append(off_r <= shadow.ratio_error + 1e-12)
        expected.append(f"length ratio {ratio:.3f} +- {shadow.ratio_error:g}")
        notes.append(
            f"measured length ratio {shadow.length_ratio:.3f} is {off_r:.3f} from the expected"
        )
    return _Comparison(
        fits=tuple(fits), margin_deg=margin_deg, expected=tuple(expected), notes=tuple(notes)
    )


def check_shadow(
    where: LatLon,
    when: datetime,
    shadow: ShadowMeasurement,
    *,
    name: str = "shadow",
    text: str = "",
    where_uncertainty_m: float = 0.0,
) -> CheckResult:
    """Check whether a measured shadow fits the claimed place and time.

    The expected shadow azimuth is the sun's azimuth + 180 degrees and the expected length
    ratio cot(elevation). Consistent when every measured quantity lies within its stated error
    of the expected value; inconsistent when one lies outside; inconclusive at night.
    """
    sun = sun_position(where, when)
    text = text or _describe(where, shadow, sun)
    notes: list[str] = [
        f"sun at azimuth {sun.azimuth_deg:.3f} deg, "
        f"elevation {sun.elevation_deg:.3f} deg (NREL SPA)"
    ]
    if where_uncertainty_m:
        notes.append(
            f"a place uncertainty of {where_uncertainty_m:g} m moves the sun by < 0.01 deg: ignored"
        )
    by_azimuth = shadow.azimuth_deg is not None
    if not sun.above_horizon or sun.shadow_azimuth_deg is None or sun.shadow_length_ratio is None:
        return CheckResult(
            name=name,
            kind="shadow",
            text=text,
            verdict=Verdict.INCONCLUSIVE,
            measured=shadow.azimuth_deg,
            expected="sun below the horizon: no direct shadow",
            tolerance=None,
            margin=None,
            unit="deg",
            method="NREL SPA solar position",
            notes=tuple(notes),
        )
    cmp = _compare(shadow, sun.shadow_azimuth_deg, sun.shadow_length_ratio)
    return CheckResult(
        name=name,
        kind="shadow",
        text=text,
        verdict=Verdict.CONSISTENT if all(cmp.fits) else Verdict.INCONSISTENT,
        measured=shadow.azimuth_deg if by_azimuth else shadow.length_ratio,
        expected="; ".join(cmp.expected),
        tolerance=shadow.azimuth_error_deg if by_azimuth else shadow.ratio_error,
        margin=cmp.margin_deg,
        unit="deg" if by_azimuth else "ratio",
        method="NREL SPA solar position; shadow azimuth = sun azimuth + 180; "
        "length / height = cot(elevation)",
        notes=(*notes, *cmp.notes),
    )


def _fits(pos: dict[str, FloatArray], shadow: ShadowMeasurement) -> npt.NDArray[np.bool_]:
    ok = pos["elevation_deg"] > 0
    if shadow.azimuth_deg is not None:
        expected = (pos["azimuth_deg"] + 180.0) % 360.0
        off = np.abs((shadow.azimuth_deg - expected + 180.0) % 360.0 - 180.0)
        ok &= off <= shadow.azimuth_error_deg
    if shadow.length_ratio is not None:
        ok &= (
            np.abs(_ratio_from_elevation(pos["elevation_deg"]) - shadow.length_ratio)
            <= shadow.ratio_error
        )
    return np.asarray(ok)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TimeWindow:
    """A span of time (UTC) during which a measured shadow fits, to within ``resolution_s``."""

    start_utc: datetime
    end_utc: datetime
    resolution_s: float

    def _repr_html_(self) -> str:
        """Show the window in Jupyter."""
        from geoverify.models import html_table

        return html_table(
            [
                ("from (UTC)", self.start_utc.isoformat()),
                ("to (UTC)", self.end_utc.isoformat()),
                ("edges to", f"{self.resolution_s:g} s"),
            ]
        )


def shadow_time_windows(
    where: LatLon,
    start: date | datetime,
    end: date | datetime,
    shadow: ShadowMeasurement,
    *,
    step_s: float = 60.0,
    refine_s: float = 1.0,
) -> tuple[TimeWindow, ...]:
    """Find when, between ``start`` and ``end``, the sun cast this shadow at ``where``.

    The range is sampled every ``step_s`` seconds (vectorised), then each window's edges are
    refined by bisection to ``refine_s``. Dates are whole UTC days; datetimes must be aware.
    """
    t0 = _as_utc_bound(start, end_of_day=False)
    t1 = _as_utc_bound(end, end_of_day=True)
    if t1 <= t0:
        msg = "the end of the range is not after its start"
        raise InputError(msg, code="E_INPUT_OPTION", hint="Swap --from and --to.")
    if (t1 - t0) > timedelta(days=3660):
        msg = "ranges longer than ten years are not searched"
        raise InputError(msg, code="E_INPUT_OPTION", hint="Narrow the date range.")
    if not (1.0 <= step_s <= 3600.0):
        msg = f"step_s {step_s!r} must be between 1 and 3600 seconds"
        raise InputError(msg, code="E_INPUT_OPTION", hint="Use a step of about a minute.")
    a, b = t0.timestamp(), t1.timestamp()
    windows: list[TimeWindow] = []
    chunk = 200_000
    start_t = a
    while start_t <= b:
        times = np.arange(start_t, min(b, start_t + chunk * step_s) + 1e-9, step_s)
        if times.size == 0:
            break
        fit = _fits(sun_positions(where.lat, where.lon, times), shadow)
        edges = np.flatnonzero(np.diff(np.concatenate([[False], fit, [False]]).astype(np.int8)))
        for lo_i, hi_i in zip(edges[::2], edges[1::2], strict=True):
            w0 = _refine(
                where, shadow, times[lo_i - 1] if lo_i > 0 else None, times[lo_i], refine_s
            )
            w1 = _refine(
                where, shadow, times[hi_i] if hi_i < times.size else None, times[hi_i - 1], refine_s
            )
            windows.append(
                TimeWindow(
                    start_utc=datetime.fromtimestamp(w0, UTC),
                    end_utc=datetime.fromtimestamp(w1, UTC),
                    resolution_s=refine_s,
                )
            )
        start_t = float(times[-1]) + step_s
    return _merge_windows(windows, step_s)


def _refine(
    where: LatLon, shadow: ShadowMeasurement, outside: float | None, inside: float, tol: float
) -> float:
    """Bisect between a time that does not fit and one that does; return the fitting edge."""
    if outside is None:
        return inside
    while abs(inside - outside) > tol:
        mid = (inside + outside) / 2.0
        if bool(_fits(sun_positions(where.lat, where.lon, np.array([mid])), shadow)[0]):
            inside = mid
        else:
            outside = mid
    return inside


def _merge_windows(windows: list[TimeWindow], step_s: float) -> tuple[TimeWindow, ...]:
    merged: list[TimeWindow] = []
    for w in windows:
        if merged and (w.start_utc - merged[-1].end_utc).total_seconds() <= step_s:
            merged[-1] = dataclasses.replace(merged[-1], end_utc=w.end_utc)
        else:
            merged.append(w)
    return tuple(merged)


def _as_utc_bound(value: date | datetime, *, end_of_day: bool) -> datetime:
    if isinstance(value, datetime):
        return require_aware(value)
    day = datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        return day + timedelta(days=1) if end_of_day else day
    except OverflowError:
        msg = f"the day after {value.isoformat()} cannot be represented"
        raise InputError(
            msg, code="E_INPUT_TIME", hint="Give a range that ends before the year 9999 does."
        ) from None


# The most cells ``shadow_places`` tests: the coarse grid, and every refinement level.
MAX_SHADOW_CELLS = 2_000_000


_Cell = tuple[float, float, float]  # centre latitude, centre longitude, size (degrees)
_CELLS_HINT = "Use a larger --cell-deg or a smaller --bbox."


def _check_search(
    south: float, west: float, north: float, east: float, cell_deg: float, refine_levels: int
) -> None:
    """Refuse a bad box, cell size or number of levels, and a coarse grid over the limit."""
    if not (-90 <= south < north <= 90 and -180 <= west < east <= 180 and 0.01 <= cell_deg <= 10):
        msg = "bad search box or cell size"
        raise InputError(
            msg, code="E_INPUT_OPTION", hint="Give south < north, west < east, cell 0.01-10 deg."
        )
    if not 0 <= refine_levels <= 8:
        msg = f"refine_levels {refine_levels!r} must be between 0 and 8"
        raise InputError(msg, code="E_INPUT_OPTION", hint="Use 3, the default.")
    coarse = math.ceil((north - south) / cell_deg) * math.ceil((east - west) / cell_deg)
    if coarse > MAX_SHADOW_CELLS:
        msg = (
            f"a {cell_deg:g} degree grid over this box has {coarse:,} cells, over the limit of "
            f"{MAX_SHADOW_CELLS:,}"
        )
        raise LimitError(msg, code="E_LIMIT_CELLS", hint=_CELLS_HINT)


def _refine_cells(
    cells: list[_Cell], fit: npt.NDArray[np.bool_], *, split: bool
) -> tuple[list[_Cell], list[_Cell]]:
    """Return the edge cells split in four (when ``split``) and the fitting cells kept whole."""
    fit_set = {(round(c[0], 9), round(c[1], 9)) for c, f in zip(cells, fit, strict=True) if f}
    size = cells[0][2]
    next_cells: list[_Cell] = []
    fitting: list[_Cell] = []
    for c, f in zip(cells, fit, strict=True):
        neighbours = [
            (round(c[0] + dy * size, 9), round(c[1] + dx * size, 9))
            for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1))
        ]
        edge = any(((n in fit_set) != bool(f)) for n in neighbours)
        if edge and split:
            h = size / 4
            next_cells += [
                (c[0] + sy * h, c[1] + sx * h, size / 2) for sy in (-1, 1) for sx in (-1, 1)
            ]
        elif f:
            fitting.append(c)
    return next_cells, fitting


def _cell_feature(lat: float, lon: float, size: float) -> dict[str, Any]:
    """Return one fitting cell as a GeoJSON Polygon feature (longitude, latitude)."""
    w, e, s, n = lon - size / 2, lon + size / 2, lat - size / 2, lat + size / 2
    return {
        "type": "Feature",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]],
        },
        "properties": {"cell_deg": size},
    }


def shadow_places(
    when: datetime,
    shadow: ShadowMeasurement,
    *,
    south: float = -89.0,
    west: float = -180.0,
    north: float = 89.0,
    east: float = 180.0,
    cell_deg: float = SHADOW_CELL_DEG,
    refine_levels: int = 3,
) -> dict[str, Any]:
    """Find where on Earth, at ``when``, the sun casts this shadow: a GeoJSON FeatureCollection.

    A grid of ``cell_deg`` cells is tested at the cell centres; cells on the edge of the band
    (with a neighbour that differs) are split in four, ``refine_levels`` times, so the band's
    edges are resolved to ``cell_deg / 2**refine_levels``. Each fitting cell is a Polygon
    (GeoJSON: longitude, latitude).
    """
    utc = require_aware(when)
    _check_search(south, west, north, east, cell_deg, refine_levels)
    unix = utc.timestamp()
    lats = np.arange(south + cell_deg / 2, north, cell_deg)
    lons = np.arange(west + cell_deg / 2, east, cell_deg)
    cells = [(float(la), float(lo), cell_deg) for la in lats for lo in lons]
    fitting: list[_Cell] = []
    tested = 0
    for level in range(refine_levels + 1):
        if not cells:
            break
        tested += len(cells)
        if tested > MAX_SHADOW_CELLS:
            msg = f"refining the band needs more than {MAX_SHADOW_CELLS:,} cells"
            raise LimitError(msg, code="E_LIMIT_CELLS", hint=_CELLS_HINT)
        arr = np.asarray([(c[0], c[1]) for c in cells])
        fit = _fits(sun_positions(arr[:, 0], arr[:, 1], unix), shadow)
        cells, fit_here = _refine_cells(cells, fit, split=level < refine_levels)
        fitting += fit_here
    return {
        "type": "FeatureCollection",
        "properties": {
            "when_utc": utc.isoformat(),
            "shadow_azimuth_deg": shadow.azimuth_deg,
            "azimuth_error_deg": shadow.azimuth_error_deg,
            "length_ratio": shadow.length_ratio,
            "ratio_error": shadow.ratio_error,
            "method": "NREL SPA at cell centres; edge cells refined",
        },
        "features": [_cell_feature(la, lo, s) for la, lo, s in fitting],
    }


def shadow_azimuth_from_image(
    shadow_base_px: tuple[float, float],
    shadow_tip_px: tuple[float, float],
    reference_from_px: tuple[float, float],
    reference_to_px: tuple[float, float],
    reference_bearing_deg: float,
    *,
    pixel_error_px: float = 2.0,
    ground_homography: npt.ArrayLike | None = None,
) -> tuple[float, float]:
    """Shadow azimuth from points an analyst picked in a frame: (azimuth_deg, uncertainty_deg).

    The shadow runs from ``shadow_base_px`` to ``shadow_tip_px``; a reference line on the
    ground (a street whose bearing the registry gives) runs from ``reference_from_px`` towards
    ``reference_to_px`` on bearing ``reference_bearing_deg``. Angles measured in the image equal
    angles on the ground only for a view straight down (drone, satellite); for an oblique view
    give ``ground_homography``, a 3x3 matrix mapping image pixels to a metric ground plane
    (x east-ish, y north-ish, any orientation), and the points are rectified first.
    The uncertainty combines the pixel error at both ends of both lines.
    """
    pts = np.asarray(
        [shadow_base_px, shadow_tip_px, reference_from_px, reference_to_px], dtype=np.float64
    )
    if not np.all(np.isfinite(pts)) or not math.isfinite(reference_bearing_deg):
        msg = "pixel coordinates and the reference bearing must be finite"
        raise InputError(msg, code="E_INPUT_NAN", hint="Check the picked points.")
    if ground_homography is not None:
        hmat = np.asarray(ground_homography, dtype=np.float64)
        if hmat.shape != (3, 3) or not np.all(np.isfinite(hmat)):
            msg = "ground_homography must be a finite 3x3 matrix"
            raise InputError(
                msg, code="E_INPUT_OPTION", hint="Estimate it from four ground points."
            )
        homog = np.c_[pts, np.ones(4)] @ hmat.T
        pts = homog[:, :2] / homog[:, 2:3]
    shadow_vec = pts[1] - pts[0]
    ref_vec = pts[3] - pts[2]
    ls, lr = float(np.hypot(*shadow_vec)), float(np.hypot(*ref_vec))
    if ls < 1e-9 or lr < 1e-9:
        msg = "a picked line has zero length"
        raise InputError(msg, code="E_INPUT_OPTION", hint="Pick two distinct points for each line.")
    # image angles: x right, y down; clockwise angle from the reference to the shadow
    ang = math.degrees(
        math.atan2(shadow_vec[1], shadow_vec[0]) - math.atan2(ref_vec[1], ref_vec[0])
    )
    if ground_homography is not None:
        ang = -ang  # a metric ground plane with y north turns the other way
    azimuth = (reference_bearing_deg + ang) % 360.0
    err = math.degrees(
        math.hypot(
            math.atan2(math.sqrt(2) * pixel_error_px, ls),
            math.atan2(math.sqrt(2) * pixel_error_px, lr),
        )
    )
    return azimuth, err
