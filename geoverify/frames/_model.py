"""Frame selection: options, result types and the image measures (see ``geoverify.frames``)."""

from __future__ import annotations

import dataclasses
import html
import math
from fractions import Fraction
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from geoverify._choices import DEFAULT_SCENE_SCAN, SceneScan
from geoverify.errors import InputError
from geoverify.models import Note

FRAMES_SCHEMA = "geoverify.frames/1"
# Phase-correlation peak below which two views no longer overlap enough to be tracked.
VIEW_LOST_RESPONSE = 0.03
Image = npt.NDArray[np.uint8]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FrameOptions:
    """Which frames to select and how.

    Attributes
    ----------
    every_s
        Interval in seconds for the ``every`` strategy, or ``None``.
    keyframes, scenes, views
        Turn those strategies on.
    best
        How many sharpest distinct frames to keep (0: off).
    start_s, end_s
        Restrict every strategy to this range of seconds from the first frame.
    scene_threshold
        Motion-compensated mean absolute luma difference (0-255) above which a cut is possible.
    scene_ratio
        A cut's difference must also exceed this multiple of the median recent difference.
    view_change
        Camera movement, as a fraction of the frame's width or height, that makes a new view.
    dedupe_bits
        Perceptual hashes this close (Hamming distance, of 64 bits) are near-duplicates.
    scene_scan
        ``auto``: when scenes are the only strategy (keyframes aside) over the whole clip,
        each GOP is screened first: one whose keyframe matches the next and that holds no
        burst of intra coding contributes its keyframe only, and a changing one is looked at
        from where the change can start (much faster; see ``geoverify.frames._screen`` for
        what that cannot see). ``full``: decode and look at every frame.
    analysis_width
        Width in pixels of the downscaled luma used for analysis.
    sample_hz
        Rate at which frames are considered for ``best`` and shot representatives.
    max_selected
        Most frames kept; more raises ``LimitError`` (memory stays bounded).
    """

    every_s: float | None = None
    keyframes: bool = False
    scenes: bool = False
    views: bool = False
    best: int = 0
    start_s: float | None = None
    end_s: float | None = None
    scene_threshold: float = 18.0
    scene_ratio: float = 3.0
    view_change: float = 0.33
    dedupe_bits: int = 10
    scene_scan: SceneScan = DEFAULT_SCENE_SCAN
    analysis_width: int = 160
    sample_hz: float = 4.0
    max_selected: int = 2000

    def __post_init__(self) -> None:
        def seconds_ok(value: float | None, *, positive: bool) -> bool:
            if value is None:
                return True
            return math.isfinite(value) and (value > 0 if positive else value >= 0)

        rules = [
            (seconds_ok(self.every_s, positive=True), "every_s", "a positive number of seconds"),
            (self.best >= 0, "best", "a whole number >= 0"),
            (seconds_ok(self.start_s, positive=False), "start_s", "a number of seconds >= 0"),
            (seconds_ok(self.end_s, positive=False), "end_s", "a number of seconds >= 0"),
            (
                self.start_s is None or self.end_s is None or self.end_s > self.start_s,
                "end_s",
                "greater than start_s",
            ),
            (0 < self.view_change <= 1, "view_change", "in (0, 1]"),
            (self.analysis_width >= 32, "analysis_width", "at least 32"),
            (self.sample_hz > 0, "sample_hz", "positive"),
            (self.max_selected > 0, "max_selected", "positive"),
            (self.scene_scan in ("auto", "full"), "scene_scan", "auto or full"),
        ]
        for ok, name, rule in rules:
            if not ok:
                msg = f"{name} must be {rule}, got {getattr(self, name)!r}"
                raise InputError(msg, code="E_INPUT_OPTION", hint=f"Give {name} as {rule}.")
        if not (self.every_s or self.keyframes or self.scenes or self.views or self.best):
            msg = "no frame strategy chosen"
            hint = "Choose at least one of every_s, keyframes, scenes, views, best."
            raise InputError(msg, code="E_INPUT_OPTION", hint=hint)

    @classmethod
    def covering(cls, *, start_s: float | None = None, end_s: float | None = None) -> FrameOptions:
        """Frames that cover the footage: every shot, every new view inside one, the 4 sharpest.

        The default of ``match VIDEO`` and ``verify``.
        """
        return cls(scenes=True, views=True, best=4, start_s=start_s, end_s=end_s)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """One selected frame: pixels (upright, BGR) and where it sits in the stream.

    Attributes
    ----------
    image_bgr
        H x W x 3 uint8, rotation applied so it looks as a viewer sees it.
    t_s
        Seconds from the stream's first frame.
    pts, time_base
        Presentation timestamp and its time base: ``pts * time_base`` is the stream time.
    frame_number
        0-based position in presentation order.
    keyframe
        Whether the decoder flagged it as a keyframe.
    strategies
        Which strategies chose it (``every``, ``keyframe``, ``scene``, ``view``, ``best``).
    shot
        0-based shot index when scenes or views were analysed, else ``None``.
    sharpness
        Variance of the Laplacian of the downscaled luma (higher is sharper).
    phash
        64-bit DCT perceptual hash, 16 hex digits.
    """

    image_bgr: Image = dataclasses.field(repr=False, compare=False, metadata={"json": False})
    t_s: float
    pts: int
    time_base: Fraction
    frame_number: int
    keyframe: bool
    strategies: tuple[str, ...]
    shot: int | None
    sharpness: float
    phash: str

    def _repr_html_(self) -> str:
        """Show the frame as a thumbnail with its time in Jupyter."""
        import base64

        h, w = self.image_bgr.shape[:2]
        small = cv2.resize(self.image_bgr, (320, max(1, round(h * 320 / w))))
        ok, buf = cv2.imencode(".jpg", small)
        src = "data:image/jpeg;base64," + base64.b64encode(bytes(buf)).decode() if ok else ""
        label = f"{self.t_s:.3f} s, frame {self.frame_number}, {'/'.join(self.strategies)}"
        return f'<figure><img src="{src}"><figcaption>{html.escape(label)}</figcaption></figure>'


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Shot:
    """A shot: frames [first_frame, last_frame], seconds [start_s, end_s]; how it began."""

    index: int
    first_frame: int
    last_frame: int
    start_s: float
    end_s: float
    began_with: Literal["start", "cut", "fade"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FrameSelection:
    """The frames chosen from one video, with what was and was not decoded."""

    source_path: str
    source_sha256: str
    options: FrameOptions
    frames: tuple[Frame, ...]
    shots: tuple[Shot, ...]
    rotation_deg: int
    frames_expected: int
    frames_decoded: int
    uncovered_ranges_s: tuple[tuple[float, float], ...]
    decode_error: str
    notes: tuple[Note, ...]
    frames_screened: int = 0

    def _repr_html_(self) -> str:
        """Show the selection in Jupyter: what was decoded, then each frame (text escaped)."""
        import html

        from geoverify.models import html_table

        summary = html_table(
            [
                ("video", self.source_path),
                ("frames", len(self.frames)),
                ("shots", len(self.shots)),
                ("decoded", f"{self.frames_decoded} of {self.frames_expected}"),
                ("uncovered", ", ".join(f"{a:.3f}-{b:.3f} s" for a, b in self.uncovered_ranges_s)
                 or "none"),
                *((n.code, n.message) for n in self.notes),
            ]
        )  # fmt: skip
        rows = [
            (f"{f.t_s:.3f} s", f.frame_number, "key" if f.keyframe else "", ",".join(f.strategies),
             f"{f.sharpness:.1f}")
            for f in self.frames
        ]  # fmt: skip
        header = ("time", "frame", "keyframe", "why chosen", "sharpness")
        return (
            f"<h4>{html.escape(self.source_path)}</h4>" + summary + html_table(rows, header=header)
        )


# --- pure image measures -------------------------------------------------------------------------


def sharpness(gray: npt.NDArray[Any]) -> float:
    """Variance of the Laplacian of a grey image: a standard focus measure (higher: sharper)."""
    lap = cv2.Laplacian(gray, cv2.CV_32F)
    return float(lap.var())


def perceptual_hash(gray: npt.NDArray[Any]) -> int:
    """64-bit DCT perceptual hash (pHash): low 8x8 DCT coefficients above their median."""
    small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].flatten()
    median = float(np.median(low[1:]))
    bits = 0
    for value in low:
        bits = (bits << 1) | int(value > median)
    return bits


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
