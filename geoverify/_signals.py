"""Ctrl-C and SIGTERM for the command line: one line, the documented exit code, no traceback.

``install`` (called by the ``geoverify`` command before anything heavy is imported) turns
SIGINT into exit 130 and SIGTERM into exit 143. The handler raises ``Interrupted``, a
``SystemExit``: it unwinds through every ``finally`` and ``except BaseException`` (so temporary
files and staged folders are removed), yet neither Click (which prints "Aborted!" and exits 1 on
a ``KeyboardInterrupt``) nor numpy's import (which turns a ``KeyboardInterrupt`` into an
``ImportError``) intercepts it, and Python exits with its code without a traceback. A second
signal while the first unwinds is ignored, so the clean-up finishes. The library never installs
these handlers on its own: a notebook keeps its ``KeyboardInterrupt``.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

__all__ = ["Interrupted", "install"]

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Interrupted(SystemExit):
    """The command was interrupted (``code`` 130) or terminated (143)."""


def _handler(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    code = EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_INTERRUPTED
    try:
        sys.stderr.write("interrupted\n" if code == EXIT_INTERRUPTED else "terminated\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    raise Interrupted(code)


def install() -> None:
    """Install the handlers (the main thread of the ``geoverify`` command only)."""
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)
