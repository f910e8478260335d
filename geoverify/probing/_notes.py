"""Trust notes: what a file's claims are worth, each with a code (see ``geoverify.probing``)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from fractions import Fraction

from geoverify._media import RawStream
from geoverify.models import Note, Severity, sanitize_text
from geoverify.probing._container import RawContainer
from geoverify.probing._gpmf import parse_gps5
from geoverify.probing._model import (
    EARLIEST_PLAUSIBLE,
    MAX_TAG_CHARS,
    NULL_ISLAND,
    CreationTime,
    DeviceInfo,
    GpsTrack,
    LocationClaim,
    MetadataTag,
    VideoStreamInfo,
)
from geoverify.probing._sniff import EXTENSIONS

# --- the probe ---------------------------------------------------------------------------------


def _seconds(ts: int | None, tb: Fraction | None) -> float | None:
    if ts is None or tb is None:
        return None
    return float(ts * tb)


def _rotation(raw: RawContainer, tkhd_rotation: int | None) -> tuple[int, str]:
    """Return the clockwise display rotation (a multiple of 90 degrees) and where it was read."""
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
    return round(rotation / 90) * 90 % 360, rotation_source


def _variable_rate(s: RawStream) -> bool | None:
    """Whether the frame rate varies, from the spread of timestamp steps (``None``: unknown)."""
    if s.ts_delta_min is None or s.ts_delta_max is None or s.ts_count <= 2:
        return None
    # One tick of jitter is rounding of a constant rate (e.g. 1001/30000 in 1/90000).
    return (s.ts_delta_max - s.ts_delta_min) > max(1, s.ts_delta_min // 100)


def _duration_s(s: RawStream) -> float | None:
    duration = _seconds(s.duration_ts, s.time_base)
    if duration is None and s.ts_first is not None and s.ts_last is not None:
        last_delta = s.ts_delta_median or 0
        duration = _seconds(s.ts_last - s.ts_first + last_delta, s.time_base)
    return duration


def video_info(raw: RawContainer, tkhd_rotation: int | None) -> VideoStreamInfo | None:
    """Describe the chosen video stream: sizes as stored and shown, rates, duration."""
    if raw.video_index is None:
        return None
    s = raw.streams[raw.video_index]
    first = raw.first_frame
    rotation, rotation_source = _rotation(raw, tkhd_rotation)
    sar = s.sample_aspect_ratio
    width = round(s.width * sar) if sar is not None and sar != 1 else s.width
    height = s.height
    if rotation in (90, 270):
        width, height = height, width
    vfr = _variable_rate(s)
    duration = _duration_s(s)
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


def tags_of(raw: RawContainer) -> list[MetadataTag]:
    out = []
    scopes: list[tuple[str, Mapping[str, str]]] = [("container", raw.metadata)]
    scopes += [(f"stream {s.index}", s.metadata) for s in raw.streams]
    for scope, meta in scopes:
        for key, value in meta.items():
            text = sanitize_text(value)
            cut = None
            if len(text) > MAX_TAG_CHARS:
                cut, text = len(text), text[:MAX_TAG_CHARS]
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


def read_gps_track(raw: RawContainer) -> GpsTrack | None:
    fixes = parse_gps5(raw.gpmf_payloads)
    if not fixes:
        return None
    times = [f.time_utc for f in fixes if f.time_utc is not None]
    source = "GoPro GPMF telemetry track"
    if any(f.record in ("GLPI", "GPRI") for f in fixes):
        records = "/".join(sorted({f.record for f in fixes}))
        clock = "; UTC from its SYST system-time pairs" if times else "; no SYST pair: no UTC"
        source += f" (Karma drone {records}{clock})"
    return GpsTrack(
        source=source,
        fixes=fixes,
        sample_count=sum(f.samples_in_payload for f in fixes),
        first_time_utc=min(times) if times else None,
        last_time_utc=max(times) if times else None,
        truncated=raw.gpmf_truncated,
    )


def _note(code: str, message: str, field: str = "", severity: Severity = Severity.WARNING) -> Note:
    return Note(code=code, message=sanitize_text(message), severity=severity, field=field)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NoteEvidence:
    """What the trust rules look at: the file's container, streams and capture claims."""

    raw: RawContainer
    sniffed: str
    extension: str
    video: VideoStreamInfo | None
    times: list[CreationTime]
    locations: list[LocationClaim]
    device: DeviceInfo
    gps: GpsTrack | None
    media_complete: bool | None
    media_note: str
    tags: list[MetadataTag]
    now: datetime


def _extension_notes(e: NoteEvidence) -> Iterator[Note]:
    """Note a file named for another format than its bytes."""
    if e.extension and e.sniffed in EXTENSIONS and e.extension not in EXTENSIONS[e.sniffed]:
        yield _note(
            "W_EXTENSION_MISMATCH",
            f"the name ends in .{e.extension} but the bytes are {e.sniffed}; "
            "the file was renamed or mislabelled",
            "container",
        )


def _encoder_notes(e: NoteEvidence) -> Iterator[Note]:
    """Who wrote the file: FFmpeg (re-muxed after capture) or a named encoder."""
    encoder_values = [t.value for t in e.tags if t.key.lower() == "encoder"]
    lavf = [v for v in encoder_values if v.startswith(("Lavf", "Lavc"))]
    if lavf:
        yield _note(
            "W_REMUXED_FFMPEG",
            f"written by FFmpeg ({lavf[0]}): the file was re-muxed or re-encoded after "
            "capture (a platform or an editor); capture metadata may have been dropped, "
            "rewritten or added",
            "encoder",
        )
    elif encoder_values:
        yield _note(
            "I_ENCODER",
            f"encoder tag: {encoder_values[0]}",
            "encoder",
            Severity.INFO,
        )


def _time_notes(e: NoteEvidence) -> Iterator[Note]:
    """Each creation time: unparseable, without a zone, impossible."""
    for t in e.times:
        instant = t.read_as_utc()
        if instant is None:
            yield _note(
                "W_TIME_UNPARSEABLE",
                f"{t.source} {t.raw!r} is not a valid date",
                "creation_time",
            )
            continue
        if t.local_time is not None:
            yield _note(
                "W_TIME_NO_ZONE",
                f"{t.source} {t.raw!r} is a local wall-clock time with no zone: the instant "
                "is unknown to within the world's zones (UTC-12 to UTC+14)",
                "creation_time",
            )
        elif not t.zone_stated:
            yield _note(
                "W_TIME_NO_ZONE",
                f"{t.source} carries no time zone: the format says UTC, but many cameras "
                "write local time there",
                "creation_time",
            )
        # a local time is impossible only if it is in every zone (+-14 h of slack)
        slack = timedelta(hours=14) if t.local_time is not None else timedelta(0)
        if instant < EARLIEST_PLAUSIBLE - slack or instant > e.now + timedelta(days=1) + slack:
            yield _note(
                "W_TIME_IMPOSSIBLE",
                f"{t.source} {t.raw!r} is before 1995 or in the future: a reset clock or "
                "an edited value, claimed by the file only",
                "creation_time",
            )


def _times_agree_notes(e: NoteEvidence) -> Iterator[Note]:
    """Creation times more than 5 minutes apart."""
    # local times compared as wall clocks read as UTC, as a camera writes its header times
    readings = [(t, r) for t in e.times if (r := t.read_as_utc()) is not None]
    valid = [t for t, _ in readings]
    if len(valid) > 1:
        spread = max(r for _, r in readings) - min(r for _, r in readings)
        if spread > timedelta(minutes=5):
            listing = "; ".join(f"{t.source}={t.raw}" for t in valid)
            yield _note(
                "W_TIMES_DISAGREE",
                f"creation times differ by {spread}: {listing}",
                "creation_time",
            )


def _time_gps_notes(e: NoteEvidence) -> Iterator[Note]:
    """Zone-less creation times against the GPS clock (local time labelled UTC)."""
    if e.gps is not None and e.gps.first_time_utc is not None:
        for t in e.times:
            reading = t.read_as_utc()
            if reading is None or t.zone_stated:
                continue
            diff_s = (reading - e.gps.first_time_utc).total_seconds()
            diff_h = diff_s / 3600.0
            nearest = round(diff_h * 4) / 4  # zones are whole or quarter hours
            if abs(diff_s) <= 300:
                yield _note(
                    "I_TIME_GPS_AGREES",
                    f"{t.source} is {diff_s:+.1f} s from the GPS clock "
                    f"({e.gps.first_time_utc.isoformat()}): the camera's clock was on UTC "
                    "(or a zone at UTC+0 that day)",
                    "creation_time",
                    Severity.INFO,
                )
            elif abs(diff_h) > 0.25 and abs(diff_h - nearest) < 0.1:
                what = "a local clock" if t.local_time is not None else "local time labelled UTC"
                yield _note(
                    "W_TIME_LOCAL_AS_UTC",
                    f"{t.source} is {diff_h:+.2f} h from the GPS clock "
                    f"({e.gps.first_time_utc.isoformat()}): it is most likely {what}, zone "
                    f"about UTC{nearest:+g}",
                    "creation_time",
                )
            elif abs(diff_h) > 0.25:
                yield _note(
                    "W_TIME_GPS_DISAGREE",
                    f"{t.source} is {diff_h:+.2f} h from the GPS clock",
                    "creation_time",
                )


def _location_notes(e: NoteEvidence) -> Iterator[Note]:
    """Each location: invalid, or 0,0."""
    for loc in e.locations:
        if loc.problem == NULL_ISLAND:
            yield _note(
                "W_LOCATION_NULL_ISLAND",
                f"{loc.source} {loc.raw!r} is 0,0: a missing fix written as zeros, not kept "
                "as a position",
                "location",
            )
        elif loc.position is None:
            yield _note(
                "W_LOCATION_INVALID",
                f"{loc.source} {loc.raw!r}: {loc.problem}; claimed by the file only",
                "location",
            )


def _location_gps_notes(e: NoteEvidence) -> Iterator[Note]:
    """Locations more than 1 km from the first GPS fix."""
    if e.gps is not None and e.locations:
        first_fix = e.gps.fixes[0]
        for loc in e.locations:
            if loc.position is None:
                continue
            dlat_m = (loc.position.lat - first_fix.lat) * 111_000.0
            dlon_m = (
                (loc.position.lon - first_fix.lon)
                * 111_000.0
                * math.cos(math.radians(first_fix.lat))
            )
            if math.hypot(dlat_m, dlon_m) > 1000.0:
                yield _note(
                    "W_LOCATION_GPS_DISAGREE",
                    f"{loc.source} is more than 1 km from the first GPS fix",
                    "location",
                )


def _coverage_notes(e: NoteEvidence) -> Iterator[Note]:
    """No capture metadata at all, or no location."""
    if not e.times and not e.locations and e.gps is None and e.device == DeviceInfo():
        yield _note(
            "W_NO_CAPTURE_METADATA",
            "no creation time, location or device in the file: stripped or never "
            "written; this is not evidence either way",
            "metadata",
        )
    elif not e.locations and e.gps is None:
        yield _note(
            "I_NO_LOCATION",
            "no embedded location: not evidence either way",
            "location",
            Severity.INFO,
        )


def _video_notes(e: NoteEvidence) -> Iterator[Note]:
    """Variable frame rate; no frame decoded."""
    if e.video is not None:
        if e.video.variable_frame_rate:
            yield _note(
                "I_VFR",
                "variable frame rate: times come from timestamps, not frame numbers",
                "video",
                Severity.INFO,
            )
        if not e.video.first_frame_decoded:
            yield _note(
                "W_NO_FRAME_DECODED",
                f"no frame could be decoded ({e.video.first_frame_note})",
                "video",
            )


def _media_notes(e: NoteEvidence) -> Iterator[Note]:
    """Media data the container lists but does not hold."""
    if e.media_complete is False:
        yield _note("W_MEDIA_DATA_MISSING", e.media_note, "container")


def _gps_notes(e: NoteEvidence) -> Iterator[Note]:
    """GPS records without a fix; a track without UTC time."""
    if e.gps is not None:
        no_fix = sum(1 for f in e.gps.fixes if f.fix == 0)
        if no_fix:
            yield _note(
                "W_GPS_NO_FIX",
                f"{no_fix} of {len(e.gps.fixes)} GPS records say the receiver had no fix: "
                "their positions are stale or default values",
                "gps",
            )
    if e.gps is not None and e.gps.first_time_utc is None:
        yield _note(
            "I_GPS_NO_UTC",
            "the GPS track carries no UTC time this version can read",
            "gps",
            Severity.INFO,
        )


def _tag_notes(e: NoteEvidence) -> Iterator[Note]:
    """Tags that are not UTF-8 or were cut to the kept length."""
    for tag in e.tags:
        if tag.invalid_utf8:
            yield _note(
                "W_TAG_NOT_UTF8",
                f"tag {tag.scope}/{tag.key} holds bytes that are not UTF-8 "
                "(shown as U+FFFD); the writer was unusual or the value was tampered with",
                "tags",
            )
        if tag.truncated_from_chars is not None:
            yield _note(
                "W_TAG_TRUNCATED",
                f"tag {tag.scope}/{tag.key} is {tag.truncated_from_chars} characters long; "
                f"the first {MAX_TAG_CHARS} are kept",
                "tags",
            )


_RULES = (
    _extension_notes,
    _encoder_notes,
    _time_notes,
    _times_agree_notes,
    _time_gps_notes,
    _location_notes,
    _location_gps_notes,
    _coverage_notes,
    _video_notes,
    _media_notes,
    _gps_notes,
    _tag_notes,
)


def trust_notes(evidence: NoteEvidence) -> list[Note]:
    """Return every rule's notes about ``evidence``, rule by rule in the order of ``_RULES``."""
    return [note for rule in _RULES for note in rule(evidence)]
