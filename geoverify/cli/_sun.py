"""Commands on the sun: position, shadow checks, when and where a shadow fits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from geoverify._output import check_output_file, write_output_file
from geoverify.cli._common import (
    CONTEXT,
    JsonOpt,
    OverwriteFileOpt,
    app,
    dump_json,
    echo,
    render_check,
    run_command,
)
from geoverify.errors import InputError
from geoverify.models import (
    INHABITED_BBOX,
    OBSERVER_ELEVATION_M,
    SHADOW_AZIMUTH_ERROR_DEG,
    SHADOW_CELL_DEG,
    SHADOW_RATIO_ERROR,
    STANDARD_PRESSURE_HPA,
    STANDARD_TEMPERATURE_C,
    BBox,
    LatLon,
    to_jsonable,
)

sun_app = typer.Typer(
    context_settings=CONTEXT, help="Sun position and shadows: when and where a shadow fits."
)
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
    elevation_m: Annotated[
        float, typer.Option("--elevation-m", help="Metres.")
    ] = OBSERVER_ELEVATION_M,
    pressure_hpa: Annotated[
        float, typer.Option("--pressure-hpa", help="hPa.")
    ] = STANDARD_PRESSURE_HPA,
    temperature_c: Annotated[
        float, typer.Option("--temperature-c", help="deg C.")
    ] = STANDARD_TEMPERATURE_C,
    as_json: JsonOpt = False,
) -> None:
    """Where the sun was: azimuth, apparent elevation, shadow direction and length ratio."""
    from geoverify.sun import parse_time, sun_position

    pos = run_command(
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
        echo(dump_json(to_jsonable(pos)))
        return
    echo(f"time (UTC)      {pos.when_utc.isoformat()}")
    echo(f"sun azimuth     {pos.azimuth_deg:.4f} deg (clockwise from true north)")
    echo(f"sun elevation   {pos.elevation_deg:.4f} deg (apparent, with refraction)")
    if pos.above_horizon and pos.shadow_azimuth_deg is not None:
        echo(f"shadow azimuth  {pos.shadow_azimuth_deg:.4f} deg")
        echo(f"shadow / height {pos.shadow_length_ratio:.4f}")
    else:
        echo("the sun is below the horizon: no direct shadow")


@sun_app.command("check")
def sun_check_command(
    lat: LatOpt,
    lon: LonOpt,
    time: Annotated[str, typer.Option("--time", help="Claimed time, ISO 8601.")],
    tz: TzOpt = None,
    shadow_azimuth: ShadowAzOpt = None,
    azimuth_error: AzErrOpt = SHADOW_AZIMUTH_ERROR_DEG,
    length_ratio: RatioOpt = None,
    ratio_error: RatioErrOpt = SHADOW_RATIO_ERROR,
    as_json: JsonOpt = False,
) -> None:
    """Check a measured shadow against a claimed place and time: verdict and margin."""
    from geoverify.sun import check_shadow, parse_time

    result = run_command(
        as_json,
        lambda: check_shadow(
            LatLon(lat, lon),
            parse_time(time, zone=tz),
            _shadow(shadow_azimuth, azimuth_error, length_ratio, ratio_error),
        ),
    )
    if as_json:
        echo(dump_json(to_jsonable(result)))
    else:
        echo("\n".join(render_check(result)))


@sun_app.command("when")
def sun_when_command(
    lat: LatOpt,
    lon: LonOpt,
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC).")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (UTC).")],
    shadow_azimuth: ShadowAzOpt = None,
    azimuth_error: AzErrOpt = SHADOW_AZIMUTH_ERROR_DEG,
    length_ratio: RatioOpt = None,
    ratio_error: RatioErrOpt = SHADOW_RATIO_ERROR,
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

    windows = run_command(as_json, run)
    if as_json:
        echo(dump_json({"windows": to_jsonable(windows)}))
        return
    if not windows:
        echo("no time in the range fits the measured shadow")
    for w in windows:
        a = w.start_utc.isoformat(timespec="seconds")
        b = w.end_utc.isoformat(timespec="seconds")
        echo(f"{a}  to  {b}  (edges to {w.resolution_s:g} s)")


@sun_app.command("where")
def sun_where_command(
    time: Annotated[str, typer.Option("--time", help="Known time, ISO 8601.")],
    tz: TzOpt = None,
    shadow_azimuth: ShadowAzOpt = None,
    azimuth_error: AzErrOpt = SHADOW_AZIMUTH_ERROR_DEG,
    length_ratio: RatioOpt = None,
    ratio_error: RatioErrOpt = SHADOW_RATIO_ERROR,
    bbox: Annotated[
        str,
        typer.Option(
            "--bbox", help="west,south,east,north to search, degrees (as osmnx and QGIS)."
        ),
    ] = INHABITED_BBOX.text(),
    cell_deg: Annotated[
        float, typer.Option("--cell-deg", help="Coarse grid, degrees.")
    ] = SHADOW_CELL_DEG,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the band as GeoJSON (refused if the file exists)."),
    ] = None,
    overwrite: OverwriteFileOpt = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="With --out: print a JSON summary (errors as JSON too)."),
    ] = False,
) -> None:
    """Find the band of places where the measured shadow fits at a known time (GeoJSON)."""
    from geoverify.sun import parse_time, shadow_places

    def run() -> Any:
        if out is not None:  # before the search: a bad --out fails at once
            check_output_file(out, overwrite=overwrite)
        box = BBox.parse(bbox)
        shadow = _shadow(shadow_azimuth, azimuth_error, length_ratio, ratio_error)
        band = shadow_places(
            parse_time(time, zone=tz),
            shadow,
            south=box.south,
            west=box.west,
            north=box.north,
            east=box.east,
            cell_deg=cell_deg,
        )
        if out is not None:
            write_output_file(out, dump_json(band).encode("utf-8"), overwrite=overwrite)
        return band

    band = run_command(as_json, run)  # without --json, errors on stderr: stdout is only the GeoJSON
    if out is None:
        echo(dump_json(band))
    elif as_json:
        echo(dump_json({"cells": len(band["features"]), "out": str(out)}))
    else:
        echo(f"{len(band['features'])} cells written to {out}")
