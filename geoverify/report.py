"""Stage 6, report: everything found about one video, as JSON, HTML and Markdown.

Input: the results of the earlier stages. Output: a ``Report`` (plain data, no pixels), written
by ``write_report`` as ``report.json`` (versioned schema, strict JSON, validated against
``schemas/report.schema.json``), ``report.html`` (self-contained: images embedded as data URIs,
a Content-Security-Policy that forbids every request, an SVG map drawn from the registry's
geometry, every untrusted string escaped) and ``report.md`` (a short summary for a newsroom
chat), then ``manifest.json`` with the SHA-256 of every output file, last.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import json
import math
import os
import platform
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import cv2
import numpy as np
from jinja2 import Environment, PackageLoader

from geoverify._io import prepare_output_dir, write_atomic
from geoverify._version import __version__
from geoverify.models import CheckResult, LatLon, Verdict, sanitize_text, to_jsonable
from geoverify.registry import Registry

__all__ = ["REPORT_SCHEMA_VERSION", "Report", "render_html", "render_markdown", "write_report"]

REPORT_SCHEMA_VERSION = "1.0"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """A verification report: inputs, parameters, results and provenance (no pixel data).

    ``frames`` and ``matches`` hold the JSON records of the selected frames and their matches;
    ``images`` maps a frame's file name to the annotated or plain image embedded in the HTML
    (JPEG bytes, base64). ``map_features`` are the registry geometries shown on the map.
    """

    schema_version: str
    created_utc: datetime
    title: str
    video: Mapping[str, Any]
    registry: Mapping[str, Any]
    claims: Mapping[str, Any]
    media: Mapping[str, Any]
    frames: Sequence[Mapping[str, Any]]
    matches: Sequence[Mapping[str, Any]]
    checks: Sequence[CheckResult]
    summary: Mapping[str, Any]
    parameters: Mapping[str, Any]
    versions: Mapping[str, str]
    limitations: Sequence[str]
    map_features: Sequence[Mapping[str, Any]] = ()
    camera: LatLon | None = None
    images: Mapping[str, str] = dataclasses.field(default_factory=dict, metadata={"json": False})

    def _repr_html_(self) -> str:
        """Show the verdicts and matches in Jupyter (every string escaped)."""
        rows = "".join(
            f"<tr><td>{html.escape(c.text)}</td><td><b>{html.escape(c.verdict.value)}</b></td>"
            f"<td>{'-' if c.measured is None else f'{c.measured:.1f} {html.escape(c.unit)}'}</td>"
            f"<td>{html.escape(c.expected)}</td></tr>"
            for c in self.checks
        )
        matched = ", ".join(
            f"{html.escape(str(k))} ({v})"
            for k, v in self.summary.get("frames_matched_by_landmark", {}).items()
        )
        return (
            f"<h4>{html.escape(self.title)}</h4><table><tr><th>claim</th><th>verdict</th>"
            f"<th>measured</th><th>claimed</th></tr>{rows}</table>"
            f"<p>frames matched: {matched or 'none'}</p>"
        )


def versions(decoder: Mapping[str, str]) -> dict[str, str]:
    """Return the versions of geoverify, Python and the libraries behind a report's numbers."""
    import pydantic
    import pyproj
    import shapely

    out = {
        "geoverify": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "pyproj": pyproj.__version__,
        "proj": pyproj.proj_version_str,
        "shapely": shapely.__version__,
        "pydantic": pydantic.__version__,
    }
    out.update({f"decoder:{k}": v for k, v in decoder.items()})
    return out


def summarise(
    checks: Sequence[CheckResult], matches: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Count the verdicts and the matched landmarks, for the top of the report."""
    counts = {v.value: sum(1 for c in checks if c.verdict is v) for v in Verdict}
    landmarks: dict[str, int] = {}
    for m in matches:
        if m.get("verdict") == "match" and m.get("landmark_id"):
            landmarks[m["landmark_id"]] = landmarks.get(m["landmark_id"], 0) + 1
    return {"checks": counts, "frames_matched_by_landmark": landmarks}


def jpeg_data_uri(image: np.ndarray, *, max_width: int = 960) -> str:
    """Encode a BGR image as a ``data:image/jpeg;base64,...`` URI, at most ``max_width``."""
    h, w = image.shape[:2]
    if w > max_width:
        image = cv2.resize(
            image, (max_width, round(h * max_width / w)), interpolation=cv2.INTER_AREA
        )
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:  # pragma: no cover
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(bytes(buf)).decode("ascii")


def map_features(registry: Registry, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Return GeoJSON-like records (lon/lat) of the landmarks a report mentions, for the map."""
    from shapely.geometry import mapping

    out = []
    for lm in registry.landmarks:
        if lm.id in ids and lm.geometry is not None:
            out.append(
                {
                    "id": lm.id,
                    "name": lm.name,
                    "geometry": json.loads(json.dumps(mapping(lm.geometry))),
                }
            )
    return out


# --- HTML ----------------------------------------------------------------------------------------


def _flatten(coords: Any) -> list[tuple[float, float]]:
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [(float(coords[0]), float(coords[1]))]
    out: list[tuple[float, float]] = []
    for c in coords:
        out += _flatten(c)
    return out


def _svg_map(
    features: Sequence[Mapping[str, Any]], camera: LatLon | None, links: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """Project lon/lat to a 640x420 SVG with a local equirectangular projection."""
    pts = [p for f in features for p in _flatten(f["geometry"]["coordinates"])]
    if camera is not None:
        pts.append((camera.lon, camera.lat))
    if not pts:
        return {"width": 640, "height": 420, "items": [], "scale_m": None}
    lat0 = (min(p[1] for p in pts) + max(p[1] for p in pts)) / 2
    k = math.cos(math.radians(lat0))
    lon0 = (min(p[0] for p in pts) + max(p[0] for p in pts)) / 2
    xs = [(p[0] - lon0) * k for p in pts]
    ys = [p[1] - lat0 for p in pts]
    pad = 50.0
    span_x = max(max(xs) - min(xs), 1e-7)
    span_y = max(max(ys) - min(ys), 1e-7)
    s = min((640 - 2 * pad) / span_x, (420 - 2 * pad) / span_y)  # pixels per degree of latitude

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (320 + ((lon - lon0) * k) * s, 210 - (lat - lat0) * s)

    items = []
    for f in features:
        g = f["geometry"]
        kind = g["type"]
        coords = _flatten(g["coordinates"])
        svg_pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(*c) for c in coords))
        lon, lat = coords[0]
        x, y = xy(lon, lat)
        items.append(
            {
                "kind": "point"
                if kind in ("Point", "MultiPoint")
                else ("area" if "Polygon" in kind else "line"),
                "points": svg_pts,
                "x": round(x, 1),
                "y": round(y, 1),
                "label": f["name"],
                "osm": f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=18/{lat:.6f}/{lon:.6f}",
                "coord": f"{lat:.6f}, {lon:.6f}",
            }
        )
    if camera is not None:
        x, y = xy(camera.lon, camera.lat)
        items.append(
            {
                "kind": "camera",
                "points": "",
                "x": round(x, 1),
                "y": round(y, 1),
                "label": "camera (embedded GPS)",
                "osm": f"https://www.openstreetmap.org/?mlat={camera.lat:.6f}&mlon={camera.lon:.6f}#map=18/{camera.lat:.6f}/{camera.lon:.6f}",
                "coord": f"{camera.lat:.6f}, {camera.lon:.6f}",
            }
        )
    by_id = {f["id"]: f for f in features}
    lines = []
    for a, b in links:
        if a in by_id and b in by_id:
            pa = _flatten(by_id[a]["geometry"]["coordinates"])[0]
            pb = _flatten(by_id[b]["geometry"]["coordinates"])[0]
            (x1, y1), (x2, y2) = xy(*pa), xy(*pb)
            lines.append(
                {"x1": round(x1, 1), "y1": round(y1, 1), "x2": round(x2, 1), "y2": round(y2, 1)}
            )
    metres_per_px = 111_320.0 / s
    scale_m = 1.0
    for nice in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000):
        if nice / metres_per_px <= 160:
            scale_m = float(nice)
    return {
        "width": 640,
        "height": 420,
        "items": items,
        "links": lines,
        "scale_px": round(scale_m / metres_per_px, 1),
        "scale_m": int(scale_m),
    }


def _environment() -> Environment:
    # autoescape is on for every template, whatever its name ("select_autoescape" would miss
    # .j2); URLs placed in attributes are built by geoverify from numbers, never taken from input
    env = Environment(loader=PackageLoader("geoverify", "templates"), autoescape=True)
    env.filters["fmt"] = lambda v, d=1: "-" if v is None else f"{v:.{d}f}"
    return env


def render_html(report: Report) -> str:
    """Render the report as one self-contained HTML page (no request leaves the page)."""
    links = []
    for c in report.checks:
        for cand in c.candidates:
            ids = list(cand.landmarks.values())
            if len(ids) == 2:
                links.append((ids[0], ids[1]))
    svg = _svg_map(report.map_features, report.camera, links)
    data = to_jsonable(report)
    return (
        _environment().get_template("report.html.j2").render(r=data, svg=svg, images=report.images)
    )


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
    """Render a short summary to paste into a newsroom chat; every value is ``md_text``."""
    lines = [f"**geoverify report** — {md_text(report.title)}", ""]
    lines.append(f"Video SHA-256 `{md_text(report.video.get('sha256', '')[:16])}…`")
    for c in report.checks:
        measured = "not measured" if c.measured is None else f"{c.measured:.1f} {c.unit}"
        lines.append(
            f"- **{c.verdict.value}**: {md_text(c.text)} (measured {measured}; "
            f"claimed {md_text(c.expected)})"
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
    manifest: dict[str, str] = {}
    for path in sorted(out.rglob("*")):
        if path.is_symlink():
            continue  # prepare_output_dir refused links; one planted since is not ours
        if path.is_file() and path.name != "manifest.json" and not path.name.startswith("."):
            manifest[str(path.relative_to(out))] = hashlib.sha256(path.read_bytes()).hexdigest()
    doc = {"schema_version": REPORT_SCHEMA_VERSION, "files": manifest}
    write_atomic(out / "manifest.json", json.dumps(doc, indent=2).encode("utf-8"), durable=True)
    return manifest
