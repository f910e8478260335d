"""The ``geoverify`` command line: a thin Typer layer over the library.

Each command converts its arguments, calls one public function and renders the result. This is
the only package that imports typer or rich, prints, or exits; its modules follow the
pipeline (``_media``: probe, frames, match, verify; ``_locate``; ``_batch``; ``_places``:
check, candidates, claims; ``_landmarks`` and ``_osm``: the registry; ``_sun``; ``_common``:
the app, the error boundary, JSON and progress output). One error boundary maps
``GeoverifyError`` to a one-line message with a hint on stderr (or a JSON error
record on stdout with ``--json``) and the exit code of the reliability contract
(``geoverify.errors.EXIT_CODES``); ``GEOVERIFY_DEBUG=1`` shows the traceback. Ctrl-C exits 130
and SIGTERM 143, start-up included (``geoverify._signals``).
"""

from __future__ import annotations

import importlib
import sys
import traceback

from geoverify import _signals
from geoverify.cli._common import app, echo

__all__ = ["app", "main"]

# the commands (and the registry and sun groups) register themselves on ``app`` as their
# modules load: they load in this order, which is the order of ``geoverify --help``
_COMMANDS = tuple(
    importlib.import_module(f"geoverify.cli.{name}")
    for name in (
        "_probe",
        "_media",
        "_text",
        "_locate",
        "_batch",
        "_places",
        "_landmarks",
        "_osm",
        "_sun",
    )
)


def _caused_by_interrupt(exc: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, KeyboardInterrupt | _signals.Interrupted):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


def main() -> None:
    """Entry point of the ``geoverify`` command."""
    # the start-up handlers (geoverify/__init__) exit at once; from here a signal unwinds, so
    # staged files are removed (and `python -m geoverify` gets its handlers here)
    _signals.install()
    try:
        app()
    except KeyboardInterrupt:
        echo("interrupted", err=True)
        sys.exit(_signals.EXIT_INTERRUPTED)
    except Exception as exc:  # a bug: say so, keep the traceback for the report
        if _caused_by_interrupt(exc):
            echo("interrupted", err=True)
            sys.exit(_signals.EXIT_INTERRUPTED)
        echo(traceback.format_exc(), err=True, nl=False)
        echo("error: internal error in geoverify (a bug); please report it", err=True)
        sys.exit(1)
    finally:
        _signals.raise_if_interrupted()  # its exception swallowed (a __del__): still 130/143
