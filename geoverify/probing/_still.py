"""Photographs (JPEG, PNG, HEIC): their ``MediaInfo``, and their pixels decoded as read.

``probe_still`` describes a photo from its header and EXIF (``_exif``); ``decode_photo``
decodes it upright, knowing its structure (``_still_data``): a JPEG cut short is closed with
its end-of-image marker first, and a HEIC that cannot be decoded says what is missing.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from geoverify.errors import GeoverifyError
from geoverify.models import Note, sanitize_text
from geoverify.probing._file import MediaFile
from geoverify.probing._model import PROBE_SCHEMA, ContainerInfo, CreationTime, MediaInfo
from geoverify.probing._sniff import sniff_container
from geoverify.probing._still_data import closed_jpeg, image_data

if TYPE_CHECKING:  # OpenCV loads with the first photo decoded, not with probing
    from geoverify._images import Image

_EXTENSIONS = {"jpeg": ("jpg", "jpeg", "jpe", "jfif"), "png": ("png",), "heic": ("heic", "heif")}


def probe_still(file: MediaFile, now: datetime) -> MediaInfo:
    """Describe a photograph: identity, size, orientation and its EXIF claims."""
    from PIL import __version__ as pillow_version

    from geoverify._images import MAX_IMAGE_BYTES, read_image_bytes
    from geoverify.probing._exif import read_still

    data, digest = read_image_bytes(file.local)
    try:
        found = read_still(data, file.sniffed, max_pixels=60_000_000)
    except GeoverifyError as exc:
        exc.input_sha256 = digest
        raise
    still, extension = found.still, file.extension
    notes = list(found.notes)
    if extension and extension not in _EXTENSIONS.get(still.format, (extension,)):
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
    notes += _future_notes(found.times, now)
    return MediaInfo(
        schema=PROBE_SCHEMA,
        path=sanitize_text(os.fspath(file.local)),
        local_path=os.fspath(file.local),
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
        creation_times=found.times,
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


def _future_notes(times: tuple[CreationTime, ...], now: datetime) -> list[Note]:
    """Flag capture times in the future (a local time only if it is in every zone)."""
    notes = []
    for t in times:
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
    return notes


def read_photo(path: str | os.PathLike[str], max_pixels: int = 60_000_000) -> tuple[Image, str]:
    """Decode a photograph (JPEG, PNG or HEIC) upright as BGR, with the SHA-256 of its bytes.

    JPEG and PNG are decoded by OpenCV as in ``geoverify._images.read_image`` (it applies the
    EXIF orientation), HEIC by pillow-heif (``ImageOps.exif_transpose``); the size is checked
    before decoding.
    """
    from geoverify._images import read_image_bytes

    data, digest = read_image_bytes(path)
    return decode_photo(data, path, max_pixels), digest


def decode_photo(data: bytes, path: str | os.PathLike[str], max_pixels: int = 60_000_000) -> Image:
    """Decode a photograph's bytes (``read_photo``); ``path`` names it in errors.

    A JPEG whose image data is cut short is closed with its end-of-image marker first, so every
    libjpeg build decodes what is there and fills the rest with grey (some refuse the cut file,
    others fill it); ``_still_data`` finds what is missing, from the bytes.
    """
    from geoverify._images import decode_png_jpeg, decode_with_pillow, image_size

    if image_size(data) is not None:
        return decode_png_jpeg(closed_jpeg(data), Path(os.fspath(path)), max_pixels)
    damage = image_data(data, sniff_container(data[:16])).problem
    return decode_with_pillow(data, max_pixels=max_pixels, damage=damage)
