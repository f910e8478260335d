"""Files in and out, safely.

Reading: ``read_regular_file`` opens only regular files (a FIFO, a device such as
``/dev/zero`` or a folder is refused before a byte is read) and never reads more than a stated
limit, so a registry, claims or OSM path can neither hang nor fill memory.

Writing: every function that writes (``save_frames``, ``save_registry``, ``save_matches``, the
report, the CLI's single-file outputs) goes through ``write_atomic``: a temporary name in the
same folder, then an atomic rename, so an interrupted or failed run never leaves a half-written
file at a final path. An existing file keeps its permission bits (a 600 registry stays 600), and
a symbolic link is written through to its target, never replaced by a regular file.

The output rule, in one place (see the comment above ``MANIFEST``): ``check_output_file`` and
``write_output_file`` for a single output file, ``check_output_dir`` and ``staged_dir`` for an
output folder, ``write_manifest`` for the ``manifest.json`` that marks a folder as geoverify's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from geoverify.errors import GeoverifyError, LimitError, OutputError

__all__ = [
    "MANIFEST",
    "OutputFolder",
    "check_inputs_apart",
    "check_output_dir",
    "check_output_file",
    "hash_regular_file",
    "limit_error",
    "open_regular",
    "output_error",
    "prepare_output_dir",
    "read_regular_file",
    "remove_stale_temporaries",
    "staged_dir",
    "survey_output_dir",
    "write_atomic",
    "write_manifest",
    "write_output_file",
]

_CHUNK = 1 << 20

ErrorFactory = Callable[[str, str, str], GeoverifyError]


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def open_regular(path: str | os.PathLike[str], what: str, error: ErrorFactory) -> int:
    """Open ``path`` read-only without blocking on a FIFO; refuse anything but a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        msg = f"no {what} {str(path)!r}"
        raise error(msg, "missing", "Check the path.") from None
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        msg = f"cannot read {what} {str(path)!r}: {reason}"
        raise error(msg, "missing", "Check the path.") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        msg = f"{what} {str(path)!r} is {kind}"
        raise error(
            msg, "not_regular", "Give a regular file (not a folder, FIFO, device or socket)."
        )
    os.set_blocking(fd, True)
    return fd


def read_regular_file(
    path: str | os.PathLike[str], *, max_bytes: int, what: str, error: ErrorFactory
) -> bytes:
    """Read a whole regular file of at most ``max_bytes``.

    ``error(message, reason, hint)`` makes the exception to raise; ``reason`` is ``missing``,
    ``not_regular`` or ``too_large``, so the caller can choose its error code. A file over the
    limit raises ``LimitError`` (``E_LIMIT_FILE_SIZE``) unless ``error`` maps it otherwise.
    """
    p = Path(os.fspath(path))
    fd = open_regular(p, what, error)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        msg = f"{what} {str(p)!r} is larger than the limit of {max_bytes:,} bytes"
        raise error(msg, "too_large", "Cut the file down (the limit is documented in the README).")
    return data


def hash_regular_file(
    path: str | os.PathLike[str], *, max_bytes: int, what: str, error: ErrorFactory
) -> str:
    """SHA-256 of a regular file of at most ``max_bytes``, read in chunks."""
    p = Path(os.fspath(path))
    fd = open_regular(p, what, error)
    digest = hashlib.sha256()
    total = 0
    with os.fdopen(fd, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            total += len(chunk)
            if total > max_bytes:
                msg = f"{what} {str(p)!r} is larger than the limit of {max_bytes:,} bytes"
                raise error(msg, "too_large", "Use a smaller file.")
            digest.update(chunk)
    return digest.hexdigest()


def limit_error(message: str, reason: str, hint: str) -> GeoverifyError:
    """Make the error for a file that cannot be read: ``LimitError`` when it is too large."""
    if reason == "too_large":
        return LimitError(message, code="E_LIMIT_FILE_SIZE", hint=hint)
    from geoverify.errors import InputError

    code = "E_INPUT_MISSING" if reason == "missing" else "E_INPUT_NOT_REGULAR"
    return InputError(message, code=code, hint=hint)


def output_error(exc: OSError, target: Path) -> OutputError:
    """Turn an ``OSError`` met while writing ``target`` into an ``OutputError`` with a hint."""
    reason = exc.strerror or str(exc)
    hints = {
        errno.ENOSPC: "The disk is full: free space or choose another --out.",
        errno.EDQUOT: "The disk quota is exceeded: free space or choose another --out.",
        errno.EROFS: "The file system is read-only: choose another --out.",
        errno.EACCES: "Permission denied: choose a folder you can write to.",
        errno.EPERM: "Permission denied: choose a folder you can write to.",
        errno.ENOTDIR: "A part of the path is a file, not a folder: choose another --out.",
        errno.ENOENT: "The folder does not exist: create it, or choose another path.",
    }
    code = {errno.ENOSPC: "E_OUTPUT_DISK_FULL", errno.EDQUOT: "E_OUTPUT_DISK_FULL"}.get(
        exc.errno or 0, "E_OUTPUT_WRITE"
    )
    return OutputError(
        f"cannot write {str(target)!r}: {reason}",
        code=code,
        hint=hints.get(exc.errno or 0, "Check the output path."),
    )


def write_atomic(path: str | os.PathLike[str], data: bytes, *, durable: bool = False) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``.

    An existing file keeps its mode; a symbolic link is followed, so its target is replaced
    and the link stays a link. ``durable`` also flushes the data to disk before the rename
    (for manifests written last).

    Raises
    ------
    OutputError
        The file cannot be written (missing folder, read-only, disk full, ...); nothing is left
        behind, and an existing file at ``path`` is unchanged.
    """
    target = Path(os.path.realpath(os.fspath(path)))
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    except OSError as exc:
        raise output_error(exc, target) from None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=_temp_prefix(target), suffix=".part")
    except OSError as exc:
        raise output_error(exc, target) from None
    try:
        os.fchmod(fd, mode)  # mkstemp makes 0600; keep the file's mode, or the usual one
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise output_error(exc, target) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _temp_prefix(target: Path) -> str:
    """``.NAME.PID.``: a temporary beside ``target``, named so a later run knows whose it was."""
    return f".{target.name}.{os.getpid()}."


# --- the output rule ------------------------------------------------------------------------------
#
# One rule for every command that writes (README, "Where results go"):
# - a single-file output (``--track``, ``sun where``, ``claims template``) that exists is refused
#   without ``overwrite``; it is never a symbolic link and never one of the command's inputs;
# - an output folder is new, empty, or one that geoverify wrote: every file in it is listed by a
#   ``manifest.json`` in it or in a folder above it inside it (a batch's items have their own);
# - a folder holding anything else is refused without ``overwrite``; with it, geoverify writes
#   its files beside the others and removes only the files the old manifests list;
# - an output that is, holds or lies inside one of the command's inputs (the video, the photo,
#   the registry and its images, the claims, the telemetry, a folder or export read) is refused
#   even with ``overwrite``;
# - a folder is built under a temporary name beside it and moved into place when complete; the
#   temporaries of a run that was killed are removed by the next run.

MANIFEST = "manifest.json"
OUTPUT_SCHEMA = "geoverify.output/1"
_MAX_MANIFEST_BYTES = 64 << 20
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^./]+\.(?:part|old)$")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: a process of another user holds the number
        return True
    return True


def _is_temporary(name: str) -> bool:
    """Tell whether ``name`` is a temporary of write_atomic, staged_dir or FrameWriter."""
    return _TEMP.match(name) is not None


def remove_stale_temporaries(folder: Path, name: str) -> None:
    """Remove the ``.NAME.PID.*.part``/``.old`` left in ``folder`` by runs that were killed."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        m = _TEMP.match(entry.name)
        if m is None or m.group("name") != name or _pid_alive(int(m.group("pid"))):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)


def _checked_path(raw: str, what: str) -> Path:
    """Refuse an empty path, a symbolic link and a file where a folder is wanted."""
    if not str(raw).strip():
        msg = f"{what} is empty"
        raise OutputError(msg, code="E_OUTPUT_PATH", hint="Name an output folder.")
    out = Path(raw)
    if out.is_symlink():
        msg = f"{what} {raw!r} is a symbolic link"
        raise OutputError(
            msg, code="E_OUTPUT_SYMLINK", hint="Give the real folder, not a link to it."
        )
    if out.exists() and not out.is_dir():
        msg = f"{what} {raw!r} is a file, not a folder"
        raise OutputError(msg, code="E_OUTPUT_PATH", hint="Choose a folder for the output.")
    return out


def _check_writable_from(path: Path, raw: str, what: str) -> None:
    """Check the nearest existing folder at or above ``path`` is a folder we can write."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        msg = f"{what} {raw!r} lies under {str(existing)!r}, which is a file"
        raise OutputError(msg, code="E_OUTPUT_PATH", hint="Choose a folder for the output.")
    if not os.access(existing, os.W_OK | os.X_OK):
        msg = f"{what} {raw!r} cannot be written ({str(existing)!r} is not writable)"
        raise OutputError(msg, code="E_OUTPUT_WRITE", hint="Choose a folder you can write to.")


def _real(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(os.path.abspath(os.fspath(path))))


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_inputs_apart(
    out: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str]],
    *,
    what: str = "--out",
) -> None:
    """Refuse an output that is, holds or lies inside one of ``inputs`` (even with overwrite).

    Paths are compared after resolving links, so ``.``, ``..`` and a linked folder are caught.
    An input folder (a batch folder, a Telegram export) holds its files: an output inside it is
    refused too, since a later run would read it back as input.
    """
    target = _real(out)
    raw = os.fspath(out)
    for item in inputs:
        src = _real(item)
        if _within(src, target):
            kind = "is" if src == target else "holds"
            msg = f"{what} {raw!r} {kind} the input {os.fspath(item)!r}"
            raise OutputError(
                msg,
                code="E_OUTPUT_HOLDS_INPUT",
                hint="geoverify never writes over or around its inputs: choose a separate "
                "output path (--overwrite does not change this).",
            )
        if src.is_dir() and _within(target, src):
            msg = f"{what} {raw!r} lies inside the input folder {os.fspath(item)!r}"
            raise OutputError(
                msg,
                code="E_OUTPUT_HOLDS_INPUT",
                hint="A later run would read the output back as input: choose an output "
                "path outside the input folders.",
            )


def check_output_file(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
    what: str = "--out",
) -> Path:
    """Check, before any work, that a single output file may be written at ``path``.

    Refused with ``OutputError``: an empty path, a folder, a symbolic link (geoverify never
    writes through one), one of the command's ``inputs`` (even with ``overwrite``), an existing
    file without ``overwrite`` (``E_OUTPUT_EXISTS``), and a folder that cannot be written. Only
    the file's own path is checked: links elsewhere in the folder tree do not matter.
    """
    raw = os.fspath(path)
    if not raw.strip():
        msg = f"{what} is empty"
        raise OutputError(msg, code="E_OUTPUT_PATH", hint="Name an output file.")
    p = Path(raw)
    check_inputs_apart(p, inputs, what=what)
    if p.is_symlink():
        msg = f"{what} {raw!r} is a symbolic link"
        raise OutputError(
            msg, code="E_OUTPUT_SYMLINK", hint="geoverify never writes through a link."
        )
    if p.exists():
        if p.is_dir():
            msg = f"{what} {raw!r} is a folder, not a file"
            raise OutputError(msg, code="E_OUTPUT_PATH", hint="Name a file for the output.")
        if not overwrite:
            msg = f"{what} {raw!r} exists"
            raise OutputError(
                msg,
                code="E_OUTPUT_EXISTS",
                hint="Choose a new file name, or pass --overwrite to replace it.",
            )
    _check_writable_from(Path(os.path.abspath(raw)).parent, raw, what)
    return p


def write_output_file(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
    what: str = "--out",
) -> Path:
    """Write one output file under the output rule (``check_output_file``), atomically.

    Without ``overwrite`` the file is linked into place only if the name is still free, so a
    file that appeared since the check is not replaced either.
    """
    p = check_output_file(path, overwrite=overwrite, inputs=inputs, what=what)
    if overwrite:
        write_atomic(p, data)
        return p
    target = Path(os.path.abspath(os.fspath(p)))
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=_temp_prefix(target), suffix=".part")
    except OSError as exc:
        raise output_error(exc, target) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.link(tmp, target)  # fails if the name was taken meanwhile
    except FileExistsError:
        msg = f"{what} {os.fspath(p)!r} exists"
        raise OutputError(
            msg, code="E_OUTPUT_EXISTS", hint="Choose a new file name, or pass --overwrite."
        ) from None
    except OSError as exc:
        raise output_error(exc, target) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return p


def _manifest_files(folder: Path) -> list[str] | None:
    """Return the files a ``manifest.json`` in ``folder`` lists, or None if there is none."""
    path = folder / MANIFEST
    try:
        raw = read_regular_file(
            path, max_bytes=_MAX_MANIFEST_BYTES, what="manifest", error=limit_error
        )
        doc = json.loads(raw.decode("utf-8"))
    except (GeoverifyError, ValueError, RecursionError):
        return None
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, dict):
        return None
    names = []
    for name in files:
        parts = Path(name).parts
        if not isinstance(name, str) or Path(name).is_absolute() or ".." in parts or not parts:
            return None  # not a manifest geoverify wrote
        names.append(name)
    return names


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OutputFolder:
    """What an output folder holds now: geoverify's files, and everything else.

    ``owned`` are the files the manifests in it list (and the manifests), relative to it;
    ``foreign`` the files nothing lists. Both are POSIX-style relative paths.
    """

    path: Path
    exists: bool
    owned: frozenset[str]
    foreign: tuple[str, ...]


def survey_output_dir(path: str | os.PathLike[str], *, what: str = "--out") -> OutputFolder:
    """List what ``path`` holds: the files geoverify's manifests list and all the others.

    Raises ``OutputError`` (``E_OUTPUT_SYMLINK``) for a symbolic link anywhere inside it.
    """
    out = Path(os.path.abspath(os.fspath(path)))
    if not out.is_dir():
        return OutputFolder(path=out, exists=False, owned=frozenset(), foreign=())
    owned: set[str] = set()
    present: list[str] = []
    for dirpath, dirnames, filenames in os.walk(out, followlinks=False):
        here = Path(dirpath)
        rel_dir = here.relative_to(out)
        for name in (*dirnames, *filenames):
            full = here / name
            if full.is_symlink():
                msg = f"{what} {os.fspath(path)!r} holds a symbolic link {str(full)!r}"
                raise OutputError(
                    msg,
                    code="E_OUTPUT_SYMLINK",
                    hint="geoverify never writes through a link: remove it, or choose "
                    "another folder.",
                )
        dirnames[:] = [d for d in dirnames if not _is_temporary(d)]
        listed = _manifest_files(here) if MANIFEST in filenames else None
        if listed is not None:
            owned.add((rel_dir / MANIFEST).as_posix())
            owned.update((rel_dir / n).as_posix() for n in listed)
        present += [(rel_dir / n).as_posix() for n in filenames if not _is_temporary(n)]
    here_now = set(present)
    return OutputFolder(
        path=out,
        exists=True,
        owned=frozenset(owned & here_now),
        foreign=tuple(sorted(here_now - owned)),
    )


def check_output_dir(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
    what: str = "--out",
) -> OutputFolder:
    """Check, before any expensive work, that an output folder may be written (the output rule).

    Refused with ``OutputError``: an empty path, a symbolic link, a file or a path under one,
    an output that is, holds or lies inside an input (``E_OUTPUT_HOLDS_INPUT``, even with
    ``overwrite``), a folder holding a symbolic link, a folder holding files that no geoverify
    manifest lists unless ``overwrite`` (``E_OUTPUT_NOT_EMPTY``), and a folder that cannot be
    written. Returns what the folder holds now.
    """
    raw = os.fspath(path)
    out = Path(os.path.abspath(_checked_path(raw, what)))
    check_inputs_apart(out, inputs, what=what)
    _check_writable_from(out, raw, what)
    survey = survey_output_dir(out, what=what)
    if survey.foreign and not overwrite:
        shown = ", ".join(repr(n) for n in survey.foreign[:3])
        more = f" and {len(survey.foreign) - 3} more" if len(survey.foreign) > 3 else ""
        msg = f"{what} {raw!r} holds files geoverify did not write: {shown}{more}"
        raise OutputError(
            msg,
            code="E_OUTPUT_NOT_EMPTY",
            hint="Choose a new or empty folder, or pass --overwrite (it keeps those files and "
            "replaces only what an earlier geoverify run listed in its manifest).",
        )
    return survey


def prepare_output_dir(path: str | os.PathLike[str], *, what: str = "--out") -> Path:
    """Create a folder whose files are written one by one (``write_atomic``), if need be.

    For a folder being built (``staged_dir``'s) or one geoverify keeps beside an input (the
    registry's ``osm/``). Refused: a path that is a file or a link, or a folder holding a link.
    """
    raw = os.fspath(path)
    out = _checked_path(raw, what)
    _check_writable_from(Path(os.path.abspath(raw)), raw, what)
    survey_output_dir(out, what=what)  # refuses a link anywhere inside
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, out) from None
    return out


def write_manifest(
    folder: str | os.PathLike[str], *, extra: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Write ``manifest.json`` (last, durably): the SHA-256 of every file in ``folder``.

    ``extra`` members are written beside ``schema`` and ``files``. Returns ``files``: relative
    path to SHA-256, for every regular file below ``folder`` but the manifest itself.
    """
    out = Path(os.fspath(folder))
    files: dict[str, str] = {}
    for p in sorted(out.rglob("*")):
        if p.is_symlink() or not p.is_file() or _is_temporary(p.name):
            continue
        rel = p.relative_to(out).as_posix()
        if rel == MANIFEST:
            continue
        digest = hashlib.sha256()
        with p.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
        files[rel] = digest.hexdigest()
    doc: dict[str, Any] = {"schema": OUTPUT_SCHEMA, **(extra or {}), "files": files}
    text = json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=2)
    write_atomic(out / MANIFEST, text.encode("utf-8"), durable=True)
    return files


def _swap_in(staging: Path, out: Path) -> None:
    """Move a complete ``staging`` folder to ``out``, replacing a folder wholly geoverify's."""
    old: Path | None = None
    if out.exists():
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=_temp_prefix(out), suffix=".old"))
        os.rmdir(old)
        os.rename(out, old)
    try:
        os.rename(staging, out)
    except OSError:
        if old is not None:
            os.rename(old, out)  # put the previous run back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _merge_in(staging: Path, survey: OutputFolder, what: str) -> None:
    """Move ``staging``'s files into a folder that also holds files geoverify did not write.

    Only the files the old manifests list are removed; a file of this run whose name is taken
    by a file geoverify did not write is refused before anything moves.
    """
    out = survey.path
    new = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
    clash = sorted(set(new) & set(survey.foreign))
    if clash:
        msg = f"{what} {str(out)!r} holds {clash[0]!r}, which geoverify did not write"
        raise OutputError(
            msg,
            code="E_OUTPUT_NOT_EMPTY",
            hint="geoverify would have to replace it: move it away, or choose another folder.",
        )
    for rel in sorted(survey.owned):
        with contextlib.suppress(FileNotFoundError):
            (out / rel).unlink()
    for rel in new:
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, dest)
    for rel in sorted({str(Path(r).parent) for r in survey.owned}, key=len, reverse=True):
        folder = out / rel
        while folder != out and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def staged_dir(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
    what: str = "--out",
) -> Iterator[Path]:
    """Build an output folder under a temporary name beside it; move it into place at the end.

    The body writes into the yielded folder (and writes its ``manifest.json``, e.g. with
    ``write_manifest``). If it raises or is interrupted, the temporary folder is removed and
    ``path`` is left as it was. The output rule (``check_output_dir``) decides what may be
    replaced: a folder wholly geoverify's is replaced whole; with ``overwrite``, a folder that
    also holds other files keeps them, and only the files the old manifests list are removed.
    Temporaries left beside ``path`` by a killed run are removed first.
    """
    inputs = tuple(inputs)
    check_output_dir(path, overwrite=overwrite, inputs=inputs, what=what)
    out = Path(os.path.abspath(os.fspath(path)))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(out.parent, out.name)
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=_temp_prefix(out), suffix=".part"))
    except OSError as exc:
        raise output_error(exc, out) from None
    try:
        os.chmod(staging, 0o777 & ~_umask())
        yield staging
        # what the folder holds now (another process may have written since the first check)
        survey = check_output_dir(out, overwrite=overwrite, inputs=inputs, what=what)
        if survey.foreign:
            _merge_in(staging, survey, what)
        else:
            _swap_in(staging, out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise output_error(exc, out) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
