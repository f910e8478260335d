"""Photos cut short: their missing image data is found from the file's own structure.

Each cut file is made here by slicing the bytes of a real photograph (a download that stopped
at 700 KB, at 5 KB, ...). Whatever the installed Pillow, pillow-heif or OpenCV does with such a
file (refuse it, or fill the missing part with a solid colour), probe says what is missing:
``W_MEDIA_DATA_MISSING`` when something usable remains (the EXIF is evidence), an error only when
nothing does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from conftest import BERLIN, DATA, ROOT

from geoverify import MediaError
from geoverify.probing import probe
from geoverify.probing._still_data import closed_jpeg, data_missing_notes, image_data

PHOTOS = DATA / "photos"
HEIC = PHOTOS / "immich_IMG_2682.heic"  # 880,703 bytes: meta box, then a 48-tile grid in mdat
CUT_AT = 700_000  # the size of the cut downloads


def _cut(src: Path, size: int, dst: Path) -> Path:
    """Write the first ``size`` bytes of ``src`` to ``dst`` (a download that stopped there)."""
    dst.write_bytes(src.read_bytes()[:size])
    return dst


def _codes(media) -> set[str]:
    return {n.code for n in media.notes}


def _note(media, code: str) -> str:
    return next(n.message for n in media.notes if n.code == code)


WHOLE = sorted(
    [
        *PHOTOS.glob("*.jpg"),
        *PHOTOS.glob("*.heic"),
        *BERLIN.glob("*.jpg"),
        *(ROOT / "geoverify" / "data" / "background").glob("*.jpg"),
        *(DATA / "image_matching").glob("*.png"),
    ]
)


@pytest.mark.parametrize("path", WHOLE, ids=lambda p: p.name)
def test_every_whole_photo_is_complete(path):
    fmt = {".jpg": "jpeg", ".heic": "heic", ".png": "png"}[path.suffix]
    assert image_data(path.read_bytes(), fmt).complete
    if fmt != "png":  # probe reads photos; the PNGs are registry-style reference images
        media = probe(path)
        assert media.media_data_complete is True
        assert "W_MEDIA_DATA_MISSING" not in _codes(media)


def test_a_jpeg_cut_at_700_kb_keeps_its_exif_and_says_its_picture_is_cut(tmp_path):
    cut = _cut(BERLIN / "berlin_01.jpg", CUT_AT, tmp_path / "cut.jpg")  # 1,414,236 bytes whole
    media = probe(cut)
    assert media.media_data_complete is False
    message = _note(media, "W_MEDIA_DATA_MISSING")
    assert "stops at byte 700,000, inside scan 1, with no end-of-image marker" in message
    (loc,) = media.locations  # the EXIF is evidence still
    assert loc.position is not None
    assert (round(loc.position.lat, 6), round(loc.position.lon, 6)) == (52.518917, 13.400294)


def test_the_share_of_a_cut_jpeg_present_is_counted_from_its_restart_markers(tmp_path):
    import cv2

    data = (PHOTOS / "apple_iphone6.jpg").read_bytes()[:1_295_350]  # half of 2,590,700 bytes
    (note,) = data_missing_notes(data)
    # 3264x2448 in 16x16 blocks (4:2:0): 204 x 153 = 31,212; a restart marker every 204 blocks
    assert "14,484 of the picture's 31,212 coded blocks (MCUs) present" in note.message
    assert "about the top 46%" in note.message
    # closed with its EOI, every libjpeg decodes it and fills the rest with grey: the rows
    # decoded reach at least the 71 block rows (1,136 px) the markers count, and no further
    # than the next row of blocks the cut falls in
    image = cv2.imdecode(np.frombuffer(closed_jpeg(data), np.uint8), cv2.IMREAD_COLOR)
    grey_rows = np.flatnonzero((image == 128).all(axis=(1, 2)))
    assert grey_rows.size
    assert (grey_rows == np.arange(grey_rows[0], 2448)).all()
    assert 71 * 16 <= grey_rows[0] <= 73 * 16
    whole = (BERLIN / "berlin_01.jpg").read_bytes()
    assert closed_jpeg(whole) == whole  # a whole JPEG is left as it is


def test_a_heic_cut_at_700_kb_keeps_its_exif_and_names_the_tiles_lost(tmp_path):
    cut = _cut(HEIC, CUT_AT, tmp_path / "cut.heic")
    media = probe(cut)  # an error before: the cut mdat box refused the whole file
    assert media.media_data_complete is False
    message = _note(media, "W_MEDIA_DATA_MISSING")
    # iloc: tiles 38-48 end past byte 700,000 (tile 38 spans 680,897 to 709,693)
    assert "11 of the primary image's 48 tiles (180,703 of its 858,259 bytes)" in message
    assert "box 'mdat' at byte 3,979 declares 876,724 bytes" in message
    (loc,) = media.locations
    assert loc.position is not None
    assert loc.accuracy_m == 10.0
    assert {t.source for t in media.creation_times} == {
        "EXIF DateTimeOriginal",
        "EXIF GPS date/time (UTC)",
    }


@pytest.mark.parametrize(
    ("src", "size", "why"),
    [
        (HEIC, 5_000, "the primary image's data lies past the end"),  # meta whole, mdat cut
        (HEIC, 22_000, "the EXIF item lies past the end"),  # EXIF item at 20,300 + 2,144
        (HEIC, 3_000, "its item index (meta box) is incomplete"),
        (PHOTOS / "apple_iphone6.jpg", 20_000, "before a whole EXIF segment"),
    ],
    ids=["heic_5k", "heic_22k", "heic_3k", "jpeg_20k"],
)
def test_nothing_usable_left_is_an_error_decided_by_the_bytes(tmp_path, src, size, why):
    cut = _cut(src, size, tmp_path / f"cut{src.suffix}")
    with pytest.raises(MediaError) as exc:
        probe(cut)
    assert exc.value.code == "E_IMAGE_INVALID"
    assert "nothing in the file can be read" in exc.value.message
    assert why in exc.value.message


def test_verify_carries_the_cut_into_the_report(tmp_path):
    from geoverify.pipeline import VerifyOptions, save_verification, verify

    berlin = ROOT / "samples" / "berlin"
    cut = _cut(HEIC, CUT_AT, tmp_path / "cut.heic")
    result = verify(
        cut,
        registry=berlin / "registry.geojson",
        claims=berlin / "claims.yaml",
        now=datetime(2026, 12, 1, tzinfo=UTC),
        options=VerifyOptions(),
    )
    save_verification(result, tmp_path / "r")
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert report["media"]["media_data_complete"] is False
    assert "W_MEDIA_DATA_MISSING" in {n["code"] for n in report["media"]["notes"]}
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "<b>W_MEDIA_DATA_MISSING</b>: the file is cut short" in html
    assert "<b>incomplete</b>" in html
    # the source section lists the photo's EXIF tags, and its time as the local time it is
    tags = report["media"]["tags"]
    assert len(tags) > 40
    assert f"All metadata tags ({len(tags)})" in html
    assert "2019:03:21 11:04:22 → 2019-03-21 11:04:22 (local, zone unknown)" in html
    assert "2019-03-21T11:04:22+00:00" not in html


def test_frames_and_verify_decode_a_cut_jpeg_and_say_so(tmp_path):
    """Needs the lead's patch to _images.read_photo and frames.still_selection."""
    from typer.testing import CliRunner

    from geoverify.cli import app
    from geoverify.pipeline import VerifyOptions, verify

    cut = _cut(BERLIN / "berlin_01.jpg", CUT_AT, tmp_path / "cut.jpg")
    out = tmp_path / "f"
    result = CliRunner().invoke(app, ["frames", str(cut), "--out", str(out)])
    assert result.exit_code == 0, result.output  # OpenCV 5 refused the cut file before
    assert "W_MEDIA_DATA_MISSING" in result.output
    manifest = json.loads((out / "frames.json").read_text(encoding="utf-8"))
    assert "W_MEDIA_DATA_MISSING" in {n["code"] for n in manifest["notes"]}
    berlin = ROOT / "samples" / "berlin"
    verified = verify(
        cut,
        registry=berlin / "registry.geojson",
        claims=berlin / "claims.yaml",
        now=datetime(2026, 12, 1, tzinfo=UTC),
        options=VerifyOptions(),
    )
    assert "W_MEDIA_DATA_MISSING" in {n.code for n in verified.report.media.notes}
