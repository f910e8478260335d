"""From what the worker read of a video to its ``MediaInfo``: pure, no file is touched.

``describe`` is the probe's second half: the container read (``_container.RawContainer``), the
facts about the file (``_file.MediaFile``), its SHA-256 and the telemetry read beside it become
the streams, the capture claims and the trust notes.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from geoverify.errors import MediaError
from geoverify.models import Note, sanitize_text
from geoverify.probing._claims import creation_times_of, device_of, folded, locations_of
from geoverify.probing._container import IMAGE_DEMUXERS, RawContainer
from geoverify.probing._file import MediaFile
from geoverify.probing._gpmf import device_name
from geoverify.probing._model import (
    PROBE_SCHEMA,
    AudioStreamInfo,
    ContainerInfo,
    DeviceInfo,
    MediaInfo,
)
from geoverify.probing._notes import NoteEvidence, read_gps_track, tags_of, trust_notes, video_info
from geoverify.probing._sidecar import SidecarClaims, SidecarRead, sidecar_claims


def not_a_video(raw: RawContainer, file: MediaFile, sha256: str = "") -> MediaError | None:
    """Return the error for a still image or a container without video (``None``: a video)."""
    p = file.local
    if raw.format_name in IMAGE_DEMUXERS:
        msg = f"{str(p)!r} is a still image (demuxer {raw.format_name}), not a video"
        return MediaError(
            msg, code="E_INPUT_IS_IMAGE", hint="Give a video file.", input_sha256=sha256
        )
    if raw.video_index is None:
        kinds = ", ".join(sorted({s.kind for s in raw.streams})) or "none"
        msg = f"{str(p)!r} has no video stream ({raw.video_reason}; streams: {kinds})"
        hint = "Give a file that contains video."
        return MediaError(msg, code="E_NO_VIDEO_STREAM", hint=hint, input_sha256=sha256)
    return None


def describe(
    raw: RawContainer,
    file: MediaFile,
    *,
    sha256: str,
    now: datetime,
    sidecar: SidecarRead | None = None,
) -> MediaInfo:
    """Describe a video from the worker's read of its container.

    Parameters
    ----------
    raw
        What ``read_container`` read in the worker.
    file
        What ``open_file`` found before (size, sniffed format, MP4 boxes).
    sha256
        The file's SHA-256.
    now
        The current time (timezone-aware), to flag future dates.
    sidecar
        The DJI telemetry read for the video (``read_sidecar``), if any.

    Raises
    ------
    MediaError
        ``E_INPUT_IS_IMAGE`` or ``E_NO_VIDEO_STREAM``: the container holds no video.
    """
    problem = not_a_video(raw, file, sha256)
    if problem is not None:
        raise problem
    video = video_info(raw, file.tkhd_rotation_deg)
    gps = read_gps_track(raw)
    duration_s = video.duration_s if video is not None else None
    if duration_s is None and raw.duration_us is not None:
        duration_s = raw.duration_us / 1e6
    extra = (
        sidecar_claims(sidecar, gps, duration_s)
        if sidecar is not None
        else SidecarClaims(file=None, track=None, times=(), directions=(), notes=())
    )
    media_complete, media_note = _completeness(raw, file)
    evidence = NoteEvidence(
        raw=raw,
        sniffed=file.sniffed,
        extension=file.extension,
        video=video,
        times=[*creation_times_of(raw), *extra.times],
        locations=locations_of(raw),
        device=_device(raw),
        gps=gps if gps is not None else extra.track,
        media_complete=media_complete,
        media_note=media_note,
        tags=tags_of(raw),
        now=now,
    )
    notes = trust_notes(evidence) + list(extra.notes)
    return _media_info(evidence, file, sha256, tuple(notes), extra)


def _media_info(
    evidence: NoteEvidence,
    file: MediaFile,
    sha256: str,
    notes: tuple[Note, ...],
    extra: SidecarClaims,
) -> MediaInfo:
    raw = evidence.raw
    return MediaInfo(
        schema=PROBE_SCHEMA,
        path=sanitize_text(file.given),
        local_path=file.given,
        size_bytes=file.size_bytes,
        sha256=sha256,
        container=_container(raw, file),
        video=evidence.video,
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
        creation_times=tuple(evidence.times),
        locations=tuple(evidence.locations),
        device=evidence.device,
        gps_track=evidence.gps,
        media_data_complete=evidence.media_complete,
        tags=tuple(evidence.tags),
        notes=notes,
        decoder_versions=dict(raw.library_versions),
        directions=extra.directions,
        telemetry=extra.file,
    )


def _container(raw: RawContainer, file: MediaFile) -> ContainerInfo:
    return ContainerInfo(
        format_sniffed=file.sniffed,
        demuxer=raw.format_name,
        demuxer_long_name=raw.format_long_name,
        extension=file.extension,
        major_brand=raw.metadata.get("major_brand"),
        duration_s=raw.duration_us / 1e6 if raw.duration_us is not None else None,
        start_time_s=raw.start_time_us / 1e6 if raw.start_time_us is not None else None,
        bit_rate=raw.bit_rate,
    )


def _completeness(raw: RawContainer, file: MediaFile) -> tuple[bool | None, str]:
    """Whether the file holds all its video data (``None``: cannot tell), and why not."""
    vs = raw.streams[raw.video_index] if raw.video_index is not None else None
    size = file.size_bytes
    complete: bool | None = None
    note = ""
    if file.bmff is not None and file.bmff.overruns:
        complete = False
        note = (
            f"a box runs past the end of the file ({size} bytes): the file is truncated; "
            "frames near the end are missing"
        )
    if vs is not None and vs.data_end_byte is not None:
        if vs.data_end_byte > size:
            complete = False
            note = (
                f"the index refers to video data up to byte {vs.data_end_byte} but the file "
                f"has {size} bytes: the file is truncated or its media data was stripped"
            )
        elif complete is None:
            complete = True
    return complete, note


def _device(raw: RawContainer) -> DeviceInfo:
    """Return the recording device from the tags, or from a GoPro's GPMF device name."""
    device = device_of(folded(raw.metadata))
    if device.model is None:
        name = device_name(raw.gpmf_payloads)
        if name and name.lower() != "camera":  # HERO5 and Karma write the generic "Camera"
            device = dataclasses.replace(device, model=sanitize_text(name))
    return device
