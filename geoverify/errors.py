"""The one exception tree of geoverify.

::

    GeoverifyError                                base; the CLI catches exactly this
    ├── InputError(GeoverifyError, ValueError)    bad argument, unusable file, impossible value
    ├── MediaError                                not media, truncated, no video stream, crash
    ├── LimitError                                pixels, frames, memory or time limit hit
    ├── RegistryError(GeoverifyError, ValueError) registry or claims file invalid
    ├── OutputError                               an output cannot be written (disk full, ...)
    ├── NetworkError                              a fetch failed (``registry fetch-osm`` only)
    └── MissingDependencyError(GeoverifyError, ImportError)  names the pip install to run

Every error carries a stable ``code`` (``E_INPUT_EMPTY``, ...), a one-line ``message`` that
quotes the offending value, and a ``hint`` that says what to do next. The CLI maps each class to
the exit codes of the reliability contract (``EXIT_CODES``, which the README's table repeats and a
test checks). A verdict such as "claim
inconsistent" is a result, never an exception: an exception means a check could not run.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "EXIT_CODES",
    "EXIT_FAIL_ON",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_SOME_FAILED",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "GeoverifyError",
    "InputError",
    "LimitError",
    "MediaError",
    "MissingDependencyError",
    "NetworkError",
    "OutputError",
    "RegistryError",
]


class GeoverifyError(Exception):
    """Base class of every error geoverify raises on purpose.

    Parameters
    ----------
    message
        One line: what failed, quoting the offending value.
    code
        Stable machine-readable code such as ``E_INPUT_EMPTY``.
    hint
        What the user can do next.
    detail
        Optional extra text (a decoder message, a list of problems).
    input_sha256
        SHA-256 of the rejected input file, when it was hashed.
    """

    exit_code: ClassVar[int] = 1
    default_code: ClassVar[str] = "E_INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str = "",
        detail: str = "",
        input_sha256: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.hint = hint
        self.detail = detail
        self.input_sha256 = input_sha256

    def to_dict(self) -> dict[str, str]:
        """Return the error record: code, message, hint, detail and the input's SHA-256."""
        record = {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "detail": self.detail,
        }
        if self.input_sha256:
            record["input_sha256"] = self.input_sha256
        return record


class InputError(GeoverifyError, ValueError):
    """A bad argument or an unusable input file (missing, empty, not a regular file)."""

    exit_code = 3
    default_code = "E_INPUT"


class MediaError(GeoverifyError):
    """The file is not usable media: not a video, truncated, no video stream, decoder crash."""

    exit_code = 3
    default_code = "E_INPUT_NOT_MEDIA"


class LimitError(GeoverifyError):
    """A resource limit was hit: pixels per frame, frame count, memory or wall time."""

    exit_code = 6
    default_code = "E_LIMIT"


class RegistryError(GeoverifyError, ValueError):
    """A registry or claims file is invalid; the message lists every problem found."""

    exit_code = 4
    default_code = "E_REGISTRY_INVALID"


class MissingDependencyError(GeoverifyError, ImportError):
    """An optional dependency is missing; the hint names the ``pip install`` to run."""

    exit_code = 1
    default_code = "E_MISSING_DEPENDENCY"


class OutputError(GeoverifyError):
    """An output cannot be written.

    A file where a folder should be, a read-only file system, a full disk, a symbolic link in
    the output folder, or a folder holding files geoverify did not write.
    """

    exit_code = 7
    default_code = "E_OUTPUT_WRITE"


class NetworkError(GeoverifyError):
    """A request to a server failed: unreachable, timed out, rate limited or a bad answer.

    Only commands whose job is to fetch (``registry fetch-osm``) use the network.
    """

    exit_code = 9
    default_code = "E_NET_UNREACHABLE"


EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_FAIL_ON = 8
EXIT_SOME_FAILED = 5
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

# Every exit code of the command line, with what it means (the README's table, tested).
EXIT_CODES: dict[int, str] = {
    0: 'ran; an "inconsistent" verdict is a result, not an error',
    EXIT_INTERNAL: "internal error (a bug)",
    EXIT_USAGE: "usage error",
    InputError.exit_code: (
        "input rejected: missing, empty, not media, a still image, truncated, no video stream, "
        "decoder crash"
    ),
    RegistryError.exit_code: "registry or claims file invalid",
    EXIT_SOME_FAILED: "batch finished, but some items failed (each has its row and error code)",
    LimitError.exit_code: (
        "a resource limit was hit (file size, pixels, frames, cells, memory, time)"
    ),
    OutputError.exit_code: "an output cannot be written (path, permissions, disk full, link)",
    EXIT_FAIL_ON: "a check gave the verdict `check --fail-on` names",
    NetworkError.exit_code: "a fetch failed: unreachable, timed out, rate limited, bad answer",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
    EXIT_TERMINATED: "terminated (SIGTERM)",
}
