"""Where the camera stood and which way it faced, from landmarks marked in one frame.

``locate(image, points, registry=...)`` resects the camera: from four or more points with
heights, by PnP on the pixel rows and columns (``3d``: position, height, heading, pitch); from
three or more points, by the horizontal angles between them alone (``2d``: position and
heading, the camera taken as level; no heights needed). Every distinct solution is searched for,
so a second camera position that explains the points nearly as well is reported
(``ambiguous``), and the uncertainty comes from re-solving over the landmarks' own position
errors and the click error (Monte Carlo), because the map's error, not the pixels', dominates.

Measured on the Berlin photos with their surveyed points (tests/test_locate.py): the cameras
lie 1.4-3.4 m from the phones' own GPS fixes, headings within 3 degrees of each other.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from geoverify.errors import InputError
from geoverify.geodesy import bearing_deg, distance_m
from geoverify.models import LatLon
from geoverify.probing import MediaInfo
from geoverify.registry import Registry, load_registry
from geoverify.resection._direction import HeadingCheck, heading_checks
from geoverify.resection._focal import focal_length
from geoverify.resection._frame import LocalFrame
from geoverify.resection._model import (
    CameraFix,
    CameraPoints,
    Focal,
    LocateOptions,
    Mode,
    Observation,
    PointFit,
    Uncertainty,
)
from geoverify.resection._pick import pick_page, write_pick_page
from geoverify.resection._points import (
    DEFAULT_SIGMA_LANDMARK_M,
    DEFAULT_SIGMA_POINT_M,
    MarkedPoint,
    read_points,
)
from geoverify.resection._save import camera_geojson, save_camera_fix
from geoverify.resection._solve import Pose, Problem, alternative, solve
from geoverify.resection._still import probe_still
from geoverify.resection._uncertainty import monte_carlo

__all__ = [
    "CameraFix",
    "CameraPoints",
    "Focal",
    "HeadingCheck",
    "LocateOptions",
    "MarkedPoint",
    "Observation",
    "PointFit",
    "Uncertainty",
    "camera_geojson",
    "heading_checks",
    "locate",
    "pick_page",
    "read_points",
    "save_camera_fix",
    "write_pick_page",
]

LocateMode = Literal["auto", "3d", "2d"]
_MIN_POINTS = {"3d": 4, "2d": 3}
_FOCAL_FREE_MIN_POINTS = 6
MAX_SAMPLES = 20_000
# the Monte Carlo's work: points x samples re-solved (500 points x 300 samples take ~15 s)
MAX_POINT_SAMPLES = 200_000
MAX_SPREAD_M = 50_000.0  # landmarks marked in one frame lie within sight of each other
_SPREAD_HINT = "Mark landmarks spread across the view."


def locate(
    image: str | os.PathLike[str] | MediaInfo,
    points: str | os.PathLike[str] | Sequence[MarkedPoint],
    *,
    registry: Registry | str | os.PathLike[str] | None = None,
    focal_35mm: float | None = None,
    hfov_deg: float | None = None,
    mode: LocateMode = "auto",
    options: LocateOptions | None = None,
) -> CameraFix:
    """Resect the camera of ``image`` (a photo or a saved frame) from the marked points.

    Parameters
    ----------
    image
        The photo or frame the points were marked on; its upright size bounds the pixels and
        its EXIF (FocalLengthIn35mmFilm) gives the focal length unless an option does. A
        photo's ``MediaInfo`` (``probe``'s) is taken as it is, not probed again.
    points
        A POINTS file (CSV or JSON, see ``read_points``) or rows already read.
    registry
        Resolves ``landmark`` ids to positions (and their ``uncertainty_m``).
    focal_35mm, hfov_deg
        The focal length as a 35 mm equivalent (over the frame's long side, 36 mm) or as the
        horizontal field of view; at most one. Without either or EXIF, six or more points let
        the focal length be fitted (flagged weak); fewer are refused.
    mode
        ``3d`` (four or more points, every one with ``alt_m``), ``2d`` (three or more; columns
        only) or ``auto`` (3D when it can run).
    options
        The click error and the Monte Carlo's samples and seed (``LocateOptions``).

    Raises
    ------
    InputError
        ``E_POINTS_*`` for a points file or rows that cannot be used (too few, on one spot or
        line, outside the frame, an unknown landmark or one without a position);
        ``E_FOCAL_UNKNOWN`` without a focal length; ``E_LOCATE_NO_SOLUTION`` when no camera
        sees every point in front of it; ``E_INPUT_OPTION`` for bad options.
    """
    opts = options or LocateOptions()
    _check_options(focal_35mm, hfov_deg, mode, opts)
    info, width, height = _probed(image)
    marked = read_points(points) if isinstance(points, str | os.PathLike) else tuple(points)
    reg = load_registry(registry) if isinstance(registry, str | os.PathLike) else registry
    obs = tuple(_observation(p, reg) for p in marked)
    _check_pixels(obs, width, height)
    _check_work(len(obs), opts.samples)
    chosen = _choose_mode(obs, mode)
    frame = _local_frame(obs)
    enu = frame.to_enu(
        np.array([o.position.lat for o in obs]),
        np.array([o.position.lon for o in obs]),
        np.array([o.alt_m or 0.0 for o in obs]) if chosen == "3d" else np.zeros(len(obs)),
    )
    px = np.array([[o.x_px, o.y_px] for o in obs])
    _check_spread(enu, px, chosen, width)
    focal = focal_length(
        info,
        width,
        height,
        focal_35mm=focal_35mm,
        hfov_deg=hfov_deg,
        fit=_focal_fit(enu, px, width, height, chosen, len(obs)),
    )
    problem = Problem(
        enu=enu, px=px, width_px=width, height_px=height, focal_px=focal.value_px, mode=chosen
    )
    with np.errstate(all="ignore"):  # far or huge values are refused above; no stray warnings
        poses = solve(problem)
    if not poses:
        msg = f"no camera position sees all {len(obs)} points in front of it"
        hint = "Check each point's pixel and landmark; one may be mismatched."
        raise InputError(msg, code="E_LOCATE_NO_SOLUTION", hint=hint)
    return _fix(info.path, problem, poses, obs, frame, focal, opts)


def _check_options(
    focal_35mm: float | None, hfov_deg: float | None, mode: str, opts: LocateOptions
) -> None:
    problems = []
    if focal_35mm is not None and hfov_deg is not None:
        problems.append("give --focal-35mm or --hfov-deg, not both")
    if focal_35mm is not None and not (1.0 <= focal_35mm <= 2000.0):
        problems.append(f"focal_35mm {focal_35mm!r} is outside 1-2000 mm")
    if hfov_deg is not None and not (1.0 <= hfov_deg <= 170.0):
        problems.append(f"hfov_deg {hfov_deg!r} is outside 1-170 degrees")
    if mode not in ("auto", "3d", "2d"):
        problems.append(f"mode {mode!r} is not auto, 3d or 2d")
    if not (math.isfinite(opts.sigma_px) and 0.1 <= opts.sigma_px <= 100.0):
        problems.append(f"sigma_px {opts.sigma_px!r} is outside 0.1-100")
    if not (20 <= opts.samples <= MAX_SAMPLES):
        problems.append(f"samples {opts.samples!r} is outside 20-{MAX_SAMPLES}")
    if not (0 <= opts.seed < 2**32):
        problems.append(f"seed {opts.seed!r} is outside 0 to 2**32 - 1")
    if problems:
        msg = "; ".join(problems)
        raise InputError(msg, code="E_INPUT_OPTION", hint="See `geoverify locate --help`.")


def _probed(image: str | os.PathLike[str] | MediaInfo) -> tuple[MediaInfo, int, int]:
    """Return the image's probe and upright size (a photo's ``MediaInfo`` is not probed again)."""
    if isinstance(image, MediaInfo):
        info = image
        if info.still is None:  # a video's probe: refused with the right words
            info = probe_still(info.local_path or info.path, "locate", "E_LOCATE_NOT_STILL")
    else:
        info = probe_still(os.fspath(image), "locate", "E_LOCATE_NOT_STILL")
    still = info.still
    if still is None:  # probe_still refuses anything but a still image
        msg = f"{info.path!r} is no still image"
        raise InputError(msg, code="E_LOCATE_NOT_STILL")
    return info, still.display_width, still.display_height


def _observation(p: MarkedPoint, registry: Registry | None) -> Observation:
    if p.landmark is None:
        if p.position is None:  # read_points refuses such rows; rows built in Python too
            msg = f"point {p.row} has neither a landmark nor a position"
            raise InputError(msg, code="E_POINTS_INVALID", hint="Give lat,lon or a landmark id.")
        sigma = p.sigma_m if p.sigma_m is not None else DEFAULT_SIGMA_POINT_M
        source = "points file" if p.sigma_m is not None else "default for a typed position"
        label = f"{p.position.lat:.6f},{p.position.lon:.6f}"
        return _obs(p, None, p.position, sigma, source, label)
    if registry is None:
        msg = f"point {p.row} names landmark {p.landmark!r} but no registry was given"
        raise InputError(msg, code="E_POINTS_NO_REGISTRY", hint="Add --registry REGISTRY.")
    try:
        lm = registry.get(p.landmark)
    except InputError as exc:
        msg = f"point {p.row}: {exc.message}"
        raise InputError(msg, code="E_POINTS_UNKNOWN_LANDMARK", hint=exc.hint) from None
    if lm.anchor is None:
        msg = f"point {p.row}: landmark {lm.id!r} has no position in the registry"
        raise InputError(
            msg,
            code="E_POINTS_NO_POSITION",
            hint="Give the point as lat,lon, or source the landmark's position.",
        )
    if p.sigma_m is not None:
        sigma, source = p.sigma_m, "points file"
    elif lm.uncertainty_m is not None:
        sigma, source = lm.uncertainty_m, "registry uncertainty_m"
    else:
        sigma, source = DEFAULT_SIGMA_LANDMARK_M, "default for a registry landmark"
    return _obs(p, lm.id, lm.anchor, sigma, source, lm.id)


def _obs(
    p: MarkedPoint, landmark: str | None, position: LatLon, sigma: float, source: str, label: str
) -> Observation:
    return Observation(
        x_px=p.x_px,
        y_px=p.y_px,
        landmark=landmark,
        position=position,
        alt_m=p.alt_m,
        sigma_m=sigma,
        sigma_source=source,
        label=label,
    )


def _check_work(points: int, samples: int) -> None:
    if points * samples > MAX_POINT_SAMPLES:
        msg = (
            f"{points} points x {samples} samples is more work than {MAX_POINT_SAMPLES:,} re-solves"
        )
        hint = f"Lower --samples to {max(20, MAX_POINT_SAMPLES // max(points, 1))} or fewer."
        raise InputError(msg, code="E_INPUT_OPTION", hint=hint)


def _check_pixels(obs: Sequence[Observation], width: int, height: int) -> None:
    for i, o in enumerate(obs, start=1):
        if not (0.0 <= o.x_px <= width and 0.0 <= o.y_px <= height):
            msg = (
                f"point {i} ({o.label}) at pixel ({o.x_px:g}, {o.y_px:g}) is outside the "
                f"{width}x{height} frame"
            )
            raise InputError(
                msg,
                code="E_POINTS_OUTSIDE_FRAME",
                hint="Pixels are in the upright frame, origin top-left.",
            )


def _choose_mode(obs: Sequence[Observation], mode: str) -> Mode:
    heights = all(o.alt_m is not None for o in obs)
    chosen: Mode = "3d" if mode == "3d" or (mode == "auto" and heights and len(obs) >= 4) else "2d"
    need = _MIN_POINTS[chosen]
    if len(obs) < need:
        msg = f"{len(obs)} point(s) given; the {chosen} mode needs at least {need}"
        raise InputError(msg, code="E_POINTS_TOO_FEW", hint="Mark more landmarks in the frame.")
    if chosen == "3d" and not heights:
        missing = ", ".join(o.label for o in obs if o.alt_m is None)
        msg = f"the 3d mode needs every point's alt_m; missing for {missing}"
        raise InputError(msg, code="E_POINTS_NO_HEIGHT", hint="Add alt_m, or use --mode 2d.")
    return chosen


def _local_frame(obs: Sequence[Observation]) -> LocalFrame:
    lat = float(np.mean([o.position.lat for o in obs]))
    lon = float(np.mean([o.position.lon for o in obs]))
    return LocalFrame(LatLon(lat, lon))


def _check_spread(enu: np.ndarray, px: np.ndarray, mode: str, width: int) -> None:
    off = np.linalg.norm(enu[:, :2] - np.median(enu[:, :2], axis=0), axis=1)
    if float(np.max(off)) > MAX_SPREAD_M:
        i = int(np.argmax(off))
        msg = f"point {i + 1} lies {off[i] / 1000:,.0f} km from the others: not in the same view"
        hint = "Check its lat,lon (a typo or a swapped pair?) or its landmark id."
        raise InputError(msg, code="E_POINTS_DEGENERATE", hint=hint)
    ground = enu[:, :2] - enu[:, :2].mean(axis=0)
    if float(np.max(np.linalg.norm(ground, axis=1))) < 1.0:
        msg = "the points lie on one spot on the map (within 1 m)"
        raise InputError(msg, code="E_POINTS_DEGENERATE", hint=_SPREAD_HINT)
    spread = np.ptp(px[:, 0]) if mode == "2d" else float(np.max(np.ptp(px, axis=0)))
    if spread < 0.01 * width:
        msg = "the points lie on one spot in the frame"
        raise InputError(msg, code="E_POINTS_DEGENERATE", hint=_SPREAD_HINT)
    if mode == "3d":
        sv = np.linalg.svd(enu - enu.mean(axis=0), compute_uv=False)
        if sv[1] < 1e-3 * sv[0]:
            msg = "the points lie on one line: the camera can turn about it"
            hint = "Mark a landmark off that line."
            raise InputError(msg, code="E_POINTS_DEGENERATE", hint=hint)


def _focal_fit(
    enu: np.ndarray, px: np.ndarray, width: int, height: int, mode: Mode, n: int
) -> Callable[[float], float] | None:
    """Return a function fitting the focal length to the points (``None``: too few points)."""
    if n < _FOCAL_FREE_MIN_POINTS:
        return None

    def rms_at(f_px: float) -> float:
        poses = solve(
            Problem(enu=enu, px=px, width_px=width, height_px=height, focal_px=f_px, mode=mode)
        )
        return poses[0].rms_px if poses else math.inf

    return rms_at


def _fix(
    image: str,
    problem: Problem,
    poses: list[Pose],
    obs: Sequence[Observation],
    frame: LocalFrame,
    focal: Focal,
    opts: LocateOptions,
) -> CameraFix:
    best = poses[0]
    sigma_px = opts.sigma_px
    alt = alternative(poses, sigma_px)
    uncertainty = monte_carlo(
        problem,
        best,
        sigma_m=np.array([o.sigma_m for o in obs]),
        sigma_px=sigma_px,
        frame=frame,
        samples=opts.samples,
        seed=opts.seed,
    )
    lat, lon, h = frame.to_geo(best.position[None, :])
    camera = LatLon(float(lat[0]), float(lon[0]))
    fits = _point_fits(best, obs, camera, sigma_px)
    return CameraFix(
        image=image,
        width_px=problem.width_px,
        height_px=problem.height_px,
        camera=camera,
        alt_m=float(h[0]) if problem.mode == "3d" else None,
        heading_deg=best.heading_deg,
        pitch_deg=best.pitch_deg,
        mode=problem.mode,
        focal=focal,
        rms_px=best.rms_px,
        uncertainty=uncertainty,
        ambiguous=alt is not None,
        alternative=None if alt is None else frame.latlon(*map(float, alt.position)),
        alternative_rms_px=None if alt is None else alt.rms_px,
        points=fits,
        notes=_notes(problem.mode, focal, alt is not None, fits, best.rms_px / sigma_px)
        + _region_note(uncertainty),
    )


def _point_fits(
    best: Pose, obs: Sequence[Observation], camera: LatLon, sigma_px: float
) -> tuple[PointFit, ...]:
    res = best.residuals_px
    scale = max(sigma_px, 1.4826 * float(np.median(res)))
    return tuple(
        PointFit(
            label=o.label,
            x_px=o.x_px,
            y_px=o.y_px,
            residual_px=float(r),
            outlier=bool(r > 3.0 * scale),
            sigma_m=o.sigma_m,
            sigma_source=o.sigma_source,
            position=o.position,
            alt_m=o.alt_m,
            distance_m=distance_m(camera, o.position),
            bearing_deg=bearing_deg(camera, o.position) or 0.0,
        )
        for o, r in zip(obs, res, strict=True)
    )


def _region_note(u: Uncertainty) -> tuple[str, ...]:
    if math.isfinite(u.radius_m_90):
        return ()
    return (
        f"no uncertainty region: {u.failed} of {u.samples + u.failed} re-solves over the points' "
        "errors found no camera with every point in front; no radius can be stated",
    )


def _notes(
    mode: str, focal: Focal, ambiguous: bool, fits: Sequence[PointFit], rms_in_sigmas: float
) -> tuple[str, ...]:
    notes = []
    if rms_in_sigmas > 3.0:
        notes.append(
            f"the points fit at {rms_in_sigmas:.1f} times the click error: lens distortion, "
            "a tilted camera (2d) or a wrong point make the uncertainty larger than stated"
        )
    if focal.estimated:
        notes.append("the focal length was fitted to the points, not known: the position is weak")
    if mode == "2d":
        notes.append("2d mode: pixel columns only, the camera taken as level (no height, no pitch)")
    if ambiguous:
        notes.append("another camera position explains the points nearly as well: mark more")
    outliers = [f.label for f in fits if f.outlier]
    if outliers:
        notes.append(
            f"point(s) far off the fit: {', '.join(outliers)} (a mis-click or a wrong landmark?)"
        )
    return tuple(notes)
