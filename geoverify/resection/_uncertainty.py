"""How far the camera may be: the solve repeated over the inputs' own errors (Monte Carlo).

Each sample moves every landmark by its ``sigma_m`` (a normal error on each axis) and every
click by ``sigma_px``, and refines the stated solution on the moved data. The spread of the
re-solved cameras about the stated one stands for the spread of the stated one about the truth:
the 90 % ellipse of the samples is the region reported, and the tests check over generated
scenes that it holds the true camera about nine times in ten.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from shapely.geometry import Polygon

from geoverify.resection._frame import LocalFrame
from geoverify.resection._model import Uncertainty
from geoverify.resection._solve import Pose, Problem, refine

__all__ = ["monte_carlo"]

FloatArray = npt.NDArray[np.float64]

_CHI2_2DOF_90 = 4.605170185988092  # P(chi-square with 2 degrees of freedom <= x) = 0.9
_ELLIPSE_VERTICES = 72


def monte_carlo(
    problem: Problem,
    best: Pose,
    *,
    sigma_m: FloatArray,
    sigma_px: float,
    frame: LocalFrame,
    samples: int,
    seed: int,
) -> Uncertainty:
    """Re-solve ``samples`` times on perturbed inputs; the spread of the cameras about ``best``."""
    rng = np.random.default_rng(seed)
    moved: list[FloatArray] = []
    headings: list[float] = []
    failed = 0
    for _ in range(samples):
        enu = problem.enu + rng.normal(size=problem.enu.shape) * sigma_m[:, None]
        px = problem.px + rng.normal(scale=sigma_px, size=problem.px.shape)
        pose = refine(problem.with_data(enu, px), best)
        if pose is None:
            failed += 1
            continue
        moved.append(pose.position[:2])
        headings.append(pose.heading_deg)
    if len(moved) < max(10, samples // 2):
        # most samples found no camera with every point in front: no honest region
        return _unbounded(samples=samples, failed=failed, sigma_px=sigma_px)
    offsets = np.array(moved) - best.position[:2]
    radii = np.linalg.norm(offsets, axis=1)
    turn = np.abs((np.array(headings) - best.heading_deg + 180.0) % 360.0 - 180.0)
    return Uncertainty(
        radius_m_50=float(np.percentile(radii, 50)),
        radius_m_90=float(np.percentile(radii, 90)),
        region_90=_ellipse(offsets, best, frame),
        heading_deg_90=float(np.percentile(turn, 90)),
        samples=len(moved),
        failed=failed,
        sigma_px=sigma_px,
    )


def _ellipse(offsets: FloatArray, best: Pose, frame: LocalFrame) -> Polygon:
    """Return the ellipse about ``best`` holding 90 % of a normal law of the samples' spread."""
    cov = np.cov(offsets.T) + np.eye(2) * 1e-6
    values, vectors = np.linalg.eigh(cov)
    t = np.linspace(0.0, 2.0 * math.pi, _ELLIPSE_VERTICES, endpoint=False)
    unit = np.column_stack([np.cos(t), np.sin(t)])
    ring = unit * np.sqrt(values * _CHI2_2DOF_90) @ vectors.T + best.position[:2]
    up = np.full((len(ring), 1), best.position[2])
    lat, lon, _ = frame.to_geo(np.hstack([ring, up]))
    return Polygon(list(zip(lon.tolist(), lat.tolist(), strict=True)))


def _unbounded(*, samples: int, failed: int, sigma_px: float) -> Uncertainty:
    return Uncertainty(
        radius_m_50=math.inf,
        radius_m_90=math.inf,
        region_90=Polygon(),
        heading_deg_90=180.0,
        samples=samples - failed,
        failed=failed,
        sigma_px=sigma_px,
    )
