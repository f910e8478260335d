"""Reference and frame images as untrusted files: size from the header, then decode."""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path
from typing import Any

import cv2 as _cv2
import numpy as np
import numpy.typing as npt

from geoverify._io import limit_error, read_regular_file
from geoverify.errors import LimitError, MediaError

Image = npt.NDArray[np.uint8]
# OpenCV's bundled stubs do not describe its feature and matcher factories; used untyped here.
cv2: Any = _cv2


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header without decoding, or ``None`` if unknown."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:2] == b"\xff\xd8":
        pos = 2
        while pos + 9 < len(data):
            if data[pos] != 0xFF:
                return None
            marker = data[pos + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                pos += 2
                continue
            length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[pos + 5 : pos + 9])
                return int(w), int(h)
            pos += 2 + length
    return None


def load_image(path: str | os.PathLike[str], *, max_pixels: int = 60_000_000) -> Image:
    """Decode a PNG or JPEG file as BGR after checking its size in the header.

    Raises
    ------
    MediaError
        Not a PNG or JPEG, or undecodable (``E_IMAGE_INVALID``).
    LimitError
        Larger than ``max_pixels`` (``E_LIMIT_PIXELS``), checked before decoding.
    """
    return read_image(path, max_pixels)[0]


MAX_IMAGE_BYTES = 256 * 2**20  # a photograph; a larger file is refused, not read


def read_image(path: str | os.PathLike[str], max_pixels: int) -> tuple[Image, str]:
    """``load_image`` and the SHA-256 of the bytes that were decoded.

    Only a regular file of at most ``MAX_IMAGE_BYTES`` is read (``LimitError``
    ``E_LIMIT_FILE_SIZE`` beyond).
    """
    data, digest = read_image_bytes(path)
    return _decode_png_jpeg(data, Path(os.fspath(path)), max_pixels), digest


def _decode_png_jpeg(data: bytes, p: Path, max_pixels: int) -> Image:
    """Decode PNG or JPEG bytes with OpenCV after checking the size in their header."""
    size = image_size(data)
    if size is None:
        msg = f"{str(p)!r} is not a PNG or JPEG image"
        raise MediaError(msg, code="E_IMAGE_INVALID", hint="Use PNG or JPEG reference images.")
    if size[0] * size[1] > max_pixels or size[0] <= 0 or size[1] <= 0:
        msg = f"{str(p)!r} claims {size[0]}x{size[1]} pixels, over the limit"
        raise LimitError(msg, code="E_LIMIT_PIXELS", hint="Scale the image down first.")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        msg = f"{str(p)!r} could not be decoded"
        raise MediaError(msg, code="E_IMAGE_INVALID", hint="The file is corrupt.")
    return np.asarray(image, dtype=np.uint8)


def read_image_bytes(path: str | os.PathLike[str]) -> tuple[bytes, str]:
    """Read a regular image file of at most ``MAX_IMAGE_BYTES``: its bytes and their SHA-256."""
    p = Path(os.fspath(path))
    data = read_regular_file(p, max_bytes=MAX_IMAGE_BYTES, what="image", error=limit_error)
    return data, hashlib.sha256(data).hexdigest()


def read_photo(path: str | os.PathLike[str], max_pixels: int = 60_000_000) -> tuple[Image, str]:
    """Decode a photograph (JPEG, PNG or HEIC) upright as BGR, with the SHA-256 of its bytes.

    JPEG and PNG are decoded by OpenCV as in ``read_image`` (it applies the EXIF orientation),
    HEIC by pillow-heif (``ImageOps.exif_transpose``); the size is checked before decoding.
    """
    data, digest = read_image_bytes(path)
    return decode_photo(data, path, max_pixels), digest


def decode_photo(data: bytes, path: str | os.PathLike[str], max_pixels: int = 60_000_000) -> Image:
    """Decode a photograph's bytes (``read_photo``); ``path`` names it in errors.

    A JPEG whose image data is cut short is closed with its end-of-image marker first, so every
    libjpeg build decodes what is there and fills the rest with grey (some refuse the cut file,
    others fill it); ``probing._still_data`` finds what is missing, from the bytes.
    """
    if image_size(data) is not None:
        from geoverify.probing._still_data import closed_jpeg

        return _decode_png_jpeg(closed_jpeg(data), Path(os.fspath(path)), max_pixels)
    from geoverify.probing._exif import decode_still

    image: Image = decode_still(data, max_pixels=max_pixels)
    return image


def tilted_view(image: Image, tilt: float, rotation_deg: float) -> Image:
    """Return a synthetic steep view of ``image``: rotated ``rotation_deg``, squeezed ``tilt``x.

    ASIFT's camera model of a distant view ``arccos(1 / tilt)`` from the perpendicular (tilt
    4: about 76 degrees), for the benchmarks and tests of the affine pass; deterministic
    (OpenCV's area interpolation), black outside the picture.
    """
    h, w = image.shape[:2]
    c, s = np.cos(np.radians(rotation_deg)), np.sin(np.radians(rotation_deg))
    a = np.array([[c / tilt, -s / tilt], [s, c]])
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], float) @ a.T
    low, high = corners.min(axis=0), corners.max(axis=0)
    m = np.hstack([a, (-low)[:, None]])
    size = (int(np.ceil(high[0] - low[0])), int(np.ceil(high[1] - low[1])))
    return np.asarray(_cv2.warpAffine(image, m, size, flags=_cv2.INTER_AREA, borderValue=0))
