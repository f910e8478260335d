"""The probe command: what a file says about itself, each value with its trust note."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from geoverify.models import to_jsonable
from geoverify.probing._track import TrackFormat

if TYPE_CHECKING:  # stage modules load inside the commands that use them (faster start)
    from geoverify.probing import CreationTime, GpsTrack, MediaInfo

from geoverify.cli._common import (
    OverwriteFileOpt,
    app,
    dump_json,
    echo,
    format_value,
    printable,
    run_command,
)


def _render_probe_time(t: CreationTime) -> str:
    """Show a creation time as it is: an instant in UTC, or a local wall-clock time."""
    if t.local_time is not None:  # no instant is known: never shown as UTC
        return f"{t.local_time.replace('T', ' ')} (local, zone unknown)"
    if t.utc is None:
        return "unparseable"
    if t.zone_stated:
        return f"{t.utc.isoformat()} (UTC; zone stated)"
    return f"{t.utc.isoformat()} (UTC by the format's rule; no zone in the file)"


def _render_probe_track(g: GpsTrack) -> str:
    """Show the track's size, source and first fix with its time (a DJI clock is local)."""
    f0 = g.fixes[0]
    local = getattr(f0, "time_local", None)
    if g.first_time_utc is not None:
        when = g.first_time_utc.isoformat()
    elif local:
        when = f"{local.replace('T', ' ')} (aircraft clock: local, zone unknown)"
    else:
        when = "no UTC time"
    return (
        f"{len(g.fixes)} fixes ({g.sample_count} samples) from {g.source}, first "
        f"{f0.lat:.6f}, {f0.lon:.6f} at {when}"
    )


def _probe_file_rows(info: MediaInfo) -> list[tuple[str, str]]:
    c = info.container
    return [
        ("file", info.path),
        ("size", f"{info.size_bytes} bytes"),
        ("sha256", info.sha256),
        (
            "container",
            f"{c.format_sniffed} (demuxer {c.demuxer}, brand {format_value(c.major_brand)})",
        ),
    ]


def _probe_stream_rows(info: MediaInfo) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    v = info.video
    if v is not None:
        rate = {True: "variable", False: "constant", None: "unknown"}[v.variable_frame_rate]
        rows += [
            ("video stream", f"#{v.index}: {v.codec} {v.pix_fmt or ''} ({v.chosen_because})"),
            (
                "size",
                f"stored {v.stored_width}x{v.stored_height}, displayed "
                f"{v.display_width}x{v.display_height}, rotation {v.rotation_deg} deg cw",
            ),
            (
                "frame rate",
                f"average {format_value(v.average_frame_rate)}, "
                f"nominal {format_value(v.nominal_frame_rate)}, {rate}",
            ),
            (
                "duration",
                f"{format_value(v.duration_s)} s from timestamps; "
                f"{v.frame_count_timestamps} frames ({v.keyframe_count} key)",
            ),
        ]
    for a in info.audio:
        rows.append(("audio", f"#{a.index}: {a.codec} {a.sample_rate_hz} Hz x{a.channels}"))
    return rows


def _probe_claim_rows(info: MediaInfo) -> list[tuple[str, str]]:
    rows = [
        ("created", f"{t.raw} -> {_render_probe_time(t)} ({t.source})") for t in info.creation_times
    ]
    for loc in info.locations:
        where = f"{loc.position.lat:.6f}, {loc.position.lon:.6f}" if loc.position else loc.problem
        # shown to 0.1 m (GPS heights are good to metres); JSON keeps the value as read
        extra = f", alt {loc.altitude_m:.1f} m" if loc.altitude_m is not None else ""
        extra += f", accuracy {loc.accuracy_m:.1f} m" if loc.accuracy_m is not None else ""
        rows.append(("location", f"{where}{extra} ({loc.source}: {loc.raw})"))
    d = info.device
    fields = (
        ("make", d.make),
        ("model", d.model),
        ("software", d.software),
        ("firmware", d.firmware),
        ("android", d.android_version),
    )
    device = ", ".join(f"{k} {val}" for k, val in fields if val)
    if device:
        rows.append(("device", device))
    return rows


def _probe_more_rows(info: MediaInfo) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if info.still is not None:
        s = info.still
        rows.append(
            (
                "photo",
                f"{s.format} {s.width}x{s.height}, EXIF orientation {s.orientation or 'none'}, "
                f"displayed {s.display_width}x{s.display_height} ({s.decoder})",
            )
        )
    rows += [
        (
            "direction",
            f"{direction.kind} {direction.bearing_deg:.2f} deg from {direction.reference} "
            f"north ({direction.source})",
        )
        for direction in info.directions
    ]
    if info.gps_track is not None:
        rows.append(("gps track", _render_probe_track(info.gps_track)))
    if info.telemetry is not None:
        tf = info.telemetry
        span = f", {tf.duration_s:.1f} s of cues" if tf.duration_s is not None else ""
        rows.append(
            ("telemetry", f"{tf.format} {tf.path} ({tf.found_by}{span}), SHA-256 {tf.sha256}")
        )
    complete = {True: "complete", False: "INCOMPLETE", None: "not checked"}
    rows.append(("media data", complete[info.media_data_complete]))
    return rows


def _probe_credential_rows(info: MediaInfo) -> list[tuple[str, str]]:
    cc = info.content_credentials
    if cc is None:
        return []
    rows = [
        (
            "content credentials",
            cc.state.replace("_", " ")
            + (f": {cc.trust_words}" if cc.state in ("valid", "trusted") else ""),
        )
    ]
    if cc.failure_codes:
        rows.append(("  failures", ", ".join(cc.failure_codes)))
    if cc.remote_url:
        rows.append(("  remote manifest", f"{cc.remote_url} (not fetched)"))
    if cc.issuer or cc.signed_utc:
        rows.append(("  issuer, signed", f"{cc.issuer}, {cc.signed_utc}"))
    if cc.claim_generator:
        rows.append(("  claim generator", cc.claim_generator))
    rows += [
        ("  action", " ".join(filter(None, (a.action, a.software_agent, a.when))))
        for a in cc.actions
    ]
    rows += [("  ingredient", f"{i.title} ({i.relationship}, {i.format})") for i in cc.ingredients]
    if cc.state in ("valid", "trusted"):
        place = cc.capture_position
        rows.append(
            (
                "  capture",
                ", ".join(
                    filter(
                        None,
                        (
                            cc.capture_time_raw,
                            f"{place.lat:.6f},{place.lon:.6f}" if place else None,
                        ),
                    )
                )
                or "no capture time or place asserted",
            )
        )
    return rows  # fmt: skip


TrustAnchorsOpt = Annotated[
    Path | None,
    typer.Option(
        "--trust-anchors",
        help="PEM file of the certificate authorities you trust for content credentials "
        "(C2PA); none is bundled, so without it no signer is trusted. Never fetched online.",
    ),
]


def _render_probe(info: MediaInfo) -> str:
    rows = _probe_file_rows(info) + _probe_stream_rows(info)
    rows += _probe_claim_rows(info) + _probe_more_rows(info) + _probe_credential_rows(info)
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {printable(val)}" for k, val in rows]
    if info.notes:
        lines.append("")
        lines.append("trust notes:")
        lines += [f"  [{n.severity}] {n.code}: {printable(n.message)}" for n in info.notes]
    return "\n".join(lines)


@app.command("probe")
def probe_command(
    video: Annotated[Path, typer.Argument(help="Local video or photo (JPEG, PNG, HEIC).")],
    telemetry: Annotated[
        Path | None,
        typer.Option(
            "--telemetry",
            help="DJI .SRT flight telemetry for the video (default: a .SRT with the video's "
            "name beside it, when there is one).",
        ),
    ] = None,
    track: Annotated[
        TrackFormat | None,
        typer.Option("--track", help="Write the GPS track as gpx, kml, geojson or csv (--out)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="File the --track is written to (refused if it exists)."),
    ] = None,
    overwrite: OverwriteFileOpt = False,
    trust_anchors: TrustAnchorsOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Show what a video or photo claims: hashes, streams, times, places, directions, trust."""
    from geoverify.probing import probe

    def run() -> Any:
        from geoverify._output import check_output_file, write_output_file
        from geoverify.errors import InputError, MediaError

        if (track is None) != (out is None):
            msg = "--track and --out go together"
            raise InputError(msg, code="E_INPUT_OPTION", hint="e.g. --track gpx --out t.gpx")

        inputs = [video] if telemetry is None else [video, telemetry]
        inputs += [trust_anchors] if trust_anchors is not None else []
        if out is not None:  # before the probe: a bad --out fails at once
            check_output_file(out, overwrite=overwrite, inputs=inputs)
        info = probe(video, telemetry=telemetry, trust_anchors=trust_anchors)
        if track is not None and out is not None:
            from geoverify.probing._track import export_track

            if info.gps_track is None or not info.gps_track.fixes:
                msg = f"{str(video)!r} carries no GPS track to write"
                hint = "Only GoPro GPMF and DJI .SRT tracks are read; probe shows what there is."
                raise MediaError(msg, code="E_NO_GPS_TRACK", hint=hint)
            if info.telemetry is not None:
                inputs.append(Path(info.telemetry.path))
            data = export_track(info.gps_track, track, name=video.name)
            write_output_file(out, data, overwrite=overwrite, inputs=inputs)
        return info

    info = run_command(as_json, run)
    if track is not None and not as_json:
        echo(f"track ({track}): {out}")
    if as_json:
        echo(dump_json(to_jsonable(info)))
    else:
        echo(_render_probe(info))
