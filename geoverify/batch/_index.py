"""The batch's ``index.html``: one page to triage every item, offline and self-contained.

Each row leads with its outcome and a link to its report (the second cell: visible without
scrolling at any width), then what was found in words with the landmarks' names, the post
(channel, first line of its text, time), the duplicates named by the post or file they
duplicate, and the file. Two filters (outcome, landmark) and sorting by a column are one
small inline script, allowed by the page's Content-Security-Policy by its hash; the page loads
nothing. Below 900 px the table reflows to stacked rows (no horizontal scroll at 400 px).
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
from pathlib import Path

from geoverify.batch._model import BatchResult, BatchRow, Post

_SCRIPT = """
var rows = Array.from(document.querySelectorAll("tbody tr"));
var outcome = document.getElementById("outcome"), landmark = document.getElementById("landmark");
function apply() {
  var shown = 0;
  rows.forEach(function (tr) {
    var ok = (!outcome.value || tr.dataset.outcome === outcome.value) &&
      (!landmark.value || tr.dataset.landmarks.split("|").indexOf(landmark.value) >= 0);
    tr.hidden = !ok; if (ok) { shown += 1; }
  });
  document.getElementById("shown").textContent = shown + " of " + rows.length + " shown";
}
outcome.addEventListener("change", apply); landmark.addEventListener("change", apply);
document.querySelectorAll("th[data-col]").forEach(function (th) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0], col = +th.dataset.col;
    var asc = th.dataset.dir !== "asc"; th.dataset.dir = asc ? "asc" : "desc";
    Array.from(body.rows).sort(function (a, b) {
      var x = a.cells[col].dataset.sort || a.cells[col].textContent;
      var y = b.cells[col].dataset.sort || b.cells[col].textContent;
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    }).forEach(function (tr) { body.appendChild(tr); });
  });
});
apply();
"""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1em; color: #222; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; table-layout: auto; }
td, th { border: 1px solid #ddd; padding: 4px 6px; vertical-align: top; text-align: left;
  overflow-wrap: anywhere; }
th { cursor: pointer; background: #f4f4f4; }
tr.failed, tr.missing { background: #f9dede; }
td img { width: auto; height: auto; max-width: 120px; max-height: 120px; }
.report { display: inline-block; margin-top: 0.3em; font-weight: bold; white-space: nowrap; }
.post { color: #444; } .filters label { margin-right: 1em; white-space: nowrap; }
select { max-width: 100%; }
@media (max-width: 900px) {
  thead { display: none; }
  table, tbody, tr, td { display: block; width: auto; }
  tr { border: 1px solid #bbb; margin-bottom: 0.8em; }
  td { border: none; border-bottom: 1px solid #eee; }
  td[data-label]::before { content: attr(data-label) ": "; font-weight: bold; color: #555; }
}
@media print { .filters { display: none; } tr { break-inside: avoid; } }
"""

_HEAD = ("picture", "outcome and report", "what was found", "post", "duplicates", "file")
_MAX_TEXT = 160  # characters of a post's first line shown


def outcome_of(r: BatchRow, *, with_claims: bool) -> str:
    """Name a row's outcome for the filter: the verdict, or (triage) whether anything matched."""
    if r.status != "done":
        return r.status
    if with_claims and r.verdict:
        return r.verdict
    return "matched a landmark" if r.landmarks_matched else "no landmark matched"


def post_label(p: Post) -> str:
    """Name a post: ``message 104 in CHANNEL: “first line of its text”`` (line cut at 160)."""
    first = (p.text.strip().splitlines() or [""])[0]
    if len(first) > _MAX_TEXT:
        first = first[: _MAX_TEXT - 1] + "…"
    quoted = f": “{first}”" if first else ""
    return f"message {p.message_id} in {p.channel}{quoted}"


def _name(r: BatchRow) -> str:
    """Name a row the way an editor knows it: its first post, else its file."""
    if r.posts:
        return post_label(r.posts[0])
    return Path(r.paths[0]).name if r.paths else f"item {r.key[:12]}"


def _duplicates(r: BatchRow, by_key: dict[str, BatchRow]) -> list[str]:
    out = []
    for path in r.duplicates:
        out.append(f"the same bytes again as {Path(path).name}")
    for key, bits in r.near_duplicates:
        other = by_key.get(key)
        who = _name(other) if other is not None else f"item {key[:12]}"
        out.append(f"looks like {who} (re-encoded: {bits} of 64 bits differ)")
    return out


def _report_link(r: BatchRow, out_dir: str) -> str:
    if not r.report_dir:
        return ""
    rel = Path(os.path.relpath(Path(r.report_dir) / "report.html", out_dir)).as_posix()
    return f'<br><a class="report" href="{html.escape(rel)}">open report →</a>'


def _thumbnail(r: BatchRow) -> str:
    if not r.thumbnail.startswith("data:image/jpeg;base64,"):
        return ""
    return f'<img src="{html.escape(r.thumbnail)}" alt="first frame" width="120">'


def _posts(r: BatchRow) -> tuple[str, str]:
    """Return the post cell (each post: time, channel, first line) and its sort key."""
    if not r.posts:
        return "-", ""
    lines = []
    for p in r.posts:
        when = p.posted_utc.strftime("%Y-%m-%d %H:%M UTC") if p.posted_utc else "time unknown"
        fwd = f", forwarded from {p.forwarded_from}" if p.forwarded_from else ""
        lines.append(f'<span class="post">{html.escape(when + " · " + post_label(p) + fwd)}</span>')
    first = r.posts[0].posted_utc
    return "<br>".join(lines), first.isoformat() if first else ""


def _cell(label: str, content: str, sort_key: str) -> str:
    attrs = f' data-label="{html.escape(label)}"' if label else ""
    attrs += f' data-sort="{html.escape(sort_key)}"' if sort_key else ""
    return f"<td{attrs}>{content}</td>"


def _head(r: BatchRow, with_claims: bool) -> str:
    """Say the row's bottom line: its failure, its verdict, or that no hypothesis was stated."""
    if r.status != "done":
        return f"{r.status}: {r.error_code or ''}".rstrip(": ")
    if with_claims and r.verdict:
        return r.verdict.replace("_", " ")
    return "no hypothesis stated"


def _found(r: BatchRow) -> str:
    """Say what was found (a row of an older run has only the landmarks)."""
    found = r.findings or ", ".join(r.landmark_names or r.landmarks_matched)
    return found or ("no landmark matched" if r.status == "done" else "-")


def _row(r: BatchRow, out_dir: str, with_claims: bool, by_key: dict[str, BatchRow]) -> str:
    """Render one row of the index."""
    outcome = outcome_of(r, with_claims=with_claims)
    head = _head(r, with_claims)
    error = f"<br><small>{html.escape(r.error_message)}</small>" if r.error_message else ""
    found = _found(r)
    posts, posted = _posts(r)
    cells = [
        ("", _thumbnail(r), ""),
        ("outcome", f"<b>{html.escape(head)}</b>{error}{_report_link(r, out_dir)}", outcome),
        ("found", html.escape(found), ""),
        ("post", posts, posted),
        ("duplicates", "<br>".join(html.escape(d) for d in _duplicates(r, by_key)) or "-", ""),
        ("file", html.escape("; ".join(Path(p).name for p in r.paths) or "-"), ""),
    ]
    tds = "".join(_cell(label, content, key) for label, content, key in cells)
    names = "|".join(r.landmark_names or r.landmarks_matched)
    return (
        f'<tr class="{html.escape(r.status)}" data-outcome="{html.escape(outcome)}" '
        f'data-landmarks="{html.escape(names)}">{tds}</tr>'
    )


def _options(values: list[str], everything: str, *, words: bool = False) -> str:
    """Render a filter's options; ``words``: a verdict's label in words (``not established``)."""
    opts = [f'<option value="">{html.escape(everything)}</option>']
    opts += [
        f'<option value="{html.escape(v)}">{html.escape(v.replace("_", " ") if words else v)}'
        "</option>"
        for v in values
    ]
    return "".join(opts)


def index_html(result: BatchResult) -> str:
    """Render the self-contained index (its CSP allows its one script by hash)."""
    digest = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
    with_claims = bool(result.claims_sha256)
    by_key = {r.key: r for r in result.rows}
    th = "<th>picture</th>" + "".join(
        f'<th data-col="{i}" tabindex="0">{html.escape(h)} ⇅</th>' for i, h in enumerate(_HEAD) if i
    )
    body = "".join(_row(r, result.out_dir, with_claims, by_key) for r in result.rows)
    outcomes = sorted({outcome_of(r, with_claims=with_claims) for r in result.rows})
    outcome_options = _options(outcomes, "all", words=True)
    landmarks = sorted({n for r in result.rows for n in (r.landmark_names or r.landmarks_matched)})
    csp = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    counts = (
        f"{len(result.rows)} items: {result.done} verified, {result.reused} reused from an "
        f"earlier run, {result.failed} failed, {result.missing} missing; engine {result.engine}"
    )
    how = "each checked against the claims" if with_claims else "no claims: a triage"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="referrer" content="no-referrer">
<title>geoverify batch</title>
<style>{_STYLE}</style></head><body>
<h1>geoverify batch</h1>
<p>{html.escape(counts)} ({html.escape(how)}). Click a column's title to sort by it.</p>
<p class="filters"><label>outcome <select id="outcome">{outcome_options}</select></label>
<label>landmark <select id="landmark">{_options(landmarks, "any")}</select></label>
<span id="shown"></span></p>
<table><thead><tr>{th}</tr></thead><tbody>
{body}
</tbody></table>
<script>{_SCRIPT}</script>
</body></html>
"""
