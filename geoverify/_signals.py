"""Ctrl-C and SIGTERM for the command line: one line, the documented exit code, no traceback.

``install_startup`` (called by ``geoverify/__init__`` for the ``geoverify`` command, before
anything else is imported) ends the process at once with exit 130 (SIGINT) or 143 (SIGTERM):
while modules load there is nothing to clean up, and an exception raised there can be swallowed
(a signal that lands in a weakref callback or ``__del__`` is printed as "Exception ignored" and
the import carries on). ``install`` (called by ``geoverify.cli.main`` just before the command
runs) turns SIGINT into exit 130 and SIGTERM into exit 143 by raising ``Interrupted``, a
``SystemExit``: it unwinds through every ``finally`` and ``except BaseException`` (so temporary
files and staged folders are removed), yet neither Click (which prints "Aborted!" and exits 1 on
a ``KeyboardInterrupt``) nor numpy's import (which turns a ``KeyboardInterrupt`` into an
``ImportError``) intercepts it, and Python exits with its code without a traceback. A second
signal while the first unwinds is ignored, so the clean-up finishes; if the first one's
``Interrupted`` was swallowed, ``raise_if_interrupted`` still ends the command with its code.
The library never installs these handlers on its own: a notebook keeps its ``KeyboardInterrupt``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["Interrupted", "deferred", "install", "install_startup", "raise_if_interrupted"]

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

# the exit code of the signal the handler received (0: none yet)
_received = [0]
# how many ``deferred`` sections are open: the handler raises at the end of the outermost
_deferring = [0]


class Interrupted(SystemExit):
    """The command was interrupted (``code`` 130) or terminated (143)."""


def _startup_handler(signum: int, frame: FrameType | None) -> None:
    code = EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_INTERRUPTED
    try:  # noqa: SIM105 (contextlib is one more import at start-up)
        os.write(2, b"interrupted\n" if code == EXIT_INTERRUPTED else b"terminated\n")
    except OSError:
        pass
    os._exit(code)


def install_startup() -> None:
    """Install the start-up handlers: exit at once, before the command has written anything."""
    signal.signal(signal.SIGINT, _startup_handler)
    signal.signal(signal.SIGTERM, _startup_handler)


def _handler(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    code = EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_INTERRUPTED
    _received[0] = code
    try:
        sys.stderr.write("interrupted\n" if code == EXIT_INTERRUPTED else "terminated\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    if _deferring[0]:
        return  # ``deferred`` raises it when its section ends
    raise Interrupted(code)


def install() -> None:
    """Install the handlers (the main thread of the ``geoverify`` command only)."""
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold ``Interrupted`` back while the section runs; raise it when the section ends.

    For a step that makes something its caller must clean up (a staging folder) and
    records it: ``with deferred(): staging = make_staging_dir(out)`` inside the ``try``
    whose handler removes ``staging``. Without it, a signal landing between the folder's
    creation and the assignment leaves the folder behind, unknown to every clean-up.
    Only the main thread's sections count: the handler runs there, and a section of another
    thread (a matcher writing its cache) must neither hold it back nor raise it elsewhere.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _deferring[0] += 1
    try:
        yield
    finally:
        _deferring[0] -= 1
        if not _deferring[0]:
            raise_if_interrupted()  # also when the section failed: the interrupt comes first


def raise_if_interrupted() -> None:
    """Raise ``Interrupted`` if a signal arrived, even one whose exception was swallowed."""
    if _received[0]:
        raise Interrupted(_received[0])
