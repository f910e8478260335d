"""Recognising a container from its bytes; ISO BMFF box walking (see ``geoverify.probing``)."""

from __future__ import annotations

import dataclasses
import math
import struct
from pathlib import Path

from geoverify.probing._model import (
    MAX_MOOV_BYTES,
)

# --- sniffing ----------------------------------------------------------------------------------

_QT_BRANDS = {"qt  "}
EXTENSIONS = {
    "mp4": {"mp4", "m4v", "mov", "3gp", "3g2", "m4a"},
    "quicktime": {"mov", "mp4", "qt", "m4v"},
    "matroska": {"mkv", "mka", "mk3d"},
    "webm": {"webm", "mkv"},
    "avi": {"avi"},
    "mpegts": {"ts", "mts", "m2ts", "tsv"},
    "flv": {"flv"},
    "ogg": {"ogg", "ogv"},
    "asf": {"wmv", "asf"},
    "mpegps": {"mpg", "mpeg", "vob"},
}
STILL_IMAGES = {"jpeg", "png", "gif", "webp", "bmp", "tiff"}


# magic numbers, in the order they are tried (after ISO BMFF, Matroska, RIFF and MPEG-TS)
_PREFIXES: tuple[tuple[tuple[bytes, ...], str], ...] = (
    ((b"FLV",), "flv"),
    ((b"OggS",), "ogg"),
    ((b"\x30\x26\xb2\x75\x8e\x66\xcf\x11",), "asf"),
    ((b"\x00\x00\x01\xba",), "mpegps"),
    ((b"\xff\xd8\xff",), "jpeg"),
    ((b"\x89PNG\r\n\x1a\n",), "png"),
    ((b"GIF87a", b"GIF89a"), "gif"),
    ((b"BM",), "bmp"),
    ((b"II*\x00", b"MM\x00*"), "tiff"),
    ((b"ID3", b"\xff\xfb", b"\xff\xf3", b"fLaC"), "audio"),
)
_RIFF_FORMS = {b"AVI ": "avi", b"WEBP": "webp", b"WAVE": "wav"}
# text that is saved instead of a video (after leading white space, lower-cased)
_TEXT_PREFIXES: tuple[tuple[tuple[bytes, ...], str], ...] = (
    ((b"<!doctype html", b"<html", b"<?xml", b"<svg"), "html/xml"),
    ((b"#extm3u",), "playlist"),
)
_QT_TOP_BOXES = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def _sniff_bmff(head: bytes) -> str | None:
    """``mp4``, ``quicktime`` or ``heif`` from an ISO BMFF file's first box, else ``None``."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12].decode("latin-1")
        if brand in _QT_BRANDS:
            return "quicktime"
        if brand.startswith(("hei", "mif1", "avif", "msf1")):
            return "heif"
        return "mp4"
    if len(head) >= 8 and head[4:8] in _QT_TOP_BOXES:
        return "quicktime"
    return None


def sniff_container(head: bytes) -> str:
    """Name the format from the first bytes of a file."""
    bmff = _sniff_bmff(head)
    if bmff is not None:
        return bmff
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else "matroska"
    if head.startswith(b"RIFF") and head[8:12] in _RIFF_FORMS:
        return _RIFF_FORMS[head[8:12]]
    if len(head) > 376 and head[0] == 0x47 and head[188] == 0x47 and head[376] == 0x47:
        return "mpegts"
    for prefixes, name in _PREFIXES:
        if head.startswith(prefixes):
            return name
    stripped = head.lstrip().lower()
    for prefixes, name in _TEXT_PREFIXES:
        if stripped.startswith(prefixes):
            return name
    return "unknown"


@dataclasses.dataclass(frozen=True, slots=True)
class BmffScan:
    boxes: tuple[str, ...]
    overruns: bool
    moov_rotation_deg: int | None


def scan_bmff(path: Path, size: int) -> BmffScan:
    """Walk top-level ISO BMFF boxes; read the first video track's tkhd matrix from moov."""
    boxes: list[str] = []
    overruns = False
    rotation: int | None = None
    with open(path, "rb") as fh:
        pos = 0
        while pos + 8 <= size and len(boxes) < 10000:
            fh.seek(pos)
            header = fh.read(16)
            if len(header) < 8:
                break
            box_size, kind_b = struct.unpack(">I4s", header[:8])
            kind = kind_b.decode("latin-1")
            header_len = 8
            if box_size == 1 and len(header) >= 16:
                box_size = struct.unpack(">Q", header[8:16])[0]
                header_len = 16
            elif box_size == 0:
                box_size = size - pos
            if box_size < header_len:
                overruns = True
                break
            boxes.append(kind)
            if pos + box_size > size:
                overruns = True
                break
            if kind == "moov" and box_size <= MAX_MOOV_BYTES and rotation is None:
                fh.seek(pos + header_len)
                rotation = _tkhd_rotation(fh.read(box_size - header_len))
            pos += box_size
    return BmffScan(tuple(boxes), overruns, rotation)


def _children(buf: bytes, start: int, end: int) -> list[tuple[str, int, int]]:
    out = []
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", buf, pos)
        hlen = 8
        if size == 1 and pos + 16 <= end:
            size = struct.unpack_from(">Q", buf, pos + 8)[0]
            hlen = 16
        if size < hlen or pos + size > end:
            break
        out.append((kind.decode("latin-1"), pos + hlen, pos + size))
        pos += size
    return out


def _tkhd_rotation(moov: bytes) -> int | None:
    """Clockwise display rotation from the tkhd matrix of the first video track."""
    for kind, start, end in _children(moov, 0, len(moov)):
        if kind != "trak":
            continue
        parts = {k: (s, e) for k, s, e in _children(moov, start, end)}
        if "tkhd" not in parts or "mdia" not in parts:
            continue
        mdia = {k: (s, e) for k, s, e in _children(moov, *parts["mdia"])}
        if "hdlr" not in mdia:
            continue
        hs, _ = mdia["hdlr"]
        if moov[hs + 8 : hs + 12] != b"vide":
            continue
        ts, te = parts["tkhd"]
        version = moov[ts]
        matrix_at = ts + (52 if version == 1 else 40)
        if matrix_at + 36 > te:
            return None
        a, b, _u, c, d, _v = struct.unpack_from(">iiiiii", moov, matrix_at)
        # Matrix [a b; c d] in 16.16 fixed point maps stored to displayed pixels; for a
        # clockwise turn by theta, a = cos(theta), b = sin(theta).
        if a == b == c == d == 0:
            return None
        angle = math.degrees(math.atan2(b / 65536.0, a / 65536.0))
        return round(angle / 90.0) * 90 % 360
    return None


# ISO base media major brands of a HEIF still image (not a video or an image sequence)
HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"mif1")


def is_photo_head(head: bytes) -> bool:
    """Whether a file's first bytes are a photograph geoverify reads: JPEG, PNG or HEIC."""
    sniffed = sniff_container(head)
    return sniffed in ("jpeg", "png") or (sniffed == "heif" and head[8:12] in HEIC_BRANDS)
