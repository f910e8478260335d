"""Render the sourced Bakhmut names as signs: rotated, blurred, perspective-warped.

Deterministic (a fixed seed, a fixed font): the same names give the same images. The names are
``names.csv`` beside this script (copied from the team's sourced Bakhmut data; see
tests/data/README.md). The font is DejaVu Sans Bold from Debian's ``fonts-dejavu-core``
(``/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf``), present on a fresh Debian machine.

Run: ``python tests/data/text/make_signs.py OUT_DIR`` writes ``OUT_DIR/sign_NNN.png`` and
``OUT_DIR/signs.csv`` (file, text, distortion, parameter).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
SEED = 34
FONT_PX = 44
DISTORTIONS = ("rotated", "blurred", "perspective")
# (background, text) colours: a Ukrainian street sign (white on blue), a black-on-white plate
STYLES = (((0, 87, 184), (255, 255, 255)), ((245, 245, 240), (20, 20, 20)))


def load_names(path: Path = HERE / "names.csv") -> list[dict[str, str]]:
    """Read the sourced names (text, lang_stated, source)."""
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _plate(text: str, style: int) -> Image.Image:
    """Draw the text on a plate with a margin around it."""
    font = ImageFont.truetype(str(FONT), FONT_PX)
    left, top, right, bottom = font.getbbox(text)
    bg, fg = STYLES[style % len(STYLES)]
    margin = FONT_PX
    plate = Image.new("RGB", (right - left + 2 * margin, bottom - top + 2 * margin), bg)
    ImageDraw.Draw(plate).text((margin - left, margin - top), text, font=font, fill=fg)
    # a grey surround, so the plate sits in a scene rather than filling the image
    scene = Image.new("RGB", (plate.width + 2 * margin, plate.height + 2 * margin), (128, 130, 125))
    scene.paste(plate, (margin, margin))
    return scene


def _distort(image: Image.Image, kind: str, rng: np.random.Generator) -> tuple[Image.Image, float]:
    """Apply one distortion; return the image and its parameter (degrees, pixels, fraction)."""
    if kind == "rotated":
        angle = float(rng.uniform(3.0, 10.0) * rng.choice((-1.0, 1.0)))
        return image.rotate(
            angle, resample=Image.BICUBIC, expand=True, fillcolor=(128, 130, 125)
        ), angle
    if kind == "blurred":
        radius = float(rng.uniform(1.0, 2.0))
        return image.filter(ImageFilter.GaussianBlur(radius)), radius
    # perspective: the corners moved inwards by up to a fraction of the height
    w, h = image.size
    frac = float(rng.uniform(0.08, 0.18))
    dy = frac * h
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0, dy], [w, 0], [w, h], [0, h - dy]])
    if rng.random() < 0.5:
        dst = np.float32([[0, 0], [w, dy], [w, h - dy], [0, h]])
    matrix = cv2.getPerspectiveTransform(src, dst)
    arr = cv2.warpPerspective(
        np.asarray(image), matrix, (w, h), flags=cv2.INTER_CUBIC, borderValue=(128, 130, 125)
    )
    return Image.fromarray(arr), frac


def make_signs(out_dir: str | Path, *, limit: int | None = None) -> list[dict[str, str]]:
    """Render every name (or the first ``limit``) once, cycling through the distortions."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    rows = []
    for i, row in enumerate(load_names()[:limit]):
        kind = DISTORTIONS[i % len(DISTORTIONS)]
        image, param = _distort(_plate(row["text"], i // len(DISTORTIONS)), kind, rng)
        name = f"sign_{i:03d}.png"
        image.save(out / name, optimize=False)
        rows.append({"file": name, "text": row["text"], "lang_stated": row["lang_stated"],
                     "distortion": kind, "parameter": f"{param:.3f}"})  # fmt: skip
    with (out / "signs.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return rows


if __name__ == "__main__":
    made = make_signs(sys.argv[1] if len(sys.argv) > 1 else "signs")
    print(f"{len(made)} signs written")  # noqa: T201
