"""Magnetic declination from the World Magnetic Model: a magnetic heading to true north.

Method: the World Magnetic Model (NOAA NCEI and the British Geological Survey; coefficients
public domain), evaluated by ``pygeomag`` (pure Python, MIT) with the model whose five-year
life span holds the date: WMM2015v2 (2015-2019), WMM2020 (2020-2024), WMM2025 (2025-2029).
Accuracy: the model's own error model, about 0.3-0.5 degrees of declination in inhabited
places (the WMM technical reports), larger near the magnetic poles, where the horizontal field
is weak: in the reports' blackout and caution zones (H below 6000 nT) a compass is unreliable
and no declination is given. Checked against the WMM2025 report's test values to 0.01 degrees
(tests/test_facing.py). Outside 2015-2029, or with no date, no declination is given: a
magnetic heading is then kept out, never treated as true.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from geoverify.errors import InputError
from geoverify.models import LatLon

__all__ = ["Declination", "magnetic_declination"]

_FIRST_YEAR, _END_YEAR = 2015, 2030  # the models with a stated error model (pygeomag 1.1)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Declination:
    """The angle from true north to magnetic north at a place and time.

    ``declination_deg`` is positive east: a true bearing is the magnetic one plus it.
    ``uncertainty_deg`` is the model's one-sigma error at that place; ``model`` names it.
    """

    declination_deg: float
    uncertainty_deg: float
    model: str


def _decimal_year(when: datetime) -> float:
    t = when.astimezone(UTC)
    start = datetime(t.year, 1, 1, tzinfo=UTC)
    end = datetime(t.year + 1, 1, 1, tzinfo=UTC)
    return t.year + (t - start) / (end - start)


def magnetic_declination(
    position: LatLon, when: datetime, *, height_km: float = 0.0
) -> Declination | None:
    """Return the WMM declination at ``position`` and ``when``, or ``None`` when not given.

    Parameters
    ----------
    position
        WGS84 latitude and longitude, degrees.
    when
        A timezone-aware time; the model whose life span holds it is used.
    height_km
        Height above the WGS84 ellipsoid, kilometres (the reports' test values use 0 and 100).

    Returns
    -------
    Declination or None
        ``None`` outside 2015-2029 (no model with an error model here) and in the blackout
        and caution zones near the magnetic poles.

    Raises
    ------
    InputError
        ``E_INPUT_TIME`` for a naive datetime.
    """
    if when.tzinfo is None:
        msg = f"a naive datetime {when.isoformat()!r}: the time zone is needed"
        raise InputError(msg, code="E_INPUT_TIME", hint="Give a timezone-aware datetime.")
    year = _decimal_year(when)
    if not _FIRST_YEAR <= year < _END_YEAR:
        return None
    from pygeomag import BlackoutZoneException, CautionZoneException, GeoMag

    geo_mag = GeoMag(base_year=int(year))
    try:
        result = geo_mag.calculate(
            glat=position.lat,
            glon=position.lon,
            alt=height_km,
            time=year,
            raise_in_warning_zone=True,
        )
    except (BlackoutZoneException, CautionZoneException):
        return None
    return Declination(
        declination_deg=float(result.d),
        uncertainty_deg=float(result.calculate_uncertainty().d),
        model=str(geo_mag.model),
    )
