"""Reading a claims file: its YAML schema (checked with pydantic), limits, and the conversion.

The file is read as a regular file of at most 1 MiB, parsed with PyYAML's safe loader (no
implicit timestamps, no aliases, at most 32 levels deep), validated with the pydantic models
below and converted at once to the frozen values of ``_model``; every problem is listed with its
location (``E_CLAIMS_INVALID``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import yaml

from geoverify._io import read_regular_file
from geoverify.claims._model import CAMERA, COMPASS, QUALIFIERS, Claim, ClaimSet, Hypothesis, Role
from geoverify.claims._when import filmed_window
from geoverify.errors import InputError, RegistryError
from geoverify.models import LatLon
from geoverify.sun import ShadowMeasurement, parse_time

_MAX_CLAIMS_BYTES = 1 << 20


# --- the file boundary (pydantic) ----------------------------------------------------------------


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _DistanceSpec(_Strict):
    qualifier: str | None = None
    value_m: Annotated[float, pydantic.Field(gt=0, allow_inf_nan=False)] | None = None
    range_m: tuple[float, float] | None = None

    @pydantic.model_validator(mode="after")
    def _one_form(self) -> _DistanceSpec:
        if self.range_m is not None:
            lo, hi = self.range_m
            if not (math.isfinite(lo) and lo >= 0 and hi > lo):
                msg = "range_m must be [low, high] metres with 0 <= low < high"
                raise ValueError(msg)
            if self.value_m is not None or self.qualifier is not None:
                msg = "give either range_m or qualifier + value_m, not both"
                raise ValueError(msg)
            return self
        if self.value_m is None or self.qualifier is None:
            msg = "give qualifier and value_m (or range_m)"
            raise ValueError(msg)
        if self.qualifier.lower() not in QUALIFIERS:
            msg = f"unknown qualifier {self.qualifier!r}; known: {', '.join(QUALIFIERS)}"
            raise ValueError(msg)
        return self


_Name = Annotated[
    str,
    pydantic.Field(
        description="A landmark id or a role. In claims_version 2, 'camera' means the footage's "
        "own positions (every one a candidate); a claim about it is inconclusive when the file "
        "states none."
    ),
]


class _ClaimBase(_Strict):
    id: str
    text: str
    notes: str = ""


class _DistanceModel(_ClaimBase):
    kind: Literal["distance"]
    subject: _Name
    reference: _Name
    distance: _DistanceSpec
    direction: str | None = None  # "about 1 km west of the square": both are checked
    half_width_deg: Annotated[float, pydantic.Field(gt=0, le=180)] | None = None


class _DirectionModel(_ClaimBase):
    kind: Literal["direction"]
    subject: _Name
    reference: _Name
    direction: str
    half_width_deg: Annotated[float, pydantic.Field(gt=0, le=180)] | None = None


class _SideModel(_ClaimBase):
    kind: Literal["side_of_line"]
    subject: _Name
    line: _Name
    side: str
    distance: _DistanceSpec | None = None


class _WithinModel(_ClaimBase):
    kind: Literal["within"]
    subject: _Name
    area: _Name


class _NearestModel(_ClaimBase):
    kind: Literal["nearest"]
    subject: _Name
    target: _Name
    of_kind: dict[str, str]


class _ShadowSpec(_Strict):
    azimuth_deg: float | None = None
    azimuth_error_deg: float = 5.0
    length_ratio: float | None = None
    ratio_error: float = 0.1


class _ShadowModel(_ClaimBase):
    kind: Literal["shadow"]
    subject: _Name
    time: str
    tz: str | None = None
    shadow: _ShadowSpec


_ClaimModel = Annotated[
    _DistanceModel | _DirectionModel | _SideModel | _WithinModel | _NearestModel | _ShadowModel,
    pydantic.Field(discriminator="kind"),
]


class _SourceModel(_Strict):
    title: str = ""
    publisher: str = ""
    url: str = ""
    date: str = ""
    quote: str = ""

    @pydantic.field_validator("date")
    @classmethod
    def _real_date(cls, value: str) -> str:
        """Accept YYYY, YYYY-MM or YYYY-MM-DD, and only a day that exists."""
        text = value.strip()
        if text and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text):
            msg = f"date {value!r} is not YYYY, YYYY-MM or YYYY-MM-DD"
            raise ValueError(msg)
        try:
            if len(text) == 10:
                date.fromisoformat(text)
            elif len(text) == 7:
                date.fromisoformat(text + "-01")
        except ValueError:
            msg = f"date {value!r} does not exist"
            raise ValueError(msg) from None
        return value


_Candidates = Annotated[list[str], pydantic.Field(min_length=1)]


class _RoleModel(_Strict):
    candidates: _Candidates
    kind: dict[str, str] = {}
    notes: str = ""


class _PlaceModel(_Strict):
    role: str | None = None
    lat: Annotated[float, pydantic.Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, pydantic.Field(ge=-180, le=180)] | None = None
    within_m: Annotated[float, pydantic.Field(gt=0)]

    @pydantic.model_validator(mode="after")
    def _one_place(self) -> _PlaceModel:
        has_point = self.lat is not None or self.lon is not None
        if has_point and (self.lat is None or self.lon is None):
            msg = "give both lat and lon (WGS84 degrees)"
            raise ValueError(msg)
        if has_point == (self.role is not None):
            msg = "give either role (a role or landmark id) or lat and lon, not both"
            raise ValueError(msg)
        return self


class _CameraPointsModel(_Strict):
    points: Annotated[
        str,
        pydantic.Field(
            description="A POINTS file (as `geoverify locate --points` reads), relative to the "
            "claims file: landmarks marked in the frame, to resect the camera from."
        ),
    ]
    frame: (
        Annotated[
            str,
            pydantic.Field(
                description="The frame the points were marked on (a video's frame saved by "
                "`geoverify frames`), relative to the claims file; omit it for a photo."
            ),
        ]
        | None
    ) = None


class _FootageModel(_Strict):
    shows: (
        Annotated[
            str,
            pydantic.Field(description="A role or a landmark id ('camera' is not one)."),
        ]
        | None
    ) = None
    filmed_at: _PlaceModel | None = None
    filmed_between: tuple[str | None, str | None] | None = None
    filmed_on: (
        Annotated[
            str,
            pydantic.Field(
                description="A whole day, YYYY-MM-DD, in the zone tz: the footage was filmed "
                "between that day's first instant and the next day's (instead of "
                "filmed_between)."
            ),
        ]
        | None
    ) = None
    tz: (
        Annotated[
            str,
            pydantic.Field(
                description="IANA time zone (Europe/Kyiv) of filmed_on, and of filmed_between "
                "times written without an offset."
            ),
        ]
        | None
    ) = None
    camera_points: _CameraPointsModel | None = None

    @pydantic.model_validator(mode="after")
    def _one_time(self) -> _FootageModel:
        if self.filmed_on is not None and self.filmed_between is not None:
            msg = "give either filmed_on (a whole day) or filmed_between, not both"
            raise ValueError(msg)
        if self.filmed_on is not None and self.tz is None:
            msg = "filmed_on needs tz: the day's time zone (an IANA name such as Europe/Kyiv)"
            raise ValueError(msg)
        return self


class FileModel(_Strict):
    claims_version: Literal[1, 2]
    source: _SourceModel = _SourceModel()
    footage: _FootageModel | None = None
    roles: dict[str, _RoleModel | _Candidates] = {}
    claims: list[_ClaimModel]

    @pydantic.model_validator(mode="after")
    def _version(self) -> FileModel:
        if self.footage is not None and self.claims_version < 2:
            msg = "the footage: section needs claims_version: 2"
            raise ValueError(msg)
        if self.claims_version < 2:
            return self
        reserved = f"{CAMERA!r} is reserved in claims_version 2 (the footage's own positions)"
        if CAMERA in self.roles:
            raise ValueError(reserved)
        for name, spec in self.roles.items():
            candidates = spec if isinstance(spec, list) else spec.candidates
            if CAMERA in candidates:
                msg = f"{reserved}: it cannot be a candidate of the role {name!r}"
                raise ValueError(msg)
        footage = self.footage
        place = footage.filmed_at if footage is not None else None
        for part, named in (
            ("shows", footage.shows if footage is not None else None),
            ("filmed_at", place.role if place is not None else None),
        ):
            if named == CAMERA:  # the footage compared with its own positions proves nothing
                msg = f"{reserved}: footage.{part} must name a landmark or a role"
                raise ValueError(msg)
        return self


def _interval(spec: _DistanceSpec) -> tuple[tuple[float, float], str]:
    if spec.range_m is not None:
        lo, hi = spec.range_m
        return (lo, hi), f"between {lo:g} and {hi:g} m"
    q = (spec.qualifier or "").lower()
    a, b = QUALIFIERS[q]  # the model has checked the qualifier and the value
    v = spec.value_m or 0.0
    said = f"{a * v:g}-{b * v:g} m, {a:.0%} to {b:.0%} of the value"
    return (a * v, b * v), f'"{q} {v:g} m" read as {said}'


def _sector(word: str, half_width: float | None, *, side: bool = False) -> tuple[float, float]:
    w = word.strip().lower().replace(" ", "-")
    if w.startswith("bearing:"):
        try:
            centre = float(w.split(":", 1)[1])
        except ValueError:
            msg = f"bad bearing {word!r}"
            raise ValueError(msg) from None
        if not math.isfinite(centre):
            msg = f"bearing {word!r} is not a finite number of degrees"
            raise ValueError(msg)
        centre %= 360.0
        return centre, half_width or 10.0
    if w not in COMPASS:
        msg = f"unknown direction {word!r}; use {', '.join(COMPASS)} or bearing:DEG"
        raise ValueError(msg)
    centre, default_half = COMPASS[w]
    return centre, half_width or (90.0 if side else default_half)


def _convert(model: Any) -> Claim:
    base = {"id": model.id, "text": model.text, "subject": model.subject, "notes": model.notes}
    if isinstance(model, _DistanceModel):
        claimed, claimed_rule = _interval(model.distance)
        sector = None
        if model.direction is not None:
            sector = _sector(model.direction, model.half_width_deg)
        return Claim(
            kind="distance",
            reference=model.reference,
            interval_m=claimed,
            interval_rule=claimed_rule,
            direction=model.direction or "",
            sector=sector,
            **base,
        )
    if isinstance(model, _DirectionModel):
        return Claim(
            kind="direction",
            reference=model.reference,
            direction=model.direction,
            sector=_sector(model.direction, model.half_width_deg),
            **base,
        )
    if isinstance(model, _SideModel):
        interval: tuple[float, float] | None = None
        rule = ""
        if model.distance is not None:
            interval, rule = _interval(model.distance)
        return Claim(
            kind="side_of_line",
            reference=model.line,
            direction=model.side,
            sector=_sector(model.side, None, side=True),
            interval_m=interval,
            interval_rule=rule,
            **base,
        )
    if isinstance(model, _ShadowModel):
        try:
            when = parse_time(model.time, zone=model.tz)
            shadow = ShadowMeasurement(**model.shadow.model_dump())
        except InputError as exc:
            raise ValueError(exc.message) from None
        return Claim(kind="shadow", time_utc=when, shadow=shadow, **base)
    if isinstance(model, _WithinModel):
        return Claim(kind="within", reference=model.area, **base)
    return Claim(kind="nearest", reference=model.target, of_kind=dict(model.of_kind), **base)


_MAX_DEPTH = 32  # a claims file is a few levels deep; deeper nesting is refused unread


class _ClaimsLoader(yaml.SafeLoader):
    """PyYAML's safe loader without implicit timestamps.

    Dates stay text for ``parse_time``, which refuses a time without a zone instead of
    assuming UTC.
    """


_ClaimsLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml_error(where: str, why: str) -> RegistryError:
    msg = f"{where} is not a usable claims file: {why}"
    return RegistryError(msg, code="E_CLAIMS_INVALID", hint="Fix the YAML (one document).")


def _scan_yaml(text: str, where: str) -> None:
    """Refuse aliases and deep nesting from the event stream, before anything is built."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_ClaimsLoader):
            if isinstance(event, yaml.AliasEvent):
                msg = f"{where}: YAML aliases (*name) are not allowed in a claims file"
                raise RegistryError(msg, code="E_CLAIMS_INVALID", hint="Write each value out.")
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
                if depth > _MAX_DEPTH:
                    raise _yaml_error(where, f"nested more than {_MAX_DEPTH} levels deep")
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        raise _yaml_error(where, f"invalid YAML: {str(exc).splitlines()[0]}") from None


def _parse_yaml(text: str, where: str) -> Any:
    _scan_yaml(text, where)
    try:
        return yaml.load(text, Loader=_ClaimsLoader)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _yaml_error(where, first) from None
    except (ValueError, OverflowError, RecursionError, TypeError) as exc:
        # e.g. an integer of thousands of digits (Python's int limit), an unhashable key
        raise _yaml_error(where, str(exc).splitlines()[0][:200]) from None


def _bad_text(data: Any, pointer: str = "") -> str | None:
    """Find the first string (or key) holding a lone surrogate; return its JSON pointer."""
    if isinstance(data, str):
        return pointer or "/" if any(0xD800 <= ord(ch) <= 0xDFFF for ch in data) else None
    if isinstance(data, dict):
        for key, value in data.items():
            found = _bad_text(key, f"{pointer}/{key!s}") or _bad_text(value, f"{pointer}/{key!s}")
            if found:
                return found
    if isinstance(data, list):
        for i, value in enumerate(data):
            found = _bad_text(value, f"{pointer}/{i}")
            if found:
                return found
    return None


def claims_from_data(data: Any, *, where: str = "<data>") -> ClaimSet:
    """Validate parsed claims data (see ``load_claims``)."""
    bad = _bad_text(data)
    if bad is not None:
        msg = f"{where}: at {bad}: text with a lone surrogate (not valid Unicode)"
        raise RegistryError(msg, code="E_CLAIMS_INVALID", hint="Write the text as valid UTF-8.")
    try:
        model = FileModel.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = [
            f"{where}: at /{'/'.join(str(p) for p in err['loc'])}: "
            + str(err["msg"]).removeprefix("Value error, ")  # pydantic's prefix for our checks
            for err in exc.errors()
        ]
        raise _problems_error(where, problems) from None
    roles: dict[str, Role] = {}
    for name, spec in model.roles.items():
        if isinstance(spec, list):
            roles[name] = Role(name=name, candidates=tuple(spec))
        else:
            roles[name] = Role(
                name=name, candidates=tuple(spec.candidates), kind=dict(spec.kind), notes=spec.notes
            )
    problems = []
    claims = []
    seen: set[str] = set()
    for i, item in enumerate(model.claims):
        if item.id in seen:
            problems.append(f"{where}: at /claims/{i}/id: duplicate claim id {item.id!r}")
            continue
        seen.add(item.id)
        try:
            claims.append(_convert(item))
        except ValueError as exc:
            problems.append(f"{where}: at /claims/{i}: {exc}")
    footage, footage_problems = _hypothesis(model.footage)
    problems += [f"{where}: at /footage: {p}" for p in footage_problems]
    if problems:
        raise _problems_error(where, problems)
    notes: tuple[str, ...] = ()
    if footage is None:
        notes = (
            "the claims file states no hypothesis (a footage: section, claims_version 2): only "
            "the published description of the place is tested",
        )
    return ClaimSet(
        claims=tuple(claims),
        roles=roles,
        source=model.source.model_dump(),
        version=model.claims_version,
        footage=footage,
        notes=notes,
    )


def _problems_error(where: str, problems: list[str]) -> RegistryError:
    """One ``E_CLAIMS_INVALID`` listing every problem, the first in the message."""
    msg = f"{len(problems)} problem(s) in {where}; first: {problems[0].split(': ', 1)[1]}"
    return RegistryError(
        msg, code="E_CLAIMS_INVALID", hint="Fix every problem listed.", detail="\n".join(problems)
    )


def _hypothesis(model: _FootageModel | None) -> tuple[Hypothesis | None, list[str]]:
    if model is None:
        return None, []
    problems, ends = filmed_window(model.filmed_on, model.tz, model.filmed_between)
    place = model.filmed_at
    point = None
    if place is not None and place.lat is not None and place.lon is not None:
        point = LatLon(place.lat, place.lon)
    return (
        Hypothesis(
            shows=model.shows,
            filmed_at=place.role if place is not None else None,
            filmed_at_point=point,
            within_m=place.within_m if place is not None else None,
            filmed_from_utc=ends[0],
            filmed_until_utc=ends[1],
            camera_points=(
                (model.camera_points.points, model.camera_points.frame)
                if model.camera_points is not None
                else None
            ),
        ),
        problems,
    )


def _claims_read_error(message: str, reason: str, hint: str) -> RegistryError:
    if reason == "too_large":
        return RegistryError(message, code="E_CLAIMS_TOO_LARGE", hint="A claims file is short.")
    code = "E_CLAIMS_NOT_FILE" if reason == "not_regular" else "E_CLAIMS_MISSING"
    return RegistryError(message, code=code, hint=hint)


def load_claims(path: str | os.PathLike[str]) -> ClaimSet:
    """Load and validate a claims YAML file.

    Raises
    ------
    RegistryError
        ``E_CLAIMS_INVALID`` listing every problem with its location (exit code 4 in the CLI).
    """
    import hashlib

    p = Path(os.fspath(path))
    raw = read_regular_file(
        p, max_bytes=_MAX_CLAIMS_BYTES, what="claims file", error=_claims_read_error
    )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        msg = f"{str(p)!r} is not UTF-8 text"
        raise RegistryError(msg, code="E_CLAIMS_INVALID", hint="Save it as UTF-8.") from None
    data = _parse_yaml(text, str(p))
    cs = claims_from_data(data, where=str(p))
    return dataclasses.replace(cs, path=str(p), sha256=hashlib.sha256(raw).hexdigest())
