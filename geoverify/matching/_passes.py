"""Matcher passes: one protocol, the frame they share, and the scoring every pass ends with.

A pass is one way of finding correspondences between a frame and reference images: the plain
pass (``PlainPass``, SIFT), the affine-simulation pass (``AffinePass``, ASIFT) and learned
features (``LearnedPass``, ALIKED or DISK matched by LightGlue), each a class in a file of its
own behind ``MatchPass``. A pass chooses what to score and scores one reference at a time
(``LandmarkScore``: its verified correspondences); ``score_landmarks`` then scores the negative
controls the same way and reaches the verdict (``geoverify.matching._decision.decide``: the
calibration, the verdict and the mirrored test are the same for every pass). Which passes run
for a frame, and how a second pass's result is weighed against the first's, is
``geoverify.matching._matcher``. A new pass is one file: a class with ``name`` and ``run``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

from geoverify._images import Image
from geoverify.matching._decision import ImageMatch, decide
from geoverify.matching._features import Points
from geoverify.matching._index import MatchIndex
from geoverify.matching._verify import LandmarkScore


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class FrameQuery:
    """A frame as every pass sees it: scaled and grey, its plain features, retrieval's ranking.

    ``gray``: the frame in grey, scaled by ``scale`` to at most ``max_side_px`` (every point a
    pass reports is in its pixels). ``plain_features``: its keypoints and descriptors
    (``max_features``), computed once for retrieval. ``control_order``: every reference of the
    index, most retrieval votes first (the negative controls are taken from it).
    ``candidate_landmarks``: the landmarks retrieval proposes (background photographs never).
    """

    gray: Image
    scale: float
    plain_features: tuple[Points, Any]
    control_order: tuple[int, ...]
    candidate_landmarks: frozenset[str]

    @property
    def area_px2(self) -> float:
        """Area of ``gray`` in square pixels (the spread of the inliers is a share of it)."""
        return float(self.gray.shape[0] * self.gray.shape[1])


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PassRecord:
    """What one pass did for one frame: its result, and its own account of how it got there.

    ``name``: the pass (``plain``, ``affine``, ``learned``). ``result``: the verdict from its
    scores and controls, ``None`` when the pass chose to score nothing (``findings`` says why).
    ``method``: what produced the scores, as the notes name it (``affine simulation (views
    tilted up to 4x, 1000 keypoints per view)``; empty for the plain pass). ``findings``: how
    the pass chose what to score (the affine screen's counts). ``best_inliers``: the best
    inliers per landmark over every reference scored, controls included.
    """

    name: str
    result: ImageMatch | None
    method: str = ""
    findings: tuple[str, ...] = ()
    best_inliers: Mapping[str, int] = dataclasses.field(default_factory=dict)


class MatchPass(Protocol):
    """A matcher pass: scores a frame against the references of some landmarks.

    ``run(frame, landmarks)`` verifies the frame against every reference (both orientations)
    of the ``landmarks`` it chooses among those given (most promising first), then the negative
    controls, through ``score_landmarks``, and returns its ``PassRecord``.
    """

    @property
    def name(self) -> str:
        """The pass's name in its record: ``plain``, ``affine``, ``learned``."""
        ...

    def run(self, frame: FrameQuery, landmarks: Sequence[str]) -> PassRecord:
        """Score ``frame`` against the references of ``landmarks``; see the class docstring."""
        ...


def score_landmarks(
    index: MatchIndex,
    frame: FrameQuery,
    landmarks: Collection[str],
    score: Callable[[int], LandmarkScore],
    *,
    controls_only_if_needed: bool,
    score_many: Callable[[Sequence[int]], Sequence[LandmarkScore]] | None = None,
) -> tuple[ImageMatch, dict[str, int]]:
    """Score every reference of ``landmarks`` with ``score``, then the controls: the verdict.

    ``score(i)`` is a pass's verification of the frame against reference ``i``;
    ``score_many(ids)``, when given, scores several at once (side by side), with the same
    result as ``score`` on each. Returns the verdict (``decide``) and the best inliers per
    landmark of every reference scored.
    """
    refs = index.references
    best: dict[str, int] = {}

    def tracked(ids: Sequence[int]) -> Sequence[LandmarkScore]:
        found = score_many(ids) if score_many is not None else [score(i) for i in ids]
        for i, one in zip(ids, found, strict=True):
            lid = refs[i].landmark_id
            best[lid] = max(best.get(lid, 0), one.inliers)
        return found

    chosen = set(landmarks)
    candidates = [i for i, r in enumerate(refs) if r.landmark_id in chosen]
    result = decide(
        refs,
        tracked,
        candidates,
        frame.control_order,
        index.options,
        frame.scale,
        controls_only_if_needed=controls_only_if_needed,
    )
    return result, best
