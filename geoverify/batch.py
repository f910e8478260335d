"""Stage 8, batch: a folder, a glob or a Telegram Desktop export, verified item by item.

Input: files, folders (searched recursively for videos), globs, and Telegram Desktop JSON
exports (a folder holding ``result.json``, or that file). Output, in ``out``: one report folder
per distinct file under ``items/`` (keyed by content), ``summary.json`` (schema
``geoverify/schemas/batch.schema.json``), ``summary.csv`` and ``index.html``.

- **Keys.** An item's key is the SHA-256 of its bytes and a hash of what its result depends on
  (geoverify's version, the options, the registry's and the claims' SHA-256). A finished key
  (``items/KEY/row.json``) is not done again: an interrupted batch resumes where it stopped,
  and a changed option re-does everything it changes. A file present twice (same bytes under
  other names, or in several posts) is verified once and linked to every post.
- **Posts.** A Telegram message gives the item its post context (channel, message id, text,
  time in UTC from ``date_unixtime`` — never the exporting computer's local ``date`` — and
  forwarded-from); the earliest post time is an upper bound on when it was filmed, and the
  bottom line's time line uses it ("filmed before posted").
- **Near-duplicates** (re-encoded re-uploads) are linked afterwards by perceptual hashes, with
  the Hamming distance in bits, never merged: those of the frames each report chose, and those
  of eight frames at the same fractions of each video's duration (a re-upload at another frame
  rate or size has the same pictures there, whatever frames its report chose).
- **Failures** are isolated: a bad file (missing, a folder, a FIFO or a device, a link loop, a
  link that leaves its input folder, a malformed export message) is that item's row with an
  error code; the batch goes on and ends with exit code 5 when any item failed or is missing.
  When none of the inputs exists at all, nothing is written (``E_INPUT_MISSING``, exit 3).
- **Output.** ``out`` follows the output rule (``geoverify._output``): new, empty, or geoverify's
  (every file listed by a ``manifest.json``: the batch's own at the top, written first so an
  interrupted batch's folder is known as ours, and again last listing every file; each item's
  in ``items/KEY``). ``overwrite`` keeps files geoverify did not write and writes beside them,
  never over them. An ``out`` that is, holds or lies inside an input (a file, a folder, an
  export, the registry and its images, the claims) is refused, as is a symbolic link anywhere
  in it. A run holds a lock on the folder for its whole length: a second batch into the same
  ``out`` is refused (``E_OUTPUT_BUSY``) instead of mixing its rows with the first's.
- **summary.csv** is safe to open in a spreadsheet: a cell that starts with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return is prefixed with ``'`` (OWASP's rule against CSV
  formula injection: a channel name or a file name is text, never a formula).
- **Engines.** A process pool (``spawn``; one task per file; a dead worker is a failed row; on
  Linux the workers die with the batch, even when it is killed with SIGKILL) or, with
  ``scheduler``, a Dask distributed cluster (``pip install 'geoverify[dask]'``) running the
  same task function. Workers write each item's report into ``out`` themselves and send back
  only its row: a cluster needs ``out``, the inputs, the registry and the claims on a disk every
  worker sees at the same paths.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import dataclasses
import errno
import glob
import hashlib
import io
import json
import logging
import multiprocessing
import os
import signal
import stat
import sys
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geoverify._choices import DEFAULT_AFFINE, DEFAULT_FEATURES, AffineMode, FeatureSet
from geoverify._io import (
    hash_regular_file,
    limit_error,
    output_error,
    read_regular_file,
    write_atomic,
)
from geoverify._output import (
    MANIFEST,
    OUTPUT_SCHEMA,
    OutputFolder,
    check_output_dir,
    is_geoverify_output,
    remove_stale_temporaries,
    survey_output_dir,
)
from geoverify._version import __version__
from geoverify.errors import GeoverifyError, InputError, MissingDependencyError, OutputError
from geoverify.models import LatLon, to_jsonable

if TYPE_CHECKING:
    from geoverify.frames import FrameOptions

__all__ = [
    "BATCH_SCHEMA_VERSION",
    "BatchItem",
    "BatchResult",
    "BatchRow",
    "Post",
    "collect_inputs",
    "verify_batch",
]

_log = logging.getLogger(__name__)

BATCH_SCHEMA_VERSION = "1.0"
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".3gp", ".ts", ".mts", ".mpg", ".mpeg"}
)
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".heic", ".heif"})
_NOT_INCLUDED = "(File not included."
_MAX_EXPORT_BYTES = 512 * 2**20
_NEAR_DUPLICATE_BITS = 10  # of 64: frames this close are the same picture re-encoded
_NO_SIZE_LIMIT = 1 << 62  # videos have no size limit: they are hashed in chunks


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Post:
    """Where an item was posted: a Telegram message, as the export states it."""

    channel: str
    message_id: int
    text: str
    posted_utc: datetime | None
    forwarded_from: str | None
    media_type: str | None
    location: LatLon | None = None
    place_name: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BatchItem:
    """One input: a file (or one that an export names but does not hold) and its posts.

    ``missing_reason`` says why there is no file; ``error_code``, ``error_message`` and
    ``error_hint`` why the file is refused without being read (a link that leaves its folder,
    a malformed export message). Either way the item is a row, never verified.
    """

    path: str
    posts: tuple[Post, ...] = ()
    missing_reason: str = ""
    skip_reason: str = ""
    error_code: str = ""
    error_message: str = ""
    error_hint: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BatchRow:
    """The result of one distinct file: its bottom line, matches, posts and links."""

    key: str
    file_sha256: str
    paths: tuple[str, ...]
    status: str  # done, failed, missing, skipped
    verdict: str | None
    rule: str | None
    landmarks_matched: tuple[str, ...]
    error_code: str | None
    error_message: str | None
    report_dir: str | None
    posts: tuple[Post, ...]
    duplicates: tuple[str, ...] = ()  # other paths with the same bytes
    near_duplicates: tuple[tuple[str, int], ...] = ()  # (key, Hamming distance in bits)
    frame_phashes: tuple[str, ...] = ()
    thumbnail: str = ""  # a small JPEG data URI of the first frame (index.html)
    # perceptual hashes at 0, 1/8, ... 7/8 of the duration ("" for a flat frame): for linking
    # near-duplicates, kept in items/KEY/row.json, not in summary.json
    fingerprint: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BatchResult:
    """Every row, what the run did, and where it wrote."""

    schema_version: str
    created_utc: datetime
    out_dir: str
    rows: tuple[BatchRow, ...]
    done: int
    reused: int
    failed: int
    missing: int
    skipped: int
    engine: str
    registry_sha256: str
    claims_sha256: str

    @property
    def any_failed(self) -> bool:
        """Whether any item failed or is missing (the CLI then exits 5)."""
        return self.failed > 0 or self.missing > 0


# --- inputs --------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """Join a Telegram text: a string, or a list of strings and ``{type, text}`` entities."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(
            v if isinstance(v, str) else str(v.get("text", "")) if isinstance(v, dict) else ""
            for v in value
        )
    return ""


def _unix(value: Any) -> datetime | None:
    try:
        seconds = int(str(value))
    except (TypeError, ValueError):
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _export_error(message: str, reason: str, hint: str) -> GeoverifyError:
    return InputError(message, code="E_EXPORT_INVALID", hint=hint)


def _real(path: str | os.PathLike[str]) -> Path:
    """Resolve every link in ``path`` (a link loop is left as it is, not raised)."""
    return Path(os.path.realpath(os.path.abspath(os.fspath(path))))


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _location(m: Mapping[str, Any]) -> tuple[LatLon | None, str]:
    """Read ``location_information``: (position, "") or (None, what is wrong with it)."""
    loc = m.get("location_information")
    if loc is None:
        return None, ""
    try:
        lat, lon = float(loc["latitude"]), float(loc["longitude"])
        return LatLon(lat, lon), ""
    except (KeyError, TypeError, ValueError, OverflowError, GeoverifyError) as exc:
        reason = exc.message if isinstance(exc, GeoverifyError) else type(exc).__name__
        return None, f"its location_information is not a latitude and longitude ({reason})"


def _message_file(base: Path, rel: str, post: Post, problem: str) -> BatchItem:
    """Make the item of one message's file: the file, or why it cannot be read (a row)."""
    where = f"message {post.message_id} of {post.channel!r}"
    hint = "Fix or remove the message in result.json, or export the chat again."
    if problem:
        return BatchItem(
            path=rel, posts=(post,), error_code="E_EXPORT_INVALID",
            error_message=f"{where}: {problem}", error_hint=hint,
        )  # fmt: skip
    if rel.startswith(_NOT_INCLUDED):
        return BatchItem(path="", posts=(post,), missing_reason="not included in the export")
    if "\0" in rel:
        return BatchItem(
            path=rel.replace("\0", "\\0"), posts=(post,), error_code="E_EXPORT_INVALID",
            error_message=f"{where} names a file with a NUL character", error_hint=hint,
        )  # fmt: skip
    joined = base / rel
    if not _within(_real(joined), _real(base)):
        return BatchItem(
            path=rel, posts=(post,), error_code="E_INPUT_OUTSIDE",
            error_message=f"{where} names {rel!r}, which lies outside the export folder",
            error_hint="geoverify reads only files inside the export folder.",
        )  # fmt: skip
    return BatchItem(path=str(_real(joined)), posts=(post,))


def _post(chat_name: str, m: Mapping[str, Any], location: LatLon | None) -> Post:
    return Post(
        channel=chat_name,
        message_id=int(m["id"]) if isinstance(m.get("id"), int) else -1,
        text=_text(m.get("text"))[:4000],
        posted_utc=_unix(m.get("date_unixtime")),
        forwarded_from=str(m["forwarded_from"]) if m.get("forwarded_from") else None,
        media_type=str(m.get("media_type") or ("photo" if m.get("photo") else "")),
        location=location,
        place_name=str(m["place_name"]) if m.get("place_name") else None,
    )


def _export_chats(result: Path) -> list[dict[str, Any]]:
    raw = read_regular_file(
        result, max_bytes=_MAX_EXPORT_BYTES, what="Telegram export", error=_export_error
    )
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        msg = f"{str(result)!r} is not a Telegram JSON export: {str(exc)[:120]}"
        raise InputError(
            msg, code="E_EXPORT_INVALID", hint="Export as JSON from Telegram Desktop."
        ) from None
    if isinstance(doc, dict) and isinstance(doc.get("messages"), list):
        return [doc]
    if (
        isinstance(doc, dict)
        and isinstance(doc.get("chats"), dict)
        and isinstance(doc["chats"].get("list"), list)
    ):
        return [c for c in doc["chats"]["list"] if isinstance(c, dict)]
    msg = f"{str(result)!r} holds neither messages nor chats.list"
    raise InputError(msg, code="E_EXPORT_INVALID", hint="Export as JSON from Telegram Desktop.")


def read_telegram_export(path: str | os.PathLike[str]) -> list[BatchItem]:
    """Read a Telegram Desktop JSON export: one item per message with a video (or photo).

    ``path`` is the export folder or its ``result.json``. Service messages are skipped; a file
    the export did not include is an item with ``missing_reason``. Times come from
    ``date_unixtime`` (UTC); ``date`` (the exporting computer's local time) is not used. A
    message whose file cannot be used (a NUL in its name, a path or a link that leaves the
    export folder) or whose location is malformed is an item with ``error_code``: one bad
    message never stops the others.

    Raises
    ------
    InputError
        ``E_EXPORT_INVALID``: ``result.json`` is missing, not a regular file, too large, or not
        a Telegram JSON export.
    """
    p = Path(os.fspath(path))
    result = p / "result.json" if p.is_dir() else p
    chats = _export_chats(result)
    base = result.parent
    items = []
    for chat in chats:
        channel = str(chat.get("name") or chat.get("id") or "")
        messages = chat.get("messages")
        for m in messages if isinstance(messages, list) else []:
            if not isinstance(m, dict) or m.get("type") != "message":
                continue
            rel = m.get("file") if m.get("media_type") else m.get("photo")
            if not isinstance(rel, str) or not rel:
                continue
            location, problem = _location(m)
            items.append(_message_file(base, rel, _post(channel, m, location), problem))
    return items


def _is_export(p: Path) -> bool:
    return (p.is_dir() and (p / "result.json").is_file()) or p.name == "result.json"


def _folder_items(folder: Path, out: Path | None = None) -> list[BatchItem]:
    """List the videos and photos below ``folder``; a link that leaves it is refused.

    Anything with a media suffix that is not a folder is an item (a FIFO or a device too: it
    is refused as that item's row when it is read, so it can neither hang nor hide). The
    batch's own ``out`` and any folder geoverify wrote (a report, frames) are not looked in:
    their frames are not footage.
    """
    root = _real(folder)
    items = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if (here / d).is_symlink()
            or not (_real(here / d) == out or is_geoverify_output(here / d))
        )
        linked_dirs = [d for d in dirnames if (here / d).is_symlink()]
        for name in sorted([*filenames, *linked_dirs]):
            path = here / name
            if path.suffix.lower() not in VIDEO_SUFFIXES | PHOTO_SUFFIXES:
                continue
            if path.is_symlink() and not _within(_real(path), root):
                items.append(
                    BatchItem(
                        path=str(path), error_code="E_INPUT_OUTSIDE",
                        error_message=f"{str(path)!r} is a symbolic link to a file outside "
                        f"the input folder {str(folder)!r}: not followed",
                        error_hint="Give the file itself as an input, or copy it into the "
                        "folder.",
                    )
                )  # fmt: skip
                continue
            items.append(BatchItem(path=str(path)))
    return sorted(items, key=lambda i: i.path)


def _expand(text: str, out: Path | None = None) -> list[BatchItem]:
    """List the items of one input: a file, a folder, a glob or a Telegram export."""
    if "\0" in text:
        return [BatchItem(path=text.replace("\0", "\\0"), missing_reason="no such file")]
    p = Path(text)
    if _is_export(p):
        try:
            return read_telegram_export(p)
        except GeoverifyError as exc:  # a broken export is its own row; the others go on
            return [
                BatchItem(
                    path=text, error_code=exc.code, error_message=exc.message, error_hint=exc.hint
                )
            ]
    if p.is_dir():
        return _folder_items(p, out)
    if os.path.lexists(p):  # a file, or a FIFO, a device, a broken link: refused when read
        return [BatchItem(path=text)]
    if any(ch in text for ch in "*?["):
        matched = sorted(glob.glob(text, recursive=True))
        if not matched:
            return [BatchItem(path=text, missing_reason="the glob matches no file")]
        return [BatchItem(path=m) for m in matched if not Path(m).is_dir()]
    return [BatchItem(path=text, missing_reason="no such file")]


def collect_inputs(
    inputs: Sequence[str | os.PathLike[str]], *, out: str | os.PathLike[str] | None = None
) -> list[BatchItem]:
    """Expand the inputs: files, folders (recursive, videos and photos), globs, Telegram exports.

    Nothing is opened but ``result.json``: an input that cannot be used is an item with
    ``missing_reason`` or ``error_code``, so that every input ends in a row. A folder's walk
    skips ``out`` (a batch's output inside its input folder) and every folder geoverify wrote.
    """
    skip = _real(Path(os.fspath(out))) if out is not None else None
    items: list[BatchItem] = []
    for raw in inputs:
        items += _expand(os.fspath(raw), skip)
    return items


def _read_paths(
    inputs: Sequence[str | os.PathLike[str]],
    items: Sequence[BatchItem],
    registry: Any,
    claims: str | os.PathLike[str] | None,
) -> list[str]:
    """Every path the batch reads, for the output rule: ``out`` may not be, hold or lie in one.

    The input files as given, the files found (an ``out`` may lie inside an input folder: the
    folder's walk skips it), the registry, its images and the claims.
    """
    from geoverify.pipeline import input_paths

    paths = []
    for raw in inputs:
        text = os.fspath(raw)
        if "\0" in text or not os.path.lexists(text):
            continue
        if not Path(text).is_dir():  # a folder's walk skips out: out may lie inside it
            paths.append(text)
    paths += [i.path for i in items if i.path and not (i.error_code or i.missing_reason)]
    paths += input_paths(registry.path, registry, claims)  # its path, images, claims
    return [p for p in paths if p]


# --- one item (runs in a worker process) ----------------------------------------------------

# A pool worker's parent (``_init_worker``): the batch. 0 in the batch itself and on Dask.
_PARENT = {"pid": 0}
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _init_worker(parent_pid: int) -> None:
    """Make a pool worker die with the batch, even one killed with SIGKILL.

    On Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` has the kernel kill the worker when the
    process that started it ends (it is started by the batch's thread that calls
    ``verify_batch``); ``run_item`` also checks, before each item, that its parent is still the
    batch. Without this a killed batch's workers went on writing rows into ``out`` for as long
    as their queue lasted. Elsewhere the check before each item is what remains.
    """
    _PARENT["pid"] = parent_pid
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    _exit_if_orphaned()


def _exit_if_orphaned() -> None:
    """End a pool worker whose batch has gone (its parent is no longer the batch)."""
    if _PARENT["pid"] and os.getppid() != _PARENT["pid"]:
        os._exit(1)


def _hash_error(message: str, reason: str, hint: str) -> GeoverifyError:
    code = {"missing": "E_INPUT_MISSING", "not_regular": "E_INPUT_NOT_REGULAR"}.get(
        reason, "E_INPUT_UNREADABLE"
    )
    return InputError(message, code=code, hint=hint)


def _sha256(path: str) -> str:
    """SHA-256 of a regular file; a FIFO, a device or a folder is refused before a byte is read.

    Raises
    ------
    InputError
        ``E_INPUT_MISSING`` (no such file), ``E_INPUT_UNREADABLE`` (a link loop, no permission),
        ``E_INPUT_NOT_REGULAR`` (a folder, FIFO, device or socket).
    """
    try:
        return hash_regular_file(path, max_bytes=_NO_SIZE_LIMIT, what="input", error=_hash_error)
    except InputError as exc:
        if exc.code == "E_INPUT_MISSING" and os.path.lexists(path):  # there, but not readable
            exc.code = "E_INPUT_UNREADABLE"
        raise


def _check_items_folder(out_root: Path) -> Path:
    """Return ``out/items``, made if need be and checked right before an item is saved into it.

    ``out`` and ``items`` must be real folders, not symbolic links: a link planted after the
    batch's first check would send the item's report somewhere else. (``items`` is made only
    when an item is saved: an empty folder would be a folder of the user's to the next run.)
    """
    items = out_root / "items"
    for folder in (out_root, items):
        try:
            if folder == items:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(items)
            st = os.lstat(folder)
        except OSError as exc:
            raise output_error(exc, folder) from None
        if not stat.S_ISDIR(st.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a folder"
            msg = f"{str(folder)!r} is {kind}"
            raise OutputError(
                msg,
                code="E_OUTPUT_SYMLINK" if stat.S_ISLNK(st.st_mode) else "E_OUTPUT_PATH",
                hint="Something changed the output folder during the batch: remove the link "
                "and run the batch again (finished items are kept).",
            )
    return items


def _save_row(folder: Path, row: Mapping[str, Any]) -> None:
    """Write ``row.json`` beside the item's report, listed by the item's ``manifest.json``.

    The manifest is amended first: a batch killed in between leaves a listed file missing
    (the item is done again), never a file no manifest lists (which would make ``out`` look
    foreign to the next run).
    """
    data = json.dumps(row, ensure_ascii=False, allow_nan=False).encode("utf-8")
    manifest_path = folder / MANIFEST
    raw = read_regular_file(manifest_path, max_bytes=64 << 20, what="manifest", error=limit_error)
    manifest = json.loads(raw.decode("utf-8"))
    manifest["files"]["row.json"] = hashlib.sha256(data).hexdigest()
    text = json.dumps(manifest, ensure_ascii=False, allow_nan=False, indent=2)
    _write_in(folder, MANIFEST, text.encode("utf-8"), durable=True)
    _write_in(folder, "row.json", data)


def _write_in(folder: Path, name: str, data: bytes, *, durable: bool = False) -> None:
    """``write_atomic`` into ``folder``, refusing a symbolic link at ``folder/name``."""
    target = folder / name
    if target.is_symlink():
        msg = f"{str(target)!r} is a symbolic link"
        raise OutputError(
            msg, code="E_OUTPUT_SYMLINK", hint="geoverify never writes through a link."
        )
    write_atomic(target, data, durable=durable)


def run_item(task: Mapping[str, Any]) -> dict[str, Any]:
    """Verify one distinct file and write its report into ``items/KEY``; return its row data.

    A module-level function of plain arguments, so the process pool and Dask run the same code.
    A ``GeoverifyError`` becomes a failed row; anything else too, with ``E_INTERNAL``.
    """
    from geoverify.claims import ClaimSet, load_claims
    from geoverify.pipeline import save_verification, verify
    from geoverify.registry import load_registry

    _exit_if_orphaned()
    out_root = Path(task["out"])
    out = out_root / "items" / task["key"]
    row: dict[str, Any] = {"key": task["key"], "file_sha256": task["sha256"], "status": "failed"}
    try:
        registry = load_registry(task["registry"])
        claims = (
            load_claims(task["claims"])
            if task["claims"]
            else ClaimSet(claims=(), roles={}, source={})
        )
        posted = datetime.fromisoformat(task["posted_utc"]) if task["posted_utc"] else None
        result = verify(
            task["path"],
            registry=registry,
            claims=claims,
            options=_verify_options(task["options"]),
            posted_utc=posted,
        )
        fingerprint = _fingerprint(result, int(task["options"].get("decoder_threads", 0)))
        _exit_if_orphaned()
        _check_items_folder(out_root)
        save_verification(result, out, overwrite=bool(task.get("overwrite")))
        report = result.report
        done = {
            **row,
            "status": "done",
            "verdict": report.bottom_line.verdict.value,
            "rule": report.bottom_line.rule,
            "landmarks_matched": sorted(report.summary["frames_matched_by_landmark"]),
            "report_dir": str(out),
            "frame_phashes": [f["phash"] for f in report.frames],
            "fingerprint": fingerprint,
            "thumbnail": _thumbnail(result),
        }
        _check_items_folder(out_root)
        _save_row(out, done)
        row = done
    except GeoverifyError as exc:
        row.update(status="failed", error_code=exc.code, error_message=exc.message)
    except Exception as exc:
        row.update(
            status="failed",
            error_code="E_INTERNAL",
            error_message=f"{type(exc).__name__}: {exc}"[:300],
        )
    return row


def _verify_options(record: Mapping[str, Any]) -> Any:
    from geoverify._media import DecodeLimits
    from geoverify.frames import FrameOptions
    from geoverify.matching import MatchOptions
    from geoverify.pipeline import VerifyOptions

    threads = int(record.get("decoder_threads", 0))
    if threads:
        import cv2

        cv2.setNumThreads(threads)
    return VerifyOptions(
        matching=MatchOptions(**record.get("matching", {})),
        frames=FrameOptions(**record["frames"]),  # verify_batch always writes them
        limits=DecodeLimits(decoder_threads=threads),
    )


_FINGERPRINT_FRAMES = 8
_FLAT_STD = 4.0  # grey levels: a frame this uniform (black, a fade) says nothing of the picture


def _fingerprint(result: Any, threads: int) -> list[str]:
    """Perceptual hashes of frames at 0, 1/8, ..., 7/8 of a video's duration ("" if flat).

    The frames a report chooses depend on the encoding (the sharpest frames of a re-upload at
    another frame rate are other frames), these do not: a re-encoded copy has the same
    pictures at the same fractions of its duration. Empty for a photo, a video of unknown
    duration, or one this second, seeking pass cannot read.
    """
    import cv2
    import numpy as np

    from geoverify._media import DecodeLimits
    from geoverify.frames import FrameOptions, is_photo, select_frames

    media = result.media
    duration = media.video.duration_s if media.video is not None else None
    duration = duration or media.container.duration_s
    if is_photo(media.path) or not duration or not 0 < duration < 1e7:
        return []
    try:
        selection = select_frames(
            media,
            options=FrameOptions(every_s=duration / _FINGERPRINT_FRAMES),
            limits=DecodeLimits(decoder_threads=threads),
        )
    except GeoverifyError:
        return []
    hashes = []
    for frame in selection.frames[:_FINGERPRINT_FRAMES]:
        if frame.image_bgr is None or not frame.image_bgr.size:
            hashes.append("")
            continue
        gray = cv2.cvtColor(frame.image_bgr, cv2.COLOR_BGR2GRAY)
        small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA)
        hashes.append(frame.phash if float(np.std(small)) >= _FLAT_STD else "")
    return hashes


def _thumbnail(result: Any) -> str:
    from geoverify.report import jpeg_data_uri

    frames = result.selection.frames
    if not frames or frames[0].image_bgr is None:
        return ""
    return jpeg_data_uri(frames[0].image_bgr, max_width=160)


# --- the batch ------------------------------------------------------------------------------


def _key(sha: str, context: str) -> str:
    return f"{sha[:32]}-{hashlib.sha256(context.encode()).hexdigest()[:12]}"


def verify_batch(
    inputs: Sequence[str | os.PathLike[str]],
    *,
    registry: str | os.PathLike[str],
    out: str | os.PathLike[str],
    claims: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    affine: AffineMode = DEFAULT_AFFINE,
    features: FeatureSet = DEFAULT_FEATURES,
    frames: FrameOptions | None = None,
    threads_per_worker: int | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> BatchResult:
    """Verify every input; write ``items/``, ``summary.json``, ``summary.csv``, ``index.html``.

    Parameters
    ----------
    inputs
        Files, folders, globs and Telegram Desktop exports.
    registry, claims
        As for ``verify``; without ``claims`` each item is probed, its frames chosen and matched
        (a triage of which items show which landmark).
    out
        The batch's folder: new, empty, or one geoverify wrote (a batch folder resumes).
    overwrite
        Also write into an ``out`` holding files geoverify did not write: they are kept, and
        one where the batch would write (``summary.csv``, ...) is refused.
    workers
        Processes of the local pool (default: the machine's cores).
    scheduler
        ``tcp://HOST:PORT`` of a Dask distributed scheduler, instead of the local pool.
    affine
        The matcher's affine-simulation pass (``MatchOptions.affine``) for every item.
    features
        The matcher's features (``MatchOptions.features``): ``classic``, or learned ``aliked``
        or ``disk`` (``geoverify[learned]``).
    frames
        Which frames of each video are matched (``VerifyOptions.frames``); by default those
        covering every view (``FrameOptions.covering()``). Part of each item's key: changing
        them verifies every item again.
    threads_per_worker
        Decoder and OpenCV threads of each worker; by default 1 when several workers (or a
        cluster) share the machine, else FFmpeg's and OpenCV's own choice (0).
    progress
        Called with (items finished, items to do).

    Raises
    ------
    InputError
        A bad option (``E_INPUT_OPTION``: workers, threads, a malformed scheduler address), or
        none of the inputs exists (``E_INPUT_MISSING``); nothing is written.
    MissingDependencyError
        ``scheduler`` without the Dask packages.
    RegistryError
        The registry or the claims are invalid.
    OutputError
        ``out`` breaks the output rule, or another batch is writing into it
        (``E_OUTPUT_BUSY``).
    """
    from geoverify.claims import load_claims
    from geoverify.registry import load_registry

    # everything that can be refused is, before anything is written or hashed
    n_workers = _workers(workers)
    threads = _threads(threads_per_worker, several=scheduler is not None or n_workers > 1)
    address = _scheduler_address(scheduler) if scheduler is not None else None
    reg = load_registry(registry)
    claims_sha = load_claims(claims).sha256 if claims is not None else ""
    items = collect_inputs(inputs, out=out)
    _check_found(inputs, items)
    read = _read_paths(inputs, items, reg, claims)
    settings = _Settings.of(affine, features, frames, threads, reg.sha256, claims_sha)
    engine = f"dask {address}" if address else f"process pool ({n_workers} workers)"
    with _batch_folder(out, overwrite=overwrite, inputs=read) as (out_dir, survey):
        items_existed = (out_dir / "items").is_dir()
        by_sha, rows = _hash_items(items)
        tasks, reused, refused = _plan(by_sha, settings, out_dir, survey)
        for key in refused:
            rows.append(_row(refused[key], by_sha[refused[key]["file_sha256"]]))
        for task in tasks:
            task.update(
                registry=str(Path(os.fspath(registry)).resolve()),
                claims=str(Path(os.fspath(claims)).resolve()) if claims is not None else "",
                overwrite=overwrite,
            )
        results = (
            _run_dask(tasks, address, progress)
            if address
            else _run_pool(tasks, n_workers, progress, threads=threads)
        )
        for data in [*results.values(), *reused.values()]:
            rows.append(_row(data, by_sha[data["file_sha256"]]))
        rows = _link_near_duplicates(rows)
        rows.sort(key=lambda r: (r.paths[0] if r.paths else "", r.key))
        result = BatchResult(
            schema_version=BATCH_SCHEMA_VERSION,
            created_utc=datetime.now(UTC),
            out_dir=str(out_dir),
            rows=tuple(rows),
            done=sum(1 for r in rows if r.status == "done" and r.key not in reused),
            reused=len(reused),
            failed=sum(1 for r in rows if r.status == "failed"),
            missing=sum(1 for r in rows if r.status == "missing"),
            skipped=sum(1 for r in rows if r.status == "skipped"),
            engine=engine,
            registry_sha256=reg.sha256,
            claims_sha256=claims_sha,
        )
        _write_outputs(result, out_dir, items_existed=items_existed)
    return result


def _threads(threads_per_worker: int | None, *, several: bool) -> int:
    """Each worker's decoder and OpenCV threads (0: their own choice)."""
    if threads_per_worker is not None:
        if not 0 <= threads_per_worker <= 64:
            msg = f"--threads-per-worker {threads_per_worker} must be 0 (automatic) to 64"
            raise InputError(msg, code="E_INPUT_OPTION", hint="e.g. --threads-per-worker 1")
        return threads_per_worker
    # several workers: one decoder thread and one OpenCV thread each, so that they share the
    # cores instead of competing for them (one verify alone keeps about 1.5 cores busy)
    return 1 if several else 0


_SCHEDULER_SCHEMES = frozenset({"tcp", "tls", "ucx", "ws", "wss"})


def _scheduler_address(text: str) -> str:
    """Check a Dask scheduler address (``tcp://HOST:PORT``) and that Dask is installed.

    Raises
    ------
    InputError
        ``E_INPUT_OPTION``: not ``[SCHEME://]HOST:PORT`` (a TCP-like scheme, a port 1-65535).
    MissingDependencyError
        The Dask packages are not installed.
    """
    raw = text.strip()
    address = raw if "://" in raw else f"tcp://{raw}"
    try:
        parts = urllib.parse.urlsplit(address)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme not in _SCHEDULER_SCHEMES
        or not parts.hostname
        or port is None
        or not 0 < port < 65536
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
        or any(ch.isspace() or not ch.isprintable() for ch in raw)
    ):
        msg = f"--scheduler {text!r} is not the address of a Dask scheduler"
        raise InputError(
            msg,
            code="E_INPUT_OPTION",
            hint="Give tcp://HOST:PORT, as the scheduler prints it (e.g. tcp://10.0.0.5:8786).",
        )
    _dask()
    return address


def _dask() -> tuple[Any, Any]:
    """Dask distributed's ``Client`` and ``as_completed``; a friendly error when not installed."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        msg = "--scheduler needs the optional Dask packages, which are not installed"
        raise MissingDependencyError(
            msg, hint="pip install 'geoverify[dask]' (or run without --scheduler)"
        ) from None
    return Client, as_completed


def _check_found(inputs: Sequence[str | os.PathLike[str]], items: Sequence[BatchItem]) -> None:
    """Refuse a batch none of whose inputs exists (a mistyped path): nothing is written.

    When some exist, the missing ones are rows (and the exit code 5). An existing folder
    with no video in it exists: its batch is empty, not an error.
    """
    if not inputs:
        msg = "no input given"
        raise InputError(msg, code="E_INPUT_MISSING", hint="Name files, folders or exports.")
    texts = [os.fspath(i) for i in inputs]
    found = any(not (i.missing_reason and not i.posts) for i in items) or any(
        "\0" not in t and os.path.lexists(t) for t in texts
    )
    if not found:
        shown = ", ".join(repr(os.fspath(i)) for i in list(inputs)[:3])
        more = f" and {len(inputs) - 3} more" if len(inputs) > 3 else ""
        msg = f"none of the inputs exists: {shown}{more}"
        raise InputError(
            msg, code="E_INPUT_MISSING", hint="Check the paths (and quote a glob for the shell)."
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Settings:
    """What the workers are told, and the hash of what an item's result depends on."""

    options: dict[str, Any]
    context: str

    @classmethod
    def of(
        cls,
        affine: AffineMode,
        features: FeatureSet,
        frames: FrameOptions | None,
        threads: int,
        registry_sha256: str,
        claims_sha256: str,
    ) -> _Settings:
        from geoverify._media import DecodeLimits
        from geoverify.frames import FrameOptions
        from geoverify.matching import MatchOptions
        from geoverify.pipeline import VerifyOptions

        frame_options = frames if frames is not None else FrameOptions.covering()
        options = {
            "matching": {"affine": affine, "features": features},
            "frames": to_jsonable(frame_options),
            "decoder_threads": threads,
        }
        # the key depends on what changes results: not on the decoder's thread count
        verify_options = VerifyOptions(
            matching=MatchOptions(affine=affine, features=features),
            frames=frame_options,
            limits=DecodeLimits(),
        )
        context = json.dumps(
            {
                "geoverify": __version__,
                "registry": registry_sha256,
                "claims": claims_sha256,
                "options": to_jsonable(verify_options),
            },
            sort_keys=True,
        )
        return cls(options=options, context=context)


# --- the output folder ---------------------------------------------------------------------

# Where the batch writes in ``out``: with ``overwrite``, a file of these names that geoverify
# did not write is refused (it would be replaced), before any work.
_SUMMARIES = ("summary.json", "summary.csv", "index.html")
_OWN_NAMES = (*_SUMMARIES, MANIFEST, "items")
_WRITTEN_BY = "geoverify batch"


@contextlib.contextmanager
def _batch_folder(
    out: str | os.PathLike[str], *, overwrite: bool, inputs: Sequence[str]
) -> Iterator[tuple[Path, OutputFolder]]:
    """Check ``out`` under the output rule, lock it for the run, mark it as the batch's.

    The lock is an exclusive ``flock`` on the folder itself (no lock file is added to it),
    held until the batch ends, or dies: a second batch into the same folder is refused at
    once with ``E_OUTPUT_BUSY``. A batch folder is tidied first (``_repair``); a new folder
    is checked again once made and locked, then gets its ``manifest.json`` before anything
    else, so that an interrupted batch's folder is known as the batch's and resumes.
    """
    out_dir = Path(os.path.abspath(os.fspath(out)))
    raw = os.fspath(out)
    existed = out_dir.is_dir() and not out_dir.is_symlink()
    lock = _lock(out_dir) if existed else None
    try:
        if existed:
            _repair(out_dir)
        survey = _check_batch_folder(raw, overwrite, inputs)
        if not existed:
            try:
                out_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise output_error(exc, out_dir) from None
            lock = _lock(out_dir)
            survey = _check_batch_folder(raw, overwrite, inputs)
        if MANIFEST not in survey.owned:
            _write_root_manifest(out_dir, {})
        yield out_dir, survey
    finally:
        if lock is not None:
            os.close(lock)  # releases the flock


def _batch_manifest(out_dir: Path) -> dict[str, Any] | None:
    """Read the batch's own ``manifest.json`` in ``out_dir`` (a regular file), or None."""
    try:
        raw = read_regular_file(
            out_dir / MANIFEST, max_bytes=64 << 20, what="manifest", error=limit_error
        )
        doc = json.loads(raw.decode("utf-8"))
    except (GeoverifyError, ValueError, RecursionError):
        return None
    ours = (
        isinstance(doc, dict)
        and doc.get("schema") == OUTPUT_SCHEMA
        and doc.get("written_by") == _WRITTEN_BY
        and isinstance(doc.get("files"), dict)
    )
    return doc if ours and not (out_dir / MANIFEST).is_symlink() else None


def _repair(out_dir: Path) -> None:
    """Tidy what a killed batch left in its folder, before the folder is checked.

    Only in a folder whose ``manifest.json`` is the batch's: summaries written but not yet
    listed (the manifest names them under ``pending``, with their new SHA-256, before they
    are written) are listed when they are those; the batch's temporaries whose process is
    gone are removed, and so is an ``items`` folder they leave empty.
    """
    doc = _batch_manifest(out_dir)
    if doc is None:
        return
    pending = doc.pop("pending", None)
    if isinstance(pending, dict):
        for name, sha in pending.items():
            if name in _SUMMARIES and _file_sha256(out_dir / name) == sha:
                doc["files"][name] = sha
        text = json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=2)
        _write_in(out_dir, MANIFEST, text.encode("utf-8"), durable=True)
    for name in (*_SUMMARIES, MANIFEST):
        remove_stale_temporaries(out_dir, name)
    items = out_dir / "items"
    if not items.is_dir() or items.is_symlink():
        return
    for entry in os.scandir(items):
        if entry.name.startswith("."):  # .KEY.PID.xxxxxxxx.part: a staged item of a killed run
            remove_stale_temporaries(items, entry.name[1:].split(".")[0])
        elif entry.is_dir(follow_symlinks=False):
            for name in ("row.json", MANIFEST):
                remove_stale_temporaries(Path(entry.path), name)
    with contextlib.suppress(OSError):
        items.rmdir()  # only if empty


def _file_sha256(path: Path) -> str | None:
    try:
        return hash_regular_file(path, max_bytes=_NO_SIZE_LIMIT, what="file", error=limit_error)
    except GeoverifyError:
        return None


_NO_FLOCK = frozenset({errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL})


def _lock(out_dir: Path) -> int | None:
    """Open ``out_dir`` (never through a link) and take an exclusive, non-blocking flock on it.

    Returns the descriptor that holds the lock (closing it releases it), or None where there
    is no ``flock`` (Windows).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(out_dir, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            msg = f"--out {str(out_dir)!r} is a symbolic link"
            raise OutputError(
                msg, code="E_OUTPUT_SYMLINK", hint="Give the real folder, not a link to it."
            ) from None
        raise output_error(exc, out_dir) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in _NO_FLOCK:  # a file system without locks (some network ones)
            _log.warning("cannot lock %s (%s): two batches into it would mix", out_dir, exc)
            return fd
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            msg = f"another geoverify batch is writing into --out {str(out_dir)!r}"
            raise OutputError(
                msg,
                code="E_OUTPUT_BUSY",
                hint="Wait for it to finish (then run again: what it verified is reused), or "
                "choose another --out.",
            ) from None
        raise output_error(exc, out_dir) from None
    return fd


def _check_batch_folder(raw: str, overwrite: bool, inputs: Sequence[str]) -> OutputFolder:
    """Apply the output rule; a file of the user's where the batch writes is refused always."""
    survey = check_output_dir(
        raw, overwrite=overwrite, inputs=inputs, will_write=(*_SUMMARIES, MANIFEST)
    )
    clash = [n for n in survey.foreign if n == "items"]  # a file where the items go
    if clash:
        msg = f"--out {raw!r} holds {clash[0]!r}, which geoverify did not write"
        raise OutputError(
            msg,
            code="E_OUTPUT_NOT_EMPTY",
            hint="The batch would have to replace it (--overwrite never does): move it away, "
            "or choose another --out.",
        )
    return survey


def _write_root_manifest(
    out_dir: Path, files: Mapping[str, str], *, pending: Mapping[str, str] | None = None
) -> None:
    """Write the batch's ``manifest.json``: ``files`` (relative path to SHA-256), ``pending``.

    Not ``write_manifest``, which lists every file in the folder: with ``overwrite`` the folder
    may hold files geoverify did not write, and listing them would claim them as its own.
    """
    # "nested": items/ holds folders with manifests of their own (each item's), which the
    # output rule counts as geoverify's because this manifest, above them, says so
    doc: dict[str, Any] = {"schema": OUTPUT_SCHEMA, "written_by": _WRITTEN_BY, "nested": ["items"]}
    if pending:
        doc["pending"] = dict(pending)
    doc["files"] = dict(sorted(files.items()))
    text = json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=2)
    _write_in(out_dir, MANIFEST, text.encode("utf-8"), durable=True)


# --- inputs to tasks -----------------------------------------------------------------------


def _hash_items(items: Sequence[BatchItem]) -> tuple[dict[str, dict[str, Any]], list[BatchRow]]:
    """Group the files by content (a file present twice is verified once); refused ones are rows."""
    by_sha: dict[str, dict[str, Any]] = {}
    rows: list[BatchRow] = []
    for item in items:
        if item.missing_reason:
            rows.append(_missing_row(item))
            continue
        if item.error_code:
            rows.append(_failed_row(item, item.error_code, item.error_message))
            continue
        if item.skip_reason:
            rows.append(
                dataclasses.replace(
                    _missing_row(item),
                    status="skipped",
                    error_code="E_INPUT_IS_IMAGE",
                    error_message=item.skip_reason,
                )
            )
            continue
        try:
            sha = _sha256(item.path)
        except GeoverifyError as exc:
            row = _failed_row(item, exc.code, exc.message)
            rows.append(row if exc.code != "E_INPUT_MISSING" else _missing_row(item, exc.message))
            continue
        entry = by_sha.setdefault(sha, {"paths": [], "posts": []})
        if item.path not in entry["paths"]:
            entry["paths"].append(item.path)
        entry["posts"] += list(item.posts)
    return by_sha, rows


def _plan(
    by_sha: Mapping[str, Mapping[str, Any]],
    settings: _Settings,
    out_dir: Path,
    survey: OutputFolder,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Split the files into tasks to run, rows done by an earlier run, and refused ones.

    A row is reused only if the item's own manifest lists it (so is geoverify's); one that is
    there but foreign (possible with ``overwrite``) refuses the item rather than trusting or
    replacing it.
    """
    tasks: list[dict[str, Any]] = []
    reused: dict[str, dict[str, Any]] = {}
    refused: dict[str, dict[str, Any]] = {}
    for sha, entry in by_sha.items():
        key = _key(sha, settings.context)
        rel = f"items/{key}/row.json"
        if rel in survey.owned:
            try:
                data = json.loads((out_dir / rel).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = None  # a damaged row is done again
            if isinstance(data, dict) and data.get("file_sha256") == sha:
                reused[key] = data
                continue
        elif rel in survey.foreign:
            refused[key] = {
                "key": key,
                "file_sha256": sha,
                "status": "failed",
                "error_code": "E_OUTPUT_NOT_EMPTY",
                "error_message": f"{rel} in --out was not written by geoverify",
            }
            continue
        times = [p.posted_utc for p in entry["posts"] if p.posted_utc is not None]
        tasks.append(
            {
                "key": key,
                "sha256": sha,
                "path": entry["paths"][0],
                "out": str(out_dir),
                "options": settings.options,
                "posted_utc": min(times).isoformat() if times else "",
            }
        )
    return tasks, reused, refused


def _workers(workers: int | None) -> int:
    if workers is not None:
        if workers < 1:
            msg = f"--workers {workers} must be at least 1"
            raise InputError(msg, code="E_INPUT_OPTION", hint="e.g. --workers 2")
        return workers
    return max(1, os.cpu_count() or 1)


# The BLAS libraries' thread pools are sized when numpy loads, from these variables: a pool
# process inherits them when it is spawned. Matching's nearest-neighbour search is a BLAS
# matrix product; two workers with two BLAS threads each on two cores spent a third of a batch
# on contention (bench/README.md). Dask's nanny sets the same variables in its workers.
_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _blas_threads(threads: int) -> Iterator[None]:
    """Set the BLAS thread variables (``threads`` > 0) for the processes spawned inside."""
    if threads <= 0:
        yield
        return
    saved = {name: os.environ.get(name) for name in _BLAS_THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(_BLAS_THREAD_VARIABLES, str(threads)))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_pool(
    tasks: list[dict[str, Any]],
    workers: int,
    progress: Callable[[int, int | None], None] | None,
    *,
    threads: int = 0,
) -> dict[str, dict[str, Any]]:
    """One task per file on a spawned process pool; a dead worker is a failed row.

    ``threads`` > 0 is each worker's thread count: its BLAS pool is sized to it too.
    """
    if not tasks:
        return {}
    with _blas_threads(threads):
        return _pooled(tasks, workers, progress)


def _pooled(
    tasks: list[dict[str, Any]],
    workers: int,
    progress: Callable[[int, int | None], None] | None,
) -> dict[str, dict[str, Any]]:
    """Run the tasks on pools until each has a row (a pool that dies is replaced)."""
    results: dict[str, dict[str, Any]] = {}
    todo = list(tasks)
    done = 0
    while todo:
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(os.getpid(),),
        ) as pool:
            futures = {pool.submit(run_item, t): t for t in todo}
            broken = False
            try:
                for fut in concurrent.futures.as_completed(futures):
                    task = futures[fut]
                    try:
                        results[task["key"]] = fut.result()
                    except concurrent.futures.process.BrokenProcessPool:
                        broken = True
                        continue
                    done += 1
                    if progress is not None:
                        progress(done, len(tasks))
            except BaseException:  # Ctrl-C: what has not started is cancelled, not waited for
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        todo = [t for t in todo if t["key"] not in results]
        if broken and todo:
            # the pool died with these running: the first is taken as the cause and failed,
            # the others run again in a new pool
            dead = todo.pop(0)
            results[dead["key"]] = {
                "key": dead["key"],
                "file_sha256": dead["sha256"],
                "status": "failed",
                "error_code": "E_WORKER_DIED",
                "error_message": "the worker process died while verifying this file",
            }
            done += 1
            if progress is not None:
                progress(done, len(tasks))
        elif todo:  # pragma: no cover - every future either returns or breaks the pool
            break
    return results


def _run_dask(
    tasks: list[dict[str, Any]],
    scheduler: str | None,
    progress: Callable[[int, int | None], None] | None,
) -> dict[str, dict[str, Any]]:
    """Run the same task function on a Dask distributed cluster; rows come back."""
    make_client, dask_completed = _dask()
    results: dict[str, dict[str, Any]] = {}
    if not tasks:
        return results
    try:
        client = make_client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as exc:
        msg = f"cannot reach the Dask scheduler {scheduler!r}: {exc}"
        from geoverify.errors import NetworkError

        raise NetworkError(msg, code="E_NET_UNREACHABLE", hint="Check the address.") from None
    try:
        futures = client.map(run_item, tasks, key=[f"geoverify-{t['key']}" for t in tasks],
                             pure=False)  # fmt: skip
        by_future = dict(zip(futures, tasks, strict=True))
        completed: Any = dask_completed
        for done, fut in enumerate(completed(futures), start=1):
            task = by_future[fut]
            try:
                results[task["key"]] = fut.result()
            except Exception as exc:
                results[task["key"]] = {
                    "key": task["key"],
                    "file_sha256": task["sha256"],
                    "status": "failed",
                    "error_code": "E_WORKER_DIED",
                    "error_message": f"the Dask task failed: {type(exc).__name__}: {exc}"[:300],
                }
            if progress is not None:
                progress(done, len(tasks))
    finally:
        closing: Any = client.close
        closing()
    return results


def _missing_row(item: BatchItem, reason: str = "") -> BatchRow:
    return BatchRow(
        key=f"missing-{hashlib.sha256(repr((item.path, item.posts)).encode()).hexdigest()[:16]}",
        file_sha256="",
        paths=(item.path,) if item.path else (),
        status="missing",
        verdict=None,
        rule=None,
        landmarks_matched=(),
        error_code="E_INPUT_MISSING",
        error_message=reason or item.missing_reason,
        report_dir=None,
        posts=item.posts,
    )


def _failed_row(item: BatchItem, code: str, message: str) -> BatchRow:
    return dataclasses.replace(
        _missing_row(item), status="failed", error_code=code, error_message=message
    )


def _row(data: Mapping[str, Any], entry: Mapping[str, Any]) -> BatchRow:
    paths = tuple(entry["paths"])
    return BatchRow(
        key=data["key"],
        file_sha256=data["file_sha256"],
        paths=paths,
        status=data["status"],
        verdict=data.get("verdict"),
        rule=data.get("rule"),
        landmarks_matched=tuple(data.get("landmarks_matched") or ()),
        error_code=data.get("error_code"),
        error_message=data.get("error_message"),
        report_dir=data.get("report_dir"),
        posts=tuple(sorted(entry["posts"], key=lambda p: (p.posted_utc is None, p.posted_utc))),
        duplicates=paths[1:],
        frame_phashes=tuple(data.get("frame_phashes") or ()),
        fingerprint=tuple(str(h) for h in data.get("fingerprint") or ()),
        thumbnail=str(data.get("thumbnail") or ""),
    )


def _hashes(values: Sequence[str]) -> list[int | None]:
    """Parse 16-hex-digit perceptual hashes; an empty or malformed one (a flat frame) is None."""
    parsed: list[int | None] = []
    for h in values:
        try:
            parsed.append(int(h, 16) if len(h) == 16 else None)
        except ValueError:
            parsed.append(None)
    return parsed


def _distance(a: BatchRow, b: BatchRow) -> int | None:
    """Hamming distance, in bits of 64, between two items' pictures; None if nothing compares.

    The smaller of: the closest pair of the frames their reports chose; and the median over
    the eight frames at the same fractions of each video's duration (``fingerprint``; at least
    three pairs with picture in both), which does not depend on which frames a report chose.
    """
    ha = [h for h in _hashes(a.frame_phashes) if h is not None]
    hb = [h for h in _hashes(b.frame_phashes) if h is not None]
    best = min(((x ^ y).bit_count() for x in ha for y in hb), default=None)
    fa, fb = _hashes(a.fingerprint), _hashes(b.fingerprint)
    if len(fa) == len(fb) == _FINGERPRINT_FRAMES:
        aligned = sorted(
            (x ^ y).bit_count()
            for x, y in zip(fa, fb, strict=True)
            if x is not None and y is not None
        )
        if len(aligned) >= 3:
            median = aligned[len(aligned) // 2]
            best = median if best is None else min(best, median)
    return best


def _link_near_duplicates(rows: list[BatchRow]) -> list[BatchRow]:
    """Link items whose pictures look alike (a re-encoded re-upload), with the distance."""
    done = sorted((r for r in rows if r.status == "done"), key=lambda r: r.key)
    links: dict[str, list[tuple[str, int]]] = {r.key: [] for r in done}
    for i, a in enumerate(done):
        for b in done[i + 1 :]:
            distance = _distance(a, b)
            if distance is not None and distance <= _NEAR_DUPLICATE_BITS:
                links[a.key].append((b.key, distance))
                links[b.key].append((a.key, distance))
    return [
        dataclasses.replace(r, near_duplicates=tuple(sorted(links.get(r.key, [])))) for r in rows
    ]


# --- outputs --------------------------------------------------------------------------------

_CSV_FIELDS = (
    "key", "status", "verdict", "rule", "landmarks_matched", "paths", "duplicates",
    "near_duplicates", "first_post_utc", "channels", "message_ids", "error_code",
    "error_message", "report_dir", "file_sha256",
)  # fmt: skip


def summary_json(result: BatchResult) -> dict[str, Any]:
    data: dict[str, Any] = to_jsonable(result)
    for row in data["rows"]:
        row.pop("thumbnail", None)
        row.pop("fingerprint", None)
    return data


# OWASP, "CSV Injection": a spreadsheet runs a cell that starts with one of these as a formula
# (=HYPERLINK(...) can send the sheet's contents to a server). Such a cell gets a leading '.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: str) -> str:
    """Make a text safe for a spreadsheet: prefix ``'`` when it would start a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_text(result: BatchResult) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_CSV_FIELDS)
    writer.writeheader()
    for r in result.rows:
        times = [p.posted_utc for p in r.posts if p.posted_utc]
        cells = {
            "key": r.key,
            "status": r.status,
            "verdict": r.verdict or "",
            "rule": r.rule or "",
            "landmarks_matched": ";".join(r.landmarks_matched),
            "paths": ";".join(r.paths),
            "duplicates": ";".join(r.duplicates),
            "near_duplicates": ";".join(f"{k}:{d}" for k, d in r.near_duplicates),
            "first_post_utc": min(times).isoformat() if times else "",
            "channels": ";".join(sorted({p.channel for p in r.posts})),
            "message_ids": ";".join(str(p.message_id) for p in r.posts),
            "error_code": r.error_code or "",
            "error_message": r.error_message or "",
            "report_dir": r.report_dir or "",
            "file_sha256": r.file_sha256,
        }
        writer.writerow({name: _csv_cell(value) for name, value in cells.items()})
    return buf.getvalue()


def _write_outputs(result: BatchResult, out_dir: Path, *, items_existed: bool) -> None:
    """Write the summaries, then the batch's ``manifest.json`` listing every file of the batch.

    The folder is surveyed again first: a symbolic link planted during the run, or a file of
    the summaries' names that geoverify did not write, is refused rather than written through
    or over.
    """
    from geoverify.models import sanitize_text

    text = json.dumps(summary_json(result), ensure_ascii=False, allow_nan=False, indent=2)
    outputs = {
        "summary.json": text,
        "summary.csv": _csv_text(result),
        "index.html": _index_html(result),
    }
    survey = survey_output_dir(out_dir)
    clash = sorted(set(survey.foreign) & {*_OWN_NAMES, *(f"{n}/" for n in _OWN_NAMES)})
    if clash:
        msg = f"--out {str(out_dir)!r} holds {clash[0]!r}, which geoverify did not write"
        raise OutputError(
            msg,
            code="E_OUTPUT_NOT_EMPTY",
            hint="It appeared during the batch: move it away and run again (finished items "
            "are reused).",
        )
    data = {name: sanitize_text(content).encode("utf-8") for name, content in outputs.items()}
    # the manifest says first which summaries come (a batch killed while writing them leaves
    # files that _repair can tell from the user's), then lists them with everything else
    before = _batch_manifest(out_dir)
    _write_root_manifest(
        out_dir,
        before["files"] if before is not None else {},
        pending={name: hashlib.sha256(b).hexdigest() for name, b in data.items()},
    )
    for name, content in data.items():
        _write_in(out_dir, name, content)
    if not items_existed:
        with contextlib.suppress(OSError):
            (out_dir / "items").rmdir()  # made by this run, left empty by failed saves
    survey = survey_output_dir(out_dir)
    ours = (set(survey.owned) | set(_SUMMARIES)) - {MANIFEST}
    _write_root_manifest(out_dir, {rel: _hashed(out_dir / rel) for rel in ours})


def _hashed(path: Path) -> str:
    return hash_regular_file(path, max_bytes=_NO_SIZE_LIMIT, what="output file", error=limit_error)


_SORT_SCRIPT = """
document.querySelectorAll("th[data-col]").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0], col = +th.dataset.col;
    var asc = th.dataset.dir !== "asc"; th.dataset.dir = asc ? "asc" : "desc";
    Array.from(body.rows).sort(function (a, b) {
      var x = a.cells[col].dataset.sort || a.cells[col].textContent;
      var y = b.cells[col].dataset.sort || b.cells[col].textContent;
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    }).forEach(function (tr) { body.appendChild(tr); });
  });
});
"""


def _index_html(result: BatchResult) -> str:
    """Render the self-contained, sortable index (CSP allows its one script by hash)."""
    import base64
    import html

    digest = base64.b64encode(hashlib.sha256(_SORT_SCRIPT.encode()).digest()).decode()
    head = ("thumbnail", "bottom line", "landmark matched", "first posted (UTC)", "channel",
            "duplicates", "file", "report")  # fmt: skip
    th = "".join(
        f'<th data-col="{i}" tabindex="0">{html.escape(h)} ⇅</th>' for i, h in enumerate(head)
    )
    body = []
    for r in result.rows:
        times = sorted(p.posted_utc for p in r.posts if p.posted_utc)
        first = times[0].strftime("%Y-%m-%d %H:%M:%S") if times else ""
        verdict = r.verdict or f"{r.status}: {r.error_code or ''}"
        dups = [f"same bytes: {p}" for p in r.duplicates]
        dups += [f"looks like {k[:12]} ({d} bits)" for k, d in r.near_duplicates]
        link = ""
        if r.report_dir:
            rel = os.path.relpath(Path(r.report_dir) / "report.html", result.out_dir)
            link = f'<a href="{html.escape(Path(rel).as_posix())}">report</a>'
        thumb = (
            f'<img src="{html.escape(r.thumbnail)}" alt="first frame" width="160">'
            if r.thumbnail.startswith("data:image/jpeg;base64,")
            else ""
        )
        cells = [
            thumb,
            f"<b>{html.escape(verdict)}</b>"
            + (
                f"<br><small>{html.escape(r.error_message or '')}</small>"
                if r.error_message
                else ""
            ),
            html.escape(", ".join(r.landmarks_matched) or "-"),
            html.escape(first),
            html.escape(", ".join(sorted({p.channel for p in r.posts})) or "-"),
            "<br>".join(html.escape(d) for d in dups) or "-",
            html.escape("; ".join(r.paths) or "-"),
            link,
        ]
        body.append(
            f'<tr class="{html.escape(r.status)}">'
            + "".join(f"<td>{c}</td>" for c in cells)
            + "</tr>"
        )
    csp = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    counts = (
        f"{len(result.rows)} items: {result.done} verified, {result.reused} reused from an "
        f"earlier run, {result.failed} failed, {result.missing} missing; engine {result.engine}"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="referrer" content="no-referrer">
<title>geoverify batch</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.9em; }}
td, th {{ border: 1px solid #ddd; padding: 4px 6px; vertical-align: top; text-align: left; }}
th {{ cursor: pointer; background: #f4f4f4; }}
tr.failed, tr.missing {{ background: #f9dede; }}
</style></head><body>
<h1>geoverify batch</h1>
<p>{html.escape(counts)}. Click a column's title to sort by it.</p>
<table><thead><tr>{th}</tr></thead><tbody>
{"".join(body)}
</tbody></table>
<script>{_SORT_SCRIPT}</script>
</body></html>
"""
