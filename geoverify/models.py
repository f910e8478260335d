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
    if isinstance(value, Mapping):
        return {sanitize_text(str(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    msg = f"cannot convert {type(value).__name__} to JSON"
    raise TypeError(msg)
