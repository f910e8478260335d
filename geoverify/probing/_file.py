"""The file probe reads, parent side: checked, sniffed, hashed while the worker reads it.

``open_file`` refuses what the first bytes show is no video, walks an MP4's boxes (bounded, pure
Python) and records the size and time the file had; ``FileHash`` computes its SHA-256 on a
thread while the worker reads it; ``check_unchanged`` refuses a file that changed while it was
read.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from geoverify._media import check_local_file, sha256_file
from geoverify.errors import GeoverifyError, InputError, MediaError
from geoverify.probing._sniff import (
    STILL_IMAGES,
    BmffScan,
    is_photo_head,
    scan_bmff,
    sniff_container,
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MediaFile:
    """What probe knows of a file before the worker reads it.

    Attributes
    ----------
    given
        The path as the caller gave it (reports show it).
    local
        The checked local path.
    size_bytes, mtime_ns
        Size and modification time when it was opened (``check_unchanged`` compares them).
    sniffed
        The format its first bytes show (``_sniff.sniff_container``).
    extension
        Its name's extension, lower case, without the dot.
    photo
        The first bytes are those of a photograph geoverify reads (JPEG, PNG, HEIC).
    bmff
        The MP4/QuickTime/HEIF box walk (``None`` for other formats).
    """

    given: str
    local: Path
    size_bytes: int
    mtime_ns: int
    sniffed: str
    extension: str
    photo: bool
    bmff: BmffScan | None

    @property
    def tkhd_rotation_deg(self) -> int | None:
        """The rotation in the track header's matrix (MP4/QuickTime), if any."""
        return self.bmff.moov_rotation_deg if self.bmff is not None else None


def aware_now(now: datetime | None) -> datetime:
    """Return ``now``, the clock when ``None``; a naive time is refused."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        msg = "now must be timezone-aware"
        raise InputError(msg, code="E_NAIVE_DATETIME", hint="Pass datetime(..., tzinfo=UTC).")
    return now


def open_file(
    path: str | os.PathLike[str], *, telemetry: str | os.PathLike[str] | None = None
) -> MediaFile:
    """Check ``path`` is a local regular file and sniff it; refuse what is no video or photo.

    Raises
    ------
    InputError
        Missing, empty, unreadable or non-regular file; ``telemetry`` given for a photo.
    MediaError
        A still image geoverify does not read, a web page or a playlist.
    """
    p = check_local_file(path)
    st = p.stat()
    with open(p, "rb") as fh:
        head = fh.read(512)
    sniffed = sniff_container(head)
    photo = is_photo_head(head)
    if photo and telemetry is not None:
        msg = "--telemetry is for a video; a photo carries its own EXIF"
        raise InputError(msg, code="E_INPUT_OPTION", hint="Leave --telemetry out.")
    if not photo:
        _refuse_by_head(p, sniffed)
    bmff = None
    if not photo and sniffed in ("mp4", "quicktime", "heif"):
        bmff = scan_bmff(p, st.st_size)
    return MediaFile(
        given=os.fspath(path),
        local=p,
        size_bytes=st.st_size,
        mtime_ns=st.st_mtime_ns,
        sniffed=sniffed,
        extension=p.suffix.lower().lstrip("."),
        photo=photo,
        bmff=bmff,
    )


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


class FileHash:
    """A file's SHA-256, computed on a thread while the worker reads the file.

    Use as a context manager around the worker call (hashlib releases the GIL); ``digest``
    waits for the hash and tells ``progress`` it is done; ``failed`` gives a worker error the
    file's hash, its cause named when the boxes show it (an MP4 without its index).
    """

    def __init__(
        self, file: MediaFile, progress: Callable[[int, int | None], None] | None = None
    ) -> None:
        self.file = file
        self.progress = progress
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self._future = self._pool.submit(sha256_file, file.local)
        self._told = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True)

    def digest(self) -> str:
        """Wait for the hash; the first call tells ``progress`` (all bytes hashed)."""
        value = self._future.result()
        if self.progress is not None and not self._told:
            self._told = True
            self.progress(self.file.size_bytes, self.file.size_bytes)
        return value

    def failed(self, failure: GeoverifyError) -> GeoverifyError:
        """Return the worker's error explained, with the file's hash."""
        failure = _explained(failure, self.file)
        failure.input_sha256 = self.digest()
        return failure


def _explained(failure: GeoverifyError, file: MediaFile) -> GeoverifyError:
    """Name the cause of a worker failure when the boxes show it: an MP4 without its index."""
    if (
        file.bmff is not None
        and "moov" not in file.bmff.boxes
        and failure.code in ("E_INPUT_NOT_MEDIA", "E_DECODER_ERROR")
    ):
        msg = (
            f"{str(file.local)!r} is a truncated {file.sniffed.upper()}: its index (moov box) "
            f"is missing; {file.size_bytes} bytes present"
        )
        hint = "The download stopped early; fetch the complete file."
        return MediaError(msg, code="E_CONTAINER_TRUNCATED", hint=hint)
    return failure


def check_unchanged(file: MediaFile, sha256: str) -> None:
    """Refuse a file whose size or modification time changed since ``open_file``."""
    st = file.local.stat()
    if (st.st_size, st.st_mtime_ns) != (file.size_bytes, file.mtime_ns):
        msg = f"{str(file.local)!r} changed while it was being probed"
        hint = "Wait until the download or copy has finished, then probe again."
        raise InputError(msg, code="E_INPUT_CHANGED", hint=hint, input_sha256=sha256)
