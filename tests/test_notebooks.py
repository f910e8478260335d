"""Every notebook in notebooks/ runs from top to bottom with `jupyter nbconvert --execute`, as a
reader would run it; the walkthrough's probe results show what an analyst reads (decimal degrees,
accuracy, direction, device, a video's GPS track), checked against exiftool's reading."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXIFTOOL = shutil.which("exiftool")
TOL_DEG = 1e-6  # the repr prints 6 decimal places
PHOTO = ROOT / "tests" / "data" / "photos" / "immich_IMG_2682.heic"
DRONE = ROOT / "samples" / "karma" / "karma.mp4"


def _execute(path, tmp_path):
    """Run ``jupyter nbconvert --execute`` on a copy; return the executed notebook."""
    cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
           "--ExecutePreprocessor.timeout=600", "--ExecutePreprocessor.kernel_name=python3",
           "--output-dir", str(tmp_path), "--output", path.stem, str(path)]  # fmt: skip
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return nbformat.read(tmp_path / path.name, as_version=4)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    return {p.name: _execute(p, tmp_path_factory.mktemp(p.stem)) for p in NOTEBOOKS}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, executed):
    nb = executed[path.name]
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html_outputs = [o for o in outputs if "text/html" in o.get("data", {})]
    assert len(html_outputs) >= 6  # media info x3, frame, check result, report


def _html_of(nb, source_start):
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(source_start))
    return next(o["data"]["text/html"] for o in cell.outputs if "text/html" in o.get("data", {}))


def _exiftool(*args):
    out = subprocess.run(
        [EXIFTOOL, "-json", "-n", *args], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)[0]


def _degrees(text):
    return [(float(a), float(b)) for a, b in re.findall(r"(-?\d+\.\d{6}), (-?\d+\.\d{6})", text)]


@pytest.mark.slow
@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is the independent reading")
def test_a_photos_repr_reads_as_exiftool_does(executed):
    page = _html_of(executed["walkthrough.ipynb"], "photo = geoverify.probe")
    ref = _exiftool(
        "-GPSLatitude", "-GPSLongitude", "-GPSHPositioningError", "-GPSImgDirection",
        "-Make", "-Model", str(PHOTO),
    )  # fmt: skip
    [(lat, lon)] = _degrees(page)
    assert abs(lat - ref["GPSLatitude"]) <= TOL_DEG
    assert abs(lon - ref["GPSLongitude"]) <= TOL_DEG
    assert f"accuracy {ref['GPSHPositioningError']:.0f} m" in page
    assert f"{ref['GPSImgDirection']:.1f} deg from true north" in page
    assert f"{ref['Make']} {ref['Model']}" in page
    # the file's own degrees, minutes and seconds beside them, as exiftool prints them
    dms = subprocess.run(
        [EXIFTOOL, "-json", "-GPSLatitude", "-GPSLongitude", str(PHOTO)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    said = json.loads(dms)[0]
    written = [
        "{}° {}′ {}″ {}".format(*re.fullmatch(r"(\d+) deg (\d+)' ([\d.]+)\" ([NSEW])", v).groups())
        for v in (said["GPSLatitude"], said["GPSLongitude"])
    ]
    assert f"as written: {written[0]}, {written[1]}" in page


@pytest.mark.slow
@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is the independent reading")
def test_a_videos_repr_summarises_its_gps_track(executed):
    page = _html_of(executed["walkthrough.ipynb"], "drone = geoverify.probe")
    out = subprocess.run(
        [EXIFTOOL, "-ee", "-n", "-p", "$GPSLatitude $GPSLongitude", str(DRONE)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # exiftool -ee -p prints one line per telemetry payload: its last sample, as a fix is
    fixes = [tuple(map(float, line.split())) for line in out.splitlines() if line.strip()]
    assert f"{len(fixes)} fixes of" in page
    first, last = _degrees(page)
    for shown, ref in ((first, fixes[0]), (last, fixes[-1])):
        assert abs(shown[0] - ref[0]) <= TOL_DEG
        assert abs(shown[1] - ref[1]) <= TOL_DEG


@pytest.mark.slow
def test_the_triage_cell_names_the_landmark(executed):
    nb = executed["walkthrough.ipynb"]
    cell = next(c for c in nb.cells if c.cell_type == "code" and "triage(" in c.source)
    text = "".join(o.get("text", "") for o in cell.outputs)
    assert "matched Berliner Dom in 1 of 1 frame" in text
    result = next(o["data"]["text/plain"] for o in cell.outputs if "data" in o)
    assert result == "'no hypothesis stated'"
