"""The ``geoverify`` command line: a thin Typer layer over the library.

Each command converts its arguments, calls one public function and renders the result. This is
the only module that imports typer or rich, prints, or exits. One error boundary maps
``GeoverifyError`` to a one-line message with a hint on stderr (or a JSON error record on stdout
with ``--json``) and the exit code of the reliability contract; ``GEOVERIFY_DEBUG=1`` shows the
traceback. Ctrl-C exits 130.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Self, TypeVar

import typer

from geoverify._io import write_atomic
from geoverify._version import __version__
from geoverify.errors import GeoverifyError, InputError, RegistryError
from geoverify.models import LatLon, Verdict, to_jsonable

if TYPE_CHECKING:  # stage modules load inside the commands that use them (faster start)
    from geoverify.models import CheckResult
    from geoverify.probe import MediaInfo
    from geoverify.registry import Landmark

__all__ = ["app", "main"]

EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="geoverify",
    help="Check where and when a video was filmed: probe, frames, landmarks, claims, sun.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

R = TypeVar("R")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"geoverify {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Check where and when a video was filmed."""


def _dump_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, allow_nan=False, indent=2)


def _run(as_json: bool, func: Callable[[], R]) -> R:
    """Call ``func`` inside the one error boundary."""
    try:
        return func()
    except GeoverifyError as exc:
        if os.environ.get("GEOVERIFY_DEBUG") == "1":
            traceback.print_exc()
        if as_json:
            typer.echo(_dump_json({"error": exc.to_dict()}))
        else:
            line = _printable(exc.message.replace("\n", " "), 1000)
            typer.echo(f"error: {line} [{exc.code}]", err=True)
            if exc.hint:
                typer.echo(f"hint: {exc.hint}", err=True)
            if isinstance(exc, RegistryError) and exc.detail:
                for problem in exc.detail.splitlines()[:200]:
                    typer.echo(f"  {_printable(problem, 500)}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _render_probe(info: MediaInfo) -> str:
    rows: list[tuple[str, str]] = [
        ("file", info.path),
        ("size", f"{info.size_bytes} bytes"),
        ("sha256", info.sha256),
        (
            "container",
            f"{info.container.format_sniffed} (demuxer {info.container.demuxer}, "
            f"brand {_fmt(info.container.major_brand)})",
        ),
    ]
    v = info.video
    if v is not None:
        rows += [
            ("video stream", f"#{v.index}: {v.codec} {v.pix_fmt or ''} ({v.chosen_because})"),
            (
                "size",
                f"stored {v.stored_width}x{v.stored_height}, displayed "
                f"{v.display_width}x{v.display_height}, rotation {v.rotation_deg} deg cw",
            ),
            (
                "frame rate",
                f"average {_fmt(v.average_frame_rate)}, nominal {_fmt(v.nominal_frame_rate)}, "
                + {True: "variable", False: "constant", None: "unknown"}[v.variable_frame_rate],
            ),
            (
                "duration",
                f"{_fmt(v.duration_s)} s from timestamps; {v.frame_count_timestamps} frames "
                f"({v.keyframe_count} key)",
            ),
        ]
    for a in info.audio:
        rows.append(("audio", f"#{a.index}: {a.codec} {a.sample_rate_hz} Hz x{a.channels}"))
    for t in info.creation_times:
        utc = t.utc.isoformat() if t.utc else "unparseable"
        zone = "zone stated" if t.zone_stated else "no zone in file"
        rows.append(("created", f"{t.raw} -> {utc} ({t.source}; {zone})"))
    for loc in info.locations:
        where = f"{loc.position.lat:.6f}, {loc.position.lon:.6f}" if loc.position else loc.problem
        extra = f", alt {loc.altitude_m} m" if loc.altitude_m is not None else ""
        extra += f", accuracy {loc.accuracy_m} m" if loc.accuracy_m is not None else ""
        rows.append(("location", f"{where}{extra} ({loc.source}: {loc.raw})"))
    d = info.device
    device = ", ".join(
        f"{k} {val}"
        for k, val in (
            ("make", d.make),
            ("model", d.model),
            ("software", d.software),
            ("firmware", d.firmware),
            ("android", d.android_version),
        )
        if val
    )
    if device:
        rows.append(("device", device))
    if info.gps_track is not None:
        g = info.gps_track
        f0 = g.fixes[0]
        rows.append(
            (
                "gps track",
                f"{len(g.fixes)} fixes ({g.sample_count} samples), first {f0.lat:.6f}, "
                f"{f0.lon:.6f} at {g.first_time_utc.isoformat() if g.first_time_utc else 'no UTC'}",
            )
        )
    rows.append(
        (
            "media data",
            {True: "complete", False: "INCOMPLETE", None: "not checked"}[info.media_data_complete],
        )
    )
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {_printable(val)}" for k, val in rows]
    if info.notes:
        lines.append("")
        lines.append("trust notes:")
        lines += [f"  [{n.severity}] {n.code}: {_printable(n.message)}" for n in info.notes]
    return "\n".join(lines)


def _printable(text: str, max_chars: int = 300) -> str:
    """Escape control characters (terminal escape sequences from hostile metadata) and cut."""
    out = "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text[:max_chars]
    )
    return out + ("..." if len(text) > max_chars else "")


@app.command("probe")
def probe_command(
    video: Annotated[Path, typer.Argument(help="Local video file to examine.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Show what a video file is and what it claims: hashes, streams, times, places, trust."""
    from geoverify.probe import probe

    info = _run(as_json, lambda: probe(video))
    if as_json:
        typer.echo(_dump_json(to_jsonable(info)))
    else:
        typer.echo(_render_probe(info))


class _Progress:
    """A rich progress bar on stderr, fed by the library's progress callback."""

    def __init__(self, label: str, enabled: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=_stderr_console(),
            disable=not enabled,
            transient=True,
        )
        self.task = self.bar.add_task(label, total=None)

    def __enter__(self) -> Self:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def __call__(self, done: int, total: int | None) -> None:
        self.bar.update(self.task, completed=done, total=total)


class _StageProgress(_Progress):
    """One progress bar per stage (``decoding``, ``matching``...), fed (stage, done, total)."""

    def __init__(self, enabled: bool) -> None:
        super().__init__("", enabled)
        self.bar.remove_task(self.task)
        self.tasks: dict[str, Any] = {}

    def stage(self, stage: str, done: int, total: int | None) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total)
        self.bar.update(self.tasks[stage], completed=done, total=total)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@app.command("frames")
def frames_command(
    video: Annotated[Path, typer.Argument(help="Local video file.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for frames, frames.json, sheet.")],
    every: Annotated[
        float | None, typer.Option("--every", help="A frame every SECONDS, exact PTS.")
    ] = None,
    keyframes: Annotated[bool, typer.Option("--keyframes", help="The keyframes.")] = False,
    scenes: Annotated[bool, typer.Option("--scenes", help="One frame per shot.")] = False,
    views: Annotated[bool, typer.Option("--views", help="New views inside a shot.")] = False,
    best: Annotated[int, typer.Option("--best", help="The N sharpest distinct frames.")] = 0,
    start: Annotated[float | None, typer.Option("--start", help="From SECONDS.")] = None,
    end: Annotated[float | None, typer.Option("--end", help="Up to SECONDS.")] = None,
    image_format: Annotated[str, typer.Option("--format", help="png (lossless) or jpeg.")] = "png",
    scene_scan: Annotated[
        str,
        typer.Option(
            "--scene-scan",
            help="auto: for --scenes alone, GOPs whose keyframes match and that hold no burst "
            "of intra coding are not decoded (faster); full: decode every frame.",
        ),
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Save the frames worth looking at, with timestamps, hashes and a contact sheet.

    With no strategy given, one frame per shot is chosen (--scenes).
    """
    from geoverify.frames import FrameOptions, FrameWriter, save_frames, select_frames

    if image_format not in ("png", "jpeg"):
        msg = "--format must be png or jpeg"
        raise typer.BadParameter(msg)
    chosen = every is not None or keyframes or scenes or views or best > 0

    def run() -> tuple[Any, Any]:
        options = (
            FrameOptions(
                every_s=every,
                keyframes=keyframes,
                scenes=scenes,
                views=views,
                best=best,
                start_s=start,
                end_s=end,
                scene_scan=scene_scan,  # type: ignore[arg-type]
            )
            if chosen
            else FrameOptions(
                scenes=True,
                start_s=start,
                end_s=end,
                scene_scan=scene_scan,  # type: ignore[arg-type]
            )
        )
        fmt: Any = image_format
        writer = FrameWriter(out, fmt)  # saving overlaps decoding; memory stays bounded
        try:
            with _Progress("decoding", enabled=not as_json) as bar:
                selection = select_frames(
                    video, options=options, progress=bar, on_frame=writer, keep_pixels=False
                )
            saved = save_frames(selection, out, image_format=fmt, prepared=writer.result())
        finally:
            writer.discard()
        return selection, saved

    selection, saved = _run(as_json, run)
    if as_json:
        typer.echo(_dump_json(json.loads(Path(saved.manifest).read_text(encoding="utf-8"))))
        return
    for frame, item in zip(selection.frames, saved.frames, strict=True):
        typer.echo(
            f"{frame.t_s:10.3f} s  frame {frame.frame_number:6d}  "
            f"{'key' if frame.keyframe else '   '}  {','.join(frame.strategies):20s} {item.file}"
        )
    for note in selection.notes:
        typer.echo(f"[{note.severity}] {note.code}: {_printable(note.message)}")
    typer.echo(
        f"{len(saved.frames)} frames, {len(selection.shots)} shots; "
        f"{selection.frames_decoded} of {selection.frames_expected} frames decoded"
        + (f", {selection.frames_screened} screened" if selection.frames_screened else "")
    )
    typer.echo(f"manifest: {saved.manifest}")
    typer.echo(f"contact sheet: {saved.contact_sheet_html}")


registry_app = typer.Typer(help="Landmark registries (GeoJSON): validate, list, edit, import.")
app.add_typer(registry_app, name="registry")

RegistryArg = Annotated[Path, typer.Argument(help="Registry GeoJSON file.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def _landmark_row(lm: Landmark) -> str:
    pos = lm.anchor
    where = f"{pos.lat:.6f}, {pos.lon:.6f}" if pos else "no position"
    kind = ",".join(f"{k}={v}" for k, v in list(lm.tags.items())[:3]) or "-"
    geom = lm.geometry.geom_type if lm.geometry is not None else "-"
    unc = f"+-{lm.uncertainty_m:g} m" if lm.uncertainty_m is not None else ""
    return f"{lm.id:32s} {geom:15s} {where:24s} {unc:10s} {lm.name}  [{kind}]"


def _landmark_json(lm: Landmark) -> dict[str, Any]:
    from geoverify.registry import Registry, registry_to_geojson

    feature: dict[str, Any] = registry_to_geojson(Registry(name="", landmarks=(lm,)))["features"][0]
    return feature


@registry_app.command("validate")
def registry_validate(
    registry: RegistryArg,
    repair: Annotated[bool, typer.Option("--repair", help="Repair invalid polygons.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check a registry file; list every problem (exit 4) or say it is valid."""
    from geoverify.registry import load_registry

    reg = _run(as_json, lambda: load_registry(registry, repair=repair))
    if as_json:
        typer.echo(
            _dump_json(
                {
                    "valid": True,
                    "landmarks": len(reg),
                    "sha256": reg.sha256,
                    "warnings": to_jsonable(reg.warnings),
                }
            )
        )
        return
    typer.echo(f"valid: {len(reg)} landmarks in {registry} (sha256 {reg.sha256[:16]}...)")
    for w in reg.warnings:
        typer.echo(f"[warning] {w.code}: {_printable(w.message)}")


@registry_app.command("list")
def registry_list(registry: RegistryArg, as_json: JsonOpt = False) -> None:
    """List the landmarks: id, geometry, position, uncertainty, kind, name."""
    from geoverify.registry import load_registry, registry_to_geojson

    reg = _run(as_json, lambda: load_registry(registry))
    if as_json:
        typer.echo(_dump_json(registry_to_geojson(reg)))
        return
    for lm in reg:
        typer.echo(_printable(_landmark_row(lm), 400))


@registry_app.command("show")
def registry_show(
    registry: RegistryArg,
    landmark: Annotated[str, typer.Argument(help="Landmark id, name or alias.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one landmark with its sources, reference images and notes."""
    from geoverify.registry import load_registry

    lm = _run(as_json, lambda: load_registry(registry).get(landmark))
    data = _landmark_json(lm)
    if as_json:
        typer.echo(_dump_json(data))
        return
    typer.echo(_printable(_landmark_row(lm), 400))
    for key in ("aliases", "sources", "reference_images", "notes"):
        if key in data["properties"]:
            value = json.dumps(data["properties"][key], ensure_ascii=False)
            typer.echo(f"  {key}: {_printable(value, 2000)}")


def _parse_tags(items: list[str]) -> dict[str, str]:
    tags = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            msg = f"tag {item!r} is not KEY=VALUE"
            raise InputError(msg, code="E_INPUT_OPTION", hint="Write tags as key=value.")
        tags[key] = value
    return tags


@registry_app.command("add")
def registry_add(
    registry: RegistryArg,
    landmark_id: Annotated[str, typer.Option("--id", help="Unique id.")],
    name: Annotated[str, typer.Option("--name", help="Name.")],
    lat: Annotated[float, typer.Option("--lat", help="Latitude, degrees north.")],
    lon: Annotated[float, typer.Option("--lon", help="Longitude, degrees east.")],
    tag: Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE, repeatable.")] = None,
    uncertainty_m: Annotated[
        float | None, typer.Option("--uncertainty-m", help="Position uncertainty, metres.")
    ] = None,
    source: Annotated[
        str, typer.Option("--source", help="Where the position comes from (title or URL).")
    ] = "",
    notes: Annotated[str, typer.Option("--notes", help="Free text.")] = "",
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite the same id.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a point landmark (the file is locked and replaced atomically)."""
    from geoverify.registry import Source, add_landmark, point_landmark

    def run() -> Landmark:
        lm = point_landmark(
            landmark_id,
            name,
            LatLon(lat, lon),
            tags=_parse_tags(tag or []),
            uncertainty_m=uncertainty_m,
            sources=(Source(kind="other", title=source),) if source else (),
            notes=notes,
        )
        add_landmark(registry, lm, replace=replace)
        return lm

    lm = _run(as_json, run)
    if as_json:
        typer.echo(_dump_json(_landmark_json(lm)))
    else:
        typer.echo(f"added {lm.id} to {registry}")


@registry_app.command("remove")
def registry_remove(
    registry: RegistryArg,
    landmark_id: Annotated[str, typer.Argument(help="Landmark id.")],
    as_json: JsonOpt = False,
) -> None:
    """Remove a landmark by id."""
    from geoverify.registry import remove_landmark

    reg = _run(as_json, lambda: remove_landmark(registry, landmark_id))
    if as_json:
        typer.echo(_dump_json({"removed": landmark_id, "landmarks": len(reg)}))
    else:
        typer.echo(f"removed {landmark_id}; {len(reg)} landmarks left")


@registry_app.command("import-osm")
def registry_import_osm(
    registry: RegistryArg,
    osm_file: Annotated[Path, typer.Argument(help=".osm XML, Overpass JSON or .osm.pbf file.")],
    tag: Annotated[list[str], typer.Option("--tag", help="KEY or KEY=VALUE; repeatable.")],
    bbox: Annotated[
        str | None, typer.Option("--bbox", help="south,west,north,east in degrees.")
    ] = None,
    merge_by_name: Annotated[
        bool, typer.Option("--merge-by-name", help="Merge ways sharing a name into one line.")
    ] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite same ids.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add landmarks from an OpenStreetMap file; OSM id, version and timestamp are kept."""
    from geoverify.osm import import_osm
    from geoverify.registry import add_landmarks

    def run() -> Any:
        box = None
        if bbox is not None:
            try:
                s, w, n, e = (float(x) for x in bbox.split(","))
            except ValueError:
                msg = f"--bbox {bbox!r} is not south,west,north,east"
                raise InputError(
                    msg, code="E_INPUT_OPTION", hint="e.g. 48.57,37.97,48.61,38.03"
                ) from None
            box = (s, w, n, e)
        result = import_osm(osm_file, tags=tag, bbox=box, merge_by_name=merge_by_name)
        add_landmarks(registry, result.landmarks, replace=replace)
        return result

    result = _run(as_json, run)
    if as_json:
        typer.echo(
            _dump_json(
                {
                    "added": [lm.id for lm in result.landmarks],
                    "skipped": to_jsonable(result.skipped),
                    "osm_sha256": result.file_sha256,
                }
            )
        )
        return
    typer.echo(f"added {len(result.landmarks)} landmarks to {registry}")
    for note in result.skipped[:50]:
        typer.echo(f"[skipped] {_printable(note.message)}")


def _render_check(result: CheckResult) -> list[str]:
    unit = result.unit
    measured = f"{result.measured:.1f} {unit}" if result.measured is not None else "not measured"
    margin = f"{result.margin:+.1f} {unit}" if result.margin is not None else "-"
    lines = [
        f"{result.verdict.value.upper():13s} {result.name}: {_printable(result.text)}",
        f"    measured {measured}; claimed {_printable(result.expected)}; margin {margin}",
    ]
    if result.survives_choice is not None:
        survives = "yes" if result.survives_choice else "NO"
        lines.append(f"    same verdict for every candidate landmark: {survives}")
        for c in result.candidates:
            value = f"{c.measured:.1f} {unit}" if c.measured is not None else "-"
            who = "/".join(c.landmarks.values())
            lines.append(f"      {who}: {value} -> {c.verdict.value} ({_printable(c.reason)})")
    lines += [f"    note: {_printable(n)}" for n in result.notes]
    return lines


@app.command("check")
def check_command(
    registry: Annotated[Path, typer.Option("--registry", help="Registry GeoJSON.")],
    claims: Annotated[Path, typer.Option("--claims", help="Claims YAML.")],
    fail_on: Annotated[
        str | None,
        typer.Option("--fail-on", help="Exit 3 if any verdict is this (e.g. inconsistent)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check published claims against the registry: verdicts with margins (exit 0)."""
    from geoverify.claims import check_claims, load_claims
    from geoverify.registry import load_registry

    if fail_on is not None and fail_on not in {v.value for v in Verdict}:
        msg = "--fail-on takes consistent, inconsistent or inconclusive"
        raise typer.BadParameter(msg)

    def run() -> tuple[Any, ...]:
        reg = load_registry(registry)
        cs = load_claims(claims)
        return check_claims(reg, cs)

    results = _run(as_json, run)
    if as_json:
        typer.echo(_dump_json({"checks": to_jsonable(results)}))
    else:
        for r in results:
            typer.echo("\n".join(_render_check(r)))
    if fail_on is not None and any(r.verdict.value == fail_on for r in results):
        raise typer.Exit(3)


@app.command("candidates")
def candidates_command(
    registry: Annotated[Path, typer.Option("--registry", help="Registry GeoJSON.")],
    claims: Annotated[Path, typer.Option("--claims", help="Claims YAML.")],
    role: Annotated[str, typer.Option("--role", help="Role to fill, e.g. monument.")],
    as_json: JsonOpt = False,
) -> None:
    """Every landmark of the role's kind that would satisfy the claims, best first."""
    from geoverify.claims import load_claims, rank_candidates
    from geoverify.registry import load_registry

    ranks = _run(
        as_json, lambda: rank_candidates(load_registry(registry), load_claims(claims), role)
    )
    if as_json:
        typer.echo(_dump_json({"role": role, "candidates": to_jsonable(ranks)}))
        return
    if not ranks:
        typer.echo(f"no landmark of the role's kind has a position: nothing to rank for {role!r}")
    for r in ranks:
        margin = f"{r.worst_margin:+.1f}" if r.worst_margin is not None else "-"
        typer.echo(
            f"{r.landmark_id:32s} consistent {r.consistent}  inconclusive {r.inconclusive}  "
            f"inconsistent {r.inconsistent}  worst margin {margin}"
        )


sun_app = typer.Typer(help="Sun position and shadows: when and where a shadow fits.")
app.add_typer(sun_app, name="sun")

LatOpt = Annotated[float, typer.Option("--lat", help="Latitude, degrees north.")]
LonOpt = Annotated[float, typer.Option("--lon", help="Longitude, degrees east.")]
TzOpt = Annotated[
    str | None,
    typer.Option("--tz", help="IANA zone for times without an offset, e.g. Europe/Kyiv."),
]
ShadowAzOpt = Annotated[
    float | None, typer.Option("--shadow-azimuth", help="Shadow direction, degrees from north.")
]
AzErrOpt = Annotated[float, typer.Option("--azimuth-error", help="Its uncertainty, degrees.")]
RatioOpt = Annotated[
    float | None, typer.Option("--length-ratio", help="Shadow length / object height.")
]
RatioErrOpt = Annotated[float, typer.Option("--ratio-error", help="Its uncertainty.")]


def _shadow(az: float | None, az_err: float, ratio: float | None, ratio_err: float) -> Any:
    from geoverify.sun import ShadowMeasurement

    return ShadowMeasurement(
        azimuth_deg=az, azimuth_error_deg=az_err, length_ratio=ratio, ratio_error=ratio_err
    )


@sun_app.command("position")
def sun_position_command(
    lat: LatOpt,
    lon: LonOpt,
    time: Annotated[str, typer.Option("--time", help="ISO 8601 time, with offset or --tz.")],
    tz: TzOpt = None,
    elevation_m: Annotated[float, typer.Option("--elevation-m", help="Metres.")] = 0.0,
    pressure_hpa: Annotated[float, typer.Option("--pressure-hpa", help="hPa.")] = 1013.25,
    temperature_c: Annotated[float, typer.Option("--temperature-c", help="deg C.")] = 12.0,
    as_json: JsonOpt = False,
) -> None:
    """Where the sun was: azimuth, apparent elevation, shadow direction and length ratio."""
    from geoverify.sun import parse_time, sun_position

    pos = _run(
        as_json,
        lambda: sun_position(
            LatLon(lat, lon),
            parse_time(time, zone=tz),
            elevation_m=elevation_m,
            pressure_hpa=pressure_hpa,
            temperature_c=temperature_c,
        ),
    )
    if as_json:
        typer.echo(_dump_json(to_jsonable(pos)))
        return
    typer.echo(f"time (UTC)      {pos.when_utc.isoformat()}")
    typer.echo(f"sun azimuth     {pos.azimuth_deg:.4f} deg (clockwise from true north)")
    typer.echo(f"sun elevation   {pos.elevation_deg:.4f} deg (apparent, with refraction)")
    if pos.above_horizon and pos.shadow_azimuth_deg is not None:
        typer.echo(f"shadow azimuth  {pos.shadow_azimuth_deg:.4f} deg")
        typer.echo(f"shadow / height {pos.shadow_length_ratio:.4f}")
    else:
        typer.echo("the sun is below the horizon: no direct shadow")


@sun_app.command("check")
def sun_check_command(
    lat: LatOpt,
    lon: LonOpt,
    time: Annotated[str, typer.Option("--time", help="Claimed time, ISO 8601.")],
    tz: TzOpt = None,
    shadow_azimuth: ShadowAzOpt = None,
    azimuth_error: AzErrOpt = 5.0,
    length_ratio: RatioOpt = None,
    ratio_error: RatioErrOpt = 0.1,
    as_json: JsonOpt = False,
) -> None:
    """Check a measured shadow against a claimed place and time: verdict and margin."""
    from geoverify.sun import check_shadow, parse_time

    result = _run(
        as_json,
        lambda: check_shadow(
            LatLon(lat, lon),
            parse_time(time, zone=tz),
            _shadow(shadow_azimuth, azimuth_error, length_ratio, ratio_error),
        ),
    )
    if as_json:
        typer.echo(_dump_json(to_jsonable(result)))
    else:
        typer.echo("\n".join(_render_check(result)))


@sun_app.command("when")
def sun_when_command(
    lat: LatOpt,
    lon: LonOpt,
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC).")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (UTC).")],
    shadow_azimuth: ShadowAzOpt = None,
    azimuth_error: AzErrOpt = 5.0,
    length_ratio: RatioOpt = None,
    ratio_error: RatioErrOpt = 0.1,
    as_json: JsonOpt = False,
) -> None:
    """Time windows (UTC) in a date range when the measured shadow fits at a place."""
    from datetime import date

    from geoverify.sun import shadow_time_windows

    def run() -> Any:
        try:
            d0, d1 = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError:
            msg = f"dates must be YYYY-MM-DD, got {start!r} and {end!r}"
            raise InputError(msg, code="E_INPUT_TIME", hint="e.g. --from 2023-03-01") from None
        shadow = _shadow(shadow_azimuth, azimuth_error, length_ratio, ratio_error)
        return shadow_time_windows(LatLon(lat, lon), d0, d1, shadow)

    windows = _run(as_json, run)
    if as_json:
        typer.echo(_dump_json({"windows": to_jsonable(windows)}))
        return
    if not windows:
        typer.echo("no time in the range fits the measured shadow")
    for w in windows:
        a = w.start_utc.isoformat(timespec="seconds")
        b = w.end_utc.isoformat(timespec="seconds")
        typer.echo(f"{a}  to  {b}  (edges to {w.resolution_s:g} s)")


@sun_app.command("where")
def sun_where_command(
    time: Annotated[str, typer.Option("--time", help="Known time, ISO 8601.")],
    tz: TzOpt = None,
    shadow_azimuth: ShadowAzOpt = None,
    azimuth_error: AzErrOpt = 5.0,
    length_ratio: RatioOpt = None,
    ratio_error: RatioErrOpt = 0.1,
    bbox: Annotated[
        str, typer.Option("--bbox", help="south,west,north,east to search, degrees.")
    ] = "-60,-180,75,180",
    cell_deg: Annotated[float, typer.Option("--cell-deg", help="Coarse grid, degrees.")] = 1.0,
    out: Annotated[Path | None, typer.Option("--out", help="Write the band as GeoJSON.")] = None,
) -> None:
    """Find the band of places where the measured shadow fits at a known time (GeoJSON)."""
    from geoverify.sun import parse_time, shadow_places

    def run() -> Any:
        try:
            s, w, n, e = (float(x) for x in bbox.split(","))
        except ValueError:
            msg = f"--bbox {bbox!r} is not south,west,north,east"
            raise InputError(msg, code="E_INPUT_OPTION", hint="e.g. 30,10,70,70") from None
        shadow = _shadow(shadow_azimuth, azimuth_error, length_ratio, ratio_error)
        band = shadow_places(
            parse_time(time, zone=tz), shadow, south=s, west=w, north=n, east=e, cell_deg=cell_deg
        )
        if out is not None:
            write_atomic(out, _dump_json(band).encode("utf-8"))
        return band

    band = _run(out is None, run)
    if out is None:
        typer.echo(_dump_json(band))
    else:
        typer.echo(f"{len(band['features'])} cells written to {out}")


AffineOpt = Annotated[
    str,
    typer.Option(
        "--affine",
        help="Affine simulation for strongly slanted views: auto (frames where the plain pass "
        "finds too few consistent points), on (every frame), off. Seconds per frame.",
    ),
]

ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        help="Geometry that verifies a match: homography (a plane or a distant scene; "
        "default) or fundamental (any rigid scene with depth seen from two positions).",
    ),
]


@app.command("match")
def match_command(
    source: Annotated[Path, typer.Argument(help="A video, or a folder written by `frames`.")],
    registry: Annotated[Path, typer.Option("--registry", help="Registry GeoJSON.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for matches.json and images.")],
    detector: Annotated[
        str, typer.Option("--detector", help="Local features: sift, rootsift or orb.")
    ] = "sift",
    affine: AffineOpt = "auto",
    model: ModelOpt = "homography",
    as_json: JsonOpt = False,
) -> None:
    """Which registry landmark each frame shows, with a false-match estimate and verdict."""
    from geoverify.frames import Frame, FrameOptions, select_frames
    from geoverify.matching import MatchOptions, build_index, load_image, match_frames, save_matches
    from geoverify.registry import load_registry

    def run() -> tuple[Any, Path]:
        options = MatchOptions(
            detector=detector,  # type: ignore[arg-type]
            affine=affine,  # type: ignore[arg-type]
            model=model,  # type: ignore[arg-type]
        )
        reg = load_registry(registry)
        index = build_index(reg, options=options)
        frames: list[Any]
        if source.is_dir():
            manifest = json.loads((source / "frames.json").read_text(encoding="utf-8"))
            frames = [
                Frame(
                    image_bgr=load_image(source / Path(e["file"]).name),
                    t_s=float(e["t_s"]),
                    pts=int(e["pts"]),
                    time_base=Fraction(e["time_base"]),
                    frame_number=int(e["frame_number"]),
                    keyframe=bool(e["keyframe"]),
                    strategies=tuple(e["strategies"]),
                    shot=e.get("shot"),
                    sharpness=float(e["sharpness"]),
                    phash=str(e["phash"]),
                )
                for e in manifest["frames"]
            ]
        else:
            opts = FrameOptions(scenes=True, best=5)
            with _Progress("decoding", enabled=not as_json) as bar:
                frames = list(select_frames(source, options=opts, progress=bar).frames)
        with _Progress("matching", enabled=not as_json) as bar:
            results = match_frames(frames, index, progress=bar)
        return results, save_matches(results, frames, index, out, registry_dir=registry.parent)

    results, manifest_path = _run(as_json, run)
    if as_json:
        typer.echo(Path(manifest_path).read_text(encoding="utf-8"))
        return
    for r in results:
        m = r.match
        best = f"{m.best.landmark_id} ({m.best.inliers} inliers)" if m.best else "-"
        fmr = f"{m.false_match_rate:.3f}" if m.false_match_rate is not None else "n/a"
        mirrored = " MIRRORED" if m.mirrored else ""
        how = " (affine simulation)" if m.affine else ""
        typer.echo(
            f"{r.t_s:10.3f} s  frame {r.frame_number:6d}  {m.verdict:9s} {best}  "
            f"false-match rate {fmr}{mirrored}{how}"
        )
    typer.echo(f"manifest: {manifest_path}")


@app.command("verify")
def verify_command(
    video: Annotated[Path, typer.Argument(help="Local video file.")],
    registry: Annotated[Path, typer.Option("--registry", help="Registry GeoJSON.")],
    claims: Annotated[Path, typer.Option("--claims", help="Claims YAML.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the report.")],
    title: Annotated[str, typer.Option("--title", help="Report title.")] = "",
    affine: AffineOpt = "auto",
    model: ModelOpt = "homography",
    as_json: JsonOpt = False,
) -> None:
    """Probe, pick frames, match landmarks, check claims: one report (JSON, HTML, Markdown)."""
    from geoverify.matching import MatchOptions
    from geoverify.pipeline import VerifyOptions, save_verification, verify

    def run() -> Any:
        matching = MatchOptions(affine=affine, model=model)  # type: ignore[arg-type]
        options = VerifyOptions(title=title, matching=matching)
        with _StageProgress(enabled=not as_json) as bar:
            result = verify(
                video, registry=registry, claims=claims, options=options, progress=bar.stage
            )
        saved = save_verification(result, out)
        return result, saved

    result, saved = _run(as_json, run)
    if as_json:
        typer.echo(_dump_json({"out_dir": saved["out_dir"], "summary": result.report.summary}))
        return
    for c in result.report.checks:
        typer.echo("\n".join(_render_check(c)[:2]))
    matched = result.report.summary["frames_matched_by_landmark"]
    typer.echo(
        "frames matched: "
        + (", ".join(f"{k} ({v})" for k, v in matched.items()) if matched else "none")
    )
    typer.echo(f"report: {Path(saved['out_dir']) / 'report.html'}")


def main() -> None:
    """Entry point of the ``geoverify`` command."""
    try:
        app()
    except Exception:  # a bug: say so, keep the traceback for the report
        traceback.print_exc()
        sys.stderr.write("error: internal error in geoverify (a bug); please report it\n")
        sys.exit(EXIT_INTERNAL)
