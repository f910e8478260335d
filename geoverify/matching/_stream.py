"""Matching frames while the decoder worker is still decoding (``verify``'s matching stage).

``MatchStream`` builds the index and matches each frame on one thread of its own, in the
order the frames arrive: the decoder runs in its worker process meanwhile, so the two overlap
instead of taking turns. Every frame is matched on that one thread (the retrieval indexes,
the feature caches and OpenCV's seeded random state are used by one thread at a time), and
the results are exactly what ``build_index`` and ``match_frames`` give for the same frames.
A stream that is dropped unfinished (decoding failed) stops after the frame it is matching.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from geoverify.matching._index import MatchIndex, build_index
from geoverify.matching._options import MatchOptions
from geoverify.registry import Registry

__all__ = ["MatchStream"]


class MatchStream:
    """Build the index of ``registry`` and match frames on a thread, as they are handed in.

    ``take(frame)`` (a ``geoverify.frames.Frame`` with pixels) queues a frame; ``results``
    matches those never taken and returns one ``FrameMatch`` per frame, in the order given,
    with the index (``None``, and no matches, when no landmark has a reference image).
    """

    def __init__(
        self, registry: Registry, options: MatchOptions, base_dir: str | os.PathLike[str]
    ) -> None:
        self.enabled = any(lm.reference_images for lm in registry.landmarks)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="geoverify-match")
        self._cancelled = threading.Event()
        self._index: Future[MatchIndex] | None = None
        if self.enabled:
            self._index = self._pool.submit(
                build_index, registry, options=options, base_dir=Path(os.fspath(base_dir))
            )
        self._queued: dict[int, Future[Any]] = {}
        # a stream dropped before ``results`` (decoding failed): the queued frames are dropped
        weakref.finalize(self, _stop, self._pool, self._cancelled)

    def take(self, frame: Any) -> None:
        """Queue ``frame`` for matching (a frame already queued is not queued again)."""
        if self.enabled and frame.frame_number not in self._queued:
            job = self._pool.submit(_match, frame, self._index, self._cancelled)
            self._queued[frame.frame_number] = job

    def results(
        self, frames: Sequence[Any], progress: Callable[[int, int | None], None] | None = None
    ) -> tuple[MatchIndex | None, tuple[Any, ...]]:
        """Match the frames not taken yet; return the index and every frame's ``FrameMatch``.

        ``progress`` is called with (frames matched, frames) as their results come in.
        """
        try:
            if self._index is None:
                return None, ()
            for f in frames:
                self.take(f)
            out = []
            for done, f in enumerate(frames, start=1):
                out.append(self._queued[f.frame_number].result())
                if progress is not None:
                    progress(done, len(frames))
            return self._index.result(), tuple(out)
        finally:
            _stop(self._pool, self._cancelled)


def _match(frame: Any, index: Future[MatchIndex] | None, cancelled: threading.Event) -> Any:
    """Match one frame on the stream's thread (a module function: it holds no stream)."""
    if cancelled.is_set() or index is None:
        return None
    from geoverify.matching import match_frames  # the package imports this module

    return match_frames([frame], index.result())[0]


def _stop(pool: ThreadPoolExecutor, cancelled: threading.Event) -> None:
    """Drop the queued work; the frame being matched finishes (it cannot be interrupted)."""
    cancelled.set()
    pool.shutdown(wait=False, cancel_futures=True)
