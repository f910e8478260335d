"""Probe and frame selection as one worker job: the video opened once, one typed result.

``read_footage(path, options=...)`` gives what ``probe(path)`` and ``select_frames`` of its
result give (the scan uses probe's stream choice and rotation), with one worker process
started instead of two. In the worker, ``_read_in_worker`` reads the container
(``probing.read_container``) and, when it holds a video, scans its frames
(``frames.scan_video``), handing the scan the packets probe demuxed (a Matroska stream is not
demuxed twice). It returns a ``FootageRead``: the container read, and the scan or the error
that stopped it, so what probe read is kept either way. In the parent, ``probing.describe``
turns the read into the ``MediaInfo`` (probe's errors come first), then the scan becomes the
``FrameSelection``.

Layering: this module sits above ``probing`` and ``frames`` and uses only their public names.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal

from geoverify._media import DecodeLimits
from geoverify._worker import error_from_record, run_isolated
from geoverify.errors import GeoverifyError, MediaError
from geoverify.frames import (
    Frame,
    FrameOptions,
    FrameSelection,
    FrameWriter,
    SavedFrames,
    ScanResult,
    StreamedFrames,
    is_photo,
    save_frames,
    scan_video,
    select_frames,
    selection_from_scan,
)
from geoverify.probing import (
    FileHash,
    MediaInfo,
    PacketLog,
    RawContainer,
    aware_now,
    finish_probe,
    frame_cameras,
    has_video,
    open_file,
    probe_still,
    read_container,
    video_info,
)

__all__ = ["Extraction", "Footage", "FootageRead", "ScanFailure", "extract_frames", "read_footage"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Footage:
    """A video or photo probed and its frames selected.

    Attributes
    ----------
    media
        What ``probe`` returns for the file.
    selection
        What ``select_frames(media, ...)`` returns.
    """

    media: MediaInfo
    selection: FrameSelection


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScanFailure:
    """The geoverify error that stopped the frame scan in the worker, as plain values.

    ``kind`` is the error's class name in ``geoverify.errors``; ``record`` its ``to_dict()``.
    """

    kind: str
    record: Mapping[str, Any]

    def error(self) -> GeoverifyError:
        """Rebuild the error in the parent."""
        return error_from_record(self.kind, dict(self.record))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FootageRead:
    """What the worker job returns: the container read, and the scan or why it failed.

    Both ``scan`` and ``failure`` are ``None`` when the container holds no video (probe then
    says why).
    """

    raw: RawContainer
    scan: ScanResult | None = None
    failure: ScanFailure | None = None


def _read_in_worker(
    path: str, limits: DecodeLimits, options: FrameOptions, tkhd_rotation: int | None
) -> FootageRead:
    """Read the container, then scan its video stream with probe's choices (worker side)."""
    log = PacketLog()
    raw = read_container(path, limits, log)
    if not has_video(raw):
        return FootageRead(raw=raw)
    video = video_info(raw, tkhd_rotation)
    stream = raw.streams[raw.video_index] if raw.video_index is not None else None
    try:
        scan = scan_video(
            path,
            options,
            limits,
            rotation_deg=video.rotation_deg if video is not None else None,
            stream_index=raw.video_index,
            packets=log.whole_stream(),  # only a whole demux, stopped by no error or limit
            time_base=stream.time_base if stream is not None else None,
        )
    except GeoverifyError as exc:
        return FootageRead(
            raw=raw, failure=ScanFailure(kind=type(exc).__name__, record=exc.to_dict())
        )
    return FootageRead(raw=raw, scan=scan)


def read_footage(
    path: str | os.PathLike[str],
    *,
    options: FrameOptions,
    limits: DecodeLimits | None = None,
    now: datetime | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    on_frame: Callable[[Frame], None] | None = None,
    keep_pixels: bool = True,
) -> Footage:
    """Probe a video or photo and select its frames, in one worker process.

    Parameters
    ----------
    path
        A local regular file (video or photo).
    options
        Frame strategies and their parameters.
    limits
        Resource limits of the decoder worker.
    now
        The current time (timezone-aware) used to flag future dates; defaults to the clock.
    progress
        Called with (frames decoded, frames expected in the range).
    on_frame
        Called with each frame as soon as its selection is final (``select_frames``).
    keep_pixels
        ``False`` drops the pixels of frames already handed to ``on_frame``.

    Returns
    -------
    Footage
        The same ``MediaInfo`` and ``FrameSelection`` as ``probe`` and ``select_frames``.

    Raises
    ------
    InputError, MediaError, LimitError
        As ``probe`` (first) and ``select_frames``; the scan's errors carry the file's hash.
    """
    limits = limits or DecodeLimits()
    now = aware_now(now)
    file = open_file(path)
    if file.photo:  # a photo: probed and selected without a worker
        media = probe_still(file, now)
        selection = select_frames(
            media,
            options=options,
            limits=limits,
            progress=progress,
            on_frame=on_frame,
            keep_pixels=keep_pixels,
        )
        return Footage(media=media, selection=selection)
    streamed = StreamedFrames(on_frame, keep_pixels)
    with FileHash(file) as hashing:
        try:
            read: FootageRead = run_isolated(
                _read_in_worker,
                str(file.local),
                limits,
                options,
                file.tkhd_rotation_deg,
                limits=limits,
                progress=progress,
                on_item=streamed.take,
            )
        except GeoverifyError as exc:
            raise hashing.failed(exc) from None
        digest = hashing.digest()
    media = finish_probe(read.raw, file, sha256=digest, now=now, telemetry=None)
    if read.failure is not None:
        error = read.failure.error()
        error.input_sha256 = media.sha256
        raise error
    if read.scan is None:  # pragma: no cover - finish_probe refuses a container without video
        msg = "the worker scanned no video"
        raise MediaError(msg, code="E_DECODER_CRASH", hint="Report this as a bug.")
    selection = selection_from_scan(path, media.sha256, options, read.scan, streamed)
    return Footage(media=media, selection=selection)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Extraction:
    """Frames selected from a file and saved (``extract_frames``).

    Attributes
    ----------
    selection
        The selection (its frames without pixels: they were written as they came).
    saved
        The files written: images, ``frames.json``, contact sheet, ``manifest.json``.
    """

    selection: FrameSelection
    saved: SavedFrames


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

    What ``geoverify frames`` does: the output folder is checked before any decoding; a video
    is probed and scanned in one worker (``read_footage``), each frame encoded as soon as it
    is chosen so memory stays bounded; a video's GPS track places each frame (a ``camera``
    entry in ``frames.json``). The folder is written under the output rule (``save_frames``).

    Parameters
    ----------
    source
        A local video or photo file.
    out_dir
        The folder for the frames, ``frames.json`` and the contact sheet.
    options
        Frame strategies and their parameters.
    image_format
        ``png`` (lossless) or ``jpeg``.
    overwrite
        Write into a folder that holds files geoverify did not write (they are kept).
    limits
        Resource limits of the decoder worker.
    progress
        Called with (frames decoded, frames expected in the range).

    Raises
    ------
    InputError, MediaError, LimitError
        As ``read_footage``.
    OutputError
        ``out_dir`` is refused by the output rule.
    """
    from geoverify._output import check_output_dir

    check_output_dir(out_dir, overwrite=overwrite, inputs=[source])  # before the decoding
    writer = FrameWriter(out_dir, image_format)  # saving overlaps decoding
    try:
        track = None
        if is_photo(source):
            selection = select_frames(
                source,
                options=options,
                limits=limits,
                progress=progress,
                on_frame=writer,
                keep_pixels=False,
            )
        else:
            found = read_footage(
                source,
                options=options,
                limits=limits,
                progress=progress,
                on_frame=writer,
                keep_pixels=False,
            )
            selection, track = found.selection, found.media.gps_track
        cameras = frame_cameras(track, selection.frames) if track is not None else None
        saved = save_frames(
            selection,
            out_dir,
            image_format=image_format,
            prepared=writer.result(),
            cameras=cameras,
            overwrite=overwrite,
        )
    finally:
        writer.discard()
    return Extraction(selection=selection, saved=saved)
