"""The batch's inputs: files, folders, globs and Telegram Desktop exports, as items.

Also the batch's first pass over them: which exist (``check_found``), which paths the output
rule must keep ``out`` away from (``read_paths``), and the files grouped by content
(``hash_items``).
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from geoverify._io import hash_regular_file, read_regular_file
from geoverify._output import is_geoverify_output, real_path, within
from geoverify.batch._model import NO_SIZE_LIMIT, BatchItem, BatchRow, Post
from geoverify.errors import GeoverifyError, InputError
from geoverify.models import LatLon

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".3gp", ".ts", ".mts", ".mpg", ".mpeg"}
)
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".heic", ".heif"})
_NOT_INCLUDED = "(File not included."
_MAX_EXPORT_BYTES = 512 * 2**20


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
    if not within(real_path(joined), real_path(base)):
        return BatchItem(
            path=rel, posts=(post,), error_code="E_INPUT_OUTSIDE",
            error_message=f"{where} names {rel!r}, which lies outside the export folder",
            error_hint="geoverify reads only files inside the export folder.",
        )  # fmt: skip
    return BatchItem(path=str(real_path(joined)), posts=(post,))


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
    root = real_path(folder)
    items = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if (here / d).is_symlink()
            or not (real_path(here / d) == out or is_geoverify_output(here / d))
        )
        linked_dirs = [d for d in dirnames if (here / d).is_symlink()]
        for name in sorted([*filenames, *linked_dirs]):
            path = here / name
            if path.suffix.lower() not in VIDEO_SUFFIXES | PHOTO_SUFFIXES:
                continue
            if path.is_symlink() and not within(real_path(path), root):
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
    skip = real_path(Path(os.fspath(out))) if out is not None else None
    items: list[BatchItem] = []
    for raw in inputs:
        items += _expand(os.fspath(raw), skip)
    return items


def read_paths(
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
        return hash_regular_file(path, max_bytes=NO_SIZE_LIMIT, what="input", error=_hash_error)
    except InputError as exc:
        if exc.code == "E_INPUT_MISSING" and os.path.lexists(path):  # there, but not readable
            exc.code = "E_INPUT_UNREADABLE"
        raise


def check_found(inputs: Sequence[str | os.PathLike[str]], items: Sequence[BatchItem]) -> None:
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


def hash_items(items: Sequence[BatchItem]) -> tuple[dict[str, dict[str, Any]], list[BatchRow]]:
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
