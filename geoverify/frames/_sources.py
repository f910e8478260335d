"""Decoded frames for one pass, one iterator shape per decoding plan (worker side).

Every source yields PyAV frames in presentation order and records what it could not decode in
the ``PassLog`` it is given, so the scan loop is the same whatever the plan: ``full`` and
``keys`` decode in order (``keys`` with the decoder skipping non-keyframes), ``seek`` seeks to
the keyframe before each ``every`` target, ``screen`` screens GOPs (``frames._screen``).
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Callable, Iterator
from typing import Any

import cv2
import numpy as np

from geoverify._media import demux_packets, ffmpeg_error
from geoverify._worker import report_progress
from geoverify.frames._analysis import aligned_diff, is_black, small_luma
from geoverify.frames._model import FrameOptions
from geoverify.frames._plan import DecodePlan, PacketIndex
from geoverify.frames._screen import screened_frames


@dataclasses.dataclass(slots=True)
class PassLog:
    """What one pass decoded, screened over on purpose, and could not decode.

    ``decoded``: timestamps of the frames decoded (with ``seek``, also those decoded on the way
    to a target); ``skipped``: frames the screen passed over; ``missing_targets``: ``every``
    target times whose frame did not decode; ``errors``: decoder and demuxer messages.
    """

    decoded: list[int] = dataclasses.field(default_factory=list)
    skipped: list[int] = dataclasses.field(default_factory=list)
    missing_targets: list[float] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def error_text(self) -> str:
        return "; ".join(dict.fromkeys(self.errors))[:600]


def decoded_frames(
    container: Any, stream: Any, errors: list[str], wanted: frozenset[int] | None = None
) -> Iterator[Any]:
    """Yield decoded frames; a bad packet is skipped and recorded, never taken for the end.

    A demuxer error ends reading (recorded); the decoder is then flushed, so frames it still
    holds come out. With ``wanted`` (presentation timestamps), frames that no other frame
    refers to are not decoded unless wanted: the decoder drops them by the codec's own
    reference flag, so every wanted frame and everything it depends on decodes as before.
    """
    import av

    cc = stream.codec_context
    for packet in demux_packets(container, stream, errors):
        if wanted is not None:
            cc.skip_frame = "DEFAULT" if packet.pts is None or packet.pts in wanted else "NONREF"
        try:
            yield from packet.decode()
        except MemoryError:  # out of memory is a limit, not a damaged file
            raise
        except av.FFmpegError as exc:
            errors.append(ffmpeg_error(exc, "decode"))
    try:
        yield from stream.codec_context.decode(None)
    except av.error.EOFError:
        pass  # the demuxer's final empty packet has already drained the decoder
    except MemoryError:  # out of memory is a limit, not a damaged file
        raise
    except av.FFmpegError as exc:
        errors.append(ffmpeg_error(exc, "flush"))


class _Seeker:
    """The decoder's position while seeking from target to target (see ``sought_frames``)."""

    def __init__(self, container: Any, stream: Any, log: PassLog, wanted: frozenset[int]) -> None:
        self.container = container
        self.stream = stream
        self.log = log
        self.wanted = wanted
        self.frames: Iterator[Any] | None = None
        self.pending: Any = None  # a decoded frame past the wanted one, kept for the next
        self.position: int | None = None
        self.exhausted_key: int | None = None  # decoding on from this keyframe reached the end

    def find(self, key: int, wanted: int) -> Any:
        """Decode up to the frame at ``wanted``, from ``key`` (seeking there if need be)."""
        if self.frames is None and self.exhausted_key is not None and key <= self.exhausted_key:
            return None
        frames = self._from(key)
        while True:
            frame = self.pending if self.pending is not None else next(frames, None)
            self.pending = None
            if frame is None:
                self.frames, self.exhausted_key = None, key
                return None
            if frame.pts is None or frame.pts < key:
                continue
            self._passed(frame.pts)
            if frame.pts == wanted:
                return frame
            if frame.pts > wanted:
                self.pending = frame
                return None

    def _from(self, key: int) -> Iterator[Any]:
        """Return the decoded frames, after a seek to ``key`` when it lies ahead (or none ran)."""
        if self.frames is None or self.position is None or key > self.position:
            self.container.seek(int(key), stream=self.stream, backward=True, any_frame=False)
            self.frames = decoded_frames(self.container, self.stream, self.log.errors, self.wanted)
            self.pending, self.position = None, None
        return self.frames

    def _passed(self, pts: int) -> None:
        """Log a frame decoded past the position (once), and move the position to it."""
        if pts > (self.position if self.position is not None else -math.inf):
            self.log.decoded.append(pts)
            report_progress(len(self.log.decoded), None)
        self.position = pts


def sought_frames(
    container: Any, stream: Any, index: PacketIndex, targets: dict[int, list[float]], log: PassLog
) -> Iterator[Any]:
    """Yield the ``every`` frames, seeking to the keyframe before each.

    A frame whose keyframe lies ahead of the decoder's position is reached by a seek; one in
    the stretch already being decoded, by decoding on. Target times whose frame did not decode
    go to ``log.missing_targets``.
    """
    seeker = _Seeker(container, stream, log, frozenset(targets))
    for wanted in sorted(targets):
        i = bisect.bisect_right(index.key_pts, wanted) - 1
        key = index.key_pts[i] if i >= 0 else index.first_pts
        found = seeker.find(key, wanted)
        if found is None:
            log.missing_targets.extend(targets[wanted])
        else:
            yield found


def steady_test(opts: FrameOptions) -> Callable[[Any, Any], bool]:
    """Return the screen's test of two decoded frames: alike after motion compensation."""
    width = opts.analysis_width

    def steady(a: Any, b: Any) -> bool:
        sa = small_luma(a, width).astype(np.float32)
        sb = small_luma(b, width).astype(np.float32)
        if sa.shape != sb.shape or is_black(sa) or is_black(sb):
            return False
        window = cv2.createHanningWindow(sa.shape[::-1], cv2.CV_32F)
        return aligned_diff(sa, sb, window)[0] <= opts.scene_threshold

    return steady


def frame_source(
    plan: DecodePlan,
    container: Any,
    stream: Any,
    index: PacketIndex,
    log: PassLog,
    *,
    opts: FrameOptions,
    keys: Any = None,
) -> Iterator[Any]:
    """Return the frames of a pass under ``plan`` (``keys``: the screen's keyframe decoder)."""
    if plan.mode == "seek":
        return sought_frames(container, stream, index, plan.every, log)
    if plan.mode == "screen":
        return screened_frames(
            container,
            stream,
            keys,
            steady=steady_test(opts),
            errors=log.errors,
            skipped=log.skipped,
        )
    return decoded_frames(container, stream, log.errors)
