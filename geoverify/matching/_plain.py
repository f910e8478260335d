"""The plain pass: the detector's features matched by exact nearest neighbours (``MatchPass``).

SIFT by default (RootSIFT, ORB as options) on the frame and each reference at ``max_side_px``,
Lowe's ratio test against the nearest descriptor of a different point, then the homography (or
fundamental matrix) of ``geoverify.matching._verify``. The cheapest pass, and repeatable
(no approximate search); blind to strongly slanted views, which the affine pass is for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import ClassVar

from geoverify.matching._index import MatchIndex
from geoverify.matching._passes import FrameQuery, PassRecord, score_landmarks
from geoverify.matching._verify import LandmarkScore, verify_pair


@dataclasses.dataclass(frozen=True, slots=True)
class PlainPass:
    """The plain pass over ``index``'s references; the controls are always scored."""

    index: MatchIndex
    name: ClassVar[str] = "plain"

    def run(self, frame: FrameQuery, landmarks: Sequence[str]) -> PassRecord:
        """Score the frame against both orientations of every reference of ``landmarks``."""
        refs = self.index.references
        opts = self.index.options

        def score(i: int) -> LandmarkScore:
            ref = refs[i]
            reference = (ref.points, ref.descriptors)
            return verify_pair(
                frame.plain_features, reference, ref, opts, frame.area_px2, affine=False
            )

        result, best = score_landmarks(
            self.index, frame, landmarks, score, controls_only_if_needed=False
        )
        return PassRecord(name=self.name, result=result, best_inliers=best)
