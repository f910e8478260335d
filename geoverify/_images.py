"""Reference and frame images as untrusted files: size from the header, then decode.

PNG and JPEG are decoded by OpenCV, HEIC by Pillow with pillow-heif (``decode_with_pillow``).
What a photo's structure says about missing data is ``geoverify.probing``'s (it closes a cut
JPEG before decoding and names what a HEIC lacks: ``probing.decode_photo``).
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import warnings
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
    return decode_png_jpeg(data, Path(os.fspath(path)), max_pixels), digest


def decode_png_jpeg(data: bytes, p: Path, max_pixels: int) -> Image:
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


def pillow_image() -> Any:
    """Return Pillow's ``Image`` module with pillow-heif's HEIF opener registered."""
    from PIL import Image as PilImage

    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:  # pragma: no cover - a core dependency
        pass
    return PilImage


def pixel_limit_error(data: bytes, max_pixels: int, pillow_says: str) -> LimitError:
    """Return the ``E_LIMIT_PIXELS`` error for an image Pillow refuses as a decompression bomb."""
    size = image_size(data)  # PNG and JPEG headers (OpenCV's loader)
    if size is not None and size[0] * size[1] > max_pixels:
        msg = f"the image is {size[0]}x{size[1]}, above the {max_pixels:,}-pixel limit"
    else:  # above Pillow's own limit (MAX_IMAGE_PIXELS, twice over), whatever max_pixels says
        msg = f"the image has more pixels than Pillow opens: {pillow_says[:200]}"
    return LimitError(msg, code="E_LIMIT_PIXELS", hint="Scale the image down first.")


def decode_with_pillow(data: bytes, *, max_pixels: int, damage: str = "") -> Image:
    """Decode a still image (HEIC) with Pillow and pillow-heif to an upright BGR array.

    The EXIF orientation is applied; the size is checked before decoding. ``damage`` says what
    the file's structure shows is missing, for the error when the image cannot be decoded.

    Raises
    ------
    LimitError
        ``E_LIMIT_PIXELS`` above ``max_pixels`` (or Pillow's own limit).
    MediaError
        ``E_IMAGE_INVALID`` when it cannot be decoded.
    """
    image_mod = pillow_image()
    from PIL import ImageOps

    try:
        with warnings.catch_warnings(), image_mod.open(io.BytesIO(data)) as im:
            warnings.simplefilter("ignore")  # probe has reported them as notes
            if im.size[0] * im.size[1] > max_pixels:
                msg = f"the image is {im.size[0]}x{im.size[1]}, above the pixel limit"
                raise LimitError(msg, code="E_LIMIT_PIXELS", hint="Scale the image down first.")
            upright = ImageOps.exif_transpose(im).convert("RGB")
            rgb = np.asarray(upright)
    except LimitError:
        raise
    except image_mod.DecompressionBombError as exc:
        raise pixel_limit_error(data, max_pixels, str(exc)) from None
    except Exception as exc:
        why = damage or "truncated or corrupt"
        msg = f"the image cannot be decoded ({type(exc).__name__}): {why}"
        raise MediaError(
            msg, code="E_IMAGE_INVALID", hint="The file is truncated or corrupt."
        ) from None
    return np.ascontiguousarray(rgb[:, :, ::-1])


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
