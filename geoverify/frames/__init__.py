"""Stage 2, frames: pick the frames worth looking at, with exact timestamps.

Input: a video file. Output: a ``FrameSelection`` of ``Frame`` objects (pixels plus metadata)
chosen by one or more strategies, and, only when ``save_frames`` is called, image files, a
``frames.json`` manifest and a contact sheet.

Strategies (combinable):

- ``every_s``: the frame on screen at each multiple of the interval (the last frame whose
  presentation time is <= the target), so variable frame rate is handled exactly.
- ``keyframes``: the stream's keyframes. Alone, decoded with FFmpeg's non-key frames skipped.
- ``scenes``: shot boundaries (hard cuts and fades through black) and one representative, the
  sharpest sampled frame, per shot.
- ``views``: inside a shot, a new frame whenever the camera has moved by a set fraction of the
  frame since the last view (a pan along a street yields its distinct views).
- ``best``: the N sharpest frames that are not near-duplicates of each other.

Method. Every frame in the range is decoded once, in one pass, in the isolated worker process;
analysis runs on the luma plane downscaled to ``analysis_width`` pixels (no colour conversion
except for frames that are kept). A cut at frame i is declared when the motion-compensated mean
absolute luma difference between frames i-1 and i is above ``scene_threshold`` (0-255 scale)
and above ``scene_ratio`` times the median of the preceding differences, and frames i+1 and i+2
also differ from frame i-1 (so a flash of one or two frames is not a cut). Motion compensation
uses phase correlation, so a fast pan is not a cut. Sharpness is the variance of the Laplacian;
near-duplicates are found with a 64-bit DCT perceptual hash (Hamming distance <= ``dedupe_bits``).
Timestamps are the decoder's presentation timestamps; frame numbers are positions in the sorted
list of the stream's packet timestamps (presentation order), never time x rate.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from geoverify._media import DecodeLimits, check_local_file, sha256_file
from geoverify._worker import run_isolated
from geoverify.errors import GeoverifyError, InputError, MediaError
from geoverify.frames._model import (
    FRAMES_SCHEMA,
    Frame,
    FrameOptions,
    FrameSelection,
    Shot,
    perceptual_hash,
    sharpness,
)
from geoverify.frames._save import (
    FrameWriter,
    SavedFrame,
    SavedFrames,
    contact_sheet,
    save_frames,
)
from geoverify.frames._scan import ScanResult as ScanResult, scan_frames, scan_video as scan_video
from geoverify.models import Note, Severity, sanitize_text
from geoverify.probing import MediaInfo

if TYPE_CHECKING:
    from geoverify.footage import Extraction

__all__ = [
    "FRAMES_SCHEMA",
    "Frame",
    "FrameOptions",
    "FrameSelection",
    "FrameWriter",
    "SavedFrame",
    "SavedFrames",
    "Shot",
    "contact_sheet",
    "extract_frames",
    "is_photo",
    "perceptual_hash",
    "save_frames",
    "select_frames",
    "sharpness",
    "still_selection",
]

# --- public API ----------------------------------------------------------------------------------


def is_photo(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` holds a photograph geoverify reads (JPEG, PNG, HEIC), from its bytes."""
    from geoverify.probing import is_photo_head

    try:
        with open(os.fspath(path), "rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    return is_photo_head(head)


def still_selection(
    path: str | os.PathLike[str], *, options: FrameOptions | None = None
) -> FrameSelection:
    """Make a photograph a one-frame selection (upright: the EXIF orientation applied).

    Every strategy's answer for a photo is the photo itself: it is frame 0 at 0 s, chosen as
    ``still``.
    """
    from geoverify._images import cv2, read_image_bytes
    from geoverify.probing import data_missing_notes, decode_photo

    opts = options or FrameOptions()
    data, digest = read_image_bytes(path)
    image = decode_photo(data, path)
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    width = opts.analysis_width
    small = cv2.resize(gray, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    frame = Frame(
        image_bgr=image,
        t_s=0.0,
        pts=0,
        time_base=Fraction(1, 1),
        frame_number=0,
        keyframe=True,
        strategies=("still",),
        shot=None,
        sharpness=sharpness(small),
        phash=f"{perceptual_hash(gray):016x}",
    )
    note = Note(
        code="I_STILL_IMAGE",
        message="a photograph: its one picture is the frame looked at",
        severity=Severity.INFO,
        field="frames",
    )
    return FrameSelection(
        source_path=os.fspath(path),
        source_sha256=digest,
        options=opts,
        frames=(frame,),
        shots=(),
        rotation_deg=0,
        frames_expected=1,
        frames_decoded=1,
        uncovered_ranges_s=(),
        decode_error="",
        notes=(note, *data_missing_notes(data)),
    )


def _handle(
    source: str | os.PathLike[str] | MediaInfo, rotation_deg: int | None
) -> tuple[str | os.PathLike[str], str | None, int | None, int | None]:
    """(path, SHA-256, video stream, rotation) from a path or from probe's ``MediaInfo``."""
    if not isinstance(source, MediaInfo):
        return source, None, None, rotation_deg
    video = source.video
    if video is not None and rotation_deg is None:
        rotation_deg = video.rotation_deg
    path = source.local_path or source.path
    return path, source.sha256, video.index if video is not None else None, rotation_deg


def select_frames(
    source: str | os.PathLike[str] | MediaInfo,
    *,
    options: FrameOptions,
    limits: DecodeLimits | None = None,
    rotation_deg: int | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    on_frame: Callable[[Frame], None] | None = None,
    keep_pixels: bool = True,
) -> FrameSelection:
    """Select frames from a video. Writes nothing.

    Parameters
    ----------
    source
        A local video file, or the ``MediaInfo`` that ``probe`` returned for it: the probe's
        SHA-256, rotation and choice of video stream are then used, not worked out again (the
        file must still have the size the probe saw).
    options
        Strategies and their parameters.
    limits
        Resource limits of the decoder worker.
    rotation_deg
        Clockwise rotation to apply, overriding the stream's display matrix (and the probe's).
    progress
        Called with (frames decoded, frames expected in the range).
    on_frame
        Called with each frame as soon as its selection is final, while decoding goes on (to
        start saving early); the returned selection is the authoritative, complete list.
    keep_pixels
        ``False`` drops the pixels of frames already handed to ``on_frame`` (their
        ``image_bgr`` is empty), so memory stays bounded on long videos.

    Returns
    -------
    FrameSelection
        Frames sorted by time. When the file is damaged the decodable frames come back, with
        ``uncovered_ranges_s`` and ``decode_error`` saying what is missing.

    Raises
    ------
    InputError, MediaError, LimitError
        As ``probe``; ``E_CONTAINER_TRUNCATED`` when no frame at all decodes;
        ``E_INPUT_CHANGED`` when the file is no longer the size its ``MediaInfo`` records.
    """
    path, source_sha256, stream_index, rotation_deg = _handle(source, rotation_deg)
    limits = limits or DecodeLimits()
    p = check_local_file(path)
    if isinstance(source, MediaInfo) and p.stat().st_size != source.size_bytes:
        msg = f"{str(p)!r} changed since it was probed ({source.size_bytes} bytes then)"
        hint = "Probe the file again; do not edit it while geoverify works on it."
        raise InputError(msg, code="E_INPUT_CHANGED", hint=hint)
    if is_photo(p):
        return still_selection(p, options=options)
    streamed = StreamedFrames(on_frame, keep_pixels)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        # hash on a thread while the worker decodes (hashlib releases the GIL)
        digest = pool.submit(sha256_file, p) if source_sha256 is None else None
        try:
            result = run_isolated(
                scan_frames,
                str(p),
                options,
                limits,
                rotation_deg,
                True,
                stream_index,
                limits=limits,
                progress=progress,
                on_item=streamed.take,
            )
        except GeoverifyError as exc:
            exc.input_sha256 = digest.result() if digest is not None else (source_sha256 or "")
            raise
        if digest is not None:
            source_sha256 = digest.result()
    return selection_from_scan(path, source_sha256 or "", options, result, streamed)


def extract_frames(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    options: FrameOptions,
    image_format: Literal["png", "jpeg"] = "png",
    overwrite: bool = False,
    limits: DecodeLimits | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> Extraction:
    """Select the frames of a video or photo and save them in ``out_dir``.

    ``geoverify.footage.extract_frames``: what ``geoverify frames`` does (the video is probed
    and scanned in one worker, each frame saved as it comes); parameters and errors as there.
    """
    from geoverify.footage import extract_frames as extract

    return extract(
        source,
        out_dir,
        options=options,
        image_format=image_format,
        overwrite=overwrite,
        limits=limits,
        progress=progress,
    )


class StreamedFrames:
    """Frames the worker streamed early (they come back without pixels in its final result)."""

    def __init__(self, on_frame: Callable[[Frame], None] | None, keep_pixels: bool) -> None:
        self.on_frame = on_frame
        self.keep_pixels = keep_pixels
        self.frames: dict[int, Frame] = {}

    def take(self, frame: Frame) -> None:
        if self.on_frame is not None:
            self.on_frame(frame)
        if self.keep_pixels:
            self.frames[frame.frame_number] = frame


def selection_from_scan(
    path: str | os.PathLike[str],
    source_sha256: str,
    options: FrameOptions,
    result: ScanResult,
    streamed: StreamedFrames,
) -> FrameSelection:
    """Build the ``FrameSelection`` of a scan: pixels put back, notes on what is missing."""
    frames = tuple(
        dataclasses.replace(f, image_bgr=streamed.frames[f.frame_number].image_bgr)
        if f.image_bgr.size == 0 and f.frame_number in streamed.frames
        else f
        for f in result.frames
    )
    notes: list[Note] = []
    if result.decode_error:
        notes.append(
            Note(
                code="W_DECODE_ERROR",
                message=sanitize_text(
                    f"decoding stopped or skipped data: {result.decode_error}; "
                    f"{result.frames_decoded} of {result.frames_expected} frames decoded"
                ),
                field="frames",
            )
        )
    if result.uncovered:
        spans = ", ".join(f"{a:.3f}-{b:.3f} s" for a, b in result.uncovered[:10])
        notes.append(
            Note(
                code="W_FRAMES_MISSING",
                message=f"no picture for {spans}: those times are not covered",
                field="frames",
            )
        )
    if result.frames_screened:
        notes.append(
            Note(
                code="I_FRAMES_SCREENED",
                message=(
                    f"{result.frames_screened} of {result.frames_expected} frames were screened "
                    "rather than looked at: they lie in a GOP whose keyframe matched the next "
                    "with no burst of intra coding, or before the point where a change in their "
                    "GOP can start (some were decoded only as references for later frames); "
                    "scene_scan='full' (--scene-scan full) looks at every frame"
                ),
                field="frames",
                severity=Severity.INFO,
            )
        )
    if result.frames_decoded == 0 and not options.keyframes:
        msg = f"no frame of {os.fspath(path)!r} could be decoded in the range"
        hint = "The file is truncated or corrupt, or the range lies past its end."
        raise MediaError(msg, code="E_CONTAINER_TRUNCATED", hint=hint, input_sha256=source_sha256)
    return FrameSelection(
        source_path=sanitize_text(os.fspath(path)),
        source_sha256=source_sha256,
        options=options,
        frames=frames,
        shots=result.shots,
        rotation_deg=result.rotation_deg,
        frames_expected=result.frames_expected,
        frames_decoded=result.frames_decoded,
        uncovered_ranges_s=result.uncovered,
        decode_error=sanitize_text(result.decode_error),
        notes=tuple(notes),
        frames_screened=result.frames_screened,
    )
