"""The camera from points: PnP (3D) and horizontal-angle resection (2D), with every local minimum.

3D: OpenCV's SQPnP on all points, and P3P on subsets of three, each solution refined by
Levenberg-Marquardt on all points; the distinct solutions are kept, best first, so that a
second one almost as good (the P3P/P4P ambiguity) can be reported. 2D: the pixel columns
alone, read as horizontal angles from a level camera; a grid over the area finds every basin
of the cost, and each is refined by Levenberg-Marquardt. Positions are local east-north-up
metres (``LocalFrame``); headings clockwise from north.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["Pose", "Problem", "alternative", "refine", "solve"]

FloatArray = npt.NDArray[np.float64]

_MAX_TRIPLES = 60  # P3P seeds tried (all triples up to 6 points, a spread sample above)
_DISTINCT_M = 1.0  # solutions closer than this are one solution
_GRID = 121  # 2D: cells per side of the search grid
_LM_ITERATIONS = 60
_FRONT_DEG = 89.0  # 2D: a point must be within this angle of the optical axis
_AMBIGUITY_SIGMAS = 2.0  # a second solution within this many click errors of the best RMS


@dataclasses.dataclass(frozen=True)
class Problem:
    """Points in local metres and their pixels, the frame's size and the focal length."""

    enu: FloatArray  # (n, 3) east, north, up
    px: FloatArray  # (n, 2) x, y
    width_px: int
    height_px: int
    focal_px: float
    mode: Literal["3d", "2d"]

    @property
    def camera_matrix(self) -> FloatArray:
        """The pinhole matrix: principal point at the frame's centre, square pixels."""
        f = self.focal_px
        return np.array(
            [[f, 0.0, self.width_px / 2.0], [0.0, f, self.height_px / 2.0], [0.0, 0.0, 1.0]]
        )

    def with_data(self, enu: FloatArray, px: FloatArray) -> Problem:
        """Return this frame and focal length with other points (a Monte Carlo sample)."""
        return dataclasses.replace(self, enu=enu, px=px)


@dataclasses.dataclass(frozen=True)
class Pose:
    """One solution: the camera in local metres, where it faces, and each point's residual."""

    position: FloatArray  # (3,) east, north, up (up is 0 in 2D)
    heading_deg: float
    pitch_deg: float | None
    residuals_px: FloatArray  # (n,)
    params: FloatArray  # 3D: rvec + tvec (6,); 2D: east, north, heading rad (3,)

    @property
    def rms_px(self) -> float:
        """Root mean square of the residuals, pixels."""
        return float(np.sqrt(np.mean(self.residuals_px**2)))


def solve(problem: Problem) -> list[Pose]:
    """Every distinct solution with all points in front of the camera, best (lowest RMS) first."""
    found = _solve_3d(problem) if problem.mode == "3d" else _solve_2d(problem)
    found.sort(key=lambda p: p.rms_px)
    distinct: list[Pose] = []
    for pose in found:
        if all(np.linalg.norm(pose.position - d.position) > _DISTINCT_M for d in distinct):
            distinct.append(pose)
    return distinct


def alternative(poses: list[Pose], sigma_px: float) -> Pose | None:
    """Return a second solution explaining the points nearly as well as the best, if any.

    Nearly as well: an RMS within two click errors (``sigma_px``) of the best one's.
    """
    if not poses:
        return None
    limit = poses[0].rms_px + _AMBIGUITY_SIGMAS * sigma_px
    return next((p for p in poses[1:] if p.rms_px <= limit), None)


def refine(problem: Problem, start: Pose) -> Pose | None:
    """Refine ``start`` on ``problem``'s points (a Monte Carlo sample); ``None`` if it fails."""
    if problem.mode == "3d":
        return _refine_3d(problem, start.params[:3].copy(), start.params[3:].copy())
    return _refine_2d(problem, start.params.copy())


# --- 3D: PnP ---------------------------------------------------------------------------------


def _triples(n: int) -> list[tuple[int, int, int]]:
    every = list(itertools.combinations(range(n), 3))
    if len(every) <= _MAX_TRIPLES:
        return every
    step = len(every) / _MAX_TRIPLES
    return [every[int(i * step)] for i in range(_MAX_TRIPLES)]


def _solve_3d(problem: Problem) -> list[Pose]:
    k = problem.camera_matrix
    obj, img = np.ascontiguousarray(problem.enu), np.ascontiguousarray(problem.px)
    seeds: list[tuple[Any, Any]] = []
    ok, rvec, tvec = cv2.solvePnP(obj, img, k, None, flags=cv2.SOLVEPNP_SQPNP)
    if ok:
        seeds.append((rvec, tvec))
    for tri in _triples(len(obj)):
        idx = list(tri)
        try:
            _count, rvecs, tvecs = cv2.solveP3P(obj[idx], img[idx], k, None, flags=cv2.SOLVEPNP_P3P)
        except cv2.error:
            continue
        seeds.extend(zip(rvecs, tvecs, strict=True))
    poses = [_refine_3d(problem, np.asarray(r, float), np.asarray(t, float)) for r, t in seeds]
    return [p for p in poses if p is not None]


def _refine_3d(problem: Problem, rvec: FloatArray, tvec: FloatArray) -> Pose | None:
    k = problem.camera_matrix
    obj, img = np.ascontiguousarray(problem.enu), np.ascontiguousarray(problem.px)
    try:
        refined = cv2.solvePnPRefineLM(obj, img, k, None, rvec.reshape(3, 1), tvec.reshape(3, 1))
    except cv2.error:
        return None
    rvec, tvec = np.asarray(refined[0], dtype=float), np.asarray(refined[1], dtype=float)
    rot, _ = cv2.Rodrigues(rvec)
    in_camera = obj @ rot.T + tvec.reshape(1, 3)
    if not np.all(in_camera[:, 2] > 0):
        return None  # a point behind the camera: no photograph shows it
    projected, _ = cv2.projectPoints(obj, rvec, tvec, k, None)
    residuals = np.linalg.norm(projected.reshape(-1, 2) - img, axis=1)
    position = (-rot.T @ tvec).ravel()
    axis = rot.T @ np.array([0.0, 0.0, 1.0])  # the optical axis in east, north, up
    return Pose(
        position=position,
        heading_deg=math.degrees(math.atan2(axis[0], axis[1])) % 360.0,
        pitch_deg=math.degrees(math.asin(max(-1.0, min(1.0, float(axis[2]))))),
        residuals_px=residuals,
        params=np.concatenate([rvec.ravel(), tvec.ravel()]),
    )


# --- 2D: horizontal angles ------------------------------------------------------------------


def _columns_2d(problem: Problem, params: FloatArray) -> FloatArray | None:
    """Predicted pixel columns for camera (east, north, heading rad); ``None`` if one is behind."""
    d_e = problem.enu[:, 0] - params[0]
    d_n = problem.enu[:, 1] - params[1]
    off = np.angle(np.exp(1j * (np.arctan2(d_e, d_n) - params[2])))
    if np.any(np.abs(off) >= math.radians(_FRONT_DEG)):
        return None
    return np.asarray(problem.width_px / 2.0 + problem.focal_px * np.tan(off), dtype=float)


def _refine_2d(problem: Problem, params: FloatArray) -> Pose | None:
    """Levenberg-Marquardt on (east, north, heading) against the pixel columns."""
    x = problem.px[:, 0]
    pred = _columns_2d(problem, params)
    if pred is None:
        return None
    damping = 1e-3
    for _ in range(_LM_ITERATIONS):
        r = pred - x
        jac = np.empty((len(x), 3))
        for j, h in enumerate((0.01, 0.01, 1e-6)):
            moved = params.copy()
            moved[j] += h
            p2 = _columns_2d(problem, moved)
            if p2 is None:
                return None
            jac[:, j] = (p2 - pred) / h
        jtj = jac.T @ jac
        step = np.linalg.lstsq(jtj + damping * np.diag(np.diag(jtj) + 1e-12), -jac.T @ r)[0]
        trial = params + step
        trial_pred = _columns_2d(problem, trial)
        if trial_pred is not None and np.sum((trial_pred - x) ** 2) < np.sum(r**2):
            params, pred, damping = trial, trial_pred, damping / 3.0
            if np.linalg.norm(step[:2]) < 1e-4 and abs(step[2]) < 1e-9:
                break
        else:
            damping *= 4.0
            if damping > 1e8:
                break
    return _pose_2d(params, pred - x)


def _pose_2d(params: FloatArray, residuals: FloatArray) -> Pose:
    return Pose(
        position=np.array([params[0], params[1], 0.0]),
        heading_deg=math.degrees(params[2]) % 360.0,
        pitch_deg=None,
        residuals_px=np.abs(residuals),
        params=params,
    )


def _grid_2d(problem: Problem) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Score every grid cell, with the best heading there (east, north, heading, cost)."""
    pts = problem.enu[:, :2]
    centre = pts.mean(axis=0)
    reach = float(np.max(np.linalg.norm(pts - centre, axis=1)))
    half = 4.0 * reach + 200.0
    axis = np.linspace(-half, half, _GRID)
    east, north = np.meshgrid(centre[0] + axis, centre[1] + axis)
    east, north = east.ravel(), north.ravel()
    bearings = np.arctan2(pts[None, :, 0] - east[:, None], pts[None, :, 1] - north[:, None])
    angles = np.arctan((problem.px[:, 0] - problem.width_px / 2.0) / problem.focal_px)
    heading = np.angle(np.mean(np.exp(1j * (bearings - angles[None, :])), axis=1))
    off = np.angle(np.exp(1j * (bearings - heading[:, None])))
    behind = np.any(np.abs(off) >= math.radians(_FRONT_DEG), axis=1)
    cost = np.sum((np.tan(np.clip(off, -1.5, 1.5)) - np.tan(angles)[None, :]) ** 2, axis=1)
    cost[behind] = np.inf
    return east, north, heading, cost


def _basins(cost: FloatArray) -> list[int]:
    """Grid cells lower than their eight neighbours: one seed per basin of the cost."""
    grid = cost.reshape(_GRID, _GRID)
    padded = np.pad(grid, 1, constant_values=np.inf)
    lower = np.ones_like(grid, dtype=bool)
    for dy, dx in itertools.product((-1, 0, 1), repeat=2):
        if dy or dx:
            lower &= grid <= padded[1 + dy : 1 + dy + _GRID, 1 + dx : 1 + dx + _GRID]
    cells = np.flatnonzero(lower.ravel() & np.isfinite(grid.ravel()))
    return [int(c) for c in cells[np.argsort(cost[cells])][:8]]


def _solve_2d(problem: Problem) -> list[Pose]:
    east, north, heading, cost = _grid_2d(problem)
    poses = []
    for cell in _basins(cost):
        start = np.array([east[cell], north[cell], heading[cell]])
        pose = _refine_2d(problem, start)
        if pose is not None:
            poses.append(pose)
    return poses
