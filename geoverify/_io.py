"""Files in and out, safely.

Reading: ``read_regular_file`` opens only regular files (a FIFO, a device such as
``/dev/zero`` or a folder is refused before a byte is read) and never reads more than a stated
limit, so a registry, claims or OSM path can neither hang nor fill memory.

Writing: every function that writes (``save_frames``, ``save_registry``, ``save_matches``, the
report, the CLI's single-file outputs) goes through ``write_atomic``: a temporary name in the
same folder, then an atomic rename, so an interrupted or failed run never leaves a half-written
file at a final path. An existing file keeps its permission bits (a 600 registry stays 600), and
a symbolic link is written through to its target, never replaced by a regular file.

The output rule (what a command may replace) is ``geoverify._output``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from geoverify._signals import deferred
from geoverify.errors import GeoverifyError, LimitError, OutputError

__all__ = [
    "NO_SIZE_LIMIT",
    "hash_regular_file",
    "limit_error",
    "open_regular",
    "output_error",
    "read_regular_file",
    "sha256_or_none",
    "temp_prefix",
    "umask",
    "write_atomic",
]

_CHUNK = 1 << 20
NO_SIZE_LIMIT = 1 << 62  # a file hashed in chunks: any size

ErrorFactory = Callable[[str, str, str], GeoverifyError]


def umask() -> int:
    """Return the process's umask (read without changing it)."""
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


def sha256_or_none(path: str | os.PathLike[str]) -> str | None:
    """SHA-256 of a regular file of any size, or ``None`` when it cannot be read as one."""
    try:
        return hash_regular_file(path, max_bytes=NO_SIZE_LIMIT, what="file", error=limit_error)
    except GeoverifyError:
        return None


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
        The file cannot be written (missing folder, read-only, disk full, ...), or ``path`` is a
        FIFO, socket, device or folder (``E_OUTPUT_PATH``); nothing is left behind, and an
        existing file at ``path`` is unchanged.
    """
    target = Path(os.path.realpath(os.fspath(path)))
    try:
        st = os.stat(target)
        mode = stat.S_IMODE(st.st_mode)
        if not stat.S_ISREG(st.st_mode):  # a FIFO, socket or device is never replaced
            msg = f"{os.fspath(path)!r} is not a regular file (a folder, FIFO, socket or device)"
            raise OutputError(msg, code="E_OUTPUT_PATH", hint="Name a regular file to write.")
    except FileNotFoundError:
        mode = 0o666 & ~umask()
    except OSError as exc:
        raise output_error(exc, target) from None
    tmp = ""
    try:
        with deferred():  # a signal cannot land between the file's creation and its record
            fd, tmp = tempfile.mkstemp(
                dir=target.parent, prefix=temp_prefix(target), suffix=".part"
            )
        os.fchmod(fd, mode)  # mkstemp makes 0600; keep the file's mode, or the usual one
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise output_error(exc, target) from None
    except BaseException:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise


def temp_prefix(target: Path) -> str:
    """``.NAME.PID.``: a temporary beside ``target``, named so a later run knows whose it was."""
    return f".{target.name}.{os.getpid()}."
