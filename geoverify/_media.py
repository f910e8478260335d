"""Safe media opening: local regular files only, FFmpeg never sees a path string.

Untrusted files are opened only as local regular files, handed to FFmpeg as Python file
objects (so a user string is never parsed as a URL, protocol, ``concat:`` list or image-sequence
pattern), with nested opens (playlists) refused. ``open_media`` and ``demux_packets`` are the
one way the workers open a container and read a stream's packets, and ``ffmpeg_error`` the one
way an FFmpeg error becomes text. Everything here that touches PyAV runs inside the worker
process (``geoverify._worker``); ``DecodeLimits`` are the limits it runs under.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import os
import stat
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

from geoverify.errors import InputError, MediaError

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
        Wall-time limit of the worker, in seconds (in ``verify`` and ``frames``, one worker
        probes and scans: the limit covers both).
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


def ffmpeg_error(exc: BaseException, where: str = "", *, limit: int = 200) -> str:
    """Return an FFmpeg error as one line of text: ``where: ErrorClass: message``, cut."""
    text = f"{type(exc).__name__}: {exc}"
    return (f"{where}: {text}" if where else text)[:limit]


def open_media(fileobj: io.BufferedReader) -> Any:
    """``open_container``, with FFmpeg's refusal as ``E_INPUT_NOT_MEDIA``.

    Must be called inside the worker process.
    """
    import av

    try:
        return open_container(fileobj)
    except MemoryError:  # out of memory is a limit, not a damaged file
        raise
    except av.FFmpegError as exc:
        msg = f"FFmpeg cannot open the file as media: {exc}"[:300]
        raise MediaError(
            msg,
            code="E_INPUT_NOT_MEDIA",
            hint="Check that this is a video file and that it was fully downloaded.",
        ) from None


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
            errors.append(ffmpeg_error(exc, "demux"))
            return
        yield packet


def fraction_or_none(value: Any) -> Fraction | None:
    """Return a PyAV rational as a ``Fraction``, or ``None`` when absent or zero."""
    if value is None:
        return None
    frac = Fraction(value)
    return frac if frac != 0 else None


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


def str_dict(meta: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(meta).items()}


def timestamps_summary(
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


def _video_fields(stream: Any, cc: Any, limits: DecodeLimits) -> dict[str, Any]:
    """Return a video stream's sizes, rates and index timestamps (up to the frame limit)."""
    entries = stream.index_entries
    n = min(len(entries), limits.max_frames)
    timestamps = [entries[i].timestamp for i in range(n)]
    ends = [entries[i].pos + entries[i].size for i in range(n) if entries[i].pos >= 0]
    keys = sum(1 for i in range(n) if entries[i].is_keyframe)
    summary = timestamps_summary(timestamps, ends, keys, "index" if n else "")
    return {
        "width": cc.width,
        "height": cc.height,
        "sample_aspect_ratio": fraction_or_none(stream.sample_aspect_ratio),
        "pix_fmt": cc.pix_fmt,
        "average_rate": fraction_or_none(stream.average_rate),
        "base_rate": fraction_or_none(stream.base_rate),
        **summary,
    }


def read_stream(stream: Any, container: Any, limits: DecodeLimits) -> RawStream:
    """Read one stream's codec, timing, disposition and tags (worker side)."""
    cc = stream.codec_context
    disp = int(stream.disposition)
    base: dict[str, Any] = {
        "index": stream.index,
        "kind": stream.type,
        "codec": cc.name if cc is not None else None,
        "codec_tag": (cc.codec_tag or None) if cc is not None else None,
        "time_base": fraction_or_none(stream.time_base),
        "metadata": str_dict(stream.metadata),
        "attached_pic": bool(disp & 0x0400),  # AV_DISPOSITION_ATTACHED_PIC
        "default": bool(disp & 0x0001),  # AV_DISPOSITION_DEFAULT
        "duration_ts": stream.duration,
        "start_ts": stream.start_time,
        "header_frames": int(stream.frames or 0),
    }
    if stream.type == "video" and cc is not None:
        base.update(_video_fields(stream, cc, limits))
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
