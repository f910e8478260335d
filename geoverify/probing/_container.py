"""Probe's container reading, inside the worker: format, streams, tags, first frame, GPMF.

Plain values only (safe to pickle back to the parent): ``read_container`` is what
``geoverify.probing.probe`` runs in the isolated worker.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from geoverify._media import (
    DecodeLimits,
    RawStream,
    choose_video,
    demux_packets,
    ffmpeg_error,
    open_media,
    read_stream,
    str_dict,
    timestamps_summary,
)

# demuxers that read a still image: such a "video" is refused (probe), never scanned
IMAGE_DEMUXERS = frozenset({"image2", "jpeg_pipe", "png_pipe", "gif", "webp_pipe", "bmp_pipe"})

_GPMF_MAX_BYTES = 16 * 2**20


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


@dataclasses.dataclass(slots=True)
class PacketLog:
    """The video packets probe demuxed, for the frame scan in the same worker (``footage``).

    ``order``: (pts, keyframe) of every packet with a presentation time, in file order;
    ``complete``: the demux reached the end of the stream, with no error and under the frame
    limit (only then is it the stream's whole packet index).
    """

    order: list[tuple[int, bool]] = dataclasses.field(default_factory=list)
    complete: bool = False

    def whole_stream(self) -> list[tuple[int, bool]] | None:
        """Return the packets when they are the whole stream's (else ``None``: demux again)."""
        return self.order if self.complete and self.order else None


def has_video(raw: RawContainer) -> bool:
    """Whether the container read has a video stream that is not a still image's."""
    return raw.video_index is not None and raw.format_name not in IMAGE_DEMUXERS


def _demux_timestamps(
    container: Any, stream: Any, limits: DecodeLimits, log: PacketLog | None = None
) -> dict[str, Any]:
    """Timestamps by reading packets, for containers without an index (MKV, MPEG-TS).

    A demuxer error ends the reading: the timestamps up to it are summarised. ``log`` records
    the packets for the stage after probe.
    """
    timestamps: list[int] = []
    ends: list[int] = []
    keys = 0
    errors: list[str] = []
    cut = False
    for packet in demux_packets(container, stream, errors):
        if packet.pts is None and packet.dts is None:
            continue
        timestamps.append(packet.pts if packet.pts is not None else packet.dts)
        if packet.pos is not None and packet.pos >= 0:
            ends.append(packet.pos + packet.size)
        keys += bool(packet.is_keyframe)
        if log is not None and packet.pts is not None:
            log.order.append((packet.pts, bool(packet.is_keyframe)))
        if len(timestamps) >= limits.max_frames:
            cut = True
            break
    if log is not None:
        log.complete = not errors and not cut
    container.seek(0)
    return timestamps_summary(timestamps, ends, keys, "packets")


def _decode_first_frame(container: Any, stream: Any, limits: DecodeLimits) -> RawFirstFrame:
    import av

    cc = stream.codec_context
    if cc.width * cc.height > limits.max_pixels:
        return RawFirstFrame(
            decoded=False,
            error=f"frame size {cc.width}x{cc.height} is over the pixel limit; not decoded",
        )
    packets = 0
    errors: list[str] = []
    container.seek(0)
    for packet in demux_packets(container, stream, errors):
        packets += 1
        try:
            for frame in packet.decode():
                return RawFirstFrame(
                    decoded=True,
                    pts=frame.pts,
                    key_frame=bool(frame.key_frame),
                    rotation_deg=round(frame.rotation or 0),
                )
        except MemoryError:  # out of memory is a limit, not a damaged file
            raise
        except av.FFmpegError as exc:
            return RawFirstFrame(decoded=False, error=ffmpeg_error(exc, limit=300))
        if packets > 1000:
            break
    if errors:
        return RawFirstFrame(decoded=False, error=errors[0])
    return RawFirstFrame(decoded=False, error=f"no frame decoded from {packets} packet(s)")


def _read_gpmf(
    container: Any, limits: DecodeLimits
) -> tuple[tuple[tuple[float, bytes], ...], bool]:

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
    errors: list[str] = []
    for packet in demux_packets(container, stream, errors):
        if packet.size == 0:
            continue
        t = float(packet.pts * packet.time_base) if packet.pts is not None else -1.0
        data = bytes(packet)
        total += len(data)
        if total > _GPMF_MAX_BYTES or len(payloads) >= limits.max_frames:
            truncated = True
            break
        payloads.append((t, data))
    return tuple(payloads), truncated or bool(errors)


def read_container(path: str, limits: DecodeLimits, log: PacketLog | None = None) -> RawContainer:
    """Read format, streams, tags, the first frame and GoPro GPMF payloads (worker side).

    ``log`` receives the video packets when they are demuxed (containers without a full
    index); it stays empty when the index gave the timestamps.
    """
    import av

    with open(path, "rb") as fh:
        container = open_media(fh)
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
                        raw, **_demux_timestamps(container, stream, limits, log)
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
                metadata=str_dict(container.metadata),
                streams=tuple(streams),
                video_index=video_index,
                video_reason=reason,
                first_frame=first,
                gpmf_payloads=gpmf,
                gpmf_truncated=gpmf_truncated,
                library_versions=versions,
            )
