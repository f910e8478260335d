"""GPS track export (``probe --track``): well-formed GPX/KML and valid UTF-8 from any file name.

A video's file name becomes the track's name; names carrying characters XML 1.0 does not allow
(a vertical tab, ESC, U+FFFE) or bytes that are not UTF-8 (read back as lone surrogates) must
still give a GPX/KML that an XML parser reads, and GeoJSON/CSV that decode as UTF-8.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import xml.etree.ElementTree as ET

import pytest
from conftest import KARMA
from typer.testing import CliRunner

from geoverify.cli import app
from geoverify.probing import probe
from geoverify.probing._track import TRACK_FORMATS, export_track

runner = CliRunner()

# a vertical tab, a terminal escape, a non-character, an undecodable byte (surrogateescape), NUL
HOSTILE_NAMES = ["v\x0bt", "e\x1b[31m", "x\ufffe", "bad_\udcff", "n\x00ul\x01\ufffft"]


@pytest.fixture(scope="module")
def karma_track():
    track = probe(KARMA).gps_track
    assert track is not None
    assert len(track.fixes) > 10
    return track


def _check(data: bytes, fmt: str, fixes: int) -> str:
    """Parse one export; return its name as written."""
    text = data.decode("utf-8")  # strict: a lone surrogate would have failed to encode
    if fmt == "gpx":
        ns = {"g": "http://www.topografix.com/GPX/1/1"}
        root = ET.fromstring(data)
        assert len(root.findall(".//g:trkpt", ns)) == fixes
        return root.findtext(".//g:trk/g:name", namespaces=ns) or ""
    if fmt == "kml":
        ns = {"k": "http://www.opengis.net/kml/2.2"}
        root = ET.fromstring(data)
        assert len(root.findall(".//k:Point", ns)) == fixes
        return root.findtext("k:Document/k:name", namespaces=ns) or ""
    if fmt == "geojson":
        doc = json.loads(text)
        assert len(doc["features"]) == fixes + 1
        return str(doc["features"][0]["properties"]["name"])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == fixes
    return ""


def _xml_char(ch: str) -> bool:
    """A Char of XML 1.0 (https://www.w3.org/TR/xml/#charsets); CR is read back as LF."""
    cp = ord(ch)
    return cp in (9, 10) or 0x20 <= cp <= 0xD7FF or 0xE000 <= cp <= 0xFFFD or cp >= 0x10000


@pytest.mark.parametrize("fmt", TRACK_FORMATS)
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_track_names_give_parseable_files(karma_track, fmt, name):
    data = export_track(karma_track, fmt, name=name)
    written = _check(data, fmt, len(karma_track.fixes))
    # what cannot be written is marked U+FFFD, not dropped silently
    if fmt in ("gpx", "kml"):
        assert written == "".join(ch if _xml_char(ch) else "\ufffd" for ch in name)
    elif fmt == "geojson":
        assert written == name.replace("\udcff", "\ufffd")


@pytest.mark.parametrize("fmt", ["gpx", "kml"])
@pytest.mark.parametrize("stem", ["v\x0bt", "e\x1b[31m", "x\ufffe", "bad_\udcff"])
def test_probe_track_out_from_a_hostile_file_name(tmp_path, stem, fmt):
    video = tmp_path / f"{stem}.mp4"
    shutil.copyfile(KARMA, video)
    out = tmp_path / f"t.{fmt}"
    result = runner.invoke(app, ["probe", str(video), "--track", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    ET.parse(out)  # well-formed
    out.read_bytes().decode("utf-8")


def test_every_fix_keeps_its_utc_time_in_every_format(tmp_path):
    """GoPro Max (GPSU per payload): each exported fix carries its time, read back equal."""
    from datetime import datetime

    import gpxpy
    from conftest import VIDEO_DATA

    video = VIDEO_DATA / "max-heromode.mp4"
    track = probe(video).gps_track
    assert track is not None
    want = [f.time_utc for f in track.fixes]
    assert len(want) == 11
    assert all(t is not None for t in want)
    got = {}
    for fmt in TRACK_FORMATS:
        out = tmp_path / f"t.{fmt}"
        result = runner.invoke(app, ["probe", str(video), "--track", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        got[fmt] = out.read_text(encoding="utf-8")
    points = gpxpy.parse(got["gpx"]).tracks[0].segments[0].points
    assert [p.time for p in points] == want  # gpxpy's UTC compares equal to timezone.utc
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    whens = [e.text or "" for e in ET.fromstring(got["kml"]).iterfind(".//k:TimeStamp/k:when", ns)]
    assert [datetime.fromisoformat(w) for w in whens] == want
    rows = list(csv.DictReader(io.StringIO(got["csv"])))
    assert [datetime.fromisoformat(r["time_utc"]) for r in rows] == want
    features = json.loads(got["geojson"])["features"][1:]
    assert [datetime.fromisoformat(f["properties"]["time_utc"]) for f in features] == want
