"""Frame selection in the decoder worker: one pass, every strategy (see ``geoverify.frames``).

The pass: open the file, choose the video stream, demux its packet index once
(``frames._plan``), plan the decoding from the options and the index, then feed the frames of
the plan's source (``frames._sources``) through a three-frame delay line (cut detection looks
two frames ahead for flashes) to the strategies (``frames._strategies``).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from geoverify._media import (
    DecodeLimits,
    RawStream,
    choose_video,
    open_container,
    open_media,
    read_stream,
)
from geoverify._worker import report_progress
from geoverify.errors import InputError, LimitError, MediaError
from geoverify.frames._analysis import aligned_diff, is_black, small_luma
from geoverify.frames._model import Frame, FrameOptions, Shot, sharpness
from geoverify.frames._plan import (
    DecodePlan,
    PacketIndex,
    packet_index_of,
    plan_decoding,
    range_of,
    read_packet_index,
    uncovered_ranges,
)
from geoverify.frames._sources import PassLog, frame_source
from geoverify.frames._strategies import Item, Picks, Selection

_EPS_S = 1e-9


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScanResult:
    frames: tuple[Frame, ...]
    shots: tuple[Shot, ...]
    rotation_deg: int
    frames_expected: int
    frames_decoded: int
    frames_screened: int
    uncovered: tuple[tuple[float, float], ...]
    decode_error: str


class Analyser:
    """Each frame's small luma image, its difference from the previous one, black, sharpness."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.previous: npt.NDArray[np.float32] | None = None
        self.window: npt.NDArray[Any] | None = None

    def analyse(self, item: Item) -> None:
        small_u8 = small_luma(item.frame, self.width)
        small = small_u8.astype(np.float32)
        if self.window is None:
            self.window = cv2.createHanningWindow(small.shape[::-1], cv2.CV_32F)
        if self.previous is not None and self.previous.shape == small.shape:
            item.diff, item.dx, item.dy = aligned_diff(self.previous, small, self.window)
        self.previous = small
        item.small, item.black, item.sharp = small, is_black(small), sharpness(small_u8)


def _feed(
    source: Iterator[Any],
    selection: Selection,
    index: PacketIndex,
    opts: FrameOptions,
    plan: DecodePlan,
    log: PassLog,
    progress: Callable[[int], None],
) -> None:
    """Offer the frames of ``source`` in the range to the strategies, through the delay line."""
    start_s, end_s = range_of(opts)
    analyser = Analyser(opts.analysis_width) if plan.analyse else None
    line: deque[Item] = deque()
    for frame in source:
        if frame.pts is None:
            continue
        t = index.t_of(frame.pts)
        if t < start_s - _EPS_S:
            continue
        if t > end_s + _EPS_S:
            break
        item = Item(
            frame=frame,
            pts=frame.pts,
            t_s=t,
            number=index.number_of(frame.pts),
            key=bool(frame.key_frame),
        )
        if plan.mode != "seek":  # the seek source logs what it decodes on the way
            log.decoded.append(frame.pts)
            progress(item.number)
        if analyser is not None:
            analyser.analyse(item)
        line.append(item)
        if len(line) == 3:
            selection.offer(line.popleft(), tuple(line))
    while line:
        selection.offer(line.popleft(), tuple(line))


def _open_video(
    fh: Any, limits: DecodeLimits, stream_index: int | None
) -> tuple[Any, int, Any, list[RawStream | None]]:
    """Open the container, choose its video stream; refuse a frame size over the limit.

    ``stream_index``: the stream probe chose (its choice is not made again; the stream must
    still be a video stream that is not cover art).
    """
    container = open_media(fh)
    try:
        raws: list[RawStream | None]
        if stream_index is not None and 0 <= stream_index < len(container.streams):
            raws = [
                read_stream(s, container, limits) if s.index == stream_index else None
                for s in container.streams
            ]
            chosen = raws[stream_index]
            ok = chosen is not None and chosen.kind == "video" and not chosen.attached_pic
            number, reason = (stream_index, "") if ok else (None, "not the probed video stream")
        else:
            every = [read_stream(s, container, limits) for s in container.streams]
            number, reason = choose_video(every)
            raws = list(every)
        if number is None:
            msg = f"no video stream: {reason}"
            raise MediaError(msg, code="E_NO_VIDEO_STREAM", hint="Give a video file.")
        stream = container.streams[number]
        cc = stream.codec_context
        if cc.width * cc.height > limits.max_pixels:
            msg = f"frame size {cc.width}x{cc.height} is over the pixel limit"
            hint = "Raise max_pixels only for a trusted file."
            raise LimitError(msg, code="E_LIMIT_PIXELS", hint=hint)
    except BaseException:
        container.close()
        raise
    return container, number, stream, raws


def _threads(cc: Any, limits: DecodeLimits) -> None:
    cc.thread_type = "AUTO"
    if limits.decoder_threads:
        cc.thread_count = limits.decoder_threads


def _index_tail(
    raw: Any, index: PacketIndex, opts: FrameOptions
) -> tuple[int, tuple[float, float] | None]:
    """Frames a cut-off file's index lists past its last packet: (count, their time range).

    A cut-off MP4 or AVI still carries the full index. (Index times are decode times; equal
    to presentation times without B-frames, within the reorder delay with them.)
    """
    count = raw.ts_count if raw.timestamps_from == "index" else 0
    if count <= len(index.pts) or raw.ts_last is None or raw.ts_first is None:
        return 0, None
    _, end_s = range_of(opts)
    tail_start = index.t_of(index.pts[-1]) + index.step_s
    tail_end = min(end_s, float((raw.ts_last - raw.ts_first) * index.time_base))
    if tail_end >= tail_start - _EPS_S and tail_start <= end_s:
        return count - len(index.pts), (tail_start, tail_end)
    return count - len(index.pts), None


def _check_start(raw: Any, index: PacketIndex, opts: FrameOptions) -> None:
    """Refuse a start at or past the end of the stream: an option error, not a broken file.

    The end is that of the last packet's frame, or, for a cut-off file, the time its index
    still lists (the range past the cut is reported as missing, as for any damaged file).
    """
    start_s, _ = range_of(opts)
    end_s = index.t_of(index.pts[-1]) + index.step_s
    if (
        raw is not None
        and raw.timestamps_from == "index"
        and None not in (raw.ts_last, raw.ts_first)
    ):
        end_s = max(end_s, float((raw.ts_last - raw.ts_first) * index.time_base))
    if start_s >= end_s - _EPS_S and start_s > 0:
        msg = f"start_s {start_s:g} s is past the end of the video ({end_s:.3f} s long)"
        hint = f"Give a start_s below {end_s:.3f} s."
        raise InputError(msg, code="E_INPUT_OPTION", hint=hint)


def scan_frames(
    path: str,
    opts: FrameOptions,
    limits: DecodeLimits,
    rotation: int | None,
    stream_frames: bool = False,
    stream_index: int | None = None,
    *,
    index: PacketIndex | None = None,
) -> ScanResult:
    """Decode the range once and run the strategies (inside the worker).

    ``stream_index``: the video stream probe chose; ``None`` chooses it here. ``index``: the
    stream's packet index when already demuxed (by probe); ``None`` demuxes it here.
    """
    with contextlib.ExitStack() as stack, open(path, "rb") as fh:
        container, number, stream, raws = _open_video(fh, limits, stream_index)
        with container:
            if index is None:
                index = read_packet_index(container, stream, limits)
            _check_start(raws[number], index, opts)
            plan = plan_decoding(opts, index)
            expected = index.expected(opts)
            log = PassLog(errors=[index.demux_error] if index.demux_error else [])
            container.seek(0)
            start_s, _ = range_of(opts)
            if start_s > 0:
                target = index.first_pts + round(start_s / index.time_base)
                container.seek(target, stream=stream, backward=True, any_frame=False)
            _threads(stream.codec_context, limits)
            if plan.mode == "keys":
                stream.codec_context.skip_frame = "NONKEY"
            keys: Any = None
            if plan.mode == "screen":
                # a second opening of the file gives a second decoder that has all of the
                # stream's parameters (frame size from the container, display matrix, colour)
                again = stack.enter_context(open(path, "rb"))
                keys = stack.enter_context(open_container(again)).streams[number].codec_context
                _threads(keys, limits)
            picks = Picks(opts, rotation, index.time_base, stream=stream_frames)
            selection = Selection(
                opts, picks, fps_hint=index.fps_hint, every_pts=frozenset(plan.every)
            )
            total = len(expected)

            def progress(frame_number: int) -> None:
                done = min(total, frame_number + 1) if plan.mode == "screen" else len(log.decoded)
                report_progress(done, total)

            source = frame_source(plan, container, stream, index, log, opts=opts, keys=keys)
            _feed(source, selection, index, opts, plan, log, progress)
            selection.finish()
    if plan.mode == "seek":
        missing_s = log.missing_targets
    elif plan.mode == "keys":
        missing_s = []
    else:
        done = set(log.decoded) | set(log.skipped)  # screened on purpose is not lost
        missing_s = [index.t_of(p) for p in expected if p not in done]
    tail_count, tail = _index_tail(raws[number], index, opts)
    # frames already streamed were kept without pixels: the parent puts them back
    frames: tuple[Frame, ...] = tuple(sorted(picks.frames.values(), key=lambda f: f.pts))
    shots: tuple[Shot, ...] = selection.shot_list
    return ScanResult(
        frames=frames,
        shots=shots,
        rotation_deg=picks.rotation if picks.rotation is not None else 0,
        frames_expected=len(expected) + tail_count,
        frames_decoded=len(log.decoded),
        frames_screened=len(log.skipped),
        uncovered=uncovered_ranges(missing_s, index.step_s, tail),
        decode_error=log.error_text,
    )


def scan_video(
    path: str,
    opts: FrameOptions,
    limits: DecodeLimits,
    *,
    rotation_deg: int | None,
    stream_index: int | None,
    packets: list[tuple[int, bool]] | None = None,
    time_base: Any = None,
) -> ScanResult:
    """``scan_frames`` of a stream already chosen, streaming its frames (inside the worker).

    ``packets``: the (pts, keyframe) list of the whole stream's packets in file order, when
    they were already demuxed (by probe, in the same worker), with the stream's ``time_base``:
    they are the packet index, and the stream is not demuxed a second time.
    """
    index = packet_index_of(packets, time_base) if packets and time_base is not None else None
    return scan_frames(path, opts, limits, rotation_deg, True, stream_index, index=index)
