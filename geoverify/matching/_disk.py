"""Features kept on disk between runs: the cache folder and its array files.

What is slow to compute and depends only on an image's pixels and a few options is kept in
``$GEOVERIFY_CACHE_DIR``, else ``$XDG_CACHE_HOME/geoverify``, else ``~/.cache/geoverify``:
the background photographs' plain and learned features, and the affine-simulated (ASIFT)
features of every reference image (about 1 s a photograph at 960 px on two cores, so a
frame that needs the affine pass and its negative controls would otherwise pay about half a
minute in every new process). A file is named by a SHA-256 of everything its content depends
on, so a changed image, option or library version is never served another's features. A file
that cannot be read, or holds arrays of the wrong shape, is computed again and replaced; one
that cannot be written costs time next run, nothing else. Nothing here is ever trusted
half-read: ``np.load`` without pickles, shapes checked by the caller's ``check``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from geoverify.errors import GeoverifyError

Arrays = dict[str, npt.NDArray[Any]]


def cache_dir() -> Path:
    """Return the folder of geoverify's cache files (which need not exist yet)."""
    env = os.environ.get("GEOVERIFY_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "geoverify"


def cache_name(prefix: str, what: object) -> Path:
    """Return the cache file for ``what`` (JSON-able: everything the content depends on)."""
    text = json.dumps(what, sort_keys=True, default=str)
    return cache_dir() / f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:32]}.npz"


def load_arrays(path: Path, check: Callable[[Arrays], bool]) -> Arrays | None:
    """Return the arrays of ``path`` if it reads and ``check`` accepts them, else ``None``."""
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except Exception:  # any damage (zip, zlib, a member not an array) is a miss
        return None
    if not all(isinstance(a, np.ndarray) for a in arrays.values()):
        return None  # a zip member without numpy's header comes back as bytes
    try:
        return arrays if check(arrays) else None
    except Exception:  # a check that cannot even look at the arrays: a miss
        return None


def save_arrays(path: Path, arrays: Arrays) -> None:
    """Write ``arrays`` to ``path`` atomically; a cache that cannot be written is skipped."""
    from geoverify._io import write_atomic

    buf = io.BytesIO()
    payload: dict[str, Any] = dict(arrays)
    np.savez(buf, **payload)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, buf.getvalue())
    except (OSError, GeoverifyError):
        pass


def cached_arrays(
    path: Path, check: Callable[[Arrays], bool], compute: Callable[[], Arrays]
) -> Arrays:
    """Return the arrays cached at ``path``, else ``compute()``'s, written there for next time."""
    found = load_arrays(path, check)
    if found is not None:
        return found
    arrays = compute()
    save_arrays(path, arrays)
    return arrays


def pack_descriptors(desc: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Return ``desc`` as stored: SIFT's float descriptors hold whole numbers 0-255, as bytes.

    Lossless: descriptors that are not all whole numbers in 0-255 are kept as they are.
    """
    if desc.dtype == np.float32 and desc.size and desc.min() >= 0 and desc.max() <= 255:
        packed = desc.astype(np.uint8)
        if np.array_equal(packed.astype(np.float32), desc):
            return packed
    return desc


def unpack_descriptors(stored: npt.NDArray[Any], dtype: str) -> npt.NDArray[Any]:
    """Return the descriptors ``pack_descriptors`` stored, in their computed ``dtype`` again."""
    return np.ascontiguousarray(stored.astype(np.dtype(dtype), copy=False))
