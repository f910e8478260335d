"""The time line: the file's capture time against ``filmed_between`` (and the post time)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from geoverify.evidence._model import EvidenceLine, Outcome, codes_of, iso

if TYPE_CHECKING:
    from geoverify.claims import Hypothesis
    from geoverify.probing import CreationTime, MediaInfo

# a wall-clock time with no zone is UTC plus an offset from -12 h to +14 h: its instant lies
# from 14 h before to 12 h after the time read as if it were UTC
_ZONE_EAST = timedelta(hours=14)
_ZONE_WEST = timedelta(hours=12)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _FileTime:
    """When the file says it was recorded, UTC: the interval as read and the certain one.

    ``start``/``end`` hold every instant the file's time can mean (a time with no zone widened
    by every zone on Earth); ``read_start``/``read_end`` the time read as written (the same
    when the zone is known).
    """

    start: datetime
    end: datetime
    read_start: datetime
    read_end: datetime
    source: str
    trusted: bool
    zone_known: bool


def _implied_instants(ct: CreationTime) -> tuple[datetime, datetime, str] | None:
    """Find the instants the GPS clock implies for a time without zone: (first, last, offset).

    From probe's reading (``CreationTime.implied_utc_offset_s``, reported as
    ``I_IMPLIED_UTC_OFFSET``): the camera clock at the offset the GPS time implies (rounded to
    a quarter hour), and the GPS instant itself. The capture lies between the two readings.
    """
    reading = ct.read_as_utc()  # a local time without zone: its wall clock read as UTC
    if reading is None or ct.implied_utc_offset_s is None or ct.implied_gps_utc is None:
        return None
    camera = reading - timedelta(seconds=ct.implied_utc_offset_s)
    gps = ct.implied_gps_utc
    return min(camera, gps), max(camera, gps), f"{ct.implied_utc_offset_s / 3600:+g}"


def _file_time(media: MediaInfo) -> _FileTime | None:
    """Return when the file says it was recorded, from its best clock.

    In order: the GPS track's clock; a time with its zone (the EXIF GPS time, a QuickTime time
    with its offset); a time without zone at the UTC offset the GPS clock implies for it; a
    time without zone, widened by every zone on Earth (UTC-12 to UTC+14).
    """
    duration = timedelta(seconds=(media.video.duration_s or 0.0) if media.video else 0.0)
    return (
        _track_time(media)
        or _zoned_time(media, duration)
        or _implied_zone_time(media, duration)
        or _zoneless_time(media, duration)
    )


def _track_time(media: MediaInfo) -> _FileTime | None:
    """Return the GPS track's clock: its first to its last fix."""
    track = media.gps_track
    if track is None or track.first_time_utc is None:
        return None
    last = track.last_time_utc or track.first_time_utc
    first = track.first_time_utc
    return _FileTime(start=first, end=last, read_start=first, read_end=last,
                     source=f"GPS clock ({track.source})", trusted=True,
                     zone_known=True)  # fmt: skip


def _zoned_time(media: MediaInfo, duration: timedelta) -> _FileTime | None:
    """Return a time stated with its zone (the EXIF GPS time first), give or take ``duration``."""
    stated = [(t.utc, t.source) for t in media.creation_times if t.utc and t.zone_stated]
    if not stated:
        return None
    t, source = next(((t, s) for t, s in stated if "GPS" in s), stated[0])
    lo, hi = t - duration, t + duration
    return _FileTime(start=lo, end=hi, read_start=lo, read_end=hi, source=source,
                     trusted=True, zone_known=True)  # fmt: skip


def _zoneless(media: MediaInfo) -> list[CreationTime]:
    return [t for t in media.creation_times if not t.zone_stated and t.read_as_utc()]


def _implied_zone_time(media: MediaInfo, duration: timedelta) -> _FileTime | None:
    """Return the first time without zone read at the UTC offset its GPS time of day implies.

    The offset rests on a GPS time of day without its date: two clocks a whole quarter hour
    apart by chance agree as well, so it is a reading (weak), and only the world's zones bound
    the instant (a contradiction must hold at every zone).
    """
    for ct in _zoneless(media):
        implied = _implied_instants(ct)
        if implied is None:
            continue
        first, last, hours = implied
        as_written = ct.read_as_utc() or first
        return _FileTime(
            start=as_written - _ZONE_EAST - duration,
            end=as_written + _ZONE_WEST + duration,
            read_start=first - duration,
            read_end=last + duration,
            source=f"{ct.source} {ct.raw} read at UTC{hours} h, the offset its GPS time of day "
            "implies (I_IMPLIED_UTC_OFFSET), and the GPS time itself",
            trusted=False,
            zone_known=False,
        )
    return None


def _zoneless_time(media: MediaInfo, duration: timedelta) -> _FileTime | None:
    """Return the first time without zone, widened by every zone on Earth.

    local = UTC + offset, the offset from -12 h to +14 h: UTC from 14 h before to 12 h after
    the wall-clock time read as UTC.
    """
    bare = _zoneless(media)
    if not bare or (reading := bare[0].read_as_utc()) is None:
        return None
    return _FileTime(start=reading - _ZONE_EAST - duration,
                     end=reading + _ZONE_WEST + duration, read_start=reading - duration,
                     read_end=reading + duration,
                     source=f"{bare[0].source} (no zone: -14 h to +12 h)", trusted=False,
                     zone_known=False)  # fmt: skip


def _claimed_window(
    hyp: Hypothesis | None, posted_utc: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """Return the claimed window's start and end, the end no later than the post time."""
    start_claim = hyp.filmed_from_utc if hyp is not None else None
    end_claim = hyp.filmed_until_utc if hyp is not None else None
    if posted_utc is not None and (end_claim is None or posted_utc < end_claim):
        end_claim = posted_utc
    return start_claim, end_claim


def time_line(
    hyp: Hypothesis | None, media: MediaInfo | None, posted_utc: datetime | None = None
) -> EvidenceLine:
    """Weigh the file's capture time against ``filmed_between`` (and the post time).

    A post time is an upper bound on when the footage was filmed ("filmed before posted"):
    the window's end is the earlier of the two. A time without zone inside the window as
    written, but not at every zone on Earth, is weak support.
    """
    start_claim, end_claim = _claimed_window(hyp, posted_utc)
    if start_claim is None and end_claim is None:
        return EvidenceLine(
            line="time",
            outcome=Outcome.NOT_TESTED,
            summary="The hypothesis states no time when the footage was filmed.",
            would_decide=("state when it was filmed: footage.filmed_between",),
        )
    if start_claim is not None and end_claim is not None and end_claim < start_claim:
        return EvidenceLine(
            line="time",
            outcome=Outcome.CONTRADICTS,
            strength="strong",
            summary=(
                f"The footage was posted at {iso(posted_utc)}, before the claimed start of "
                f"filming {iso(start_claim)}."
            ),
            numbers={"posted_utc": iso(posted_utc), "window_start_utc": iso(start_claim)},
        )
    window = f"[{iso(start_claim)}, {iso(end_claim)}]"
    if posted_utc is not None and end_claim == posted_utc:
        window += " (the end is the post time: filmed before posted)"
    found = _file_time(media) if media is not None else None
    if found is None:
        return EvidenceLine(
            line="time",
            outcome=Outcome.NO_EVIDENCE,
            summary="The file states no capture time.",
            numbers={"window_utc": window},
            would_decide=("a copy of the file that carries its capture time",),
        )
    lo = start_claim or datetime.min.replace(tzinfo=UTC)
    hi = end_claim or datetime.max.replace(tzinfo=UTC)
    return _weigh_time(found, lo, hi, window, codes_of(media))


def _weigh_time(
    found: _FileTime, lo: datetime, hi: datetime, window: str, codes: set[str]
) -> EvidenceLine:
    """Compare the file's time with the window [lo, hi] (UTC)."""
    remuxed = "W_REMUXED_FFMPEG" in codes
    notes = [text for code, text in _TIME_NOTES if code in codes]
    start, end, source = found.start, found.end, found.source
    strength: Literal["strong", "weak"] = "strong" if found.trusted and not remuxed else "weak"
    numbers = _time_numbers(found, window)
    if end < lo or start > hi:
        gap_s = (lo - end).total_seconds() if end < lo else (start - hi).total_seconds()
        numbers["outside_by_s"] = round(gap_s, 1)
        return EvidenceLine(
            line="time",
            outcome=Outcome.CONTRADICTS,
            strength=strength,
            summary=(
                f"The file says it was recorded {iso(start)} to {iso(end)} ({source}), "
                f"{_duration(gap_s)} outside the claimed window {window}."
            ),
            numbers=numbers,
            notes=tuple(notes),
        )
    if lo <= start and end <= hi:
        return EvidenceLine(
            line="time",
            outcome=Outcome.SUPPORTS,
            strength=strength,
            summary=f"The file's capture time ({source}) lies inside the claimed window {window}.",
            numbers=numbers,
            notes=tuple(notes),
        )
    if not found.zone_known and lo <= found.read_start and found.read_end <= hi:
        return EvidenceLine(
            line="time",
            outcome=Outcome.SUPPORTS,
            strength="weak",
            summary=(
                f"The file's capture time read as written, {iso(found.read_start)} to "
                f"{iso(found.read_end)} ({source}), lies inside the claimed window {window}; "
                "at some of the zones it may have been written in, it does not."
            ),
            numbers=numbers,
            notes=(*notes, "support is weak: the file states no zone for its time, and no GPS "
                   "clock to imply one"),
        )  # fmt: skip
    decide = (
        ("the UTC offset of the capture time: a copy of the file that states its zone or "
         "carries a GPS time, or the local zone at the place and date",)
        if not found.zone_known
        else (f"which instant of the file's time span ({iso(start)} to {iso(end)}) the "
              "claimed moment is: the span crosses an end of the window",)
    )  # fmt: skip
    return EvidenceLine(
        line="time",
        outcome=Outcome.NO_EVIDENCE,
        summary=(
            f"The file's capture time, {iso(start)} to {iso(end)} ({source}), straddles the "
            f"claimed window {window}."
        ),
        numbers=numbers,
        would_decide=decide,
        notes=tuple(notes),
    )


# the file's notes that weaken its times, in the order they are said
_TIME_NOTES = (
    ("W_TIMES_DISAGREE", "the file's times disagree with each other (W_TIMES_DISAGREE)"),
    ("W_REMUXED_FFMPEG", "the file was re-muxed: its times can have been rewritten"),
)


def _time_numbers(found: _FileTime, window: str) -> dict[str, Any]:
    """Return the time line's numbers: the file's time span, its source and the window."""
    numbers: dict[str, Any] = {
        "file_time_from_utc": iso(found.start),
        "file_time_to_utc": iso(found.end),
        "source": found.source,
        "zone_known": found.zone_known,
        "window_utc": window,
    }
    if not found.zone_known:
        numbers["read_as_written_from_utc"] = iso(found.read_start)
        numbers["read_as_written_to_utc"] = iso(found.read_end)
    return numbers


def _duration(seconds: float) -> str:
    s = abs(seconds)
    if s >= 2 * 86400:
        return f"{s / 86400:,.1f} days"
    if s >= 2 * 3600:
        return f"{s / 3600:.1f} h"
    if s >= 120:
        return f"{s / 60:.0f} min"
    return f"{s:.0f} s"
