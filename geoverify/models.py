"""Shared frozen value types: coordinates, verdicts, warnings and JSON conversion.

Every stage returns frozen dataclasses built from these. Coordinates are ``LatLon`` (WGS84
degrees, latitude first); GeoJSON's longitude-first order exists only at file boundaries.
Datetimes are timezone-aware. ``to_jsonable`` turns any of these values into strict JSON data
(no NaN, no naive datetime, fractions as ``"num/den"`` strings).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction
from pathlib import PurePath
from typing import Any

from geoverify.errors import InputError

__all__ = [
    "BBox",
    "CandidateCheck",
    "CheckResult",
    "LatLon",
    "Note",
    "Severity",
    "Verdict",
    "printable",
    "sanitize_text",
    "to_jsonable",
]


class Verdict(enum.StrEnum):
    """Outcome of a check."""

    CONSISTENT = "consistent"
    INCONSISTENT = "inconsistent"
    INCONCLUSIVE = "inconclusive"


class Severity(enum.StrEnum):
    """How much a note matters to the analyst."""

    INFO = "info"
    WARNING = "warning"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Note:
    """A trust note or warning with a stable code, e.g. ``W_REENCODED``.

    Attributes
    ----------
    code
        Stable machine-readable code.
    message
        One sentence for the analyst.
    severity
        ``info`` or ``warning``.
    field
        The field of the result it is about (``creation_time``, ``location``...), or ``""``.
    """

    code: str
    message: str
    severity: Severity = Severity.WARNING
    field: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class LatLon:
    """A WGS84 position in degrees, latitude first.

    Validated on construction: both values finite, latitude in [-90, 90], longitude in
    [-180, 180]. A latitude beyond 90 whose swap would be valid is reported as a likely
    lon/lat swap.

    Parameters
    ----------
    lat
        Latitude in degrees, north positive.
    lon
        Longitude in degrees, east positive.
    """

    lat: float
    lon: float

    def __post_init__(self) -> None:
        for name, value in (("latitude", self.lat), ("longitude", self.lon)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                msg = f"{name} must be a number, got {value!r}"
                raise InputError(msg, code="E_COORD_TYPE", hint="Give decimal degrees.")
            if not math.isfinite(value):
                msg = f"{name} must be finite, got {value!r}"
                raise InputError(msg, code="E_COORD_RANGE", hint="Give decimal degrees.")
        if not -90.0 <= self.lat <= 90.0:
            hint = "Latitude must lie in [-90, 90] degrees."
            if -90.0 <= self.lon <= 90.0 and -180.0 <= self.lat <= 180.0:
                hint = "This looks like (lon, lat): LatLon takes latitude first."
            msg = f"latitude {self.lat!r} is out of range"
            raise InputError(msg, code="E_COORD_RANGE", hint=hint)
        if not -180.0 <= self.lon <= 180.0:
            msg = f"longitude {self.lon!r} is out of range"
            raise InputError(msg, code="E_COORD_RANGE", hint="Longitude must lie in [-180, 180].")
        object.__setattr__(self, "lat", float(self.lat))
        object.__setattr__(self, "lon", float(self.lon))


def _is_box(west: float, south: float, east: float, north: float) -> bool:
    return all(math.isfinite(v) for v in (west, south, east, north)) and (
        -180 <= west < east <= 180 and -90 <= south < north <= 90
    )


def _reads_swapped(west: float, south: float, east: float, north: float) -> bool:
    """Whether the box is one only in the other common order (south,west,north,east)."""
    return -180 <= south < north <= 180 and -90 <= west < east <= 90


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BBox:
    """A box on the globe in WGS84 degrees: west, south, east, north (RFC 7946, osmnx, QGIS).

    Validated on construction: every edge a finite number, ``-180 <= west < east <= 180`` and
    ``-90 <= south < north <= 90`` (a box never crosses the antimeridian); a box that reads only
    in the other common order (south,west,north,east) says so in its hint.

    Parameters
    ----------
    west, east
        Longitudes of the edges in degrees, east positive.
    south, north
        Latitudes of the edges in degrees, north positive.
    """

    west: float
    south: float
    east: float
    north: float

    def __post_init__(self) -> None:
        edges = self.as_tuple()
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in edges):
            msg = f"a bounding box takes numbers, got {edges!r}"
            raise InputError(msg, code="E_INPUT_OPTION", hint="Give decimal degrees.")
        if not _is_box(*edges):
            w, s, e, n = edges
            msg = f"west {w!r}, south {s!r}, east {e!r}, north {n!r} is not a bounding box"
            hint = "Give west < east in [-180, 180] and south < north in [-90, 90] degrees."
            if _reads_swapped(*edges):
                hint = (
                    f"This reads as south,west,north,east: west={s}, south={w}, east={n}, north={e}"
                )
            raise InputError(msg, code="E_INPUT_OPTION", hint=hint)
        for name, value in zip(("west", "south", "east", "north"), edges, strict=True):
            object.__setattr__(self, name, float(value))

    @classmethod
    def parse(cls, text: str) -> BBox:
        """Read the CLI's ``west,south,east,north`` in degrees (``--bbox``).

        An impossible box is refused (``E_INPUT_OPTION``), and one that reads only in the
        other common order (south,west,north,east) says so in its hint.
        """
        try:
            w, s, e, n = (float(x) for x in text.split(","))
        except ValueError:
            msg = f"--bbox {text!r} is not four numbers west,south,east,north"
            raise InputError(
                msg, code="E_INPUT_OPTION", hint="e.g. 37.95,48.55,38.06,48.63"
            ) from None
        if _is_box(w, s, e, n):
            return cls(west=w, south=s, east=e, north=n)
        hint = "Give west,south,east,north in degrees (as osmnx and QGIS)."
        if _reads_swapped(w, s, e, n):
            hint = (
                f"This reads as south,west,north,east; geoverify takes west,south,east,north: "
                f"--bbox {s},{w},{n},{e}"
            )
        msg = f"--bbox {text!r} is not a box west,south,east,north"
        raise InputError(msg, code="E_INPUT_OPTION", hint=hint)

    @staticmethod
    def is_box(west: float, south: float, east: float, north: float) -> bool:
        """Tell whether these edges make a valid box (finite, in range, in order)."""
        return _is_box(west, south, east, north)

    @staticmethod
    def reads_swapped(west: float, south: float, east: float, north: float) -> bool:
        """Tell whether these edges make a box only when read as south,west,north,east."""
        return _reads_swapped(west, south, east, north)

    def as_tuple(self) -> tuple[float, float, float, float]:
        """Return ``(west, south, east, north)``, the order of RFC 7946, osmnx and QGIS."""
        return (self.west, self.south, self.east, self.north)

    def text(self) -> str:
        """Return the CLI's ``west,south,east,north`` form (``-180,-60,180,75``)."""
        return ",".join(f"{v:g}" for v in self.as_tuple())


# --- the sun stage's defaults, here so the CLI can show them without loading numpy ----------------

OBSERVER_ELEVATION_M = 0.0
STANDARD_PRESSURE_HPA = 1013.25
STANDARD_TEMPERATURE_C = 12.0
SHADOW_AZIMUTH_ERROR_DEG = 5.0
SHADOW_RATIO_ERROR = 0.1
SHADOW_CELL_DEG = 1.0
# text in the frame: Tesseract's languages and the frames of a video read at most
TEXT_LANG = "ukr+rus+eng"
TEXT_MAX_FRAMES = 4
# where ``sun where`` searches by default: the inhabited latitudes
INHABITED_BBOX = BBox(west=-180.0, south=-60.0, east=180.0, north=75.0)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CandidateCheck:
    """A check evaluated for one choice of landmarks (one candidate per role).

    Attributes
    ----------
    landmarks
        Role name -> landmark id used for this evaluation.
    measured
        The measured value (metres or degrees, see ``CheckResult.unit``), or ``None`` when it
        could not be measured.
    possible_min, possible_max
        The range the true value may take given the landmarks' position uncertainty.
    margin
        Signed distance from the measured value to the nearest bound of the claimed range:
        positive inside, negative outside (same unit).
    verdict
        Verdict for this choice.
    reason
        Why, in one sentence.
    """

    landmarks: Mapping[str, str]
    measured: float | None
    possible_min: float | None
    possible_max: float | None
    margin: float | None
    verdict: Verdict
    reason: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """The outcome of one check: evidence, not an exception.

    Attributes
    ----------
    name
        Claim id.
    kind
        ``distance``, ``direction``, ``side_of_line``, ``within``, ``nearest``, ``shadow``...
    text
        The claim as published.
    verdict
        ``consistent``, ``inconsistent`` or ``inconclusive``.
    measured, margin
        For the first (or only) candidate choice; every choice is in ``candidates``.
    expected
        The claimed range in words and numbers, e.g. ``[400, 500] m ("just under 500 m")``.
    tolerance
        Uncertainty allowed for in the decision (same unit), when one applies.
    unit
        ``m``, ``deg`` or ``ratio`` (a shadow's length over the object's height).
    method
        How it was measured (ellipsoid, points and lines used).
    notes
        Caveats: definitions the verdict depends on, unstated uncertainties.
    candidates
        One evaluation per choice of landmarks for roles with several candidates.
    survives_choice
        Whether every candidate choice gives the same verdict (``None``: only one choice).
    """

    name: str
    kind: str
    text: str
    verdict: Verdict
    measured: float | None
    expected: str
    tolerance: float | None
    margin: float | None
    unit: str
    method: str
    notes: tuple[str, ...] = ()
    candidates: tuple[CandidateCheck, ...] = ()
    survives_choice: bool | None = None

    def _repr_html_(self) -> str:
        """Show the result as a small table in Jupyter (every string escaped)."""
        import html

        def num(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f} {self.unit}"

        rows = [
            ("claim", self.text),
            ("verdict", self.verdict.value),
            ("measured", num(self.measured)),
            ("claimed", self.expected),
            ("margin", num(self.margin)),
            *(("note", n) for n in self.notes),
        ]
        out = html_table(rows)
        if len(self.candidates) > 1 or self.survives_choice is not None:
            survives = {None: "single definition", True: "yes", False: "NO"}[self.survives_choice]
            out += f"<p>same verdict for every candidate: {html.escape(survives)}</p>"
        if self.candidates:
            out += html_table(
                [
                    (
                        " / ".join(c.landmarks.values()),
                        num(c.measured),
                        c.verdict.value,
                        c.reason,
                    )
                    for c in self.candidates
                ],
                header=("candidate", "measured", "verdict", "why"),
            )
        return out


def html_table(rows: Any, *, header: tuple[str, ...] | None = None) -> str:
    """Render an HTML table for Jupyter's ``_repr_html_``; every cell is escaped text."""
    import html

    def cells(row: Any, tag: str) -> str:
        return "".join(f"<{tag}>{html.escape(str(v))}</{tag}>" for v in row)

    if header is None:
        body = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in rows
        )
        return f"<table>{body}</table>"
    head = f"<tr>{cells(header, 'th')}</tr>"
    body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def printable(text: str, max_chars: int = 300) -> str:
    r"""Return ``text`` on one line fit for a terminal or a message: control characters escaped.

    Terminal escape sequences (``ESC ]0;...``) and bidirectional overrides from hostile metadata
    or a server are shown escaped (````), never emitted; the text is cut at ``max_chars``.
    """
    out = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
        for ch in text[:max_chars]
    )
    return out + ("..." if len(text) > max_chars else "")


def sanitize_text(value: str, *, max_chars: int | None = None) -> str:
    """Return ``value`` as text that is valid UTF-8, keeping every valid character verbatim.

    PyAV decodes odd metadata bytes with ``surrogateescape``; such lone surrogates cannot be
    written as UTF-8. They become U+FFFD. NUL and other control characters are kept (JSON
    escapes them; HTML templates escape them). ``max_chars`` cuts very long strings.
    """
    text = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars]
    return text


_NOT_SCALAR = object()


def _scalar_jsonable(value: Any) -> Any:
    """Convert a JSON scalar, a fraction, a datetime or a path; ``_NOT_SCALAR`` for others."""
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = f"non-finite number {value!r} cannot be written as JSON"
            raise ValueError(msg)
        return value
    if isinstance(value, str):
        return sanitize_text(value)
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            msg = "naive datetime cannot be written: geoverify keeps time zones explicit"
            raise ValueError(msg)
        return value.isoformat()
    if isinstance(value, PurePath):
        return sanitize_text(str(value))
    return _NOT_SCALAR


def to_jsonable(value: Any) -> Any:
    """Convert geoverify values to strict JSON data.

    Dataclasses become objects (fields in declaration order; a field declared with
    ``metadata={"json": False}``, such as pixel arrays, is left out), enums their value, fractions
    ``"num/den"`` strings, datetimes ISO 8601 strings with offset, tuples lists. A non-finite
    float or a naive datetime raises ``ValueError``: it would be a bug to write one.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.metadata.get("json", True)
        }
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    scalar = _scalar_jsonable(value)
    if scalar is not _NOT_SCALAR:
        return scalar
    if isinstance(value, Mapping):
        return {sanitize_text(str(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    msg = f"cannot convert {type(value).__name__} to JSON"
    raise TypeError(msg)
