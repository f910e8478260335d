"""When the footage is said to be filmed, as a UTC window.

``filmed_on`` is a whole day in ``tz``; ``filmed_between`` two ISO 8601 times, read in ``tz``
when they carry no offset.
"""

from __future__ import annotations

from datetime import date, datetime

from geoverify.claims._suggest import did_you_mean
from geoverify.errors import InputError
from geoverify.sun import day_window_utc, parse_time


def filmed_window(
    filmed_on: str | None, tz: str | None, filmed_between: tuple[str | None, str | None] | None
) -> tuple[list[str], list[datetime | None]]:
    """Return the problems found and the UTC window ``[start, end]`` (``None``: open).

    ``filmed_on`` runs from the day's first instant in ``tz`` to the next day's (23 or 25
    hours on a day the clocks change); ``filmed_between`` times without an offset are read in
    ``tz``. Each problem is one line naming its field; an unknown zone names the closest IANA
    zone ("did you mean 'Europe/Kyiv'?").
    """
    problems = []
    ends: list[datetime | None] = [None, None]
    if filmed_on is not None:
        try:
            day = date.fromisoformat(filmed_on.strip())
        except ValueError:
            problems.append(f"filmed_on: {filmed_on!r} is not a day YYYY-MM-DD")
            return problems, ends
        try:
            ends[0], ends[1] = day_window_utc(day, tz or "")
        except InputError as exc:
            problems.append(f"tz: {exc.message}{_zone_guess(tz or '')}")
    if filmed_between is not None:
        for i, text in enumerate(filmed_between):
            if text is None:
                continue
            try:
                ends[i] = parse_time(str(text), zone=_zone_for(str(text), tz))
            except InputError as exc:
                fix = " (give the UTC offset)" if tz is None else _zone_guess(tz)
                problems.append(f"filmed_between/{i}: {exc.message}{fix}")
        if ends[0] is not None and ends[1] is not None and ends[1] <= ends[0]:
            problems.append("filmed_between: the end is not after the start")
    return problems, ends


def _zone_guess(zone: str) -> str:
    """Return `` (did you mean 'Europe/Kyiv'?)`` for the closest IANA zone name, or ``""``."""
    from zoneinfo import available_timezones

    return did_you_mean(zone, available_timezones())


def _zone_for(text: str, tz: str | None) -> str | None:
    """Return ``tz`` for a time without an offset of its own, else None."""
    try:
        naive = datetime.fromisoformat(text.strip()).tzinfo is None
    except ValueError:
        return None  # parse_time says what is wrong
    return tz if naive else None
