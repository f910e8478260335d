"""``geoverify locate``: where the camera stood, from landmarks marked in a frame (``pick``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from geoverify.cli._common import (
    JsonOpt,
    OverwriteDirOpt,
    OverwriteFileOpt,
    app,
    dump_json,
    echo,
    run_command,
)

if TYPE_CHECKING:
    from geoverify.resection import CameraFix


ImageArg = Annotated[
    Path, typer.Argument(help="The photo, or a frame saved by `geoverify frames` (PNG).")
]


@app.command("locate")
def locate_command(
    image: ImageArg,
    points: Annotated[
        Path,
        typer.Option(
            "--points",
            help="CSV or JSON: x_px,y_px (upright pixels, origin top-left) and a registry "
            "landmark id or lat,lon; optional alt_m (needed by --mode 3d) and sigma_m.",
        ),
    ],
    registry: Annotated[
        Path | None, typer.Option("--registry", help="Registry GeoJSON for landmark ids.")
    ] = None,
    focal_35mm: Annotated[
        float | None,
        typer.Option("--focal-35mm", help="35 mm equivalent focal length (over the long side)."),
    ] = None,
    hfov_deg: Annotated[
        float | None, typer.Option("--hfov-deg", help="Horizontal field of view, degrees.")
    ] = None,
    mode: Annotated[
        Literal["auto", "3d", "2d"],
        typer.Option(
            "--mode",
            help="3d: pixel rows and columns, points with heights (4 or more); 2d: columns only, "
            "a level camera (3 or more); auto: 3d when every point has alt_m.",
        ),
    ] = "auto",
    sigma_px: Annotated[
        float, typer.Option("--sigma-px", help="Click error, pixels (one standard deviation).")
    ] = 2.0,
    samples: Annotated[
        int, typer.Option("--samples", help="Monte Carlo samples for the uncertainty.")
    ] = 300,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (repeatable numbers).")] = 0,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for camera.json and camera.geojson (for a map)."),
    ] = None,
    overwrite: OverwriteDirOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Where the camera stood and which way it faced, from landmarks marked in one frame."""
    from geoverify.resection import LocateOptions, locate, save_camera_fix

    inputs = [p for p in (image, points, registry) if p is not None]

    def run() -> CameraFix:
        if out is not None:  # refuse a bad --out before the work
            from geoverify._output import check_output_dir

            check_output_dir(out, overwrite=overwrite, inputs=inputs)
        fix = locate(
            image,
            points,
            registry=registry,
            focal_35mm=focal_35mm,
            hfov_deg=hfov_deg,
            mode=mode,
            options=LocateOptions(sigma_px=sigma_px, samples=samples, seed=seed),
        )
        if out is not None:
            save_camera_fix(fix, out, overwrite=overwrite, inputs=inputs)
        return fix

    fix = run_command(as_json, run)
    if as_json:
        echo(dump_json(fix.to_dict()))
        return
    for line in render_camera_fix(fix):
        echo(line)
    if out is not None:
        echo(f"written         {out}/camera.json, camera.geojson")


def render_camera_fix(fix: CameraFix) -> list[str]:
    """Render the resection as an analyst reads it: the camera, its error, then each point."""
    u = fix.uncertainty
    c = fix.camera
    height = f", {fix.alt_m:.1f} m" if fix.alt_m is not None else ""
    pitch = f", pitch {fix.pitch_deg:+.1f} deg" if fix.pitch_deg is not None else ""
    lines = [
        f"camera          {c.lat:.6f}, {c.lon:.6f}{height} ({fix.mode} mode)",
        f"heading         {fix.heading_deg:.1f} deg from true north{pitch}",
        (
            f"uncertainty     half the solutions within {u.radius_m_50:.1f} m, 90 % within "
            f"{u.radius_m_90:.1f} m; heading within {u.heading_deg_90:.1f} deg (90 %), "
            f"{u.samples} samples"
        )
        if math.isfinite(u.radius_m_90)
        else "uncertainty     none stated (see the note below)",
        f"focal length    {fix.focal.value_px:.1f} px ({fix.focal.source}); field of view "
        f"{fix.hfov_deg:.1f} deg",
        f"fit             {fix.rms_px:.2f} px RMS over {len(fix.points)} points",
    ]
    if fix.ambiguous and fix.alternative is not None:
        a = fix.alternative
        lines.append(
            f"AMBIGUOUS       another camera at {a.lat:.6f}, {a.lon:.6f} fits at "
            f"{fix.alternative_rms_px:.2f} px RMS"
        )
    for p in fix.points:
        flag = "  OUTLIER" if p.outlier else ""
        lines.append(
            f"  {p.label:<24} {p.distance_m:8.1f} m at {p.bearing_deg:5.1f} deg, "
            f"residual {p.residual_px:6.2f} px{flag}"
        )
    lines += [f"note            {n}" for n in fix.notes]
    return lines


@app.command("pick")
def pick_command(
    image: ImageArg,
    out: Annotated[
        Path,
        typer.Option("--out", help="The HTML page to write (refused if the file exists)."),
    ],
    registry: Annotated[
        Path | None,
        typer.Option("--registry", help="Registry GeoJSON: its landmarks to choose from."),
    ] = None,
    overwrite: OverwriteFileOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Write an offline page for marking points in a frame and saving the POINTS file."""
    from geoverify.resection import write_pick_page

    written = run_command(
        as_json, lambda: write_pick_page(image, out, registry=registry, overwrite=overwrite)
    )
    if as_json:
        echo(dump_json({"out": str(written)}))
        return
    echo(f"written         {out}")
    echo("next            open it in a browser, mark the points, save the POINTS file, then")
    reg = f" --registry {registry}" if registry is not None else ""
    echo(f"                geoverify locate {image} --points SAVED.points.csv{reg}")
