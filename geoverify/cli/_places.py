"""Commands on places: the registry, claims checks and candidates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from geoverify.errors import InputError, RegistryError
from geoverify.models import LatLon, Verdict, to_jsonable

if TYPE_CHECKING:  # stage modules load inside the commands that use them (faster start)
    from geoverify.registry import Landmark

from geoverify.cli._common import (
    JsonOpt,
    _dump_json,
    _printable,
    _render_bottom_line,
    _render_check,
    _run,
    app,
)

registry_app = typer.Typer(help="Landmark registries (GeoJSON): validate, list, edit, import.")
app.add_typer(registry_app, name="registry")

RegistryArg = Annotated[Path, typer.Argument(help="Registry GeoJSON file.")]


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
    from geoverify.registry import Registry, load_registry

    def run() -> Registry:
        from geoverify.matching import reference_image_problems

        reg = load_registry(registry, repair=repair)
        problems = reference_image_problems(reg)  # decoded safely, as `match` will
        if problems:
            msg = f"{len(problems)} problem(s) in {registry}; first: {problems[0]}"
            raise RegistryError(
                msg.removesuffix(problems[0][problems[0].rfind(" [") :]),
                code="E_REGISTRY_INVALID",
                hint="Replace each unusable reference image with a PNG or JPEG photograph.",
                detail="\n".join(f"{registry}: {p}" for p in problems),
            )
        return reg

    reg = _run(as_json, run)
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

    def run() -> tuple[Any, Any]:
        from geoverify.evidence import weigh_evidence

        reg = load_registry(registry)
        cs = load_claims(claims)
        results = check_claims(reg, cs)
        bottom = weigh_evidence(
            hypothesis=cs.footage, registry=reg, claims=cs, checks=results, media=None
        )
        return results, bottom

    results, bottom = _run(as_json, run)
    if as_json:
        typer.echo(_dump_json({"bottom_line": to_jsonable(bottom), "checks": to_jsonable(results)}))
    else:
        typer.echo("\n".join(_render_bottom_line(bottom)))
        typer.echo("")
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
