"""Make the tampered copy of C.jpg: one bit flipped in the middle of its image data.

Deterministic: the JPEG's segments are walked from the start to the primary image's
start-of-scan (SOS) marker; the byte flipped is the first one from the middle of the scan data
on that is neither 0x00, 0xFE nor 0xFF and does not follow 0xFF (so no marker is made or
broken). C2PA's hard binding (``c2pa.hash.data``) covers these bytes, so validation then
fails with ``assertion.dataHash.mismatch``.

Usage: python tests/data/c2pa/make_tampered.py OUT.jpg (the tests call ``tampered`` instead).
"""

from __future__ import annotations

import sys
from pathlib import Path

SOURCE = Path(__file__).with_name("C.jpg")


def scan_start(data: bytes) -> int:
    """Return the offset of the first byte of the primary image's entropy-coded scan."""
    if data[:2] != b"\xff\xd8":
        msg = "not a JPEG"
        raise ValueError(msg)
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            msg = f"no marker at byte {pos}"
            raise ValueError(msg)
        marker = data[pos + 1]
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:  # SOS: its header, then the scan
            return pos + 2 + length
        pos += 2 + length
    msg = "no start-of-scan marker"
    raise ValueError(msg)


def tampered(data: bytes) -> tuple[bytes, int]:
    """Return ``data`` with one bit flipped in its image data, and the offset of that byte."""
    start = scan_start(data)
    end = data.rindex(b"\xff\xd9")
    pos = start + (end - start) // 2
    while data[pos] in (0x00, 0xFE, 0xFF) or data[pos - 1] == 0xFF:
        pos += 1
    out = bytearray(data)
    out[pos] ^= 0x01
    return bytes(out), pos


if __name__ == "__main__":
    changed, offset = tampered(SOURCE.read_bytes())
    Path(sys.argv[1]).write_bytes(changed)
    print(f"flipped bit 0 of byte {offset}")  # noqa: T201
