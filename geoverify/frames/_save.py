"""Writing selected frames: images, frames.json and a contact sheet (see ``geoverify.frames``)."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import html
import json
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from geoverify._io import output_error, write_atomic
from geoverify._output import make_staging_dir, staged_dir, write_manifest
from geoverify._signals import deferred
from geoverify.errors import MediaError
from geoverify.frames._model import FRAMES_SCHEMA, Frame, FrameSelection, Image
from geoverify.models import to_jsonable

# --- writing -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SavedFrame:
    """Where a frame was written and the SHA-256 of the file."""

    file: str
    sha256: str
    t_s: float
    frame_number: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SavedFrames:
    """What ``save_frames`` wrote: the frames, the manifest and the contact sheet."""

    out_dir: str
    frames: tuple[SavedFrame, ...]
    manifest: str
    contact_sheet_png: str
    contact_sheet_html: str


# PNG: zlib level 1 with run-length matching (OpenCV's defaults) and the "up" row filter in
# place of OpenCV's default "sub": on video frames 3-12 % faster to encode and 11-25 % smaller
# (bench/README.md, keyframes). Lossless either way: only the bytes differ, never the pixels.
_PNG_PARAMS = (
    [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]
    if hasattr(cv2, "IMWRITE_PNG_FILTER")
    else []
)


def _encode(image: Image, image_format: Literal["png", "jpeg"], jpeg_quality: int) -> bytes:
    if image_format == "png":
        ok, buf = cv2.imencode(".png", image, _PNG_PARAMS)
    else:
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGR image
        msg = "image encoding failed"
        raise MediaError(msg, code="E_ENCODE", hint="Report this as a bug.")
    return bytes(buf)


def contact_sheet(frames: Sequence[Frame], *, columns: int = 5, thumb_width: int = 320) -> Image:
    """One BGR image of thumbnails in a grid, each labelled with its time and frame number."""
    if not frames:
        return np.full((60, thumb_width, 3), 255, np.uint8)
    label_h = 22
    thumbs = []
    for f in frames:
        h, w = f.image_bgr.shape[:2]
        th = max(1, round(h * thumb_width / w))
        thumb = cv2.resize(f.image_bgr, (thumb_width, th), interpolation=cv2.INTER_AREA)
        thumbs.append((f, thumb))
    cell_h = max(t.shape[0] for _, t in thumbs) + label_h
    rows = math.ceil(len(thumbs) / columns)
    sheet = np.full((rows * cell_h, min(columns, len(thumbs)) * thumb_width, 3), 255, np.uint8)
    for i, (f, thumb) in enumerate(thumbs):
        r, c = divmod(i, columns)
        y, x = r * cell_h, c * thumb_width
        sheet[y : y + thumb.shape[0], x : x + thumb_width] = thumb
        label = f"{f.t_s:.3f}s  #{f.frame_number}  {'/'.join(f.strategies)}"
        cv2.putText(
            sheet,
            label,
            (x + 4, y + cell_h - 6),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.42,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    return sheet


def _file_name(frame: Frame, ext: str, taken: set[str]) -> str:
    name = f"f_{frame.t_s:010.3f}s.{ext}"
    if name in taken:
        name = f"f_{frame.t_s:010.3f}s_n{frame.frame_number:07d}.{ext}"
    taken.add(name)
    return name


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Prepared:
    staged: Path
    sha256: str
    width: int
    height: int
    thumb: Image


class FrameWriter:
    """Encodes and stages frames on two threads as they arrive, keeping only thumbnails.

    Pass it as ``select_frames(on_frame=writer, keep_pixels=False)``, then give
    ``writer.result()`` to ``save_frames(prepared=...)``: saving overlaps decoding and memory
    stays bounded whatever the video's length. Files are staged in a hidden folder beside
    ``out_dir`` (``.NAME.PID.*.part``; inside it when the folder above cannot be written) and
    moved into place by ``save_frames`` (or removed by ``discard``).
    """

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        image_format: Literal["png", "jpeg"] = "png",
        jpeg_quality: int = 95,
    ) -> None:
        self.out = Path(os.path.abspath(os.fspath(out_dir)))
        self.staging: Path | None = None  # made at the first frame: a failed run leaves nothing
        self.image_format: Literal["png", "jpeg"] = image_format
        self.jpeg_quality = jpeg_quality
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        self._jobs: dict[int, concurrent.futures.Future[_Prepared]] = {}

    def _prepare(self, frame: Frame, staging: Path) -> _Prepared:
        data = _encode(frame.image_bgr, self.image_format, self.jpeg_quality)
        staged = staging / f"{frame.frame_number:09d}"
        try:
            staged.write_bytes(data)
        except OSError as exc:
            staged.unlink(missing_ok=True)
            raise output_error(exc, staged) from None
        h, w = frame.image_bgr.shape[:2]
        thumb = cv2.resize(frame.image_bgr, (320, max(1, round(h * 320 / w))))
        return _Prepared(
            staged=staged,
            sha256=hashlib.sha256(data).hexdigest(),
            width=w,
            height=h,
            thumb=np.asarray(thumb, dtype=np.uint8),
        )

    def __call__(self, frame: Frame) -> None:
        """Start encoding and staging ``frame`` on a worker thread."""
        if self.staging is None:
            with deferred():  # the folder is known to ``discard`` before a signal can land
                self.staging = make_staging_dir(self.out)
        self._jobs[frame.frame_number] = self._pool.submit(self._prepare, frame, self.staging)

    def result(self) -> dict[int, _Prepared]:
        """Wait for every job; return what was staged, by frame number."""
        try:
            return {n: job.result() for n, job in self._jobs.items()}
        finally:
            self._pool.shutdown()

    def discard(self) -> None:
        """Remove what is left staged (everything, after a failure)."""
        self._pool.shutdown(cancel_futures=True)
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)


def save_frames(
    selection: FrameSelection,
    out_dir: str | os.PathLike[str],
    *,
    image_format: Literal["png", "jpeg"] = "png",
    jpeg_quality: int = 95,
    prepared: Mapping[int, _Prepared] | None = None,
    cameras: Mapping[int, Mapping[str, Any]] | None = None,
    overwrite: bool = False,
) -> SavedFrames:
    """Write the frames, ``frames.json``, a contact sheet (PNG and HTML) and ``manifest.json``.

    The folder is built under a temporary name beside ``out_dir`` and moved into place when
    complete, under the output rule (``geoverify._io``): a folder of an earlier geoverify run
    is replaced whole (no frame of it is left), a folder holding other files is refused unless
    ``overwrite`` (which keeps them), and one that is or holds the video is refused.
    ``prepared`` holds frames a ``FrameWriter`` already encoded and staged (their pixels need
    not be kept in the selection). ``cameras`` (frame number to a camera position,
    ``geoverify.probing._track.frame_cameras``) adds a ``camera`` entry to each frame:
    ``null`` where the track has no position for it.
    """
    inputs = [selection.source_path] if selection.source_path else []
    fixed = ("frames.json", "contact_sheet.png", "contact_sheet.html", "manifest.json")
    with staged_dir(out_dir, overwrite=overwrite, inputs=inputs, will_write=fixed) as stage:
        saved = _write_frames(
            selection,
            stage,
            image_format=image_format,
            jpeg_quality=jpeg_quality,
            prepared=prepared,
            cameras=cameras,
        )
        write_manifest(stage, extra={"written_by": "geoverify frames"})
    out = Path(os.fspath(out_dir))
    return SavedFrames(
        out_dir=str(out),
        frames=saved,
        manifest=str(out / "frames.json"),
        contact_sheet_png=str(out / "contact_sheet.png"),
        contact_sheet_html=str(out / "contact_sheet.html"),
    )


def _write_frames(
    selection: FrameSelection,
    out: Path,
    *,
    image_format: Literal["png", "jpeg"],
    jpeg_quality: int,
    prepared: Mapping[int, _Prepared] | None,
    cameras: Mapping[int, Mapping[str, Any]] | None,
) -> tuple[SavedFrame, ...]:
    """Write the frames, the contact sheet and ``frames.json`` (last) into a new folder."""
    manifest_path = out / "frames.json"
    ext = "png" if image_format == "png" else "jpg"
    taken: set[str] = set()
    saved: list[SavedFrame] = []
    entries: list[dict[str, Any]] = []
    # Encoding is the slow part; OpenCV releases the GIL, so two threads use both cores.
    ready = dict(prepared or {})
    todo = [f for f in selection.frames if f.frame_number not in ready]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        encoded = list(pool.map(lambda f: _encode(f.image_bgr, image_format, jpeg_quality), todo))
    blobs = {f.frame_number: data for f, data in zip(todo, encoded, strict=True)}
    sheet_frames = []
    for f in selection.frames:
        name = _file_name(f, ext, taken)
        done = ready.get(f.frame_number)
        if done is not None:
            try:
                os.replace(
                    done.staged, out / name
                )  # staged beside the output: the same file system
            except OSError as exc:
                raise output_error(exc, out / name) from None
            digest, width, height = done.sha256, done.width, done.height
            sheet_frames.append(dataclasses.replace(f, image_bgr=done.thumb))
        else:
            data = blobs[f.frame_number]
            write_atomic(out / name, data)
            digest = hashlib.sha256(data).hexdigest()
            height, width = f.image_bgr.shape[:2]
            sheet_frames.append(f)
        saved.append(SavedFrame(file=name, sha256=digest, t_s=f.t_s, frame_number=f.frame_number))
        entry = to_jsonable(f)
        entry.update(
            file=name,
            sha256=digest,
            pts_time_s=float(f.pts * f.time_base),
            width=width,
            height=height,
        )
        if cameras is not None:
            entry["camera"] = dict(cameras[f.frame_number]) if f.frame_number in cameras else None
        entries.append(entry)
    sheet_png = "contact_sheet.png"
    write_atomic(out / sheet_png, _encode(contact_sheet(sheet_frames), "png", 0))
    sheet_html = "contact_sheet.html"
    write_atomic(out / sheet_html, _sheet_html(selection, saved).encode("utf-8"))
    manifest = {
        "schema": FRAMES_SCHEMA,
        "source": {"path": selection.source_path, "sha256": selection.source_sha256},
        "options": to_jsonable(selection.options),
        "rotation_deg_applied": selection.rotation_deg,
        "frames_expected": selection.frames_expected,
        "frames_decoded": selection.frames_decoded,
        "frames_screened": selection.frames_screened,
        "uncovered_ranges_s": [list(r) for r in selection.uncovered_ranges_s],
        "decode_error": selection.decode_error,
        "notes": to_jsonable(selection.notes),
        "shots": to_jsonable(selection.shots),
        "frames": entries,
        "contact_sheet": {"png": sheet_png, "html": sheet_html},
    }
    text = json.dumps(manifest, ensure_ascii=False, allow_nan=False, indent=2)
    write_atomic(manifest_path, text.encode("utf-8"), durable=True)
    return tuple(saved)


def _sheet_html(selection: FrameSelection, saved: Sequence[SavedFrame]) -> str:
    esc = html.escape
    cells = []
    for f, s in zip(selection.frames, saved, strict=True):
        cells.append(
            f'<figure><img src="{esc(s.file)}" alt="frame {f.frame_number}" loading="lazy">'
            f"<figcaption>{f.t_s:.3f} s · frame {f.frame_number} · "
            f"{esc(', '.join(f.strategies))}<br><code>{esc(s.sha256[:16])}</code></figcaption>"
            "</figure>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src 'self'; style-src 'unsafe-inline'\">"
        f"<title>Frames of {esc(selection.source_path)}</title>"
        "<style>body{font-family:sans-serif;margin:1em}figure{display:inline-block;"
        "margin:4px;width:320px}img{width:100%}figcaption{font-size:12px}</style></head><body>"
        f"<h1>Frames of {esc(selection.source_path)}</h1>"
        f"<p>SHA-256 {esc(selection.source_sha256)} · {len(saved)} frames · "
        f"{selection.frames_decoded} of {selection.frames_expected} decoded"
        f"{f', {selection.frames_screened} screened' if selection.frames_screened else ''}</p>"
        + "".join(cells)
        + "</body></html>\n"
    )
