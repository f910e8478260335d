"""The learned pass (``MatchPass``): XFeat + LighterGlue, or ALIKED / DISK + LightGlue.

Two uses. As the only pass (``features="xfeat"``, ``"aliked"`` or ``"disk"``): every
candidate and every negative control is scored with the matcher's correspondences, one per
physical point, verified as the classic ones are. As the second pass after the plain one
(``second_pass="learned"``, or ``"auto"`` with the extra installed): XFeat + LighterGlue for a
frame the plain pass cannot match, screened first: the frame's XFeat features are computed
once, matched to each reference (both orientations) of the ``learned_screen_candidates`` most
promising landmarks by mutual nearest neighbours (cosine >= ``MNN_MIN_COSINE``) and verified;
only the ``learned_candidates`` best landmarks where that screen finds
``learned_screen_min_inliers`` consistent points are scored with LighterGlue, then the
controls, the same way. The models and their weights are ``geoverify.matching._models``.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Final

from geoverify._images import Image
from geoverify.matching import _models
from geoverify.matching._features import Points, cached_features, one_per_point
from geoverify.matching._index import MatchIndex
from geoverify.matching._passes import FrameQuery, PassRecord, score_landmarks
from geoverify.matching._verify import LandmarkScore, verify_correspondences

# XFeat's own matcher keeps mutual nearest neighbours from this cosine similarity up
MNN_MIN_COSINE = 0.82
SECOND_PASS_KIND: Final = "xfeat"

# indexes the second pass has derived (its options with features="xfeat"), by the original's id
_derived: dict[int, tuple[MatchIndex, MatchIndex]] = {}


def extract(gray: Image, kind: str, keypoints: int) -> tuple[Points, Points]:
    """Keypoints (pixels of ``gray``) and descriptors of one grey image (``_models.extract``)."""
    return _models.extract(gray, kind, keypoints)


def weight_files(kind: str) -> tuple[Path, Path]:
    """Paths of the weight files ``kind`` loads, checked to exist (they are never fetched)."""
    return _models.weight_files(kind)


def provenance(kind: str) -> dict[str, str]:
    """Versions and the weight files' SHA-256 of ``kind`` (``_models.provenance``)."""
    return _models.provenance(kind)


def learned_index(index: MatchIndex) -> MatchIndex:
    """``index`` with the second pass's features (XFeat), sharing its references and retrieval.

    Made once per index (the reference features it computes are kept in it).
    """
    opts = index.options
    if opts.features != "classic":
        return index
    hit = _derived.get(id(index))
    if hit is not None and hit[0] is index:
        return hit[1]
    options = dataclasses.replace(opts, features=SECOND_PASS_KIND)
    derived = dataclasses.replace(index, options=options, _learned_cache=OrderedDict())
    if len(_derived) >= 8:
        _derived.pop(next(iter(_derived)))
    _derived[id(index)] = (index, derived)
    return derived


@dataclasses.dataclass(frozen=True, slots=True)
class LearnedPass:
    """Learned features matched by (Lighter)Glue over ``index``'s references.

    With ``options.features`` learned, the features are those and every candidate landmark is
    scored; with classic features this is the second pass, XFeat + LighterGlue, and ``screen``
    chooses the landmarks worth scoring (the class docstring of the module). The controls are
    scored only when the best candidate could be a match.
    """

    index: MatchIndex
    screen: bool = True
    reason: str = ""
    name: ClassVar[str] = "learned"

    @property
    def method(self) -> str:
        """What produces the scores, as the notes name it."""
        opts = learned_index(self.index).options
        kind = opts.features
        return (
            f"{_models.LABELS[kind]} features ({opts.learned_keypoints} keypoints an image) "
            f"matched by {_models.MATCHER_LABELS[kind]}"
        )

    def run(self, frame: FrameQuery, landmarks: Sequence[str]) -> PassRecord:
        """Score the frame against both orientations of every reference of the chosen landmarks."""
        second = self.index.options.features == "classic"
        index = learned_index(self.index)
        opts = index.options
        gray = frame.gray
        pts, desc = cached_features(gray, opts, kind="learned")
        size = (int(gray.shape[1]), int(gray.shape[0]))
        findings: tuple[str, ...] = (self.reason,) if self.reason else ()
        chosen = list(landmarks)
        if second:
            chosen = list(landmarks[: opts.learned_candidates])
            if self.screen:
                chosen, note = self._screened(index, frame, (pts, desc), landmarks)
                findings = (*findings, note)
                if not chosen:
                    return PassRecord(name=self.name, result=None, method=self.method,
                                      findings=findings)  # fmt: skip
        refs = index.references

        def score(i: int) -> LandmarkScore:
            src, dst = _models.correspondences(
                (pts, desc, size), index.learned_features(i), opts.features, opts.learned_keypoints
            )
            return verify_correspondences(*one_per_point(src, dst), refs[i], opts, frame.area_px2)

        result, best = score_landmarks(index, frame, chosen, score, controls_only_if_needed=True)
        return PassRecord(
            name=self.name, result=result, method=self.method, findings=findings, best_inliers=best
        )

    def _screened(
        self,
        index: MatchIndex,
        frame: FrameQuery,
        features: tuple[Points, Points],
        landmarks: Sequence[str],
    ) -> tuple[list[str], str]:
        """Return the landmarks the XFeat screen finds worth LighterGlue, and a note of it."""
        opts = index.options
        screened = screen_landmarks(
            index, frame, features, landmarks[: opts.learned_screen_candidates]
        )
        ranked = sorted(screened, key=lambda lid: -screened[lid])[: opts.learned_candidates]
        worth = [lid for lid in ranked if screened[lid] >= opts.learned_screen_min_inliers]
        found = ", ".join(f"{lid!r} {screened[lid]}" for lid in screened)
        if not worth:
            return [], (
                "learned pass skipped: its XFeat screen (mutual nearest neighbours) found at "
                f"most {max(screened.values(), default=0)} consistent points ({found}); "
                f"LighterGlue is run from {opts.learned_screen_min_inliers}"
            )
        return worth, (
            f"the learned pass's XFeat screen (mutual nearest neighbours) found {found} "
            f"consistent points (LighterGlue is run from {opts.learned_screen_min_inliers})"
        )


def screen_landmarks(
    index: MatchIndex,
    frame: FrameQuery,
    features: tuple[Points, Points],
    landmarks: Sequence[str],
) -> dict[str, int]:
    """Consistent points of the XFeat screen, best reference (either orientation) per landmark.

    The frame's features (computed once) are matched to each reference's by mutual nearest
    neighbours and verified (``verify_correspondences``); no network is run but XFeat's. The
    mirrored references are screened too (XFeat's descriptors are not mirror-symmetric, and
    the screen costs little), so a mirrored re-upload of a steep view is screened in.
    """
    pts, desc = features
    out = dict.fromkeys(landmarks, 0)
    refs = index.references
    for i, ref in enumerate(refs):
        if ref.landmark_id not in out:
            continue
        r_pts, r_desc, _ = index.learned_features(i)
        q, r = _models.mutual_nearest(desc, r_desc, MNN_MIN_COSINE)
        if len(q) < 4:
            continue
        found = verify_correspondences(pts[q], r_pts[r], ref, index.options, frame.area_px2)
        out[ref.landmark_id] = max(out[ref.landmark_id], found.inliers)
    return out
