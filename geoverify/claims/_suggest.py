"""Suggest the name a user probably meant: "did you mean 'berliner_dom'?"."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str:
    """Return `` (did you mean 'X'?)`` for the closest of ``choices``, or ``""``.

    Closeness is difflib's ratio (matching characters over total length, case-insensitive),
    at least ``cutoff``; the suggestion is one of ``choices`` exactly as spelt there.
    """
    known = {c.casefold(): c for c in choices if c}
    close = difflib.get_close_matches(name.casefold(), list(known), n=1, cutoff=cutoff)
    return f" (did you mean {known[close[0]]!r}?)" if close else ""
