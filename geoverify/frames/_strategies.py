"""Frame-selection strategies: one class each, fed the frames of a pass (worker side).

The scan offers every decoded frame, as an ``Item``, to each strategy in turn
(``offer(item, new_shot)``) and calls ``finish()`` at the end, as PySceneDetect's
``SceneManager`` feeds its detectors. A strategy keeps its own state and hands what it selects
to the shared ``Picks``, which builds the ``Frame`` (pixels, hash, shot) once per frame and
records every strategy that chose it. Shots come from ``ShotTracker``, which decides for each
frame whether it begins a new shot (a cut, or the end of a fade from black) before the
strategies see it.

Order of the strategies within one frame: scenes, views, keyframes, every, best (the order of
the names in ``Frame.strategies``).
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Literal, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from geoverify._worker import report_item
from geoverify.errors import LimitError
from geoverify.frames._analysis import aligned_diff, frame_rotation, phase_correlate, upright
from geoverify.frames._model import (
    VIEW_LOST_RESPONSE,
    Frame,
    FrameOptions,
    Image,
    Shot,
    hamming,
    perceptual_hash,
)

NO_SMALL = np.zeros((1, 1), np.float32)  # the analysis image of a frame that was not analysed
_NO_PIXELS = np.zeros((0, 0, 3), np.uint8)


@dataclasses.dataclass(slots=True)
class Item:
    """A decoded frame and its analysis, as the strategies see it.

    ``frame`` is the PyAV frame (or anything ``Picks`` can turn into pixels: an object with
    ``to_ndarray(format=...)`` and ``rotation``); ``small`` the float32 luma image that cut and
    view detection compare (``NO_SMALL`` when the pass does not analyse frames); ``diff`` its
    motion-compensated difference from the previous frame.
    """

    frame: Any
    pts: int
    t_s: float
    number: int
    key: bool
    small: npt.NDArray[np.float32] = dataclasses.field(default_factory=lambda: NO_SMALL)
    diff: float = 0.0
    dx: float = 0.0
    dy: float = 0.0
    black: bool = False
    sharp: float = 0.0
    image: Image | None = None
    flash: bool = False


class Picks:
    """The frames selected so far, one ``Frame`` per frame number, with every strategy's name.

    ``stream``: each frame is reported to the parent process as soon as it is picked (its
    pixels then leave the worker; the pick keeps the metadata only).
    """

    def __init__(
        self, opts: FrameOptions, rotation: int | None, time_base: Fraction, *, stream: bool
    ) -> None:
        self.opts = opts
        self.rotation = rotation
        self.time_base = time_base
        self.stream = stream
        self.frames: dict[int, Frame] = {}

    def frame(self, item: Item, strategy: str, shot: int | None) -> Frame:
        """Build the ``Frame`` of ``item`` (upright BGR pixels, perceptual hash)."""
        if self.rotation is None:
            self.rotation = frame_rotation(item.frame)
        if item.image is None:
            item.image = upright(item.frame.to_ndarray(format="bgr24"), self.rotation)
        gray = cv2.cvtColor(item.image, cv2.COLOR_BGR2GRAY)
        return Frame(
            image_bgr=item.image,
            t_s=item.t_s,
            pts=item.pts,
            time_base=self.time_base,
            frame_number=item.number,
            keyframe=item.key,
            strategies=(strategy,),
            shot=shot,
            sharpness=item.sharp,
            phash=f"{perceptual_hash(gray):016x}",
        )

    def add(self, item: Item, strategy: str, shot: int | None) -> None:
        """Select ``item`` for ``strategy`` (a frame already selected gains the name)."""
        if item.number in self.frames:
            self._tag(item.number, strategy)
            return
        self._check_room()
        frame = self.frame(item, strategy, shot)
        self._keep(frame)

    def merge(self, frame: Frame, strategy: str) -> None:
        """Add a ``Frame`` built beforehand (``best`` builds its candidates as it goes)."""
        if frame.frame_number in self.frames:
            self._tag(frame.frame_number, strategy)
        else:
            self.frames[frame.frame_number] = frame  # finish-time picks are never streamed

    def _tag(self, number: int, strategy: str) -> None:
        existing = self.frames[number]
        if strategy not in existing.strategies:
            self.frames[number] = dataclasses.replace(
                existing, strategies=(*existing.strategies, strategy)
            )

    def _check_room(self) -> None:
        if len(self.frames) >= self.opts.max_selected:
            msg = f"more than {self.opts.max_selected} frames selected"
            hint = "Narrow --start/--end, lengthen --every, or raise max_selected."
            raise LimitError(msg, code="E_LIMIT_FRAMES", hint=hint)

    def _keep(self, frame: Frame) -> None:
        if self.stream:
            report_item(frame)  # final: the parent can start saving it while decoding goes on
            frame = dataclasses.replace(frame, image_bgr=_NO_PIXELS)
        self.frames[frame.frame_number] = frame


class ShotTracker:
    """Cuts, fades from black and flashes; the list of shots (for ``scenes`` and ``views``).

    A frame differing from the last steady frame by more than ``scene_threshold`` and
    ``scene_ratio`` times the recent median difference is a cut, unless one of the next two
    frames returns to the old picture (a flash, which begins nothing and is never compared
    with). A frame that is not black after black ones ends a fade.
    """

    def __init__(self, opts: FrameOptions, fps_hint: float) -> None:
        self.opts = opts
        self.shots: list[Shot] = []
        self.index = 0
        self._first: tuple[int, float] | None = None
        self._began: Literal["start", "cut", "fade"] = "start"
        self._reference: Item | None = None
        self._last: Item | None = None
        self._in_black = False
        self._recent: deque[float] = deque(maxlen=max(8, round(fps_hint)))
        self._window: npt.NDArray[Any] | None = None

    def offer(self, item: Item, ahead: Sequence[Item]) -> bool:
        """Whether ``item`` begins a shot (the first frame does); ``ahead``: the next frames."""
        boundary: Literal["cut", "fade"] | None = None
        if self._reference is not None:
            if item.black:
                self._in_black = True
            elif self._in_black:
                self._in_black = False
                boundary = "fade"
            else:
                verdict = self._is_cut(self._reference, item, ahead)
                if verdict == "cut":
                    boundary = "cut"
                elif verdict == "flash":
                    item.flash = True
            if not item.black and not item.flash:
                self._recent.append(item.diff)
        if not item.flash:
            self._reference = item
        if boundary is not None and self._last is not None:
            self._close(self._last)
            self.index += 1
            self._first = None
            self._began = boundary
        began = self._first is None
        if began:
            self._first = (item.number, item.t_s)
        self._last = item
        return began

    def finish(self) -> None:
        """Close the last shot."""
        if self._last is not None:
            self._close(self._last)

    def _close(self, last: Item) -> None:
        if self._first is None:
            return
        first_number, start_s = self._first
        self.shots.append(
            Shot(
                index=self.index,
                first_frame=first_number,
                last_frame=last.number,
                start_s=start_s,
                end_s=last.t_s,
                began_with=self._began,
            )
        )

    def window(self, shape: tuple[int, ...]) -> npt.NDArray[Any]:
        """Return the Hanning window of phase correlation for images of ``shape`` (kept)."""
        if self._window is None or self._window.shape != shape:
            self._window = cv2.createHanningWindow(shape[::-1], cv2.CV_32F)
        return self._window

    def _is_cut(
        self, ref: Item, item: Item, ahead: Sequence[Item]
    ) -> Literal["cut", "flash", "no"]:
        """Decide whether ``item`` starts a new shot, compared with the last steady frame."""
        o = self.opts
        window = self.window(ref.small.shape)
        diff = item.diff
        if self._last is not ref:  # a flash lies between: compare across it
            diff, _, _ = aligned_diff(ref.small, item.small, window)
        if diff <= o.scene_threshold:
            return "no"
        if self._recent and diff <= o.scene_ratio * float(np.median(np.asarray(self._recent))):
            return "no"
        for later in ahead[:2]:  # a flash returns to the old picture within two frames
            later_diff, _, _ = aligned_diff(ref.small, later.small, window)
            if later_diff <= o.scene_threshold:
                return "flash"
        return "cut"


class Strategy(Protocol):
    """What the scan needs of a strategy."""

    def offer(self, item: Item, new_shot: bool) -> None:
        """Look at one frame (``new_shot``: it begins a shot; always False without shots)."""

    def finish(self) -> None:
        """Select what only the end of the pass decides."""


class _Sampler:
    """The ``sample_hz`` clock of scenes and best: a non-black frame at most every 1/hz s."""

    def __init__(self, hz: float) -> None:
        self.period_s = 1.0 / hz - 1e-9
        self.last_s = -math.inf

    def due(self, item: Item) -> bool:
        if item.black or item.t_s - self.last_s < self.period_s:
            return False
        self.last_s = item.t_s
        return True


class Scenes:
    """The sharpest sampled frame of each shot (picked when the shot closes)."""

    def __init__(self, opts: FrameOptions, picks: Picks, shots: ShotTracker) -> None:
        self.picks = picks
        self.shots = shots
        self.sampler = _Sampler(opts.sample_hz)
        self.best: Item | None = None
        self.best_shot = 0

    def offer(self, item: Item, new_shot: bool) -> None:
        if new_shot:
            self._close()
        if self.sampler.due(item) and (self.best is None or item.sharp > self.best.sharp):
            self.best, self.best_shot = item, self.shots.index

    def finish(self) -> None:
        self._close()

    def _close(self) -> None:
        if self.best is not None:
            self.picks.add(self.best, "scene", self.best_shot)
        self.best = None


class Views:
    """The first frame of each shot and every frame the camera moved ``view_change`` from.

    The shift is measured against the last view itself (not summed frame to frame, which
    drifts); when phase correlation loses the reference, the view has changed.
    """

    def __init__(self, opts: FrameOptions, picks: Picks, shots: ShotTracker) -> None:
        self.opts = opts
        self.picks = picks
        self.shots = shots
        self.reference: npt.NDArray[np.float32] | None = None

    def offer(self, item: Item, new_shot: bool) -> None:
        if item.black or not (new_shot or self._changed(item)):
            return
        self.picks.add(item, "view", self.shots.index)
        self.reference = item.small

    def finish(self) -> None:
        """Nothing waits for the end."""

    def _changed(self, item: Item) -> bool:
        ref = self.reference
        if ref is None or ref.shape != item.small.shape:
            return True
        dx, dy, response = phase_correlate(ref, item.small, self.shots.window(ref.shape))
        h, w = ref.shape
        moved = abs(dx) >= self.opts.view_change * w or abs(dy) >= self.opts.view_change * h
        return bool(moved or response < VIEW_LOST_RESPONSE)


class Keyframes:
    """Every keyframe."""

    def __init__(self, picks: Picks, shot_of: ShotTracker | None) -> None:
        self.picks = picks
        self.shot_of = shot_of

    def offer(self, item: Item, new_shot: bool) -> None:
        if item.key:
            self.picks.add(item, "keyframe", _shot(self.shot_of))

    def finish(self) -> None:
        """Nothing waits for the end."""


class Every:
    """The frames on screen at the target times (``every_pts``: their presentation times)."""

    def __init__(
        self, picks: Picks, every_pts: frozenset[int], shot_of: ShotTracker | None
    ) -> None:
        self.picks = picks
        self.every_pts = every_pts
        self.shot_of = shot_of

    def offer(self, item: Item, new_shot: bool) -> None:
        if item.pts in self.every_pts:
            self.picks.add(item, "every", _shot(self.shot_of))

    def finish(self) -> None:
        """Nothing waits for the end."""


class Best:
    """The ``opts.best`` sharpest sampled frames, no two within ``dedupe_bits`` of each other.

    Candidates are compared by the perceptual hash of their small analysis image (upright), so
    a sampled frame is not converted to full-resolution pixels to be compared: only the
    ``best`` kept at the end are (``Picks.frame``, which hashes them again at full size).
    """

    def __init__(self, opts: FrameOptions, picks: Picks, shot_of: ShotTracker | None) -> None:
        self.opts = opts
        self.picks = picks
        self.shot_of = shot_of
        self.sampler = _Sampler(opts.sample_hz)
        self.pool: list[tuple[float, int, Item, int | None]] = []

    def offer(self, item: Item, new_shot: bool) -> None:
        if not self.sampler.due(item):
            return
        code = self._code(item)
        shot = _shot(self.shot_of)
        for i, (sharp, other_code, _other, _other_shot) in enumerate(self.pool):
            if hamming(code, other_code) <= self.opts.dedupe_bits:
                if item.sharp > sharp:
                    self.pool[i] = (item.sharp, code, item, shot)
                return
        self.pool.append((item.sharp, code, item, shot))
        if len(self.pool) > self.opts.best:
            self.pool.remove(min(self.pool, key=lambda entry: entry[0]))

    def _code(self, item: Item) -> int:
        """Perceptual hash of the frame's analysis image (its full picture when there is none)."""
        if item.small is NO_SMALL or item.small.size < 64:
            return int(self.picks.frame(item, "best", None).phash, 16)
        if self.picks.rotation is None:
            self.picks.rotation = frame_rotation(item.frame)
        return perceptual_hash(upright(item.small.astype(np.uint8), self.picks.rotation))

    def finish(self) -> None:
        for _, _, item, shot in self.pool:
            self.picks.merge(self.picks.frame(item, "best", shot), "best")
        self.pool.clear()


def _shot(tracker: ShotTracker | None) -> int | None:
    return tracker.index if tracker is not None else None


class Selection:
    """The strategies ``opts`` asks for, fed in order, and what they picked."""

    def __init__(
        self,
        opts: FrameOptions,
        picks: Picks,
        *,
        fps_hint: float,
        every_pts: frozenset[int] = frozenset(),
    ) -> None:
        self.picks = picks
        self.shots = ShotTracker(opts, fps_hint) if (opts.scenes or opts.views) else None
        strategies: list[Strategy] = []
        if opts.scenes and self.shots is not None:
            strategies.append(Scenes(opts, picks, self.shots))
        if opts.views and self.shots is not None:
            strategies.append(Views(opts, picks, self.shots))
        if opts.keyframes:
            strategies.append(Keyframes(picks, self.shots))
        if every_pts:
            strategies.append(Every(picks, every_pts, self.shots))
        if opts.best:
            strategies.append(Best(opts, picks, self.shots))
        self.strategies = tuple(strategies)

    def offer(self, item: Item, ahead: Sequence[Item] = ()) -> None:
        """Offer one frame (``ahead``: the frames after it, for flash detection)."""
        new_shot = self.shots.offer(item, ahead) if self.shots is not None else False
        for strategy in self.strategies:
            strategy.offer(item, new_shot)

    def finish(self) -> None:
        """End the pass: close the last shot, let each strategy pick what waited for the end."""
        if self.shots is not None:
            self.shots.finish()
        for strategy in self.strategies:
            strategy.finish()

    @property
    def shot_list(self) -> tuple[Shot, ...]:
        """The shots found (empty without ``scenes`` or ``views``)."""
        return tuple(self.shots.shots) if self.shots is not None else ()
