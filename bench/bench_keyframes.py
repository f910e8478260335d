"""Benchmark: `geoverify frames --keyframes` writing PNGs against FFmpeg, on a matrix of clips.

The matrix (issue #13, part 5): keyframe interval (GOP) 15, 60 and 250 frames; photographic
content (slow pans over the real photographs of tests/data/image_matching, one shot every 5 s)
and flat synthetic content (large uniform areas with moving edges, as in cartoons or screen
recordings, which PNG compresses well); 720p and 1080p. Every clip is 30 s at 30 fps, H.264
(libx264 veryfast, scene-cut keyframes off, so keyframes fall exactly every GOP frames), built
once into bench/out/keyframes/ by this script (deterministic).

Both tools write one PNG per keyframe into an empty folder:

  geoverify frames CLIP --keyframes --out DIR
  ffmpeg -v error -skip_frame nokey -i CLIP -fps_mode passthrough DIR/out%04d.png

For each clip: the median wall time of --runs alternating runs of each, and geoverify's
throughput as a ratio of FFmpeg's (FFmpeg's time / geoverify's: >= 0.9 is the target).
Needs the ffmpeg CLI (Debian package ffmpeg); not a geoverify dependency.
Usage: python bench/bench_keyframes.py [--runs N] [--only NAME]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
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


def make_clip(path: Path, content: str, size: tuple[int, int], gop: int) -> Path:
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
        for i in range(DURATION_S * FPS):
            img = photographic(i, w, h, photos) if content == "photographic" else flat(i, w, h)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        out.mux(stream.encode())
    tmp.rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="", help="run the clips whose name contains this")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    geoverify = shutil.which("geoverify") or str(Path(sys.executable).parent / "geoverify")
    work = Path(tempfile.mkdtemp(prefix="gv-kf-"))

    def fresh(name: str) -> Path:
        d = work / name
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        return d

    print(f"runs: {args.runs}; ratio = FFmpeg's time / geoverify's (throughput, >= 0.9 target)")
    ratios = []
    for content in ("photographic", "flat"):
        for label, size in SIZES.items():
            for gop in GOPS:
                name = f"{content}-{label}-gop{gop}"
                if args.only not in name:
                    continue
                clip = make_clip(OUT / f"{name}.mp4", content, size, gop)

                def ours(clip: Path = clip) -> list[str]:
                    return [geoverify, "frames", str(clip), "--keyframes", "--out", str(fresh("g"))]

                def ref(clip: Path = clip) -> list[str]:
                    return [
                        "ffmpeg", "-v", "error", "-skip_frame", "nokey", "-i", str(clip),
                        "-fps_mode", "passthrough", str(fresh("f") / "out%04d.png"),
                    ]  # fmt: skip

                timed_command(ours())
                timed_command(ref())
                t_ours, t_ref = [], []
                for _ in range(args.runs):
                    t_ours.append(timed_command(ours()))
                    t_ref.append(timed_command(ref()))
                n = len([p for p in (work / "g").glob("*.png") if p.name != "contact_sheet.png"])
                mo, mr = statistics.median(t_ours), statistics.median(t_ref)
                ratios.append(mr / mo)
                print(
                    f"{name:26s} {n:4d} PNGs  geoverify {mo:6.2f} s  ffmpeg {mr:6.2f} s  "
                    f"throughput {mr / mo:4.2f}x ffmpeg's"
                )
    if ratios:
        print(f"lowest {min(ratios):.2f}x, median {statistics.median(ratios):.2f}x")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
