"""Pure image analysis for frame selection: luma, black frames, motion, display rotation.

Functions of decoded frames (PyAV ``VideoFrame``) or small float32 luma images only; no state.
Cut detection compares small luma images (``FrameOptions.analysis_width`` pixels wide) after
motion compensation by phase correlation, so a pan is not taken for a cut.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from geoverify.frames._model import Image


def is_black(small: npt.NDArray[np.float32]) -> bool:
    """Whether a small luma image is (nearly) black: mean under 20, standard deviation under 8."""
    return float(small.mean()) < 20.0 and float(small.std()) < 8.0


def luma(frame: Any) -> npt.NDArray[np.uint8]:
    """Return the Y plane as a numpy view where the format allows, else a grey image."""
    if frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "nv12"):
        plane = frame.planes[0]
        buf = np.frombuffer(plane, np.uint8)
        return buf.reshape(plane.height, plane.line_size)[:, : plane.width]
    gray: npt.NDArray[np.uint8] = frame.to_ndarray(format="gray")
    return gray


def small_luma(frame: Any, width: int) -> npt.NDArray[np.uint8]:
    """Return the luma plane downscaled to ``width`` pixels wide.

    Large frames are first decimated by a whole step (a free strided view) to at least twice
    the target width, then area-averaged: the same picture for cut detection at a fraction of
    the cost of averaging the full plane.
    """
    plane = luma(frame)
    h0, w0 = plane.shape
    step = max(1, w0 // (2 * width))
    if step > 1:
        plane = plane[::step, ::step]
    height = max(8, round(h0 * width / w0))
    small = cv2.resize(plane, (width, height), interpolation=cv2.INTER_AREA)
    return np.asarray(small, dtype=np.uint8)


def frame_rotation(frame: Any) -> int:
    """Clockwise display rotation from a decoded frame's display matrix (0, 90, 180, 270)."""
    # PyAV reports the matrix angle counter-clockwise; a player turns the picture the other way.
    return (-round((frame.rotation or 0) / 90.0) * 90) % 360


def upright(image: Image, rotation_deg: int) -> Image:
    """Turn a stored picture ``rotation_deg`` clockwise, as a player shows it."""
    if rotation_deg == 0:
        return image
    # np.rot90 turns counter-clockwise for positive k.
    return np.ascontiguousarray(np.rot90(image, k=-(rotation_deg // 90)))


def phase_correlate(
    a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], window: npt.NDArray[Any]
) -> tuple[float, float, float]:
    """(dx, dy, response) of ``b`` relative to ``a``.

    OpenCV 5.0's ``phaseCorrelate`` multiplies its inputs by the window in place, so it is given
    copies: the analysis images are used again afterwards.
    """
    (dx, dy), response = cv2.phaseCorrelate(a.copy(), b.copy(), window)
    return float(dx), float(dy), float(response)


def aligned_diff(
    prev: npt.NDArray[np.float32], cur: npt.NDArray[np.float32], window: npt.NDArray[Any]
) -> tuple[float, float, float]:
    """(difference after motion compensation, dx, dy) between two small luma images."""
    plain = float(np.mean(np.abs(cur - prev)))
    dx, dy, response = phase_correlate(prev, cur, window)
    h, w = prev.shape
    if response < 0.05 or abs(dx) >= w / 2 or abs(dy) >= h / 2:
        return plain, 0.0, 0.0
    ix, iy = round(dx), round(dy)
    ys = slice(max(0, iy), h + min(0, iy))
    xs = slice(max(0, ix), w + min(0, ix))
    ps = slice(max(0, -iy), h + min(0, -iy))
    px = slice(max(0, -ix), w + min(0, -ix))
    aligned = float(np.mean(np.abs(cur[ys, xs] - prev[ps, px])))
    return min(plain, aligned), dx, dy
