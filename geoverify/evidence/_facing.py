"""The facing check: whether the landmark the footage is said to show could have been in view.

Input: the cameras with a position and a heading: EXIF ``GPSImgDirection`` (a view direction,
paired with the EXIF GPS position; a C2PA capture assertion's likewise), a DJI flight's gimbal
yaw (each telemetry fix, sampled), and a camera resected by ``locate`` (its heading, 90 %
heading spread and field of view); the landmarks ``shows`` names. Output: one ``FacingCheck``
per camera and landmark: the geodesic bearing from the camera to the landmark (pyproj's Geod,
Karney's algorithm; to the angular extent of its outline for a line or an area), the angle off
the camera's axis, the half field of view and the margin, and whether the landmark lies
certainly in view, certainly out of it, or neither given the stated uncertainties.

Headings: a true heading is used as written; a magnetic one is turned to true north with the
World Magnetic Model's declination at the place and date (``magnetic_declination``; its error
added), and kept out when no declination can be given (no date, a date outside the models, near
the magnetic poles), never treated as true. A heading whose reference the file does not state
(DJI's gimbal yaw, an EXIF bearing without GPSImgDirectionRef) could be either: the true heading
lies between the bearing and the bearing plus the declination, and the check allows for both.
The horizontal field of view comes from the 35 mm equivalent focal length (EXIF
FocalLengthIn35mmFilm over the long side, as ``locate`` takes it) or the resection's focal
length; with none the check reports the angles and decides nothing.

Uncertainty: the slack is the heading's stated spread (the resection's 90 % spread, the
declination's error; a compass states none: its heading is then taken as exact and a
contradiction resting on it is weak) plus the angle the position's accuracy and the landmark's
uncertainty subtend at its distance. Out of view only when the nearest part of the landmark
lies beyond the half field of view plus that slack.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from shapely.geometry import Point

from geoverify.errors import InputError
from geoverify.evidence._declination import magnetic_declination
from geoverify.evidence._model import RESECTION, CameraPosition, resolve_role
from geoverify.geodesy import angle_difference_deg, bearing_deg, destination
from geoverify.models import LatLon

if TYPE_CHECKING:
    from geoverify.claims import ClaimSet, Hypothesis
    from geoverify.probing import CameraDirection, MediaInfo
    from geoverify.registry import Landmark, Registry

__all__ = ["CameraHeading", "FacingCheck", "camera_headings", "facing_check", "facing_checks"]

InView = Literal["yes", "no", "undecided"]
_MAX_TRACK_HEADINGS = 50  # gimbal yaws of a long flight checked one by one (sampled evenly)
_MAX_OUTLINE_POINTS = 2000


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CameraHeading:
    """A camera's position and which way it faced, true north, with what is known of both.

    Attributes
    ----------
    label, source
        Which camera (``camera (EXIF GPS)``, ``GPS fix at 3.0 s``...) and where its heading
        comes from (``EXIF GPSImgDirection``...).
    position, accuracy_m
        Where it stood (WGS84) and the position's stated accuracy, metres (``None``: not stated).
    heading_deg
        The optical axis, degrees clockwise from true north (the centre of the possible
        headings when the reference is not stated).
    spread_deg
        How far the true heading may lie either side of ``heading_deg``, degrees (the stated
        spread, the declination's error, and half the declination when the reference is
        unknown; 0 when nothing is stated).
    spread_stated
        Whether the heading itself states its uncertainty (a resection does; a compass not).
    reference
        How the heading became true north, in words.
    hfov_deg, hfov_source
        The horizontal field of view, degrees (``None``: unknown), and where it comes from.
    """

    label: str
    source: str
    position: LatLon
    accuracy_m: float | None
    heading_deg: float
    spread_deg: float
    spread_stated: bool
    reference: str
    hfov_deg: float | None
    hfov_source: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FacingCheck:
    """One camera against one landmark: whether it lay within the horizontal field of view.

    Attributes
    ----------
    bearing_deg
        Geodesic bearing from the camera to the landmark (its point; for an outline, the part
        nearest the axis), degrees from true north; ``None`` when the camera stands on it.
    distance_m
        Geodesic distance to the landmark, metres (0 inside an area).
    off_axis_deg
        Unsigned angle between the camera's axis and that bearing, degrees.
    half_hfov_deg
        Half the horizontal field of view, degrees (``None``: unknown).
    slack_deg
        The heading's spread plus the angle the position's accuracy and the landmark's
        uncertainty subtend at ``distance_m``, degrees (180: the bearing is unknown).
    margin_deg
        ``half_hfov_deg - off_axis_deg``: positive inside the field, negative outside.
    in_view
        ``yes`` (inside even allowing ``slack_deg``), ``no`` (outside even so) or
        ``undecided``.
    position, cone
        The camera's position, and its field of view drawn as far as the landmark (and a
        fifth beyond): (left edge, camera, right edge), for a map; ``None`` when the field is
        unknown.
    """

    camera: str
    position: LatLon
    heading_source: str
    heading_deg: float
    reference: str
    landmark: str
    bearing_deg: float | None
    distance_m: float
    off_axis_deg: float
    half_hfov_deg: float | None
    hfov_source: str
    slack_deg: float
    margin_deg: float | None
    in_view: InView
    spread_stated: bool
    cone: tuple[LatLon, LatLon, LatLon] | None = None


# --- the headings ------------------------------------------------------------------------------


def camera_headings(
    media: MediaInfo | None, cams: Sequence[CameraPosition]
) -> tuple[tuple[CameraHeading, ...], tuple[str, ...]]:
    """Return every camera with a position and a usable heading, and the headings kept out.

    The second element says, for each heading left out, why (a magnetic bearing with no
    declination, a view direction with no position...).
    """
    out: list[CameraHeading] = []
    kept_out: list[str] = []
    if media is not None:
        hfov, hfov_source = _media_hfov(media)
        when = _capture_time(media)
        for d in media.directions:
            if d.kind != "view" or (media.gps_track is not None and "gimbal" in d.source):
                continue  # a track's gimbal yaw is taken fix by fix below
            placed = _position_for(d, media)
            if placed is None:
                kept_out.append(f"{d.source} {d.bearing_deg:g} deg: no position to place it")
                continue
            _add(out, kept_out, placed, d, when, (hfov, hfov_source))
        _add_track(out, kept_out, media, (hfov, hfov_source), when)
    for cam in cams:
        if cam.heading_deg is not None:
            out.append(_resected(cam))
    return tuple(out), tuple(kept_out)


def _resected(cam: CameraPosition) -> CameraHeading:
    spread = cam.heading_uncertainty_deg
    return CameraHeading(
        label=cam.label,
        source=cam.source if cam.source.startswith(RESECTION) else f"{cam.source} heading",
        position=cam.position,
        accuracy_m=cam.accuracy_m,
        heading_deg=float(cam.heading_deg or 0.0) % 360.0,
        spread_deg=float(spread or 0.0),
        spread_stated=spread is not None,
        reference="true north (resected from marked landmarks; 90 % heading spread)",
        hfov_deg=cam.hfov_deg,
        hfov_source="the resection's focal length" if cam.hfov_deg is not None else "unknown",
    )


def _position_for(d: CameraDirection, media: MediaInfo) -> tuple[str, LatLon, float | None] | None:
    """Pair a view direction with the position written beside it (EXIF GPS, a C2PA assertion)."""
    for loc in media.locations:
        if loc.position is None:
            continue
        exif = d.source.startswith("EXIF") and loc.source == "EXIF GPS"
        if exif or (loc.source != "EXIF GPS" and d.source.startswith(loc.source)):
            return f"camera ({loc.source})", loc.position, loc.accuracy_m
    return None


def _add(
    out: list[CameraHeading],
    kept_out: list[str],
    placed: tuple[str, LatLon, float | None],
    d: CameraDirection,
    when: datetime | None,
    hfov: tuple[float | None, str],
) -> None:
    """Turn one view direction to true north and add it, or say why it is kept out."""
    label, position, accuracy = placed
    true = _to_true(d.bearing_deg, d.reference, position, when)
    if isinstance(true, str):
        kept_out.append(f"{d.source} {d.bearing_deg:g} deg ({d.reference} north): {true}")
        return
    heading, spread, words = true
    out.append(
        CameraHeading(
            label=label, source=d.source, position=position, accuracy_m=accuracy,
            heading_deg=heading, spread_deg=spread, spread_stated=False, reference=words,
            hfov_deg=hfov[0], hfov_source=hfov[1],
        )
    )  # fmt: skip


def _add_track(
    out: list[CameraHeading],
    kept_out: list[str],
    media: MediaInfo,
    hfov: tuple[float | None, str],
    when: datetime | None,
) -> None:
    """Add the gimbal yaw of each telemetry fix (DJI), sampled evenly along a long flight."""
    track = media.gps_track
    fixes = [f for f in (track.fixes if track is not None else ()) if _yaw(f) is not None]
    if track is None or not fixes:
        return
    if len(fixes) > _MAX_TRACK_HEADINGS:
        step = (len(fixes) - 1) / (_MAX_TRACK_HEADINGS - 1)
        fixes = [fixes[round(i * step)] for i in range(_MAX_TRACK_HEADINGS)]
    for fix in fixes:
        yaw = float(_yaw(fix) or 0.0) % 360.0
        position = LatLon(fix.lat, fix.lon)
        true = _to_true(yaw, "unknown", position, fix.time_utc or when)
        if isinstance(true, str):
            kept_out.append(f"gimbal yaw {yaw:g} deg at {fix.payload_t_s:.1f} s: {true}")
            continue
        heading, spread, words = true
        out.append(
            CameraHeading(
                label=f"GPS fix at {fix.payload_t_s:.1f} s", source=f"{track.source} gimbal yaw",
                position=position, accuracy_m=None, heading_deg=heading, spread_deg=spread,
                spread_stated=False, reference=words, hfov_deg=hfov[0], hfov_source=hfov[1],
            )
        )  # fmt: skip


def _yaw(fix: Any) -> float | None:
    pry = getattr(fix, "gimbal_pry_deg", None)
    return float(pry[2]) if pry is not None else None


def _to_true(
    bearing: float, reference: str, position: LatLon, when: datetime | None
) -> tuple[float, float, str] | str:
    """Return (true heading, spread, words), or why the bearing cannot be turned to true north."""
    if reference == "true":
        return bearing % 360.0, 0.0, "true north, as written"
    if when is None:
        return "no capture date for the declination: kept out, not treated as true"
    dec = magnetic_declination(position, when)
    if dec is None:
        return (
            f"no World Magnetic Model declination for {when.year} at this place (models "
            "2015-2029; none near the magnetic poles): kept out, not treated as true"
        )
    d = dec.declination_deg
    if reference == "magnetic":
        words = (
            f"magnetic north + declination {d:+.2f} ± {dec.uncertainty_deg:.2f} deg ({dec.model})"
        )
        return (bearing + d) % 360.0, dec.uncertainty_deg, words
    words = (
        f"north reference not stated: true or magnetic (declination {d:+.2f} deg, "
        f"{dec.model}), both allowed"
    )
    return (bearing + d / 2) % 360.0, abs(d) / 2 + dec.uncertainty_deg, words


def _capture_time(media: MediaInfo) -> datetime | None:
    """Return the capture time for the declination: an instant, else a local time as UTC.

    The declination changes by a fraction of a degree a year, so a day's error is nothing.
    """
    for t in media.creation_times:
        if t.utc is not None:
            return t.utc
    for t in media.creation_times:
        instant = t.read_as_utc()
        if instant is not None:
            return instant
    return None


def _media_hfov(media: MediaInfo) -> tuple[float | None, str]:
    """Return the horizontal field of view from the file's 35 mm equivalent focal length."""
    from geoverify.resection._focal import focal_length

    size = None
    if media.still is not None:
        size = (media.still.display_width, media.still.display_height)
    elif media.video is not None:
        size = (media.video.display_width, media.video.display_height)
    if size is None:
        return None, "unknown"
    try:
        focal = focal_length(media, *size, focal_35mm=None, hfov_deg=None, fit=None)
    except InputError:
        return None, "unknown: no EXIF FocalLengthIn35mmFilm"
    return focal.hfov_deg(size[0]), focal.source


# --- the check ---------------------------------------------------------------------------------


def facing_checks(
    hyp: Hypothesis | None,
    registry: Registry,
    claims: ClaimSet,
    media: MediaInfo | None,
    cams: Sequence[CameraPosition],
) -> tuple[tuple[FacingCheck, ...], tuple[str, ...]]:
    """Check every camera heading against every landmark ``shows`` may name.

    Returns the checks and the headings kept out (with why); no checks when the hypothesis
    names nothing shown, or nothing it names has a position.
    """
    if hyp is None or hyp.shows is None:
        return (), ()
    landmarks = [lm for lm in resolve_role(registry, claims, hyp.shows) if lm.geometry is not None]
    headings, kept_out = camera_headings(media, cams)
    checks = tuple(facing_check(h, lm) for h in headings for lm in landmarks)
    return checks, kept_out


def facing_check(heading: CameraHeading, landmark: Landmark) -> FacingCheck:
    """Say whether ``landmark`` lies within ``heading``'s horizontal field of view."""
    from geoverify.registry import geodesic_distance_m

    distance = geodesic_distance_m(heading.position, landmark) or 0.0
    arc = _arc(heading.position, landmark)
    reach = (heading.accuracy_m or 0.0) + (landmark.uncertainty_m or 0.0)
    if arc is None or distance <= reach:
        subtended = 180.0  # the camera may stand on the landmark: any bearing is possible
    else:
        subtended = math.degrees(math.asin(reach / distance))
    off_axis, nearest = _off_axis(heading.heading_deg, arc)
    slack = min(180.0, heading.spread_deg + subtended)
    half = heading.hfov_deg / 2 if heading.hfov_deg is not None else None
    in_view: InView = "undecided"
    if half is not None and off_axis + slack <= half:
        in_view = "yes"
    elif half is not None and off_axis - slack > half:
        in_view = "no"
    cone = None
    if half is not None:
        reach = max(distance * 1.2, 10.0)
        left = destination(heading.position, heading.heading_deg - half, reach)
        right = destination(heading.position, heading.heading_deg + half, reach)
        cone = (left, heading.position, right)
    return FacingCheck(
        camera=heading.label, position=heading.position, cone=cone,
        heading_source=heading.source, heading_deg=heading.heading_deg,
        reference=heading.reference, landmark=landmark.id, bearing_deg=nearest,
        distance_m=distance, off_axis_deg=off_axis, half_hfov_deg=half,
        hfov_source=heading.hfov_source, slack_deg=slack,
        margin_deg=None if half is None else half - off_axis, in_view=in_view,
        spread_stated=heading.spread_stated,
    )  # fmt: skip


def _arc(position: LatLon, landmark: Landmark) -> tuple[float, float] | None:
    """Return the bearings (from, clockwise to) the landmark spans; ``None``: it surrounds us."""
    geom = landmark.geometry
    if geom is None:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon") and geom.covers(
        Point(position.lon, position.lat)
    ):
        return None
    coords = _outline(geom)
    bearings = sorted(
        b for b in (bearing_deg(position, LatLon(y, x)) for x, y in coords) if b is not None
    )
    if not bearings:
        return None
    if len(bearings) == 1:
        return bearings[0], bearings[0]
    # the smallest arc holding every bearing: the complement of the widest gap between them
    gaps = [(bearings[(i + 1) % len(bearings)] - b) % 360.0 for i, b in enumerate(bearings)]
    widest = max(range(len(gaps)), key=gaps.__getitem__)
    return bearings[(widest + 1) % len(bearings)], bearings[widest]


def _outline(geom: Any) -> list[tuple[float, float]]:
    """Return the geometry's vertices (x = longitude), at most ``_MAX_OUTLINE_POINTS``."""
    parts = getattr(geom, "geoms", [geom])
    coords: list[tuple[float, float]] = []
    for part in parts:
        ring = part.exterior if part.geom_type == "Polygon" else part
        coords += [(float(c[0]), float(c[1])) for c in ring.coords]
    step = max(1, len(coords) // _MAX_OUTLINE_POINTS)
    return coords[::step]


def _off_axis(heading: float, arc: tuple[float, float] | None) -> tuple[float, float | None]:
    """Return the unsigned angle from the axis to the arc (0 inside it) and the bearing used."""
    if arc is None:
        return 0.0, None
    start, end = arc
    if (heading - start) % 360.0 <= (end - start) % 360.0:
        return 0.0, heading  # the axis points into the landmark's outline
    to_start = abs(angle_difference_deg(heading, start))
    to_end = abs(angle_difference_deg(heading, end))
    return (to_start, start) if to_start <= to_end else (to_end, end)
