"""Solar position: NREL's SPA, vectorised over times and places (see ``geoverify.sun``)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from geoverify.errors import InputError
from geoverify.models import (
    OBSERVER_ELEVATION_M,
    STANDARD_PRESSURE_HPA,
    STANDARD_TEMPERATURE_C,
    LatLon,
)
from geoverify.sun import _spa_tables as T

FloatArray = npt.NDArray[np.float64]
_D2R = math.pi / 180.0
_UNIX_EPOCH_JD = 2440587.5
_REFRACTION_AT_HORIZON_DEG = 0.5667


# --- time ----------------------------------------------------------------------------------------


def require_aware(when: object) -> datetime:
    if not isinstance(when, datetime):  # library callers may pass anything
        msg = f"time must be a datetime, got {type(when).__name__}"
        raise InputError(msg, code="E_INPUT_TYPE", hint="Pass a timezone-aware datetime.")
    if when.tzinfo is None or when.utcoffset() is None:
        msg = f"time {when.isoformat()} has no time zone"
        hint = "Give the offset (2023-03-06T10:15+02:00) or a zone such as Europe/Kyiv."
        raise InputError(msg, code="E_NAIVE_DATETIME", hint=hint)
    return when.astimezone(UTC)


def parse_time(text: str, *, zone: str | None = None) -> datetime:
    """Parse an ISO 8601 time; a time without an offset needs ``zone`` (an IANA name).

    Local times that do not exist (the hour skipped when clocks go forward) or that occur twice
    (when clocks go back) are refused with a hint, never guessed.
    """
    from zoneinfo import ZoneInfoNotFoundError

    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        msg = f"not an ISO 8601 time: {text!r}"
        raise InputError(
            msg, code="E_INPUT_TIME", hint="Write e.g. 2023-03-06T10:15+02:00."
        ) from None
    if parsed.tzinfo is not None:
        if zone is not None:
            msg = f"{text!r} has an offset and a zone was also given"
            raise InputError(msg, code="E_INPUT_TIME", hint="Give one or the other.")
        return _to_utc(parsed, text)
    if zone is None:
        msg = f"time {text!r} has no time zone"
        hint = "Add the offset (+02:00) or give the zone (--tz Europe/Kyiv)."
        raise InputError(msg, code="E_NAIVE_DATETIME", hint=hint)
    try:
        tz = zone_info(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        msg = f"unknown time zone {zone!r}"
        raise InputError(
            msg, code="E_INPUT_TIME", hint="Use an IANA name such as Europe/Kyiv."
        ) from None
    early, late = parsed.replace(tzinfo=tz, fold=0), parsed.replace(tzinfo=tz, fold=1)
    if early.utcoffset() != late.utcoffset():
        gap = early.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != parsed
        what = "does not exist (clocks went forward)" if gap else "happens twice (clocks went back)"
        msg = f"{text} in {zone} {what}"
        raise InputError(msg, code="E_INPUT_TIME", hint="Give the UTC offset explicitly.")
    return _to_utc(early, text)


def day_window_utc(day: date, zone: str) -> tuple[datetime, datetime]:
    """Return the UTC start and end of a whole calendar ``day`` in the IANA ``zone``.

    From the day's first instant to the next day's (so 23 or 25 hours on a day the clocks
    change). Where midnight does not exist (clocks go forward at 00:00) the day starts at the
    change; where it happens twice, at the first midnight.

    Raises
    ------
    InputError
        ``E_INPUT_TIME`` for an unknown zone.
    """
    from zoneinfo import ZoneInfoNotFoundError

    try:
        tz = zone_info(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        msg = f"unknown time zone {zone!r}"
        raise InputError(
            msg, code="E_INPUT_TIME", hint="Use an IANA name such as Europe/Kyiv."
        ) from None
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)  # fold=0: the first one
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def zone_info(zone: str) -> Any:
    """``ZoneInfo(zone)`` for a plausible IANA name; ``ValueError`` for anything else.

    A folder of the zone database (``America``), a name of hundreds of characters or one with
    control characters is refused before ``zoneinfo`` looks for a file.
    """
    from zoneinfo import ZoneInfo

    if not (0 < len(zone) <= 64) or not all(ch.isalnum() or ch in "/_+-" for ch in zone):
        msg = f"not a time zone name: {zone[:70]!r}"
        raise ValueError(msg)
    try:
        return ZoneInfo(zone)
    except IsADirectoryError:
        msg = f"{zone!r} is a region, not a time zone"
        raise ValueError(msg) from None


def _to_utc(value: datetime, text: str) -> datetime:
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        msg = f"time {text!r} is out of the range of dates geoverify can represent"
        raise InputError(
            msg, code="E_INPUT_TIME", hint="Give a date between the years 1 and 9999 in UTC."
        ) from None


def delta_t_s(year: npt.ArrayLike) -> FloatArray:
    """TT - UT in seconds for decimal years (Espenak and Meeus polynomials, 1900-2150).

    Outside that span the long-term parabola -20 + 32 u^2 (u = (year - 1820) / 100) is used.
    """
    y = np.asarray(year, dtype=np.float64)
    out = -20.0 + 32.0 * ((y - 1820.0) / 100.0) ** 2
    t = y - 1900.0
    out = np.where(
        (y >= 1900) & (y < 1920),
        -2.79 + 1.494119 * t - 0.0598939 * t**2 + 0.0061966 * t**3 - 0.000197 * t**4,
        out,
    )
    t = y - 1920.0
    out = np.where(
        (y >= 1920) & (y < 1941), 21.20 + 0.84493 * t - 0.076100 * t**2 + 0.0020936 * t**3, out
    )
    t = y - 1950.0
    out = np.where((y >= 1941) & (y < 1961), 29.07 + 0.407 * t - t**2 / 233.0 + t**3 / 2547.0, out)
    t = y - 1975.0
    out = np.where((y >= 1961) & (y < 1986), 45.45 + 1.067 * t - t**2 / 260.0 - t**3 / 718.0, out)
    t = y - 2000.0
    out = np.where(
        (y >= 1986) & (y < 2005),
        63.86
        + 0.3345 * t
        - 0.060374 * t**2
        + 0.0017275 * t**3
        + 0.000651814 * t**4
        + 0.00002373599 * t**5,
        out,
    )
    out = np.where((y >= 2005) & (y < 2050), 62.92 + 0.32217 * t + 0.005589 * t**2, out)
    out = np.where(
        (y >= 2050) & (y < 2150),
        -20.0 + 32.0 * ((y - 1820.0) / 100.0) ** 2 - 0.5628 * (2150.0 - y),
        out,
    )
    return np.asarray(out, dtype=np.float64)


# --- the SPA, vectorised ------------------------------------------------------------------------


def _periodic(table: Sequence[Sequence[tuple[float, float, float]]], jme: FloatArray) -> FloatArray:
    total = np.zeros_like(jme)
    for order, rows in enumerate(table):
        coef = np.asarray(rows, dtype=np.float64)
        term = np.sum(
            coef[:, 0, None] * np.cos(coef[:, 1, None] + coef[:, 2, None] * jme[None, :]), axis=0
        )
        total += term * jme**order
    return total / 1e8


_NUT_Y = np.asarray(T.NUTATION_Y, dtype=np.float64)
_NUT_AB = np.asarray(T.NUTATION_AB, dtype=np.float64)
_NUT_CD = np.asarray(T.NUTATION_CD, dtype=np.float64)


def _spa(
    unix_s: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
    elevation_m: FloatArray,
    pressure_hpa: FloatArray,
    temperature_c: FloatArray,
    delta_t: FloatArray | None,
    refraction_deg: float,
) -> dict[str, FloatArray]:
    jd = unix_s / 86400.0 + _UNIX_EPOCH_JD
    jc = (jd - 2451545.0) / 36525.0
    lam, beta, big_r, d_psi, eps = _slow_terms(unix_s, delta_t)
    # apparent sidereal time at Greenwich (eq. 28-29)
    nu0 = (
        280.46061837 + 360.98564736629 * (jd - 2451545.0) + 0.000387933 * jc**2 - jc**3 / 38710000.0
    ) % 360.0
    nu = nu0 + d_psi * np.cos(np.radians(eps))
    # geocentric right ascension and declination (eq. 30-31)
    lam_r, eps_r, beta_r = np.radians(lam), np.radians(eps), np.radians(beta)
    alpha = (
        np.degrees(
            np.arctan2(
                np.sin(lam_r) * np.cos(eps_r) - np.tan(beta_r) * np.sin(eps_r), np.cos(lam_r)
            )
        )
        % 360.0
    )
    delta = np.degrees(
        np.arcsin(np.sin(beta_r) * np.cos(eps_r) + np.cos(beta_r) * np.sin(eps_r) * np.sin(lam_r))
    )
    # local hour angle (eq. 32)
    h = (nu + lon - alpha) % 360.0
    # topocentric parallax (eq. 33-38)
    xi = np.radians(8.794 / (3600.0 * big_r))
    lat_r = np.radians(lat)
    uu = np.arctan(0.99664719 * np.tan(lat_r))
    xx = np.cos(uu) + elevation_m / 6378140.0 * np.cos(lat_r)
    yy = 0.99664719 * np.sin(uu) + elevation_m / 6378140.0 * np.sin(lat_r)
    h_r, delta_r = np.radians(h), np.radians(delta)
    d_alpha = np.arctan2(
        -xx * np.sin(xi) * np.sin(h_r), np.cos(delta_r) - xx * np.sin(xi) * np.cos(h_r)
    )
    delta_p = np.arctan2(
        (np.sin(delta_r) - yy * np.sin(xi)) * np.cos(d_alpha),
        np.cos(delta_r) - xx * np.sin(xi) * np.cos(h_r),
    )
    h_p = h_r - d_alpha
    # elevation with refraction (eq. 39-43)
    e0 = np.degrees(
        np.arcsin(np.sin(lat_r) * np.sin(delta_p) + np.cos(lat_r) * np.cos(delta_p) * np.cos(h_p))
    )
    refr = (
        (pressure_hpa / 1010.0)
        * (283.0 / (273.0 + temperature_c))
        * 1.02
        / (60.0 * np.tan(np.radians(e0 + 10.3 / (e0 + 5.11))))
    )
    refr = np.where(e0 >= -1.0 * (0.26667 + refraction_deg), refr, 0.0)
    e = e0 + refr
    # azimuth (eq. 44-46)
    gamma = np.degrees(
        np.arctan2(np.sin(h_p), np.cos(h_p) * np.sin(lat_r) - np.tan(delta_p) * np.cos(lat_r))
    )
    azimuth = (gamma + 180.0) % 360.0
    return {
        "azimuth_deg": azimuth,
        "elevation_deg": e,
        "elevation_geometric_deg": e0,
        "zenith_deg": 90.0 - e,
        "declination_deg": np.degrees(delta_p),
        "hour_angle_deg": np.degrees(h_p) % 360.0,
        "julian_day": jd,
    }


def _geocentric(unix_s: FloatArray, delta_t: FloatArray) -> tuple[FloatArray, ...]:
    """Apparent sun longitude, latitude, distance (AU), nutation and obliquity (eq. 9-27)."""
    jde = unix_s / 86400.0 + _UNIX_EPOCH_JD + delta_t / 86400.0
    jce = (jde - 2451545.0) / 36525.0
    jme = jce / 10.0
    # heliocentric longitude, latitude, radius (eq. 9-12)
    big_l = np.degrees(_periodic(T.EARTH_L, jme)) % 360.0
    big_b = np.degrees(_periodic(T.EARTH_B, jme))
    big_r = _periodic(T.EARTH_R, jme)
    # geocentric (eq. 13-14)
    theta = (big_l + 180.0) % 360.0
    beta = -big_b
    # nutation (eq. 15-23)
    x = np.stack(
        [
            297.85036 + 445267.111480 * jce - 0.0019142 * jce**2 + jce**3 / 189474.0,
            357.52772 + 35999.050340 * jce - 0.0001603 * jce**2 - jce**3 / 300000.0,
            134.96298 + 477198.867398 * jce + 0.0086972 * jce**2 + jce**3 / 56250.0,
            93.27191 + 483202.017538 * jce - 0.0036825 * jce**2 + jce**3 / 327270.0,
            125.04452 - 1934.136261 * jce + 0.0020708 * jce**2 + jce**3 / 450000.0,
        ]
    )
    arg = np.radians(_NUT_Y @ x)  # (63, n)
    d_psi = np.sum((_NUT_AB[:, 0, None] + _NUT_AB[:, 1, None] * jce) * np.sin(arg), axis=0) / 36e6
    d_eps = np.sum((_NUT_CD[:, 0, None] + _NUT_CD[:, 1, None] * jce) * np.cos(arg), axis=0) / 36e6
    # obliquity of the ecliptic (eq. 24-25)
    u = jme / 10.0
    eps0 = np.polyval(
        [2.45, 5.79, 27.87, 7.12, -39.05, -249.67, -51.38, 1999.25, -1.55, -4680.93, 84381.448], u
    )
    eps = eps0 / 3600.0 + d_eps
    # aberration, apparent sun longitude (eq. 26-27)
    lam = theta + d_psi - 20.4898 / (3600.0 * big_r)
    return lam, beta, big_r, d_psi, eps


# The series above change slowly (the sun moves 0.04 degree an hour; the shortest nutation
# period is days): for many times they are evaluated on a 10-minute grid and interpolated
# linearly, which changes the result by less than 1e-7 degree.
_GRID_S = 600.0


def _years(unix_s: FloatArray) -> FloatArray:
    return 1970.0 + unix_s / (365.2425 * 86400.0)


def _slow_terms(unix_s: FloatArray, delta_t: FloatArray | None) -> tuple[FloatArray, ...]:
    """``_geocentric`` for every time; ``delta_t`` ``None`` means the Espenak-Meeus model."""
    n = unix_s.size
    t_min, t_max = (float(unix_s.min()), float(unix_s.max())) if n else (0.0, 0.0)
    grid_n = int((t_max - t_min) // _GRID_S) + 2
    constant = delta_t is None or float(np.ptp(delta_t)) == 0.0
    if n < 4096 or grid_n * 4 > n or not constant:
        return _geocentric(unix_s, delta_t_s(_years(unix_s)) if delta_t is None else delta_t)
    grid = t_min + _GRID_S * np.arange(grid_n, dtype=np.float64)
    grid_dt = delta_t_s(_years(grid)) if delta_t is None else np.full(grid_n, float(delta_t[0]))
    values = _geocentric(grid, grid_dt)
    out = []
    for i, v in enumerate(values):
        series = np.degrees(np.unwrap(np.radians(v))) if i == 0 else v  # longitude wraps
        out.append(np.interp(unix_s, grid, series))
    return tuple(out)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SunPosition:
    """The sun seen from a place at a time.

    Attributes
    ----------
    azimuth_deg
        Clockwise from true north, [0, 360).
    elevation_deg
        Apparent elevation above the horizon (with refraction), degrees.
    elevation_geometric_deg
        Without refraction.
    zenith_deg
        90 - apparent elevation.
    shadow_azimuth_deg
        Direction a vertical object's shadow points, azimuth + 180; ``None`` at night.
    shadow_length_ratio
        Shadow length / object height on level ground (cot elevation); ``None`` at night.
    above_horizon
        Whether the sun's apparent centre is above the horizon.
    when_utc, where, delta_t_s
        The inputs used.
    """

    azimuth_deg: float
    elevation_deg: float
    elevation_geometric_deg: float
    zenith_deg: float
    shadow_azimuth_deg: float | None
    shadow_length_ratio: float | None
    above_horizon: bool
    when_utc: datetime
    where: LatLon
    delta_t_s: float

    def _repr_html_(self) -> str:
        """Show the position in Jupyter."""
        from geoverify.models import html_table

        def deg(v: float | None) -> str:
            return "-" if v is None else f"{v:.4f} deg"

        return html_table(
            [
                ("when (UTC)", self.when_utc.isoformat()),
                ("where", f"{self.where.lat:.6f}, {self.where.lon:.6f}"),
                ("azimuth", deg(self.azimuth_deg)),
                ("elevation (apparent)", deg(self.elevation_deg)),
                ("shadow azimuth", deg(self.shadow_azimuth_deg)),
                ("shadow length / height",
                 "-" if self.shadow_length_ratio is None else f"{self.shadow_length_ratio:.3f}"),
                ("above the horizon", self.above_horizon),
            ]
        )  # fmt: skip


def _atmosphere(pressure_hpa: float, temperature_c: float, elevation_m: float) -> None:
    for name, value, lo, hi in (
        ("pressure_hpa", pressure_hpa, 100.0, 1100.0),
        ("temperature_c", temperature_c, -90.0, 60.0),
        ("elevation_m", elevation_m, -500.0, 9000.0),
    ):
        if not (math.isfinite(value) and lo <= value <= hi):
            msg = f"{name} {value!r} is outside [{lo:g}, {hi:g}]"
            raise InputError(msg, code="E_INPUT_OPTION", hint=f"Give a plausible {name}.")


def sun_positions(
    lat: npt.ArrayLike,
    lon: npt.ArrayLike,
    unix_s: npt.ArrayLike,
    *,
    elevation_m: npt.ArrayLike = OBSERVER_ELEVATION_M,
    pressure_hpa: npt.ArrayLike = STANDARD_PRESSURE_HPA,
    temperature_c: npt.ArrayLike = STANDARD_TEMPERATURE_C,
    delta_t: npt.ArrayLike | None = None,
) -> dict[str, FloatArray]:
    """Vectorised sun positions for arrays of places and POSIX times (UTC seconds).

    Inputs broadcast together. Returns arrays ``azimuth_deg``, ``elevation_deg`` (apparent),
    ``elevation_geometric_deg``, ``zenith_deg``, ``declination_deg``, ``hour_angle_deg``.
    """
    la, lo, t, el, p, tc = np.broadcast_arrays(
        *(
            np.asarray(v, dtype=np.float64)
            for v in (lat, lon, unix_s, elevation_m, pressure_hpa, temperature_c)
        )
    )
    if not (np.all(np.isfinite(la)) and np.all(np.isfinite(lo)) and np.all(np.isfinite(t))):
        msg = "places and times must be finite numbers"
        raise InputError(msg, code="E_INPUT_NAN", hint="Remove NaN or infinite values.")
    if np.any(np.abs(la) > 90) or np.any(np.abs(lo) > 180):
        msg = "latitude must be in [-90, 90] and longitude in [-180, 180]"
        raise InputError(
            msg, code="E_COORD_RANGE", hint="Check for swapped latitude and longitude."
        )
    shape = la.shape
    flat = [np.ascontiguousarray(a).ravel() for a in (la, lo, t, el, p, tc)]
    dt = (
        None
        if delta_t is None
        else np.broadcast_to(np.asarray(delta_t, dtype=np.float64), shape).ravel()
    )
    out = _spa(flat[2], flat[0], flat[1], flat[3], flat[4], flat[5], dt, _REFRACTION_AT_HORIZON_DEG)
    return {k: v.reshape(shape) for k, v in out.items()}


def sun_position(
    where: LatLon,
    when: datetime,
    *,
    elevation_m: float = OBSERVER_ELEVATION_M,
    pressure_hpa: float = STANDARD_PRESSURE_HPA,
    temperature_c: float = STANDARD_TEMPERATURE_C,
    delta_t: float | None = None,
) -> SunPosition:
    """Sun position at a place and a timezone-aware time (NREL SPA).

    Parameters
    ----------
    where
        Observer position.
    when
        Timezone-aware datetime (any zone; converted to UTC).
    elevation_m
        Observer height above the ellipsoid, metres (parallax; tiny effect).
    pressure_hpa, temperature_c
        For refraction near the horizon; standard atmosphere by default.
    delta_t
        TT - UT in seconds; the Espenak-Meeus estimate when ``None``.
    """
    utc = require_aware(when)
    _atmosphere(pressure_hpa, temperature_c, elevation_m)
    unix = utc.timestamp()
    dt = (
        float(delta_t_s(1970.0 + unix / (365.2425 * 86400.0)))
        if delta_t is None
        else float(delta_t)
    )
    r = sun_positions(
        where.lat,
        where.lon,
        unix,
        elevation_m=elevation_m,
        pressure_hpa=pressure_hpa,
        temperature_c=temperature_c,
        delta_t=dt,
    )
    az = float(r["azimuth_deg"])
    el = float(r["elevation_deg"])
    up = el > 0.0
    return SunPosition(
        azimuth_deg=az,
        elevation_deg=el,
        elevation_geometric_deg=float(r["elevation_geometric_deg"]),
        zenith_deg=float(r["zenith_deg"]),
        shadow_azimuth_deg=(az + 180.0) % 360.0 if up else None,
        shadow_length_ratio=1.0 / math.tan(math.radians(el)) if up else None,
        above_horizon=up,
        when_utc=utc,
        where=where,
        delta_t_s=dt,
    )
