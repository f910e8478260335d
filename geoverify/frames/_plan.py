"""The packet index of a video stream and the decoding plan built from it (pure, no decoding).

``PacketIndex`` comes from one demux of the stream (timestamps only, nothing decoded): frame
numbers, keyframes, decode order and the frames a range should hold. ``plan_decoding`` picks
how a pass decodes from the options and the index alone, so every choice is testable without
a video:

- ``keys``: keyframes only (the decoder skips everything else);
- ``seek``: ``every`` alone, by seeking to the keyframe before each target;
- ``screen``: scenes alone on closed GOPs: each GOP screened first (``frames._screen``);
- ``full``: every frame of the range decoded in order.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Literal

import numpy as np

from geoverify._media import DecodeLimits, ffmpeg_error
from geoverify.errors import LimitError, MediaError
from geoverify.frames._model import FrameOptions
from geoverify.frames._screen import closed_gops

_EPS_S = 1e-9

DecodeMode = Literal["keys", "seek", "screen", "full"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PacketIndex:
    """Presentation timestamps of every packet of one stream, as demuxed (none decoded).

    ``pts`` and ``key_pts`` are sorted; ``decode_order`` holds (pts, keyframe) in file order;
    ``demux_error`` is the demuxer's error when reading stopped early ("" otherwise).
    ``step_pts`` (derived) is the median distance between frames, in time-base units (1 for a
    one-frame stream).
    """

    time_base: Fraction
    pts: tuple[int, ...]
    key_pts: tuple[int, ...]
    decode_order: tuple[tuple[int, bool], ...]
    demux_error: str = ""
    step_pts: float = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        step = float(np.median(np.diff(self.pts))) if len(self.pts) > 1 else 1.0
        object.__setattr__(self, "step_pts", step or 1.0)

    @property
    def first_pts(self) -> int:
        return self.pts[0]

    @property
    def step_s(self) -> float:
        return self.step_pts * float(self.time_base)

    @property
    def fps_hint(self) -> float:
        return float(1 / (self.step_pts * self.time_base)) if self.time_base else 25.0

    def t_of(self, pts: int) -> float:
        """Seconds from the stream's first frame."""
        return float((pts - self.first_pts) * self.time_base)

    def number_of(self, pts: int) -> int:
        """Frame number (0-based, in presentation order) of the frame shown at ``pts``."""
        return bisect.bisect_left(self.pts, pts)

    def expected(self, opts: FrameOptions) -> tuple[int, ...]:
        """Timestamps of the frames in the options' range."""
        start_s, end_s = range_of(opts)
        return tuple(p for p in self.pts if start_s - _EPS_S <= self.t_of(p) <= end_s + _EPS_S)


def range_of(opts: FrameOptions) -> tuple[float, float]:
    """(start, end) seconds of the options' range (end infinite when open)."""
    return opts.start_s or 0.0, opts.end_s if opts.end_s is not None else math.inf


def read_packet_index(container: Any, stream: Any, limits: DecodeLimits) -> PacketIndex:
    """Demux ``stream`` once: every packet's timestamp and keyframe flag, nothing decoded."""
    import av

    order: list[tuple[int, bool]] = []
    demux_error = ""
    try:
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            order.append((packet.pts, bool(packet.is_keyframe)))
            if len(order) > limits.max_frames:
                msg = f"more than {limits.max_frames} frames"
                raise LimitError(msg, code="E_LIMIT_FRAMES", hint="Cut the clip.")
    except MemoryError:  # out of memory is a limit, not a damaged file
        raise
    except av.FFmpegError as exc:
        demux_error = ffmpeg_error(exc, limit=300)
    if not order:
        msg = "the video stream has no readable packets"
        hint = "The file is truncated or corrupt; fetch it again."
        raise MediaError(msg, code="E_CONTAINER_TRUNCATED", hint=hint)
    return packet_index_of(order, Fraction(stream.time_base), demux_error=demux_error)


def packet_index_of(
    order: Sequence[tuple[int, bool]], time_base: Fraction, *, demux_error: str = ""
) -> PacketIndex:
    """Build the ``PacketIndex`` of (pts, keyframe) pairs in file order (one demux's packets)."""
    return PacketIndex(
        time_base=time_base,
        pts=tuple(sorted(p for p, _ in order)),
        key_pts=tuple(sorted(p for p, key in order if key)),
        decode_order=tuple(order),
        demux_error=demux_error,
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DecodePlan:
    """How one pass decodes: ``mode``, whether frames are analysed, the ``every`` targets.

    ``analyse``: scenes, views and best need every frame's small luma image; every and
    keyframes need none. ``every`` maps the timestamp of each frame on screen at a target
    time to those targets (seconds).
    """

    mode: DecodeMode
    analyse: bool
    every: dict[int, list[float]]


def _screens(opts: FrameOptions, index: PacketIndex) -> bool:
    """Whether a scenes-only pass may screen GOPs (``scene_scan='auto'``, a whole clean stream).

    Screening needs the whole stream (no range), an index read without error, at least three
    keyframes and closed GOPs.
    """
    scenes_only = opts.scenes and not (opts.views or opts.best or opts.every_s is not None)
    whole = not opts.start_s and opts.end_s is None
    if opts.scene_scan != "auto" or not scenes_only or not whole:
        return False
    return not index.demux_error and len(index.key_pts) >= 3 and closed_gops(index.decode_order)


def plan_decoding(opts: FrameOptions, index: PacketIndex) -> DecodePlan:
    """Choose the decoding of a pass from the options and the stream's packet index."""
    analyse = bool(opts.scenes or opts.views or opts.best > 0)
    every = every_targets(index, opts)
    mode: DecodeMode = "full"
    if opts.keyframes and not (opts.every_s or analyse):
        mode = "keys"
    elif opts.every_s is not None and not analyse and not opts.keyframes:
        mode = "seek"
    elif _screens(opts, index):
        mode = "screen"
    return DecodePlan(mode=mode, analyse=analyse, every=every)


def every_targets(index: PacketIndex, opts: FrameOptions) -> dict[int, list[float]]:
    """Map each frame that is on screen at a target time to those targets (seconds).

    The frame on screen at t is the last one whose presentation time is <= t (the stream's
    last frame stays on screen for one frame interval), taken from the full list of packet
    timestamps, so the choice is exact on variable frame rate and never depends on what
    happened to decode.
    """
    if opts.every_s is None:
        return {}
    times = [index.t_of(p) for p in index.pts]
    shown_until = times[-1] + index.step_s  # the last frame leaves the screen here
    start_s, end_s = range_of(opts)
    out: dict[int, list[float]] = {}
    k = 0
    while True:
        target = start_s + k * opts.every_s
        k += 1
        if target > end_s + _EPS_S or target >= shown_until - _EPS_S:
            return out
        i = bisect.bisect_right(times, target + _EPS_S) - 1
        if i >= 0:
            out.setdefault(index.pts[i], []).append(target)


def uncovered_ranges(
    missing_s: Sequence[float], step_s: float, tail: tuple[float, float] | None = None
) -> tuple[tuple[float, float], ...]:
    """Join the times of frames that should have decoded and did not into ranges (seconds).

    Times within 1.5 frame intervals of each other are one range; ``tail`` (frames a cut-off
    file's index lists past its last packet) joins the last range when it follows it.
    """
    ranges: list[tuple[float, float]] = []
    for t in missing_s:
        if ranges and abs(t - ranges[-1][1]) <= 1.5 * step_s:
            ranges[-1] = (ranges[-1][0], t)
        else:
            ranges.append((t, t))
    if tail is not None:
        if ranges and tail[0] - ranges[-1][1] <= 1.5 * step_s:
            ranges[-1] = (ranges[-1][0], tail[1])
        else:
            ranges.append(tail)
    return tuple(ranges)
