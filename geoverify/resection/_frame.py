"""A local east-north-up frame on the WGS84 ellipsoid (pyproj's topocentric conversion)."""

from __future__ import annotations

import dataclasses
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from geoverify.models import LatLon

__all__ = ["LocalFrame"]

FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class LocalFrame:
    """East, north, up metres about ``origin`` (at height ``h0_m`` on the ellipsoid).

    Exact on the ellipsoid (geodetic → geocentric → topocentric), so distances and angles
    within a few kilometres are those GeographicLib gives, to millimetres.
    """

    origin: LatLon
    h0_m: float = 0.0

    @cached_property
    def _transformer(self) -> Any:
        from pyproj import Transformer

        o = self.origin
        return Transformer.from_pipeline(
            "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
            "+step +proj=cart +ellps=WGS84 "
            f"+step +proj=topocentric +ellps=WGS84 +lat_0={o.lat!r} +lon_0={o.lon!r} "
            f"+h_0={self.h0_m!r}"
        )

    def to_enu(self, lat: FloatArray, lon: FloatArray, h_m: FloatArray) -> FloatArray:
        """Positions (degrees, metres) as an (n, 3) array of east, north, up metres."""
        e, n, u = self._transformer.transform(lon, lat, h_m)
        return np.column_stack([np.atleast_1d(e), np.atleast_1d(n), np.atleast_1d(u)])

    def to_geo(self, enu: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(n, 3) east, north, up metres back to latitude, longitude (degrees), height (m)."""
        enu = np.atleast_2d(enu)
        lon, lat, h = self._transformer.transform(
            enu[:, 0], enu[:, 1], enu[:, 2], direction="INVERSE"
        )
        return np.atleast_1d(lat), np.atleast_1d(lon), np.atleast_1d(h)

    def latlon(self, e_m: float, n_m: float, u_m: float = 0.0) -> LatLon:
        """One local position as a ``LatLon``."""
        lat, lon, _ = self.to_geo(np.array([[e_m, n_m, u_m]]))
        return LatLon(float(lat[0]), float(lon[0]))
