"""The batch's folder under the output rule, its manifests, and the summaries it writes.

``summary.json``, ``summary.csv`` (safe to open in a spreadsheet) and ``index.html``.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import io
import json
import logging
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from geoverify._io import (
    hash_regular_file,
    limit_error,
    output_error,
    read_regular_file,
    sha256_or_none,
    write_atomic,
)
from geoverify._output import (
    MANIFEST,
    OUTPUT_SCHEMA,
    OutputFolder,
    check_output_dir,
    remove_stale_temporaries,
    survey_output_dir,
)
from geoverify.batch._index import index_html
from geoverify.batch._model import NO_SIZE_LIMIT, BatchResult
from geoverify.errors import GeoverifyError, OutputError
from geoverify.models import to_jsonable

_log = logging.getLogger("geoverify.batch")


# --- the output folder ---------------------------------------------------------------------

# Where the batch writes in ``out``: with ``overwrite``, a file of these names that geoverify
# did not write is refused (it would be replaced), before any work.
_SUMMARIES = ("summary.json", "summary.csv", "index.html")
_OWN_NAMES = (*_SUMMARIES, MANIFEST, "items")
_WRITTEN_BY = "geoverify batch"


@contextlib.contextmanager
def batch_folder(
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
            if name in _SUMMARIES and sha256_or_none(out_dir / name) == sha:
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


def check_items_folder(out_root: Path) -> Path:
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


def save_row(folder: Path, row: Mapping[str, Any]) -> None:
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


# --- outputs --------------------------------------------------------------------------------

_CSV_FIELDS = (
    "key", "status", "verdict", "rule", "landmarks_matched", "paths", "duplicates",
    "near_duplicates", "first_post_utc", "channels", "message_ids", "error_code",
    "error_message", "report_dir", "file_sha256", "findings",
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


def csv_cell(value: str) -> str:
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
            "findings": r.findings,
        }
        writer.writerow({name: csv_cell(value) for name, value in cells.items()})
    return buf.getvalue()


def write_outputs(result: BatchResult, out_dir: Path, *, items_existed: bool) -> None:
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
        "index.html": index_html(result),
    }
    if not items_existed:  # made by this run and left empty when every item failed
        with contextlib.suppress(OSError):
            (out_dir / "items").rmdir()
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
    written = {name: hashlib.sha256(b).hexdigest() for name, b in data.items()}
    # the manifest says first which summaries come (a batch killed while writing them leaves
    # files that _repair can tell from the user's), then lists them with everything else
    before = _batch_manifest(out_dir)
    _write_root_manifest(out_dir, before["files"] if before is not None else {}, pending=written)
    for name, content in data.items():
        _write_in(out_dir, name, content)
    # every file the survey found ours, with the SHA-256 it checked (each file is read once
    # here, not again), and the summaries just written
    ours = set(survey.owned) - set(_SUMMARIES) - {MANIFEST}
    files = {rel: survey.sha256.get(rel) or _hashed(out_dir / rel) for rel in ours}
    _write_root_manifest(out_dir, {**files, **written})


def _hashed(path: Path) -> str:
    return hash_regular_file(path, max_bytes=NO_SIZE_LIMIT, what="output file", error=limit_error)
