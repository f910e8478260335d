"""The bundled background photographs: negative controls for registries with too few.

``geoverify/data/background`` holds 41 real photographs (sources, authors and licences in its
``PROVENANCE.md`` and ``manifest.json``), none of them of a registry landmark. Their features
depend on the matching options; they are computed the first time a set of options needs them
and kept in a cache file (``$GEOVERIFY_CACHE_DIR``, else ``$XDG_CACHE_HOME/geoverify``, else
``~/.cache/geoverify``) named by the SHA-256 of the manifest, the options that change features
and OpenCV's version. A cache that cannot be read or written is recomputed, never trusted
half-read. Every image is checked against the SHA-256 its manifest records before use.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from geoverify._images import cv2, read_image
from geoverify.errors import GeoverifyError, MediaError
from geoverify.matching._options import MatchOptions
from geoverify.matching._verify import Reference, features, scaled_gray

BACKGROUND_DIR = Path(__file__).resolve().parent.parent / "data" / "background"
PREFIX = "background:"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BackgroundImage:
    """One photograph of the background set, as its manifest describes it."""

    file: str
    sha256: str
    shows: str
    author: str
    licence: str


def _manifest_bytes() -> bytes:
    try:
        return (BACKGROUND_DIR / "manifest.json").read_bytes()
    except OSError as exc:
        msg = f"the background set's manifest cannot be read: {exc.strerror}"
        hint = "Reinstall geoverify, or match with background='off' (--background off)."
        raise MediaError(msg, code="E_BACKGROUND_MISSING", hint=hint) from None


def background_set() -> tuple[BackgroundImage, ...]:
    """List the photographs of the background set (file, SHA-256, what it shows, licence)."""
    data = json.loads(_manifest_bytes().decode("utf-8"))
    return tuple(
        BackgroundImage(
            file=str(e["file"]),
            sha256=str(e["sha256"]),
            shows=str(e["shows"]),
            author=str(e["author"]),
            licence=str(e["licence"]),
        )
        for e in data["images"]
    )


def background_sha256() -> str:
    """SHA-256 of the background set's manifest (which records every image's SHA-256)."""
    return hashlib.sha256(_manifest_bytes()).hexdigest()


def _cache_dir() -> Path:
    env = os.environ.get("GEOVERIFY_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "geoverify"


def _cache_key(opts: MatchOptions) -> str:
    what = json.dumps(
        {
            "manifest": background_sha256(),
            "detector": opts.detector,
            "max_features": opts.max_features,
            "max_side_px": opts.max_side_px,
            "opencv": cv2.__version__,
        },
        sort_keys=True,
    )
    return hashlib.sha256(what.encode()).hexdigest()[:32]


Features = list[tuple[npt.NDArray[np.float32], Any]]


def _compute(images: tuple[BackgroundImage, ...], opts: MatchOptions) -> Features:
    out = []
    for im in images:
        image, sha = read_image(BACKGROUND_DIR / im.file, opts.max_pixels)
        if sha != im.sha256:
            msg = f"background photograph {im.file!r} differs from its manifest (SHA-256)"
            hint = "Reinstall geoverify, or match with --background off."
            raise MediaError(msg, code="E_BACKGROUND_CHANGED", hint=hint)
        gray, _ = scaled_gray(image, opts.max_side_px)
        out.append(features(gray, opts))
    return out


def _load_cache(path: Path, n: int, opts: MatchOptions) -> Features | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            loaded = [(data[f"pts_{i}"], data[f"desc_{i}"]) for i in range(n)]
    except (OSError, KeyError, ValueError, EOFError):
        return None
    width = 32 if opts.detector == "orb" else 128
    for pts, desc in loaded:
        if pts.ndim != 2 or pts.shape[1] != 2 or desc.ndim != 2 or desc.shape != (len(pts), width):
            return None
    return [(p.astype(np.float32), d) for p, d in loaded]


def background_references(opts: MatchOptions) -> tuple[Reference, ...]:
    """Features of every background photograph under ``opts``, from the cache when it holds them."""
    from geoverify._io import write_atomic

    images = background_set()
    path = _cache_dir() / f"background-{_cache_key(opts)}.npz"
    feats = _load_cache(path, len(images), opts)
    if feats is None:
        feats = _compute(images, opts)
        buf = io.BytesIO()
        arrays = {}
        for i, (pts, desc) in enumerate(feats):
            arrays[f"pts_{i}"] = pts
            arrays[f"desc_{i}"] = desc
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, buf.getvalue())
        except (OSError, GeoverifyError):
            pass  # an unwritable cache costs time next run, nothing else
    return tuple(
        Reference(
            landmark_id=PREFIX + im.file,
            image=im.file,
            mirrored=False,
            file_sha256=im.sha256,
            points=pts,
            descriptors=desc,
            size=(0, 0),
            background=True,
        )
        for im, (pts, desc) in zip(images, feats, strict=True)
    )


LearnedFeatures = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], tuple[int, int]]


def learned_background_features(
    file: str, sha256: str, opts: MatchOptions, compute: Callable[[], LearnedFeatures]
) -> LearnedFeatures:
    """Learned features of one background photograph from the disk cache, else ``compute()``.

    (keypoints, descriptors, (width_px, height_px) of the scaled image). The cache file is
    named by a key of the photograph (file and SHA-256) and of everything the features depend
    on (kind, keypoints, scale, and the versions and weights' SHA-256 of ``_learned.provenance``):
    a run in a new process does not extract the controls again (about a minute for 24 on two
    cores). A file that cannot be read or holds arrays of the wrong shape is computed again;
    one that cannot be written costs time next run, nothing else.
    """
    from geoverify._io import write_atomic
    from geoverify.matching import _learned

    what = json.dumps(
        {"image": file, "sha256": sha256, "features": opts.features,
         "keypoints": opts.learned_keypoints, "max_side_px": opts.max_side_px,
         "provenance": _learned.provenance(opts.features)},
        sort_keys=True,
    )  # fmt: skip
    key = hashlib.sha256(what.encode()).hexdigest()[:32]
    path = _cache_dir() / f"background-{opts.features}-{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            pts, desc = data["pts"].astype(np.float32), data["desc"].astype(np.float32)
            w, h = (int(v) for v in data["size"])
        if pts.ndim == 2 and pts.shape[1] == 2 and desc.ndim == 2 and len(desc) == len(pts):
            return pts, desc, (w, h)
    except (OSError, KeyError, ValueError, EOFError, TypeError):
        pass
    result = compute()
    buf = io.BytesIO()
    np.savez(buf, pts=result[0], desc=result[1], size=np.array(result[2], np.int64))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, buf.getvalue())
    except (OSError, GeoverifyError):
        pass
    return result
