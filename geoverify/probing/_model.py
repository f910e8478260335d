"""What probe reports: the result types and their limits (see ``geoverify.probing``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from fractions import Fraction

from geoverify.models import LatLon, Note
from geoverify.probing._c2pa import ContentCredentials
from geoverify.probing._gpmf import GpmfFix

PROBE_SCHEMA = "geoverify.probe/2"  # 2: a time without a zone has utc null and local_time
MAX_TAG_CHARS = 65536
MAX_MOOV_BYTES = 64 * 2**20
# Capture devices and FFmpeg cannot produce dates before these; anything earlier is an epoch
# default (1904 in QuickTime, 1970 in Unix) or garbage.
EARLIEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=UTC)
# the problem of a location at exactly (0, 0): kept as a claim, never as a position
NULL_ISLAND = "the position is (0, 0), 'null island': an unset receiver, no location"


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

    Three kinds: a time with its zone (``+03:00``, ``Z``): ``utc`` is the instant; a
    QuickTime/MP4 header time, which carries no zone but which the format defines as UTC:
    ``utc`` is that reading, ``zone_stated`` is false (many cameras write local time there);
    a local wall-clock time with no zone at all (EXIF DateTimeOriginal without OffsetTime, a
    DJI aircraft clock): ``local_time`` holds it and ``utc`` is ``None``, since the instant is
    unknown to within the world's zones (UTC-12 to UTC+14).

    Attributes
    ----------
    source
        Where it was found, e.g. ``container creation_time`` or
        ``com.apple.quicktime.creationdate``.
    raw
        The value verbatim.
    utc
        The instant in UTC as the field or its format states it; ``None`` when it cannot be
        parsed, or when it is a local time with no zone (see ``local_time``).
    zone_stated
        Whether the value itself carries a time zone.
    local_offset
        The UTC offset written in the value (``+03:00``), when there is one.
    local_time
        The wall-clock date and time as written, ISO 8601 without an offset
        (``2012-09-29T16:11:25``), when the value has no zone and its format defines none:
        local time in an unknown zone. ``None`` otherwise.
    implied_utc_offset_s
        For a local time, the UTC offset (to the quarter hour, seconds) at which it agrees with
        the file's own GPS clock (``I_IMPLIED_UTC_OFFSET``); ``None`` when there is no GPS time
        or the two disagree (``W_CLOCK_INCONSISTENT``).
    implied_gps_utc
        With ``implied_utc_offset_s``: the GPS instant it was compared with (the GPS date and
        time, or its time of day on the day nearest the camera clock).
    """

    source: str
    raw: str
    utc: datetime | None
    zone_stated: bool
    local_offset: str | None
    local_time: str | None = None
    implied_utc_offset_s: float | None = None
    implied_gps_utc: datetime | None = None

    def read_as_utc(self) -> datetime | None:
        """Return ``utc``, or ``local_time`` read as if it were UTC (for bounds, never shown).

        The true instant of a local time lies within -14 h and +12 h of that reading (zones
        run from UTC-12 to UTC+14); ``None`` when the value could not be parsed.
        """
        if self.utc is not None:
            return self.utc
        if self.local_time is None:
            return None
        return datetime.fromisoformat(self.local_time).replace(tzinfo=UTC)


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
class StillImageInfo:
    """A still image (JPEG, PNG, HEIC): its stored size and the EXIF orientation.

    ``display_width`` and ``display_height`` are after the EXIF orientation (5-8 swap them);
    ``orientation`` is ``None`` when the file has none (1, upright, is then assumed).
    """

    format: str
    width: int
    height: int
    orientation: int | None
    display_width: int
    display_height: int
    decoder: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CameraDirection:
    """A direction the file claims: where the camera looked, or where it moved.

    Attributes
    ----------
    source
        The field, e.g. ``EXIF GPSImgDirection`` or ``DJI SRT gimbal yaw``.
    kind
        ``view`` (where the lens points), ``destination`` (EXIF GPSDestBearing: the bearing to
        the photographed subject, as the device wrote it) or ``movement`` (GPSTrack).
    bearing_deg
        Degrees clockwise from the reference north, as written.
    reference
        ``true``, ``magnetic`` (not converted: the declination at the place and date was not
        applied, so a check against a true bearing must allow for it) or ``unknown``.
    """

    source: str
    kind: str
    bearing_deg: float
    reference: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TelemetryFile:
    """A telemetry sidecar read beside the media (a separate file: anyone can edit it).

    ``found_by`` is ``given (--telemetry)`` (the user named it) or ``sidecar with the video's
    name``; ``duration_s`` is where its last cue ends in the video, seconds (``None`` when no
    cue has a time), compared with the video's duration in the notes.
    """

    path: str
    sha256: str
    format: str
    cues: int
    fixes: int
    found_by: str
    duration_s: float | None = None


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
    still: StillImageInfo | None = None
    directions: tuple[CameraDirection, ...] = ()
    telemetry: TelemetryFile | None = None
    # the C2PA manifest, read and validated offline (``None``: not read)
    content_credentials: ContentCredentials | None = None
    # the path exactly as given (``path`` is made printable: a name that is not UTF-8 shows
    # U+FFFD there), to open the file again; not written to JSON
    local_path: str = dataclasses.field(
        default="", repr=False, compare=False, metadata={"json": False}
    )

    def _repr_html_(self) -> str:
        """Show identity, picture, claims (decimal degrees) and trust notes in Jupyter (escaped)."""
        import html

        from geoverify.probing._repr import media_rows

        rows = media_rows(self)
        cc = self.content_credentials
        if cc is not None:
            rows.append(("content credentials", cc.trust_words))
        rows += [(n.code, n.message) for n in self.notes]
        body = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(val))}</td></tr>" for k, val in rows
        )
        return f"<table>{body}</table>"
