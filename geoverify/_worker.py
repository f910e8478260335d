"""The isolated worker process and its protocol: ``python -m geoverify._worker``.

The work on an untrusted file runs in a spawned child process with an address-space limit and
a wall-time limit: a decoder crash, hang or memory blow-up becomes a structured ``MediaError``
or ``LimitError`` and the caller (CLI or notebook kernel) survives. Messages (progress, partial
results, the outcome) cross a pipe as framed pickles with their pixel buffers out of band.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any, TypeVar

from geoverify import errors
from geoverify._media import DecodeLimits
from geoverify.errors import GeoverifyError, LimitError, MediaError

T = TypeVar("T")


def _error_record(code: str, message: str, hint: str) -> dict[str, str]:
    return {"code": code, "message": message, "hint": hint, "detail": ""}


_progress_out: Any = None
_progress_last = 0.0


def report_progress(done: int, total: int | None) -> None:
    """Send a progress update to the parent; a no-op outside a worker. Throttled to 5 Hz."""
    global _progress_last
    if _progress_out is None:
        return
    now = time.monotonic()
    if now - _progress_last < 0.2 and (total is None or done < total):
        return
    _progress_last = now
    _write_message(_progress_out, b"P", (done, total))


def report_item(item: Any) -> None:
    """Send a partial result (a selected frame) to the parent as soon as it is final.

    A no-op outside a worker. The parent hands it to ``run_isolated``'s ``on_item``.
    """
    if _progress_out is not None:
        _write_message(_progress_out, b"I", item)


def _write_message(out: Any, kind: bytes, obj: Any) -> None:
    """Write one framed message: pickle with its large buffers (pixel arrays) out of band.

    Layout: kind (1 byte), pickle length and buffer count, each buffer's length, the pickle,
    then each buffer's raw bytes. Arrays are never copied into one big pickle.
    """
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    header = kind + struct.pack(">QI", len(data), len(raws))
    header += b"".join(struct.pack(">Q", r.nbytes) for r in raws)
    out.write(header)
    out.write(data)
    for r in raws:
        out.write(r)
    out.flush()


# OpenCV's code for a failed allocation (cv::Error::StsNoMem): under the worker's memory limit
# its allocator fails with this cv2.error where numpy raises MemoryError
_CV_STS_NO_MEM = -4


def _opencv_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is OpenCV's out-of-memory error (a ``cv2.error``, code StsNoMem)."""
    return type(exc).__module__.startswith("cv2") and getattr(exc, "code", None) == _CV_STS_NO_MEM


def child_main() -> None:
    """Worker entry point: read (func, args, memory limit) from stdin, write the outcome."""
    global _progress_out
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides about Ctrl-C
    func, args, max_memory_bytes = pickle.load(sys.stdin.buffer)
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (max_memory_bytes, max_memory_bytes))
    except (ImportError, ValueError, OSError):  # pragma: no cover - non-Linux
        pass
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print in a library must not corrupt the channel
    _progress_out = out
    outcome: tuple[Any, ...]
    try:
        outcome = ("ok", func(*args))
    except GeoverifyError as exc:
        outcome = ("err", type(exc).__name__, exc.to_dict())
    except Exception as exc:
        if isinstance(exc, MemoryError) or _opencv_out_of_memory(exc):
            message = f"the decoder needed more than {max_memory_bytes // 2**20} MiB"
            hint = "Raise the memory limit if the file is trusted, or check the file."
            outcome = ("err", "LimitError", _error_record("E_LIMIT_MEMORY", message, hint))
        else:
            message = f"the decoder failed: {type(exc).__name__}: {exc}"[:500]
            hint = "The file is probably corrupt or not a supported video."
            outcome = ("err", "MediaError", _error_record("E_DECODER_ERROR", message, hint))
    _write_message(out, b"R", outcome)


class _Reader:
    """Reads the worker's framed messages from a pipe, never past a deadline."""

    def __init__(self, fd: int, deadline: float) -> None:
        self.fd = fd
        self.deadline = deadline

    def read_exact(self, n: int) -> bytearray | None:
        """Read exactly ``n`` bytes into a new buffer; ``None`` at end of stream."""
        buf = bytearray(n)
        view = memoryview(buf)
        pos = 0
        while pos < n:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                raise TimeoutError
            got = os.readv(self.fd, [view[pos : pos + (1 << 24)]])
            if got == 0:
                return None
            pos += got
        return buf

    def read_message(self) -> tuple[bytes, Any] | None:
        """Read one framed message (see ``_write_message``): (kind, object) or ``None``."""
        head = self.read_exact(13)
        if head is None:
            return None
        size, count = struct.unpack(">QI", head[1:])
        sizes_raw = self.read_exact(8 * count) if count else bytearray()
        if sizes_raw is None:
            return None
        sizes = struct.unpack(f">{count}Q", sizes_raw) if count else ()
        data = self.read_exact(size)
        if data is None:
            return None
        buffers = []
        for n in sizes:
            chunk = self.read_exact(n)
            if chunk is None:
                return None
            buffers.append(chunk)
        # written by our own worker code, not by the untrusted file
        return bytes(head[:1]), pickle.loads(data, buffers=buffers)


def run_isolated(
    func: Callable[..., T],
    *args: Any,
    limits: DecodeLimits,
    progress: Callable[[int, int | None], None] | None = None,
    on_item: Callable[[Any], None] | None = None,
) -> T:
    """Run ``func(*args)`` in a separate Python process under ``limits``.

    The worker is a fresh interpreter (``python -m geoverify._worker``), so it never re-imports
    the caller's ``__main__`` and a crash there cannot take the caller down. ``func`` must be a
    module-level function; its arguments and result must be picklable. Calls of
    ``report_progress`` in the worker reach ``progress`` here, and ``report_item`` reaches
    ``on_item``.

    Raises
    ------
    MediaError
        ``E_DECODER_CRASH`` when the worker dies (segfault, abort); the error the worker raised
        otherwise.
    LimitError
        ``E_TIMEOUT`` after ``limits.timeout_s`` seconds; ``E_LIMIT_*`` from the worker.
    """
    payload = pickle.dumps((func, args, limits.max_memory_bytes), protocol=pickle.HIGHEST_PROTOCOL)
    with tempfile.TemporaryFile() as err_file:
        proc = subprocess.Popen(
            # -P: the current folder is not put on the worker's path, so a ``geoverify``
            # folder there (another checkout, a file's name) is not the code that runs
            [sys.executable, "-P", "-m", "geoverify._worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err_file,
            start_new_session=True,  # Ctrl-C in a terminal reaches the parent only
        )
        _widen_pipe(proc.stdout)
        try:
            message = _converse(proc, payload, limits, progress, on_item)
        except TimeoutError:
            msg = f"decoding took longer than the {limits.timeout_s:g} s time limit"
            hint = "The file may be crafted to hang the decoder; raise the limit only if trusted."
            raise LimitError(msg, code="E_TIMEOUT", hint=hint) from None
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if message is None:
            code = proc.returncode
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
            msg = f"the decoder process crashed ({how})"
            hint = "The file is corrupt or hostile; nothing decoded from it can be trusted."
            err_file.seek(0)
            tail = err_file.read()[-2000:].decode("utf-8", "replace").strip().splitlines()[-3:]
            raise MediaError(msg, code="E_DECODER_CRASH", hint=hint, detail="\n".join(tail))
    if message[0] == "ok":
        result: T = message[1]
        return result
    _, cls_name, record = message
    raise error_from_record(cls_name, record)


def error_from_record(cls_name: str, record: dict[str, Any]) -> errors.GeoverifyError:
    """Rebuild, in the parent, the error a worker sent as (class name, ``to_dict()`` record)."""
    cls = getattr(errors, cls_name, MediaError)
    error: errors.GeoverifyError = cls(
        record["message"], code=record["code"], hint=record["hint"], detail=record["detail"]
    )
    return error


_F_SETPIPE_SZ = 1031  # Linux fcntl command


def _widen_pipe(pipe: Any) -> None:
    """Ask for a 1 MiB pipe buffer (Linux): frames cross with far fewer context switches."""
    if pipe is None:
        return
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), _F_SETPIPE_SZ, 1 << 20)
    except (ImportError, OSError):
        pass


def _converse(
    proc: subprocess.Popen[bytes],
    payload: bytes,
    limits: DecodeLimits,
    progress: Callable[[int, int | None], None] | None,
    on_item: Callable[[Any], None] | None = None,
) -> Any:
    """Send the job, relay progress and items; return the final message (``None``: died)."""
    if proc.stdin is None or proc.stdout is None:  # pragma: no cover - pipes were requested
        return None
    try:
        proc.stdin.write(payload)
        proc.stdin.close()
    except BrokenPipeError:
        return None
    reader = _Reader(proc.stdout.fileno(), time.monotonic() + limits.timeout_s)
    while True:
        message = reader.read_message()
        if message is None:
            return None
        kind, obj = message
        if kind == b"P":
            if progress is not None:
                progress(*obj)
            continue
        if kind == b"I":
            if on_item is not None:
                on_item(obj)
            continue
        return obj


if __name__ == "__main__":
    # Run as ``python -m geoverify._worker``, this file is ``__main__``: the job must run in
    # the module the package imports (``geoverify._worker``), whose ``report_progress`` and
    # ``report_item`` the job calls, so their channel is set there.
    from geoverify import _worker

    _worker.child_main()
