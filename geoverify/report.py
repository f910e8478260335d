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
import html
import json
import math
import os
import platform
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined

from geoverify._io import write_atomic
from geoverify._output import prepare_output_dir, write_manifest
from geoverify._version import __version__
from geoverify.evidence import BottomLine, CameraPosition
from geoverify.models import CheckResult, LatLon, Verdict, sanitize_text, to_jsonable
from geoverify.registry import Registry

if TYPE_CHECKING:
    from geoverify.claims import ClaimSet
    from geoverify.frames import FrameSelection
    from geoverify.matching import FrameMatch
    from geoverify.probing import MediaInfo

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

REPORT_SCHEMA_VERSION = "2.2"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VideoInput:
    """The video a report is about."""

    path: str
    sha256: str
    size_bytes: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RegistryInput:
    """The registry a report used."""

    path: str
    sha256: str
    landmarks: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClaimsInput:
    """The claims file a report used: its source, version and the hypothesis in words."""

    path: str
    sha256: str
    source: Mapping[str, str]
    claims_version: int
    hypothesis: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MatchRecord:
    """One frame's landmark match, as the report shows it (``image_key`` names its picture).

    ``mirrored`` only for a frame matched to a mirrored reference. ``false_match_rate_at_floor``:
    no control scored as high, so the rate is 1 / (``controls`` + 1), the lowest that many
    controls can estimate; ``false_match_rate_text`` says the rate in words.
    ``excluded_controls``: background photographs left out of the controls (they show a
    reference), one sentence each.
    """

    t_s: float
    frame_number: int
    verdict: str
    landmark_id: str | None
    inliers: int
    runner_up: str | None
    false_match_rate: float | None
    controls: int
    mirrored: bool
    affine: bool
    notes: tuple[str, ...]
    image_key: str
    reference_image: str | None = None
    verdict_text: str = ""
    affine_decision: str = "not_needed"
    control_references: tuple[str, ...] = ()
    false_match_rate_at_floor: bool = False
    false_match_rate_text: str = ""
    excluded_controls: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClaimedPlace:
    """Where the hypothesis says the footage was filmed: centre and radius (the map circle)."""

    label: str
    centre: LatLon
    within_m: float


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """A verification report: the bottom line, the evidence, inputs and provenance (no pixels).

    ``bottom_line`` answers the editor's question (``geoverify.evidence``); ``checks`` are the
    claim checks behind it; ``frames`` hold the JSON records of the selected frames;
    ``images`` maps a match's ``image_key`` to the annotated or plain image embedded in the
    HTML (JPEG, base64). ``map_features`` are the registry geometries shown on the map,
    ``unplaced`` the landmarks the report names that have no position, ``cameras`` every
    position the file claims.
    """

    schema_version: str
    created_utc: datetime
    title: str
    bottom_line: BottomLine
    video: VideoInput
    registry: RegistryInput
    claims: ClaimsInput
    media: MediaInfo
    frames: Sequence[Mapping[str, Any]]
    matches: Sequence[MatchRecord]
    checks: Sequence[CheckResult]
    summary: Mapping[str, Any]
    parameters: Mapping[str, Any]
    versions: Mapping[str, str]
    limitations: Sequence[str]
    map_features: Sequence[Mapping[str, Any]] = ()
    unplaced: Sequence[str] = ()
    cameras: Sequence[CameraPosition] = ()
    camera: LatLon | None = None
    claimed_place: ClaimedPlace | None = None
    images: Mapping[str, str] = dataclasses.field(default_factory=dict, metadata={"json": False})

    def _repr_html_(self) -> str:
        """Show the bottom line, the verdicts and matches in Jupyter (every string escaped)."""
        lines = "".join(
            f"<tr><td>{html.escape(ln.line)}</td><td><b>{html.escape(ln.outcome.value)}</b>"
            f"</td><td>{html.escape(ln.summary)}</td></tr>"
            for ln in self.bottom_line.lines
        )
        from geoverify.claims import describe_quantity, quantities_of

        def measured(c: CheckResult) -> str:
            said = [html.escape(describe_quantity(q)) for q in quantities_of(c)]
            return "<br>".join(said) or "not measured"

        rows = "".join(
            f"<tr><td>{html.escape(c.text)}</td><td><b>{html.escape(c.verdict.value)}</b></td>"
            f"<td>{measured(c)}</td></tr>"
            for c in self.checks
        )
        matched = ", ".join(
            f"{html.escape(str(k))} ({v})"
            for k, v in self.summary.get("frames_matched_by_landmark", {}).items()
        )
        return (
            f"<h4>{html.escape(self.title)}</h4>"
            f"<p><b>{html.escape(self.bottom_line.headline)}</b> "
            f"(rule {html.escape(self.bottom_line.rule)})</p>"
            f"<table><tr><th>line</th><th>outcome</th><th>why</th></tr>{lines}</table>"
            f"<table><tr><th>claim</th><th>verdict</th>"
            f"<th>measured; claimed; margin (each in its unit)</th></tr>{rows}</table>"
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


def summarise(checks: Sequence[CheckResult], matches: Sequence[MatchRecord]) -> dict[str, Any]:
    """Count the verdicts and the matched landmarks, for the top of the report."""
    counts = {v.value: sum(1 for c in checks if c.verdict is v) for v in Verdict}
    landmarks: dict[str, int] = {}
    for m in matches:
        if m.verdict == "match" and m.landmark_id:
            landmarks[m.landmark_id] = landmarks.get(m.landmark_id, 0) + 1
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
            osm = [
                f"{src.osm_type} {src.osm_id} v{src.osm_version} {src.osm_timestamp}".strip()
                for src in lm.sources
                if src.kind == "osm"
            ]
            out.append(
                {
                    "id": lm.id,
                    "name": lm.name,
                    "geometry": json.loads(json.dumps(mapping(lm.geometry))),
                    "osm": osm,
                }
            )
    return out


def build_report(
    *,
    title: str,
    created_utc: datetime,
    media: MediaInfo,
    selection: FrameSelection,
    matches: Sequence[FrameMatch],
    registry: Registry,
    claims: ClaimSet,
    checks: Sequence[CheckResult],
    bottom_line: BottomLine,
    parameters: Mapping[str, Any],
    limitations: Sequence[str],
    annotated: Mapping[int, np.ndarray] | None = None,
) -> Report:
    """Assemble the ``Report`` from the stages' results: the one place a report is built.

    Every frame is shown: a matched frame with its inlier correspondences (``annotated``),
    the others as they are, with the reason they did not match.
    """
    from geoverify.evidence import camera_positions

    annotated = annotated or {}
    images: dict[str, str] = {}
    records = []
    by_number = {fm.frame_number: fm for fm in matches}
    matched = {n for n, fm in by_number.items() if fm.match.verdict in ("match", "ambiguous")}
    for frame in selection.frames:
        key = f"frame_{frame.frame_number}"
        if frame.frame_number in annotated and frame.frame_number in matched:
            images[key] = jpeg_data_uri(annotated[frame.frame_number], max_width=900)
        elif frame.image_bgr is not None and frame.image_bgr.size:
            images[key] = jpeg_data_uri(frame.image_bgr, max_width=640)
        fm = by_number.get(frame.frame_number)
        if fm is None:
            records.append(
                MatchRecord(
                    t_s=frame.t_s,
                    frame_number=frame.frame_number,
                    verdict="not_matched",
                    landmark_id=None,
                    inliers=0,
                    runner_up=None,
                    false_match_rate=None,
                    controls=0,
                    mirrored=False,
                    affine=False,
                    notes=("not matched: no landmark in the registry has a reference image",),
                    image_key=key,
                    verdict_text="not matched",
                    affine_decision="off",
                )
            )
            continue
        m = fm.match
        lid = m.best.landmark_id if m.best else None
        records.append(
            MatchRecord(
                t_s=fm.t_s,
                frame_number=fm.frame_number,
                verdict=m.verdict,
                landmark_id=lid,
                inliers=m.best.inliers if m.best else 0,
                runner_up=m.runner_up.landmark_id if m.runner_up else None,
                false_match_rate=m.false_match_rate,
                controls=m.controls,
                mirrored=m.mirrored and m.verdict == "match",
                affine=m.affine,
                notes=tuple(m.notes),
                image_key=key,
                reference_image=(m.best.image if m.best else None)
                if frame.frame_number in annotated and frame.frame_number in matched
                else None,
                verdict_text=m.verdict_text,
                affine_decision=m.affine_decision,
                control_references=m.control_references,
                false_match_rate_at_floor=m.false_match_rate_at_floor,
                false_match_rate_text=m.false_match_rate_text,
                excluded_controls=m.excluded_controls,
            )
        )
    from geoverify.probing._track import frame_cameras

    cams = frame_cameras(media.gps_track, selection.frames)
    mentioned = {
        lm_id for c in checks for cand in c.candidates for lm_id in cand.landmarks.values()
    }
    mentioned |= {r.landmark_id for r in records if r.landmark_id}
    hyp = claims.footage
    names = [hyp.shows, hyp.filmed_at] if hyp is not None else []
    names += [n for c in claims.claims for n in (c.subject, c.reference)]
    for name in names:
        if name:
            mentioned |= set(claims.candidates(name))
    known = {lm.id: lm for lm in registry.landmarks}
    unplaced = sorted(i for i in mentioned if i in known and known[i].geometry is None)
    cameras = list(camera_positions(media))
    # the camera of each matched frame, where the track places it (drawn on the map too)
    from geoverify.evidence import CameraPosition
    from geoverify.models import LatLon

    for r in records:
        cam = cams.get(r.frame_number)
        if cam is not None and r.verdict == "match":
            cameras.append(
                CameraPosition(
                    label=f"frame {r.frame_number} at {r.t_s:.1f} s (matched {r.landmark_id})",
                    position=LatLon(cam["lat"], cam["lon"]),
                    accuracy_m=None,
                    time_utc=None,
                    source=f"{cam['source']}, interpolated at the frame time",
                )
            )
    place = None
    if hyp is not None and hyp.within_m is not None:
        if hyp.filmed_at_point is not None:
            place = ClaimedPlace(label="claimed place", centre=hyp.filmed_at_point,
                                 within_m=hyp.within_m)  # fmt: skip
        elif hyp.filmed_at in known and known[hyp.filmed_at].anchor is not None:
            anchor = known[hyp.filmed_at].anchor
            if anchor is not None:
                place = ClaimedPlace(label=hyp.filmed_at, centre=anchor, within_m=hyp.within_m)
    return Report(
        schema_version=REPORT_SCHEMA_VERSION,
        created_utc=created_utc.astimezone(UTC),
        title=title,
        bottom_line=bottom_line,
        video=VideoInput(path=media.path, sha256=media.sha256, size_bytes=media.size_bytes),
        registry=RegistryInput(path=registry.path, sha256=registry.sha256, landmarks=len(registry)),
        claims=ClaimsInput(
            path=claims.path,
            sha256=claims.sha256,
            source=dict(claims.source),
            claims_version=claims.version,
            hypothesis=bottom_line.hypothesis,
        ),
        media=media,
        frames=[{**to_jsonable(f), "camera": cams.get(f.frame_number)} for f in selection.frames],
        matches=records,
        checks=tuple(checks),
        summary=summarise(checks, records),
        parameters=parameters,
        versions=versions(media.decoder_versions),
        limitations=tuple(limitations),
        map_features=map_features(registry, sorted(mentioned)),
        unplaced=tuple(unplaced),
        cameras=tuple(cameras),
        camera=cameras[0].position if cameras else None,
        claimed_place=place,
        images=images,
    )


# --- HTML ----------------------------------------------------------------------------------------


def _flatten(coords: Any) -> list[tuple[float, float]]:
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [(float(coords[0]), float(coords[1]))]
    out: list[tuple[float, float]] = []
    for c in coords:
        out += _flatten(c)
    return out


_FAR_CAMERA_M = 20_000.0  # a camera farther than this from the landmarks is a callout


def _cameras_on_map(
    land: Sequence[tuple[float, float]], cameras: Sequence[CameraPosition]
) -> tuple[list[CameraPosition], str | None]:
    """Split the cameras: within 20 km of the landmarks' centre, and a callout for the rest."""
    from geoverify.geodesy import distance_m

    if not land or not cameras:
        return list(cameras), None
    centre = LatLon(
        (min(p[1] for p in land) + max(p[1] for p in land)) / 2,
        (min(p[0] for p in land) + max(p[0] for p in land)) / 2,
    )
    dists = [distance_m(c.position, centre) for c in cameras]
    near = [c for c, d in zip(cameras, dists, strict=True) if d <= _FAR_CAMERA_M]
    far = [d for d in dists if d > _FAR_CAMERA_M]
    if not far:
        return near, None
    callout = (
        f"{len(far)} camera position(s) the file claims lie {min(far) / 1000:,.0f} km "
        "or more away: off this map"
    )
    return near, callout


def _svg_map(
    features: Sequence[Mapping[str, Any]],
    cameras: Sequence[CameraPosition],
    links: Sequence[tuple[str, str]],
    place: ClaimedPlace | None = None,
) -> dict[str, Any]:
    """Project lon/lat to a 640x420 SVG with a local equirectangular projection.

    ``place`` is drawn as the circle of ``within_m`` around the claimed place.

    Camera positions far from every landmark (over 20 km) are not drawn, which would zoom the
    map out to a continent: they become a labelled callout with their distance.
    """
    land = [p for f in features for p in _flatten(f["geometry"]["coordinates"])]
    near_cams, callout = _cameras_on_map(land, cameras)
    pts = land + [(c.position.lon, c.position.lat) for c in near_cams]
    if place is not None and place.within_m <= _FAR_CAMERA_M:  # the circle fits in the map
        dlat = place.within_m / 111_320.0
        dlon = dlat / max(math.cos(math.radians(place.centre.lat)), 1e-6)
        pts += [
            (place.centre.lon - dlon, place.centre.lat - dlat),
            (place.centre.lon + dlon, place.centre.lat + dlat),
        ]
    empty: dict[str, Any] = {
        "width": 640,
        "height": 420,
        "items": [],
        "links": [],
        "track": "",
        "scale_m": None,
        "scale_px": 0,
        "callout": callout,
        "circle": None,
    }
    if not pts:
        return empty
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

    def osm(lat: float, lon: float) -> str:
        return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=18/{lat:.6f}/{lon:.6f}"

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
                "osm": osm(lat, lon),
                "coord": f"{lat:.6f}, {lon:.6f}",
                "osm_data": "; ".join(f.get("osm", [])),
            }
        )
    track = " ".join(
        f"{x:.1f},{y:.1f}" for x, y in (xy(c.position.lon, c.position.lat) for c in near_cams)
    )
    for i, c in enumerate(near_cams):
        if i and i != len(near_cams) - 1:
            continue  # a track: its first and last fix are labelled, the line shows the rest
        x, y = xy(c.position.lon, c.position.lat)
        items.append(
            {
                "kind": "camera",
                "points": "",
                "x": round(x, 1),
                "y": round(y, 1),
                "label": c.label,
                "osm": osm(c.position.lat, c.position.lon),
                "coord": f"{c.position.lat:.6f}, {c.position.lon:.6f}",
                "osm_data": "",
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
    circle = None
    if place is not None:
        cx, cy = xy(place.centre.lon, place.centre.lat)
        circle = {
            "cx": round(cx, 1),
            "cy": round(cy, 1),
            "r": round(place.within_m / metres_per_px, 1),
            "label": f"claimed: within {place.within_m:g} m of {place.label}",
        }
    return {
        **empty,
        "circle": circle,
        "items": items,
        "links": lines,
        "track": track if len(near_cams) > 1 else "",
        "scale_px": round(scale_m / metres_per_px, 1),
        "scale_m": int(scale_m),
    }


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
    svg = _svg_map(report.map_features, report.cameras, links, report.claimed_place)
    data = to_jsonable(report)
    _claims_table_data(report.checks, data["checks"])
    return (
        _environment().get_template("report.html.j2").render(r=data, svg=svg, images=report.images)
    )


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
