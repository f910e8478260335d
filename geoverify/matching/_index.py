"""Reference features of a registry and the retrieval index over them."""

from __future__ import annotations

import dataclasses
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from geoverify._images import Image, read_image
from geoverify.errors import (
    GeoverifyError,
    InputError,
    MediaError,
    MissingDependencyError,
    RegistryError,
)
from geoverify.matching._background import (
    BACKGROUND_DIR,
    ExcludedControl,
    background_references,
    background_sha256,
    learned_background_features,
    screen_background,
)
from geoverify.matching._features import (
    Packed,
    Points,
    cached_features,
    cached_mirror_features,
    mirrored_features,
    pack_features,
    scaled_gray,
    simulated_features,
    trained_retrieval,
)
from geoverify.matching._options import MatchOptions
from geoverify.matching._verify import Reference
from geoverify.registry import Registry


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MatchIndex:
    """Reference features of a registry, with one retrieval index over all of them.

    Features of the affine-simulated views of a reference (full and screen resolution), and
    its learned features, are computed the first time a frame needs them and kept for the
    ``affine_cache_size`` most recently used references. ``background`` lists the background
    photographs added as negative controls (empty when the registry has enough references of
    its own, or with ``background="off"``); ``background_sha256`` is the SHA-256 of their
    manifest. ``excluded_background`` lists the photographs of the set left out because they
    show one of the registry's references (``screen_background``), each with the reason.
    """

    references: tuple[Reference, ...]
    options: MatchOptions
    registry_sha256: str
    base_dir: str
    upright_references: tuple[int, ...] = dataclasses.field(repr=False, compare=False)
    retrieval_index: Any = dataclasses.field(repr=False, compare=False)
    background: tuple[str, ...] = ()
    background_sha256: str | None = None
    excluded_background: tuple[ExcludedControl, ...] = ()
    # SIFT's descriptors kept as bytes (``pack_features``), handed out as float32
    _affine_cache: OrderedDict[tuple[int, bool], Packed] = dataclasses.field(
        default_factory=OrderedDict, repr=False, compare=False
    )
    _learned_cache: OrderedDict[int, tuple[Points, Any, tuple[int, int]]] = dataclasses.field(
        default_factory=OrderedDict, repr=False, compare=False
    )

    @property
    def landmark_ids(self) -> tuple[str, ...]:
        """Landmarks that have at least one reference image."""
        return tuple(
            dict.fromkeys(
                r.landmark_id for r in self.references if not r.mirrored and not r.background
            )
        )

    def affine_features(self, i: int, *, screen: bool = False) -> tuple[Points, Any]:
        """Features of reference ``i``'s affine-simulated views (``screen``: low resolution)."""
        cache = self._affine_cache
        key = (i, screen)
        if key in cache:
            cache.move_to_end(key)
            return cache[key].unpack()
        ref = self.references[i]
        opts = self.options
        if ref.mirrored and not screen and opts.detector != "orb":
            # the upright reference's simulation, mirrored (ORB's binary tests are not symmetric)
            pts, desc = self.affine_features(self._upright_of(i))
            found = mirrored_features(pts, desc, ref.size[0])
        else:
            found = simulated_features(self._gray(i), opts, screen=screen, keep=True)
        cache[key] = pack_features(found)
        self._trim(cache)
        return found

    def learned_features(self, i: int) -> tuple[Points, Any, tuple[int, int]]:
        """Learned features (``options.features``) of reference ``i`` and the image's size.

        Keypoints, descriptors and (width_px, height_px) of the scaled image they are in; kept
        for the ``2 * affine_cache_size`` most recently used references, and a background
        photograph's on disk too (``learned_background_features``).
        """
        cache = self._learned_cache
        if i not in cache:
            ref = self.references[i]

            def compute() -> tuple[Points, Any, tuple[int, int]]:
                gray = self._gray(i)
                pts, desc = cached_features(gray, self.options, kind="learned", keep=True)
                return pts, desc, (int(gray.shape[1]), int(gray.shape[0]))

            cache[i] = (
                learned_background_features(ref.image, ref.file_sha256, self.options, compute)
                if ref.background
                else compute()
            )
            self._trim(cache)
        cache.move_to_end(i)
        return cache[i]

    def _gray(self, i: int) -> Image:
        """Read reference ``i``'s image again, check its SHA-256, return it scaled and grey."""
        ref = self.references[i]
        opts = self.options
        folder = BACKGROUND_DIR if ref.background else Path(self.base_dir)
        image, sha = read_image(folder / ref.image, opts.max_pixels)
        if sha != ref.file_sha256:
            msg = f"reference image {ref.image!r} changed since matching started"
            hint = "Re-run the command; do not edit reference images while matching runs."
            raise MediaError(msg, code="E_REFERENCE_CHANGED", hint=hint)
        gray, _ = scaled_gray(image, opts.max_side_px)
        return np.ascontiguousarray(gray[:, ::-1]) if ref.mirrored else gray

    def _trim(self, cache: OrderedDict[Any, Any]) -> None:
        """Keep the ``2 * affine_cache_size`` most recently used entries of ``cache``."""
        while len(cache) > 2 * self.options.affine_cache_size:
            cache.popitem(last=False)

    def _upright_of(self, i: int) -> int:
        """Index of the upright reference that mirrored reference ``i`` was made from."""
        ref = self.references[i]
        return next(
            j
            for j, r in enumerate(self.references)
            if not r.mirrored
            and (r.landmark_id, r.image, r.background)
            == (ref.landmark_id, ref.image, ref.background)
        )


def reference_image_problems(
    registry: Registry,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    max_pixels: int = 60_000_000,
) -> tuple[str, ...]:
    """List the reference images that ``build_index`` could not use; empty: all decode.

    Each is decoded as ``build_index`` would (safely: header size first). Unusable: not PNG
    or JPEG (an SVG or HTML file named ``.jpg``), truncated, over the pixel or size limit.
    """
    base = Path(os.fspath(base_dir)) if base_dir is not None else Path(registry.path).parent
    problems = []
    for lm in registry.landmarks:
        for i, ref in enumerate(lm.reference_images):
            try:
                read_image(base / ref.path, max_pixels)
            except GeoverifyError as exc:
                problems.append(
                    f"feature {lm.id!r} at /properties/reference_images/{i}/path: "
                    f"{exc.message} [{exc.code}]"
                )
    return tuple(problems)


def build_index(
    registry: Registry,
    *,
    options: MatchOptions | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> MatchIndex:
    """Extract features from every reference image (and its mirror image) of the registry.

    ``base_dir`` is the folder reference paths are relative to (the registry file's folder).
    When the bundled background photographs are added as negative controls, each is first
    screened against the registry's references, and one that shows a reference's scene is left
    out (``MatchIndex.excluded_background``): a control must not show the landmark.
    """
    opts = options or MatchOptions()
    _check_learned_installed(opts)  # the extra is there, before any work
    base = Path(os.fspath(base_dir)) if base_dir is not None else Path(registry.path).parent
    refs = _registry_references(registry, base, opts)
    if not refs:
        msg = "no landmark in the registry has a reference image"
        hint = "Add reference_images to the landmarks to match against."
        raise InputError(msg, code="E_NO_REFERENCES", hint=hint)
    background = _Background()
    if opts.background == "auto" and _fewest_own_controls(refs) < opts.min_controls:
        background = _background_controls(refs, opts)
        refs.extend(background.references)
    upright = [i for i, r in enumerate(refs) if not r.mirrored and len(r.descriptors)]
    matcher = trained_retrieval(
        [refs[i].descriptors for i in upright],
        tuple(f"{refs[i].file_sha256}:{refs[i].background}" for i in upright),
        opts,
    )
    return MatchIndex(
        references=tuple(refs),
        options=opts,
        registry_sha256=registry.sha256,
        base_dir=str(base),
        background=tuple(r.image for r in background.references),
        background_sha256=background.sha256,
        excluded_background=background.excluded,
        upright_references=tuple(upright),
        retrieval_index=matcher,
    )


def _check_learned_installed(opts: MatchOptions) -> None:
    """Refuse learned features or a learned second pass without the extra, before any work."""
    from geoverify.matching import _learned, _models

    if opts.features != "classic":
        _learned.weight_files(opts.features)
    elif opts.second_pass == "learned" and opts.affine != "off":
        why = _models.available(_learned.SECOND_PASS_KIND)
        if why is not None:
            raise MissingDependencyError(why, hint=_models.INSTALL)


def _registry_references(registry: Registry, base: Path, opts: MatchOptions) -> list[Reference]:
    """Features of every reference image of the registry, upright then mirrored, in order."""
    from geoverify.frames._model import perceptual_hash

    refs: list[Reference] = []
    for lm in registry.landmarks:
        for ref in lm.reference_images:
            try:
                image, sha = read_image(base / ref.path, opts.max_pixels)
            except MediaError as exc:  # the registry names a file that is no usable image
                msg = f"landmark {lm.id!r}: reference image {ref.path!r}: {exc.message}"
                raise RegistryError(msg, code="E_REF_IMAGE_INVALID", hint=exc.hint) from None
            gray, _ = scaled_gray(image, opts.max_side_px)
            mirror = np.ascontiguousarray(gray[:, ::-1])
            own = cached_features(gray, opts, kind="plain", keep=True)
            for mirrored, g in ((False, gray), (True, mirror)):
                pts, desc = cached_mirror_features(g, opts, own) if mirrored else own
                refs.append(
                    Reference(
                        landmark_id=lm.id,
                        image=ref.path,
                        mirrored=mirrored,
                        file_sha256=sha,
                        points=pts,
                        descriptors=desc,
                        size=(g.shape[1], g.shape[0]),
                        phash=None if mirrored else perceptual_hash(gray),
                    )
                )
    return refs


def _fewest_own_controls(refs: list[Reference]) -> int:
    """Return the fewest controls any landmark would get from the registry alone."""
    return min(
        sum(1 for r in refs if r.landmark_id != lid) for lid in {r.landmark_id for r in refs}
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Background:
    """The background photographs added as controls, their manifest's SHA-256, those left out."""

    references: tuple[Reference, ...] = ()
    sha256: str | None = None
    excluded: tuple[ExcludedControl, ...] = ()


def _background_controls(refs: list[Reference], opts: MatchOptions) -> _Background:
    """Return the background photographs as controls, less those that show one of ``refs``."""
    extra = background_references(opts)
    excluded = screen_background(refs, extra, opts)
    left_out = {e.file for e in excluded}
    return _Background(
        references=tuple(r for r in extra if r.image not in left_out),
        sha256=background_sha256(),
        excluded=excluded,
    )
