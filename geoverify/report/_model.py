"""The report's data: the ``Report`` dataclass and the records it holds (no pixels)."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from geoverify.evidence import BottomLine, CameraPosition
from geoverify.models import CheckResult, LatLon

if TYPE_CHECKING:
    from geoverify.probing import MediaInfo

REPORT_SCHEMA_VERSION = "2.5"  # 2.4: the provenance line (C2PA), media.content_credentials
# 2.5: the text line (text read in the frames, its crops under text/); the plain summary and
# sentences (plain_summary, plain_lines), landmark_names and the OSM basemap of the map


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
    position the file claims (and the resected camera, when points were marked), ``resection``
    the record of that resection (``geoverify locate``'s JSON), or ``None``. ``landmark_names``
    maps every landmark id and role the report mentions to the registry's name; ``basemap``
    holds the registry's OpenStreetMap lines and areas near the case (``_basemap``);
    ``plain_summary`` is the bottom line in two sentences an editor can paste, and
    ``plain_lines`` one plain sentence per line of evidence (``_sentences``).
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
    resection: Mapping[str, Any] | None = None
    basemap: Sequence[Mapping[str, Any]] = ()
    landmark_names: Mapping[str, str] = dataclasses.field(default_factory=dict)
    plain_summary: str = ""
    plain_lines: Mapping[str, str] = dataclasses.field(default_factory=dict)
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
            f"<p>{html.escape(self.plain_summary)}</p>"
            f"<table><tr><th>line</th><th>outcome</th><th>why</th></tr>{lines}</table>"
            f"<table><tr><th>claim</th><th>verdict</th>"
            f"<th>measured; claimed; margin (each in its unit)</th></tr>{rows}</table>"
            f"<p>frames matched: {matched or 'none'}</p>"
        )
