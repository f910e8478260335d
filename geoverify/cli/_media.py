"""Commands on a video: probe, frames, match, verify."""

from __future__ import annotations

import json
import os
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
    DEFAULT_SECOND_PASS,
    ImageFormat,
    SceneScan,
)
from geoverify.models import TEXT_LANG, to_jsonable

if TYPE_CHECKING:  # stage modules load inside the commands that use them (faster start)
    from geoverify.resection import CameraPoints

    pass

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
    ProgressLines,
    ScenesOpt,
    SecondPassOpt,
    StageProgress,
    StartOpt,
    ViewsOpt,
    app,
    cover_options,
    dump_json,
    echo,
    matcher_options,
    printable,
    render_bottom_line,
    render_check,
    run_command,
)
from geoverify.cli._probe import TrustAnchorsOpt
from geoverify.cli._text import TextOpt, text_options


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
    second_pass: SecondPassOpt = DEFAULT_SECOND_PASS,
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
            detector=detector,
            affine=affine,
            features=features,
            model=model,
            background=background,
            second_pass=second_pass,
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
    video: Annotated[Path, typer.Argument(help="Local video or photo (JPEG, PNG, HEIC) file.")],
    registry: Annotated[Path, typer.Option("--registry", help="Registry GeoJSON.")],
    out: Annotated[str, typer.Option("--out", help="Folder for the report.")],
    claims: Annotated[
        Path | None,
        typer.Option(
            "--claims",
            help="Claims YAML; without it, a triage (as batch does): what the file claims, "
            "what it matched, where it says it was.",
        ),
    ] = None,
    title: Annotated[str, typer.Option("--title", help="Report title.")] = "",
    overwrite: OverwriteDirOpt = False,
    affine: AffineOpt = DEFAULT_AFFINE,
    features: FeaturesOpt = DEFAULT_FEATURES,
    second_pass: SecondPassOpt = DEFAULT_SECOND_PASS,
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
    trust_anchors: TrustAnchorsOpt = None,
    text: TextOpt = TEXT_LANG,
    as_json: JsonOpt = False,
) -> None:
    """Probe, pick frames, match landmarks, check claims: one report (JSON, HTML, Markdown).

    Frames are chosen as by `frames`. With none of --every/--scenes/--views/--best:
    --scenes --views --best 4 (every shot, every new view inside a shot, and the 4 sharpest
    distinct frames). Without --claims the bottom line is "no hypothesis stated".
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
        reg = load_registry(registry)  # its images are inputs too: --out may not hold them
        marked = _marked_points(points, points_frame)
        inputs = input_paths(video, reg, claims) + (marked.paths() if marked else ())
        inputs += (os.fspath(trust_anchors),) if trust_anchors is not None else ()
        check_output(out, overwrite=overwrite, inputs=inputs)  # before the decoding
        options = VerifyOptions(
            title=title,
            matching=matcher_options(
                affine=affine,
                features=features,
                model=model,
                background=background,
                second_pass=second_pass,
            ),
            frames=cover_options(every, scenes, views, best, start, end),
            trust_anchors=os.fspath(trust_anchors) if trust_anchors is not None else None,
            text=text_options(text),
        )
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
    _render_verification(result, saved, as_json, triaged=claims is None)


def _marked_points(points: Path | None, points_frame: Path | None) -> CameraPoints | None:
    """Return the landmarks marked in the photo or a frame (``--points``), checked."""
    from geoverify.errors import InputError
    from geoverify.resection import CameraPoints

    if points_frame is not None and points is None:
        msg = "--points-frame needs --points"
        raise InputError(msg, code="E_INPUT_OPTION", hint="Add --points POINTS.")
    return CameraPoints(points=points, image=points_frame) if points else None


def _render_verification(
    result: Any, saved: dict[str, Any], as_json: bool, *, triaged: bool = False
) -> None:
    """Print what ``verify`` found: the bottom line, the claim checks, the frames matched.

    Without claims (``triaged``): what the file claims, what it matched, where it says it was.
    """
    from geoverify.batch import triage
    from geoverify.cli._triage import render_triage

    found = triage(result)
    if as_json:
        echo(
            dump_json(
                {
                    "bottom_line": to_jsonable(result.report.bottom_line),
                    "out_dir": saved["out_dir"],
                    "summary": result.report.summary,
                    "triage": {**to_jsonable(found), "summary": found.summary},
                }
            )
        )
        return
    if triaged:
        echo("\n".join(render_triage(found)))
        echo(f"report: {Path(saved['out_dir']) / 'report.html'}")
        return
    report = result.report
    plain = render_bottom_line(
        report.bottom_line, report.plain_summary, report.plain_lines, dict(report.landmark_names)
    )
    echo("\n".join(plain))
    echo("")
    echo("claim checks (the published description of the place):")
    for c in result.report.checks:
        echo("\n".join(render_check(c)[:2]))
    matched = result.report.summary["frames_matched_by_landmark"]
    names = dict(report.landmark_names)
    echo(
        "frames matched: "
        + (", ".join(f"{names.get(k, k)} ({v})" for k, v in matched.items()) if matched else "none")
    )
    echo(f"report: {Path(saved['out_dir']) / 'report.html'}")
