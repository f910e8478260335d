"""The point picker: one offline HTML page on which an analyst marks points in a frame.

``pick_page(image, registry=...)`` renders the page: the frame upright (the EXIF orientation
applied, decoded as ``locate`` reads it), zoomable and pannable; a click adds a point at the
clicked spot in the frame's own full-resolution pixels, whatever the zoom; each point is
given a registry landmark (a list of the landmarks that have a position) or a typed
``lat,lon`` (and optional ``alt_m``, ``sigma_m``); a button saves the POINTS file that
``read_points`` and ``locate`` take. ``write_pick_page`` writes it under the output rule.

Pixels are continuous, origin at the top-left corner of the frame: the pixel in column ``i``
covers ``[i, i + 1)``, so the frame's centre is ``(width / 2, height / 2)``, the principal
point ``locate`` assumes. A point is kept to 0.1 px.

The page is self-contained and makes no request: the frame is a ``data:`` URI, the registry's
text is JSON in a ``<script type="application/json">`` block that the page reads as text
(never as HTML), and its Content-Security-Policy allows only data: images, inline styles and
the one inline script, by its SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geoverify._version import __version__
from geoverify.errors import InputError, MediaError
from geoverify.registry import Registry, load_registry
from geoverify.resection._still import probe_still

if TYPE_CHECKING:
    from jinja2 import Environment
    from markupsafe import Markup

__all__ = ["pick_page", "write_pick_page"]

_JPEG_QUALITY = 92  # the page shows the frame for marking points, not for forensics


def pick_page(
    image: str | os.PathLike[str],
    *,
    registry: Registry | str | os.PathLike[str] | None = None,
) -> str:
    """Render the point picker for ``image`` (a photo, or a frame saved by ``frames``) as HTML.

    Parameters
    ----------
    image
        The photo or frame (JPEG, PNG, HEIC): shown upright, as ``locate`` reads it.
    registry
        A registry (or its file): its landmarks that have a position are offered for each
        point, by name and id. Without one, each point is given as ``lat,lon``.

    Raises
    ------
    InputError
        ``E_PICK_NOT_STILL`` for a video (save a frame first); the input errors of ``probe``.
    MediaError, LimitError
        An image that cannot be decoded, or one above the pixel limit.
    """
    from geoverify.probing import read_photo

    path = Path(os.fspath(image))
    still = probe_still(path, "pick", "E_PICK_NOT_STILL").still
    if still is None:  # probe_still refuses anything but a still image
        msg = f"{path} is no still image"
        raise InputError(msg, code="E_PICK_NOT_STILL")
    pixels, digest = read_photo(path)
    height, width = pixels.shape[:2]
    src = _data_uri(pixels, png=still.format.lower() == "png")  # lossless stays lossless
    reg = load_registry(registry) if isinstance(registry, str | os.PathLike) else registry
    data = {
        "frame": {"name": path.name, "width": width, "height": height, "sha256": digest},
        "csv_name": f"{path.stem}.points.csv",
        "header": ["x_px", "y_px", "landmark", "lat", "lon", "alt_m", "sigma_m"],
        "version": __version__,
        **_landmarks(reg),
    }
    page = _environment().get_template("pick.html.j2")
    return page.render(data=data, src=src, frame=data["frame"], version=__version__)


def write_pick_page(
    image: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    registry: Registry | str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``pick_page(image, registry=...)`` to the file ``out``; return where it went.

    The output rule for a single file: an existing ``out`` is refused without ``overwrite``
    (``OutputError`` ``E_OUTPUT_EXISTS``), and ``out`` is never an input (the image, the
    registry file) nor a link. It is checked before the page is built.
    """
    from geoverify._output import check_output_file, write_output_file

    inputs = [image] + ([registry] if isinstance(registry, str | os.PathLike) else [])
    check_output_file(out, overwrite=overwrite, inputs=inputs)
    html = pick_page(image, registry=registry)
    return write_output_file(out, html.encode("utf-8"), overwrite=overwrite, inputs=inputs)


def _data_uri(pixels: Any, *, png: bool) -> str:
    """Encode the upright BGR frame as a data: URI (PNG for a PNG frame, else JPEG)."""
    from geoverify._images import cv2

    if png:
        ok, buf = cv2.imencode(".png", pixels)
    else:
        ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGR image
        msg = "encoding the frame for the page failed"
        raise MediaError(msg, code="E_ENCODE", hint="Report this as a bug.")
    kind = "png" if png else "jpeg"
    return f"data:image/{kind};base64," + base64.b64encode(bytes(buf)).decode("ascii")


def _landmarks(registry: Registry | None) -> dict[str, Any]:
    """Return the landmarks offered for a point (by name) and how many are left out, why."""
    if registry is None:
        return {"registry": None, "landmarks": [], "no_position": 0, "bad_id": 0}
    offered: list[dict[str, Any]] = []
    no_position = bad_id = 0
    for lm in registry.landmarks:
        anchor = lm.anchor
        if anchor is None:
            no_position += 1
        elif lm.id != lm.id.strip() or "\n" in lm.id or "\r" in lm.id:
            bad_id += 1  # a POINTS file (CSV, stripped fields) cannot carry such an id
        else:
            offered.append({"id": lm.id, "name": lm.name, "lat": anchor.lat, "lon": anchor.lon})
    offered.sort(key=lambda x: (str(x["name"]).casefold(), str(x["id"])))
    return {
        "registry": registry.name,
        "landmarks": offered,
        "no_position": no_position,
        "bad_id": bad_id,
    }


def _csp_hash(script: object) -> Markup:
    """Return the CSP source allowing exactly this inline script: ``'sha256-<base64>'``."""
    from markupsafe import Markup

    digest = base64.b64encode(hashlib.sha256(str(script).encode("utf-8")).digest())
    return Markup("'sha256-" + digest.decode("ascii") + "'")  # base64 only


def _environment() -> Environment:
    # autoescape on for every template (".j2" escapes select_autoescape); the page's data goes
    # in as JSON through the `tojson` filter, which escapes <, >, & and ' for a script block
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("geoverify", "templates"), autoescape=True, undefined=StrictUndefined
    )
    env.filters["csp_hash"] = _csp_hash
    return env
