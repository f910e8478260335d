"""Text in the frame: the rate of names read exactly, against plain Tesseract, and the time.

Input: the 81 sourced Bakhmut names rendered as signs by tests/data/text/make_signs.py (rotated,
blurred or perspective-warped in turn), and the Sony photograph at Rietberg
(tests/data/photos/sony_dsc-hx5v_2.jpg: "Alt Hammoor", "62-42", "38-1", "Notruf 112", read by
eye). Reference: the same Tesseract run as its CLI on the unprocessed image
(``tesseract IMG - -l LANG --psm 11``), counted as right when the name occurs anywhere in its
output (whitespace normalised): generous to the reference. geoverify is right only when one of
its lines is the name exactly.

Run: ``python bench/bench_text.py [--runs N]``. Times are medians of N runs (default 3) of
the whole set, commands interleaved.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geoverify.text import TextOptions, read_text, tesseract_version  # noqa: E402

SONY = ROOT / "tests/data/photos/sony_dsc-hx5v_2.jpg"
SONY_STRINGS = ("Alt Hammoor", "62-42", "38-1", "Notruf 112")


def _bgr(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))[:, :, ::-1].copy()


def _reference(path: Path, lang: str) -> str:
    done = subprocess.run(
        ["tesseract", str(path), "-", "-l", lang, "--psm", "11"],
        capture_output=True,
        check=True,
        env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"},
    )
    return " ".join(done.stdout.decode("utf-8", "replace").split())


def _geoverify(path: Path, options: TextOptions) -> list[str]:
    return [r.text for r in read_text(_bgr(path), options=options).regions]


def main() -> None:
    """Render the signs, read them both ways, print the rates and the times."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location(
        "make_signs", ROOT / "tests/data/text/make_signs.py"
    )
    if spec is None or spec.loader is None:
        raise SystemExit("cannot load tests/data/text/make_signs.py")
    signs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(signs)
    options = TextOptions()
    with tempfile.TemporaryDirectory() as tmp:
        rows = signs.make_signs(tmp)
        items = [(Path(tmp) / r["file"], r["text"], r["distortion"]) for r in rows]
        ours_t, ref_t = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            ours = [_geoverify(p, options) for p, _, _ in items]
            ours_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            ref = [_reference(p, options.lang) for p, _, _ in items]
            ref_t.append(time.perf_counter() - t)
    print(f"Tesseract {tesseract_version()}, lang {options.lang}, {len(items)} signs")
    by_kind: dict[str, list[tuple[bool, bool]]] = {}
    for (_, name, kind), got, plain in zip(items, ours, ref, strict=True):
        by_kind.setdefault(kind, []).append((name in got, " ".join(name.split()) in plain))
    print("| distortion | signs | geoverify exact | plain tesseract (name anywhere) |")
    print("|---|---|---|---|")
    total = [x for v in by_kind.values() for x in v]
    for kind, res in [*sorted(by_kind.items()), ("all", total)]:
        a, b = sum(r[0] for r in res), sum(r[1] for r in res)
        print(f"| {kind} | {len(res)} | {a} ({a / len(res):.1%}) | {b} ({b / len(res):.1%}) |")
    for (_, name, _), got in zip(items, ours, strict=True):
        if name not in got:
            print(f"  missed: {name!r} -> {got}")
    ours_m, ref_m = statistics.median(ours_t), statistics.median(ref_t)
    print(
        f"time for the set, median of {args.runs}: geoverify {ours_m:.1f} s, "
        f"plain tesseract {ref_m:.1f} s, ratio {ours_m / ref_m:.2f}x"
    )
    sony = _geoverify(SONY, options)
    plain = _reference(SONY, options.lang)
    print(
        f"Sony photo: geoverify {sum(s in sony for s in SONY_STRINGS)} of 4 exact {sony}; "
        f"plain tesseract {sum(s in plain for s in SONY_STRINGS)} of 4 ({plain!r})"
    )


if __name__ == "__main__":
    main()
