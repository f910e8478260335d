"""Stage 1, probe: what a video or photo file is and what it claims about itself.

Input: a path to a local video file (untrusted). Output: a frozen ``MediaInfo`` with the file's
identity (size, SHA-256, container sniffed from its bytes), its streams (the video stream used
and why, codec, stored and display size, rotation, exact frame rates, variable frame rate,
duration from timestamps), every capture claim found (creation times with and without a zone,
ISO 6709 locations, device, GoPro GPMF GPS), and trust notes with stable codes.

Nothing here decodes media in this process: the demuxer and decoder run in the isolated
worker (``geoverify._worker``), which reads the container with ``probing._container``. This
module only reads the file's first bytes and, for MP4/QuickTime, walks its box headers
(bounded, pure Python) to sniff the format, find truncation and read the track matrix.

Photographs (JPEG, PNG, HEIC) are read by ``geoverify.probing._exif`` (Pillow and pillow-heif,
headers only); ``geoverify.probing._still_data`` checks from their structure that their image
data is all there. A DJI flight's ``.SRT`` sidecar (same name as the video, or given as
``telemetry``) is read by ``geoverify.probing._srt`` into the same GPS-track model as GoPro GPMF.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from geoverify._media import DecodeLimits, check_local_file, sha256_file
from geoverify._worker import run_isolated
from geoverify.errors import GeoverifyError, InputError, MediaError
from geoverify.models import Note, sanitize_text
from geoverify.probing._claims import (
    creation_times_of,
    device_of,
    folded,
    locations_of,
    parse_iso6709,
)
from geoverify.probing._container import (
    IMAGE_DEMUXERS,
    FollowUp,
    RawContainer,
    read_container,
    read_container_then,
)
from geoverify.probing._model import (
    PROBE_SCHEMA,
    AudioStreamInfo,
    CameraDirection,
    ContainerInfo,
    CreationTime,
    DeviceInfo,
    GpsTrack,
    LocationClaim,
    MediaInfo,
    MetadataTag,
    StillImageInfo,
    TelemetryFile,
    VideoStreamInfo,
)
from geoverify.probing._notes import (
    NoteEvidence,
    read_gps_track,
    tags_of,
    trust_notes,
    video_info,
)
from geoverify.probing._sniff import (
    STILL_IMAGES,
    BmffScan,
    is_photo_head,
    scan_bmff,
    sniff_container,
)

__all__ = [
    "AudioStreamInfo",
    "CameraDirection",
    "ContainerInfo",
    "CreationTime",
    "DeviceInfo",
    "GpsTrack",
    "LocationClaim",
    "MediaInfo",
    "MetadataTag",
    "StillImageInfo",
    "TelemetryFile",
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
    telemetry: str | os.PathLike[str] | None = None,
) -> MediaInfo:
    """Describe a video or photo file and what it claims about itself.

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
    telemetry
        A DJI ``.SRT`` telemetry file for the video. When ``None``, a file beside the video
        with its name and the extension ``.SRT`` (any case) is read if present; a sidecar that
        cannot be read is then a note, a given file that cannot be read an error.

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
    media, _ = probe_then(path, limits=limits, now=now, progress=progress, telemetry=telemetry)
    return media


def probe_then(
    path: str | os.PathLike[str],
    *,
    limits: DecodeLimits | None = None,
    now: datetime | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    telemetry: str | os.PathLike[str] | None = None,
    then: FollowUp | None = None,
) -> tuple[MediaInfo, tuple[Any, ...] | None]:
    """``probe``, and the job ``then`` in the same worker process once the container is read.

    The job runs when the file is a video with a video stream. Returns the ``MediaInfo`` and
    the job's outcome: ``None`` (not run), ``("ok", result)`` or ``("err", class name,
    record)`` (``_worker.error_from_record`` rebuilds the error). Probe's own errors are raised
    first, as ``probe`` raises them.
    """
    limits = limits or DecodeLimits()
    now = _aware_now(now)
    p = check_local_file(path)
    st_before = p.stat()
    size = st_before.st_size
    with open(p, "rb") as fh:
        head = fh.read(512)
    sniffed = sniff_container(head)
    extension = p.suffix.lower().lstrip(".")
    if is_photo_head(head):
        if telemetry is not None:
            msg = "--telemetry is for a video; a photo carries its own EXIF"
            raise InputError(msg, code="E_INPUT_OPTION", hint="Leave --telemetry out.")
        return _probe_still(p, sniffed, extension, now), None
    _refuse_by_head(p, sniffed)
    bmff = scan_bmff(p, size) if sniffed in ("mp4", "quicktime", "heif") else None
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        # Hash on a thread while the worker demuxes: hashlib releases the GIL.
        hash_future = pool.submit(sha256_file, p)
        try:
            raw, outcome = _read(p, limits, bmff, then)
            failure: GeoverifyError | None = None
        except GeoverifyError as exc:
            raw, outcome, failure = None, None, exc
        digest = hash_future.result()
    if progress is not None:
        progress(size, size)
    if failure is not None:
        failure = _explained(failure, p, sniffed, size, bmff)
        failure.input_sha256 = digest
        raise failure
    if raw is None:  # pragma: no cover - run_isolated returns or raises
        msg = "the worker returned nothing"
        raise MediaError(msg, code="E_DECODER_CRASH", hint="Report this as a bug.")

    def reject(exc: GeoverifyError) -> GeoverifyError:
        exc.input_sha256 = digest
        return exc

    problem = _not_a_video(raw, p)
    if problem is not None:
        raise reject(problem)
    video = video_info(raw, bmff.moov_rotation_deg if bmff else None)
    media_complete, media_note = _completeness(raw, bmff, size)
    times = creation_times_of(raw)
    locations = locations_of(raw)
    device = _device(raw)
    gps = read_gps_track(raw)
    tags = tags_of(raw)
    duration_s = video.duration_s if video is not None else None
    if duration_s is None and raw.duration_us is not None:
        duration_s = raw.duration_us / 1e6
    try:
        sidecar = _telemetry(p, telemetry, gps, duration_s)
    except GeoverifyError as exc:
        raise reject(exc) from None
    extra_notes: list[Note] = []
    telemetry_file = None
    directions: list[CameraDirection] = []
    if sidecar is not None:
        telemetry_file, track, srt_times, directions, extra_notes = sidecar
        times += srt_times
        if gps is None and track is not None:
            gps = track
    evidence = NoteEvidence(
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
    notes = trust_notes(evidence)
    notes += extra_notes
    st_after = p.stat()
    if (st_after.st_size, st_after.st_mtime_ns) != (st_before.st_size, st_before.st_mtime_ns):
        msg = f"{str(p)!r} changed while it was being probed"
        hint = "Wait until the download or copy has finished, then probe again."
        raise reject(InputError(msg, code="E_INPUT_CHANGED", hint=hint))

    media = MediaInfo(
        schema=PROBE_SCHEMA,
        path=sanitize_text(os.fspath(path)),
        local_path=os.fspath(path),
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
        directions=tuple(directions),
        telemetry=telemetry_file,
    )
    return media, outcome


def _aware_now(now: datetime | None) -> datetime:
    """Return ``now``, the clock when ``None``; a naive time is refused."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        msg = "now must be timezone-aware"
        raise InputError(msg, code="E_NAIVE_DATETIME", hint="Pass datetime(..., tzinfo=UTC).")
    return now


def _refuse_by_head(p: Path, sniffed: str) -> None:
    """Refuse what the first bytes show is no video: an unread still image, a page, a playlist."""
    if sniffed in STILL_IMAGES:
        msg = f"{str(p)!r} is a still image ({sniffed.upper()}) that geoverify does not read"
        hint = "Convert it to PNG or JPEG (its metadata may be lost: keep the original too)."
        raise MediaError(msg, code="E_INPUT_IS_IMAGE", hint=hint)
    if sniffed in ("html/xml", "playlist"):
        msg = f"{str(p)!r} is a text document ({sniffed}), not a video"
        hint = "A web page or playlist was saved instead of the video; download the media itself."
        raise MediaError(msg, code="E_INPUT_NOT_MEDIA", hint=hint)


def _explained(
    failure: GeoverifyError, p: Path, sniffed: str, size: int, bmff: BmffScan | None
) -> GeoverifyError:
    """Name the cause of a worker failure when the boxes show it: an MP4 without its index."""
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
        return MediaError(msg, code="E_CONTAINER_TRUNCATED", hint=hint)
    return failure


def _not_a_video(raw: RawContainer, p: Path) -> MediaError | None:
    """Return the error for a still image or a container without video (``None``: a video)."""
    if raw.format_name in IMAGE_DEMUXERS:
        msg = f"{str(p)!r} is a still image (demuxer {raw.format_name}), not a video"
        return MediaError(msg, code="E_INPUT_IS_IMAGE", hint="Give a video file.")
    if raw.video_index is None:
        kinds = ", ".join(sorted({s.kind for s in raw.streams})) or "none"
        msg = f"{str(p)!r} has no video stream ({raw.video_reason}; streams: {kinds})"
        return MediaError(msg, code="E_NO_VIDEO_STREAM", hint="Give a file that contains video.")
    return None


def _completeness(raw: RawContainer, bmff: BmffScan | None, size: int) -> tuple[bool | None, str]:
    """Whether the file holds all its video data (``None``: cannot tell), and why not."""
    vs = raw.streams[raw.video_index] if raw.video_index is not None else None
    complete: bool | None = None
    note = ""
    if bmff is not None and bmff.overruns:
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
        from geoverify._gpmf import device_name

        name = device_name(raw.gpmf_payloads)
        if name and name.lower() != "camera":  # HERO5 and Karma write the generic "Camera"
            device = dataclasses.replace(device, model=sanitize_text(name))
    return device


def _read(
    p: Path, limits: DecodeLimits, bmff: BmffScan | None, then: FollowUp | None
) -> tuple[RawContainer, tuple[Any, ...] | None]:
    """Read the container in the worker (and run the job after it, when there is one)."""
    if then is None:
        raw: RawContainer = run_isolated(read_container, str(p), limits, limits=limits)
        return raw, None
    tkhd_rotation = bmff.moov_rotation_deg if bmff else None
    both: tuple[RawContainer, tuple[Any, ...] | None] = run_isolated(
        read_container_then,
        str(p),
        limits,
        then.func,
        then.args,
        tkhd_rotation,
        limits=limits,
        progress=then.progress,
        on_item=then.on_item,
    )
    return both


def _find_sidecar(video: Path) -> Path | None:
    try:
        names = {q.name: q for q in video.parent.iterdir()}
    except OSError:
        return None
    for _name, q in sorted(names.items()):
        if q.stem == video.stem and q.suffix.lower() == ".srt" and q != video:
            return q
    return None


def _telemetry(
    video: Path,
    given: str | os.PathLike[str] | None,
    gps: GpsTrack | None,
    video_duration_s: float | None,
) -> tuple[TelemetryFile | None, GpsTrack | None, list[CreationTime], list[CameraDirection],
           list[Note]] | None:  # fmt: skip
    """Read the DJI SRT telemetry of ``video`` (given, or the sidecar with its name)."""
    from geoverify.probing._srt import parse_srt

    path = Path(os.fspath(given)) if given is not None else _find_sidecar(video)
    if path is None:
        return None
    found_by = "given (--telemetry)" if given is not None else "sidecar with the video's name"
    try:
        srt = parse_srt(path)
    except GeoverifyError as exc:
        if given is not None:
            raise
        note = Note(
            code="W_TELEMETRY_UNREADABLE",
            message=sanitize_text(f"the sidecar {path.name!r} was not read: {exc.message}"),
            field="gps_track",
        )
        return None, None, [], [], [note]
    digest = srt.sha256
    notes = list(srt.notes)
    if given is not None:
        how = (
            "given by the user as this video's telemetry (--telemetry), a separate file: "
            "anyone can edit it, and nothing in it or in the video ties the two together"
        )
    else:
        how = (
            "found beside the video with its name, a separate file: anyone can edit it, and "
            "only its name ties it to this video"
        )
    notes.append(
        Note(
            code="W_TELEMETRY_SIDECAR",
            message=sanitize_text(
                f"the GPS track comes from {path.name!r}, {how} (SHA-256 {digest})"
            ),
            field="gps_track",
        )
    )
    notes += _duration_notes(path.name, srt.duration_s, video_duration_s)
    track = None
    if srt.fixes:
        track = GpsTrack(
            source=f"DJI SRT telemetry {path.name}",
            fixes=srt.fixes,
            sample_count=len(srt.fixes),
            first_time_utc=None,
            last_time_utc=None,
            truncated=any(n.code == "W_TELEMETRY_TRUNCATED" for n in srt.notes),
        )
        if gps is not None:
            notes.append(
                Note(
                    code="W_TWO_TRACKS",
                    message="the file has its own GPS track and a DJI sidecar: the embedded "
                    "track is used, the sidecar's is not",
                    field="gps_track",
                )
            )
    times = []
    first_local = next((f.time_local for f in srt.fixes if f.time_local), None)
    if first_local is not None:
        times.append(
            CreationTime(
                source=f"DJI SRT first cue (aircraft clock, local time, no zone): {path.name}",
                raw=first_local,
                utc=None,  # a wall clock in an unknown zone: no instant is claimed
                zone_stated=False,
                local_offset=None,
                local_time=first_local,
            )
        )
    directions = [
        CameraDirection(
            source=f"DJI SRT gimbal yaw, first cue ({path.name})",
            kind="view",
            bearing_deg=f.gimbal_pry_deg[2] % 360,
            reference="unknown",
        )
        for f in srt.fixes[:1]
        if f.gimbal_pry_deg is not None
    ]
    info = TelemetryFile(
        path=sanitize_text(str(path)),
        sha256=digest,
        format="DJI SRT",
        cues=srt.cues,
        fixes=len(srt.fixes),
        found_by=found_by,
        duration_s=srt.duration_s,
    )
    return info, track, times, directions, notes


# a DJI sidecar ends within a cue (a frame, or a second in the oldest format) of its video
_TELEMETRY_SLACK_S = 2.0
_TELEMETRY_SLACK_FRACTION = 0.05


def _duration_notes(name: str, srt_s: float | None, video_s: float | None) -> list[Note]:
    """Warn when the telemetry's cues end far from the video's end."""
    if srt_s is None or video_s is None:
        return []
    tolerance_s = max(_TELEMETRY_SLACK_S, _TELEMETRY_SLACK_FRACTION * video_s)
    if abs(srt_s - video_s) <= tolerance_s:
        return []
    return [
        Note(
            code="W_TELEMETRY_DURATION_MISMATCH",
            message=sanitize_text(
                f"the cues of {name!r} run to {srt_s:.1f} s but the video lasts {video_s:.1f} s "
                f"(more than the {tolerance_s:.1f} s a sidecar and its video differ by): the "
                "telemetry belongs to another or a longer recording, or one of the two was cut; "
                "positions at the frames' times may be another moment's"
            ),
            field="gps_track",
        )
    ]


def _probe_still(p: Path, sniffed: str, extension: str, now: datetime) -> MediaInfo:
    """Describe a photograph: identity, size, orientation and its EXIF claims."""
    from geoverify._images import MAX_IMAGE_BYTES, read_image_bytes
    from geoverify.probing._exif import read_still

    data, digest = read_image_bytes(p)
    try:
        found = read_still(data, sniffed, max_pixels=60_000_000)
    except GeoverifyError as exc:
        exc.input_sha256 = digest
        raise
    still, times, notes = found.still, found.times, list(found.notes)
    expected = {"jpeg": ("jpg", "jpeg", "jpe", "jfif"), "png": ("png",), "heic": ("heic", "heif")}
    if extension and extension not in expected.get(still.format, (extension,)):
        notes.append(
            Note(
                code="W_EXTENSION_MISMATCH",
                message=sanitize_text(
                    f"the name ends in .{extension} but the bytes are {still.format}; the file "
                    "was renamed or mislabelled"
                ),
                field="container",
            )
        )
    for t in times:
        # a local time (no zone) is in the future only if it is in every zone
        instant = t.read_as_utc()
        slack = timedelta(days=1) if t.utc is not None else timedelta(days=1, hours=14)
        if instant is not None and instant > now + slack:
            notes.append(
                Note(
                    code="W_TIME_IMPLAUSIBLE",
                    message=sanitize_text(f"{t.source} {t.raw!r} is in the future"),
                    field="creation",
                )
            )
    from PIL import __version__ as pillow_version

    return MediaInfo(
        schema=PROBE_SCHEMA,
        path=sanitize_text(os.fspath(p)),
        local_path=os.fspath(p),
        size_bytes=len(data),
        sha256=digest,
        container=ContainerInfo(
            format_sniffed=still.format,
            demuxer=still.decoder,
            demuxer_long_name=f"still image read by {still.decoder}",
            extension=extension,
            major_brand=None,
            duration_s=None,
            start_time_s=None,
            bit_rate=None,
        ),
        video=None,
        audio=(),
        data_streams=(),
        creation_times=times,
        locations=found.locations,
        device=found.device,
        gps_track=None,
        media_data_complete=found.data_complete,
        tags=found.tags,
        notes=tuple(notes),
        decoder_versions={"Pillow": pillow_version, "max_image_bytes": str(MAX_IMAGE_BYTES)},
        still=still,
        directions=found.directions,
    )
