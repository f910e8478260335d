"""The ``geoverify`` command line: a thin Typer layer over the library.

Each command converts its arguments, calls one public function and renders the result. This is
the only package that imports typer or rich, prints, or exits; its modules follow the
pipeline (``_media``: probe, frames, match, verify; ``_places``: registry, check, candidates;
``_sun``; ``_common``: the app, the error boundary, JSON and progress output). One error
boundary maps ``GeoverifyError`` to a one-line message with a hint on stderr (or a JSON error
record on stdout with ``--json``) and the exit code of the reliability contract;
``GEOVERIFY_DEBUG=1`` shows the traceback. Ctrl-C exits 130.
"""

from __future__ import annotations

import sys
import traceback

from geoverify.cli import _media, _places, _sun
from geoverify.cli._common import EXIT_INTERNAL, app

__all__ = ["app", "main"]

# the commands (and the registry and sun groups) register themselves on ``app`` as their
# modules load; the order of this tuple is the order of ``geoverify --help``
_COMMANDS = (_media, _places, _sun)


def main() -> None:
    """Entry point of the ``geoverify`` command."""
    try:
        app()
    except Exception:  # a bug: say so, keep the traceback for the report
        traceback.print_exc()
        sys.stderr.write("error: internal error in geoverify (a bug); please report it\n")
        sys.exit(EXIT_INTERNAL)
