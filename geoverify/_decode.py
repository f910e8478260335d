"""The one place that opens a video: PyAV, run in an isolated worker process.

Untrusted files are opened only as local regular files, handed to FFmpeg as Python file
objects (so a user string is never parsed as a URL, protocol, ``concat:`` list or image-sequence
pattern), with nested opens (playlists) refused. The work runs in a spawned child process with
an address-space limit and a wall-time limit: a decoder crash, hang or memory blow-up becomes a
structured ``MediaError`` or ``LimitError`` and the caller (CLI or notebook kernel) survives.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import logging
import os
import pickle
import select
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

from geoverify import errors
from geoverify.errors import GeoverifyError, InputError, LimitError, MediaError

__all__ = [
    "DecodeLimits",
    "check_local_file",
    "open_container",
    "report_item",
    "report_progress",
    "run_isolated",
    "sha256_file",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

_GIB = 1024**3
_HASH_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DecodeLimits:
    """Resource limits for work on an untrusted video.

    Attributes
    ----------
    max_pixels
        Largest frame (width x height) that will be decoded. Default 8192 x 8192.
    max_frames
        Most frames (or packets) read from one stream.
    max_memory_bytes
        Address-space limit of the worker process (``RLIMIT_AS``), in bytes.
    timeout_s
        Wall-time limit of the worker, in seconds.
    decoder_threads
        Threads of each FFmpeg decoder; 0 lets FFmpeg choose (about one per core). ``batch``
        gives each of several workers one, so that they do not compete for the cores.
    """

    max_pixels: int = 8192 * 8192
    max_frames: int = 2_000_000
    max_memory_bytes: int = 6 * _GIB
    timeout_s: float = 300.0
    decoder_threads: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.decoder_threads, int) or not 0 <= self.decoder_threads <= 64:
            msg = f"decoder_threads must be 0 (FFmpeg chooses) to 64, got {self.decoder_threads!r}"
            raise InputError(msg, code="E_INPUT_OPTION", hint="Fix the limit value.")
        for name in ("max_pixels", "max_frames", "max_memory_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                msg = f"{name} must be a positive integer, got {value!r}"
                raise InputError(msg, code="E_INPUT_OPTION", hint="Fix the limit value.")
        if not self.timeout_s > 0:
            msg = f"timeout_s must be positive, got {self.timeout_s!r}"
            raise InputError(msg, code="E_INPUT_OPTION", hint="Fix the limit value.")


def check_local_file(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a ``Path`` after checking it is a readable, non-empty regular file.

    Raises
    ------
    InputError
        Missing (``E_INPUT_MISSING``), not a regular file (``E_INPUT_NOT_FILE``), unreadable
        (``E_INPUT_UNREADABLE``) or empty (``E_INPUT_EMPTY``).
    """
    p = Path(os.fspath(path))
    try:
        st = p.stat()
    except FileNotFoundError:
        msg = f"no such file: {str(p)!r}"
        raise InputError(msg, code="E_INPUT_MISSING", hint="Check the path.") from None
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL in the name
        reason = getattr(exc, "strerror", None) or str(exc)
        msg = f"cannot access {str(p)!r}: {reason}"
        raise InputError(msg, code="E_INPUT_UNREADABLE", hint="Check the path.") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        msg = f"{str(p)!r} is {kind}"
        hint = "Give the path of a local video file (no URLs, devices, FIFOs or folders)."
        raise InputError(msg, code="E_INPUT_NOT_FILE", hint=hint)
    if not os.access(p, os.R_OK):
        msg = f"{str(p)!r} is not readable (permission denied)"
        raise InputError(msg, code="E_INPUT_UNREADABLE", hint="Check the file's permissions.")
    if st.st_size == 0:
        msg = f"{str(p)!r} is empty (0 bytes)"
        hint = "The download or copy may have failed; fetch the file again."
        raise InputError(msg, code="E_INPUT_EMPTY", hint=hint)
    return p


def sha256_file(path: str | os.PathLike[str], *, chunk_bytes: int = _HASH_CHUNK) -> str:
    """Return the SHA-256 hex digest of a file, read in chunks (constant memory)."""
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        buf = bytearray(chunk_bytes)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            digest.update(view[:n])
    return digest.hexdigest()


def _refuse_nested_open(url: str, flags: int, options: object) -> Any:
    msg = f"nested open of {url!r} refused"
    raise PermissionError(msg)


def open_container(fileobj: io.BufferedReader) -> Any:
    """Open an already opened local file with PyAV; FFmpeg never sees a path string.

    Must be called inside the worker process.
    """
    import av  # imported here: only worker processes load the decoder

    return av.open(
        fileobj,
        mode="r",
        metadata_errors="surrogateescape",
        io_open=_refuse_nested_open,
    )


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


def demux_packets(container: Any, stream: Any, errors: list[str]) -> Iterator[Any]:
    """Yield the stream's packets in file order; a demuxer error ends them and is recorded.

    Must be called inside the worker process. The final empty packet that drains a decoder
    is yielded too.
    """
    import av

    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except MemoryError:  # out of memory is a limit, not a damaged file
            raise
        except av.FFmpegError as exc:
            errors.append(f"demux: {type(exc).__name__}: {exc}"[:200])
            return
        yield packet


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
    except MemoryError:
        message = f"the decoder needed more than {max_memory_bytes // 2**20} MiB"
        hint = "Raise the memory limit if the file is trusted, or check the file."
        outcome = ("err", "LimitError", _error_record("E_LIMIT_MEMORY", message, hint))
    except Exception as exc:
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
            [sys.executable, "-m", "geoverify._worker"],
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
    cls = getattr(errors, cls_name, MediaError)
    raise cls(record["message"], code=record["code"], hint=record["hint"], detail=record["detail"])


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


def fraction_or_none(value: Any) -> Fraction | None:
    """Return a PyAV rational as a ``Fraction``, or ``None`` when absent or zero."""
    if value is None:
        return None
    frac = Fraction(value)
    return frac if frac != 0 else None


# --- raw container reading (runs inside the worker) -------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RawStream:
    """What the demuxer says of one stream; plain values, safe to pickle."""

    index: int
    kind: str
    codec: str | None
    codec_tag: str | None
    time_base: Fraction | None
    metadata: dict[str, str]
    attached_pic: bool
    default: bool
    width: int = 0
    height: int = 0
    sample_aspect_ratio: Fraction | None = None
    pix_fmt: str | None = None
    average_rate: Fraction | None = None
    base_rate: Fraction | None = None
    header_frames: int = 0
    duration_ts: int | None = None
    start_ts: int | None = None
    timestamps_from: str = ""
    ts_count: int = 0
    ts_first: int | None = None
    ts_last: int | None = None
    ts_delta_min: int | None = None
    ts_delta_max: int | None = None
    ts_delta_median: int | None = None
    keyframe_count: int = 0
    data_end_byte: int | None = None
    sample_rate: int = 0
    channels: int = 0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RawFirstFrame:
    """The first decodable frame of the chosen video stream (or why there is none)."""

    decoded: bool
    pts: int | None = None
    key_frame: bool = False
    rotation_deg: int | None = None
    error: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RawContainer:
    """What the worker read from a container: format, streams, tags, first frame, GPMF."""

    format_name: str
    format_long_name: str
    duration_us: int | None
    start_time_us: int | None
    bit_rate: int | None
    metadata: dict[str, str]
    streams: tuple[RawStream, ...]
    video_index: int | None
    video_reason: str
    first_frame: RawFirstFrame | None
    gpmf_payloads: tuple[tuple[float, bytes], ...]
    gpmf_truncated: bool
    library_versions: dict[str, str]


_GPMF_MAX_BYTES = 16 * 2**20


def _str_dict(meta: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(meta).items()}


def _timestamps_summary(
    timestamps: list[int], ends: list[int], keys: int, source: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"timestamps_from": source, "ts_count": len(timestamps)}
    if not timestamps:
        return out
    ts = sorted(timestamps)
    deltas = sorted(b - a for a, b in itertools.pairwise(ts) if b > a)
    out.update(ts_first=ts[0], ts_last=ts[-1], keyframe_count=keys)
    if deltas:
        out.update(
            ts_delta_min=deltas[0],
            ts_delta_max=deltas[-1],
            ts_delta_median=deltas[len(deltas) // 2],
        )
    if ends:
        out["data_end_byte"] = max(ends)
    return out


def read_stream(stream: Any, container: Any, limits: DecodeLimits) -> RawStream:
    cc = stream.codec_context
    disp = int(stream.disposition)
    base: dict[str, Any] = {
        "index": stream.index,
        "kind": stream.type,
        "codec": cc.name if cc is not None else None,
        "codec_tag": (cc.codec_tag or None) if cc is not None else None,
        "time_base": fraction_or_none(stream.time_base),
        "metadata": _str_dict(stream.metadata),
        "attached_pic": bool(disp & 0x0400),  # AV_DISPOSITION_ATTACHED_PIC
        "default": bool(disp & 0x0001),  # AV_DISPOSITION_DEFAULT
        "duration_ts": stream.duration,
        "start_ts": stream.start_time,
        "header_frames": int(stream.frames or 0),
    }
    if stream.type == "video" and cc is not None:
        entries = stream.index_entries
        n = min(len(entries), limits.max_frames)
        timestamps = [entries[i].timestamp for i in range(n)]
        ends = [entries[i].pos + entries[i].size for i in range(n) if entries[i].pos >= 0]
        keys = sum(1 for i in range(n) if entries[i].is_keyframe)
        summary = _timestamps_summary(timestamps, ends, keys, "index" if n else "")
        base.update(
            width=cc.width,
            height=cc.height,
            sample_aspect_ratio=fraction_or_none(stream.sample_aspect_ratio),
            pix_fmt=cc.pix_fmt,
            average_rate=fraction_or_none(stream.average_rate),
            base_rate=fraction_or_none(stream.base_rate),
            **summary,
        )
    elif stream.type == "audio" and cc is not None:
        base.update(sample_rate=int(cc.sample_rate or 0), channels=int(cc.channels or 0))
    return RawStream(**base)


def choose_video(streams: list[RawStream]) -> tuple[int | None, str]:
    videos = [s for s in streams if s.kind == "video"]
    if not videos:
        return None, "the file has no video stream"
    motion = [s for s in videos if not s.attached_pic]
    if not motion:
        return None, "the only video streams are cover art (attached pictures)"
    skipped = len(videos) - len(motion)
    best = max(motion, key=lambda s: (s.default, s.width * s.height, s.ts_count or s.header_frames))
    why = "the only video stream" if len(motion) == 1 else "the default, largest video stream"
    if skipped:
        why += f"; {skipped} cover-art stream(s) skipped"
    if len(motion) > 1:
        others = ", ".join(str(s.index) for s in motion if s.index != best.index)
        why += f"; other video streams: {others}"
    return best.index, why


def _demux_timestamps(container: Any, stream: Any, limits: DecodeLimits) -> dict[str, Any]:
    """Timestamps by reading packets, for containers without an index (MKV, MPEG-TS)."""
    import av

    timestamps: list[int] = []
    ends: list[int] = []
    keys = 0
    try:
        for packet in container.demux(stream):
            if packet.pts is None and packet.dts is None:
                continue
            timestamps.append(packet.pts if packet.pts is not None else packet.dts)
            if packet.pos is not None and packet.pos >= 0:
                ends.append(packet.pos + packet.size)
            keys += bool(packet.is_keyframe)
            if len(timestamps) >= limits.max_frames:
                break
    except MemoryError:  # out of memory is a limit, not a damaged file
        raise
    except av.FFmpegError:
        pass
    container.seek(0)
    return _timestamps_summary(timestamps, ends, keys, "packets")


def _decode_first_frame(container: Any, stream: Any, limits: DecodeLimits) -> RawFirstFrame:
    import av

    cc = stream.codec_context
    if cc.width * cc.height > limits.max_pixels:
        return RawFirstFrame(
            decoded=False,
            error=f"frame size {cc.width}x{cc.height} is over the pixel limit; not decoded",
        )
    packets = 0
    try:
        container.seek(0)
        for packet in container.demux(stream):
            packets += 1
            for frame in packet.decode():
                return RawFirstFrame(
                    decoded=True,
                    pts=frame.pts,
                    key_frame=bool(frame.key_frame),
                    rotation_deg=round(frame.rotation or 0),
                )
            if packets > 1000:
                break
    except MemoryError:  # out of memory is a limit, not a damaged file
        raise
    except av.FFmpegError as exc:
        return RawFirstFrame(decoded=False, error=f"{type(exc).__name__}: {exc}"[:300])
    return RawFirstFrame(decoded=False, error=f"no frame decoded from {packets} packet(s)")


def _read_gpmf(
    container: Any, limits: DecodeLimits
) -> tuple[tuple[tuple[float, bytes], ...], bool]:
    import av

    # GoPro writes its telemetry (GPMF) in a data track whose handler is "GoPro MET".
    gpmd = [
        s
        for s in container.streams
        if s.type == "data" and "GoPro MET" in str(s.metadata.get("handler_name", ""))
    ]
    if not gpmd:
        return (), False
    stream = gpmd[0]
    payloads: list[tuple[float, bytes]] = []
    total = 0
    truncated = False
    container.seek(0)
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            t = float(packet.pts * packet.time_base) if packet.pts is not None else -1.0
            data = bytes(packet)
            total += len(data)
            if total > _GPMF_MAX_BYTES or len(payloads) >= limits.max_frames:
                truncated = True
                break
            payloads.append((t, data))
    except MemoryError:  # out of memory is a limit, not a damaged file
        raise
    except av.FFmpegError:
        truncated = True
    return tuple(payloads), truncated


def read_container(path: str, limits: DecodeLimits) -> RawContainer:
    """Read format, streams, tags, the first frame and GoPro GPMF payloads (worker side)."""
    import av

    with open(path, "rb") as fh:
        try:
            container = open_container(fh)
        except MemoryError:  # out of memory is a limit, not a damaged file
            raise
        except av.FFmpegError as exc:
            msg = f"FFmpeg cannot open the file as media: {exc}"[:300]
            raise MediaError(
                msg,
                code="E_INPUT_NOT_MEDIA",
                hint="Check that this is a video file and that it was fully downloaded.",
            ) from None
        with container:
            streams = [read_stream(s, container, limits) for s in container.streams]
            video_index, reason = choose_video(streams)
            first: RawFirstFrame | None = None
            if video_index is not None:
                stream = container.streams[video_index]
                raw = streams[video_index]
                # MP4/QuickTime and AVI indexes list every sample; other indexes (Matroska
                # cues) list only some keyframes, so read the packets instead.
                full_index = (
                    container.format.name.startswith("mov") or container.format.name == "avi"
                )
                if raw.ts_count == 0 or not full_index:
                    streams[video_index] = dataclasses.replace(
                        raw, **_demux_timestamps(container, stream, limits)
                    )
                first = _decode_first_frame(container, stream, limits)
            gpmf, gpmf_truncated = _read_gpmf(container, limits)
            versions = {k: ".".join(map(str, v)) for k, v in av.library_versions.items()}
            versions["pyav"] = av.__version__
            versions["ffmpeg"] = str(av.ffmpeg_version_info)
            return RawContainer(
                format_name=container.format.name,
                format_long_name=container.format.long_name,
                duration_us=container.duration,
                start_time_us=container.start_time,
                bit_rate=container.bit_rate or None,
                metadata=_str_dict(container.metadata),
                streams=tuple(streams),
                video_index=video_index,
                video_reason=reason,
                first_frame=first,
                gpmf_payloads=gpmf,
                gpmf_truncated=gpmf_truncated,
                library_versions=versions,
            )
