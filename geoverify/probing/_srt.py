"""DJI flight telemetry from an ``.SRT`` sidecar: positions, heights and attitude per cue.

DJI drones write a subtitle file beside each video, one cue per frame or per second. Its text
is not standard: some firmware writes no timing lines (the ``srt`` library rejects those files),
and no maintained parser for the cue *contents* exists in Python, so both are read here, with
every trap the formats are known for handled explicitly:

1. Coordinate order differs by firmware. ``GPS(a, b, n)``: longitude first (Mavic Pro, Mini,
   Phantom 4; the third value is the satellite count), unless the third value is an altitude
   with an ``M`` suffix (some enterprise firmware), which writes latitude first. A first value
   outside +-90 can only be a longitude. Bracketed fields (``[latitude: ..]``) name themselves.
2. Misspelt keys: ``longtitude`` is read as ``longitude``.
3. Radians: no shipped firmware is known to need it, and a value in radians cannot be told
   from degrees near (0, 0); a track wholly inside +-pi/2, +-pi gets a warning, never a guess.
4. The date in a cue is local time with no zone: it is reported as such (``time_local``),
   never as UTC.
5. Two clocks: the cue's timing line is the time in the video; the date is the aircraft's
   clock. Both are kept; when a file has no timing lines, the time in the video is taken from
   the dates' differences, and a note says so.
6. ``F.PRY`` (aircraft) and ``G.PRY`` (gimbal) pitch, roll, yaw in degrees; the gimbal yaw is
   the viewing direction. DJI does not state whether it is from true or magnetic north.

Heights: ``BAROMETER`` (``Hb`` in the oldest format) and ``H`` are relative to the take-off
point; ``altitude`` (Air 2) is as the firmware states it. The reference of each is carried in
``alt_reference``. The oldest format's ``Hs`` (equal to ``Hb`` in every sample; its sensor is
not documented) is not read.

Duration: the time in the video where the last cue ends (its timing line; for a file without
timing lines, the aircraft clock's span plus one cue interval). ``probe`` compares it with the
video's duration: a sidecar of another length belongs to another video or was cut.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
import re
from datetime import datetime
from pathlib import Path

from geoverify.errors import InputError
from geoverify.models import Note, Severity
from geoverify.probing._gpmf import GpmfFix

MAX_SRT_BYTES = 64 * 2**20

_TIMING = re.compile(
    r"^\s*(\d+):(\d\d):(\d\d)[,.](\d{1,3})\s*-->\s*(\d+):(\d\d):(\d\d)[,.](\d{1,3})"
)
# the oldest firmware writes the month, day and hour without a leading zero (2017.8.5 9:11:51)
_DATE = re.compile(
    r"(\d{4})[.-](\d{1,2})[.-](\d{1,2})\s+(\d{1,2}):(\d\d):(\d\d)(?:[,.](\d{1,3}))?"
    r"(?:,(\d{1,3}))?"
)
_NUM = r"[-+]?\d+(?:\.\d+)?"
_GPS = re.compile(rf"GPS\s*\(\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*([mM]?)\s*\)")
_HOME = re.compile(rf"HOME\s*\(\s*({_NUM})\s*,\s*({_NUM})")
_BRACKET = re.compile(r"\[\s*([A-Za-z_. ]+?)\s*:\s*([^\]\[]*?)\s*\]")
_PRY = re.compile(rf"([FG])\.PRY\s*\(\s*({_NUM})°?\s*,\s*({_NUM})°?\s*,\s*({_NUM})°?\s*\)")
_BARO = re.compile(rf"(?:BAROMETER|\bHb)\s*:\s*({_NUM})")  # Hb: the oldest firmware's name
_HEIGHT = re.compile(rf"(?<![A-Za-z.])H\s+({_NUM})\s*m")
_SPEED = re.compile(rf"H\.S\s+({_NUM})\s*m/s")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TrackFix(GpmfFix):
    """One fix of a telemetry track that is not GoPro's (``payload_t_s``: time in the video).

    Attributes
    ----------
    time_local
        The aircraft clock's date and time as written (no zone), ISO 8601 without offset.
    alt_reference
        What ``alt_m`` is measured from: ``take-off point (barometric)``, ``take-off point``,
        or ``as the firmware states it``.
    satellites
        Satellites in view, when the cue gives them.
    aircraft_pry_deg, gimbal_pry_deg
        (pitch, roll, yaw) in degrees, when the cue gives them; the gimbal yaw is the
        camera's viewing direction.
    """

    time_local: str | None = None
    alt_reference: str = ""
    satellites: int | None = None
    aircraft_pry_deg: tuple[float, float, float] | None = None
    gimbal_pry_deg: tuple[float, float, float] | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SrtTrack:
    """What a DJI ``.SRT`` holds: its fixes, the home point, and notes on what was read."""

    path: str
    sha256: str  # of the bytes parsed
    cues: int
    fixes: tuple[TrackFix, ...]
    home: tuple[float, float] | None  # (lat, lon)
    notes: tuple[Note, ...]
    # seconds into the video where the last cue ends (None: no cue has a time)
    duration_s: float | None = None


def _note(code: str, message: str, severity: Severity = Severity.WARNING) -> Note:
    return Note(code=code, message=message, severity=severity, field="gps_track")


def _cues(text: str) -> list[list[str]]:
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    out = []
    for block in blocks:
        lines = [re.sub(r"<[^>]*>", "", ln).strip() for ln in block.split("\n")]
        lines = [ln for ln in lines if ln]
        if lines and lines[0].isdigit():
            lines = lines[1:]
        if lines:
            out.append(lines)
    return out


def _local_time(m: re.Match[str]) -> datetime | None:
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    ms = int((m.group(7) or "0").ljust(3, "0"))
    try:
        return datetime(y, mo, d, h, mi, s, ms * 1000)
    except ValueError:
        return None


def _lat_lon(a: float, b: float, third: str, suffix: str) -> tuple[float, float] | None:
    """Order ``GPS(a, b, third)`` as (lat, lon) by the firmware rules of the module docstring."""
    if suffix:  # an altitude with an M suffix: latitude first
        lat, lon = a, b
    else:
        lat, lon = b, a
    if abs(a) > 90 >= abs(b):
        lat, lon = b, a
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def _bracket_position(brackets: dict[str, str], found: dict[str, object]) -> str | None:
    """Read ``[latitude: ..] [longitude: ..] [altitude: ..]`` into ``found``; a problem or None."""
    lat, lon = float(brackets["latitude"]), float(brackets["longitude"])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return f"position out of range ({lat}, {lon})"
    found["lat"], found["lon"] = lat, lon
    for key in ("altitude", "abs_alt", "rel_alt"):
        if key in brackets:
            found["alt_m"] = float(brackets[key].split()[0].rstrip("mM"))
            found["alt_reference"] = (
                "take-off point" if key == "rel_alt" else "as the firmware states it"
            )
            break
    return None


def _gps_position(gps: re.Match[str], found: dict[str, object]) -> str | None:
    """Read ``GPS(a, b, n)`` into ``found`` in the firmware's order; a problem or None."""
    a, b = float(gps.group(1)), float(gps.group(2))
    ordered = _lat_lon(a, b, gps.group(3), gps.group(4))
    if ordered is None:
        return f"GPS({a}, {b}, ..) is no position"
    found["lat"], found["lon"] = ordered
    if gps.group(4):
        found["alt_m"] = float(gps.group(3))
        found["alt_reference"] = "as the firmware states it"
    else:
        found["satellites"] = int(float(gps.group(3)))
    return None


def _heights_and_attitude(text: str, found: dict[str, object]) -> None:
    """Heights relative to take-off, speed, attitude and the home point, where the cue has them."""
    if "alt_m" not in found:
        baro = _BARO.search(text)
        height = _HEIGHT.search(text)
        if baro:
            found["alt_m"] = float(baro.group(1))
            found["alt_reference"] = "take-off point (barometric)"
        elif height:
            found["alt_m"] = float(height.group(1))
            found["alt_reference"] = "take-off point"
    speed = _SPEED.search(text)
    if speed:
        found["speed"] = float(speed.group(1))
    for which, p, r, y in _PRY.findall(text):
        key = "aircraft_pry_deg" if which == "F" else "gimbal_pry_deg"
        found[key] = (float(p), float(r), float(y))
    home = _HOME.search(text)
    if home:
        ordered = _lat_lon(float(home.group(1)), float(home.group(2)), "", "")
        if ordered is not None:
            found["home"] = ordered


def _cue_fix(lines: list[str], t_s: float | None) -> tuple[dict[str, object], str | None]:
    text = " ".join(lines)
    found: dict[str, object] = {"t_s": t_s}
    date = _DATE.search(text)
    local = _local_time(date) if date else None
    if local is not None:
        found["time_local"] = local
    brackets = {k.strip().lower().replace(" ", "_"): v.strip() for k, v in _BRACKET.findall(text)}
    if "longtitude" in brackets and "longitude" not in brackets:
        brackets["longitude"] = brackets["longtitude"]  # DJI's misspelling
    problem = None
    gps = _GPS.search(text)
    try:
        if "latitude" in brackets and "longitude" in brackets:
            problem = _bracket_position(brackets, found)
        elif gps:
            problem = _gps_position(gps, found)
    except ValueError:
        problem = "a coordinate is not a number"
    _heights_and_attitude(text, found)
    return found, problem


def _cue_notes(
    raw: list[dict[str, object]], complete: list[dict[str, object]], *, timed: int, problems: int
) -> list[Note]:
    """Write notes on the cues as read; give untimed cues a time from the aircraft clock."""
    notes: list[Note] = []
    if "lat" not in raw[-1] and any("lat" in f for f in raw[:-1]):
        notes.append(
            _note("W_TELEMETRY_TRUNCATED", "the last cue is incomplete: the file was cut short")
        )
    if problems:
        notes.append(_note("W_TELEMETRY_BAD_FIX", f"{problems} cue(s) hold no usable position"))
    first = next((f["time_local"] for f in raw if "time_local" in f), None)
    if timed == 0 and complete and isinstance(first, datetime):
        for f in raw:
            when = f.get("time_local")
            if isinstance(when, datetime):
                f["t_s"] = (when - first).total_seconds()
        notes.append(
            _note(
                "I_TELEMETRY_UNTIMED",
                "the file has no timing lines: the time in the video is taken from the "
                "aircraft clock's differences from its first cue",
                Severity.INFO,
            )
        )
    return notes


def _read_error(message: str, reason: str, hint: str) -> InputError:
    code = {"missing": "E_TELEMETRY_MISSING", "too_large": "E_LIMIT_FILE_SIZE"}.get(
        reason, "E_TELEMETRY_INVALID"
    )
    return InputError(message, code=code, hint=hint or "Give the drone's .SRT file.")


def _srt_text(p: Path) -> tuple[bytes, str]:
    """Read the file: its bytes and their text (UTF-8, else Latin-1); NUL bytes are refused."""
    from geoverify._io import read_regular_file

    data = read_regular_file(p, max_bytes=MAX_SRT_BYTES, what="telemetry file", error=_read_error)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if "\x00" in text:
        msg = f"{str(p)!r} is not a text subtitle file (it holds NUL bytes)"
        raise InputError(msg, code="E_TELEMETRY_INVALID", hint="Give the drone's .SRT file.")
    return data, text


@dataclasses.dataclass(slots=True)
class _CuesRead:
    raw: list[dict[str, object]] = dataclasses.field(default_factory=list)
    problems: int = 0
    timed: int = 0
    end_s: float | None = None


def _read_cues(cues: list[list[str]]) -> _CuesRead:
    """Read each cue's timing line and fields."""
    read = _CuesRead()
    for lines in cues:
        timing = _TIMING.match(lines[0])
        t_s = None
        body = lines
        if timing:
            t_s = _clock_s(timing, 1)
            read.end_s = max(read.end_s or 0.0, _clock_s(timing, 5))
            read.timed += 1
            body = lines[1:]
        found, problem = _cue_fix(body, t_s)
        read.problems += problem is not None
        read.raw.append(found)
    return read


def _track_fix(f: dict[str, object]) -> TrackFix:
    when = f.get("time_local")
    return TrackFix(
        payload_t_s=float(f["t_s"]),  # type: ignore[arg-type]
        time_utc=None,
        lat=float(f["lat"]),  # type: ignore[arg-type]
        lon=float(f["lon"]),  # type: ignore[arg-type]
        alt_m=f.get("alt_m"),  # type: ignore[arg-type]
        speed_2d_mps=f.get("speed"),  # type: ignore[arg-type]
        fix=-1,
        dop=None,
        samples_in_payload=1,
        time_local=when.isoformat() if isinstance(when, datetime) else None,
        alt_reference=str(f.get("alt_reference", "")),
        satellites=f.get("satellites"),  # type: ignore[arg-type]
        aircraft_pry_deg=f.get("aircraft_pry_deg"),  # type: ignore[arg-type]
        gimbal_pry_deg=f.get("gimbal_pry_deg"),  # type: ignore[arg-type]
    )


def _position_notes(fixes: tuple[TrackFix, ...], cue_count: int) -> list[Note]:
    """Note a file without positions, or one whose positions may be radians."""
    if not fixes:
        return [
            _note(
                "W_TELEMETRY_NO_POSITION", f"{cue_count} cues, none with a position", Severity.INFO
            )
        ]
    if all(abs(f.lat) <= math.pi / 2 and abs(f.lon) <= math.pi for f in fixes):
        return [
            _note(
                "W_TELEMETRY_MAYBE_RADIANS",
                "every position lies within +-pi/2, +-pi: if this firmware writes radians, the "
                "positions are wrong (a place near 0 N 0 E looks the same in degrees)",
            )
        ]
    return []


def parse_srt(path: str | Path) -> SrtTrack:
    """Read a DJI ``.SRT`` telemetry sidecar; see the module docstring for what is handled.

    Raises
    ------
    InputError
        ``E_TELEMETRY_EMPTY`` for a file with no cue, ``E_TELEMETRY_INVALID`` for one that is
        not text; missing or unreadable files as ``read_regular_file`` says.
    """
    p = Path(path)
    data, text = _srt_text(p)
    cues = _cues(text)
    if not cues:
        msg = f"{str(p)!r} holds no telemetry cue (empty file)"
        hint = "Give the .SRT the drone wrote beside the video, or leave --telemetry out."
        raise InputError(msg, code="E_TELEMETRY_EMPTY", hint=hint)
    read = _read_cues(cues)
    raw = read.raw
    complete = [f for f in raw if "lat" in f]
    notes = _cue_notes(raw, complete, timed=read.timed, problems=read.problems)
    fixes = tuple(_track_fix(f) for f in complete if f.get("t_s") is not None)
    notes += _position_notes(fixes, len(cues))
    home = next((f["home"] for f in raw if "home" in f), None)
    return SrtTrack(
        path=str(p),
        sha256=hashlib.sha256(data).hexdigest(),
        cues=len(cues),
        fixes=fixes,
        home=home,  # type: ignore[arg-type]
        notes=tuple(notes),
        duration_s=read.end_s if read.timed else _untimed_duration_s(raw),
    )


def _clock_s(timing: re.Match[str], first: int) -> float:
    """Seconds of an SRT time ``hh:mm:ss,mmm`` from four groups of ``timing`` from ``first``."""
    h, mi, sec = (int(timing.group(first + i)) for i in range(3))
    return h * 3600 + mi * 60 + sec + int(timing.group(first + 3).ljust(3, "0")) / 1000


def _untimed_duration_s(raw: list[dict[str, object]]) -> float | None:
    """Return the last untimed cue's time (aircraft clock) plus the median cue interval."""
    times = sorted(t for f in raw if isinstance(t := f.get("t_s"), float | int))
    if len(times) < 2:
        return None
    steps = sorted(b - a for a, b in itertools.pairwise(times))
    return float(times[-1] + steps[len(steps) // 2])
