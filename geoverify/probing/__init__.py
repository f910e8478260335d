"""Stage 1, probe: what a video or photo file is and what it claims about itself.

Input: a path to a local video file (untrusted). Output: a frozen ``MediaInfo`` with the file's
identity (size, SHA-256, container sniffed from its bytes), its streams (the video stream used
and why, codec, stored and display size, rotation, exact frame rates, variable frame rate,
duration from timestamps), every capture claim found (creation times with and without a zone,
ISO 6709 locations, device, GoPro GPMF GPS), and trust notes with stable codes.

Nothing here decodes media in this process: the demuxer and decoder run in the isolated
worker (``geoverify._worker``), which reads the container with ``probing._container``. The
parent only reads the file's first bytes and, for MP4/QuickTime, walks its box headers
(bounded, pure Python) to sniff the format, find truncation and read the track matrix
(``probing._file``). ``describe`` is pure: what the worker read becomes the ``MediaInfo``
(``probing._describe``). ``geoverify.footage`` composes the same steps with frame selection in
one worker job.

Photographs (JPEG, PNG, HEIC) are read by ``geoverify.probing._exif`` (Pillow and pillow-heif,
headers only); ``geoverify.probing._still_data`` checks from their structure that their image
data is all there. A DJI flight's ``.SRT`` sidecar (same name as the video, or given as
``telemetry``) is read by ``geoverify.probing._srt`` into the same GPS-track model as GoPro GPMF.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime

from geoverify._media import DecodeLimits, sha256_file
from geoverify._worker import run_isolated
from geoverify.errors import GeoverifyError
from geoverify.probing._c2pa import (
    ContentCredentials,
    CredentialAction,
    CredentialIngredient,
    read_trust_anchors as read_trust_anchors,
    with_credentials as with_credentials,
)
from geoverify.probing._claims import parse_iso6709
from geoverify.probing._container import (
    PacketLog as PacketLog,
    RawContainer as RawContainer,
    has_video as has_video,
    read_container as read_container,
)
from geoverify.probing._describe import describe as describe, not_a_video as not_a_video
from geoverify.probing._file import (
    FileHash as FileHash,
    MediaFile as MediaFile,
    aware_now as aware_now,
    check_unchanged as check_unchanged,
    open_file as open_file,
)
from geoverify.probing._model import (
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
from geoverify.probing._notes import video_info as video_info
from geoverify.probing._sidecar import SidecarRead as SidecarRead, read_sidecar as read_sidecar
from geoverify.probing._sniff import is_photo_head as is_photo_head
from geoverify.probing._still import (
    decode_photo as decode_photo,
    probe_still as probe_still,
    read_photo as read_photo,
)
from geoverify.probing._still_data import data_missing_notes as data_missing_notes
from geoverify.probing._track import frame_cameras as frame_cameras

# ``X as X``: the steps of ``probe``, for ``geoverify.footage`` (the frame scan in the same
# worker job) and the stages after probe; importable from here, not part of ``__all__``.
__all__ = [
    "AudioStreamInfo",
    "CameraDirection",
    "ContainerInfo",
    "ContentCredentials",
    "CreationTime",
    "CredentialAction",
    "CredentialIngredient",
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
    trust_anchors: str | os.PathLike[str] | None = None,
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
    trust_anchors
        A PEM file of the certificate authorities the analyst trusts, to decide whether the
        file's content credentials (C2PA) are ``trusted``; none is bundled. The manifest is
        read and validated offline either way (``content_credentials``).

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
    now = aware_now(now)
    trust_pem = read_trust_anchors(trust_anchors) if trust_anchors is not None else None
    file = open_file(path, telemetry=telemetry)
    if file.photo:
        return with_credentials(probe_still(file, now), trust_pem=trust_pem)
    with FileHash(file, progress) as hashing:
        try:
            raw: RawContainer = run_isolated(read_container, str(file.local), limits, limits=limits)
        except GeoverifyError as exc:
            raise hashing.failed(exc) from None
        digest = hashing.digest()
    media = finish_probe(raw, file, sha256=digest, now=now, telemetry=telemetry)
    return with_credentials(media, trust_pem=trust_pem)


def finish_probe(
    raw: RawContainer,
    file: MediaFile,
    *,
    sha256: str,
    now: datetime,
    telemetry: str | os.PathLike[str] | None,
) -> MediaInfo:
    """``describe`` the container read, with the telemetry beside it; the file must not change.

    Errors in ``probe``'s order: no video, a given telemetry file that cannot be read, the file
    changed while it was read; each carries the file's hash.
    """
    problem = not_a_video(raw, file, sha256)
    if problem is not None:
        raise problem
    try:
        sidecar = read_sidecar(file.local, telemetry)
    except GeoverifyError as exc:
        exc.input_sha256 = sha256
        raise
    media = describe(raw, file, sha256=sha256, now=now, sidecar=sidecar)
    check_unchanged(file, sha256)
    return media
