"""Benchmark: `verify` on a 60 s 1080p clip and a 10-landmark registry, against ffmpeg's decode.

The input is made by bench/make_verify_clip.py (real photographs, six shots of 10 s, four of
them of registry landmarks; see its docstring). Each run, interleaved:

  ffmpeg -v error -i clip.mp4 -f null -        (the reference: a full decode, default threads)
  verify + save_verification with default options, in a fresh interpreter (what
  `geoverify verify` runs), timed stage by stage inside and as a whole from outside

and prints medians of --runs: wall time, stages (decode/select until the last frame is
decoded, the matching left when decoding ended, the rest of verify, save), peak RSS (the
largest of the process and its children: the decoder worker, Tesseract; a child forked from a
large process counts the parent's pages until it runs its program), the ratio to ffmpeg's
decode, the real-time factor, which second pass ran, and the matches per shot (a landmark
shot never matched is named, with the best frame's notes).
Needs the ffmpeg CLI (Debian package ffmpeg); not a geoverify dependency.
Usage: python bench/bench_verify.py [--runs N] [--geoverify DIR]   (DIR: a copy of the package
to measure instead of the installed one, e.g. a snapshot taken before a change)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_verify_clip  # noqa: E402

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
CLIP_S = 60.0


def _driver(clip: str, registry: str, claims: str, out: str, result: str) -> None:
    """Run verify + save_verification in this process; write the stage times as JSON."""
    t0 = time.perf_counter()
    from geoverify.pipeline import save_verification, verify

    t_import = time.perf_counter()
    ticks: dict[str, float] = {}
    first: dict[str, float] = {}

    def progress(stage: str, _done: int, _total: int | None) -> None:
        ticks[stage] = time.perf_counter()
        first.setdefault(stage, ticks[stage])

    ver = verify(clip, registry=registry, claims=claims, progress=progress)
    t_verify = time.perf_counter()
    save_verification(ver, out)
    t_save = time.perf_counter()
    decoded = ticks.get("decoding", t_import)
    matched = max(decoded, ticks.get("matching", decoded))
    matches = [
        {
            "t_s": fm.t_s,
            "verdict": str(fm.match.verdict),
            "landmark_id": fm.match.best.landmark_id if fm.match.best else None,
            "inliers": fm.match.best.inliers if fm.match.best else 0,
            "affine_decision": fm.match.affine_decision,
            "notes": list(fm.match.notes),
        }
        for fm in ver.matches
    ]
    record = {
        "import_s": t_import - t0,
        "decode_select_s": decoded - t_import,
        "match_s": matched - decoded,  # matching left when decoding ended (it overlaps now)
        "rest_s": t_verify - matched,  # text reading, evidence, annotated pictures, report
        "text_s": ticks.get("text", 0.0) - first.get("text", 0.0),  # from its first tick
        "save_s": t_save - t_verify,
        "frames": len(ver.selection.frames),
        "matches": matches,
        "maxrss_self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "maxrss_worker_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }
    Path(result).write_text(json.dumps(record))


def run_verify(folder: Path, package: str | None) -> dict:
    """One verify run in a fresh interpreter; return its record with the outside wall time."""
    with tempfile.TemporaryDirectory(prefix="gv-bench-verify-") as tmp:
        result = Path(tmp) / "result.json"
        env = dict(os.environ)
        if package:
            env["PYTHONPATH"] = package
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--driver",
            str(folder / "clip.mp4"),
            str(folder / "registry.geojson"),
            str(folder / "claims.yaml"),
            str(Path(tmp) / "out"),
            str(result),
        ]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, cwd=tmp)
        wall = time.perf_counter() - start
        record = json.loads(result.read_text())
    record["wall_s"] = wall
    record["peak_rss_mib"] = max(record["maxrss_self_kib"], record["maxrss_worker_kib"]) / 1024
    return record


def run_ffmpeg(clip: Path) -> float:
    """Wall time of ffmpeg's full decode of the clip."""
    start = time.perf_counter()
    cmd = [FFMPEG, "-v", "error", "-nostdin", "-i", str(clip), "-f", "null", "-"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _second_pass(matches: list[dict]) -> str:
    """Say which second pass ran, from the frames' notes."""
    seen = set()
    for m in matches:
        for note in m.get("notes") or []:
            if note.startswith("second pass:"):
                seen.add(note.split(":", 1)[1].split("(")[0].strip())
        if m.get("affine_decision") in ("ran", "run", "matched"):
            seen.add("affine")
    return ", ".join(sorted(seen)) or "none recorded (every frame decided by the plain pass)"


def per_shot(matches: list[dict]) -> list[str]:
    """One line per shot: frames, matches of the filmed landmark, other verdicts."""
    lines = []
    for start, end, landmark in make_verify_clip.shot_truth():
        inside = [m for m in matches if m["t_s"] is not None and start <= m["t_s"] < end]
        hits = [m for m in inside if m["verdict"] == "match" and m["landmark_id"] == landmark]
        wrong = [m for m in inside if m["verdict"] == "match" and m["landmark_id"] != landmark]
        what = landmark or "nothing"
        line = f"  {start:>4.0f}-{end:<3.0f}s {what:<14} frames {len(inside)}, matched {len(hits)}"
        if wrong:
            line += f", WRONG {[m['landmark_id'] for m in wrong]}"
        if landmark and not hits and inside:
            best = max(inside, key=lambda m: m.get("inliers") or 0)
            why = [n for n in best["notes"] if "pass" in n or "inliers" in n]
            line += f"; NEVER MATCHED: best {best['inliers']} inliers; {why}"
        lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--geoverify", default=None, help="folder holding a geoverify package")
    parser.add_argument("--driver", nargs=5, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver:
        _driver(*args.driver)
        return
    folder = HERE / "out" / "verify_clip"
    clip = make_verify_clip.main(folder)
    run_ffmpeg(clip)  # warm the page cache
    runs, decodes = [], []
    for i in range(args.runs):
        decodes.append(run_ffmpeg(clip))
        runs.append(run_verify(folder, args.geoverify))
        r = runs[-1]
        print(
            f"run {i + 1}: ffmpeg {decodes[-1]:.2f} s; verify {r['wall_s']:.2f} s "
            f"(import {r['import_s']:.2f}, decode/select {r['decode_select_s']:.2f}, "
            f"match after decoding {r['match_s']:.2f}, rest {r['rest_s']:.2f} "
            f"(text {r['text_s']:.2f}), "
            f"save {r['save_s']:.2f}), {r['frames']} frames, "
            f"peak {r['peak_rss_mib']:.0f} MiB (process {r['maxrss_self_kib'] / 1024:.0f}, "
            f"largest child {r['maxrss_worker_kib'] / 1024:.0f})",
            flush=True,
        )
    med = {
        k: statistics.median(r.get(k, 0.0) for r in runs)
        for k in runs[0]
        if k.endswith(("_s", "_mib"))
    }
    ff = statistics.median(decodes)
    print(f"\nmedians of {args.runs} runs (clip {CLIP_S:.0f} s, 1080p30 H.264):")
    print(f"  ffmpeg decode           {ff:6.2f} s")
    for k in ("wall_s", "import_s", "decode_select_s", "match_s", "rest_s", "text_s", "save_s"):
        print(f"  verify {k:<17}{med[k]:6.2f} s")
    print(f"  peak RSS                {med['peak_rss_mib']:6.0f} MiB")
    print(f"  verify / ffmpeg decode  {med['wall_s'] / ff:6.2f}x")
    print(f"  real time / verify      {CLIP_S / med['wall_s']:6.2f}x")
    print(f"  second pass             {_second_pass(runs[-1]['matches'])}")
    print("matches per shot (last run):")
    print("\n".join(per_shot(runs[-1]["matches"])))


if __name__ == "__main__":
    main()
