"""Benchmark: `geoverify frames --keyframes` writing PNGs against FFmpeg, on a matrix of clips.

The matrix (issues #13 part 5, #32 part 5): keyframe interval (GOP) 15, 60 and 250 frames;
photographic content (slow pans over the real photographs of tests/data/image_matching, one
shot every 5 s) and flat synthetic content (large uniform areas with moving edges, as in
cartoons or screen recordings, which PNG compresses well); 720p and 1080p. Every clip is 30 s
at 30 fps, H.264 (libx264 veryfast, scene-cut keyframes off, so keyframes fall exactly every
GOP frames), built once into bench/out/keyframes/ by this script (deterministic). Two 300 s
720p GOP 250 clips (one of each content) give the long-GOP case a run long enough to judge,
and the bench clip of bench_frames.py (bench/out/clip60.mp4, 60 s 1080p, GOP 60) is a row too.

Both tools write one PNG per keyframe into an empty folder:

  geoverify frames CLIP --keyframes --out DIR
  ffmpeg -v error -skip_frame nokey -i CLIP -fps_mode passthrough DIR/out%04d.png

For each clip: the median wall time of --runs alternating runs of each (after one untimed
run of each), the median CPU time (user + system, the process and its children: geoverify's
decoder worker, FFmpeg's threads), the PNG bytes each wrote (geoverify's contact sheet aside),
and geoverify's throughput as a ratio of FFmpeg's (FFmpeg's time / geoverify's; 1.0 = as fast
as FFmpeg). The ratio is judged (target >= 0.9) only where FFmpeg itself takes >= 1 s; below
that, the run is mostly the start-up of a Python CLI, which is reported apart: the median wall
time of `geoverify --version` (the interpreter and the CLI's imports, no decoder worker).
"Takes >= 1 s" is read from FFmpeg's CPU time, >= 2 CPU-s (1 s of both cores of this 2-core
machine), because its wall time grows with the machine's load and its CPU time barely does:
on a busy machine a 0.3 s run can take 1.5 s of wall time.
Needs the ffmpeg CLI (Debian package ffmpeg); not a geoverify dependency.
Usage: python bench/bench_keyframes.py [--runs N] [--only NAME] [--before OLD_GEOVERIFY_COMMAND]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
from _common import timed_command

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "keyframes"
IMAGES = ROOT / "tests" / "data" / "image_matching"
PHOTOS = ["aero1.jpg", "graf1.png", "box_in_scene.png", "aero3.jpg", "graf3.png", "box.png"]
FPS, SHOT_S, DURATION_S = 30, 5, 30
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
GOPS = (15, 60, 250)
LONG_S = 300  # the long-GOP rows: 36 keyframes
JUDGED_CPU_S = 2.0  # rows where FFmpeg uses less CPU (< 1 s on 2 cores) are not judged


def _photo(name: str, w: int, h: int) -> np.ndarray:
    img = cv2.imdecode(np.fromfile(IMAGES / name, np.uint8), cv2.IMREAD_COLOR)
    scale = max((w + 400) / img.shape[1], (h + 200) / img.shape[0])
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)


def photographic(i: int, w: int, h: int, photos: list[np.ndarray]) -> np.ndarray:
    shot, k = divmod(i, SHOT_S * FPS)
    src = photos[shot % len(photos)]
    x = min(src.shape[1] - w, k * 2)  # a slow pan, 2 px a frame
    y = min(src.shape[0] - h, k // 2)
    return np.ascontiguousarray(src[y : y + h, x : x + w])


def flat(i: int, w: int, h: int) -> np.ndarray:
    """Large flat colour areas with hard edges that move (a cartoon or a screen recording)."""
    img = np.full((h, w, 3), (235, 225, 210), np.uint8)
    shot = i // (SHOT_S * FPS)
    colours = [(40, 90, 200), (60, 170, 80), (200, 120, 40), (150, 60, 160)]
    for j in range(6):
        cx = (j * w // 6 + i * (3 + j)) % w
        cy = h // 4 + (j % 3) * h // 4
        colour = colours[(j + shot) % len(colours)]
        cv2.rectangle(img, (cx - w // 16, cy - h // 10), (cx + w // 16, cy + h // 10), colour, -1)
        cv2.circle(img, ((cx + w // 3) % w, cy), h // 14, colour[::-1], -1)
    cv2.putText(img, f"{i:04d}", (w // 20, h // 8), cv2.FONT_HERSHEY_SIMPLEX, h / 400, (0, 0, 0), 3)
    return img


def make_clip(
    path: Path, content: str, size: tuple[int, int], gop: int, duration_s: int = DURATION_S
) -> Path:
    if path.exists():
        return path
    w, h = size
    photos = [_photo(n, w, h) for n in PHOTOS] if content == "photographic" else []
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {
            "preset": "veryfast",
            "g": str(gop),
            "keyint_min": str(gop),
            "sc_threshold": "0",
            "crf": "20",
        }
        for i in range(duration_s * FPS):
            img = photographic(i, w, h, photos) if content == "photographic" else flat(i, w, h)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        out.mux(stream.encode())
    tmp.rename(path)
    return path


def clips(only: str) -> list[tuple[str, Path]]:
    """(name, path) of the matrix's clips whose name contains ``only``, built if missing."""
    rows: list[tuple[str, str, int, int]] = [
        (content, label, gop, DURATION_S)
        for content in ("photographic", "flat")
        for label in SIZES
        for gop in GOPS
    ]
    rows += [(content, "720p", 250, LONG_S) for content in ("photographic", "flat")]
    found = []
    for content, label, gop, duration_s in rows:
        name = f"{content}-{label}-gop{gop}" + (
            f"-{duration_s}s" if duration_s != DURATION_S else ""
        )
        if only in name:
            path = OUT / f"{name}.mp4"
            found.append((name, make_clip(path, content, SIZES[label], gop, duration_s)))
    if only in "bench-clip60":
        from bench_frames import OUT as FRAMES_OUT, make_clip as make_bench_clip

        FRAMES_OUT.mkdir(exist_ok=True)
        make_bench_clip(FRAMES_OUT / "clip60.mp4")
        found.append(("bench-clip60", FRAMES_OUT / "clip60.mp4"))
    return found


def run(cmd: list[str]) -> tuple[float, float]:
    """(wall s, CPU s: user + system of the command and every process it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
        msg = f"{cmd[0]} {cmd[1]} failed (exit {done.returncode}): {' '.join(tail)}"
        raise SystemExit(msg)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def png_bytes(folder: Path) -> tuple[int, int]:
    """(count, total bytes) of the PNGs in ``folder``, the contact sheet aside."""
    sizes = [p.stat().st_size for p in folder.glob("*.png") if p.name != "contact_sheet.png"]
    return len(sizes), sum(sizes)


def measure(
    commands: dict[str, Callable[[], list[str]]], runs: int
) -> dict[str, tuple[float, float]]:
    """Median (wall s, CPU s) of each command over ``runs`` alternating runs, after a warm-up."""
    for command in commands.values():
        run(command())
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(run(command()))
    return {
        name: (statistics.median(t for t, _ in ts), statistics.median(c for _, c in ts))
        for name, ts in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="", help="run the clips whose name contains this")
    parser.add_argument(
        "--before", default="", help="another geoverify command (an older build) to time too"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    tools = {
        "geoverify": shutil.which("geoverify") or str(Path(sys.executable).parent / "geoverify")
    }
    if args.before:
        tools["before"] = args.before
    work = Path(tempfile.mkdtemp(prefix="gv-kf-"))

    def fresh(name: str) -> Path:
        d = work / name
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        return d

    print(
        f"runs: {args.runs}; ratio = FFmpeg's time / geoverify's (throughput; >= 0.9 is the "
        f"target where FFmpeg takes >= {JUDGED_CPU_S:g} CPU-s); start-up, reported apart:"
    )
    for label, tool in tools.items():
        timed_command([tool, "--version"])
        startup = statistics.median(timed_command([tool, "--version"]) for _ in range(5))
        print(f"  {label}: `geoverify --version` {startup:.2f} s (median of 5)")
    judged: dict[str, list[float]] = {label: [] for label in tools}
    for name, clip in clips(args.only):
        commands: dict[str, Callable[[], list[str]]] = {
            label: lambda tool=tool, label=label, clip=clip: [
                tool, "frames", str(clip), "--keyframes", "--out", str(fresh(label)),
            ]
            for label, tool in tools.items()
        }  # fmt: skip
        commands["ffmpeg"] = lambda clip=clip: [
            "ffmpeg", "-v", "error", "-skip_frame", "nokey", "-i", str(clip),
            "-fps_mode", "passthrough", str(fresh("ffmpeg") / "out%04d.png"),
        ]  # fmt: skip
        medians = measure(commands, args.runs)
        mr, cr = medians["ffmpeg"]
        n, b_ref = png_bytes(work / "ffmpeg")
        verdict = "judged" if cr >= JUDGED_CPU_S else f"not judged (< {JUDGED_CPU_S:g} CPU-s)"
        print(
            f"{name:30s} {n:4d} PNGs  ffmpeg {mr:6.2f} s ({cr:5.2f} CPU-s, "
            f"{b_ref / 2**20:6.1f} MiB)  {verdict}"
        )
        for label in tools:
            mo, co = medians[label]
            _, b_ours = png_bytes(work / label)
            if cr >= JUDGED_CPU_S:
                judged[label].append(mr / mo)
            print(
                f"  {label:10s} {mo:6.2f} s ({co:5.2f} CPU-s, {b_ours / 2**20:6.1f} MiB)  "
                f"throughput {mr / mo:4.2f}x, CPU {cr / co:4.2f}x"
            )
    for label, ratios in judged.items():
        if ratios:
            print(
                f"{label}, judged rows: lowest {min(ratios):.2f}x, "
                f"median {statistics.median(ratios):.2f}x"
            )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
