"""Reading back a ``save_frames`` folder: the frames its ``frames.json`` lists.

Input: a folder written by ``geoverify frames`` (``save_frames``). Output: its frames, each
image decoded safely (size from the header first) and checked against the SHA-256 that
``frames.json`` records for it. The folder is untrusted: a manifest naming a file outside it,
a symbolic link, an image that changed, or a time base that is not a bounded ratio of whole
numbers is refused with ``E_FRAMES_MANIFEST_INVALID``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from geoverify._images import Image, read_image
from geoverify._io import read_regular_file
from geoverify.errors import GeoverifyError, InputError
from geoverify.frames._model import Frame

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
            frames.append(_frame(base, e, i, max_pixels, bad))
        except GeoverifyError:
            raise
        except (KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            why = f"frame {i}: {type(exc).__name__} {str(exc)[:80]}"
            raise bad(why) from None
    return frames


def _frame(base: Path, e: Any, i: int, max_pixels: int, bad: Callable[[str], InputError]) -> Frame:
    """Return manifest entry ``i`` as a ``Frame`` (its image decoded and checked)."""
    time_base = _time_base(e["time_base"])
    if time_base is None:
        why = f"frame {i}: time_base {str(e['time_base'])[:40]!r} is not like '1/30000'"
        raise bad(why)
    image = _frame_image(base, e, i, max_pixels, bad)
    return Frame(
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
