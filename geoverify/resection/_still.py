"""The photo or frame points are marked on: probed, and refused with a photo's words if not one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from geoverify.errors import GeoverifyError, InputError

if TYPE_CHECKING:
    from geoverify.probing import MediaInfo

__all__ = ["probe_still"]

# probe's refusals that speak of a video; a command that wants a still image says it its way
_NOT_A_VIDEO = {"E_INPUT_IS_IMAGE", "E_INPUT_NOT_MEDIA"}
_STILL_HINT = "Give a JPEG, PNG or HEIC photo, or a frame saved by `geoverify frames`."


def probe_still(image: str | os.PathLike[str], command: str, code: str) -> MediaInfo:
    """Probe ``image``, one still image (``code`` refuses a video); its ``still`` is set.

    A file probe cannot read (noise named ``.png``, a CSV) is refused with probe's code and a
    hint that asks for a photo, not a video.
    """
    from geoverify.probing import probe

    try:
        info = probe(Path(image))
    except GeoverifyError as exc:
        if exc.code not in _NOT_A_VIDEO:
            raise
        msg = f"{os.fspath(image)!r} is no photo geoverify can read ({exc.message})"
        raise type(exc)(msg, code=exc.code, hint=_STILL_HINT, detail=exc.detail) from None
    if info.still is None:
        msg = f"{os.fspath(image)!r} is a video: {command} works on one frame"
        hint = "Save the frame with `geoverify frames VIDEO --out DIR` and give its PNG."
        raise InputError(msg, code=code, hint=hint)
    return info
