"""Frame selection in the decoder worker: one pass, every strategy (see ``geoverify.frames``)."""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import math
from collections import deque
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from geoverify._decode import (
    DecodeLimits,
    choose_video,
    demux_packets,
    open_container,
    read_stream,
    report_item,
    report_progress,
)
from geoverify.errors import LimitError, MediaError
from geoverify.frames._model import (
    VIEW_LOST_RESPONSE,
    Frame,
    FrameOptions,
    Image,
    Shot,
    hamming,
    perceptual_hash,
    sharpness,
)
from geoverify.frames._screen import closed_gops, screened_frames

# --- worker side ---------------------------------------------------------------------------------


def _is_black(small: npt.NDArray[np.float32]) -> bool:
    return float(small.mean()) < 20.0 and float(small.std()) < 8.0


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


def upright_references(image: Image, rotation_deg: int) -> Image:
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


class _Selector:
    """Runs every strategy over the frames of one pass (worker side)."""

    def __init__(
        self, opts: FrameOptions, rotation: int | None, fps_hint: float, time_base: Fraction
    ) -> None:
        self.o = opts
        self.rotation = rotation
        self.tb = time_base
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

    # -- helpers --
    def _frame(self, item: _Item, strategy: str) -> Frame:
        if self.rotation is None:
            self.rotation = _frame_rotation(item.frame)
        if item.image is None:
            rgb = item.frame.to_ndarray(format="bgr24")
            item.image = upright_references(rgb, self.rotation)
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
        return bool(moved or response < VIEW_LOST_RESPONSE)

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
            if hamming(code, other_code) <= self.o.dedupe_bits:
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
    frames_screened: int
    uncovered: tuple[tuple[float, float], ...]
    decode_error: str


def _decode_robust(
    container: Any, stream: Any, errors: list[str], wanted: frozenset[int] | None = None
) -> Any:
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
            errors.append(f"decode: {type(exc).__name__}: {exc}"[:200])
    try:
        yield from stream.codec_context.decode(None)
    except av.error.EOFError:
        pass  # the demuxer's final empty packet has already drained the decoder
    except MemoryError:  # out of memory is a limit, not a damaged file
        raise
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
    wanted_pts = frozenset(targets)
    for wanted in sorted(targets):
        i = bisect.bisect_right(key_pts, wanted) - 1
        key = key_pts[i] if i >= 0 else first
        if frames is None and exhausted_key is not None and key <= exhausted_key:
            missing.extend(targets[wanted])
            continue
        if frames is None or position is None or key > position:
            container.seek(int(key), stream=stream, backward=True, any_frame=False)
            frames = _decode_robust(container, stream, errors, wanted_pts)
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


def scan_frames(
    path: str,
    opts: FrameOptions,
    limits: DecodeLimits,
    rotation: int | None,
    stream_frames: bool = False,
) -> _ScanResult:
    """Decode the range once and run the strategies (inside the worker)."""
    import av

    with contextlib.ExitStack() as stack, open(path, "rb") as fh:
        try:
            container = open_container(fh)
        except MemoryError:  # out of memory is a limit, not a damaged file
            raise
        except av.FFmpegError as exc:
            msg = f"FFmpeg cannot open the file as media: {exc}"[:300]
            raise MediaError(msg, code="E_INPUT_NOT_MEDIA", hint="Check the file.") from None
        with container:
            raws = [read_stream(s, container, limits) for s in container.streams]
            index, reason = choose_video(raws)
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
            decode_order: list[tuple[int, bool]] = []
            demux_error = ""
            try:
                for packet in container.demux(stream):
                    if packet.pts is not None:
                        pts_list.append(packet.pts)
                        decode_order.append((packet.pts, bool(packet.is_keyframe)))
                        if packet.is_keyframe:
                            key_pts.append(packet.pts)
                        if len(pts_list) > limits.max_frames:
                            msg = f"more than {limits.max_frames} frames"
                            raise LimitError(msg, code="E_LIMIT_FRAMES", hint="Cut the clip.")
            except MemoryError:  # out of memory is a limit, not a damaged file
                raise
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
            if limits.decoder_threads:
                cc.thread_count = limits.decoder_threads
            # Scenes, views and best need every frame's luma; every and keyframes need none.
            analyse = opts.scenes or opts.views or opts.best > 0
            if only_keys:
                cc.skip_frame = "NONKEY"
            selector = _Selector(opts, rotation, fps_hint, tb)
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
            # Scenes alone need not decode every frame: GOPs are screened first (see _screen).
            screen = (
                opts.scene_scan == "auto"
                and opts.scenes
                and not (opts.views or opts.best or opts.every_s is not None)
                and not opts.start_s
                and opts.end_s is None
                and not demux_error
                and len(key_pts) >= 3
                and closed_gops(decode_order)
            )
            keys: Any = None
            if screen:
                # a second opening of the file gives a second decoder that has all of the
                # stream's parameters (frame size from the container, display matrix, colour)
                again = stack.enter_context(open(path, "rb"))
                keys = stack.enter_context(open_container(again)).streams[index].codec_context
                keys.thread_type = "AUTO"
                if limits.decoder_threads:
                    keys.thread_count = limits.decoder_threads
            skipped: list[int] = []
            if seek_mode:
                decoded_pts, missing_targets = _every_by_seeking(
                    container, stream, selector, every, pts_list, key_pts, errors
                )
                selector.finish()
                decode_error = "; ".join(dict.fromkeys(errors))[:600]
            else:
                if screen:

                    def steady(a: Any, b: Any) -> bool:
                        sa = _small_luma(a, width).astype(np.float32)
                        sb = _small_luma(b, width).astype(np.float32)
                        if sa.shape != sb.shape or _is_black(sa) or _is_black(sb):
                            return False
                        win = cv2.createHanningWindow(sa.shape[::-1], cv2.CV_32F)
                        return _aligned_diff(sa, sb, win)[0] <= opts.scene_threshold

                    source = screened_frames(
                        container,
                        stream,
                        keys,
                        steady=steady,
                        errors=errors,
                        skipped=skipped,
                    )
                else:
                    source = _decode_robust(container, stream, errors)
                try:
                    for frame in source:
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
                            black = _is_black(small)
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
                        done = min(total, number + 1) if screen else len(decoded_pts)
                        report_progress(done, total)
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
        passed_over = set(skipped)  # screened on purpose, not lost
        missing_times = [t_of(p) for p in expected if p not in decoded and p not in passed_over]
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
        frames_screened=len(skipped),
        uncovered=tuple(uncovered),
        decode_error=decode_error,
    )
