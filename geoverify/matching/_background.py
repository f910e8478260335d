"""The bundled background photographs: negative controls for registries with too few.

``geoverify/data/background`` holds 41 real photographs (sources, authors and licences in its
``PROVENANCE.md`` and ``manifest.json``), none of them of a registry landmark. Their features
depend on the matching options; they are computed the first time a set of options needs them
and kept in a cache file (``$GEOVERIFY_CACHE_DIR``, else ``$XDG_CACHE_HOME/geoverify``, else
``~/.cache/geoverify``) named by the SHA-256 of the manifest, the options that change features
and OpenCV's version. A cache that cannot be read or written is recomputed, never trusted
half-read. Every image is checked against the SHA-256 its manifest records before use.

A negative control must not show the landmark. The set holds, for one, a re-encoding of OpenCV's
``leuvenA.jpg``: a registry with that street as a reference would have the street among its own
controls, and a frame of the street would score as high against the control as against the
reference (115 inliers against 111 for ``leuvenB.jpg``), which vetoes a true match. So
``screen_background`` compares every registry reference with every photograph when the index is
built, and a photograph that is the same file, a copy (perceptual hash) or the same scene
(``SCREEN_MIN_INLIERS`` consistent points in the plain pass) is left out, named with the
reason in every match result (``ExcludedControl``). Calibration, at the then default options
(SIFT, 2,000 keypoints, 1,280 px; 960 px since issue 32, where the test corpus gave the same
verdicts): of 2,089 pairs of unrelated pictures (the 41 photographs against each other, 1,640
ordered pairs, and the 8 OpenCV test images and 3 Berlin photographs against them, 449) none
scored more than 6 inliers and none had perceptual hashes closer than 18 bits of 64; leuvenA
against its re-encoding scores 1,131 inliers at 0 bits, leuvenB (the same street from another
position) 115 inliers at 32 bits; re-encoding leuvenA at JPEG quality 20 or halving its size
changes its hash by 0 bits, cropping 2 % off each side by 6, brightening it by a fifth by 4.
With ORB and RootSIFT features unrelated pairs scored at most 6 and 5 inliers, leuvenB 64 and
120 (``screen_background`` verifies with the default ratio test and reprojection threshold and
a homography, whatever the matching options, so that this calibration holds).
The screen does not see a photograph of the landmark from a view the plain pass cannot match
(a steep one) nor one mirrored left to right; such a photograph stays a control and can only
make the estimated rate higher, never a false match likelier.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from geoverify._images import cv2, read_image
from geoverify.errors import MediaError
from geoverify.matching import _disk
from geoverify.matching._features import features, pooled_index, pooled_votes, scaled_gray
from geoverify.matching._options import MatchOptions
from geoverify.matching._verify import Reference, verify_pair

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
    original_sha256: str = ""  # of the upstream file it was re-encoded from


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
            original_sha256=str(e.get("original_sha256", "")),
        )
        for e in data["images"]
    )


def background_sha256() -> str:
    """SHA-256 of the background set's manifest (which records every image's SHA-256)."""
    return hashlib.sha256(_manifest_bytes()).hexdigest()


def _cache_key(opts: MatchOptions) -> str:
    what = json.dumps(
        {
            "manifest": background_sha256(),
            "detector": opts.detector,
            "max_features": opts.max_features,
            "max_side_px": opts.max_side_px,
            "opencv": cv2.__version__,
            "format": 2,  # 2: with each photograph's perceptual hash
        },
        sort_keys=True,
    )
    return hashlib.sha256(what.encode()).hexdigest()[:32]


Features = list[tuple[npt.NDArray[np.float32], Any]]


def _compute(images: tuple[BackgroundImage, ...], opts: MatchOptions) -> tuple[Features, list[int]]:
    from geoverify.frames._model import perceptual_hash

    out = []
    hashes = []
    for im in images:
        image, sha = read_image(BACKGROUND_DIR / im.file, opts.max_pixels)
        if sha != im.sha256:
            msg = f"background photograph {im.file!r} differs from its manifest (SHA-256)"
            hint = "Reinstall geoverify, or match with --background off."
            raise MediaError(msg, code="E_BACKGROUND_CHANGED", hint=hint)
        gray, _ = scaled_gray(image, opts.max_side_px)
        out.append(features(gray, opts))
        hashes.append(perceptual_hash(gray))
    return out, hashes


def _load_cache(path: Path, n: int, opts: MatchOptions) -> tuple[Features, list[int]] | None:
    width = 32 if opts.detector == "orb" else 128

    def check(a: _disk.Arrays) -> bool:
        for i in range(n):
            pts, desc = a[f"pts_{i}"], a[f"desc_{i}"]
            if pts.ndim != 2 or pts.shape[1] != 2 or desc.shape != (len(pts), width):
                return False
        return bool(a["phash"].shape == (n,) and a["phash"].dtype == np.uint64)

    found = _disk.load_arrays(path, check)
    if found is None:
        return None
    loaded = [(found[f"pts_{i}"].astype(np.float32), found[f"desc_{i}"]) for i in range(n)]
    return loaded, [int(h) for h in found["phash"]]


def background_references(opts: MatchOptions) -> tuple[Reference, ...]:
    """Features of every background photograph under ``opts``, from the cache when it holds them."""
    images = background_set()
    path = _disk.cache_dir() / f"background-{_cache_key(opts)}.npz"
    cached = _load_cache(path, len(images), opts)
    if cached is None:
        cached = _compute(images, opts)
        arrays: dict[str, Any] = {"phash": np.array(cached[1], dtype=np.uint64)}
        for i, (pts, desc) in enumerate(cached[0]):
            arrays[f"pts_{i}"] = pts
            arrays[f"desc_{i}"] = desc
        _disk.save_arrays(path, arrays)  # an unwritable cache costs time next run, nothing else
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
            phash=phash,
        )
        for im, (pts, desc), phash in zip(images, *cached, strict=True)
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
    from geoverify.matching import _learned

    what = {
        "image": file, "sha256": sha256, "features": opts.features,
        "keypoints": opts.learned_keypoints, "max_side_px": opts.max_side_px,
        "provenance": _learned.provenance(opts.features),
    }  # fmt: skip

    def check(a: _disk.Arrays) -> bool:
        pts, desc = a["pts"], a["desc"]
        shapes = pts.ndim == 2 and pts.shape[1] == 2 and desc.ndim == 2 and len(desc) == len(pts)
        return shapes and a["size"].shape == (2,)

    def arrays() -> _disk.Arrays:
        pts, desc, size = compute()
        return {"pts": pts, "desc": desc, "size": np.array(size, np.int64)}

    found = _disk.cached_arrays(
        _disk.cache_name(f"background-{opts.features}", what), check, arrays
    )
    w, h = (int(v) for v in found["size"])
    return found["pts"].astype(np.float32), found["desc"].astype(np.float32), (w, h)


# The screen's thresholds, calibrated in the module docstring: unrelated pictures scored at most
# 6 inliers and were at least 18 bits apart; 15 inliers is also the fewest a match needs
# (``MatchOptions.min_inliers``), so a photograph is left out only on evidence that would make
# it a match of the landmark.
SCREEN_MIN_INLIERS = 15
SCREEN_MAX_PHASH_BITS = 8
# Photographs verified per reference: those with most votes (the reference's descriptors
# searched in one index over every photograph's, with Lowe's ratio test), with at least one
# vote. Measured: leuvenA gives its re-encoding 1,400 votes, leuvenB 228; box, graf1, aero1 and
# Berlin photographs 01 and 03 give any photograph at most 4.
SCREEN_CANDIDATES = 3
# The screen verifies with the default ratio test and reprojection threshold, and always with
# a homography, whatever the match options: its thresholds were calibrated that way (a
# fundamental matrix finds 8 consistent points in any 8 correspondences).
_SCREEN_DEFAULTS = MatchOptions()

Reason = Literal["same_file", "re_encoded", "copy", "same_scene"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ExcludedControl:
    """A background photograph left out of the negative controls, and why.

    ``reason``: ``same_file`` (the reference's SHA-256 is the photograph's), ``re_encoded``
    (the reference's SHA-256 is that of the file the manifest says the photograph was
    re-encoded from), ``copy`` (their perceptual hashes are at most
    ``SCREEN_MAX_PHASH_BITS`` of 64 bits apart), ``same_scene`` (the plain pass finds at least
    ``SCREEN_MIN_INLIERS`` consistent points between them). ``inliers`` (plain pass, reference
    to photograph) and ``phash_distance_bits`` are measured whatever the reason; the
    reference named is the one with most inliers when several show the scene.
    """

    file: str
    landmark_id: str
    reference_image: str
    reason: Reason
    inliers: int
    phash_distance_bits: int

    @property
    def text(self) -> str:
        """The exclusion as a sentence for a report."""
        what = {
            "same_file": "it is the same file as",
            "re_encoded": "it is a re-encoding of",
            "copy": "it is a copy of",
            "same_scene": "it shows the same scene as",
        }[self.reason]
        detail = {
            "same_file": "same SHA-256, ",
            "re_encoded": "its manifest gives the reference's SHA-256 as its source, ",
            "copy": f"perceptual hashes {self.phash_distance_bits} of 64 bits apart, ",
            "same_scene": "",
        }[self.reason]
        return (
            f"background photograph {self.file} left out of the negative controls: {what} "
            f"reference {self.reference_image} of landmark {self.landmark_id!r} "
            f"({detail}{self.inliers} inliers)"
        )


def screen_background(
    references: Sequence[Reference], controls: Sequence[Reference], opts: MatchOptions
) -> tuple[ExcludedControl, ...]:
    """Find the background photographs that show a registry reference (see the module docstring).

    ``references``: the registry's (mirrored ones are skipped); ``controls``: the background
    photographs' (``background_references(opts)``). Every pair is compared by SHA-256 and
    perceptual hash; the ``SCREEN_CANDIDATES`` photographs with most retrieval votes from a
    reference are verified by the plain pass. Returns the photographs to leave out, in the
    order of ``controls``.
    """
    originals = {im.file: im.original_sha256 for im in background_set()}
    verify_opts = dataclasses.replace(
        opts,
        model="homography",
        ratio=_SCREEN_DEFAULTS.ratio,
        ransac_px=_SCREEN_DEFAULTS.ransac_px,
    )
    usable, index, owner = _pooled_controls(controls, opts)
    found: dict[int, ExcludedControl] = {}
    for ref in references:
        if ref.mirrored or ref.background:
            continue
        votes = pooled_votes(ref.descriptors, index, owner, len(usable), _SCREEN_DEFAULTS.ratio)
        checked = {usable[k] for k in _most_voted(votes)}
        for j, control in enumerate(controls):
            excluded = _exclusion(ref, control, originals, verify_opts, verify=j in checked)
            if excluded is not None and (j not in found or excluded.inliers > found[j].inliers):
                found[j] = excluded
    return tuple(found[j] for j in sorted(found))


def _pooled_controls(
    controls: Sequence[Reference], opts: MatchOptions
) -> tuple[list[int], Any, npt.NDArray[np.int64]]:
    """Return the controls with descriptors, a ``pooled_index`` over them and its owners."""
    usable = [j for j, c in enumerate(controls) if len(c.descriptors) >= 2]
    index, owner = pooled_index(
        [controls[j].descriptors for j in usable],
        tuple(f"{controls[j].file_sha256}:screen" for j in usable),
        opts,
    )
    return usable, index, owner


def _most_voted(votes: npt.NDArray[np.int64]) -> list[int]:
    """Return the ``SCREEN_CANDIDATES`` photographs with most votes (at least one), most first."""
    voted = sorted(np.flatnonzero(votes).tolist(), key=lambda k: (-int(votes[k]), k))
    return voted[:SCREEN_CANDIDATES]


def _exclusion(
    ref: Reference,
    control: Reference,
    originals: dict[str, str],
    verify_opts: MatchOptions,
    *,
    verify: bool,
) -> ExcludedControl | None:
    """Why ``control`` shows ``ref`` and must be left out, or ``None`` (or not looked at).

    The pair is verified by the plain pass when it is the same file, a re-encoding or a copy
    by perceptual hash, or when ``verify`` (one of the reference's most voted photographs).
    """
    from geoverify.frames._model import hamming

    bits = (
        hamming(ref.phash, control.phash)
        if ref.phash is not None and control.phash is not None
        else 64
    )
    same_file = ref.file_sha256 == control.file_sha256
    re_encoded = ref.file_sha256 == originals.get(control.image)
    copy = bits <= SCREEN_MAX_PHASH_BITS
    if not (same_file or re_encoded or copy or verify):
        return None
    area = float(ref.size[0] * ref.size[1])
    inliers = verify_pair(
        (ref.points, ref.descriptors),
        (control.points, control.descriptors),
        control,
        verify_opts,
        area,
        affine=False,
    ).inliers
    reasons: tuple[tuple[bool, Reason], ...] = (
        (same_file, "same_file"),
        (re_encoded, "re_encoded"),
        (copy, "copy"),
        (inliers >= SCREEN_MIN_INLIERS, "same_scene"),
    )
    reason = next((why for holds, why in reasons if holds), None)
    if reason is None:
        return None
    return ExcludedControl(
        file=control.image,
        landmark_id=ref.landmark_id,
        reference_image=ref.image,
        reason=reason,
        inliers=inliers,
        phash_distance_bits=bits,
    )
