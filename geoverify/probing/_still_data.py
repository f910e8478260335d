"""Whether a photograph holds all its image data, read from the file's own structure.

A photo cut short (a download that stopped, a partial copy) can still open: its header and
EXIF come first, and decoders fill the missing part of the picture with a solid colour or
refuse the file, depending on the library and its version. So geoverify decides from the
bytes, never from what a decoder raises:

- JPEG (ITU-T T.81, Annex B): the marker segments are walked from SOI by their lengths (an
  EXIF thumbnail inside APP1 is skipped with it); each scan's entropy-coded data runs to the
  next marker that is not a stuffed ``FF 00`` or a restart marker ``FF D0``-``FF D7``. The
  image data is complete when EOI (``FF D9``) follows the last scan. With restart markers
  (DRI), the share of the picture present is counted from them.
- PNG (ISO/IEC 15948, 5.3): chunks are walked by their lengths; the data is complete when
  IEND is reached with every IDAT whole.
- HEIF (ISO/IEC 23008-12 on ISO/IEC 14496-12): the ``meta`` box locates every item (``iloc``);
  the primary item (``pitm``) and, for a grid, its tiles (``iref`` ``dimg``) are the picture.
  An item whose extents end past the end of the file is missing. A ``meta`` box that is itself
  cut short locates nothing: no picture and no EXIF can be read (an error, not a warning).

Nothing here decodes pixels.
"""

from __future__ import annotations

import dataclasses
import re
import struct

from geoverify.models import Note

_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_JPEG_RST = re.compile(rb"\xff[\xd0-\xd7]")
# a coded image item of a HEIF file (not a derivation such as a grid or an overlay)
_DERIVED = frozenset({"grid", "iovl", "iden"})
_MAX_ITEMS = 100_000


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ImageData:
    """What the structure of a photo says about its image data.

    Attributes
    ----------
    complete
        ``True`` when every byte of the picture the file describes is present.
    usable
        ``False`` when nothing can be read at all (a HEIF whose ``meta`` box is cut: neither the
        picture nor the EXIF can be located): the file is then refused.
    problem
        What is missing and where, with byte counts ("" when complete).
    exif_lost
        A HEIF's EXIF item lies past the end of the file: the capture claims are gone.
    """

    complete: bool
    usable: bool = True
    problem: str = ""
    exif_lost: bool = False


def image_data(data: bytes, fmt: str) -> ImageData:
    """Check that ``data``, a ``jpeg``, ``png`` or ``heic`` file's bytes, holds its picture."""
    if fmt == "jpeg":
        return _jpeg(data)
    if fmt == "png":
        return _png(data)
    if fmt in ("heic", "heif"):
        return _heif(data)
    return ImageData(complete=True)


def data_missing_notes(data: bytes) -> tuple[Note, ...]:
    """Return the ``W_MEDIA_DATA_MISSING`` note of a photo's bytes, if its data is cut short.

    The note ``probe`` gives the same file, for the stages that decode a photo without it
    (``frames``).
    """
    from geoverify.probing._sniff import sniff_container

    fmt = sniff_container(data[:16])
    found = image_data(data, "heic" if fmt == "heif" else fmt)
    if found.complete:
        return ()
    return (Note(code="W_MEDIA_DATA_MISSING", message=found.problem, field="container"),)


def closed_jpeg(data: bytes) -> bytes:
    """Return a JPEG whose image data is cut short with its end-of-image marker added.

    libjpeg then decodes what is there and fills the rest of the picture with grey in every
    version (without it, some builds refuse the file and others fill it): a cut photo decodes
    the same everywhere, and the ``W_MEDIA_DATA_MISSING`` note says what is missing. Other
    bytes (a whole JPEG, a PNG) are returned unchanged.
    """
    if data[:2] != b"\xff\xd8":
        return data
    found = _jpeg(data)
    return data if found.complete or not found.usable else data + b"\xff\xd9"


# --- JPEG -----------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _JpegWalk:
    """Where the walk through a JPEG's segments is, and what it has seen."""

    data: bytes
    pos: int = 2  # after SOI
    scans: int = 0
    restart_interval: int = 0
    mcus: int = 0  # of a sequential (top to bottom) frame; 0 when unknown or progressive
    exif: bool = False  # an APP1 EXIF segment is whole


def _jpeg(data: bytes) -> ImageData:
    walk = _JpegWalk(data)
    while True:
        found = _jpeg_step(walk)
        if found is not None:
            return found


def _jpeg_step(w: _JpegWalk) -> ImageData | None:
    """Take the walk past one marker (and a scan's data); the verdict when it ends there."""
    data, end = w.data, len(w.data)
    # fill bytes (FF FF ...) may precede a marker (T.81 B.1.1.2)
    while w.pos + 1 < end and data[w.pos] == 0xFF and data[w.pos + 1] == 0xFF:
        w.pos += 1
    if w.pos + 2 > end:
        return _jpeg_cut(data, w.pos, w.scans, w.exif)
    if data[w.pos] != 0xFF:
        return ImageData(
            complete=False,
            usable=w.scans > 0 or w.exif,
            problem=f"the JPEG's structure breaks at byte {w.pos:,} (no marker where one "
            "must be): the picture after it cannot be read",
        )
    marker = data[w.pos + 1]
    if marker == 0xD9:  # EOI
        if w.scans == 0:
            return ImageData(
                complete=False, usable=w.exif, problem="the JPEG ends before any image data"
            )
        return ImageData(complete=True)
    if marker in _NO_LENGTH:
        w.pos += 2
        return None
    if w.pos + 4 > end or w.pos + 2 + _u16(data, w.pos + 2) > end:
        return _jpeg_cut(data, w.pos, w.scans, w.exif)
    _jpeg_segment(w, marker)
    if marker != 0xDA:  # SOS: its entropy-coded data follows the header
        return None
    return _jpeg_scan(w)


def _jpeg_segment(w: _JpegWalk, marker: int) -> None:
    """Note what a whole segment says (EXIF, restart interval, frame size) and step past it."""
    data, pos = w.data, w.pos
    length = max(2, _u16(data, pos + 2))  # a length below 2 is no segment: step past it
    w.exif = w.exif or (marker == 0xE1 and data[pos + 4 : pos + 10] == b"Exif\x00\x00")
    if marker == 0xDD and length >= 4:  # DRI
        w.restart_interval = _u16(data, pos + 4)
    elif marker in (0xC0, 0xC1):  # SOF0, SOF1: sequential, coded top to bottom
        w.mcus = _mcu_count(data, pos + 4, length - 2)
    w.pos += 2 + length


def _jpeg_scan(w: _JpegWalk) -> ImageData | None:
    """Step over a scan's entropy-coded data to the next marker (the verdict if there is none)."""
    w.scans += 1
    found = _JPEG_MARKER.search(w.data, w.pos)
    if found is None:
        share = _share(w.data, w.pos, w.restart_interval, w.mcus) if w.scans == 1 else ""
        return ImageData(
            complete=False,
            problem=f"the JPEG's image data stops at byte {len(w.data):,}, inside scan "
            f"{w.scans}, with no end-of-image marker: the file is cut short{share}; the rest "
            "of the picture is missing (decoders fill it with a solid colour, or refuse it)",
        )
    w.pos = found.start()
    return None


# markers without a length: TEM, RST0-7, SOI, EOI
_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xDA)})


def _u16(data: bytes, at: int) -> int:
    return int(struct.unpack_from(">H", data, at)[0])


def _share(data: bytes, scan_start: int, restart_interval: int, mcus: int) -> str:
    """Say how much of a sequential picture its restart markers show present ("" if none)."""
    if not (restart_interval and mcus):
        return ""
    done = min(len(_JPEG_RST.findall(data, scan_start)) * restart_interval, mcus)
    return (
        f"; its restart markers show {done:,} of the picture's {mcus:,} coded blocks (MCUs) "
        f"present: about the top {100 * done // mcus}% (it is coded top to bottom)"
    )


def _jpeg_cut(data: bytes, pos: int, scans: int, exif: bool) -> ImageData:
    end = len(data)
    where = (
        f"inside the segment of marker FF{data[pos + 1]:02X} at byte {pos:,}"
        if pos + 1 < end
        else "before the end-of-image marker"
    )
    if scans:
        what = f"after {scans} scan(s) of image data: part of the picture may be missing"
    elif exif:
        what = "before any image data: no picture is present (the EXIF is whole)"
    else:
        what = "before any image data and before a whole EXIF segment: nothing can be read"
    return ImageData(
        complete=False,
        usable=bool(scans) or exif,
        problem=f"the JPEG is cut short at byte {end:,}, {where}, {what}",
    )


def _mcu_count(data: bytes, at: int, length: int) -> int:
    """Count the MCUs of a frame header (SOF) body at ``at``; 0 when it cannot tell."""
    if length < 6:
        return 0
    height, width, components = struct.unpack_from(">HHB", data, at + 1)
    if length < 6 + 3 * components or not (height and width and components):
        return 0
    samplings = [data[at + 6 + 3 * i + 1] for i in range(components)]
    h_max = max(s >> 4 for s in samplings) or 1
    v_max = max(s & 0x0F for s in samplings) or 1
    if components == 1:  # a single component is not interleaved: 8x8 blocks (T.81 A.2.2)
        h_max = v_max = 1
    return int(-(-width // (8 * h_max)) * -(-height // (8 * v_max)))


# --- PNG ------------------------------------------------------------------------------------------


def _png(data: bytes) -> ImageData:
    pos, end = 8, len(data)
    while pos + 8 <= end:
        length, kind = struct.unpack_from(">I4s", data, pos)
        chunk_end = pos + 12 + length
        if chunk_end > end:
            return ImageData(
                complete=False,
                problem=f"the PNG is cut short: chunk {kind.decode('latin-1')!r} at byte "
                f"{pos:,} declares {length:,} bytes, but the file ends "
                f"{chunk_end - end:,} bytes earlier; the rest of the picture is missing",
            )
        if kind == b"IEND":
            return ImageData(complete=True)
        pos = chunk_end
    return ImageData(
        complete=False,
        problem=f"the PNG ends at byte {end:,} without its IEND chunk: the file is cut short",
    )


# --- HEIF -----------------------------------------------------------------------------------------


def _boxes(buf: bytes, start: int, end: int) -> list[tuple[str, int, int, int]]:
    """(type, start, payload start, declared end) of each box in ``buf[start:end]``.

    The last box may declare an end past ``end`` (a cut file); a box with an impossible size
    ends the walk.
    """
    out = []
    pos = start
    while pos + 8 <= end:
        size, kind_b = struct.unpack_from(">I4s", buf, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                out.append((kind_b.decode("latin-1"), pos, pos + 16, pos + 16))
                break
            size = struct.unpack_from(">Q", buf, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            out.append((kind_b.decode("latin-1"), pos, pos + header, -1))
            break
        out.append((kind_b.decode("latin-1"), pos, pos + header, pos + size))
        pos += size
    return out


@dataclasses.dataclass(slots=True)
class _Meta:
    primary: int | None = None
    types: dict[int, str] = dataclasses.field(default_factory=dict)
    derived_from: dict[int, list[int]] = dataclasses.field(default_factory=dict)
    # item id -> [(file offset, length)] of items stored in the file itself (iloc method 0)
    extents: dict[int, list[tuple[int, int]]] = dataclasses.field(default_factory=dict)


def _heif(data: bytes) -> ImageData:
    size = len(data)
    top = _boxes(data, 0, size)
    overrun = next(((k, s, e) for k, s, _, e in top if e < 0 or e > size), None)
    meta = next(((p, e) for k, _, p, e in top if k == "meta"), None)
    if meta is None or meta[1] < 0 or meta[1] > size:
        where = _overrun_text(overrun, size) if overrun is not None else "it has no meta box"
        return ImageData(
            complete=False,
            usable=False,
            problem=f"the HEIF file cannot be read: {where}; its item index (meta box) is "
            "incomplete, so neither the picture nor the EXIF can be located",
        )
    try:
        info = _read_meta(data, meta[0] + 4, meta[1])  # meta is a full box: skip version/flags
    except (struct.error, ValueError, IndexError):
        if overrun is None:
            return ImageData(complete=True)
        return ImageData(
            complete=False,
            problem=f"the file is cut short: {_overrun_text(overrun, size)}; the item index "
            "cannot be read to say which part of the picture is missing",
        )
    return _heif_verdict(info, size, overrun)


def _overrun_text(overrun: tuple[str, int, int], size: int) -> str:
    kind, start, end = overrun
    if end < 0:
        return f"box {kind!r} at byte {start:,} declares an impossible size"
    return (
        f"box {kind!r} at byte {start:,} declares {end - start:,} bytes, but the file ends "
        f"{end - size:,} bytes earlier"
    )


def _heif_verdict(info: _Meta, size: int, overrun: tuple[str, int, int] | None) -> ImageData:
    coded = _coded_items(info)
    exif = [i for i, t in info.types.items() if t == "Exif"]
    missing = [i for i in coded if _missing_bytes(info.extents.get(i, []), size)]
    exif_lost = any(_missing_bytes(info.extents.get(i, []), size) for i in exif)
    if not missing and not exif_lost and overrun is None:
        return ImageData(complete=True)
    parts = []
    if overrun is not None:
        parts.append(f"the file is cut short: {_overrun_text(overrun, size)}")
    parts += _primary_parts(info, coded, missing, size)
    if exif_lost:
        parts.append("the EXIF item lies past the end: its capture claims are lost")
    usable = len(missing) < len(coded) or (bool(exif) and not exif_lost)
    return ImageData(
        complete=not missing and overrun is None,
        usable=usable,
        problem="; ".join(parts),
        exif_lost=exif_lost,
    )


def _primary_parts(info: _Meta, coded: list[int], missing: list[int], size: int) -> list[str]:
    """Say how much of the primary image's data is there."""
    kind = "tiles" if len(coded) > 1 else "item"
    if missing and len(missing) == len(coded):
        return ["the primary image's data lies past the end: no picture is present"]
    if missing:
        total = sum(length for i in coded for _, length in info.extents.get(i, []))
        lost = sum(_missing_bytes(info.extents.get(i, []), size) for i in coded)
        return [
            f"{len(missing)} of the primary image's {len(coded)} {kind} ({lost:,} of its "
            f"{total:,} bytes) reach past the end: that part of the picture is missing "
            "(decoders fill it with a solid colour, or refuse it)"
        ]
    if coded:
        return [f"the primary image's {len(coded)} {kind} are whole"]
    return []


def _missing_bytes(extents: list[tuple[int, int]], size: int) -> int:
    return sum(max(0, offset + length - max(offset, size)) for offset, length in extents)


def _coded_items(info: _Meta) -> list[int]:
    """List the coded items of the primary image (itself, or a grid's tiles, recursively)."""
    if info.primary is None:
        return []
    out: list[int] = []
    todo: list[int] = [info.primary]
    seen: set[int] = set()
    while todo and len(seen) < _MAX_ITEMS:
        item = todo.pop()
        if item in seen:
            continue
        seen.add(item)
        if info.types.get(item) in _DERIVED:
            todo += reversed(info.derived_from.get(item, []))
        else:
            out.append(item)
    return out


def _uint(buf: bytes, at: int, size: int) -> int:
    if size == 0:
        return 0
    if at + size > len(buf):
        raise IndexError(at)
    return int.from_bytes(buf[at : at + size], "big")


def _read_meta(buf: bytes, start: int, end: int) -> _Meta:
    info = _Meta()
    for kind, _, payload, box_end in _boxes(buf, start, end):
        if box_end < 0 or box_end > end:
            break
        version = buf[payload]
        body = payload + 4
        if kind == "pitm":
            info.primary = _uint(buf, body, 2 if version == 0 else 4)
        elif kind == "iinf":
            _read_iinf(buf, body + (2 if version == 0 else 4), box_end, info)
        elif kind == "iref":
            _read_iref(buf, body, box_end, 2 if version == 0 else 4, info)
        elif kind == "iloc":
            _read_iloc(buf, body, version, info)
    return info


def _read_iinf(buf: bytes, start: int, end: int, info: _Meta) -> None:
    for kind, _, payload, box_end in _boxes(buf, start, end)[:_MAX_ITEMS]:
        if kind != "infe" or box_end < 0 or box_end > end:
            continue
        version = buf[payload]
        if version < 2:
            continue  # versions 0 and 1 carry no item type
        id_size = 2 if version == 2 else 4
        item = _uint(buf, payload + 4, id_size)
        at = payload + 4 + id_size + 2  # after item_protection_index
        info.types[item] = buf[at : at + 4].decode("latin-1")


def _read_iref(buf: bytes, start: int, end: int, id_size: int, info: _Meta) -> None:
    for kind, _, payload, box_end in _boxes(buf, start, end)[:_MAX_ITEMS]:
        if kind != "dimg" or box_end < 0 or box_end > end:
            continue
        source = _uint(buf, payload, id_size)
        count = _uint(buf, payload + id_size, 2)
        at = payload + id_size + 2
        info.derived_from[source] = [_uint(buf, at + id_size * i, id_size) for i in range(count)]


def _read_iloc(buf: bytes, at: int, version: int, info: _Meta) -> None:
    sizes = _uint(buf, at, 2)
    offset_size, length_size = sizes >> 12, (sizes >> 8) & 0xF
    base_size, index_size = (sizes >> 4) & 0xF, sizes & 0xF if version in (1, 2) else 0
    at += 2
    count = _uint(buf, at, 2 if version < 2 else 4)
    at += 2 if version < 2 else 4
    for _ in range(min(count, _MAX_ITEMS)):
        item = _uint(buf, at, 2 if version < 2 else 4)
        at += 2 if version < 2 else 4
        method = 0
        if version in (1, 2):
            method = _uint(buf, at, 2) & 0xF
            at += 2
        reference = _uint(buf, at, 2)
        base = _uint(buf, at + 2, base_size)
        at += 2 + base_size
        extent_count = _uint(buf, at, 2)
        at += 2
        extents = []
        for _ in range(extent_count):
            at += index_size
            offset = _uint(buf, at, offset_size)
            length = _uint(buf, at + offset_size, length_size)
            at += offset_size + length_size
            extents.append((base + offset, length))
        # only data in this file, by file offset (method 0, data reference 0); a length of 0
        # means "to the end of the data" (ISO/IEC 14496-12, 8.11.3): it cannot overrun
        if method == 0 and reference == 0:
            info.extents[item] = [(o, n) for o, n in extents if n > 0]
