"""Lines of text in a frame, read by Tesseract under a few preprocessing variants.

Method: a busy frame (a scene) is turned grey and upscaled by 1, 2 or 3 (towards
``target_side_px``, at most ``max_side_px``), then read by Tesseract (TSV output, page
segmentation 11, sparse text) as it is and binarised by Otsu's threshold. A clean frame (at
most ``clean_edge_fraction`` Canny edge pixels: a sign, a screenshot) is binarised by a local
(adaptive Gaussian) threshold instead, dark text and light text (inverted), with shapes as
large as half the frame (a sign's edge) cleared; its text, when tilted by 2.5 to
``max_skew_deg`` degrees, is deskewed first: the angle that maximises the variance of the
binarised frame's row sums (the projection profile, 0.5 degree steps) is estimated, and the
variants are rotated by it. Each variant's words are joined into lines (boxes that overlap
vertically by half and lie within about one letter height of each other; unsure words at a
line's ends dropped), mapped back to the frame's pixels. Lines of different variants at the
same place (boxes overlapping by half the smaller) are one line, read as the variant that
read the most letters confidently read it (the sum of confidence x length). In a busy frame
a line is kept when both variants read it, or one read it at ``sure_confidence`` or more:
this drops the letters Tesseract sees in foliage and gravel, which one variant reads and the
other does not. A clean frame's two polarities read different text, so there a line read
once at ``min_confidence`` is kept.

Time is bounded: two variants per frame (deskewed ones replace the upright; a busy frame
whose grey image shows no word at ``sure_confidence`` is not binarised, so its less sure
lines go unconfirmed and are dropped); besides, none
starts once ``time_budget_s`` is spent, and each Tesseract call is killed at the budget's
end (the frame is then marked ``budget_hit``).
Tesseract is Debian's ``tesseract-ocr`` (5.x), run as a subprocess (the image on its standard
input, TSV words out, one OpenMP thread); its data files name the languages.
"""

from __future__ import annotations

import functools
import math
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from geoverify.errors import InputError, MissingDependencyError
from geoverify.text._model import PixelBox, TextOptions

Image = npt.NDArray[Any]
INSTALL_HINT = (
    "Install Tesseract and its language data: `apt-get install tesseract-ocr tesseract-ocr-ukr "
    "tesseract-ocr-rus tesseract-ocr-eng tesseract-ocr-deu` (or `make tesseract`)."
)
_LANG = re.compile(r"^[a-z][a-z_]*(\+[a-z][a-z_]*)*$")
_EDGE_JUNK = "<>{}[]|=~_\\/*#^`"
_MIN_ALNUM = 3  # a line of fewer letters and digits ("tt", "dl") is noise more often than not
_LOW_CONFIDENCE = 30.0  # words this sure or more may sit inside a line (not at its ends)


@functools.cache
def _tesseract() -> tuple[str, str, frozenset[str]]:
    """Return the tesseract program's path, its version and languages, or raise if missing."""
    program = shutil.which("tesseract")
    if program is None:
        msg = "the tesseract program is not installed (not found on PATH)"
        raise MissingDependencyError(msg, code="E_TESSERACT_MISSING", hint=INSTALL_HINT)
    try:
        version = _run([program, "--version"], b"", 30.0).splitlines()[0]
        listed = _run([program, "--list-langs"], b"", 30.0).splitlines()[1:]
    except (OSError, subprocess.SubprocessError) as exc:
        msg = f"the tesseract program cannot be run ({exc.__class__.__name__})"
        raise MissingDependencyError(msg, code="E_TESSERACT_MISSING", hint=INSTALL_HINT) from None
    version = version.removeprefix("tesseract").strip()
    return program, version, frozenset(x.strip() for x in listed if x.strip())


def _run(args: Sequence[str], stdin: bytes, timeout_s: float) -> str:
    """Run tesseract; return its standard output (it prints ``--version`` there too).

    One OpenMP thread (``OMP_THREAD_LIMIT=1``, the child's environment only): Tesseract's
    threads slow it down when other processes share the cores, as they do here.
    """
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    done = subprocess.run(  # a fixed program; arguments from a checked list
        list(args), input=stdin, capture_output=True, timeout=timeout_s, env=env, check=False
    )
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise subprocess.CalledProcessError(done.returncode, args[0], stderr=err[-1] if err else "")
    return done.stdout.decode("utf-8", "replace")


def tesseract_version() -> str:
    """Return the version of the Tesseract program that reads text (``5.3.0``)."""
    return _tesseract()[1]


def check_lang_syntax(lang: str) -> None:
    """Refuse a malformed language list (``E_OCR_LANG_INVALID``), whatever is installed."""
    if not _LANG.match(lang):
        msg = f"the text languages {lang!r} are not a list of Tesseract languages"
        hint = "Give codes joined by '+', e.g. ukr+rus+eng (--lang; --text of verify, batch)."
        raise InputError(msg, code="E_OCR_LANG_INVALID", hint=hint)


def check_lang(lang: str) -> None:
    """Refuse a malformed language list or one whose Tesseract data is not installed."""
    check_lang_syntax(lang)
    _, _, installed = _tesseract()
    missing = [code for code in lang.split("+") if code not in installed]
    if missing:
        packages = " ".join(f"tesseract-ocr-{code.replace('_', '-')}" for code in missing)
        msg = f"Tesseract has no data for {', '.join(missing)} (installed: {sorted(installed)})"
        hint = f"Install it: `apt-get install {packages}`, or leave it out of --lang."
        raise MissingDependencyError(msg, code="E_TESSERACT_LANG_MISSING", hint=hint)


def _scale_for(image: Image, options: TextOptions) -> int:
    side = int(max(image.shape[:2]))
    wanted = max(1, min(3, round(options.target_side_px / max(int(side), 1))))
    while wanted > 1 and side * wanted > options.max_side_px:
        wanted -= 1
    return wanted


def _adaptive(grey: Image, *, inverted: bool) -> Image:
    """Binarise by a local threshold (dark text black; ``inverted``: light text black).

    Connected shapes wider or taller than half the image (a sign's frame, its edge) are
    cleared: Tesseract reads nothing inside a closed frame.
    """
    binary = cv2.adaptiveThreshold(
        255 - grey if inverted else grey,
        255,
        cv2.ADAPTIVE_THRESH_GAUSSIAN_C,
        cv2.THRESH_BINARY,
        31,
        15,
    )
    n, labels, stats, _ = cv2.connectedComponentsWithStats(255 - binary, connectivity=8)
    h, w = binary.shape
    big = [i for i in range(1, n) if stats[i, 2] > w / 2 or stats[i, 3] > h / 2]
    if big:
        binary[np.isin(labels, big)] = 255
    return binary


def edge_fraction(grey: Image) -> float:
    """Return the fraction of Canny edge pixels (thresholds 100, 200) of a grey image."""
    return float((cv2.Canny(grey, 100, 200) > 0).mean())


def estimate_skew_deg(grey: Image, *, max_deg: float) -> float:
    """Estimate the tilt of text lines, degrees counter-clockwise to rotate by to level them.

    The projection profile: the angle (0.5 degree steps within ``max_deg``) at which the
    row sums of the ink (an adaptive threshold of the image scaled to 600 px) vary most.
    """
    if max_deg <= 0:
        return 0.0
    factor = 600 / max(grey.shape[:2])
    small = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    ink = 255 - cv2.adaptiveThreshold(
        small, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 15, 10
    )
    h, w = ink.shape
    best_var, best_deg = -1.0, 0.0
    for deg in np.arange(-max_deg, max_deg + 0.25, 0.5):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), float(deg), 1.0)
        profile = cv2.warpAffine(ink, m, (w, h)).sum(axis=1, dtype=np.float64)
        var = float(profile.var())
        if var > best_var + 1e-9 * abs(best_var):
            best_var, best_deg = var, float(deg)
    return best_deg


def _variants(
    grey: Image, options: TextOptions
) -> list[tuple[str, Callable[[], Image], float, int]]:
    """List the variants in the order they are read: (name, make image, rotation, scale).

    A busy scene: grey and Otsu, upscaled. A clean one: the local thresholds in both
    polarities at scale 1, deskewed when the text is tilted.
    """
    if edge_fraction(grey) <= options.clean_edge_fraction:
        skew = estimate_skew_deg(grey, max_deg=options.max_skew_deg)
        angle = skew if abs(skew) >= 2.5 else 0.0
        tag = f"/{angle:+g}" if angle else ""
        return [
            (f"adaptive@1{tag}", lambda: _adaptive(grey, inverted=False), angle, 1),
            (f"adaptive-inv@1{tag}", lambda: _adaptive(grey, inverted=True), angle, 1),
        ]
    scale = _scale_for(grey, options)

    def big() -> Image:
        if scale == 1:
            return grey
        return cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)

    def otsu() -> Image:
        return cv2.threshold(big(), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]

    return [(f"grey@{scale}", big, 0.0, scale), (f"otsu@{scale}", otsu, 0.0, scale)]


def _rotated(image: Image, angle_deg: float) -> tuple[Image, Image]:
    """Rotate (counter-clockwise, canvas grown to fit); return it and the inverse map."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos + 0.5), int(h * cos + w * sin + 0.5)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    rotated = cv2.warpAffine(
        image, m, (nw, nh), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return rotated, cv2.invertAffineTransform(m)


def _back(box: PixelBox, scale: int, inverse: Image | None) -> PixelBox:
    """Map a box of the variant's image back to the frame's pixels."""
    x0, y0, x1, y1 = box.left_px, box.top_px, box.right_px, box.bottom_px
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
    if inverse is not None:
        corners = corners @ inverse[:, :2].T + inverse[:, 2]
    corners /= scale
    lo = np.floor(corners.min(axis=0)).astype(int)
    hi = np.ceil(corners.max(axis=0)).astype(int)
    return PixelBox(
        left_px=int(lo[0]),
        top_px=int(lo[1]),
        width_px=int(hi[0] - lo[0]),
        height_px=int(hi[1] - lo[1]),
    )


def _clean(word: str) -> str:
    """Strip the marks Tesseract reads from arrows and frames at a word's edges."""
    return word.strip().lstrip(_EDGE_JUNK + ".,").rstrip(_EDGE_JUNK)


def _trimmed(
    words: Sequence[tuple[PixelBox, str, float]], min_confidence: float
) -> list[tuple[PixelBox, str, float]]:
    """Drop the unsure words at a line's ends; return ``[]`` when the rest is unsure too."""
    sure = [i for i, w in enumerate(words) if w[2] >= min_confidence]
    if not sure:
        return []
    kept = list(words[sure[0] : sure[-1] + 1])
    mean = math.fsum(w[2] for w in kept) / len(kept)
    return kept if mean >= min_confidence else []


class Line:
    """A line one variant read: words, box in the frame's pixels, confidence, variants."""

    __slots__ = ("box", "confidence", "score", "text", "variants")

    def __init__(self, words: Sequence[tuple[PixelBox, str, float]], variant: str) -> None:
        self.text = " ".join(t for _, t, _ in words)
        self.box = functools.reduce(lambda a, b: a.union(b), (b for b, _, _ in words))
        self.confidence = round(math.fsum(c for _, _, c in words) / len(words), 1)
        self.score = math.fsum(c * len(t) for _, t, c in words)
        self.variants = [variant]


def _read_variant(image: Image, lang: str, timeout_s: float) -> list[tuple[PixelBox, str, float]]:
    """Run Tesseract on one variant (PNG on its standard input, TSV out); return its words.

    Boxes are in the variant's pixels. Raises ``subprocess.TimeoutExpired`` at the timeout.
    """
    ok, png = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - a uint8 array always encodes
        return []
    program = _tesseract()[0]
    args = [program, "-", "-", "-l", lang, "--psm", "11", "tsv"]
    try:
        tsv = _run(args, png.tobytes(), max(1.0, timeout_s))
    except subprocess.CalledProcessError as exc:
        msg = f"Tesseract failed on a frame: {exc.stderr}"
        raise MissingDependencyError(msg, code="E_TESSERACT_FAILED", hint=INSTALL_HINT) from None
    words = []
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5":  # level 5: a word
            continue
        text, conf = _clean(cells[11]), float(cells[10])
        if not text or conf < 0 or not any(ch.isalnum() for ch in text):
            continue
        left, top, width, height = (int(c) for c in cells[6:10])
        words.append((PixelBox(left_px=left, top_px=top, width_px=width, height_px=height),
                      text, conf))  # fmt: skip
    return words


def _lines_of(
    words: Sequence[tuple[PixelBox, str, float]],
    name: str,
    scale: int,
    inverse: Image | None,
    min_confidence: float,
) -> list[Line]:
    """Join a variant's words into lines, mapped back to the frame's pixels.

    Words from ``_LOW_CONFIDENCE`` up join lines (a faint word inside a street name keeps it
    whole); unsure words at a line's ends are dropped, and lines unsure on average.
    """
    words = [w for w in words if w[2] >= _LOW_CONFIDENCE]
    out = []
    for group in group_boxes([b for b, _, _ in words]):
        kept = _trimmed([words[i] for i in group], min_confidence)
        if not kept:
            continue
        line = Line(kept, name)
        line.box = _back(line.box, scale, inverse)
        out.append(line)
    return out


def read_lines(
    image_bgr: Image, *, options: TextOptions, side_by_side: bool = False
) -> tuple[list[Line], list[str], bool, bool]:
    """Read the lines of a frame under each variant in turn, within the time budget.

    Returns every variant's lines (unmerged), the variants run, whether the budget stopped
    them and whether the frame is busy (its lines need confirming: ``merge_lines``).
    ``side_by_side``: run the variants' Tesseract processes at once when a second core is
    free (``spare_core``; a photo read alone: nothing else would use it), with the same rules
    applied in the same order. The budget is wall time: side by side both variants have all
    of it (in turn the second has what the first left), so a frame the budget cuts may keep
    more lines, never fewer.
    """
    grey = image_bgr if image_bgr.ndim == 2 else cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    start = time.monotonic()
    lines: list[Line] = []
    run: list[str] = []
    variants = _variants(grey, options)
    busy = not variants[0][0].startswith("adaptive")
    if side_by_side and len(variants) > 1 and spare_core():
        return (*_read_side_by_side(variants, options, start, busy), busy)
    for name, make, angle, scale in variants:
        left = options.time_budget_s - (time.monotonic() - start)
        if left <= 0:
            return lines, run, True, busy
        image, inverse = make(), None
        if angle:
            image, inverse = _rotated(image, angle)
        try:
            words = _read_variant(image, options.lang, left)
        except subprocess.TimeoutExpired:  # the budget is spent
            return lines, run, True, busy
        lines += _lines_of(words, name, scale, inverse, options.min_confidence)
        run.append(name)
        if busy and not any(w[2] >= options.sure_confidence for w in words):
            break  # no word read surely in the grey scene: Otsu would confirm noise, slowly
    return lines, run, False, busy


def spare_core() -> bool:
    """Whether a second core is ours to use: the process may run on two, and OpenCV may too.

    A batch worker given one thread (``--threads-per-worker 1``, the default with several
    workers) sets OpenCV to one: its variants are then read in turn.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return cores >= 2 and cv2.getNumThreads() >= 2


def _read_side_by_side(
    variants: Sequence[tuple[str, Callable[[], Image], float, int]],
    options: TextOptions,
    start: float,
    busy: bool,
) -> tuple[list[Line], list[str], bool]:
    """``read_lines``' loop with every variant's Tesseract started at once.

    The results are taken in the loop's order under its rules: a variant that timed out ends
    the reading (the budget is spent), and in a busy scene the binarised variant is dropped
    when the grey one read no word surely. That one was read for nothing then (its process
    ends on its own, within the budget); in a photo with text both are read, in half the time.
    """
    prepared = []
    for name, make, angle, scale in variants:
        image, inverse = make(), None
        if angle:
            image, inverse = _rotated(image, angle)
        prepared.append((name, image, inverse, scale))
    left = options.time_budget_s - (time.monotonic() - start)
    if left <= 0:
        return [], [], True
    pool = ThreadPoolExecutor(max_workers=len(prepared), thread_name_prefix="geoverify-ocr")
    jobs = [pool.submit(_read_variant, image, options.lang, left) for _, image, _, _ in prepared]
    pool.shutdown(wait=False)
    lines: list[Line] = []
    run: list[str] = []
    for (name, _, inverse, scale), job in zip(prepared, jobs, strict=True):
        try:
            words = job.result()
        except subprocess.TimeoutExpired:  # the budget is spent
            return lines, run, True
        lines += _lines_of(words, name, scale, inverse, options.min_confidence)
        run.append(name)
        if busy and not any(w[2] >= options.sure_confidence for w in words):
            break  # as ``read_lines``: Otsu would only confirm noise
    return lines, run, False


def _overlap(a: PixelBox, b: PixelBox) -> float:
    """Intersection over the smaller box's area (1 when one holds the other)."""
    w = min(a.right_px, b.right_px) - max(a.left_px, b.left_px)
    h = min(a.bottom_px, b.bottom_px) - max(a.top_px, b.top_px)
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min(a.width_px * a.height_px, b.width_px * b.height_px)
    return (w * h) / smaller if smaller > 0 else 0.0


def merge_lines(lines: Sequence[Line], options: TextOptions, *, confirm: bool) -> list[Line]:
    """Merge the variants' readings of one line; keep the lines read well enough.

    ``confirm``: a line one variant read needs ``sure_confidence`` (a busy scene, read as it
    is and binarised: both read the same text); else the two polarities of a clean frame
    read different text, and no line needs a second reading. Returned top to bottom, then
    left to right.
    """
    merged: list[Line] = []
    for line in sorted(lines, key=lambda ln: (-ln.score, ln.variants[0])):
        same = next((m for m in merged if _overlap(m.box, line.box) >= 0.5), None)
        if same is None:
            merged.append(line)
        elif line.variants[0] not in same.variants:
            same.variants.append(line.variants[0])
    kept = [
        ln
        for ln in merged
        if sum(ch.isalnum() for ch in ln.text) >= _MIN_ALNUM
        and (not confirm or len(ln.variants) >= 2 or ln.confidence >= options.sure_confidence)
    ]
    return sorted(kept, key=lambda ln: (ln.box.top_px, ln.box.left_px))


def _same_line(a: PixelBox, b: PixelBox) -> bool:
    v = min(a.bottom_px, b.bottom_px) - max(a.top_px, b.top_px)
    if v < 0.5 * min(a.height_px, b.height_px):
        return False
    gap = max(b.left_px - a.right_px, a.left_px - b.right_px)
    return gap <= 1.2 * max(a.height_px, b.height_px)


def group_boxes(boxes: Sequence[PixelBox]) -> list[list[int]]:
    """Group word boxes into lines: the indices of each line, left to right."""
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            if _same_line(a, boxes[j]):
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(boxes)):
        groups.setdefault(root(i), []).append(i)
    return [sorted(g, key=lambda i: boxes[i].left_px) for g in groups.values()]
