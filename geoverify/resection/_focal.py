"""The focal length in pixels: from an option, the file's EXIF, or fitted to the points.

A 35 mm equivalent is taken over the frame's long side (36 mm of film): on the Berlin phone
photos (FocalLengthIn35mmFilm 35, 3264x2448) the surveyed points fit at 0.6-1.8 px RMS that
way, against 2.3-4.9 px over the diagonal (tests/test_locate.py).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

from geoverify.errors import InputError
from geoverify.resection._model import Focal

__all__ = ["focal_length"]

_FILM_LONG_SIDE_MM = 36.0
_EXIF_IFD = 0x8769
_FOCAL_35MM_TAG = 0xA405  # FocalLengthIn35mmFilm
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
_FIT_HFOV_DEG = (10.0, 120.0)  # the range a fitted focal length may take


def focal_length(
    image: str | os.PathLike[str],
    width_px: int,
    height_px: int,
    *,
    focal_35mm: float | None,
    hfov_deg: float | None,
    fit: object,
) -> Focal:
    """Choose the focal length: ``focal_35mm``, ``hfov_deg``, the EXIF, or ``fit`` (weak).

    ``fit`` is ``None`` or a function from a focal length in pixels to the points' RMS residual.
    """
    long_side = max(width_px, height_px)
    if focal_35mm is not None:
        return Focal(
            value_px=focal_35mm / _FILM_LONG_SIDE_MM * long_side,
            source=f"--focal-35mm {focal_35mm:g} mm (over the long side)",
        )
    if hfov_deg is not None:
        return Focal(
            value_px=width_px / 2.0 / math.tan(math.radians(hfov_deg) / 2.0),
            source=f"--hfov-deg {hfov_deg:g}",
        )
    exif = _exif_35mm(image)
    if exif is not None:
        return Focal(
            value_px=exif / _FILM_LONG_SIDE_MM * long_side,
            source=f"EXIF FocalLengthIn35mmFilm {exif:g} mm (over the long side)",
        )
    if callable(fit):
        return _fitted(fit, width_px)
    msg = "no focal length: the file has no EXIF FocalLengthIn35mmFilm and none was given"
    hint = "Give --focal-35mm MM or --hfov-deg DEG, or mark 6 or more points to fit it."
    raise InputError(msg, code="E_FOCAL_UNKNOWN", hint=hint)


def _exif_35mm(image: str | os.PathLike[str]) -> float | None:
    """FocalLengthIn35mmFilm from the file's EXIF (Pillow), or ``None``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(os.fspath(image)) as im:
            value = im.getexif().get_ifd(_EXIF_IFD).get(_FOCAL_35MM_TAG)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return None
    try:
        mm = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return mm if mm is not None and math.isfinite(mm) and mm > 0 else None


def _fitted(rms_at: Callable[[float], float], width_px: int) -> Focal:
    """Golden-section search of the focal length between 120 and 10 degrees of view."""

    def focal(hfov: float) -> float:
        return width_px / 2.0 / math.tan(math.radians(hfov) / 2.0)

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
