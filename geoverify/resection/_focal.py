"""The focal length in pixels: from an option, the file's EXIF, or fitted to the points.

A 35 mm equivalent is taken over the frame's long side (36 mm of film): on the Berlin phone
photos (FocalLengthIn35mmFilm 35, 3264x2448) the surveyed points fit at 0.6-1.8 px RMS that
way, against 2.3-4.9 px over the diagonal (tests/test_locate.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from geoverify.errors import InputError
from geoverify.resection._model import Focal

if TYPE_CHECKING:
    from geoverify.probing import MediaInfo

__all__ = ["focal_length"]

_FILM_LONG_SIDE_MM = 36.0
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
_FIT_HFOV_DEG = (10.0, 120.0)  # the range a fitted focal length may take


def focal_length(
    info: MediaInfo,
    width_px: int,
    height_px: int,
    *,
    focal_35mm: float | None,
    hfov_deg: float | None,
    fit: Callable[[float], float] | None,
) -> Focal:
    """Choose the focal length: ``focal_35mm``, ``hfov_deg``, the EXIF, or ``fit`` (weak).

    ``fit`` is ``None`` or a function from a focal length in pixels to the points' RMS residual.
    """
    long_side = max(width_px, height_px)
    if focal_35mm is not None:
        return Focal(
            value_px=_px_from_35mm(focal_35mm, long_side),
            source=f"--focal-35mm {focal_35mm:g} mm (over the long side)",
        )
    if hfov_deg is not None:
        return Focal(
            value_px=px_from_hfov(hfov_deg, width_px),
            source=f"--hfov-deg {hfov_deg:g}",
        )
    exif = _exif_35mm(info)
    if exif is not None:
        return Focal(
            value_px=_px_from_35mm(exif, long_side),
            source=f"EXIF FocalLengthIn35mmFilm {exif:g} mm (over the long side)",
        )
    if fit is not None:
        return _fitted(fit, width_px)
    msg = "no focal length: the file has no EXIF FocalLengthIn35mmFilm and none was given"
    hint = "Give --focal-35mm MM or --hfov-deg DEG, or mark 6 or more points to fit it."
    raise InputError(msg, code="E_FOCAL_UNKNOWN", hint=hint)


def _exif_35mm(info: MediaInfo) -> float | None:
    """FocalLengthIn35mmFilm as probe read it from the file's EXIF, or ``None``."""
    value = next((t.value for t in info.tags if t.key == "FocalLengthIn35mmFilm"), None)
    try:
        mm = float(value) if value is not None else None
    except ValueError:
        return None
    return mm if mm is not None and math.isfinite(mm) and mm > 0 else None


def _px_from_35mm(mm: float, long_side_px: int) -> float:
    return mm / _FILM_LONG_SIDE_MM * long_side_px


def px_from_hfov(hfov_deg: float, width_px: int) -> float:
    """Return the focal length, pixels, of a frame ``width_px`` wide seeing ``hfov_deg``."""
    return width_px / 2.0 / math.tan(math.radians(hfov_deg) / 2.0)


def _fitted(rms_at: Callable[[float], float], width_px: int) -> Focal:
    """Golden-section search of the focal length between 120 and 10 degrees of view."""

    def focal(hfov: float) -> float:
        return px_from_hfov(hfov, width_px)

    lo, hi = _FIT_HFOV_DEG
    a, b = lo + (1 - _GOLDEN) * (hi - lo), lo + _GOLDEN * (hi - lo)
    fa, fb = rms_at(focal(a)), rms_at(focal(b))
    for _ in range(40):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = lo + (1 - _GOLDEN) * (hi - lo)
            fa = rms_at(focal(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + _GOLDEN * (hi - lo)
            fb = rms_at(focal(b))
        if hi - lo < 0.05:
            break
    hfov = (lo + hi) / 2.0
    return Focal(
        value_px=focal(hfov),
        source=f"fitted to the points (field of view {hfov:.1f} deg)",
        estimated=True,
    )
