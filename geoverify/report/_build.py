"""Build a ``Report`` from the stages' results: the one place a report is assembled."""

from __future__ import annotations

import base64
import json
import platform
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from geoverify._version import __version__
from geoverify.evidence import BottomLine, CameraPosition, camera_positions
from geoverify.models import CheckResult, LatLon, Verdict, to_jsonable
from geoverify.registry import Registry
from geoverify.report._basemap import basemap_features
from geoverify.report._model import (
    REPORT_SCHEMA_VERSION,
    ClaimedPlace,
    ClaimsInput,
    MatchRecord,
    RegistryInput,
    Report,
    VideoInput,
)
from geoverify.report._sentences import describe

if TYPE_CHECKING:
    from geoverify.claims import ClaimSet, Hypothesis
    from geoverify.frames import FrameSelection
    from geoverify.matching import FrameMatch
    from geoverify.probing import MediaInfo
    from geoverify.registry import Landmark


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
    cameras: Sequence[CameraPosition] | None = None,
    resection: Mapping[str, Any] | None = None,
) -> Report:
    """Assemble the ``Report`` from the stages' results: the one place a report is built.

    Every frame is shown: a matched frame with its inlier correspondences (``annotated``),
    the others as they are, with the reason they did not match. ``cameras`` replace the file's
    own camera positions when given (``verify`` adds a resected camera); ``resection`` is the
    record of that resection (``CameraFix.to_dict()``).
    """
    from geoverify.probing._track import frame_cameras

    records, images = _frame_records(selection, matches, annotated or {})
    cams = frame_cameras(media.gps_track, selection.frames)
    mentioned = mentioned_ids(checks, records, claims)
    known = {lm.id: lm for lm in registry.landmarks}
    unplaced = sorted(i for i in mentioned if i in known and known[i].geometry is None)
    # the camera of each matched frame, where the track places it (drawn on the map too)
    own = camera_positions(media) if cameras is None else tuple(cameras)
    cameras = [*own, *_matched_frame_cameras(records, cams, known)]
    names = landmark_names(registry, claims, bottom_line, mentioned)
    features = map_features(registry, sorted(mentioned))
    hyp = claims.footage
    shows = claims.candidates(hyp.shows) if hyp is not None and hyp.shows else ()
    plain_summary, plain_lines = describe(
        bottom_line,
        names=names,
        cameras=cameras,
        matches=records,
        shows=shows,
        features=features,
    )
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
        map_features=features,
        basemap=basemap_features(registry.landmarks, features),
        unplaced=tuple(unplaced),
        cameras=tuple(cameras),
        camera=cameras[0].position if cameras else None,
        claimed_place=_claimed_place(claims.footage, known, names),
        resection=resection,
        landmark_names=names,
        plain_summary=plain_summary,
        plain_lines=plain_lines,
        images=images,
    )


def _frame_records(
    selection: FrameSelection,
    matches: Sequence[FrameMatch],
    annotated: Mapping[int, np.ndarray],
) -> tuple[list[MatchRecord], dict[str, str]]:
    """Return one ``MatchRecord`` per selected frame, and the frames' images by key.

    A frame matched (or ambiguous) with an annotated image shows the annotation and names its
    reference image; any other frame shows itself.
    """
    images: dict[str, str] = {}
    records = []
    by_number = {fm.frame_number: fm for fm in matches}
    matched = {n for n, fm in by_number.items() if fm.match.verdict in ("match", "ambiguous")}
    for frame in selection.frames:
        key = f"frame_{frame.frame_number}"
        shows_match = frame.frame_number in annotated and frame.frame_number in matched
        if shows_match:
            images[key] = jpeg_data_uri(annotated[frame.frame_number], max_width=900)
        elif frame.image_bgr is not None and frame.image_bgr.size:
            images[key] = jpeg_data_uri(frame.image_bgr, max_width=640)
        fm = by_number.get(frame.frame_number)
        if fm is None:
            records.append(_unmatched_record(frame.t_s, frame.frame_number, key))
        else:
            records.append(_match_record(fm, key, with_reference=shows_match))
    return records, images


def _unmatched_record(t_s: float, frame_number: int, key: str) -> MatchRecord:
    """Return the record of a frame no landmark could be matched against."""
    return MatchRecord(
        t_s=t_s,
        frame_number=frame_number,
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


def _match_record(fm: FrameMatch, key: str, *, with_reference: bool) -> MatchRecord:
    """Return the record of a matched frame; ``with_reference`` names the reference image."""
    m = fm.match
    best = m.best
    return MatchRecord(
        t_s=fm.t_s,
        frame_number=fm.frame_number,
        verdict=m.verdict,
        landmark_id=best.landmark_id if best else None,
        inliers=best.inliers if best else 0,
        runner_up=m.runner_up.landmark_id if m.runner_up else None,
        false_match_rate=m.false_match_rate,
        controls=m.controls,
        mirrored=m.mirrored and m.verdict == "match",
        affine=m.affine,
        notes=tuple(m.notes),
        image_key=key,
        reference_image=(best.image if best else None) if with_reference else None,
        verdict_text=m.verdict_text,
        affine_decision=m.affine_decision,
        control_references=m.control_references,
        false_match_rate_at_floor=m.false_match_rate_at_floor,
        false_match_rate_text=m.false_match_rate_text,
        excluded_controls=m.excluded_controls,
    )


def mentioned_ids(
    checks: Sequence[CheckResult], records: Sequence[MatchRecord], claims: ClaimSet
) -> set[str]:
    """Return the landmarks the report mentions: checked, matched or named by a claim."""
    mentioned = {
        lm_id for c in checks for cand in c.candidates for lm_id in cand.landmarks.values()
    }
    mentioned |= {r.landmark_id for r in records if r.landmark_id}
    hyp = claims.footage
    names = [hyp.shows, hyp.filmed_at] if hyp is not None else []
    names += [n for c in claims.claims for n in (c.subject, c.reference)]
    for name in filter(None, names):
        mentioned |= set(claims.candidates(name))
    return mentioned


def landmark_names(
    registry: Registry, claims: ClaimSet, bottom_line: BottomLine, mentioned: set[str]
) -> dict[str, str]:
    """Return the name of every landmark and role the report mentions, by id or role name.

    A landmark is mentioned when a check, a match or a claim names it, or when the bottom line
    quotes its id. A role is named by its one candidate's name, or by its own words when it has
    several candidates ("city centre").
    """
    blob = json.dumps(to_jsonable(bottom_line), ensure_ascii=False)
    names = {
        lm.id: lm.name or lm.id for lm in registry.landmarks if lm.id in mentioned or lm.id in blob
    }
    by_id = {lm.id: lm for lm in registry.landmarks}
    for role, _ in claims.roles.items():
        ids = claims.candidates(role)
        if len(ids) == 1 and ids[0] in by_id:
            names[role] = by_id[ids[0]].name or ids[0]
        else:
            names[role] = "the " + role.replace("_", " ")
    return names


def _matched_frame_cameras(
    records: Sequence[MatchRecord],
    cams: Mapping[int, Mapping[str, Any]],
    known: Mapping[str, Landmark],
) -> list[CameraPosition]:
    """Return the camera of each matched frame, where the file's track places it."""
    out = []
    for r in records:
        cam = cams.get(r.frame_number)
        if cam is not None and r.verdict == "match":
            lm = known.get(r.landmark_id or "")
            name = lm.name if lm is not None and lm.name else r.landmark_id
            out.append(
                CameraPosition(
                    label=f"frame {r.frame_number} at {r.t_s:.1f} s (matched {name})",
                    position=LatLon(cam["lat"], cam["lon"]),
                    accuracy_m=None,
                    time_utc=None,
                    source=f"{cam['source']}, interpolated at the frame time",
                )
            )
    return out


def _claimed_place(
    hyp: Hypothesis | None, known: Mapping[str, Landmark], names: Mapping[str, str]
) -> ClaimedPlace | None:
    """Return the circle of ``within_m`` around the claimed place, when it has a position."""
    if hyp is None or hyp.within_m is None:
        return None
    if hyp.filmed_at_point is not None:
        return ClaimedPlace(
            label="claimed place", centre=hyp.filmed_at_point, within_m=hyp.within_m
        )
    landmark = known.get(hyp.filmed_at) if hyp.filmed_at is not None else None
    anchor = landmark.anchor if landmark is not None else None
    if hyp.filmed_at is None or anchor is None:
        return None
    label = names.get(hyp.filmed_at, hyp.filmed_at)
    return ClaimedPlace(label=label, centre=anchor, within_m=hyp.within_m)
