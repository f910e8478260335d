"""Render a ``Report``: the HTML page (Jinja), the Markdown summary, and the files on disk."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from geoverify._io import write_atomic
from geoverify._output import prepare_output_dir, write_manifest
from geoverify.models import CheckResult, sanitize_text, to_jsonable
from geoverify.probing._repr import dms_text
from geoverify.report._map import facing_views, svg_map
from geoverify.report._model import REPORT_SCHEMA_VERSION, Report
from geoverify.report._sentences import named, plain_numbers


def _environment() -> Environment:
    # autoescape is on for every template, whatever its name ("select_autoescape" would miss
    # .j2); URLs placed in attributes are built by geoverify from numbers, never taken from input
    env = Environment(
        loader=PackageLoader("geoverify", "templates"), autoescape=True, undefined=StrictUndefined
    )
    env.filters["fmt"] = lambda v, d=1: "-" if v is None else f"{v:.{d}f}"
    from geoverify.claims import format_value

    env.filters["value"] = format_value  # a number with its unit: {{ q.margin | value(q.unit) }}
    return env


def render_html(report: Report) -> str:
    """Render the report as one self-contained HTML page (no request leaves the page)."""
    links = []
    for c in report.checks:
        for cand in c.candidates:
            ids = list(cand.landmarks.values())
            if len(ids) == 2:
                links.append((ids[0], ids[1]))
    svg = svg_map(
        report.map_features,
        report.cameras,
        links,
        report.claimed_place,
        report.resection,
        views=facing_views(report.bottom_line.lines),
        basemap=report.basemap,
        reference_ids=[
            str(t)
            for ln in report.bottom_line.lines
            if ln.line == "location"
            for t in ln.numbers.get("targets", [])
        ],
    )
    data = to_jsonable(report)
    _claims_table_data(report.checks, data["checks"])
    names = dict(report.landmark_names)
    for ln, row in zip(report.bottom_line.lines, data["bottom_line"]["lines"], strict=True):
        row["plain_numbers"] = plain_numbers(ln.numbers, names)
    env = _environment()
    env.filters["named"] = lambda text: named(str(text), names)
    env.filters["dms"] = dms_text
    return env.get_template("report.html.j2").render(r=data, svg=svg, images=report.images)


def _claims_table_data(checks: Sequence[CheckResult], rows: list[dict[str, Any]]) -> None:
    """Give every check and candidate row its quantities and unit, as a claim check has them.

    A ``CheckResult`` that is not a claim check (``geoverify.sun.check_shadow``) gets one
    quantity in its ``unit``, so the claims table shows every value with its unit.
    """
    from geoverify.claims import quantities_of

    for check, row in zip(checks, rows, strict=True):
        row.setdefault("quantities", to_jsonable(quantities_of(check)))
        for cand in row["candidates"]:
            cand.setdefault("unit", check.unit)
            cand.setdefault("quantities", [])


_MD_SPECIAL = re.compile(r"([\\`*_\[\]~|=])")


def md_text(value: object) -> str:
    """Text from a file or a user, made inert in Markdown: one line, no HTML, no markup.

    ``&``, ``<`` and ``>`` become entities (a renderer shows them as text, never as tags or
    autolinks); the punctuation that makes code, emphasis, links, images and tables is
    backslash-escaped (``=`` too, so no ``onerror=`` survives even as inert text); line breaks
    and control characters become spaces.
    """
    text = "".join(
        " " if (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0) else ch for ch in sanitize_text(str(value))
    )
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def render_markdown(report: Report) -> str:
    """Render a short summary to paste into a newsroom chat; every value is ``md_text``.

    The bottom line comes first, then the lines of evidence, what would decide more, and the
    claim checks.
    """
    b = report.bottom_line
    lines = [f"**geoverify report** — {md_text(report.title)}", ""]
    lines.append(f"**Bottom line: {md_text(b.headline)}**")
    if report.plain_summary:
        lines.append(md_text(report.plain_summary))
    lines.append(f"(rule {b.rule}: {md_text(b.rule_text)})")
    lines.append("")
    for ln in b.lines:
        strength = f", {ln.strength}" if ln.strength else ""
        lines.append(f"- {ln.line}: **{ln.outcome.value}**{strength}. {md_text(ln.summary)}")
    for caveat in b.caveats:
        lines.append(f"- caveat: {md_text(caveat)}")
    if b.next_steps:
        lines.append("")
        lines.append("What would decide it:")
        lines += [f"- {md_text(step)}" for step in b.next_steps]
    lines.append("")
    lines.append(f"Video SHA-256 `{md_text(report.video.sha256[:16])}…`")
    from geoverify.claims import describe_quantity, quantities_of

    for c in report.checks:
        quantities = quantities_of(c)  # every value with its own unit, the margin with it
        detail = " | ".join(describe_quantity(q, escape=md_text) for q in quantities)
        lines.append(
            f"- **{c.verdict.value}**: {md_text(c.text)} "
            f"({detail or 'not measured; claimed ' + md_text(c.expected)})"
        )
    matched = report.summary.get("frames_matched_by_landmark", {})
    if matched:
        lines.append(
            "- frames matched: " + ", ".join(f"{md_text(k)} ({v})" for k, v in matched.items())
        )
    else:
        lines.append("- no frame matched a registry landmark")
    lines.append("")
    lines.append("Full report: report.html; data: report.json")
    return "\n".join(lines) + "\n"


def write_report(report: Report, out_dir: str | os.PathLike[str]) -> dict[str, str]:
    """Write report.json, report.html, report.md, then manifest.json (hashes), atomically.

    Returns the manifest: file name -> SHA-256, for every file in the folder.
    """
    out = prepare_output_dir(out_dir)
    data = to_jsonable(report)
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, indent=2)
    write_atomic(out / "report.json", text.encode("utf-8"))
    write_atomic(out / "report.html", render_html(report).encode("utf-8"))
    write_atomic(out / "report.md", render_markdown(report).encode("utf-8"))
    manifest = write_manifest(out, extra={"schema_version": REPORT_SCHEMA_VERSION})
    return manifest
