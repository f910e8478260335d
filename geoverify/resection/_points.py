"""The POINTS file: each point the analyst marked in a frame, and what it is on the map.

CSV with a header row, or JSON (a list of objects, or ``{"points": [...]}``), one observation
per row: ``x_px``, ``y_px`` (the upright frame's pixels, origin top-left) and either
``landmark`` (a registry id) or ``lat``, ``lon``; optional ``alt_m`` (height of the point on the
ellipsoid, needed by the 3D mode) and ``sigma_m`` (how far the point may be off, metres).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
from collections.abc import Mapping
from typing import Any

from geoverify._io import read_regular_file
from geoverify.errors import GeoverifyError, InputError, LimitError
from geoverify.models import LatLon

__all__ = [
    "DEFAULT_SIGMA_LANDMARK_M",
    "DEFAULT_SIGMA_POINT_M",
    "MarkedPoint",
    "read_points",
]

MAX_POINTS_BYTES = 1_000_000
MAX_POINTS = 500
# a landmark seen in a frame: between the Dead Sea shore and high mountains, on the ellipsoid
MIN_ALT_M, MAX_ALT_M = -1_000.0, 10_000.0
MAX_SIGMA_M = 10_000.0  # a point that may be 10 km off marks nothing
# How far a point may be off its stated position when no one says (one standard deviation):
# a position typed into a points file (a survey, a map read with care) and a registry landmark
# without ``uncertainty_m`` (its sources vary: OSM, a news map, a survey).
DEFAULT_SIGMA_POINT_M = 3.0
DEFAULT_SIGMA_LANDMARK_M = 5.0
_KNOWN = {"x_px", "y_px", "landmark", "lat", "lon", "alt_m", "sigma_m", "label", "note"}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MarkedPoint:
    """One row of a POINTS file as written (the registry is not consulted yet)."""

    row: int
    x_px: float
    y_px: float
    landmark: str | None
    position: LatLon | None
    alt_m: float | None
    sigma_m: float | None


def _short(text: str, limit: int = 40) -> str:
    """Cut a quoted value for a one-line message (a 5,000-digit number stays readable)."""
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _bad(where: str, message: str, hint: str = "") -> InputError:
    return InputError(
        f"{where}: {message}",
        code="E_POINTS_INVALID",
        hint=hint or "One row per point: x_px,y_px and landmark, or x_px,y_px,lat,lon.",
    )


def _error(message: str, reason: str, hint: str) -> GeoverifyError:
    if reason == "too_large":
        return LimitError(message, code="E_LIMIT_FILE_SIZE", hint=hint)
    return InputError(
        message, code="E_INPUT_MISSING" if reason == "missing" else "E_INPUT_NOT_FILE", hint=hint
    )


def read_points(path: str | os.PathLike[str]) -> tuple[MarkedPoint, ...]:
    """Read a POINTS file (CSV or JSON, by its first character).

    Raises
    ------
    InputError
        ``E_POINTS_INVALID`` naming the row and the field: not CSV/JSON, a missing or
        non-numeric coordinate, a row with neither a landmark nor a position, a negative
        ``sigma_m``; ``E_INPUT_NAN`` for NaN or infinite values.
    """
    where = os.fspath(path)
    data = read_regular_file(path, max_bytes=MAX_POINTS_BYTES, what="points file", error=_error)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad(where, "is not UTF-8 text") from None
    rows = _json_rows(where, text) if text.lstrip()[:1] in ("[", "{") else _csv_rows(where, text)
    if len(rows) > MAX_POINTS:
        raise _bad(where, f"has {len(rows)} points; the limit is {MAX_POINTS}")
    return tuple(_point(where, i, row) for i, row in enumerate(rows, start=1))


def _json_rows(where: str, text: str) -> list[Mapping[str, Any]]:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:  # ValueError: also an integer of 4,300+ digits
        raise _bad(where, f"is not valid JSON ({_short(str(exc))})") from None
    rows = doc.get("points") if isinstance(doc, dict) else doc
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise _bad(where, 'JSON must be a list of point objects, or {"points": [...]}')
    return rows


def _csv_rows(where: str, text: str) -> list[Mapping[str, Any]]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "x_px" not in header or "y_px" not in header:
        raise _bad(where, f"the CSV header {_short(repr(header))} lacks x_px and y_px")
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise _bad(where, f"the CSV header names {', '.join(map(repr, twice))} twice")
    reader.fieldnames = header
    rows: list[Mapping[str, Any]] = []
    for i, row in enumerate(reader, start=1):
        if None in row:  # more values than the header has names
            raise _bad(where, f"row {i} has more values than the header has names")
        rows.append(row)
    return rows


def _number(where: str, row: int, name: str, value: Any, *, required: bool) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _bad(where, f"row {row} has no {name}")
        return None
    if isinstance(value, bool):
        raise _bad(where, f"row {row}: {name} {value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise _bad(where, f"row {row}: {name} {_short(repr(value))} is not a number") from None
    if not math.isfinite(number):
        msg = f"{where}: row {row}: {name} is {_short(repr(value))}"
        raise InputError(
            msg,
            code="E_INPUT_NAN",
            hint="Give finite numbers.",
        )
    return number


def _point(where: str, row: int, raw: Mapping[str, Any]) -> MarkedPoint:
    unknown = sorted(set(raw) - _KNOWN)
    if unknown:
        raise _bad(where, f"row {row} has unknown field(s) {', '.join(map(repr, unknown))}")
    x = _number(where, row, "x_px", raw.get("x_px"), required=True)
    y = _number(where, row, "y_px", raw.get("y_px"), required=True)
    landmark = str(raw.get("landmark") or "").strip() or None
    position = _position(where, row, raw, landmark)
    sigma = _number(where, row, "sigma_m", raw.get("sigma_m"), required=False)
    if sigma is not None and not 0 <= sigma <= MAX_SIGMA_M:
        raise _bad(where, f"row {row}: sigma_m {sigma!r} is outside 0-{MAX_SIGMA_M:g} m")
    alt = _number(where, row, "alt_m", raw.get("alt_m"), required=False)
    if alt is not None and not MIN_ALT_M <= alt <= MAX_ALT_M:
        msg = f"row {row}: alt_m {alt!r} is outside {MIN_ALT_M:g} to {MAX_ALT_M:g} m"
        raise _bad(where, msg, "alt_m is the point's height on the ellipsoid, metres.")
    return MarkedPoint(
        row=row,
        x_px=x if x is not None else math.nan,
        y_px=y if y is not None else math.nan,
        landmark=landmark,
        position=position,
        alt_m=alt,
        sigma_m=sigma,
    )


def _position(where: str, row: int, raw: Mapping[str, Any], landmark: str | None) -> LatLon | None:
    """Return the row's ``lat,lon`` (``None`` for a landmark row): one of the two, not both."""
    lat = _number(where, row, "lat", raw.get("lat"), required=False)
    lon = _number(where, row, "lon", raw.get("lon"), required=False)
    if (lat is None) != (lon is None):
        raise _bad(where, f"row {row} has only one of lat and lon")
    if landmark is None and lat is None:
        raise _bad(where, f"row {row} has neither a landmark id nor lat,lon")
    if landmark is not None and lat is not None:
        raise _bad(where, f"row {row} has both a landmark id and lat,lon: give one")
    if lat is None or lon is None:
        return None
    try:
        return LatLon(lat, lon)
    except InputError as exc:
        raise _bad(where, f"row {row}: {exc.message}", exc.hint) from None
