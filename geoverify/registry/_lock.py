"""The registry's lock: one writer at a time, across processes.

An exclusive ``flock`` on a sidecar ``.lock`` file beside the registry, waited for at most
``lock_wait_s`` seconds; the lock file itself is never opened through a link.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import math
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from geoverify.errors import InputError, OutputError

# How long a writer waits for another process's lock on the registry before it gives up,
# seconds (every writer takes ``lock_wait_s``).
LOCK_WAIT_S = 10.0
_LOCK_POLL_S = 0.1


def _lock_error(path: Path, lock: Path, why: str) -> OutputError:
    msg = f"cannot lock {str(path)!r}: its lock file {str(lock)!r} {why}"
    return OutputError(
        msg,
        code="E_REGISTRY_LOCK",
        hint=f"Delete {str(lock)!r} (geoverify makes a new one); the registry is unchanged.",
    )


def _open_lock(path: Path, lock: Path) -> int:
    """Open (or create) the lock file itself: never through a link, never a FIFO or device."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
    try:
        fd = os.open(lock, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _lock_error(path, lock, "is a symbolic link: refused") from None
        if exc.errno in (errno.EISDIR, errno.ENXIO):
            raise _lock_error(path, lock, "is not a regular file") from None
        msg = f"cannot lock {str(path)!r}: {exc.strerror}"
        raise OutputError(
            msg, code="E_OUTPUT_WRITE", hint="The registry's folder must be writable."
        ) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _lock_error(path, lock, "is not a regular file")
    return fd


@contextlib.contextmanager
def locked(path: Path, wait_s: float) -> Iterator[None]:
    """Hold an exclusive lock on ``path``'s sidecar ``.lock``; wait at most ``wait_s`` seconds.

    The lock file is opened with ``O_NOFOLLOW``: a symbolic link planted at its name is
    refused (``E_REGISTRY_LOCK``), so nothing is ever created or opened at a link's target.
    Another process's lock is polled (``LOCK_NB``) until ``wait_s`` has passed, then refused
    (``E_REGISTRY_LOCKED``) with the registry unchanged.
    """
    if not (isinstance(wait_s, int | float) and math.isfinite(wait_s) and wait_s >= 0):
        msg = f"lock_wait_s must be a finite number of seconds >= 0, got {wait_s!r}"
        raise InputError(msg, code="E_INPUT_OPTION", hint="e.g. lock_wait_s=10.0")
    lock = path.with_name(path.name + ".lock")
    fd = _open_lock(path, lock)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    msg = (
                        f"another process holds the lock on {str(path)!r} ({lock.name}): "
                        f"waited {wait_s:g} s"
                    )
                    raise OutputError(
                        msg,
                        code="E_REGISTRY_LOCKED",
                        hint="Another geoverify command is editing this registry: let it "
                        "finish, then run this again (the registry is unchanged). "
                        f"`fuser -v {str(lock)!r}` names the process.",
                    ) from None
                time.sleep(min(_LOCK_POLL_S, left))
            except OSError as exc:
                raise _lock_error(path, lock, f"cannot be locked: {exc.strerror}") from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
