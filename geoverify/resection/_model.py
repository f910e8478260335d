"""What ``locate`` takes and gives: observations, the focal length, the camera and its error."""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Literal

from shapely.geometry import Polygon, mapping

from geoverify.models import LatLon

__all__ = [
    "CameraFix",
    "CameraPoints",
    "Focal",
    "LocateOptions",
    "Observation",
    "PointFit",
    "Uncertainty",
]

Mode = Literal["3d", "2d"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CameraPoints:
    """Landmarks marked in a frame, for ``verify``: the POINTS file and the frame they are on.

    ``image`` is ``None`` when the points were marked on the verified photo itself.
    """

    points: str | os.PathLike[str]
    image: str | os.PathLike[str] | None = None

    def paths(self) -> tuple[str, ...]:
        """Return the files read, as paths (an output may not be, hold or lie in one)."""
        found = (self.points, self.image)
        return tuple(os.fspath(p) for p in found if p is not None)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LocateOptions:
    """How ``locate`` weighs the clicks and samples the uncertainty.

    Attributes
    ----------
    sigma_px
        An analyst's click on a landmark, one standard deviation, pixels.
    samples
        Monte Carlo samples for the uncertainty (each re-solves the camera once).
    seed
        Random seed: the same inputs give the same numbers.
    """

    sigma_px: float = 2.0
    samples: int = 300
    seed: int = 0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """One point the analyst marked: where it is in the frame and what it is on the map.

    Attributes
    ----------
    x_px, y_px
        Pixel in the upright frame (after any EXIF orientation), origin top-left, x right.
    landmark
        A registry landmark id, or ``None`` when ``position`` is given directly.
    position
        WGS84 position of the point (from the registry, or from the points file).
    alt_m
        Height of the point above the WGS84 ellipsoid as the source gives it (``None``:
        unknown; the 3D mode needs it).
    sigma_m
        How far the true point may lie from ``position``, one standard deviation, metres.
    sigma_source
        Where ``sigma_m`` comes from (the points file, the registry, a default).
    label
        The landmark id, or the position as text, for messages and reports.
    """

    x_px: float
    y_px: float
    landmark: str | None
    position: LatLon
    alt_m: float | None
    sigma_m: float
    sigma_source: str
    label: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Focal:
    """The focal length used, in pixels of the upright frame, and where it came from.

    ``estimated`` is true when no focal length was known and it was fitted to the points:
    the position is then weak evidence (a street scene's error grows about tenfold).
    """

    value_px: float
    source: str
    estimated: bool = False

    def hfov_deg(self, width_px: int) -> float:
        """Horizontal field of view of a frame ``width_px`` wide, degrees."""
        return 2.0 * math.degrees(math.atan(width_px / (2.0 * self.value_px)))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PointFit:
    """One observation after the fit: how far the solved camera puts it from the click."""

    label: str
    x_px: float
    y_px: float
    residual_px: float
    outlier: bool
    sigma_m: float
    sigma_source: str
    position: LatLon
    alt_m: float | None
    distance_m: float
    bearing_deg: float


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Uncertainty:
    """How far the camera may be from the stated position (Monte Carlo over the inputs' errors).

    Attributes
    ----------
    radius_m_50, radius_m_90
        Half and nine tenths of the re-solved positions lie within these distances, metres.
    region_90
        The ellipse holding 90 % of the re-solved positions (shapely, x = longitude).
    heading_deg_90
        Nine tenths of the re-solved headings lie within this many degrees of the stated one.
    samples
        Re-solved samples used (some may fail to solve and are left out; see ``failed``).
    failed
        Samples that found no solution with every point in front of the camera.
    sigma_px
        Click error assumed, pixels (one standard deviation).
    """

    radius_m_50: float
    radius_m_90: float
    region_90: Polygon
    heading_deg_90: float
    samples: int
    failed: int
    sigma_px: float


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CameraFix:
    """Where the camera stood and which way it faced, from landmarks seen in one frame.

    Attributes
    ----------
    camera
        The camera's position (WGS84).
    alt_m
        Its height on the points' altitude reference (3D mode only).
    heading_deg
        Where the optical axis points, degrees clockwise from true north.
    pitch_deg
        Upward tilt of the optical axis, degrees (3D mode only).
    mode
        ``3d`` (pixel rows and columns, points with heights) or ``2d`` (pixel columns only:
        horizontal angles between the points; the camera assumed level).
    rms_px
        Root mean square of the points' residuals, pixels.
    ambiguous, alternative, alternative_rms_px
        Whether another camera position explains the points nearly as well (three or four
        points often allow two), and that position with its residual.
    """

    image: str
    width_px: int
    height_px: int
    camera: LatLon
    alt_m: float | None
    heading_deg: float
    pitch_deg: float | None
    mode: Mode
    focal: Focal
    rms_px: float
    uncertainty: Uncertainty
    ambiguous: bool
    alternative: LatLon | None
    alternative_rms_px: float | None
    points: tuple[PointFit, ...]
    notes: tuple[str, ...] = ()

    @property
    def hfov_deg(self) -> float:
        """Horizontal field of view of the frame, degrees."""
        return self.focal.hfov_deg(self.width_px)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (GeoJSON order, lon then lat, only inside ``region_90``)."""
        u = self.uncertainty
        return {
            "image": self.image,
            "width_px": self.width_px,
            "height_px": self.height_px,
            "camera": {"lat": self.camera.lat, "lon": self.camera.lon, "alt_m": self.alt_m},
            "heading_deg": self.heading_deg,
            "pitch_deg": self.pitch_deg,
            "mode": self.mode,
            "hfov_deg": self.hfov_deg,
            "rms_px": self.rms_px,
            "focal": dataclasses.asdict(self.focal),
            "uncertainty": {
                "radius_m_50": finite_or_none(u.radius_m_50),
                "radius_m_90": finite_or_none(u.radius_m_90),
                "region_90": mapping(u.region_90),
                "heading_deg_90": u.heading_deg_90,
                "samples": u.samples,
                "failed": u.failed,
                "sigma_px": u.sigma_px,
            },
            "ambiguous": self.ambiguous,
            "alternative": (
                None
                if self.alternative is None
                else {
                    "lat": self.alternative.lat,
                    "lon": self.alternative.lon,
                    "rms_px": self.alternative_rms_px,
                }
            ),
            "points": [_point_dict(p) for p in self.points],
            "notes": list(self.notes),
        }


def finite_or_none(value: float) -> float | None:
    """Return ``value``, or ``None`` for an unbounded radius (JSON has no infinity)."""
    return value if math.isfinite(value) else None


def _point_dict(p: PointFit) -> dict[str, Any]:
    out = dataclasses.asdict(p)
    out["position"] = {"lat": p.position.lat, "lon": p.position.lon}
    return out
