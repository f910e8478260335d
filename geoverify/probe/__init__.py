"""Stage 1, probe: what a video file is and what it claims about itself.

Input: a path to a local video file (untrusted). Output: a frozen ``MediaInfo`` with the file's
identity (size, SHA-256, container sniffed from its bytes), its streams (the video stream used
and why, codec, stored and display size, rotation, exact frame rates, variable frame rate,
duration from timestamps), every capture claim found (creation times with and without a zone,
ISO 6709 locations, device, GoPro GPMF GPS), and trust notes with stable codes.

Nothing here decodes media in this process: the demuxer and decoder run in the isolated worker
of ``geoverify._decode``. This module only reads the file's first bytes and, for MP4/QuickTime,
walks its box headers (bounded, pure Python) to sniff the format, find truncation and read the
track matrix.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Callable
from datetime import UTC, datetime

from geoverify._decode import (
    DecodeLimits,
    RawContainer,
    check_local_file,
    read_container,
    run_isolated,
    sha256_file,
)
from geoverify.errors import GeoverifyError, InputError, MediaError
from geoverify.models import sanitize_text
from geoverify.probe._claims import _creation_times, _device, _folded, _locations, parse_iso6709
from geoverify.probe._model import (
    PROBE_SCHEMA,
    AudioStreamInfo,
    ContainerInfo,
    CreationTime,
    DeviceInfo,
    GpsTrack,
    LocationClaim,
    MediaInfo,
    MetadataTag,
    VideoStreamInfo,
)
from geoverify.probe._notes import _gps_track, _tags, _trust_notes, _video_info
from geoverify.probe._sniff import _STILL_IMAGES, _scan_bmff, _sniff

__all__ = [
    "AudioStreamInfo",
    "ContainerInfo",
    "CreationTime",
    "DeviceInfo",
    "GpsTrack",
    "LocationClaim",
    "MediaInfo",
    "MetadataTag",
    "VideoStreamInfo",
    "parse_iso6709",
    "probe",
    "sha256_file",
]


def probe(
    path: str | os.PathLike[str],
    *,
    limits: DecodeLimits | None = None,
    now: datetime | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> MediaInfo:
    """Describe a video file and what it claims about itself.

    Parameters
    ----------
    path
        A local regular file. URLs, devices, FIFOs and folders are refused.
    limits
        Resource limits for the isolated decoder process.
    now
        The current time (timezone-aware) used to flag future dates; defaults to the clock.
    progress
        Called with (bytes hashed, total bytes) while hashing.

    Returns
    -------
    MediaInfo

    Raises
    ------
    InputError
        Missing, empty, unreadable or non-regular file; the file changed while probed.
    MediaError
        Not media (``E_INPUT_NOT_MEDIA``), a still image (``E_INPUT_IS_IMAGE``), no video
        stream (``E_NO_VIDEO_STREAM``), truncated before the index (``E_CONTAINER_TRUNCATED``),
        decoder crash (``E_DECODER_CRASH``).
    LimitError
        A resource limit was hit.
    """
    limits = limits or DecodeLimits()
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        msg = "now must be timezone-aware"
        raise InputError(msg, code="E_NAIVE_DATETIME", hint="Pass datetime(..., tzinfo=UTC).")
    p = check_local_file(path)
    st_before = p.stat()
    size = st_before.st_size
    with open(p, "rb") as fh:
        head = fh.read(512)
    sniffed = _sniff(head)
    extension = p.suffix.lower().lstrip(".")
    if sniffed in _STILL_IMAGES:
        msg = f"{str(p)!r} is a still image ({sniffed.upper()}), not a video"
        raise MediaError(msg, code="E_INPUT_IS_IMAGE", hint="Give a video file.")
    if sniffed in ("html/xml", "playlist"):
        msg = f"{str(p)!r} is a text document ({sniffed}), not a video"
        hint = "A web page or playlist was saved instead of the video; download the media itself."
        raise MediaError(msg, code="E_INPUT_NOT_MEDIA", hint=hint)

    bmff = _scan_bmff(p, size) if sniffed in ("mp4", "quicktime", "heif") else None
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        # Hash on a thread while the worker demuxes: hashlib releases the GIL.
        hash_future = pool.submit(sha256_file, p)
        try:
            raw: RawContainer | None = run_isolated(read_container, str(p), limits, limits=limits)
            failure: GeoverifyError | None = None
        except GeoverifyError as exc:
            raw, failure = None, exc
        digest = hash_future.result()
    if progress is not None:
        progress(size, size)
    if failure is not None:
        if (
            bmff is not None
            and "moov" not in bmff.boxes
            and failure.code in ("E_INPUT_NOT_MEDIA", "E_DECODER_ERROR")
        ):
            msg = (
                f"{str(p)!r} is a truncated {sniffed.upper()}: its index (moov box) is "
                f"missing; {size} bytes present"
            )
            hint = "The download stopped early; fetch the complete file."
            failure = MediaError(msg, code="E_CONTAINER_TRUNCATED", hint=hint)
        failure.input_sha256 = digest
        raise failure
    if raw is None:  # pragma: no cover - run_isolated returns or raises
        msg = "the worker returned nothing"
        raise MediaError(msg, code="E_DECODER_CRASH", hint="Report this as a bug.")

    def reject(exc: GeoverifyError) -> GeoverifyError:
        exc.input_sha256 = digest
        return exc

    if raw.format_name in ("image2", "jpeg_pipe", "png_pipe", "gif", "webp_pipe", "bmp_pipe"):
        msg = f"{str(p)!r} is a still image (demuxer {raw.format_name}), not a video"
        raise reject(MediaError(msg, code="E_INPUT_IS_IMAGE", hint="Give a video file."))
    if raw.video_index is None:
        kinds = ", ".join(sorted({s.kind for s in raw.streams})) or "none"
        msg = f"{str(p)!r} has no video stream ({raw.video_reason}; streams: {kinds})"
        hint = "Give a file that contains video."
        raise reject(MediaError(msg, code="E_NO_VIDEO_STREAM", hint=hint))

    video = _video_info(raw, bmff.moov_rotation_deg if bmff else None)
    vs = raw.streams[raw.video_index]
    media_complete: bool | None = None
    media_note = ""
    if bmff is not None and bmff.overruns:
        media_complete = False
        media_note = (
            f"a box runs past the end of the file ({size} bytes): the file is truncated; "
            "frames near the end are missing"
        )
    if vs.data_end_byte is not None:
        if vs.data_end_byte > size:
            media_complete = False
            media_note = (
                f"the index refers to video data up to byte {vs.data_end_byte} but the file "
                f"has {size} bytes: the file is truncated or its media data was stripped"
            )
        elif media_complete is None:
            media_complete = True

    times = _creation_times(raw)
    locations = _locations(raw)
    device = _device(_folded(raw.metadata))
    gps = _gps_track(raw)
    tags = _tags(raw)
    notes = _trust_notes(
        raw=raw,
        sniffed=sniffed,
        extension=extension,
        video=video,
        times=times,
        locations=locations,
        device=device,
        gps=gps,
        media_complete=media_complete,
        media_note=media_note,
        tags=tags,
        now=now,
    )
    st_after = p.stat()
    if (st_after.st_size, st_after.st_mtime_ns) != (st_before.st_size, st_before.st_mtime_ns):
        msg = f"{str(p)!r} changed while it was being probed"
        hint = "Wait until the download or copy has finished, then probe again."
        raise reject(InputError(msg, code="E_INPUT_CHANGED", hint=hint))

    return MediaInfo(
        schema=PROBE_SCHEMA,
        path=sanitize_text(os.fspath(path)),
        size_bytes=size,
        sha256=digest,
        container=ContainerInfo(
            format_sniffed=sniffed,
            demuxer=raw.format_name,
            demuxer_long_name=raw.format_long_name,
            extension=extension,
            major_brand=raw.metadata.get("major_brand"),
            duration_s=raw.duration_us / 1e6 if raw.duration_us is not None else None,
            start_time_s=raw.start_time_us / 1e6 if raw.start_time_us is not None else None,
            bit_rate=raw.bit_rate,
        ),
        video=video,
        audio=tuple(
            AudioStreamInfo(
                index=s.index, codec=s.codec, sample_rate_hz=s.sample_rate, channels=s.channels
            )
            for s in raw.streams
            if s.kind == "audio"
        ),
        data_streams=tuple(
            f"stream {s.index}: {sanitize_text(s.metadata.get('handler_name', '')).strip()}"
            for s in raw.streams
            if s.kind in ("data", "subtitle", "attachment")
        ),
        creation_times=tuple(times),
        locations=tuple(locations),
        device=device,
        gps_track=gps,
        media_data_complete=media_complete,
        tags=tuple(tags),
        notes=tuple(notes),
        decoder_versions=dict(raw.library_versions),
    )
