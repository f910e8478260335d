"""Place the map's labels so that none overlaps another, a marker, or the map's edge.

Method: greedy placement in the order given (the caller puts the most important first). Each
label tries eight positions around its marker (right, left, above, below and the four
diagonals, as a cartographer would, right first), then positions farther out in sixteen
directions, joined to the marker by a leader line; it takes the first position whose box lies
inside the map and touches no box placed before it and no marker. A label that finds no free
spot takes the candidate that overlaps least (it is never dropped: the table under the map
lists every name anyway). Markers closer than ``_SAME_PX`` share one label.

Text boxes are estimated, not measured: ``_CHAR_EM`` of the font size per character, which is
wider than DejaVu Sans' and Arial's average glyph, so the estimate errs on the large side
(tests/test_report_browser.py measures the real boxes in Chromium).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

FONT_PX = 11.0
_CHAR_EM = 0.64  # estimated advance of one character, in em (wide: overlap is what matters)
_ASCENT_EM, _DESCENT_EM = 0.95, 0.3
_GAP_PX = 7.0  # from a marker's centre to its label
_SAME_PX = 4.0  # markers this close share one label
_MAX_CHARS = 32  # a longer name is cut at a word (its full text stays in the table)
_RINGS_PX = (18.0, 30.0, 46.0, 64.0, 86.0)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Anchor:
    """A marker to label: its pixel position, its text and the full text for a tooltip."""

    x: float
    y: float
    text: str
    radius_px: float = 6.0
    max_chars: int = _MAX_CHARS


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in map pixels


def short(text: str, max_chars: int = _MAX_CHARS) -> str:
    """Return ``text`` cut at a word boundary to at most ``max_chars`` characters, with '…'."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1].rsplit(" ", 1)[0].rstrip(",;:(-")
    return (cut or text[: max_chars - 1]) + "…"


def text_width_px(text: str, font_px: float = FONT_PX) -> float:
    """Return the estimated width of ``text`` in pixels (errs on the wide side)."""
    return len(text) * _CHAR_EM * font_px + 2.0


def _box(x: float, y: float, anchor: str, text: str, font_px: float) -> Box:
    """Return the box of a text drawn at baseline (x, y) with ``text-anchor`` ``anchor``."""
    w = text_width_px(text, font_px)
    x0 = {"start": x, "middle": x - w / 2, "end": x - w}[anchor]
    return (x0 - 1, y - _ASCENT_EM * font_px, x0 + w + 1, y + _DESCENT_EM * font_px)


def _overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _candidates(a: Anchor, font_px: float) -> list[tuple[float, float, str, bool]]:
    """Return (x, y, text-anchor, needs a leader) candidates, the nearest first."""
    g = max(_GAP_PX, a.radius_px + 2)
    mid = font_px * 0.35  # from the baseline to the text's visual middle
    near = [
        (a.x + g, a.y + mid, "start", False),
        (a.x - g, a.y + mid, "end", False),
        (a.x, a.y - g, "middle", False),
        (a.x, a.y + g + font_px * 0.8, "middle", False),
        (a.x + g * 0.8, a.y - g * 0.8, "start", False),
        (a.x + g * 0.8, a.y + g * 0.8 + font_px * 0.6, "start", False),
        (a.x - g * 0.8, a.y - g * 0.8, "end", False),
        (a.x - g * 0.8, a.y + g * 0.8 + font_px * 0.6, "end", False),
    ]
    far = []
    for r in _RINGS_PX:
        for k in range(16):
            t = 2 * math.pi * k / 16
            dx, dy = math.cos(t), math.sin(t)
            anchor = "start" if dx > 0.3 else "end" if dx < -0.3 else "middle"
            far.append((a.x + r * dx, a.y + r * dy + mid, anchor, True))
    return near + far


def _inside(box: Box, width: float, height: float) -> bool:
    return box[0] >= 2 and box[1] >= 2 and box[2] <= width - 2 and box[3] <= height - 2


def _merge(anchors: Sequence[Anchor]) -> list[Anchor]:
    """Join markers closer than ``_SAME_PX``: one label names the first and counts the rest."""
    groups: list[list[Anchor]] = []
    for a in anchors:
        for g in groups:
            if math.hypot(g[0].x - a.x, g[0].y - a.y) < _SAME_PX:
                g.append(a)
                break
        else:
            groups.append([a])
    out = []
    for g in groups:
        names = list(dict.fromkeys(a.text for a in g))
        if len(names) == 1:
            out.append(g[0])
            continue
        text = f"{short(names[0], g[0].max_chars)} (+{len(names) - 1} more)"
        out.append(dataclasses.replace(g[0], text=text, max_chars=g[0].max_chars + 12))
    return out


def place_labels(
    anchors: Sequence[Anchor],
    *,
    width: float,
    height: float,
    obstacles: Sequence[Box] = (),
    font_px: float = FONT_PX,
) -> list[dict[str, Any]]:
    """Place one label per marker; return SVG text records (x, y, anchor, text, leader, box).

    ``obstacles`` are boxes no label may cover (the scale bar, an edge arrow). Every marker is
    an obstacle too. Labels are placed in the order of ``anchors``.
    """
    merged = _merge(anchors)
    taken: list[Box] = list(obstacles)
    taken += [
        (a.x - a.radius_px, a.y - a.radius_px, a.x + a.radius_px, a.y + a.radius_px) for a in merged
    ]
    out = []
    for a in merged:
        text = short(a.text, a.max_chars)
        best: tuple[float, tuple[float, float, str, bool], Box] | None = None
        for cand in _candidates(a, font_px):
            box = _box(cand[0], cand[1], cand[2], text, font_px)
            if not _inside(box, width, height):
                continue
            cost = sum(_overlap(box, t) for t in taken)
            if best is None or cost < best[0]:
                best = (cost, cand, box)
            if cost == 0:
                break
        if best is None:  # nothing fits inside: the first candidate, pushed inside the map
            x, y, anchor, leader = _candidates(a, font_px)[0]
            box = _box(x, y, anchor, text, font_px)
            shift = max(0.0, 3 - box[0]) - max(0.0, box[2] - (width - 3))
            best = (0.0, (x + shift, y, anchor, leader), _box(x + shift, y, anchor, text, font_px))
        _, (x, y, anchor, leader), box = best
        taken.append(box)
        out.append(
            {
                "x": round(x, 1),
                "y": round(y, 1),
                "anchor": anchor,
                "text": text,
                "title": a.text,
                "leader": _leader(a, box) if leader else None,
                "box": [round(v, 1) for v in box],
            }
        )
    return out


def _leader(a: Anchor, box: Box) -> dict[str, float]:
    """Return the line from the marker's edge to the nearest point of the label's box."""
    nx = min(max(a.x, box[0]), box[2])
    ny = min(max(a.y, box[1]), box[3])
    d = math.hypot(nx - a.x, ny - a.y) or 1.0
    sx = a.x + (nx - a.x) * a.radius_px / d
    sy = a.y + (ny - a.y) * a.radius_px / d
    return {"x1": round(sx, 1), "y1": round(sy, 1), "x2": round(nx, 1), "y2": round(ny, 1)}
