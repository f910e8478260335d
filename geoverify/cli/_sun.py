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

LatOpt = Annotated[float | None, typer.Option("--lat", help="Latitude, degrees north.")]
LonOpt = Annotated[float | None, typer.Option("--lon", help="Longitude, degrees east.")]
AtOpt = Annotated[
    str | None,
    typer.Option(
        "--at",
        help="The place instead of --lat/--lon: LAT,LON in decimal degrees, or a landmark id "
        "or name of --registry.",
    ),
]
RegistryOpt = Annotated[
    Path | None, typer.Option("--registry", help="Registry GeoJSON that --at names from.")
]
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


def _place(lat: float | None, lon: float | None, at: str | None, registry: Path | None) -> Any:
    """Resolve --lat/--lon or --at (with --registry) to a ``Place``; exactly one is needed."""
    from geoverify.claims import Place, resolve_place

    given = lat is not None or lon is not None
    if given == (at is not None) or (given and (lat is None or lon is None)):
        msg = "give the place as --lat and --lon together, or as --at (not both)"
        hint = "e.g. --at 52.5192,13.4011, or --at berliner_dom --registry registry.geojson"
        raise InputError(msg, code="E_INPUT_OPTION", hint=hint)
    if at is None:
        return Place.given(LatLon(float(lat or 0.0), float(lon or 0.0)))
    from geoverify.registry import load_registry

    return resolve_place(at, registry=load_registry(registry) if registry is not None else None)


def _echo_place(place: Any) -> None:
    echo(f"place           {place.label}")


def _shadow(az: float | None, az_err: float, ratio: float | None, ratio_err: float) -> Any:
    from geoverify.sun import ShadowMeasurement

    return ShadowMeasurement(
        azimuth_deg=az, azimuth_error_deg=az_err, length_ratio=ratio, ratio_error=ratio_err
    )


@sun_app.command("position")
def sun_position_command(
    time: Annotated[str, typer.Option("--time", help="ISO 8601 time, with offset or --tz.")],
    lat: LatOpt = None,
    lon: LonOpt = None,
    at: AtOpt = None,
    registry: RegistryOpt = None,
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

    def run() -> Any:
        place = _place(lat, lon, at, registry)
        return place, sun_position(
            place.position,
            parse_time(time, zone=tz),
            elevation_m=elevation_m,
            pressure_hpa=pressure_hpa,
            temperature_c=temperature_c,
        )

    place, pos = run_command(as_json, run)
    if as_json:
        echo(dump_json({**to_jsonable(pos), "place": to_jsonable(place)}))
        return
    _echo_place(place)
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
    time: Annotated[str, typer.Option("--time", help="Claimed time, ISO 8601.")],
    lat: LatOpt = None,
    lon: LonOpt = None,
    at: AtOpt = None,
    registry: RegistryOpt = None,
    tz: TzOpt = None,
    shadow_azimuth: ShadowAzOpt = None,
    azimuth_error: AzErrOpt = SHADOW_AZIMUTH_ERROR_DEG,
    length_ratio: RatioOpt = None,
    ratio_error: RatioErrOpt = SHADOW_RATIO_ERROR,
    as_json: JsonOpt = False,
) -> None:
    """Check a measured shadow against a claimed place and time: verdict and margin."""
    from geoverify.sun import check_shadow, parse_time

    def run() -> Any:
        place = _place(lat, lon, at, registry)
        return place, check_shadow(
            place.position,
            parse_time(time, zone=tz),
            _shadow(shadow_azimuth, azimuth_error, length_ratio, ratio_error),
        )

    place, result = run_command(as_json, run)
    if as_json:
        echo(dump_json({**to_jsonable(result), "place": to_jsonable(place)}))
    else:
        _echo_place(place)
        echo("\n".join(render_check(result)))


@sun_app.command("when")
def sun_when_command(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC).")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (UTC).")],
    lat: LatOpt = None,
    lon: LonOpt = None,
    at: AtOpt = None,
    registry: RegistryOpt = None,
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
        place = _place(lat, lon, at, registry)
        return place, shadow_time_windows(place.position, d0, d1, shadow)

    place, windows = run_command(as_json, run)
    if as_json:
        echo(dump_json({"windows": to_jsonable(windows), "place": to_jsonable(place)}))
        return
    _echo_place(place)
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
