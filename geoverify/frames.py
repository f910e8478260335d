"""Stage 2, frames: pick the frames worth looking at, with exact timestamps.

Input: a video file. Output: a ``FrameSelection`` of ``Frame`` objects (pixels plus metadata)
chosen by one or more strategies, and, only when ``save_frames`` is called, image files, a
``frames.json`` manifest and a contact sheet.

Strategies (combinable):

- ``every_s``: the frame on screen at each multiple of the interval (the last frame whose
  presentation time is <= the target), so variable frame rate is handled exactly.
- ``keyframes``: the stream's keyframes. Alone, decoded with FFmpeg's non-key frames skipped.
- ``scenes``: shot boundaries (hard cuts and fades through black) and one representative, the
  sharpest sampled frame, per shot.
- ``views``: inside a shot, a new frame whenever the camera has moved by a set fraction of the
  frame since the last view (a pan along a street yields its distinct views).
- ``best``: the N sharpest frames that are not near-duplicates of each other.

Method. Every frame in the range is decoded once, in one pass, in the isolated worker process;
analysis runs on the luma plane downscaled to ``analysis_width`` pixels (no colour conversion
except for frames that are kept). A cut at frame i is declared when the motion-compensated mean
absolute luma difference between frames i-1 and i is above ``scene_threshold`` (0-255 scale)
and above ``scene_ratio`` times the median of the preceding differences, and frames i+1 and i+2
also differ from frame i-1 (so a flash of one or two frames is not a cut). Motion compensation
uses phase correlation, so a fast pan is not a cut. Sharpness is the variance of the Laplacian;
near-duplicates are found with a 64-bit DCT perceptual hash (Hamming distance <= ``dedupe_bits``).
Timestamps are the decoder's presentation timestamps; frame numbers are positions in the sorted
list of the stream's packet timestamps (presentation order), never time x rate.
"""

from __future__ import annotations

import bisect
import concurrent.futures
import dataclasses
import hashlib
import html
import json
import logging
import math
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from geoverify._decode import (
    DecodeLimits,
    _choose_video,
    _read_stream,
    check_local_file,
    open_container,
    report_item,
    report_progress,
    run_isolated,
    sha256_file,
)
from geoverify._io import write_atomic
from geoverify.errors import GeoverifyError, InputError, LimitError, MediaError
from geoverify.models import Note, sanitize_text, to_jsonable

__all__ = [
    "Frame",
    "FrameOptions",
    "FrameSelection",
    "FrameWriter",
    "SavedFrames",
    "Shot",
    "contact_sheet",
    "perceptual_hash",
    "save_frames",
    "select_frames",
    "sharpness",
]

log = logging.getLogger(__name__)

FRAMES_SCHEMA = "geoverify.frames/1"
# Phase-correlation peak below which two views no longer overlap enough to be tracked.
_VIEW_LOST_RESPONSE = 0.03
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
        ]
        for ok, name, rule in rules:
            if not ok:
                msg = f"{name} must be {rule}, got {getattr(self, name)!r}"
                raise InputError(msg, code="E_INPUT_OPTION", hint=f"Give {name} as {rule}.")
        if not (self.every_s or self.keyframes or self.scenes or self.views or self.best):
            msg = "no frame strategy chosen"
            hint = "Choose at least one of every_s, keyframes, scenes, views, best."
            raise InputError(msg, code="E_INPUT_OPTION", hint=hint)


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


def _hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


# --- worker side ---------------------------------------------------------------------------------


def _luma(frame: Any) -> npt.NDArray[np.uint8]:
    """Return the Y plane as a numpy view where the format allows, else a grey image."""
    if frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "nv12"):
        plane = frame.planes[0]
        buf = np.frombuffer(plane, np.uint8)
        return buf.reshape(plane.height, plane.line_size)[:, : plane.width]
    gray: npt.NDArray[np.uint8] = frame.to_ndarray(format="gray")
    return gray


_NO_SMALL = np.zeros((1, 1), np.float32)
_NO_PIXELS = np.zeros((0, 0, 3), np.uint8)


def _small_luma(frame: Any, width: int) -> npt.NDArray[np.uint8]:
    """Return the luma plane downscaled to ``width`` pixels wide.

    Large frames are first decimated by a whole step (a free strided view) to at least twice
    the target width, then area-averaged: the same picture for cut detection at a fraction of
    the cost of averaging the full plane.
    """
    luma = _luma(frame)
    h0, w0 = luma.shape
    step = max(1, w0 // (2 * width))
    if step > 1:
        luma = luma[::step, ::step]
    height = max(8, round(h0 * width / w0))
    small = cv2.resize(luma, (width, height), interpolation=cv2.INTER_AREA)
    return np.asarray(small, dtype=np.uint8)


def _frame_rotation(frame: Any) -> int:
    """Clockwise display rotation from a decoded frame's display matrix (0, 90, 180, 270)."""
    # PyAV reports the matrix angle counter-clockwise; a player turns the picture the other way.
    return (-round((frame.rotation or 0) / 90.0) * 90) % 360


def _upright(image: Image, rotation_deg: int) -> Image:
    if rotation_deg == 0:
        return image
    # np.rot90 turns counter-clockwise for positive k.
    return np.ascontiguousarray(np.rot90(image, k=-(rotation_deg // 90)))


def _phase_correlate(
    a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], window: npt.NDArray[Any]
) -> tuple[float, float, float]:
    """(dx, dy, response) of ``b`` relative to ``a``.

    OpenCV 5.0's ``phaseCorrelate`` multiplies its inputs by the window in place, so it is given
    copies: the analysis images are used again afterwards.
    """
    (dx, dy), response = cv2.phaseCorrelate(a.copy(), b.copy(), window)
    return float(dx), float(dy), float(response)


def _aligned_diff(
    prev: npt.NDArray[np.float32], cur: npt.NDArray[np.float32], window: npt.NDArray[Any]
) -> tuple[float, float, float]:
    """(difference after motion compensation, dx, dy) between two small luma images."""
    plain = float(np.mean(np.abs(cur - prev)))
    dx, dy, response = _phase_correlate(prev, cur, window)
    h, w = prev.shape
    if response < 0.05 or abs(dx) >= w / 2 or abs(dy) >= h / 2:
        return plain, 0.0, 0.0
    ix, iy = round(dx), round(dy)
    ys = slice(max(0, iy), h + min(0, iy))
    xs = slice(max(0, ix), w + min(0, ix))
    ps = slice(max(0, -iy), h + min(0, -iy))
    px = slice(max(0, -ix), w + min(0, -ix))
    aligned = float(np.mean(np.abs(cur[ys, xs] - prev[ps, px])))
    return min(plain, aligned), dx, dy


@dataclasses.dataclass(slots=True)
class _Item:
    """A decoded frame waiting in the delay line for the scene decision."""

    frame: Any
    pts: int
    t_s: float
    number: int
    key: bool
    small: npt.NDArray[np.float32]
    diff: float
    dx: float
    dy: float
    black: bool
    sharp: float = 0.0
    image: Image | None = None
    flash: bool = False


@dataclasses.dataclass(slots=True)
class _Pick:
    frame: Frame


class _Selector:
    """Runs every strategy over the frames of one pass (worker side)."""

    def __init__(
        self, opts: FrameOptions, rotation: int | None, fps_hint: float, time_base: Fraction
    ) -> None:
        self.o = opts
        self.rotation = rotation
        self.tb = time_base
        self.frame_step_s = 1.0 / fps_hint if fps_hint > 0 else 0.0
        self.picks: dict[int, Frame] = {}
        self.shots: list[Shot] = []
        self.shot = 0
        self.shot_first: tuple[int, float] | None = None
        self.shot_began: Literal["start", "cut", "fade"] = "start"
        self.shot_best: _Item | None = None
        self.last_sample_t = -math.inf
        self.every_pts: frozenset[int] = frozenset()
        self.stream = False
        self.streamed: set[int] = set()
        self.view_ref: npt.NDArray[np.float32] | None = None
        self.window: npt.NDArray[Any] | None = None
        self.recent: deque[float] = deque(maxlen=max(8, round(fps_hint)))
        self.in_black = False
        self.best_pool: list[tuple[float, int, Frame]] = []
        self.last_finalised: _Item | None = None
        self.reference: _Item | None = None
        self.first_pts: int | None = None

    # -- helpers --
    def _frame(self, item: _Item, strategy: str) -> Frame:
        if self.rotation is None:
            self.rotation = _frame_rotation(item.frame)
        if item.image is None:
            rgb = item.frame.to_ndarray(format="bgr24")
            item.image = _upright(rgb, self.rotation)
        gray = cv2.cvtColor(item.image, cv2.COLOR_BGR2GRAY)
        return Frame(
            image_bgr=item.image,
            t_s=item.t_s,
            pts=item.pts,
            time_base=self.tb,
            frame_number=item.number,
            keyframe=item.key,
            strategies=(strategy,),
            shot=self.shot if (self.o.scenes or self.o.views) else None,
            sharpness=item.sharp,
            phash=f"{perceptual_hash(gray):016x}",
        )

    def _pick(self, item: _Item, strategy: str) -> None:
        existing = self.picks.get(item.number)
        if existing is not None:
            if strategy not in existing.strategies:
                self.picks[item.number] = dataclasses.replace(
                    existing, strategies=(*existing.strategies, strategy)
                )
            return
        if len(self.picks) >= self.o.max_selected:
            msg = f"more than {self.o.max_selected} frames selected"
            hint = "Narrow --start/--end, lengthen --every, or raise max_selected."
            raise LimitError(msg, code="E_LIMIT_FRAMES", hint=hint)
        frame = self._frame(item, strategy)
        self.picks[item.number] = frame
        if self.stream:
            report_item(frame)  # final: the parent can start saving it while decoding goes on
            self.streamed.add(item.number)
            self.picks[item.number] = dataclasses.replace(frame, image_bgr=_NO_PIXELS)

    def _close_shot(self, last: _Item) -> None:
        if self.shot_first is None or not (self.o.scenes or self.o.views):
            return
        first_number, start_s = self.shot_first
        self.shots.append(
            Shot(
                index=self.shot,
                first_frame=first_number,
                last_frame=last.number,
                start_s=start_s,
                end_s=last.t_s,
                began_with=self.shot_began,
            )
        )
        if self.o.scenes and self.shot_best is not None:
            self._pick(self.shot_best, "scene")
        self.shot_best = None

    # -- the decision for one frame, once its two successors are known --
    def finalise(self, item: _Item, ahead: Sequence[_Item]) -> None:
        o = self.o
        boundary: Literal["cut", "fade"] | None = None
        if self.reference is not None and (o.scenes or o.views):
            if item.black:
                self.in_black = True
            elif self.in_black:
                self.in_black = False
                boundary = "fade"
            else:
                verdict = self._is_cut(self.reference, item, ahead)
                if verdict == "cut":
                    boundary = "cut"
                elif verdict == "flash":
                    item.flash = True
            if not item.black and not item.flash:
                self.recent.append(item.diff)
        if not item.flash:
            self.reference = item
        if boundary is not None and self.last_finalised is not None:
            self._close_shot(self.last_finalised)
            self.shot += 1
            self.shot_first = None
            self.shot_began = boundary
        if self.shot_first is None:
            self.shot_first = (item.number, item.t_s)
            if o.views and not item.black:
                self._pick(item, "view")
                self.view_ref = item.small
        elif o.views and not item.black and self._view_changed(item):
            self._pick(item, "view")
            self.view_ref = item.small
        if item.key and o.keyframes:
            self._pick(item, "keyframe")
        if item.pts in self.every_pts:
            self._pick(item, "every")
        if (
            (o.scenes or o.best)
            and not item.black
            and item.t_s - self.last_sample_t >= (1.0 / o.sample_hz - 1e-9)
        ):
            self.last_sample_t = item.t_s
            if o.scenes and (self.shot_best is None or item.sharp > self.shot_best.sharp):
                self.shot_best = item
            if o.best:
                self._offer_best(item)
        self.last_finalised = item

    def _view_changed(self, item: _Item) -> bool:
        """Whether the camera moved ``view_change`` of the frame since the last view.

        The shift is measured against the last view itself (not summed frame to frame, which
        drifts); when phase correlation loses the reference, the view has changed.
        """
        ref = self.view_ref
        if ref is None or ref.shape != item.small.shape:
            return True
        if self.window is None or self.window.shape != ref.shape:
            self.window = cv2.createHanningWindow(ref.shape[::-1], cv2.CV_32F)
        dx, dy, response = _phase_correlate(ref, item.small, self.window)
        h, w = ref.shape
        moved = abs(dx) >= self.o.view_change * w or abs(dy) >= self.o.view_change * h
        return bool(moved or response < _VIEW_LOST_RESPONSE)

    def _is_cut(
        self, ref: _Item, item: _Item, ahead: Sequence[_Item]
    ) -> Literal["cut", "flash", "no"]:
        """Decide whether ``item`` starts a new shot, compared with the last steady frame."""
        o = self.o
        if self.window is None or self.window.shape != ref.small.shape:
            self.window = cv2.createHanningWindow(ref.small.shape[::-1], cv2.CV_32F)
        diff = item.diff
        if self.last_finalised is not ref:  # a flash lies between: compare across it
            diff, _, _ = _aligned_diff(ref.small, item.small, self.window)
        if diff <= o.scene_threshold:
            return "no"
        if self.recent:
            median = float(np.median(np.asarray(self.recent)))
            if diff <= o.scene_ratio * median:
                return "no"
        for later in ahead[:2]:  # a flash returns to the old picture within two frames
            later_diff, _, _ = _aligned_diff(ref.small, later.small, self.window)
            if later_diff <= o.scene_threshold:
                return "flash"
        return "cut"

    def _offer_best(self, item: _Item) -> None:
        candidate = self._frame(item, "best")
        code = int(candidate.phash, 16)
        for i, (sharp, other_code, _other) in enumerate(self.best_pool):
            if _hamming(code, other_code) <= self.o.dedupe_bits:
                if item.sharp > sharp:
                    self.best_pool[i] = (item.sharp, code, candidate)
                return
        self.best_pool.append((item.sharp, code, candidate))
        if len(self.best_pool) > self.o.best:
            self.best_pool.remove(min(self.best_pool, key=lambda entry: entry[0]))

    def finish(self) -> None:
        if self.last_finalised is not None:
            self._close_shot(self.last_finalised)
        for _, _, frame in self.best_pool:
            existing = self.picks.get(frame.frame_number)
            if existing is None:
                self.picks[frame.frame_number] = frame
            elif "best" not in existing.strategies:
                self.picks[frame.frame_number] = dataclasses.replace(
                    existing, strategies=(*existing.strategies, "best")
                )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _ScanResult:
    frames: tuple[Frame, ...]
    shots: tuple[Shot, ...]
    rotation_deg: int
    frames_expected: int
    frames_decoded: int
    uncovered: tuple[tuple[float, float], ...]
    decode_error: str


def _decode_robust(container: Any, stream: Any, errors: list[str]) -> Any:
    """Yield decoded frames; a bad packet is skipped and recorded, never taken for the end.

    A demuxer error ends reading (recorded); the decoder is then flushed, so frames it still
    holds come out.
    """
    import av

    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.FFmpegError as exc:
            errors.append(f"demux: {type(exc).__name__}: {exc}"[:200])
            break
        try:
            yield from packet.decode()
        except av.FFmpegError as exc:
            errors.append(f"decode: {type(exc).__name__}: {exc}"[:200])
    try:
        yield from stream.codec_context.decode(None)
    except av.FFmpegError as exc:
        errors.append(f"flush: {type(exc).__name__}: {exc}"[:200])


def _every_targets(
    pts_list: list[int], time_base: Fraction, opts: FrameOptions, step_s: float
) -> dict[int, list[float]]:
    """Map each frame that is on screen at a target time to those targets (seconds).

    The frame on screen at t is the last one whose presentation time is <= t (the stream's
    last frame stays on screen for one frame interval), taken from the full list of packet
    timestamps, so the choice is exact on variable frame rate and never depends on what
    happened to decode.
    """
    if opts.every_s is None:
        return {}
    first = pts_list[0]
    times = [float((p - first) * time_base) for p in pts_list]
    shown_until = times[-1] + step_s  # the last frame leaves the screen here
    end_s = opts.end_s if opts.end_s is not None else math.inf
    out: dict[int, list[float]] = {}
    k = 0
    while True:
        target = (opts.start_s or 0.0) + k * opts.every_s
        k += 1
        if target > end_s + 1e-9 or target >= shown_until - 1e-9:
            return out
        i = bisect.bisect_right(times, target + 1e-9) - 1
        if i >= 0:
            out.setdefault(pts_list[i], []).append(target)


def _every_by_seeking(
    container: Any,
    stream: Any,
    selector: _Selector,
    targets: dict[int, list[float]],
    pts_list: list[int],
    key_pts: list[int],
    errors: list[str],
) -> tuple[list[int], list[float]]:
    """Decode the ``every`` frames by seeking to the keyframe before each (worker side).

    A frame whose keyframe lies ahead of the decoder's position is reached by a seek; one in
    the stretch already being decoded, by decoding on. Returns the presentation timestamps
    decoded and the target times whose frame did not decode.
    """
    tb = selector.tb
    first = pts_list[0]
    decoded: list[int] = []
    missing: list[float] = []
    frames: Any = None
    pending: Any = None  # a decoded frame past the wanted one, kept for the next
    position: int | None = None
    exhausted_key: int | None = None  # decoding on from this keyframe reached the end
    for wanted in sorted(targets):
        i = bisect.bisect_right(key_pts, wanted) - 1
        key = key_pts[i] if i >= 0 else first
        if frames is None and exhausted_key is not None and key <= exhausted_key:
            missing.extend(targets[wanted])
            continue
        if frames is None or position is None or key > position:
            container.seek(int(key), stream=stream, backward=True, any_frame=False)
            frames = _decode_robust(container, stream, errors)
            pending, position = None, None
        found = None
        while True:
            frame = pending if pending is not None else next(frames, None)
            pending = None
            if frame is None:
                frames = None
                exhausted_key = key
                break
            if frame.pts is None or frame.pts < key:
                continue
            if frame.pts > (position if position is not None else -math.inf):
                decoded.append(frame.pts)
                report_progress(len(decoded), None)
            position = frame.pts
            if frame.pts == wanted:
                found = frame
                break
            if frame.pts > wanted:
                pending = frame
                break
        if found is None:
            missing.extend(targets[wanted])
            continue
        item = _Item(
            frame=found,
            pts=found.pts,
            t_s=float((found.pts - first) * tb),
            number=bisect.bisect_left(pts_list, found.pts),
            key=bool(found.key_frame),
            small=_NO_SMALL,
            diff=0.0,
            dx=0.0,
            dy=0.0,
            black=False,
        )
        selector._pick(item, "every")
    return decoded, missing


def _scan(
    path: str,
    opts: FrameOptions,
    limits: DecodeLimits,
    rotation: int | None,
    stream_frames: bool = False,
) -> _ScanResult:
    """Decode the range once and run the strategies (inside the worker)."""
    import av

    with open(path, "rb") as fh:
        try:
            container = open_container(fh)
        except av.FFmpegError as exc:
            msg = f"FFmpeg cannot open the file as media: {exc}"[:300]
            raise MediaError(msg, code="E_INPUT_NOT_MEDIA", hint="Check the file.") from None
        with container:
            raws = [_read_stream(s, container, limits) for s in container.streams]
            index, reason = _choose_video(raws)
            if index is None:
                msg = f"no video stream: {reason}"
                raise MediaError(msg, code="E_NO_VIDEO_STREAM", hint="Give a video file.")
            stream = container.streams[index]
            cc = stream.codec_context
            if cc.width * cc.height > limits.max_pixels:
                msg = f"frame size {cc.width}x{cc.height} is over the pixel limit"
                hint = "Raise max_pixels only for a trusted file."
                raise LimitError(msg, code="E_LIMIT_PIXELS", hint=hint)
            tb = Fraction(stream.time_base)
            # Presentation timestamps of every packet (no decoding): frame numbers and the
            # frames expected in the range come from this list.
            pts_list: list[int] = []
            key_pts: list[int] = []
            demux_error = ""
            try:
                for packet in container.demux(stream):
                    if packet.pts is not None:
                        pts_list.append(packet.pts)
                        if packet.is_keyframe:
                            key_pts.append(packet.pts)
                        if len(pts_list) > limits.max_frames:
                            msg = f"more than {limits.max_frames} frames"
                            raise LimitError(msg, code="E_LIMIT_FRAMES", hint="Cut the clip.")
            except av.FFmpegError as exc:
                demux_error = f"{type(exc).__name__}: {exc}"[:300]
            pts_list.sort()
            key_pts.sort()
            if not pts_list:
                msg = "the video stream has no readable packets"
                hint = "The file is truncated or corrupt; fetch it again."
                raise MediaError(msg, code="E_CONTAINER_TRUNCATED", hint=hint)
            first_pts = pts_list[0]
            median_step = (float(np.median(np.diff(pts_list))) if len(pts_list) > 1 else 1.0) or 1.0
            fps_hint = float(1 / (median_step * tb)) if tb else 25.0

            def t_of(pts: int) -> float:
                return float((pts - first_pts) * tb)

            start_s = opts.start_s or 0.0
            end_s = opts.end_s if opts.end_s is not None else math.inf
            expected = [p for p in pts_list if start_s - 1e-9 <= t_of(p) <= end_s + 1e-9]
            only_keys = opts.keyframes and not (
                opts.every_s or opts.scenes or opts.views or opts.best
            )
            container.seek(0)
            if start_s > 0:
                target = first_pts + round(start_s / tb)
                container.seek(target, stream=stream, backward=True, any_frame=False)
            cc.thread_type = "AUTO"
            # Scenes, views and best need every frame's luma; every and keyframes need none.
            analyse = opts.scenes or opts.views or opts.best > 0
            if only_keys:
                cc.skip_frame = "NONKEY"
            selector = _Selector(opts, rotation, fps_hint, tb)
            selector.first_pts = first_pts
            selector.stream = stream_frames
            every = _every_targets(pts_list, tb, opts, median_step * float(tb))
            selector.every_pts = frozenset(every)
            window: npt.NDArray[Any] | None = None
            line: deque[_Item] = deque()
            decoded_pts: list[int] = []
            prev_small: npt.NDArray[np.float32] | None = None
            width = opts.analysis_width
            total = len(expected)
            errors: list[str] = [demux_error] if demux_error else []
            seek_mode = opts.every_s is not None and not analyse and not opts.keyframes
            if seek_mode:
                decoded_pts, missing_targets = _every_by_seeking(
                    container, stream, selector, every, pts_list, key_pts, errors
                )
                selector.finish()
                decode_error = "; ".join(dict.fromkeys(errors))[:600]
            else:
                try:
                    for frame in _decode_robust(container, stream, errors):
                        if frame.pts is None:
                            continue
                        t = t_of(frame.pts)
                        if t < start_s - 1e-9:
                            continue
                        if t > end_s + 1e-9:
                            break
                        decoded_pts.append(frame.pts)
                        number = bisect.bisect_left(pts_list, frame.pts)
                        if analyse:
                            small_u8 = _small_luma(frame, width)
                            small = small_u8.astype(np.float32)
                            if window is None:
                                window = cv2.createHanningWindow(small.shape[::-1], cv2.CV_32F)
                            if prev_small is not None and prev_small.shape == small.shape:
                                diff, dx, dy = _aligned_diff(prev_small, small, window)
                            else:
                                diff, dx, dy = 0.0, 0.0, 0.0
                            prev_small = small
                            black = float(small.mean()) < 20.0 and float(small.std()) < 8.0
                            sharp = sharpness(small_u8)
                        else:
                            small, diff, dx, dy, black, sharp = _NO_SMALL, 0.0, 0.0, 0.0, False, 0.0
                        item = _Item(
                            frame=frame,
                            pts=frame.pts,
                            t_s=t,
                            number=number,
                            key=bool(frame.key_frame),
                            small=small,
                            diff=diff,
                            dx=dx,
                            dy=dy,
                            black=black,
                            sharp=sharp,
                        )
                        line.append(item)
                        if len(line) == 3:
                            selector.finalise(line.popleft(), tuple(line))
                        report_progress(len(decoded_pts), total)
                finally:
                    decode_error = "; ".join(dict.fromkeys(errors))[:600]
                while line:
                    selector.finalise(line.popleft(), tuple(line))
                selector.finish()
    decoded = set(decoded_pts)
    uncovered: list[tuple[float, float]] = []
    step_s = median_step * float(tb)
    if seek_mode:
        missing_times = missing_targets
    elif only_keys:
        missing_times = []
    else:
        missing_times = [t_of(p) for p in expected if p not in decoded]
    if missing_times:
        for t in missing_times:
            if uncovered and abs(t - uncovered[-1][1]) <= 1.5 * step_s:
                uncovered[-1] = (uncovered[-1][0], t)
            else:
                uncovered.append((t, t))
    # A cut-off MP4 or AVI still carries the full index: frames it lists past the last packet
    # present are missing too. (Index times are decode times; equal to presentation times
    # without B-frames, within the reorder delay with them.)
    raw = raws[index]
    index_count = raw.ts_count if raw.timestamps_from == "index" else 0
    frames_expected = len(expected)
    if index_count > len(pts_list) and raw.ts_last is not None and raw.ts_first is not None:
        frames_expected += index_count - len(pts_list)
        tail_start = t_of(pts_list[-1]) + step_s
        tail_end = min(end_s, float((raw.ts_last - raw.ts_first) * tb))
        if tail_end >= tail_start - 1e-9 and tail_start <= end_s:
            if uncovered and tail_start - uncovered[-1][1] <= 1.5 * step_s:
                uncovered[-1] = (uncovered[-1][0], tail_end)
            else:
                uncovered.append((tail_start, tail_end))
    # frames already streamed were kept without pixels: the parent puts them back
    frames = tuple(sorted(selector.picks.values(), key=lambda f: f.pts))
    return _ScanResult(
        frames=frames,
        shots=tuple(selector.shots),
        rotation_deg=selector.rotation if selector.rotation is not None else 0,
        frames_expected=frames_expected,
        frames_decoded=len(decoded_pts),
        uncovered=tuple(uncovered),
        decode_error=decode_error,
    )


# --- public API ----------------------------------------------------------------------------------


def select_frames(
    path: str | os.PathLike[str],
    *,
    options: FrameOptions,
    limits: DecodeLimits | None = None,
    source_sha256: str | None = None,
    rotation_deg: int | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    on_frame: Callable[[Frame], None] | None = None,
    keep_pixels: bool = True,
) -> FrameSelection:
    """Select frames from a video. Writes nothing.

    Parameters
    ----------
    path
        Local video file.
    options
        Strategies and their parameters.
    limits
        Resource limits of the decoder worker.
    source_sha256
        The file's SHA-256 from an earlier ``probe``; computed (in parallel) when ``None``.
    rotation_deg
        Clockwise rotation to apply; by default the stream's display matrix decides.
    progress
        Called with (frames decoded, frames expected in the range).
    on_frame
        Called with each frame as soon as its selection is final, while decoding goes on (to
        start saving early); the returned selection is the authoritative, complete list.
    keep_pixels
        ``False`` drops the pixels of frames already handed to ``on_frame`` (their
        ``image_bgr`` is empty), so memory stays bounded on long videos.

    Returns
    -------
    FrameSelection
        Frames sorted by time. When the file is damaged the decodable frames come back, with
        ``uncovered_ranges_s`` and ``decode_error`` saying what is missing.

    Raises
    ------
    InputError, MediaError, LimitError
        As ``probe``; ``E_CONTAINER_TRUNCATED`` when no frame at all decodes.
    """
    limits = limits or DecodeLimits()
    p = check_local_file(path)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        # hash on a thread while the worker decodes (hashlib releases the GIL)
        digest = pool.submit(sha256_file, p) if source_sha256 is None else None
        streamed: dict[int, Frame] = {}

        def take(frame: Frame) -> None:
            if on_frame is not None:
                on_frame(frame)
            if keep_pixels:
                streamed[frame.frame_number] = frame

        try:
            result = run_isolated(
                _scan,
                str(p),
                options,
                limits,
                rotation_deg,
                True,
                limits=limits,
                progress=progress,
                on_item=take,
            )
        except GeoverifyError as exc:
            exc.input_sha256 = digest.result() if digest is not None else (source_sha256 or "")
            raise
        if digest is not None:
            source_sha256 = digest.result()
    source_sha256 = source_sha256 or ""
    # frames streamed early came back without pixels in the final result: put them back
    frames = tuple(
        dataclasses.replace(f, image_bgr=streamed[f.frame_number].image_bgr)
        if f.image_bgr.size == 0 and f.frame_number in streamed
        else f
        for f in result.frames
    )
    notes: list[Note] = []
    if result.decode_error:
        notes.append(
            Note(
                code="W_DECODE_ERROR",
                message=sanitize_text(
                    f"decoding stopped or skipped data: {result.decode_error}; "
                    f"{result.frames_decoded} of {result.frames_expected} frames decoded"
                ),
                field="frames",
            )
        )
    if result.uncovered:
        spans = ", ".join(f"{a:.3f}-{b:.3f} s" for a, b in result.uncovered[:10])
        notes.append(
            Note(
                code="W_FRAMES_MISSING",
                message=f"no picture for {spans}: those times are not covered",
                field="frames",
            )
        )
    if result.frames_decoded == 0 and not options.keyframes:
        msg = f"no frame of {str(p)!r} could be decoded in the range"
        hint = "The file is truncated or corrupt, or the range lies past its end."
        raise MediaError(msg, code="E_CONTAINER_TRUNCATED", hint=hint, input_sha256=source_sha256)
    return FrameSelection(
        source_path=sanitize_text(os.fspath(path)),
        source_sha256=source_sha256,
        options=options,
        frames=frames,
        shots=result.shots,
        rotation_deg=result.rotation_deg,
        frames_expected=result.frames_expected,
        frames_decoded=result.frames_decoded,
        uncovered_ranges_s=result.uncovered,
        decode_error=sanitize_text(result.decode_error),
        notes=tuple(notes),
    )


# --- writing -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SavedFrame:
    """Where a frame was written and the SHA-256 of the file."""

    file: str
    sha256: str
    t_s: float
    frame_number: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SavedFrames:
    """What ``save_frames`` wrote: the frames, the manifest and the contact sheet."""

    out_dir: str
    frames: tuple[SavedFrame, ...]
    manifest: str
    contact_sheet_png: str
    contact_sheet_html: str


def _encode(image: Image, image_format: Literal["png", "jpeg"], jpeg_quality: int) -> bytes:
    if image_format == "png":
        ok, buf = cv2.imencode(".png", image)
    else:
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGR image
        msg = "image encoding failed"
        raise MediaError(msg, code="E_ENCODE", hint="Report this as a bug.")
    return bytes(buf)


def contact_sheet(frames: Sequence[Frame], *, columns: int = 5, thumb_width: int = 320) -> Image:
    """One BGR image of thumbnails in a grid, each labelled with its time and frame number."""
    if not frames:
        return np.full((60, thumb_width, 3), 255, np.uint8)
    label_h = 22
    thumbs = []
    for f in frames:
        h, w = f.image_bgr.shape[:2]
        th = max(1, round(h * thumb_width / w))
        thumb = cv2.resize(f.image_bgr, (thumb_width, th), interpolation=cv2.INTER_AREA)
        thumbs.append((f, thumb))
    cell_h = max(t.shape[0] for _, t in thumbs) + label_h
    rows = math.ceil(len(thumbs) / columns)
    sheet = np.full((rows * cell_h, min(columns, len(thumbs)) * thumb_width, 3), 255, np.uint8)
    for i, (f, thumb) in enumerate(thumbs):
        r, c = divmod(i, columns)
        y, x = r * cell_h, c * thumb_width
        sheet[y : y + thumb.shape[0], x : x + thumb_width] = thumb
        label = f"{f.t_s:.3f}s  #{f.frame_number}  {'/'.join(f.strategies)}"
        cv2.putText(
            sheet,
            label,
            (x + 4, y + cell_h - 6),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.42,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    return sheet


def _file_name(frame: Frame, ext: str, taken: set[str]) -> str:
    name = f"f_{frame.t_s:010.3f}s.{ext}"
    if name in taken:
        name = f"f_{frame.t_s:010.3f}s_n{frame.frame_number:07d}.{ext}"
    taken.add(name)
    return name


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Prepared:
    staged: Path
    sha256: str
    width: int
    height: int
    thumb: Image


class FrameWriter:
    """Encodes and stages frames on two threads as they arrive, keeping only thumbnails.

    Pass it as ``select_frames(on_frame=writer, keep_pixels=False)``, then give
    ``writer.result()`` to ``save_frames(prepared=...)``: saving overlaps decoding and memory
    stays bounded whatever the video's length. Files are staged in a hidden folder inside
    ``out_dir`` and moved into place by ``save_frames`` (or removed by ``discard``).
    """

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        image_format: Literal["png", "jpeg"] = "png",
        jpeg_quality: int = 95,
    ) -> None:
        self.out = Path(os.fspath(out_dir))
        self._created_out = False
        self.staging: Path | None = None  # made at the first frame: a failed run leaves nothing
        self.image_format: Literal["png", "jpeg"] = image_format
        self.jpeg_quality = jpeg_quality
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        self._jobs: dict[int, concurrent.futures.Future[_Prepared]] = {}

    def _prepare(self, frame: Frame, staging: Path) -> _Prepared:
        data = _encode(frame.image_bgr, self.image_format, self.jpeg_quality)
        staged = staging / f"{frame.frame_number:09d}"
        staged.write_bytes(data)
        h, w = frame.image_bgr.shape[:2]
        thumb = cv2.resize(frame.image_bgr, (320, max(1, round(h * 320 / w))))
        return _Prepared(
            staged=staged,
            sha256=hashlib.sha256(data).hexdigest(),
            width=w,
            height=h,
            thumb=np.asarray(thumb, dtype=np.uint8),
        )

    def __call__(self, frame: Frame) -> None:
        """Start encoding and staging ``frame`` on a worker thread."""
        if self.staging is None:
            self._created_out = not self.out.exists()
            self.out.mkdir(parents=True, exist_ok=True)
            self.staging = Path(tempfile.mkdtemp(dir=self.out, prefix=".staging-"))
        self._jobs[frame.frame_number] = self._pool.submit(self._prepare, frame, self.staging)

    def result(self) -> dict[int, _Prepared]:
        """Wait for every job; return what was staged, by frame number."""
        try:
            return {n: job.result() for n, job in self._jobs.items()}
        finally:
            self._pool.shutdown()

    def discard(self) -> None:
        """Remove what is left staged (everything, after a failure)."""
        self._pool.shutdown(cancel_futures=True)
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            if self._created_out and not any(self.out.iterdir()):
                self.out.rmdir()


def save_frames(
    selection: FrameSelection,
    out_dir: str | os.PathLike[str],
    *,
    image_format: Literal["png", "jpeg"] = "png",
    jpeg_quality: int = 95,
    prepared: Mapping[int, _Prepared] | None = None,
) -> SavedFrames:
    """Write the frames, ``frames.json`` and a contact sheet (PNG and HTML) into ``out_dir``.

    Every file is written to a temporary name and renamed into place; ``frames.json`` is written
    last, so a folder with a manifest is complete. A folder holding frames of another video is
    refused rather than mixed. ``prepared`` holds frames a ``FrameWriter`` already encoded and
    staged (their pixels need not be kept in the selection).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "frames.json"
    if manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
            old_sha = old.get("source", {}).get("sha256")
        except (OSError, ValueError, AttributeError):
            old_sha = None
        if old_sha != selection.source_sha256:
            msg = f"{str(out)!r} already holds frames of another video"
            hint = "Choose an empty output folder."
            raise InputError(msg, code="E_OUTPUT_EXISTS", hint=hint)
    ext = "png" if image_format == "png" else "jpg"
    taken: set[str] = set()
    saved: list[SavedFrame] = []
    entries: list[dict[str, Any]] = []
    # Encoding is the slow part; OpenCV releases the GIL, so two threads use both cores.
    ready = dict(prepared or {})
    todo = [f for f in selection.frames if f.frame_number not in ready]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        encoded = list(pool.map(lambda f: _encode(f.image_bgr, image_format, jpeg_quality), todo))
    blobs = {f.frame_number: data for f, data in zip(todo, encoded, strict=True)}
    sheet_frames = []
    for f in selection.frames:
        name = _file_name(f, ext, taken)
        done = ready.get(f.frame_number)
        if done is not None:
            os.replace(done.staged, out / name)  # staged in the same folder: atomic
            digest, width, height = done.sha256, done.width, done.height
            sheet_frames.append(dataclasses.replace(f, image_bgr=done.thumb))
        else:
            data = blobs[f.frame_number]
            write_atomic(out / name, data)
            digest = hashlib.sha256(data).hexdigest()
            height, width = f.image_bgr.shape[:2]
            sheet_frames.append(f)
        saved.append(SavedFrame(file=name, sha256=digest, t_s=f.t_s, frame_number=f.frame_number))
        entry = to_jsonable(f)
        entry.update(
            file=name,
            sha256=digest,
            pts_time_s=float(f.pts * f.time_base),
            width=width,
            height=height,
        )
        entries.append(entry)
    sheet_png = "contact_sheet.png"
    write_atomic(out / sheet_png, _encode(contact_sheet(sheet_frames), "png", 0))
    sheet_html = "contact_sheet.html"
    write_atomic(out / sheet_html, _sheet_html(selection, saved).encode("utf-8"))
    manifest = {
        "schema": FRAMES_SCHEMA,
        "source": {"path": selection.source_path, "sha256": selection.source_sha256},
        "options": to_jsonable(selection.options),
        "rotation_deg_applied": selection.rotation_deg,
        "frames_expected": selection.frames_expected,
        "frames_decoded": selection.frames_decoded,
        "uncovered_ranges_s": [list(r) for r in selection.uncovered_ranges_s],
        "decode_error": selection.decode_error,
        "notes": to_jsonable(selection.notes),
        "shots": to_jsonable(selection.shots),
        "frames": entries,
        "contact_sheet": {"png": sheet_png, "html": sheet_html},
    }
    text = json.dumps(manifest, ensure_ascii=False, allow_nan=False, indent=2)
    write_atomic(manifest_path, text.encode("utf-8"), durable=True)
    return SavedFrames(
        out_dir=str(out),
        frames=tuple(saved),
        manifest=str(manifest_path),
        contact_sheet_png=str(out / sheet_png),
        contact_sheet_html=str(out / sheet_html),
    )


def _sheet_html(selection: FrameSelection, saved: Sequence[SavedFrame]) -> str:
    esc = html.escape
    cells = []
    for f, s in zip(selection.frames, saved, strict=True):
        cells.append(
            f'<figure><img src="{esc(s.file)}" alt="frame {f.frame_number}" loading="lazy">'
            f"<figcaption>{f.t_s:.3f} s · frame {f.frame_number} · "
            f"{esc(', '.join(f.strategies))}<br><code>{esc(s.sha256[:16])}</code></figcaption>"
            "</figure>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src 'self'; style-src 'unsafe-inline'\">"
        f"<title>Frames of {esc(selection.source_path)}</title>"
        "<style>body{font-family:sans-serif;margin:1em}figure{display:inline-block;"
        "margin:4px;width:320px}img{width:100%}figcaption{font-size:12px}</style></head><body>"
        f"<h1>Frames of {esc(selection.source_path)}</h1>"
        f"<p>SHA-256 {esc(selection.source_sha256)} · {len(saved)} frames · "
        f"{selection.frames_decoded} of {selection.frames_expected} decoded</p>"
        + "".join(cells)
        + "</body></html>\n"
    )
