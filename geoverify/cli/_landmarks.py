"""The ``registry`` commands that read and edit a landmark registry (GeoJSON).

validate, list, show, add, update, add-image, set-area, remove; the OpenStreetMap imports
(import-osm, fetch-osm) are in ``_osm``. Each converts its options, calls the library
(``geoverify.registry``) and renders the result: the refusals (a probably swapped point, a
duplicate id, a landmark that would not load again) are the library's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from geoverify.errors import InputError, RegistryError
from geoverify.models import to_jsonable

if TYPE_CHECKING:  # stage modules load inside the commands that use them (faster start)
    from geoverify.registry import Landmark

from geoverify.cli._common import (
    CONTEXT,
    JsonOpt,
    app,
    dump_json,
    echo,
    printable,
    run_command,
)

registry_app = typer.Typer(
    context_settings=CONTEXT, help="Landmark registries (GeoJSON): validate, list, edit, import."
)
app.add_typer(registry_app, name="registry")

RegistryArg = Annotated[Path, typer.Argument(help="Registry GeoJSON file.")]
BboxOpt = Annotated[
    str | None,
    typer.Option("--bbox", help="west,south,east,north in degrees (as osmnx and QGIS)."),
]
AroundOpt = Annotated[
    str | None, typer.Option("--around", help="A centre, as registry add --at takes it.")
]
RadiusOpt = Annotated[
    float | None, typer.Option("--radius-m", help="Radius around --around, metres.")
]


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

    reg = run_command(as_json, run)
    if as_json:
        echo(
            dump_json(
                {
                    "valid": True,
                    "landmarks": len(reg),
                    "sha256": reg.sha256,
                    "warnings": to_jsonable(reg.warnings),
                }
            )
        )
        return
    echo(f"valid: {len(reg)} landmarks in {registry} (sha256 {reg.sha256[:16]}...)")
    for w in reg.warnings:
        echo(f"[warning] {w.code}: {printable(w.message)}")


@registry_app.command("list")
def registry_list(registry: RegistryArg, as_json: JsonOpt = False) -> None:
    """List the landmarks: id, geometry, position, uncertainty, kind, name."""
    from geoverify.registry import load_registry, registry_to_geojson

    reg = run_command(as_json, lambda: load_registry(registry))
    if as_json:
        echo(dump_json(registry_to_geojson(reg)))
        return
    for lm in reg:
        echo(printable(_landmark_row(lm), 400))


@registry_app.command("show")
def registry_show(
    registry: RegistryArg,
    landmark: Annotated[str, typer.Argument(help="Landmark id, name or alias.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one landmark with its sources, reference images and notes."""
    from geoverify.claims import find_landmark
    from geoverify.registry import load_registry

    lm = run_command(as_json, lambda: find_landmark(load_registry(registry), landmark))
    data = _landmark_json(lm)
    if as_json:
        echo(dump_json(data))
        return
    echo(printable(_landmark_row(lm), 400))
    for key in ("aliases", "sources", "reference_images", "notes"):
        if key in data["properties"]:
            value = json.dumps(data["properties"][key], ensure_ascii=False)
            echo(f"  {key}: {printable(value, 2000)}")


def _parse_tags(items: list[str]) -> dict[str, str]:
    tags = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            msg = f"tag {item!r} is not KEY=VALUE"
            raise InputError(msg, code="E_INPUT_OPTION", hint="Write tags as key=value.")
        tags[key] = value
    return tags


AtOpt = Annotated[
    str | None,
    typer.Option(
        "--at",
        help='A point as pasted: "48.59472, 38.00083", "48°35′41″N 38°0′3″E", or an '
        "OpenStreetMap or Google Maps link (latitude first).",
    ),
]
LatOpt = Annotated[float | None, typer.Option("--lat", help="Latitude, degrees north.")]
LonOpt = Annotated[float | None, typer.Option("--lon", help="Longitude, degrees east.")]
LineOpt = Annotated[
    str | None,
    typer.Option("--line", help='A line (a river, a street): "lat,lon; lat,lon; ...".'),
]
AreaOpt = Annotated[
    str | None, typer.Option("--area", help='An area: "lat,lon; lat,lon; lat,lon; ...".')
]
WktOpt = Annotated[str | None, typer.Option("--wkt", help="A geometry as WKT (x = longitude).")]
GeojsonOpt = Annotated[
    str | None, typer.Option("--geojson", help="A GeoJSON geometry object (lon, lat).")
]
AliasOpt = Annotated[
    list[str] | None, typer.Option("--alias", help="Another name, any script; repeatable.")
]
TagOpt = Annotated[
    list[str] | None, typer.Option("--tag", help="KEY=VALUE (the kind), repeatable.")
]
UncertaintyOpt = Annotated[
    float | None, typer.Option("--uncertainty-m", help="Position uncertainty, metres.")
]
SourceOpt = Annotated[str, typer.Option("--source", help="Where the position comes from (title).")]
SourceUrlOpt = Annotated[str, typer.Option("--source-url", help="The source's URL.")]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Write a position that looks swapped anyway.")
]


def _geometry_options(
    at: str | None,
    lat: float | None,
    lon: float | None,
    shapes: dict[str, str | None],
) -> tuple[Any, list[str]]:
    """Read the one geometry given (--at or --lat/--lon, --line, --area, --wkt, --geojson)."""
    from geoverify.registry import parse_geometry

    point_text = at
    if lat is not None or lon is not None:
        if lat is None or lon is None or at is not None:
            msg = "give --lat with --lon, or --at, not a mix"
            raise InputError(msg, code="E_INPUT_OPTION", hint="e.g. --at '48.59472, 38.00083'")
        point_text = f"{lat!r}, {lon!r}"
    return parse_geometry(at=point_text, **shapes)


def _listed_options(
    alias: list[str] | None, tag: list[str] | None, source: str, source_url: str
) -> tuple[tuple[str, ...], dict[str, str], tuple[Any, ...]]:
    """Read --alias, --tag KEY=VALUE and --source/--source-url (add and update take them)."""
    from geoverify.registry import Source

    tags = _parse_tags(tag or [])
    sources = (Source(kind="other", title=source, url=source_url),) if source or source_url else ()
    return tuple(alias or ()), tags, sources


@registry_app.command("add")
def registry_add(
    registry: RegistryArg,
    landmark_id: Annotated[str, typer.Option("--id", help="Unique id.")],
    name: Annotated[str, typer.Option("--name", help="Name.")],
    at: AtOpt = None,
    lat: LatOpt = None,
    lon: LonOpt = None,
    line: LineOpt = None,
    area: AreaOpt = None,
    wkt: WktOpt = None,
    geojson: GeojsonOpt = None,
    alias: AliasOpt = None,
    tag: TagOpt = None,
    uncertainty_m: UncertaintyOpt = None,
    source: SourceOpt = "",
    source_url: SourceUrlOpt = "",
    image: Annotated[
        list[Path] | None,
        typer.Option("--image", help="A reference photograph (inside the registry's folder)."),
    ] = None,
    notes: Annotated[str, typer.Option("--notes", help="Free text.")] = "",
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Redefine the landmark of this id: what is given replaces its values, what is "
            "not given (position, aliases, tags, sources, notes, reference images) is kept. To "
            "change a few fields or add to them, use `registry update`.",
        ),
    ] = False,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a landmark: a point, line or area, with names, kind, sources and reference images.

    The positions read are printed before the file is written (locked, replaced atomically).
    """
    from geoverify.registry import (
        Landmark,
        add_landmark,
        add_reference_image,
        area_warnings,
        describe_positions,
        load_registry,
    )

    def run() -> tuple[Landmark, list[str]]:
        shapes = {"line": line, "area": area, "wkt": wkt, "geojson": geojson}
        geometry, done = _geometry_options(at, lat, lon, shapes)
        aliases, tags, sources = _listed_options(alias, tag, source, source_url)
        lm = Landmark(
            id=landmark_id,
            name=name,
            aliases=aliases,
            tags=tags,
            geometry=geometry,
            uncertainty_m=uncertainty_m,
            sources=sources,
            notes=notes,
        )
        shown = [f"read: {p}" for p in describe_positions(geometry)] + done
        if registry.exists():  # shown here; add_landmark itself refuses a swapped point
            flagged = area_warnings(load_registry(registry), lm, force=True)
            shown += [f"[warning] {w.code}: {w.message}" for w in flagged]
        add_landmark(registry, lm, replace=replace, force=force)
        for img in image or []:
            add_reference_image(registry, lm.id, img)
        return lm, shown

    lm, shown = run_command(as_json, run)
    if as_json:
        echo(dump_json(_landmark_json(lm)))
        return
    for line_text in shown:
        echo(printable(line_text, 400))
    echo(f"added {lm.id} to {registry}")


@registry_app.command("update")
def registry_update(
    registry: RegistryArg,
    landmark_id: Annotated[str, typer.Argument(help="The landmark's id.")],
    at: AtOpt = None,
    lat: LatOpt = None,
    lon: LonOpt = None,
    line: LineOpt = None,
    area: AreaOpt = None,
    wkt: WktOpt = None,
    geojson: GeojsonOpt = None,
    name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    alias: AliasOpt = None,
    tag: TagOpt = None,
    uncertainty_m: UncertaintyOpt = None,
    source: SourceOpt = "",
    source_url: SourceUrlOpt = "",
    notes: Annotated[
        str | None, typer.Option("--notes", help="New notes (they replace the old ones).")
    ] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Change some fields of a landmark and keep the rest; print each change (old -> new).

    A geometry (--at, --lat/--lon, --line, --area, --wkt or --geojson), --name, --notes and
    --uncertainty-m replace the landmark's own. --alias and --source add to its list; --tag
    KEY=VALUE sets that key (its other tags stay). Reference images stay (add more with
    add-image). Nothing is removed; an update that changes nothing writes nothing.
    """
    from geoverify.registry import LandmarkEdit, LandmarkUpdate, describe_positions, update_landmark

    def run() -> tuple[LandmarkUpdate, list[str]]:
        shapes = {"line": line, "area": area, "wkt": wkt, "geojson": geojson}
        geometry, done = _geometry_options(at, lat, lon, shapes)
        aliases, tags, sources = _listed_options(alias, tag, source, source_url)
        edit = LandmarkEdit(
            name=name,
            geometry=geometry,
            uncertainty_m=uncertainty_m,
            notes=notes,
            aliases=aliases,
            tags=tags,
            sources=sources,
        )
        shown = [f"read: {p}" for p in describe_positions(geometry)] if geometry is not None else []
        result = update_landmark(registry, landmark_id, edit, force=force)
        shown += done + [f"[warning] {w.code}: {w.message}" for w in result.warnings]
        return result, shown

    result, shown = run_command(as_json, run)
    if as_json:
        echo(
            dump_json(
                {
                    "updated": result.after.id,
                    "changes": to_jsonable(result.changes),
                    "warnings": to_jsonable(result.warnings),
                    "before": _landmark_json(result.before),
                    "landmark": _landmark_json(result.after),
                }
            )
        )
        return
    for line_text in shown:
        echo(printable(line_text, 400))
    for change in result.changes:
        echo(printable(str(change), 1000))
    if result.changes:
        echo(f"updated {result.after.id} in {registry}")
    else:
        echo(f"nothing changed: {result.after.id} already has these values ({registry} unchanged)")


@registry_app.command("add-image")
def registry_add_image(
    registry: RegistryArg,
    landmark_id: Annotated[str, typer.Argument(help="Landmark id.")],
    image: Annotated[Path, typer.Argument(help="A PNG or JPEG photograph of the landmark.")],
    note: Annotated[str, typer.Option("--note", help="What the photograph shows.")] = "",
    copy: Annotated[
        bool, typer.Option("--copy", help="Copy it into the registry's images/ folder first.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a reference photograph to a landmark (hashed; path relative to the registry)."""
    from geoverify.registry import add_reference_image

    reg = run_command(as_json, lambda: add_reference_image(registry, landmark_id, image, note=note,
                                                    copy=copy))  # fmt: skip
    lm = reg.get(landmark_id)
    ref = lm.reference_images[-1]
    if as_json:
        echo(dump_json({"landmark": lm.id, "added": to_jsonable(ref)}))
    else:
        echo(f"added {ref.path} (sha256 {ref.sha256[:16]}...) to {lm.id}")


@registry_app.command("set-area")
def registry_set_area(
    registry: RegistryArg,
    bbox: BboxOpt = None,
    around: AroundOpt = None,
    radius_m: RadiusOpt = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the area.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Declare the case's area of interest: landmarks outside it, or swapped, are flagged."""
    from geoverify.registry import set_area_of_interest

    def run() -> Any:
        box = None if clear else box_option(bbox, around, radius_m)
        return set_area_of_interest(registry, box)

    reg = run_command(as_json, run)
    if as_json:
        echo(dump_json({"area_of_interest": reg.area_of_interest}))
        return
    if reg.area_of_interest is None:
        echo(f"{registry}: no area of interest")
    else:
        w, s_, e, n = reg.area_of_interest
        echo(f"{registry}: area of interest west {w:.6f}, south {s_:.6f}, east {e:.6f}, "
                   f"north {n:.6f}")  # fmt: skip
    for w in reg.warnings:
        echo(f"[warning] {w.code}: {printable(w.message)}")


def box_option(
    bbox: str | None, around: str | None, radius_m: float | None
) -> tuple[float, float, float, float]:
    """Build a (west, south, east, north) box from --bbox, or --around and --radius-m."""
    from geoverify.models import BBox
    from geoverify.osm import bbox_around

    if bbox is not None and around is None:
        return BBox.parse(bbox).as_tuple()
    if around is not None and radius_m is not None and bbox is None:
        from geoverify.registry import parse_position

        return bbox_around(parse_position(around), radius_m)
    msg = "give --bbox, or --around with --radius-m"
    raise InputError(msg, code="E_INPUT_OPTION", hint="e.g. --bbox 37.95,48.55,38.06,48.63")


@registry_app.command("remove")
def registry_remove(
    registry: RegistryArg,
    landmark_id: Annotated[str, typer.Argument(help="Landmark id.")],
    as_json: JsonOpt = False,
) -> None:
    """Remove a landmark by id."""
    from geoverify.registry import remove_landmark

    reg = run_command(as_json, lambda: remove_landmark(registry, landmark_id))
    if as_json:
        echo(dump_json({"removed": landmark_id, "landmarks": len(reg)}))
    else:
        echo(f"removed {landmark_id}; {len(reg)} landmarks left")
