"""Stage 6, report: everything found about one video, as JSON, HTML and Markdown.

Input: the results of the earlier stages. Output: a ``Report`` (plain data, no pixels), written
by ``write_report`` as ``report.json`` (versioned schema, strict JSON, validated against
``schemas/report.schema.json``), ``report.html`` (self-contained: images embedded as data URIs,
a Content-Security-Policy that forbids every request, an SVG map drawn from the registry's
geometry, every untrusted string escaped) and ``report.md`` (a short summary for a newsroom
chat), then ``manifest.json`` with the SHA-256 of every output file, last.
"""

from __future__ import annotations

from geoverify.report._build import (
    build_report,
    jpeg_data_uri as jpeg_data_uri,
    map_features as map_features,
    summarise as summarise,
    versions as versions,
)
from geoverify.report._model import (
    REPORT_SCHEMA_VERSION,
    ClaimedPlace as ClaimedPlace,
    ClaimsInput,
    MatchRecord,
    RegistryInput,
    Report,
    VideoInput,
)
from geoverify.report._render import md_text as md_text, render_html, render_markdown, write_report

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "ClaimsInput",
    "MatchRecord",
    "RegistryInput",
    "Report",
    "VideoInput",
    "build_report",
    "render_html",
    "render_markdown",
    "write_report",
]
