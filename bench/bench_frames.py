"""Benchmark: `geoverify frames` strategies against FFmpeg and PySceneDetect on the same file.

Builds bench/out/clip60.mp4: 60 s of 1080p30 H.264 (libx264, keyframe every 2 s, scene-cut
keyframes off, ~7 Mb/s) made from the real photographs in tests/data/image_matching, one shot
every 5 s (11 cuts at known frames) with slow camera motion inside each shot. Also a 600 s clip
(the same 60 s ten times) for the peak-memory comparison. Then times, medians of --runs:

  --keyframes (writing PNGs)  vs  ffmpeg -skip_frame nokey -i X -fps_mode passthrough out%04d.png
  --every 1                   vs  ffmpeg -i X -f null -            (a full decode)
  --scenes                    vs  scenedetect -i X detect-content  (PySceneDetect, bench env only)

and reports cut accuracy (found within +-1 frame of the truth, false cuts) and peak RSS.
Needs the ffmpeg CLI (Debian package ffmpeg) and `pip install scenedetect-headless` in the
environment that runs it; neither is a geoverify dependency.
Usage: python bench/bench_frames.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np
from _common import timed_command

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
IMAGES = ROOT / "tests" / "data" / "image_matching"
PHOTOS = ["aero1.jpg", "graf1.png", "box_in_scene.png", "aero3.jpg", "graf3.png", "box.png"]
FPS, SHOT_S, DURATION_S = 30, 5, 60
W, H = 1920, 1080


def _photo(name: str) -> np.ndarray:
    img = cv2.imdecode(np.fromfile(IMAGES / name, np.uint8), cv2.IMREAD_COLOR)
    scale = max((W + 400) / img.shape[1], (H + 200) / img.shape[0])
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)


def make_clip(path: Path, repeats: int = 1) -> list[int]:
    """Write the clip; return the true cut frames of one 60 s pass."""
    photos = [_photo(n) for n in PHOTOS]
    per_shot = SHOT_S * FPS
    n_shots = DURATION_S // SHOT_S
    cuts = [i * per_shot for i in range(1, n_shots)]
    if path.exists():
        return cuts
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {
            "preset": "veryfast",
            "g": str(2 * FPS),
            "keyint_min": str(2 * FPS),
            "sc_threshold": "0",
            "b": "7M",
        }
        for _ in range(repeats):
            for shot in range(n_shots):
                photo = photos[(shot * 5) % len(photos)]  # consecutive shots differ
                direction = 1 if shot % 2 == 0 else -1
                for i in range(per_shot):
                    x = 200 + direction * round(i * 1.2)
                    y = 100 + round(i * 0.3) * (1 if shot % 3 else -1) // 2
                    crop = photo[y : y + H, x : x + W]
                    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(crop), format="bgr24")
                    out.mux(stream.encode(frame))
        out.mux(stream.encode())
    tmp.rename(path)
    return cuts


def peak_rss_kib(cmd: list[str]) -> int:
    """Largest peak RSS (KiB) of the command or any process it waited for (its worker)."""
    with tempfile.NamedTemporaryFile() as fh:
        subprocess.run(
            ["/usr/bin/env", "python3", "-c", _RSS_PROBE, fh.name, *cmd],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return int(Path(fh.name).read_text())


_RSS_PROBE = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[2:], check=True); "
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))"
)


def cut_accuracy(found: list[int], truth: list[int]) -> tuple[int, int]:
    hits = sum(1 for t in truth if any(abs(f - t) <= 1 for f in found))
    false = sum(1 for f in found if all(abs(f - t) > 1 for t in truth))
    return hits, false


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    clip = OUT / "clip60.mp4"
    truth = make_clip(clip)
    long_clip = OUT / "clip600.mp4"
    make_clip(long_clip, repeats=10)
    geoverify = shutil.which("geoverify") or str(Path(sys.executable).parent / "geoverify")
    scenedetect = shutil.which("scenedetect") or str(Path(sys.executable).parent / "scenedetect")
    work = Path(tempfile.mkdtemp(prefix="gv-bench-"))

    def fresh(name: str) -> Path:
        d = work / name
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        return d

    pairs = {
        "keyframes": (
            lambda: [geoverify, "frames", str(clip), "--keyframes", "--out", str(fresh("gk"))],
            lambda: [
                "ffmpeg", "-v", "error", "-skip_frame", "nokey", "-i", str(clip),
                "-fps_mode", "passthrough", str(fresh("fk") / "out%04d.png"),
            ],
        ),
        "every 1 s": (
            lambda: [geoverify, "frames", str(clip), "--every", "1", "--out", str(fresh("ge"))],
            lambda: ["ffmpeg", "-v", "error", "-i", str(clip), "-f", "null", "-"],
        ),
        "scenes": (
            lambda: [geoverify, "frames", str(clip), "--scenes", "--out", str(fresh("gs"))],
            lambda: [scenedetect, "-q", "-i", str(clip), "-o", str(fresh("ss")), "detect-content",
                     "list-scenes", "-q"],
        ),
    }  # fmt: skip
    print(f"clip: {clip.name} ({clip.stat().st_size / 2**20:.1f} MiB), runs: {args.runs}")
    for name, (ours, ref) in pairs.items():
        timed_command(ours())
        timed_command(ref())
        t_ours, t_ref = [], []
        for _ in range(args.runs):
            t_ours.append(timed_command(ours()))
            t_ref.append(timed_command(ref()))
        mo, mr = statistics.median(t_ours), statistics.median(t_ref)
        print(
            f"{name:10s} geoverify {mo:6.2f} s   reference {mr:6.2f} s   "
            f"time ratio geoverify/reference {mo / mr:4.2f}   speed-up {mr / mo:4.2f}x"
        )
    manifest = json.loads((work / "gs" / "frames.json").read_text())
    ours_cuts = [s["first_frame"] for s in manifest["shots"] if s["began_with"] != "start"]
    csv_files = list((work / "ss").glob("*.csv"))
    sd_cuts: list[int] = []
    if csv_files:
        rows = csv_files[0].read_text().splitlines()
        for row in rows[2:]:
            cells = row.split(",")
            if len(cells) > 1 and cells[1].strip().isdigit():
                start_frame = int(cells[1]) - 1  # PySceneDetect numbers frames from 1
                if start_frame > 0:
                    sd_cuts.append(start_frame)
    for label, found in (("geoverify", ours_cuts), ("PySceneDetect", sd_cuts)):
        hits, false = cut_accuracy(found, truth)
        print(f"cuts {label:14s} {hits}/{len(truth)} within +-1 frame, {false} false")
    rss60 = peak_rss_kib([geoverify, "frames", str(clip), "--scenes", "--out", str(fresh("m1"))])
    rss600 = peak_rss_kib(
        [geoverify, "frames", str(long_clip), "--scenes", "--out", str(fresh("m2"))]
    )
    print(
        f"peak RSS --scenes: 60 s clip {rss60 / 1024:.0f} MiB, 600 s clip {rss600 / 1024:.0f} MiB"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
