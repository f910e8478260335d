"""EXIF tags as text, named as in the EXIF 2.32 tables (``probe`` lists every tag it read)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from geoverify.models import sanitize_text
from geoverify.probing._model import MAX_TAG_CHARS, MetadataTag

IFD_EXIF = 0x8769
IFD_GPS = 0x8825
IFD_INTEROP = 0xA005

# pointers to other IFDs: offsets inside the file, not claims
_POINTERS = frozenset({IFD_EXIF, IFD_GPS, IFD_INTEROP})
_BINARY_SHOWN_BYTES = 64
# EXIF 2.32's name where Pillow gives TIFF/EP's (0x9214 is SubjectLocation there, like 0xa214)
_EXIF_TAGS = {0x9214: "SubjectArea"}
_INTEROP_TAGS = {1: "InteropIndex", 2: "InteropVersion", 0x1000: "RelatedImageFileFormat",
                 0x1001: "RelatedImageWidth", 0x1002: "RelatedImageHeight"}  # fmt: skip


def exif_tags(ifds: tuple[tuple[str, Mapping[int, Any]], ...]) -> tuple[MetadataTag, ...]:
    """Return every EXIF tag of the given IFDs as text, named as in the EXIF 2.32 tables.

    Rationals are written exactly (``27704/249``, with their decimal value), binary values as
    hexadecimal up to 64 bytes, and longer ones (a maker note) by their length only.
    """
    from PIL.ExifTags import GPSTAGS, TAGS

    out = []
    for scope, ifd in ifds:
        names = {"EXIF GPS": GPSTAGS, "EXIF Interop": _INTEROP_TAGS}.get(scope, TAGS | _EXIF_TAGS)
        for key in sorted(ifd):
            if key in _POINTERS and scope != "EXIF GPS":
                continue
            text = sanitize_text(_tag_text(ifd[key]))
            cut = None
            if len(text) > MAX_TAG_CHARS:
                cut, text = len(text), text[:MAX_TAG_CHARS]
            out.append(
                MetadataTag(
                    scope=scope,
                    key=names.get(key, f"0x{key:04x}"),
                    value=text,
                    truncated_from_chars=cut,
                )
            )
    return tuple(out)


def _tag_text(value: Any) -> str:
    if isinstance(value, bytes):
        body = value.rstrip(b"\x00")
        if body and all(32 <= b < 127 or b in (9, 10, 13) for b in body):
            return body.decode("ascii")
        if len(value) <= _BINARY_SHOWN_BYTES:
            return "0x" + value.hex()
        return f"(binary, {len(value):,} bytes)"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_tag_text(v) for v in value) + ")"
    numerator, denominator = getattr(value, "numerator", None), getattr(value, "denominator", None)
    if isinstance(numerator, int) and isinstance(denominator, int) and not isinstance(value, int):
        if denominator == 1:
            return str(numerator)
        if denominator == 0:
            return f"{numerator}/0 (no value)"
        return f"{numerator}/{denominator} (= {numerator / denominator:.10g})"
    if isinstance(value, str):
        return value.rstrip("\x00")
    return str(value)
