"""Files in and out, safely.

Reading: ``read_regular_file`` opens only regular files (a FIFO, a device such as
``/dev/zero`` or a folder is refused before a byte is read) and never reads more than a stated
limit, so a registry, claims or OSM path can neither hang nor fill memory.

Writing: every function that writes (``save_frames``, ``save_registry``, ``save_matches``, the
report, the CLI's GeoJSON output) goes through ``write_atomic``: a temporary name in the same
folder, then an atomic rename, so an interrupted or failed run never leaves a half-written file
at a final path. An existing file keeps its permission bits (a 600 registry stays 600), and a
symbolic link is written through to its target, never replaced by a regular file.
``prepare_output_dir`` checks that an output folder can be written before any expensive work
starts, and refuses symbolic links inside it; ``staged_dir`` builds a folder under a temporary
name and moves it into place only when it is complete.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from geoverify.errors import GeoverifyError, LimitError, OutputError

__all__ = [
    "check_output_dir",
    "check_replaceable_dir",
    "hash_regular_file",
    "limit_error",
    "open_regular",
    "output_error",
    "prepare_output_dir",
    "read_regular_file",
    "staged_dir",
    "write_atomic",
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
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
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


def check_output_dir(path: str | os.PathLike[str], *, what: str = "--out") -> Path:
    """Check, without creating anything, that an output folder can be made and written.

    Refused with ``OutputError``: an empty path, a path that is a file or lies under one, a
    symbolic link as the folder, a folder (or the nearest existing parent) that cannot be
    written, and a folder holding a symbolic link (geoverify never writes through one).
    """
    raw = os.fspath(path)
    out = _checked_path(raw, what)
    _check_writable_from(Path(os.path.abspath(raw)), raw, what)
    if out.is_dir():
        for entry in _walk_links(out):
            msg = f"{what} {raw!r} holds a symbolic link {str(entry)!r}"
            raise OutputError(
                msg,
                code="E_OUTPUT_SYMLINK",
                hint="geoverify never writes through a link: remove it, or choose another folder.",
            )
    return out


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


def prepare_output_dir(path: str | os.PathLike[str], *, what: str = "--out") -> Path:
    """Check an output folder (``check_output_dir``), then create it if needed."""
    out = check_output_dir(path, what=what)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, out) from None
    return out


def _walk_links(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in (*dirnames, *filenames):
            full = Path(dirpath) / name
            if full.is_symlink():
                yield full


MANIFEST = "manifest.json"


def check_replaceable_dir(
    path: str | os.PathLike[str], *, overwrite: bool = False, what: str = "--out"
) -> Path:
    """Check, before any expensive work, that ``staged_dir`` will be able to write ``path``.

    Refused with ``OutputError``: an empty path, a symbolic link, a file, a folder holding files
    that no earlier geoverify run wrote (no ``manifest.json``) unless ``overwrite``, and a
    parent folder that cannot be created or written. Returns the absolute path.
    """
    raw = os.fspath(path)
    out = Path(os.path.abspath(_checked_path(raw, what)))
    if out.exists() and not overwrite and any(out.iterdir()) and not (out / MANIFEST).is_file():
        msg = f"{what} {raw!r} holds files that geoverify did not write"
        raise OutputError(
            msg,
            code="E_OUTPUT_NOT_EMPTY",
            hint="Choose a new or empty folder, or pass --overwrite to replace it.",
        )
    _check_writable_from(out.parent, raw, what)
    return out


@contextlib.contextmanager
def staged_dir(
    path: str | os.PathLike[str], *, overwrite: bool = False, what: str = "--out"
) -> Iterator[Path]:
    """Build an output folder under a temporary name beside it; move it into place at the end.

    The body writes into the yielded folder. If it raises (or is interrupted), the temporary
    folder is removed and ``path`` is left as it was: the previous run's folder whole, or
    nothing. An existing ``path`` is replaced only if it is empty, holds a previous run's
    ``manifest.json``, or ``overwrite`` is set (``check_replaceable_dir``).
    """
    out = check_replaceable_dir(path, overwrite=overwrite, what=what)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part"))
    except OSError as exc:
        raise output_error(exc, out) from None
    try:
        os.chmod(staging, 0o777 & ~_umask())
        yield staging
        old: Path | None = None
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".old"))
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
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise output_error(exc, out) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
