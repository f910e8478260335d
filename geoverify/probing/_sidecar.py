"""A DJI flight's ``.SRT`` telemetry beside its video: read (``read_sidecar``), then weighed.

``read_sidecar`` is the only part that touches the file system; ``sidecar_claims`` turns what
was read into the track, times, directions and notes the ``MediaInfo`` carries.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from geoverify.errors import GeoverifyError
from geoverify.models import Note, sanitize_text
from geoverify.probing._model import CameraDirection, CreationTime, GpsTrack, TelemetryFile
from geoverify.probing._srt import SrtTrack, parse_srt

# a DJI sidecar ends within a cue (a frame, or a second in the oldest format) of its video
_TELEMETRY_SLACK_S = 2.0
_TELEMETRY_SLACK_FRACTION = 0.05


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SidecarRead:
    """The telemetry file read for a video: its track, or why a found sidecar was not read.

    ``given``: the user named the file (``--telemetry``); otherwise it was found beside the
    video with its name. ``srt`` is ``None`` when a found sidecar could not be read
    (``problem`` says why).
    """

    path: Path
    given: bool
    srt: SrtTrack | None
    problem: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SidecarClaims:
    """What the telemetry adds to a video's ``MediaInfo``."""

    file: TelemetryFile | None
    track: GpsTrack | None
    times: tuple[CreationTime, ...]
    directions: tuple[CameraDirection, ...]
    notes: tuple[Note, ...]


def _find_sidecar(video: Path) -> Path | None:
    try:
        names = {q.name: q for q in video.parent.iterdir()}
    except OSError:
        return None
    for _name, q in sorted(names.items()):
        if q.stem == video.stem and q.suffix.lower() == ".srt" and q != video:
            return q
    return None


def read_sidecar(video: Path, given: str | os.PathLike[str] | None) -> SidecarRead | None:
    """Read the DJI SRT telemetry of ``video`` (given, or the sidecar with its name).

    Raises
    ------
    GeoverifyError
        A given file that cannot be read (a found sidecar's failure is kept as ``problem``).
    """
    path = Path(os.fspath(given)) if given is not None else _find_sidecar(video)
    if path is None:
        return None
    try:
        srt = parse_srt(path)
    except GeoverifyError as exc:
        if given is not None:
            raise
        return SidecarRead(path=path, given=False, srt=None, problem=exc.message)
    return SidecarRead(path=path, given=given is not None, srt=srt)


def sidecar_claims(
    read: SidecarRead, gps: GpsTrack | None, video_duration_s: float | None
) -> SidecarClaims:
    """Weigh the telemetry read for a video with an embedded track ``gps`` (or none)."""
    srt, name = read.srt, read.path.name
    if srt is None:
        note = Note(
            code="W_TELEMETRY_UNREADABLE",
            message=sanitize_text(f"the sidecar {name!r} was not read: {read.problem}"),
            field="gps_track",
        )
        return SidecarClaims(file=None, track=None, times=(), directions=(), notes=(note,))
    notes = [*srt.notes, _sidecar_note(read, srt.sha256)]
    notes += _duration_notes(name, srt.duration_s, video_duration_s)
    track = _track(srt, name)
    if track is not None and gps is not None:
        notes.append(
            Note(
                code="W_TWO_TRACKS",
                message="the file has its own GPS track and a DJI sidecar: the embedded "
                "track is used, the sidecar's is not",
                field="gps_track",
            )
        )
    info = TelemetryFile(
        path=sanitize_text(str(read.path)),
        sha256=srt.sha256,
        format="DJI SRT",
        cues=srt.cues,
        fixes=len(srt.fixes),
        found_by="given (--telemetry)" if read.given else "sidecar with the video's name",
        duration_s=srt.duration_s,
    )
    return SidecarClaims(
        file=info,
        track=track,
        times=_first_time(srt, name),
        directions=_first_view(srt, name),
        notes=tuple(notes),
    )


def _sidecar_note(read: SidecarRead, digest: str) -> Note:
    """Say where the track comes from, and that nothing ties the file to the video."""
    if read.given:
        how = (
            "given by the user as this video's telemetry (--telemetry), a separate file: "
            "anyone can edit it, and nothing in it or in the video ties the two together"
        )
    else:
        how = (
            "found beside the video with its name, a separate file: anyone can edit it, and "
            "only its name ties it to this video"
        )
    return Note(
        code="W_TELEMETRY_SIDECAR",
        message=sanitize_text(
            f"the GPS track comes from {read.path.name!r}, {how} (SHA-256 {digest})"
        ),
        field="gps_track",
    )


def _track(srt: SrtTrack, name: str) -> GpsTrack | None:
    if not srt.fixes:
        return None
    return GpsTrack(
        source=f"DJI SRT telemetry {name}",
        fixes=srt.fixes,
        sample_count=len(srt.fixes),
        first_time_utc=None,
        last_time_utc=None,
        truncated=any(n.code == "W_TELEMETRY_TRUNCATED" for n in srt.notes),
    )


def _first_time(srt: SrtTrack, name: str) -> tuple[CreationTime, ...]:
    first_local = next((f.time_local for f in srt.fixes if f.time_local), None)
    if first_local is None:
        return ()
    return (
        CreationTime(
            source=f"DJI SRT first cue (aircraft clock, local time, no zone): {name}",
            raw=first_local,
            utc=None,  # a wall clock in an unknown zone: no instant is claimed
            zone_stated=False,
            local_offset=None,
            local_time=first_local,
        ),
    )


def _first_view(srt: SrtTrack, name: str) -> tuple[CameraDirection, ...]:
    return tuple(
        CameraDirection(
            source=f"DJI SRT gimbal yaw, first cue ({name})",
            kind="view",
            bearing_deg=f.gimbal_pry_deg[2] % 360,
            reference="unknown",
        )
        for f in srt.fixes[:1]
        if f.gimbal_pry_deg is not None
    )


def _duration_notes(name: str, srt_s: float | None, video_s: float | None) -> list[Note]:
    """Warn when the telemetry's cues end far from the video's end."""
    if srt_s is None or video_s is None:
        return []
    tolerance_s = max(_TELEMETRY_SLACK_S, _TELEMETRY_SLACK_FRACTION * video_s)
    if abs(srt_s - video_s) <= tolerance_s:
        return []
    return [
        Note(
            code="W_TELEMETRY_DURATION_MISMATCH",
            message=sanitize_text(
                f"the cues of {name!r} run to {srt_s:.1f} s but the video lasts {video_s:.1f} s "
                f"(more than the {tolerance_s:.1f} s a sidecar and its video differ by): the "
                "telemetry belongs to another or a longer recording, or one of the two was cut; "
                "positions at the frames' times may be another moment's"
            ),
            field="gps_track",
        )
    ]
