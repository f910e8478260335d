"""An image bomb (a header claiming billions of pixels) is one diagnosis everywhere.

``probe``, ``frames`` and ``verify`` all call it a resource limit (``E_LIMIT_PIXELS``, exit 6),
read from the header before any pixel is decoded, never "not a readable image" (exit 3), even
when the header is beyond the size Pillow itself refuses to open.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from geoverify.cli import app
from geoverify.errors import LimitError
from geoverify.probing import probe

runner = CliRunner()
BERLIN = ROOT / "samples" / "berlin"


def _png(path: Path, width: int, height: int) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (width + 1))  # one row; the rest is missing
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat))
    return path


def _jpeg(path: Path, width: int, height: int) -> Path:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    path.write_bytes(b"\xff\xd8" + app0 + sof0 + b"\xff\xd9")
    return path


# 60000x60000 and 65000x65000: over Pillow's own limit (it raises DecompressionBombError);
# 10000x10000: over geoverify's 60-megapixel limit only
BOMBS = [("png", 60000, 60000), ("jpg", 65000, 65000), ("png", 10000, 10000)]


@pytest.mark.parametrize(("ext", "width", "height"), BOMBS)
def test_probe_calls_an_image_bomb_a_pixel_limit(tmp_path, ext, width, height):
    make = _png if ext == "png" else _jpeg
    bomb = make(tmp_path / f"bomb.{ext}", width, height)
    with pytest.raises(LimitError) as raised:
        probe(bomb)
    assert raised.value.code == "E_LIMIT_PIXELS"
    assert f"{width}x{height}" in raised.value.message


@pytest.mark.parametrize(
    "command",
    [
        ["probe"],
        ["frames", "--out", "{tmp}/f"],
        [
            "verify",
            "--registry",
            str(BERLIN / "registry.geojson"),
            "--claims",
            str(BERLIN / "claims.yaml"),
            "--out",
            "{tmp}/v",
        ],
    ],
    ids=["probe", "frames", "verify"],
)
def test_every_command_gives_exit_6(tmp_path, command):
    bomb = _png(tmp_path / "bomb.png", 60000, 60000)
    args = [command[0], str(bomb), *(a.replace("{tmp}", str(tmp_path)) for a in command[1:])]
    result = runner.invoke(app, args)
    assert result.exit_code == 6, result.output
    assert "[E_LIMIT_PIXELS]" in result.stderr
    assert "not a readable image" not in result.stderr
