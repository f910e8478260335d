"""The output rule's paths: temporaries, inputs kept apart, single output files."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from geoverify._io import output_error, temp_prefix, umask, write_atomic
from geoverify._signals import deferred
from geoverify.errors import OutputError

# tempfile's names: 8 characters of [a-z0-9_] between our prefix and suffix
TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[a-z0-9_]{8}\.(?:part|old)$")
Inputs = Iterable[str | os.PathLike[str]]


# --- temporaries ---------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # EPERM: another user's process holds the number
        return True
    return True


def temporary_state(folder: Path, name: str) -> str:
    """``live``, ``stale`` or ``""`` (not a geoverify temporary) for the entry ``name``."""
    m = TEMP_NAME.match(name)
    if m is None:
        return ""
    if _pid_alive(int(m.group("pid"))):
        return "live"
    try:
        mine = os.lstat(folder / name).st_uid == os.getuid()
    except OSError:
        return ""
    return "stale" if mine else ""


def remove_path(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


def remove_stale_temporaries(folder: Path, name: str) -> None:
    """Remove the ``.NAME.PID.xxxxxxxx.part``/``.old`` a killed run of this user left in ``folder``.

    Only names of exactly that form, whose process is gone and which this user owns: a file
    of the user's that merely looks like one stays.
    """
    try:
        entries = [e.name for e in os.scandir(folder)]
    except OSError:
        return
    for entry in entries:
        m = TEMP_NAME.match(entry)
        if m is not None and m.group("name") == name and temporary_state(folder, entry) == "stale":
            remove_path(folder / entry)


def writable_dir(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def builds_in_place(out: Path) -> bool:
    """Whether ``out`` must be built inside itself rather than beside it and renamed."""
    if not out.is_dir():
        return False
    with contextlib.suppress(OSError):
        if out == Path(os.path.realpath(os.getcwd())) or os.path.ismount(out):
            return True
    return not writable_dir(out.parent)


def make_staging_dir(out: Path) -> Path:
    """Make a folder for building ``out``: beside it, or inside it (``builds_in_place``)."""
    where = out if builds_in_place(out) else out.parent
    try:
        where.mkdir(parents=True, exist_ok=True)
        if where == out.parent:
            remove_stale_temporaries(where, out.name)
        return Path(tempfile.mkdtemp(dir=where, prefix=temp_prefix(out), suffix=".part"))
    except OSError as exc:
        raise output_error(exc, out) from None


# --- paths and inputs ----------------------------------------------------------------------------


def checked_path(raw: str, what: str) -> Path:
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


def check_writable_from(path: Path, raw: str, what: str) -> None:
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


def real_path(path: str | os.PathLike[str]) -> Path:
    """Resolve every link as the system does (so ``..`` after a link goes where it leads)."""
    return Path(os.path.realpath(os.fspath(path)))


def _real_target(path: str | os.PathLike[str]) -> Path:
    """Where a name will be created: its folder resolved, its own last part kept."""
    p = Path(os.fspath(path))
    return real_path(p.parent if str(p.parent) else ".") / p.name


def within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_inputs_apart(out: str | os.PathLike[str], inputs: Inputs, *, what: str = "--out") -> None:
    """Refuse an output that is, holds or lies inside one of ``inputs`` (even with overwrite).

    Paths are compared after resolving links as the system does, so ``.``, ``..`` after a
    link and a linked folder are caught. An input folder (a batch folder, a Telegram export)
    holds its files: an output inside it is refused too, since a later run would read it back.
    """
    target = _real_target(out)
    raw = os.fspath(out)
    for item in inputs:
        src = real_path(item)
        if within(src, target):
            kind = "is" if src == target else "holds"
            msg = f"{what} {raw!r} {kind} the input {os.fspath(item)!r}"
            raise OutputError(
                msg,
                code="E_OUTPUT_HOLDS_INPUT",
                hint="geoverify never writes over or around its inputs: choose a separate "
                "output path (--overwrite does not change this).",
            )
        if src.is_dir() and within(target, src):
            msg = f"{what} {raw!r} lies inside the input folder {os.fspath(item)!r}"
            raise OutputError(
                msg,
                code="E_OUTPUT_HOLDS_INPUT",
                hint="A later run would read the output back as input: choose an output "
                "path outside the input folders.",
            )


# --- single files --------------------------------------------------------------------------------


def check_output_file(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: Inputs = (),
    what: str = "--out",
) -> Path:
    """Check, before any work, that a single output file may be written at ``path``.

    Refused with ``OutputError``: an empty path, a folder, a FIFO, socket or device (even with
    ``overwrite``), a symbolic link (geoverify never writes through one), one of the command's
    ``inputs`` (even with ``overwrite``), an existing file without ``overwrite``
    (``E_OUTPUT_EXISTS``), and a folder that cannot be written. Only
    the file's own path is checked: links elsewhere in the folder tree do not matter. Returns
    the path the file will be written at (its folder resolved).
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
        if not p.is_file():  # a FIFO, socket or device: never replaced, even with --overwrite
            msg = f"{what} {raw!r} is not a regular file (a FIFO, socket or device)"
            raise OutputError(msg, code="E_OUTPUT_PATH", hint="Name a regular file to write.")
        if not overwrite:
            msg = f"{what} {raw!r} exists"
            raise OutputError(
                msg,
                code="E_OUTPUT_EXISTS",
                hint="Choose a new file name, or pass --overwrite to replace it.",
            )
    target = _real_target(p)
    check_writable_from(target.parent, raw, what)
    return target


def write_output_file(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    overwrite: bool = False,
    inputs: Inputs = (),
    what: str = "--out",
) -> Path:
    """Write one output file under the output rule (``check_output_file``), atomically.

    Without ``overwrite`` the file is linked into place only if the name is still free, so a
    file that appeared since the check is not replaced either (on a file system without hard
    links, such as FAT, the name is checked again just before the rename).
    """
    target = check_output_file(path, overwrite=overwrite, inputs=inputs, what=what)
    if overwrite:
        write_atomic(target, data)
        return target
    exists = OutputError(
        f"{what} {os.fspath(path)!r} exists",
        code="E_OUTPUT_EXISTS",
        hint="Choose a new file name, or pass --overwrite.",
    )
    tmp = ""
    try:
        with deferred():  # a signal cannot land between the file's creation and its record
            fd, tmp = tempfile.mkstemp(
                dir=target.parent, prefix=temp_prefix(target), suffix=".part"
            )
        os.fchmod(fd, 0o666 & ~umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            os.link(tmp, target)  # fails if the name was taken meanwhile
        except FileExistsError:
            raise exists from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            if os.path.lexists(target):
                raise exists from None
            os.rename(tmp, target)
    except OSError as exc:
        raise output_error(exc, target) from None
    finally:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
    return target
