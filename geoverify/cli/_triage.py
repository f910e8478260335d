"""Rendering a triage (``verify`` without ``--claims``) for the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from geoverify.cli._common import printable

if TYPE_CHECKING:
    from geoverify.batch import Triage


def render_triage(found: Triage) -> list[str]:
    """Render what the file claims, what it matched and where it says it was; bottom line last."""
    out = ["what the file claims:"]
    out += [f"  {printable(c, 300)}" for c in found.file_claims] or ["  nothing (no metadata)"]
    out.append("what it matched:")
    if found.matched:
        out += [f"  {printable(m.text, 300)}" for m in found.matched]
    else:
        n = found.frames_looked_at
        out.append(f"  no landmark of the registry, in {n} frame{'s' * (n != 1)}")
    out.append("where it says it was:")
    out.append(
        f"  {printable(found.place, 400)}" if found.place else "  the file states no position"
    )
    out.append(f"BOTTOM LINE  {printable(found.bottom_line, 400)}")
    return out
