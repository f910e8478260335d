"""Text in the frame: street names, shop signs, their script and the registry names they hold.

Input: a frame (BGR pixels) or the selected frames of a video, the Tesseract languages and,
optionally, a registry. Output: ``TextRegion`` records, one per line of text: its box in the
frame's pixels, the words, Tesseract's confidence, the script and language
(``classify_script``) and every registry name or alias it matches (``match_names``).

Method and accuracy: see ``_ocr`` (Tesseract 5 under grey, Otsu, CLAHE and small-rotation
variants, bounded in time), ``_script`` (a shipped rule set: distinct letters and common sign
words) and ``_names`` (transliteration to Latin, difflib ratio over word windows). On the
rendered Bakhmut signs (tests/data/text/make_signs.py) the rate of names read exactly is in
bench/README.md; a sign can be moved and a name can repeat, so a name read is a clue to a
place, not a position.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geoverify._io import write_atomic
from geoverify.errors import InputError, MissingDependencyError
from geoverify.text._model import (
    DEFAULT_LANG,
    FrameText,
    NameMatch,
    PixelBox,
    ScriptGuess,
    TextOptions,
    TextRegion,
)
from geoverify.text._names import match_names, score_name, transliterate
from geoverify.text._ocr import (
    INSTALL_HINT,
    check_lang,
    check_lang_syntax,
    estimate_skew_deg,
    merge_lines,
    read_lines,
    tesseract_version,
)
from geoverify.text._script import classify_script

if TYPE_CHECKING:
    import numpy.typing as npt

    from geoverify.frames import Frame
    from geoverify.registry import Registry

__all__ = [
    "DEFAULT_LANG",
    "INSTALL_HINT",
    "FootageText",
    "FrameText",
    "NameMatch",
    "PixelBox",
    "ScriptGuess",
    "TextOptions",
    "TextRegion",
    "check_lang",
    "check_lang_syntax",
    "classify_script",
    "crop_data_uris",
    "crop_name",
    "estimate_skew_deg",
    "match_names",
    "read_footage_text",
    "read_frames_text",
    "read_text",
    "read_text_for_verify",
    "save_text_crops",
    "score_name",
    "tesseract_version",
    "transliterate",
]

CROP_MARGIN_PX = 6


def read_text(
    image_bgr: npt.NDArray[Any],
    *,
    registry: Registry | None = None,
    options: TextOptions | None = None,
) -> FrameText:
    """Find the lines of text in one frame, with their script, language and registry names.

    Parameters
    ----------
    image_bgr
        H x W x 3 uint8 (BGR, as ``Frame.image_bgr``) or H x W grey.
    registry
        Names and aliases to look for in the text; ``None``: none matched.
    options
        Languages, thresholds and the time budget.

    Returns
    -------
    FrameText
        ``frame_number`` 0 and ``t_s`` 0.0 (``read_frames_text`` sets them for a video).

    Raises
    ------
    MissingDependencyError
        Tesseract or a language's data is not installed (``E_TESSERACT_MISSING``,
        ``E_TESSERACT_LANG_MISSING``).
    InputError
        ``options.lang`` is malformed (``E_OCR_LANG_INVALID``), or the image is no 8-bit
        grey or BGR array of at least 8 x 8 pixels (``E_INPUT_TYPE``).
    """
    return _read_one(image_bgr, registry, options or TextOptions(), side_by_side=True)


def _read_one(
    image_bgr: npt.NDArray[Any], registry: Registry | None, opts: TextOptions, *, side_by_side: bool
) -> FrameText:
    """``read_text``; ``side_by_side``: the variants' Tesseract processes run at once."""
    _check_image(image_bgr)
    check_lang(opts.lang)
    start = time.monotonic()
    lines, run, budget_hit, busy = read_lines(image_bgr, options=opts, side_by_side=side_by_side)
    regions = []
    for line in merge_lines(lines, opts, confirm=busy):
        text = line.text
        matches = match_names(text, registry, min_score=opts.min_match_score) if registry else ()
        regions.append(
            TextRegion(
                box=line.box,
                text=text,
                confidence=line.confidence,
                script=classify_script(text),
                matches=matches,
                variants=tuple(line.variants),
            )
        )
    return FrameText(
        frame_number=0,
        t_s=0.0,
        regions=tuple(regions),
        variants_run=tuple(run),
        seconds=round(time.monotonic() - start, 3),
        budget_hit=budget_hit,
    )


def _check_image(image: Any) -> None:
    """Refuse what is no 8-bit grey or BGR image of at least 8 x 8 pixels."""
    shape: tuple[int, ...] = tuple(getattr(image, "shape", ()))
    ok = (
        getattr(image, "dtype", None) == "uint8"
        and (len(shape) == 2 or (len(shape) == 3 and shape[2] == 3))
        and min(shape[:2], default=0) >= 8
    )
    if not ok:
        msg = f"read_text needs an 8-bit grey or BGR image, not {type(image).__name__} {shape}"
        hint = "Pass Frame.image_bgr, or an H x W x 3 uint8 array (OpenCV's BGR order)."
        raise InputError(msg, code="E_INPUT_TYPE", hint=hint)


def read_frames_text(
    frames: Sequence[Frame],
    *,
    registry: Registry | None = None,
    options: TextOptions | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> tuple[FrameText, ...]:
    """Read the text of the sharpest ``options.max_frames`` frames, in time order.

    ``progress(done, total)`` is called after each frame. Frames without pixels are skipped.
    """
    opts = options or TextOptions()
    check_lang(opts.lang)
    usable = [f for f in frames if getattr(f, "image_bgr", None) is not None]
    chosen = sorted(usable, key=lambda f: -f.sharpness)[: max(opts.max_frames, 0)]
    chosen.sort(key=lambda f: f.t_s)

    # fewer frames than workers (a photo): each frame's variants are read side by side
    side_by_side = len(chosen) < opts.workers

    def one(frame: Frame) -> FrameText:
        read = _read_one(frame.image_bgr, registry, opts, side_by_side=side_by_side)
        return dataclasses.replace(read, frame_number=frame.frame_number, t_s=frame.t_s)

    out = []
    # Tesseract runs as a subprocess with one thread: frames are read in parallel by
    # ``options.workers`` threads, each waiting on its own tesseract process
    with ThreadPoolExecutor(max_workers=max(1, opts.workers)) as pool:
        for i, read in enumerate(pool.map(one, chosen)):
            out.append(read)
            if progress is not None:
                progress(i + 1, len(chosen))
    return tuple(out)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FootageText:
    """The text read in a photo or video: per frame, with what reproduces the reading."""

    path: str
    sha256: str
    lang: str
    tesseract_version: str
    frames: tuple[FrameText, ...]

    @property
    def regions(self) -> tuple[TextRegion, ...]:
        """Every region of every frame, in time order."""
        return tuple(r for ft in self.frames for r in ft.regions)


def read_footage_text(
    path: str | os.PathLike[str],
    *,
    registry: Registry | None = None,
    options: TextOptions | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> FootageText:
    """Read the text of a photo, or of a video's selected frames (``FrameOptions.covering``).

    The frames are chosen as ``verify`` chooses them (every shot, new views, the sharpest),
    then ``read_frames_text`` reads the sharpest ``options.max_frames`` of them. Tesseract
    and the languages are checked before anything is decoded.
    """
    from geoverify.footage import read_footage
    from geoverify.frames import FrameOptions

    opts = options or TextOptions()
    check_lang(opts.lang)
    footage = read_footage(path, options=FrameOptions.covering())
    frames = read_frames_text(
        footage.selection.frames, registry=registry, options=opts, progress=progress
    )
    return FootageText(
        path=footage.media.path,
        sha256=footage.media.sha256,
        lang=opts.lang,
        tesseract_version=tesseract_version(),
        frames=frames,
    )


def read_text_for_verify(
    frames: Sequence[Frame],
    *,
    registry: Registry,
    options: TextOptions | None,
    progress: Callable[[int, int | None], None] | None = None,
) -> tuple[tuple[FrameText, ...] | None, tuple[str, ...]]:
    """Read the frames' text as ``verify`` does: ``None`` and why when it cannot or need not.

    ``options`` ``None``: text reading is off. A missing Tesseract (or language) does not stop
    a verification: the text line is then ``not_tested``, and the returned sentence (for the
    report's limitations) says what to install.
    """
    if options is None:
        return None, ("The frames' text was not read (turned off).",)
    try:
        check_lang(options.lang)
    except MissingDependencyError as exc:
        return None, (f"The frames' text was not read: {exc.message}. {exc.hint}",)
    texts = read_frames_text(frames, registry=registry, options=options, progress=progress)
    notes = [
        f"Text was read by Tesseract {tesseract_version()} ({options.lang}) in the "
        f"{len(texts)} sharpest selected frame(s); a name read is a clue to a place, not a "
        "position (a sign can be moved, a name can repeat)."
    ]
    hit = sum(ft.budget_hit for ft in texts)
    if hit:
        notes.append(
            f"In {hit} frame(s) the text reading stopped at its time budget "
            f"({options.time_budget_s:g} s a frame): some text may be unread."
        )
    return texts, tuple(notes)


def crop_name(frame_number: int, index: int) -> str:
    """Return the file name of a region's crop: ``frame000123_r01.png``."""
    return f"frame{frame_number:06d}_r{index:02d}.png"


def _crops(
    texts: Sequence[FrameText], frames: Sequence[Frame]
) -> Iterator[tuple[str, PixelBox, npt.NDArray[Any]]]:
    """Yield each region's crop: its file name (``crop_name``), box and BGR pixels."""
    by_number = {f.frame_number: f for f in frames if getattr(f, "image_bgr", None) is not None}
    for ft in texts:
        frame = by_number.get(ft.frame_number)
        if frame is None:
            continue
        h, w = frame.image_bgr.shape[:2]
        for k, region in enumerate(ft.regions):
            b = region.box
            top, left = max(b.top_px - CROP_MARGIN_PX, 0), max(b.left_px - CROP_MARGIN_PX, 0)
            bottom = min(b.bottom_px + CROP_MARGIN_PX, h)
            right = min(b.right_px + CROP_MARGIN_PX, w)
            if bottom > top and right > left:
                yield crop_name(ft.frame_number, k), b, frame.image_bgr[top:bottom, left:right]


def _png(image: npt.NDArray[Any]) -> bytes:
    import cv2

    ok, png = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - a uint8 array always encodes
        msg = "a crop could not be encoded as PNG"
        raise ValueError(msg)
    return png.tobytes()


def crop_data_uris(
    texts: Sequence[FrameText], frames: Sequence[Frame], *, folder: str = "text"
) -> dict[str, str]:
    """Return each region's crop as a PNG data URI, keyed ``folder/crop_name`` (for HTML)."""
    return {
        f"{folder}/{name}": "data:image/png;base64," + base64.b64encode(_png(px)).decode("ascii")
        for name, _, px in _crops(texts, frames)
    }


def save_text_crops(
    texts: Sequence[FrameText],
    frames: Sequence[Frame],
    out_dir: str | os.PathLike[str],
) -> dict[str, PixelBox]:
    """Write each region's crop (a margin of ``CROP_MARGIN_PX`` around its box) as PNG.

    Returns the file names written (``crop_name``) and their boxes in the frame's pixels.
    Frames without pixels are skipped.
    """
    out = Path(out_dir)
    written: dict[str, PixelBox] = {}
    for name, box, pixels in _crops(texts, frames):
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / name, _png(pixels))
        written[name] = box
    return written
