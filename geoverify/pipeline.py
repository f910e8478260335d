"""The one-call tier: from a video, a registry and a claims file to a report.

``verify`` runs probe -> claims -> frames -> matching -> evidence in memory and returns a
``Verification`` whose report leads with the bottom line (``geoverify.evidence``);
``save_verification`` writes the frames, the annotated matches and the report (JSON, HTML,
Markdown, manifest last). Each stage is the public function of its module, called with the
options given here, so a notebook can run any step on its own and get the same numbers.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from geoverify._media import DecodeLimits
from geoverify._output import check_output_dir, staged_dir
from geoverify.claims import ClaimSet, check_claims, check_names, load_claims
from geoverify.errors import InputError
from geoverify.evidence import RESECTION, CameraPosition, camera_positions, weigh_evidence
from geoverify.footage import Footage, read_footage
from geoverify.frames import FrameOptions, FrameSelection, is_photo, save_frames
from geoverify.matching import (
    FrameMatch,
    MatchIndex,
    MatchOptions,
    annotated_images,
    matcher_versions,
    save_matches,
)
from geoverify.matching._stream import MatchStream
from geoverify.models import to_jsonable
from geoverify.probing import MediaInfo, read_trust_anchors, with_credentials
from geoverify.registry import Registry, load_registry
from geoverify.report import Report, build_report, write_report
from geoverify.resection import (
    CameraFix,
    CameraPoints,
    camera_geojson,
    heading_checks,
    locate,
)
from geoverify.text import (
    FrameText,
    TextOptions,
    crop_data_uris,
    read_text_for_verify,
    save_text_crops,
    tesseract_version,
)

__all__ = [
    "Verification",
    "VerifyOptions",
    "check_output",
    "input_paths",
    "save_verification",
    "verify",
]

LIMITATIONS = (
    "Metadata is what the file claims: a platform may have rewritten or removed it, and "
    "'no metadata' is not evidence either way.",
    "Landmark matching compares local image features; a match means the frame and the "
    "reference show the same textured surfaces, not that they were filmed at the same time. "
    "The false-match rate is estimated from the same frame's scores against other landmarks, "
    "mirrored references and, for a small registry, the bundled background photographs; "
    "without enough of them it is not estimated and the match counts as weak.",
    "Distances and bearings are geodesics on the WGS84 ellipsoid between the registry's "
    "positions; a claim is only as good as those positions and their stated uncertainty.",
    "Verbal qualifiers ('about', 'just under') were mapped to the intervals shown with each "
    "check; a reader who reads the words differently can recompute from the measured values.",
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VerifyOptions:
    """Options of every stage ``verify`` runs."""

    frames: FrameOptions = dataclasses.field(default_factory=FrameOptions.covering)
    matching: MatchOptions = dataclasses.field(default_factory=MatchOptions)
    limits: DecodeLimits = dataclasses.field(default_factory=DecodeLimits)
    title: str = ""
    # a PEM file of the certificate authorities the analyst trusts for content credentials
    # (C2PA); none is bundled, so without it no signer is trusted
    trust_anchors: str | None = None
    # reading the text in the frames (signs, street names); None: not read
    text: TextOptions | None = dataclasses.field(default_factory=TextOptions)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Verification:
    """The results of ``verify``: the report and the in-memory material behind it."""

    report: Report
    media: MediaInfo
    selection: FrameSelection
    matches: tuple[FrameMatch, ...]
    index: MatchIndex | None
    registry: Registry
    annotated: Mapping[int, Any] = dataclasses.field(default_factory=dict)
    claims_path: str = ""
    resection: CameraFix | None = None
    camera_points: CameraPoints | None = None
    texts: tuple[FrameText, ...] | None = None  # the text read in the frames

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every file this verification read: an output may not be, hold or lie in one."""
        read = input_paths(self.media.path, self.registry, self.claims_path, self.media)
        return read + (self.camera_points.paths() if self.camera_points else ())


def input_paths(
    media_path: str | os.PathLike[str],
    registry: Registry | str | os.PathLike[str] | None,
    claims_path: str | os.PathLike[str] | None,
    media: MediaInfo | None = None,
) -> tuple[str, ...]:
    """List the files a verification reads: media, telemetry, registry and its images, claims."""
    paths = [os.fspath(media_path)]
    if media is not None and media.telemetry is not None:
        paths.append(media.telemetry.path)
    if isinstance(registry, Registry):
        if registry.path:
            paths.append(registry.path)
            base = Path(registry.path).parent
            paths += [
                os.fspath(base / im.path) for lm in registry.landmarks for im in lm.reference_images
            ]
    elif registry is not None:
        paths.append(os.fspath(registry))
    if claims_path:
        paths.append(os.fspath(claims_path))
    return tuple(p for p in paths if p)


def verify(
    video: str | os.PathLike[str],
    *,
    registry: str | os.PathLike[str] | Registry,
    claims: str | os.PathLike[str] | ClaimSet | None = None,
    options: VerifyOptions | None = None,
    now: datetime | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
    posted_utc: datetime | None = None,
    camera_points: CameraPoints | None = None,
) -> Verification:
    """Probe, select frames, match them, check the claims and weigh the evidence. Writes nothing.

    ``registry``/``claims``: paths or loaded objects (no ``claims``: a triage, as
    ``geoverify.batch.triage`` says); ``now`` (aware): the report's time; ``progress(stage,
    done, total)``; ``posted_utc`` (aware, from a Telegram export) bounds when it was filmed;
    ``camera_points``: the camera resected from landmarks marked in the photo or a frame.
    """
    opts = options or VerifyOptions()
    created = (now or datetime.now(UTC)).astimezone(UTC)
    ticker = _Ticker(progress)
    # the inputs that are cheap to check come first, so a bad file fails fast
    reg, claim_set, trust_pem = _load_inputs(registry, claims, opts)
    camera_points = _marked(camera_points or _points_of(claim_set), video)
    footage, stream = _read_and_match(video, reg, opts, created, ticker)
    media, selection = with_credentials(footage.media, trust_pem, opts.limits), footage.selection
    resection, cameras = _cameras(camera_points, media, reg)
    checks = check_claims(reg, claim_set, camera=cameras)
    index, matches = stream.results(selection.frames, ticker.stage("matching"))
    texts, text_notes = _read_texts(selection, reg, opts.text, ticker)
    limitations = [*LIMITATIONS, *_matching_limitations(index, matches, opts.matching)]
    bottom = weigh_evidence(
        hypothesis=claim_set.footage,
        registry=reg,
        claims=claim_set,
        checks=checks,
        media=media,
        matches=matches,
        matched_at_all=index is not None,
        max_false_match_rate=opts.matching.max_false_match_rate,
        posted_utc=posted_utc,
        cameras=cameras,
        texts=texts,
    )
    annotated = _annotated(matches, selection, index, Path(reg.path).parent)
    report = build_report(
        title=opts.title or Path(os.fspath(video)).name,
        created_utc=created,
        media=media,
        selection=selection,
        matches=matches,
        registry=reg,
        claims=claim_set,
        checks=checks,
        bottom_line=bottom,
        parameters=_parameters(opts),
        limitations=[*limitations, *text_notes, _BOTTOM_LINE_LIMITATION],
        annotated=annotated,
        cameras=cameras,
        resection=_resection_record(resection, media, camera_points),
    )
    return Verification(
        report=_with_matcher_versions(
            _with_text_crops(report, texts, selection), index, opts.matching
        ),
        media=media,
        selection=selection,
        matches=matches,
        index=index,
        registry=reg,
        annotated=annotated,
        claims_path=claim_set.path,
        resection=resection,
        camera_points=camera_points,
        texts=texts,
    )


def _read_and_match(
    video: str | os.PathLike[str],
    reg: Registry,
    opts: VerifyOptions,
    created: datetime,
    ticker: _Ticker,
) -> tuple[Footage, MatchStream]:
    """Probe and scan in one worker (the file read once); a thread matches frames as they come."""
    stream = MatchStream(reg, opts.matching, Path(reg.path).parent)
    footage = read_footage(
        video,
        options=opts.frames,
        limits=opts.limits,
        now=created,
        progress=ticker.stage("decoding"),
        on_frame=stream.take,
    )
    return footage, stream


def _read_texts(
    selection: FrameSelection, reg: Registry, options: TextOptions | None, ticker: _Ticker
) -> tuple[tuple[FrameText, ...] | None, tuple[str, ...]]:
    """Read the text in the sharpest selected frames (``None`` when off or not installed)."""
    return read_text_for_verify(
        selection.frames, registry=reg, options=options, progress=ticker.stage("text")
    )


def _with_text_crops(
    report: Report, texts: Sequence[FrameText] | None, selection: FrameSelection
) -> Report:
    """Embed the text line's crops in the report's images, as the matched frames are.

    Tesseract's version joins the report's versions when it read the frames.
    """
    if texts is None:
        return report
    crops = crop_data_uris(texts, selection.frames)
    versions = {**report.versions, "tesseract": tesseract_version()}
    return dataclasses.replace(report, images={**report.images, **crops}, versions=versions)


def _annotated(
    matches: Sequence[FrameMatch], selection: FrameSelection, index: MatchIndex | None, folder: Path
) -> dict[int, Any]:
    """Return the matched frames drawn with their correspondences (none without an index)."""
    if index is None:
        return {}
    return dict(annotated_images(matches, selection.frames, index, registry_dir=folder))


def _marked(points: CameraPoints | None, video: str | os.PathLike[str]) -> CameraPoints | None:
    """Refuse, before decoding, points without their frame on what is no photo."""
    if points is None or points.image is not None or not os.path.isfile(video):
        return points  # (not a regular file: read_footage says what is wrong, a FIFO unopened)
    if not is_photo(video):
        raise _needs_frame()
    return points


def _needs_frame() -> InputError:
    msg = "--points on a video needs the frame the points were marked on"
    hint = "Save it with `geoverify frames VIDEO --out DIR` and add --points-frame PNG."
    return InputError(msg, code="E_LOCATE_NOT_STILL", hint=hint)


def _points_of(claims: ClaimSet) -> CameraPoints | None:
    """Return the claims file's ``footage: camera_points:``, relative to the file's folder."""
    marked = claims.footage.camera_points if claims.footage is not None else None
    if marked is None:
        return None
    folder = Path(claims.path).parent if claims.path else Path()
    points, frame = marked
    return CameraPoints(points=folder / points, image=folder / frame if frame else None)


def _cameras(
    points: CameraPoints | None, media: MediaInfo, reg: Registry
) -> tuple[CameraFix | None, tuple[CameraPosition, ...]]:
    """Return the resection (if points were marked) and every camera position to weigh."""
    resection = _resect(points, media, reg)
    return resection, camera_positions(media) + _resected_camera(resection)


def _resect(points: CameraPoints | None, media: MediaInfo, reg: Registry) -> CameraFix | None:
    """Resect the camera from the marked points: on the photo itself, or on the given frame."""
    if points is None:
        return None
    if points.image is not None:
        return locate(points.image, points.points, registry=reg)
    if media.still is None:
        raise _needs_frame()
    return locate(media, points.points, registry=reg)  # the photo itself: probed already


def _resection_record(
    fix: CameraFix | None, media: MediaInfo, points: CameraPoints | None
) -> dict[str, Any] | None:
    """Return the resection's record, with the file's own viewing directions compared.

    When the points were marked on a separate frame of a video, ``frame_check`` says whether
    the frame has the video's upright size (a frame of another source usually has not).
    """
    if fix is None:
        return None
    record = {
        **fix.to_dict(),
        "heading_checks": to_jsonable(heading_checks(fix, media.directions)),
        "geojson": camera_geojson(fix),  # the map's shapes, as locate --out writes them
    }
    if points is not None and points.image is not None and media.video is not None:
        video = [media.video.display_width, media.video.display_height]
        frame = [fix.width_px, fix.height_px]
        record["frame_check"] = {"frame_px": frame, "video_px": video, "same_size": frame == video}
    return record


def _resected_camera(fix: CameraFix | None) -> tuple[CameraPosition, ...]:
    """Return the resected camera as a camera position, its 90 % radius as its accuracy."""
    if fix is None:
        return ()
    radius = fix.uncertainty.radius_m_90
    return (
        CameraPosition(
            label=f"camera resected from {len(fix.points)} marked points ({fix.mode})",
            position=fix.camera,
            accuracy_m=radius if math.isfinite(radius) else None,
            time_utc=None,
            source=RESECTION,
            # which way it faced, for the facing check (90 % heading spread, field of view)
            heading_deg=fix.heading_deg,
            heading_uncertainty_deg=fix.uncertainty.heading_deg_90,
            hfov_deg=fix.hfov_deg,
        ),
    )


_BOTTOM_LINE_LIMITATION = (
    "The bottom line comes from the rule table shown with it, applied to the lines of "
    "evidence; it is no probability. A line that cannot decide says what would."
)


def _parameters(opts: VerifyOptions) -> dict[str, Any]:
    """Return the stages' options, as the report records them."""
    return {
        "frames": to_jsonable(opts.frames),
        "matching": to_jsonable(opts.matching),
        "limits": to_jsonable(opts.limits),
        "trust_anchors": opts.trust_anchors,
        "text": to_jsonable(opts.text),
    }


def _with_matcher_versions(
    report: Report, index: MatchIndex | None, matching: MatchOptions
) -> Report:
    """Add the matcher's versions to the report's, when it matched the frames.

    For learned features or a learned second pass, torch, kornia and the weight files
    (SHA-256) are provenance too (``matcher_versions`` says which ran).
    """
    if index is None:
        return report
    more = matcher_versions(matching)
    return dataclasses.replace(report, versions={**report.versions, **more})


@dataclasses.dataclass(frozen=True, slots=True)
class _Ticker:
    """Turn ``verify``'s progress callback into one callback per stage."""

    progress: Callable[[str, int, int | None], None] | None

    def stage(self, name: str) -> Callable[[int, int | None], None] | None:
        progress = self.progress
        if progress is None:
            return None
        return lambda done, total: progress(name, done, total)


def _load_inputs(
    registry: str | os.PathLike[str] | Registry,
    claims: str | os.PathLike[str] | ClaimSet | None,
    opts: VerifyOptions,
) -> tuple[Registry, ClaimSet, str | None]:
    """Load the registry and the claims (none: no hypothesis, a triage) and check their names.

    Also the trust list for content credentials (C2PA), when given: its PEM text.
    """
    matching = opts.matching
    reg = registry if isinstance(registry, Registry) else load_registry(registry)
    if claims is None:
        claims = ClaimSet(claims=(), roles={}, source={})
    claim_set = claims if isinstance(claims, ClaimSet) else load_claims(claims)
    check_names(reg, claim_set)  # before decoding: bad names fail fast
    if opts.text is not None:
        from geoverify.text import check_lang_syntax

        check_lang_syntax(opts.text.lang)  # a missing Tesseract only marks the text line
    if matching.features != "classic":
        from geoverify.matching import _learned

        _learned.weight_files(matching.features)  # a missing extra fails fast too
    trust_pem = read_trust_anchors(opts.trust_anchors) if opts.trust_anchors else None
    return reg, claim_set, trust_pem


def _matching_limitations(
    index: MatchIndex | None, matches: Sequence[FrameMatch], matching: MatchOptions
) -> list[str]:
    """Say what the matching stage did that limits what its results mean."""
    if index is None:
        return ["No landmark in the registry has a reference image: no frame was matched."]
    out = []
    if any(fm.match.affine for fm in matches):
        out.append(
            "Some frames were scored by a second pass with affine simulation, run because "
            "the first pass found too few consistent points; for those frames the chance "
            "of a false match is up to the sum of the two passes' rates."
        )
    if index.background:
        out.append(
            f"The registry holds too few references of other landmarks to estimate a "
            f"false-match rate, so {len(index.background)} bundled background photographs "
            "(geoverify/data/background, real photographs of other places; manifest "
            f"SHA-256 {index.background_sha256}) were added as negative controls. The "
            "rate says how often an unrelated picture scores as high, not whether a "
            "similar-looking landmark nearby would."
        )
    skipped = sum(fm.match.affine_decision == "skipped" for fm in matches)
    if skipped:
        out.append(
            f"{skipped} frame(s) matched nothing in the first pass and were not given the "
            "affine-simulation pass: its low-resolution screen found too few consistent "
            "points (each frame's notes give the counts). --affine on runs it for every "
            "frame."
        )
    if matching.features != "classic":
        out.append(
            f"Frames were matched with learned {matching.features.upper()} features "
            "and LightGlue (weights' SHA-256 under versions); candidates were chosen by "
            "classic retrieval, and the negative controls were scored by the same learned "
            "matcher, only for frames whose best candidate could be a match."
        )
    if matching.model == "fundamental":
        out.append(
            "Matches were verified with the epipolar constraint (fundamental matrix): "
            "consistent with one rigid scene seen from two positions, with no mapping "
            "between the images."
        )
    return out


def save_verification(
    result: Verification, out_dir: str | os.PathLike[str], *, overwrite: bool = False
) -> dict[str, Any]:
    """Write frames/, matches/, report.json, report.html, report.md and manifest.json (last).

    Everything is written into a fresh temporary folder beside ``out_dir`` and moved into place
    at the end, so the manifest lists exactly this run's files, and a failed or interrupted run
    leaves the previous report whole, or nothing. The output rule applies (``check_output``):
    a folder of a previous report is replaced; one holding other files only with
    ``overwrite``, which keeps them; a folder that is, holds or lies in an input never.

    Raises
    ------
    OutputError
        ``out_dir`` cannot be written (exit 7): see ``check_output``.
    """
    with staged_dir(out_dir, overwrite=overwrite, inputs=result.inputs) as stage:
        save_frames(result.selection, stage / "frames")
        if result.index is not None and result.matches:
            save_matches(
                result.matches,
                result.selection.frames,
                result.index,
                stage / "matches",
                registry_dir=Path(result.registry.path).parent,
                annotated=dict(result.annotated),
            )
        if result.texts:  # the crops the text line lists (text/frame..._rNN.png)
            save_text_crops(result.texts, result.selection.frames, stage / "text")
        manifest = write_report(result.report, stage)
    return {"out_dir": os.fspath(out_dir), "files": manifest}


def check_output(
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: tuple[str | os.PathLike[str], ...] = (),
) -> None:
    """Check that ``save_verification`` can write ``out_dir``, before the expensive work.

    Raises ``OutputError`` for a path that is a file or lies under one, a symbolic link, an
    output that is, holds or lies in one of ``inputs`` (``input_paths``; even with
    ``overwrite``), a folder holding files no geoverify run wrote (unless ``overwrite``), or
    one not writable.
    """
    check_output_dir(out_dir, overwrite=overwrite, inputs=inputs)
