"""Interrupting a run: earlier outputs stay intact and no half-written file is left at a final
path (SIGINT exits 130; SIGKILL leaves only complete files or hidden temporary ones)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures import write_clip

FINAL_NAMES = ("frames.json", "contact_sheet.png", "contact_sheet.html")


def _start(clip: Path, out: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "geoverify",
        "frames",
        str(clip),
        "--out",
        str(out),
        "--every",
        "0.04",
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _staging(out: Path) -> list[Path]:
    """The temporaries a run into ``out`` builds beside it (``.out.PID.*.part``)."""
    return [p for p in out.parent.glob(f".{out.name}.*") if p.name.endswith((".part", ".old"))]


def _wait_for_decoding(out: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if _staging(out):
            return
        time.sleep(0.05)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    # 40 s at 25 fps of 320x240: long enough to interrupt while frames are being saved
    return write_clip(
        tmp_path_factory.mktemp("long") / "long.mp4", n_frames=1000, fps=25, width=320, height=240
    )


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_run_leaves_earlier_output_and_no_partial_file(tmp_path, long_clip, sig):
    out = tmp_path / "out"
    # an earlier, complete run into the same folder
    first = subprocess.run(
        [
            sys.executable,
            "-m",
            "geoverify",
            "frames",
            str(long_clip),
            "--out",
            str(out),
            "--every",
            "10",
        ],
        capture_output=True,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    proc = _start(long_clip, out)
    _wait_for_decoding(out, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    code = proc.returncode
    if sig == signal.SIGINT:
        assert code == 130, err.decode()
    else:
        assert code == -signal.SIGKILL
    after = {p.name: p for p in out.iterdir() if p.is_file() and not p.name.startswith(".")}
    # the earlier manifest and sheet are either untouched or wholly replaced, never cut
    manifest = json.loads(after["frames.json"].read_text())
    assert manifest["source"]["sha256"]
    for name in FINAL_NAMES:
        assert after[name].stat().st_size > 0
    for name, data in before.items():
        if name.startswith("f_"):
            assert (out / name).read_bytes() == data  # earlier frames intact
    if sig == signal.SIGINT:  # a clean interrupt also removes its staging folders
        assert not _staging(out)
    else:  # a killed run's staging folders are removed by the next run into the same place
        assert _staging(out)
        again = subprocess.run(
            [sys.executable, "-m", "geoverify", "frames", str(long_clip), "--out", str(out),
             "--every", "10"],
            capture_output=True,
            check=False,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert not _staging(out)
    os.sync()
