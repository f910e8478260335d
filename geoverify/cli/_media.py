"""Commands on a video: probe, frames, match, verify."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from geoverify._choices import (
    DEFAULT_AFFINE,
    DEFAULT_BACKGROUND,
    DEFAULT_DETECTOR,
    DEFAULT_FEATURES,
    DEFAULT_IMAGE_FORMAT,
    DEFAULT_MODEL,
    DEFAULT_SCENE_SCAN,
    ImageFormat,
    SceneScan,
)
from geoverify.models import to_jsonable
from geoverify.probing._track import TrackFormat

if TYPE_CHECKING:  # stage modules load inside the commands that use them (faster start)
    from geoverify.probing import CreationTime, GpsTrack, MediaInfo

from geoverify.cli._common import (
    AffineOpt,
    BackgroundOpt,
    BestOpt,
    DetectorOpt,
    EndOpt,
    EveryOpt,
    FeaturesOpt,
    JsonOpt,
    ModelOpt,
    OverwriteDirOpt,
    OverwriteFileOpt,
    ProgressLines,
    ScenesOpt,
    StageProgress,
    StartOpt,
    ViewsOpt,
    app,
    cover_options,
    dump_json,
    echo,
    format_value,
    matcher_options,
    printable,
    render_bottom_line,
    render_check,
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


def _render_probe(info: MediaInfo) -> str:
    rows = _probe_file_rows(info) + _probe_stream_rows(info)
    rows += _probe_claim_rows(info) + _probe_more_rows(info)
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
        if out is not None:  # before the probe: a bad --out fails at once
            check_output_file(out, overwrite=overwrite, inputs=inputs)
        info = probe(video, telemetry=telemetry)
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


@app.command("frames")
def frames_command(
    video: Annotated[Path, typer.Argument(help="Local video file.")],
    out: Annotated[str, typer.Option("--out", help="Folder for frames, frames.json, sheet.")],
    overwrite: OverwriteDirOpt = False,
    every: Annotated[
        float | None, typer.Option("--every", help="A frame every SECONDS, exact PTS.")
    ] = None,
    keyframes: Annotated[bool, typer.Option("--keyframes", help="The keyframes.")] = False,
    scenes: Annotated[bool, typer.Option("--scenes", help="One frame per shot.")] = False,
    views: Annotated[bool, typer.Option("--views", help="New views inside a shot.")] = False,
    best: Annotated[int, typer.Option("--best", help="The N sharpest distinct frames.")] = 0,
    start: Annotated[float | None, typer.Option("--start", help="From SECONDS.")] = None,
    end: Annotated[float | None, typer.Option("--end", help="Up to SECONDS.")] = None,
    image_format: Annotated[
        ImageFormat, typer.Option("--format", help="png (lossless) or jpeg.")
    ] = DEFAULT_IMAGE_FORMAT,
    scene_scan: Annotated[
        SceneScan,
        typer.Option(
            "--scene-scan",
            help="auto: for --scenes alone, each GOP is screened first and only the part "
            "where the picture can change is looked at frame by frame (faster); full: look "
            "at every frame.",
        ),
    ] = DEFAULT_SCENE_SCAN,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Save the frames worth looking at, with timestamps, hashes and a contact sheet.

    With no strategy given, one frame per shot is chosen (--scenes).
    """
    from geoverify.frames import FrameOptions, extract_frames

    chosen = every is not None or keyframes or scenes or views or best != 0  # -1: refused

    def run() -> Any:
        options = (
            FrameOptions(
                every_s=every,
                keyframes=keyframes,
                scenes=scenes,
                views=views,
                best=best,
                start_s=start,
                end_s=end,
                scene_scan=scene_scan,
            )
            if chosen
            else FrameOptions(scenes=True, start_s=start, end_s=end, scene_scan=scene_scan)
        )
        fmt: Any = image_format
        with ProgressLines("decoding", enabled=not as_json) as bar:
            return extract_frames(
                video, out, options=options, image_format=fmt, overwrite=overwrite, progress=bar
            )

    done = run_command(as_json, run)
    selection, saved = done.selection, done.saved
    if as_json:
        echo(dump_json(json.loads(Path(saved.manifest).read_text(encoding="utf-8"))))
        return
    for frame, item in zip(selection.frames, saved.frames, strict=True):
        echo(
            f"{frame.t_s:10.3f} s  frame {frame.frame_number:6d}  "
            f"{'key' if frame.keyframe else '   '}  {','.join(frame.strategies):20s} {item.file}"
        )
    for note in selection.notes:
        echo(f"[{note.severity}] {note.code}: {printable(note.message)}")
    echo(
        f"{len(saved.frames)} frames, {len(selection.shots)} shots; "
        f"{selection.frames_decoded} of {selection.frames_expected} frames decoded"
        + (f", {selection.frames_screened} screened" if selection.frames_screened else "")
    )
    echo(f"manifest: {saved.manifest}")
    echo(f"contact sheet: {saved.contact_sheet_html}")


@app.command("match")
def match_command(
    source: Annotated[Path, typer.Argument(help="A video, or a folder written by `frames`.")],
    registry: Annotated[Path, typer.Option("--registry", help="Registry GeoJSON.")],
    out: Annotated[str, typer.Option("--out", help="Folder for matches.json and images.")],
    overwrite: OverwriteDirOpt = False,
    detector: DetectorOpt = DEFAULT_DETECTOR,
    affine: AffineOpt = DEFAULT_AFFINE,
    features: FeaturesOpt = DEFAULT_FEATURES,
    model: ModelOpt = DEFAULT_MODEL,
    background: BackgroundOpt = DEFAULT_BACKGROUND,
    every: EveryOpt = None,
    scenes: ScenesOpt = False,
    views: ViewsOpt = False,
    best: BestOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Which registry landmark each frame shows, with a false-match estimate and verdict.

    For a video, the frames are chosen as by `frames`. With none of
    --every/--scenes/--views/--best: --scenes --views --best 4 (every shot, every new view
    inside a shot, and the 4 sharpest distinct frames). The frame options are ignored for a
    folder written by `frames`.
    """
    from geoverify._output import check_output_dir
    from geoverify.frames import select_frames
    from geoverify.matching import build_index, load_frames_dir, match_frames, save_matches
    from geoverify.pipeline import input_paths
    from geoverify.registry import load_registry

    def run() -> tuple[Any, Path]:
        options = matcher_options(
            detector=detector, affine=affine, features=features, model=model, background=background
        )
        frame_options = cover_options(every, scenes, views, best, start, end)
        reg = load_registry(registry)
        inputs = input_paths(source, reg, None)
        check_output_dir(out, overwrite=overwrite, inputs=inputs)  # before any decoding
        index = build_index(reg, options=options)
        frames: list[Any]
        if source.is_dir():
            frames = load_frames_dir(source)
        else:
            with ProgressLines("decoding", enabled=not as_json) as bar:
                frames = list(select_frames(source, options=frame_options, progress=bar).frames)
        with ProgressLines("matching", enabled=not as_json) as bar:
            results = match_frames(frames, index, progress=bar)
        saved = save_matches(
            results,
            frames,
            index,
            out,
            registry_dir=registry.parent,
            overwrite=overwrite,
            inputs=inputs,
        )
        return results, saved

    results, manifest_path = run_command(as_json, run)
    if as_json:
        echo(dump_json(json.loads(Path(manifest_path).read_text(encoding="utf-8"))))
        return
    _render_matches(results)
    echo(f"manifest: {manifest_path}")


def _render_matches(results: list[Any]) -> None:
    for r in results:
        m = r.match
        shown = f"{m.best.landmark_id} ({m.best.inliers} inliers)" if m.best else "-"
        # ImageMatch.mirrored is set for a match only; the verdict is checked here too
        mirrored = " MIRRORED" if m.mirrored and m.verdict == "match" else ""
        how = {"run": " (affine simulation run)", "skipped": " (affine pass skipped)"}
        echo(
            f"{r.t_s:10.3f} s  frame {r.frame_number:6d}  {m.verdict_text:9s} {shown}  "
            f"false-match rate {m.false_match_rate_text}{mirrored}"
            f"{how.get(m.affine_decision, '')}"
        )
    for left_out in dict.fromkeys(n for r in results for n in r.match.excluded_controls):
        echo(f"note: {left_out}")


PointsOpt = Annotated[
    Path | None,
    typer.Option(
        "--points",
        help="Landmarks marked in the photo (or in --points-frame), as for `locate`: the "
        "camera resected from them is weighed as one more camera position.",
    ),
]
PointsFrameOpt = Annotated[
    Path | None,
    typer.Option(
        "--points-frame", help="The frame (saved by `frames`) the --points were marked on."
    ),
]


@app.command("verify")
def verify_command(
    video: Annotated[Path, typer.Argument(help="Local video file.")],
    registry: Annotated[Path, typer.Option("--registry", help="Registry GeoJSON.")],
    claims: Annotated[Path, typer.Option("--claims", help="Claims YAML.")],
    out: Annotated[str, typer.Option("--out", help="Folder for the report.")],
    title: Annotated[str, typer.Option("--title", help="Report title.")] = "",
    overwrite: OverwriteDirOpt = False,
    affine: AffineOpt = DEFAULT_AFFINE,
    features: FeaturesOpt = DEFAULT_FEATURES,
    model: ModelOpt = DEFAULT_MODEL,
    background: BackgroundOpt = DEFAULT_BACKGROUND,
    every: EveryOpt = None,
    scenes: ScenesOpt = False,
    views: ViewsOpt = False,
    best: BestOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    points: PointsOpt = None,
    points_frame: PointsFrameOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Probe, pick frames, match landmarks, check claims: one report (JSON, HTML, Markdown).

    Frames are chosen as by `frames`. With none of --every/--scenes/--views/--best:
    --scenes --views --best 4 (every shot, every new view inside a shot, and the 4 sharpest
    distinct frames).
    """
    from geoverify.pipeline import (
        VerifyOptions,
        check_output,
        input_paths,
        save_verification,
        verify,
    )
    from geoverify.registry import load_registry

    def run() -> Any:
        from geoverify.errors import InputError
        from geoverify.resection import CameraPoints

        reg = load_registry(registry)  # its images are inputs too: --out may not hold them
        marked = CameraPoints(points=points, image=points_frame) if points else None
        if points_frame is not None and marked is None:
            msg = "--points-frame needs --points"
            raise InputError(msg, code="E_INPUT_OPTION", hint="Add --points POINTS.")
        inputs = input_paths(video, reg, claims) + (marked.paths() if marked else ())
        check_output(out, overwrite=overwrite, inputs=inputs)  # before the decoding
        matching = matcher_options(
            affine=affine, features=features, model=model, background=background
        )
        frame_options = cover_options(every, scenes, views, best, start, end)
        options = VerifyOptions(title=title, matching=matching, frames=frame_options)
        with StageProgress(enabled=not as_json) as bar:
            result = verify(
                video,
                registry=reg,
                claims=claims,
                options=options,
                progress=bar.stage,
                camera_points=marked,
            )
        saved = save_verification(result, out, overwrite=overwrite)
        return result, saved

    result, saved = run_command(as_json, run)
    _render_verification(result, saved, as_json)


def _render_verification(result: Any, saved: dict[str, Any], as_json: bool) -> None:
    """Print what ``verify`` found: the bottom line, the claim checks, the frames matched."""
    if as_json:
        echo(
            dump_json(
                {
                    "bottom_line": to_jsonable(result.report.bottom_line),
                    "out_dir": saved["out_dir"],
                    "summary": result.report.summary,
                }
            )
        )
        return
    echo("\n".join(render_bottom_line(result.report.bottom_line)))
    echo("")
    echo("claim checks (the published description of the place):")
    for c in result.report.checks:
        echo("\n".join(render_check(c)[:2]))
    matched = result.report.summary["frames_matched_by_landmark"]
    echo(
        "frames matched: "
        + (", ".join(f"{k} ({v})" for k, v in matched.items()) if matched else "none")
    )
    echo(f"report: {Path(saved['out_dir']) / 'report.html'}")
