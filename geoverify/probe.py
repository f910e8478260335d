"""Stage 1, probe: what a video file is and what it claims about itself.

Input: a path to a local video file (untrusted). Output: a frozen ``MediaInfo`` with the file's
identity (size, SHA-256, container sniffed from its bytes), its streams (the video stream used
and why, codec, stored and display size, rotation, exact frame rates, variable frame rate,
duration from timestamps), every capture claim found (creation times with and without a zone,
ISO 6709 locations, device, GoPro GPMF GPS), and trust notes with stable codes.

Nothing here decodes media in this process: the demuxer and decoder run in the isolated worker
of ``geoverify._decode``. This module only reads the file's first bytes and, for MP4/QuickTime,
walks its box headers (bounded, pure Python) to sniff the format, find truncation and read the
track matrix.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math
import os
import re
import struct
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

from geoverify._decode import (
    DecodeLimits,
    RawContainer,
    check_local_file,
    read_container,
    run_isolated,
    sha256_file,
)
from geoverify._gpmf import GpmfFix, parse_gps5
from geoverify.errors import GeoverifyError, InputError, MediaError
from geoverify.models import LatLon, Note, Severity, sanitize_text

__all__ = [
    "AudioStreamInfo",
    "ContainerInfo",
    "CreationTime",
    "DeviceInfo",
    "GpsTrack",
    "LocationClaim",
    "MediaInfo",
    "MetadataTag",
    "VideoStreamInfo",
    "parse_iso6709",
    "probe",
    "sha256_file",
]

PROBE_SCHEMA = "geoverify.probe/1"
_MAX_TAG_CHARS = 65536
_MAX_MOOV_BYTES = 64 * 2**20
# Capture devices and FFmpeg cannot produce dates before these; anything earlier is an epoch
# default (1904 in QuickTime, 1970 in Unix) or garbage.
_EARLIEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=UTC)


# --- result types ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MetadataTag:
    """One metadata tag verbatim (as valid UTF-8), with where it was found.

    ``scope`` is ``"container"`` or ``"stream N"``. ``truncated_from_chars`` is set when a very
    long value was cut for the report. ``invalid_utf8`` is set when the file's bytes were not
    UTF-8: those bytes show as U+FFFD.
    """

    scope: str
    key: str
    value: str
    truncated_from_chars: int | None = None
    invalid_utf8: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ContainerInfo:
    """The container as sniffed from its bytes and as the demuxer read it.

    Attributes
    ----------
    format_sniffed
        Format recognised from the file's first bytes (``mp4``, ``quicktime``, ``matroska``,
        ``webm``, ``avi``, ``mpegts``, ...), or ``"unknown"``.
    demuxer
        The FFmpeg demuxer that opened it.
    extension
        The file name's extension, lower case, without the dot.
    major_brand
        ISO base media ``ftyp`` major brand, when present.
    duration_s, start_time_s
        Container duration and start time, seconds (``None`` when unknown).
    bit_rate
        Overall bit rate, bits per second.
    """

    format_sniffed: str
    demuxer: str
    demuxer_long_name: str
    extension: str
    major_brand: str | None
    duration_s: float | None
    start_time_s: float | None
    bit_rate: int | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VideoStreamInfo:
    """The video stream geoverify uses.

    ``rotation_deg`` is the clockwise rotation, in {0, 90, 180, 270}, that a player applies to
    show the picture upright; ``display_width`` and ``display_height`` are after that rotation
    and the sample aspect ratio. Frame rates are exact fractions. ``variable_frame_rate`` is
    ``None`` when the timestamps could not be read. ``duration_s`` comes from the stream's
    timestamps, never from a frame count divided by a rate.
    """

    index: int
    chosen_because: str
    codec: str | None
    codec_tag: str | None
    pix_fmt: str | None
    stored_width: int
    stored_height: int
    sample_aspect_ratio: Fraction | None
    rotation_deg: int
    rotation_source: str
    display_width: int
    display_height: int
    average_frame_rate: Fraction | None
    nominal_frame_rate: Fraction | None
    variable_frame_rate: bool | None
    time_base: Fraction | None
    start_time_s: float | None
    duration_s: float | None
    frame_count_header: int | None
    frame_count_timestamps: int
    keyframe_count: int
    timestamps_from: str
    first_frame_decoded: bool
    first_frame_note: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AudioStreamInfo:
    """An audio stream: index, codec, sample rate (Hz), channels."""

    index: int
    codec: str | None
    sample_rate_hz: int
    channels: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CreationTime:
    """A creation time the file claims.

    Attributes
    ----------
    source
        Where it was found, e.g. ``container creation_time`` or
        ``com.apple.quicktime.creationdate``.
    raw
        The value verbatim.
    utc
        The instant in UTC as the field states it, or ``None`` when it cannot be parsed.
    zone_stated
        Whether the value itself carries a time zone. QuickTime/MP4 header times carry none:
        FFmpeg prints them with ``Z`` because the format says UTC, but many cameras write local
        time there.
    local_offset
        The UTC offset written in the value (``+03:00``), when there is one.
    """

    source: str
    raw: str
    utc: datetime | None
    zone_stated: bool
    local_offset: str | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LocationClaim:
    """A location tag, parsed strictly as ISO 6709.

    ``position`` is ``None`` when the string does not parse or is out of range; ``problem``
    then says why. ``altitude_m`` and ``accuracy_m`` (the Apple horizontal accuracy radius)
    are ``None`` when absent.
    """

    source: str
    raw: str
    position: LatLon | None
    altitude_m: float | None
    accuracy_m: float | None
    problem: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInfo:
    """Device make, model, software and firmware, as the file claims them."""

    make: str | None = None
    model: str | None = None
    software: str | None = None
    firmware: str | None = None
    android_version: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GpsTrack:
    """A GPS track embedded in the file (GoPro GPMF): one fix per telemetry payload (about 1 Hz).

    ``fixes`` hold the last sample of each payload; ``sample_count`` counts every sample.
    """

    source: str
    fixes: tuple[GpmfFix, ...]
    sample_count: int
    first_time_utc: datetime | None
    last_time_utc: datetime | None
    truncated: bool


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MediaInfo:
    """Everything ``probe`` found about one file. Convert with ``models.to_jsonable``."""

    schema: str
    path: str
    size_bytes: int
    sha256: str
    container: ContainerInfo
    video: VideoStreamInfo | None
    audio: tuple[AudioStreamInfo, ...]
    data_streams: tuple[str, ...]
    creation_times: tuple[CreationTime, ...]
    locations: tuple[LocationClaim, ...]
    device: DeviceInfo
    gps_track: GpsTrack | None
    media_data_complete: bool | None
    tags: tuple[MetadataTag, ...]
    notes: tuple[Note, ...]
    decoder_versions: Mapping[str, str]

    def _repr_html_(self) -> str:
        """Show identity, video, claims and trust notes as a table in Jupyter (escaped)."""
        import html

        rows = [
            ("file", self.path),
            ("sha256", self.sha256),
            ("container", self.container.format_sniffed),
        ]
        if self.video is not None:
            v = self.video
            rows.append(
                (
                    "video",
                    f"{v.codec} {v.display_width}x{v.display_height}, rotation {v.rotation_deg}",
                )
            )
        rows += [("created", f"{t.raw} ({t.source})") for t in self.creation_times]
        rows += [("location", f"{loc.raw} ({loc.source})") for loc in self.locations]
        rows += [(n.code, n.message) for n in self.notes]
        body = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(val))}</td></tr>" for k, val in rows
        )
        return f"<table>{body}</table>"


# --- hashing -----------------------------------------------------------------------------------


# --- sniffing ----------------------------------------------------------------------------------

_QT_BRANDS = {"qt  "}
_EXTENSIONS = {
    "mp4": {"mp4", "m4v", "mov", "3gp", "3g2", "m4a"},
    "quicktime": {"mov", "mp4", "qt", "m4v"},
    "matroska": {"mkv", "mka", "mk3d"},
    "webm": {"webm", "mkv"},
    "avi": {"avi"},
    "mpegts": {"ts", "mts", "m2ts", "tsv"},
    "flv": {"flv"},
    "ogg": {"ogg", "ogv"},
    "asf": {"wmv", "asf"},
    "mpegps": {"mpg", "mpeg", "vob"},
}
_STILL_IMAGES = {"jpeg", "png", "gif", "webp", "bmp", "tiff"}


def _sniff(head: bytes) -> str:
    """Name the format from the first bytes of a file."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12].decode("latin-1")
        if brand in _QT_BRANDS:
            return "quicktime"
        if brand.startswith(("hei", "mif1", "avif", "msf1")):
            return "heif"
        return "mp4"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "quicktime"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else "matroska"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if len(head) > 376 and head[0] == 0x47 and head[188] == 0x47 and head[376] == 0x47:
        return "mpegts"
    if head.startswith(b"FLV"):
        return "flv"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "asf"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpegps"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"BM"):
        return "bmp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3", b"fLaC")):
        return "audio"
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<?xml", b"<svg")):
        return "html/xml"
    if stripped.startswith(b"#extm3u"):
        return "playlist"
    return "unknown"


@dataclasses.dataclass(frozen=True, slots=True)
class _BmffScan:
    boxes: tuple[str, ...]
    overruns: bool
    moov_rotation_deg: int | None


def _scan_bmff(path: Path, size: int) -> _BmffScan:
    """Walk top-level ISO BMFF boxes; read the first video track's tkhd matrix from moov."""
    boxes: list[str] = []
    overruns = False
    rotation: int | None = None
    with open(path, "rb") as fh:
        pos = 0
        while pos + 8 <= size and len(boxes) < 10000:
            fh.seek(pos)
            header = fh.read(16)
            if len(header) < 8:
                break
            box_size, kind_b = struct.unpack(">I4s", header[:8])
            kind = kind_b.decode("latin-1")
            header_len = 8
            if box_size == 1 and len(header) >= 16:
                box_size = struct.unpack(">Q", header[8:16])[0]
                header_len = 16
            elif box_size == 0:
                box_size = size - pos
            if box_size < header_len:
                overruns = True
                break
            boxes.append(kind)
            if pos + box_size > size:
                overruns = True
                break
            if kind == "moov" and box_size <= _MAX_MOOV_BYTES and rotation is None:
                fh.seek(pos + header_len)
                rotation = _tkhd_rotation(fh.read(box_size - header_len))
            pos += box_size
    return _BmffScan(tuple(boxes), overruns, rotation)


def _children(buf: bytes, start: int, end: int) -> list[tuple[str, int, int]]:
    out = []
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", buf, pos)
        hlen = 8
        if size == 1 and pos + 16 <= end:
            size = struct.unpack_from(">Q", buf, pos + 8)[0]
            hlen = 16
        if size < hlen or pos + size > end:
            break
        out.append((kind.decode("latin-1"), pos + hlen, pos + size))
        pos += size
    return out


def _tkhd_rotation(moov: bytes) -> int | None:
    """Clockwise display rotation from the tkhd matrix of the first video track."""
    for kind, start, end in _children(moov, 0, len(moov)):
        if kind != "trak":
            continue
        parts = {k: (s, e) for k, s, e in _children(moov, start, end)}
        if "tkhd" not in parts or "mdia" not in parts:
            continue
        mdia = {k: (s, e) for k, s, e in _children(moov, *parts["mdia"])}
        if "hdlr" not in mdia:
            continue
        hs, _ = mdia["hdlr"]
        if moov[hs + 8 : hs + 12] != b"vide":
            continue
        ts, te = parts["tkhd"]
        version = moov[ts]
        matrix_at = ts + (52 if version == 1 else 40)
        if matrix_at + 36 > te:
            return None
        a, b, _u, c, d, _v = struct.unpack_from(">iiiiii", moov, matrix_at)
        # Matrix [a b; c d] in 16.16 fixed point maps stored to displayed pixels; for a
        # clockwise turn by theta, a = cos(theta), b = sin(theta).
        if a == b == c == d == 0:
            return None
        angle = math.degrees(math.atan2(b / 65536.0, a / 65536.0))
        return round(angle / 90.0) * 90 % 360
    return None


# --- claims parsing ----------------------------------------------------------------------------

_ISO6709 = re.compile(
    r"^(?P<lat>[+-]\d{2}(?:\d{2}(?:\d{2})?)?(?:\.\d+)?)"
    r"(?P<lon>[+-]\d{3}(?:\d{2}(?:\d{2})?)?(?:\.\d+)?)"
    r"(?P<alt>[+-]\d+(?:\.\d+)?)?"
    r"(?:CRS[A-Za-z0-9_:]+)?/$"
)


def _iso_angle(text: str, degree_digits: int) -> float:
    sign = -1.0 if text[0] == "-" else 1.0
    body = text[1:]
    whole, _, frac = body.partition(".")
    frac_val = float("0." + frac) if frac else 0.0
    if len(whole) == degree_digits:
        return sign * (int(whole) + frac_val)
    deg = int(whole[:degree_digits])
    minutes = int(whole[degree_digits : degree_digits + 2])
    if minutes >= 60:
        msg = "minutes of 60 or more"
        raise ValueError(msg)
    if len(whole) == degree_digits + 2:
        return sign * (deg + (minutes + frac_val) / 60.0)
    seconds = int(whole[degree_digits + 2 :]) + frac_val
    if seconds >= 60:
        msg = "seconds of 60 or more"
        raise ValueError(msg)
    return sign * (deg + minutes / 60.0 + seconds / 3600.0)


def parse_iso6709(text: str) -> tuple[LatLon, float | None]:
    """Parse an ISO 6709 point string such as ``+32.0929+034.8620+028.516/``.

    Accepts decimal degrees, degrees-minutes and degrees-minutes-seconds forms, with optional
    altitude and ``CRS`` suffix; requires the closing ``/``.

    Returns
    -------
    (LatLon, altitude_m or None)

    Raises
    ------
    InputError
        ``E_ISO6709`` when the string is malformed, ``E_COORD_RANGE`` when out of range.
    """
    match = _ISO6709.match(text.strip())
    if match is None:
        msg = f"not an ISO 6709 point: {text[:80]!r}"
        raise InputError(msg, code="E_ISO6709", hint="Expected a form like +DD.DDDD+DDD.DDDD/.")
    try:
        lat = _iso_angle(match["lat"], 2)
        lon = _iso_angle(match["lon"], 3)
    except ValueError as exc:
        msg = f"not an ISO 6709 point: {text[:80]!r} ({exc})"
        raise InputError(msg, code="E_ISO6709", hint="Check the minutes and seconds.") from None
    alt = float(match["alt"]) if match["alt"] else None
    return LatLon(lat, lon), alt


# Keys compared in lower case: Matroska writes tag names in upper case.
_LOCATION_KEYS = ("com.apple.quicktime.location.iso6709", "location", "location-eng")
_ACCURACY_KEY = "com.apple.quicktime.location.accuracy.horizontal"


def _folded(meta: Mapping[str, str]) -> dict[str, str]:
    """Metadata with lower-case keys (the first of keys that differ only in case wins)."""
    out: dict[str, str] = {}
    for key, value in meta.items():
        out.setdefault(key.lower(), value)
    return out


_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})$")


def _parse_time(raw: str) -> tuple[datetime | None, bool, str | None]:
    """Parse a metadata time: (UTC instant or None, zone stated, offset text)."""
    text = raw.strip()
    if not text:
        return None, False, None
    zone = text.endswith("Z") or bool(_OFFSET.search(text))
    offset_text = None
    candidate = text
    m = _OFFSET.search(text)
    if m and "T" in text:
        offset_text = f"{m[1]}{m[2]}:{m[3]}"
        candidate = text[: m.start()] + offset_text
    try:
        parsed = datetime.fromisoformat(candidate.replace(" ", "T", 1))
    except ValueError:
        return None, zone, offset_text
    if parsed.tzinfo is None:
        return None, False, None
    return parsed.astimezone(UTC), zone, offset_text


def _creation_times(raw: RawContainer) -> list[CreationTime]:
    out: list[CreationTime] = []
    seen: set[tuple[str, str]] = set()

    def add(source: str, value: str, header_time: bool) -> None:
        if (source, value) in seen:
            return
        seen.add((source, value))
        utc, zone, offset = _parse_time(value)
        if header_time and utc is None:
            # A header time without Z or offset: the MP4/QuickTime format defines it as UTC.
            try:
                naive = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
                utc = naive.replace(tzinfo=UTC) if naive.tzinfo is None else naive
            except ValueError:
                utc = None
        if header_time:
            zone = False  # the 'Z' is FFmpeg's reading of the format rule, not the camera's
        out.append(
            CreationTime(source=source, raw=value, utc=utc, zone_stated=zone, local_offset=offset)
        )

    meta = _folded(raw.metadata)
    if "com.apple.quicktime.creationdate" in meta:
        add("com.apple.quicktime.creationdate", meta["com.apple.quicktime.creationdate"], False)
    if "creation_time" in meta:
        add("container creation_time", meta["creation_time"], True)
    for key in ("date", "date-eng", "date_recorded"):
        if key in meta:
            add(f"container {key}", meta[key], False)
    container_value = meta.get("creation_time")
    for s in raw.streams:
        value = s.metadata.get("creation_time")
        if value is not None and value != container_value:
            add(f"stream {s.index} creation_time", value, True)
    return out


def _locations(raw: RawContainer) -> list[LocationClaim]:
    out: list[LocationClaim] = []
    accuracy: float | None = None
    meta = _folded(raw.metadata)
    acc_raw = meta.get(_ACCURACY_KEY)
    if acc_raw is not None:
        try:
            acc = float(acc_raw)
            accuracy = acc if math.isfinite(acc) and acc >= 0 else None
        except ValueError:
            accuracy = None
    seen_values: set[str] = set()
    for key in _LOCATION_KEYS:
        value = meta.get(key)
        if value is None or value in seen_values:
            continue
        seen_values.add(value)
        try:
            pos, alt = parse_iso6709(value)
            problem = ""
        except InputError as exc:
            pos, alt, problem = None, None, exc.message
        out.append(
            LocationClaim(
                source=next((k for k in raw.metadata if k.lower() == key), key),
                raw=value,
                position=pos,
                altitude_m=alt,
                accuracy_m=accuracy if key.startswith("com.apple") else None,
                problem=problem,
            )
        )
    return out


def _device(meta: Mapping[str, str]) -> DeviceInfo:
    def first(*keys: str) -> str | None:
        for k in keys:
            if meta.get(k):
                return meta[k]
        return None

    return DeviceInfo(
        make=first("com.apple.quicktime.make", "make", "com.android.manufacturer"),
        model=first("com.apple.quicktime.model", "model", "com.android.model"),
        software=first("com.apple.quicktime.software", "software"),
        firmware=first("firmware"),
        android_version=first("com.android.version"),
    )


# --- the probe ---------------------------------------------------------------------------------


def _seconds(ts: int | None, tb: Fraction | None) -> float | None:
    if ts is None or tb is None:
        return None
    return float(ts * tb)


def _video_info(raw: RawContainer, tkhd_rotation: int | None) -> VideoStreamInfo | None:
    if raw.video_index is None:
        return None
    s = raw.streams[raw.video_index]
    first = raw.first_frame
    if first is not None and first.rotation_deg is not None:
        # PyAV gives the display matrix angle counter-clockwise; players turn the other way.
        rotation = (-first.rotation_deg) % 360
        rotation_source = "display matrix (decoded frame)"
    elif tkhd_rotation is not None:
        rotation = tkhd_rotation
        rotation_source = "track header matrix (tkhd)"
    else:
        rotation = 0
        rotation_source = "none found"
    rotation = round(rotation / 90) * 90 % 360
    sar = s.sample_aspect_ratio
    width = round(s.width * sar) if sar is not None and sar != 1 else s.width
    height = s.height
    if rotation in (90, 270):
        width, height = height, width
    vfr: bool | None = None
    if s.ts_delta_min is not None and s.ts_delta_max is not None and s.ts_count > 2:
        # One tick of jitter is rounding of a constant rate (e.g. 1001/30000 in 1/90000).
        vfr = (s.ts_delta_max - s.ts_delta_min) > max(1, s.ts_delta_min // 100)
    duration = _seconds(s.duration_ts, s.time_base)
    if duration is None and s.ts_first is not None and s.ts_last is not None:
        last_delta = s.ts_delta_median or 0
        duration = _seconds(s.ts_last - s.ts_first + last_delta, s.time_base)
    return VideoStreamInfo(
        index=s.index,
        chosen_because=raw.video_reason,
        codec=s.codec,
        codec_tag=s.codec_tag,
        pix_fmt=s.pix_fmt,
        stored_width=s.width,
        stored_height=s.height,
        sample_aspect_ratio=sar,
        rotation_deg=rotation,
        rotation_source=rotation_source,
        display_width=width,
        display_height=height,
        average_frame_rate=s.average_rate,
        nominal_frame_rate=s.base_rate,
        variable_frame_rate=vfr,
        time_base=s.time_base,
        start_time_s=_seconds(s.start_ts, s.time_base),
        duration_s=duration,
        frame_count_header=s.header_frames or None,
        frame_count_timestamps=s.ts_count,
        keyframe_count=s.keyframe_count,
        timestamps_from=s.timestamps_from,
        first_frame_decoded=bool(first and first.decoded),
        first_frame_note=first.error if first else "",
    )


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _tags(raw: RawContainer) -> list[MetadataTag]:
    out = []
    scopes: list[tuple[str, Mapping[str, str]]] = [("container", raw.metadata)]
    scopes += [(f"stream {s.index}", s.metadata) for s in raw.streams]
    for scope, meta in scopes:
        for key, value in meta.items():
            text = sanitize_text(value)
            cut = None
            if len(text) > _MAX_TAG_CHARS:
                cut, text = len(text), text[:_MAX_TAG_CHARS]
            out.append(
                MetadataTag(
                    scope=scope,
                    key=sanitize_text(key),
                    value=text,
                    truncated_from_chars=cut,
                    invalid_utf8=_has_surrogates(key) or _has_surrogates(value),
                )
            )
    return out


def _gps_track(raw: RawContainer) -> GpsTrack | None:
    fixes = parse_gps5(raw.gpmf_payloads)
    if not fixes:
        return None
    times = [f.time_utc for f in fixes if f.time_utc is not None]
    return GpsTrack(
        source="GoPro GPMF telemetry track",
        fixes=fixes,
        sample_count=sum(f.samples_in_payload for f in fixes),
        first_time_utc=min(times) if times else None,
        last_time_utc=max(times) if times else None,
        truncated=raw.gpmf_truncated,
    )


def _note(code: str, message: str, field: str = "", severity: Severity = Severity.WARNING) -> Note:
    return Note(code=code, message=sanitize_text(message), severity=severity, field=field)


def _trust_notes(
    *,
    raw: RawContainer,
    sniffed: str,
    extension: str,
    video: VideoStreamInfo | None,
    times: list[CreationTime],
    locations: list[LocationClaim],
    device: DeviceInfo,
    gps: GpsTrack | None,
    media_complete: bool | None,
    media_note: str,
    tags: list[MetadataTag],
    now: datetime,
) -> list[Note]:
    notes: list[Note] = []
    if extension and sniffed in _EXTENSIONS and extension not in _EXTENSIONS[sniffed]:
        notes.append(
            _note(
                "W_EXTENSION_MISMATCH",
                f"the name ends in .{extension} but the bytes are {sniffed}; "
                "the file was renamed or mislabelled",
                "container",
            )
        )
    encoder_values = [t.value for t in tags if t.key.lower() == "encoder"]
    lavf = [v for v in encoder_values if v.startswith(("Lavf", "Lavc"))]
    if lavf:
        notes.append(
            _note(
                "W_REMUXED_FFMPEG",
                f"written by FFmpeg ({lavf[0]}): the file was re-muxed or re-encoded after "
                "capture (a platform or an editor); capture metadata may have been dropped, "
                "rewritten or added",
                "encoder",
            )
        )
    elif encoder_values:
        notes.append(
            _note(
                "I_ENCODER",
                f"encoder tag: {encoder_values[0]}",
                "encoder",
                Severity.INFO,
            )
        )
    for t in times:
        if t.utc is None:
            notes.append(
                _note(
                    "W_TIME_UNPARSEABLE",
                    f"{t.source} {t.raw!r} is not a valid date",
                    "creation_time",
                )
            )
            continue
        if not t.zone_stated:
            notes.append(
                _note(
                    "W_TIME_NO_ZONE",
                    f"{t.source} carries no time zone: the format says UTC, but many cameras "
                    "write local time there",
                    "creation_time",
                )
            )
        if t.utc < _EARLIEST_PLAUSIBLE or t.utc > now + timedelta(days=1):
            notes.append(
                _note(
                    "W_TIME_IMPOSSIBLE",
                    f"{t.source} {t.raw!r} is before 1995 or in the future: a reset clock or "
                    "an edited value, claimed by the file only",
                    "creation_time",
                )
            )
    valid = [t for t in times if t.utc is not None]
    if len(valid) > 1:
        spread = max(t.utc for t in valid if t.utc) - min(t.utc for t in valid if t.utc)
        if spread > timedelta(minutes=5):
            listing = "; ".join(f"{t.source}={t.raw}" for t in valid)
            notes.append(
                _note(
                    "W_TIMES_DISAGREE",
                    f"creation times differ by {spread}: {listing}",
                    "creation_time",
                )
            )
    if gps is not None and gps.first_time_utc is not None:
        for t in valid:
            if t.utc is None or t.zone_stated:
                continue
            diff_h = (t.utc - gps.first_time_utc).total_seconds() / 3600.0
            nearest = round(diff_h * 4) / 4  # zones are whole or quarter hours
            if abs(diff_h) > 0.25 and abs(diff_h - nearest) < 0.1:
                notes.append(
                    _note(
                        "W_TIME_LOCAL_AS_UTC",
                        f"{t.source} is {diff_h:+.2f} h from the GPS clock "
                        f"({gps.first_time_utc.isoformat()}): it is most likely local time "
                        f"labelled UTC, zone about UTC{nearest:+g}",
                        "creation_time",
                    )
                )
            elif abs(diff_h) > 0.25:
                notes.append(
                    _note(
                        "W_TIME_GPS_DISAGREE",
                        f"{t.source} is {diff_h:+.2f} h from the GPS clock",
                        "creation_time",
                    )
                )
    for loc in locations:
        if loc.position is None:
            notes.append(
                _note(
                    "W_LOCATION_INVALID",
                    f"{loc.source} {loc.raw!r}: {loc.problem}; claimed by the file only",
                    "location",
                )
            )
        elif loc.position.lat == 0.0 and loc.position.lon == 0.0:
            notes.append(
                _note(
                    "W_LOCATION_NULL_ISLAND",
                    f"{loc.source} is 0,0: a missing fix written as zeros",
                    "location",
                )
            )
    if gps is not None and locations:
        first_fix = gps.fixes[0]
        for loc in locations:
            if loc.position is None:
                continue
            dlat_m = (loc.position.lat - first_fix.lat) * 111_000.0
            dlon_m = (
                (loc.position.lon - first_fix.lon)
                * 111_000.0
                * math.cos(math.radians(first_fix.lat))
            )
            if math.hypot(dlat_m, dlon_m) > 1000.0:
                notes.append(
                    _note(
                        "W_LOCATION_GPS_DISAGREE",
                        f"{loc.source} is more than 1 km from the first GPS fix",
                        "location",
                    )
                )
    if not times and not locations and gps is None and device == DeviceInfo():
        notes.append(
            _note(
                "W_NO_CAPTURE_METADATA",
                "no creation time, location or device in the file: stripped or never "
                "written; this is not evidence either way",
                "metadata",
            )
        )
    elif not locations and gps is None:
        notes.append(
            _note(
                "I_NO_LOCATION",
                "no embedded location: not evidence either way",
                "location",
                Severity.INFO,
            )
        )
    if video is not None:
        if video.variable_frame_rate:
            notes.append(
                _note(
                    "I_VFR",
                    "variable frame rate: times come from timestamps, not frame numbers",
                    "video",
                    Severity.INFO,
                )
            )
        if not video.first_frame_decoded:
            notes.append(
                _note(
                    "W_NO_FRAME_DECODED",
                    f"no frame could be decoded ({video.first_frame_note})",
                    "video",
                )
            )
    if media_complete is False:
        notes.append(_note("W_MEDIA_DATA_MISSING", media_note, "container"))
    if gps is not None:
        no_fix = sum(1 for f in gps.fixes if f.fix == 0)
        if no_fix:
            notes.append(
                _note(
                    "W_GPS_NO_FIX",
                    f"{no_fix} of {len(gps.fixes)} GPS records say the receiver had no fix: "
                    "their positions are stale or default values",
                    "gps",
                )
            )
    if gps is not None and gps.first_time_utc is None:
        notes.append(
            _note(
                "I_GPS_NO_UTC",
                "the GPS track carries no UTC time this version can read",
                "gps",
                Severity.INFO,
            )
        )
    for tag in tags:
        if tag.invalid_utf8:
            notes.append(
                _note(
                    "W_TAG_NOT_UTF8",
                    f"tag {tag.scope}/{tag.key} holds bytes that are not UTF-8 "
                    "(shown as U+FFFD); the writer was unusual or the value was tampered with",
                    "tags",
                )
            )
        if tag.truncated_from_chars is not None:
            notes.append(
                _note(
                    "W_TAG_TRUNCATED",
                    f"tag {tag.scope}/{tag.key} is {tag.truncated_from_chars} characters long; "
                    f"the first {_MAX_TAG_CHARS} are kept",
                    "tags",
                )
            )
    return notes


def probe(
    path: str | os.PathLike[str],
    *,
    limits: DecodeLimits | None = None,
    now: datetime | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> MediaInfo:
    """Describe a video file and what it claims about itself.

    Parameters
    ----------
    path
        A local regular file. URLs, devices, FIFOs and folders are refused.
    limits
        Resource limits for the isolated decoder process.
    now
        The current time (timezone-aware) used to flag future dates; defaults to the clock.
    progress
        Called with (bytes hashed, total bytes) while hashing.

    Returns
    -------
    MediaInfo

    Raises
    ------
    InputError
        Missing, empty, unreadable or non-regular file; the file changed while probed.
    MediaError
        Not media (``E_INPUT_NOT_MEDIA``), a still image (``E_INPUT_IS_IMAGE``), no video
        stream (``E_NO_VIDEO_STREAM``), truncated before the index (``E_CONTAINER_TRUNCATED``),
        decoder crash (``E_DECODER_CRASH``).
    LimitError
        A resource limit was hit.
    """
    limits = limits or DecodeLimits()
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        msg = "now must be timezone-aware"
        raise InputError(msg, code="E_NAIVE_DATETIME", hint="Pass datetime(..., tzinfo=UTC).")
    p = check_local_file(path)
    st_before = p.stat()
    size = st_before.st_size
    with open(p, "rb") as fh:
        head = fh.read(512)
    sniffed = _sniff(head)
    extension = p.suffix.lower().lstrip(".")
    if sniffed in _STILL_IMAGES:
        msg = f"{str(p)!r} is a still image ({sniffed.upper()}), not a video"
        raise MediaError(msg, code="E_INPUT_IS_IMAGE", hint="Give a video file.")
    if sniffed in ("html/xml", "playlist"):
        msg = f"{str(p)!r} is a text document ({sniffed}), not a video"
        hint = "A web page or playlist was saved instead of the video; download the media itself."
        raise MediaError(msg, code="E_INPUT_NOT_MEDIA", hint=hint)

    bmff = _scan_bmff(p, size) if sniffed in ("mp4", "quicktime", "heif") else None
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        # Hash on a thread while the worker demuxes: hashlib releases the GIL.
        hash_future = pool.submit(sha256_file, p)
        try:
            raw: RawContainer | None = run_isolated(read_container, str(p), limits, limits=limits)
            failure: GeoverifyError | None = None
        except GeoverifyError as exc:
            raw, failure = None, exc
        digest = hash_future.result()
    if progress is not None:
        progress(size, size)
    if failure is not None:
        if (
            bmff is not None
            and "moov" not in bmff.boxes
            and failure.code in ("E_INPUT_NOT_MEDIA", "E_DECODER_ERROR")
        ):
            msg = (
                f"{str(p)!r} is a truncated {sniffed.upper()}: its index (moov box) is "
                f"missing; {size} bytes present"
            )
            hint = "The download stopped early; fetch the complete file."
            failure = MediaError(msg, code="E_CONTAINER_TRUNCATED", hint=hint)
        failure.input_sha256 = digest
        raise failure
    if raw is None:  # pragma: no cover - run_isolated returns or raises
        msg = "the worker returned nothing"
        raise MediaError(msg, code="E_DECODER_CRASH", hint="Report this as a bug.")

    def reject(exc: GeoverifyError) -> GeoverifyError:
        exc.input_sha256 = digest
        return exc

    if raw.format_name in ("image2", "jpeg_pipe", "png_pipe", "gif", "webp_pipe", "bmp_pipe"):
        msg = f"{str(p)!r} is a still image (demuxer {raw.format_name}), not a video"
        raise reject(MediaError(msg, code="E_INPUT_IS_IMAGE", hint="Give a video file."))
    if raw.video_index is None:
        kinds = ", ".join(sorted({s.kind for s in raw.streams})) or "none"
        msg = f"{str(p)!r} has no video stream ({raw.video_reason}; streams: {kinds})"
        hint = "Give a file that contains video."
        raise reject(MediaError(msg, code="E_NO_VIDEO_STREAM", hint=hint))

    video = _video_info(raw, bmff.moov_rotation_deg if bmff else None)
    vs = raw.streams[raw.video_index]
    media_complete: bool | None = None
    media_note = ""
    if bmff is not None and bmff.overruns:
        media_complete = False
        media_note = (
            f"a box runs past the end of the file ({size} bytes): the file is truncated; "
            "frames near the end are missing"
        )
    if vs.data_end_byte is not None:
        if vs.data_end_byte > size:
            media_complete = False
            media_note = (
                f"the index refers to video data up to byte {vs.data_end_byte} but the file "
                f"has {size} bytes: the file is truncated or its media data was stripped"
            )
        elif media_complete is None:
            media_complete = True

    times = _creation_times(raw)
    locations = _locations(raw)
    device = _device(_folded(raw.metadata))
    gps = _gps_track(raw)
    tags = _tags(raw)
    notes = _trust_notes(
        raw=raw,
        sniffed=sniffed,
        extension=extension,
        video=video,
        times=times,
        locations=locations,
        device=device,
        gps=gps,
        media_complete=media_complete,
        media_note=media_note,
        tags=tags,
        now=now,
    )
    st_after = p.stat()
    if (st_after.st_size, st_after.st_mtime_ns) != (st_before.st_size, st_before.st_mtime_ns):
        msg = f"{str(p)!r} changed while it was being probed"
        hint = "Wait until the download or copy has finished, then probe again."
        raise reject(InputError(msg, code="E_INPUT_CHANGED", hint=hint))

    return MediaInfo(
        schema=PROBE_SCHEMA,
        path=sanitize_text(os.fspath(path)),
        size_bytes=size,
        sha256=digest,
        container=ContainerInfo(
            format_sniffed=sniffed,
            demuxer=raw.format_name,
            demuxer_long_name=raw.format_long_name,
            extension=extension,
            major_brand=raw.metadata.get("major_brand"),
            duration_s=raw.duration_us / 1e6 if raw.duration_us is not None else None,
            start_time_s=raw.start_time_us / 1e6 if raw.start_time_us is not None else None,
            bit_rate=raw.bit_rate,
        ),
        video=video,
        audio=tuple(
            AudioStreamInfo(
                index=s.index, codec=s.codec, sample_rate_hz=s.sample_rate, channels=s.channels
            )
            for s in raw.streams
            if s.kind == "audio"
        ),
        data_streams=tuple(
            f"stream {s.index}: {sanitize_text(s.metadata.get('handler_name', '')).strip()}"
            for s in raw.streams
            if s.kind in ("data", "subtitle", "attachment")
        ),
        creation_times=tuple(times),
        locations=tuple(locations),
        device=device,
        gps_track=gps,
        media_data_complete=media_complete,
        tags=tuple(tags),
        notes=tuple(notes),
        decoder_versions=dict(raw.library_versions),
    )
