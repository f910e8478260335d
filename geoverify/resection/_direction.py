"""The resected heading against the direction the file itself claims (EXIF, DJI gimbal yaw)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from geoverify.geodesy import angle_difference_deg
from geoverify.resection._model import CameraFix

if TYPE_CHECKING:
    from geoverify.probing import CameraDirection

__all__ = ["MAGNETIC_ALLOWANCE_DEG", "HeadingCheck", "heading_checks"]

# A magnetic bearing (or one whose reference the file does not state) is compared as written:
# the declination is at most about 15 degrees in inhabited places away from the poles, so that
# much more is allowed before a disagreement is reported.
MAGNETIC_ALLOWANCE_DEG = 15.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HeadingCheck:
    """One direction the file claims, against the heading resected from the marked points.

    ``allowed_deg`` is the resection's own 90 % heading spread, plus
    ``MAGNETIC_ALLOWANCE_DEG`` when the file's bearing is magnetic or of unknown reference;
    ``difference_deg`` is the unsigned angle between the two, degrees; ``agrees`` says whether
    it is within ``allowed_deg``.
    """

    source: str
    kind: str
    reference: str
    file_bearing_deg: float
    resected_heading_deg: float
    difference_deg: float
    allowed_deg: float
    agrees: bool


def heading_checks(
    fix: CameraFix, directions: Sequence[CameraDirection]
) -> tuple[HeadingCheck, ...]:
    """Compare each viewing direction the file claims (``view``, ``destination``) with ``fix``.

    A direction of movement (GPSTrack) says where the camera went, not where it looked: skipped.
    """
    out = []
    for d in directions:
        if d.kind not in ("view", "destination"):
            continue
        diff = abs(angle_difference_deg(d.bearing_deg, fix.heading_deg))
        allowed = fix.uncertainty.heading_deg_90
        if d.reference != "true":
            allowed += MAGNETIC_ALLOWANCE_DEG
        out.append(
            HeadingCheck(
                source=d.source,
                kind=d.kind,
                reference=d.reference,
                file_bearing_deg=d.bearing_deg,
                resected_heading_deg=fix.heading_deg,
                difference_deg=diff,
                allowed_deg=allowed,
                agrees=diff <= allowed,
            )
        )
    return tuple(out)
