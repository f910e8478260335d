"""The ``registry`` commands that add landmarks from OpenStreetMap: import-osm and fetch-osm.

Both read the file with ``geoverify.osm.import_osm`` and add what it finds with
``geoverify.registry.add_landmarks``; fetch-osm first runs one Overpass query and saves the
answer beside the registry (the only command that uses the network).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from geoverify.cli._common import JsonOpt, dump_json, echo, printable, run_command
from geoverify.cli._landmarks import (
    AroundOpt,
    BboxOpt,
    RadiusOpt,
    RegistryArg,
    box_option,
    registry_app,
)
from geoverify.models import to_jsonable

MergeOpt = Annotated[
    bool, typer.Option("--merge-by-name", help="Merge ways sharing a name into one line.")
]
ReplaceOpt = Annotated[bool, typer.Option("--replace", help="Overwrite same ids.")]


OsmTagOpt = Annotated[list[str], typer.Option("--tag", help="KEY or KEY=VALUE; repeatable.")]


@registry_app.command("import-osm")
def registry_import_osm(
    registry: RegistryArg,
    osm_file: Annotated[Path, typer.Argument(help=".osm XML, Overpass JSON or .osm.pbf file.")],
    tag: OsmTagOpt,
    bbox: BboxOpt = None,
    merge_by_name: MergeOpt = False,
    replace: ReplaceOpt = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="The map as it was then: a date (00:00 UTC) or a time with its zone; from a "
            "history file (.osh, .osh.pbf) the newest version before it.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add landmarks from an OpenStreetMap file; OSM id, version and timestamp are kept."""
    from geoverify.osm import import_osm
    from geoverify.registry import add_landmarks

    def run() -> Any:
        from geoverify.models import BBox

        box = BBox.parse(bbox) if bbox is not None else None
        when = _as_of(as_of)
        result = import_osm(osm_file, tags=tag, bbox=box, merge_by_name=merge_by_name, as_of=when)
        add_landmarks(registry, result.landmarks, replace=replace)
        return result

    result = run_command(as_json, run)
    if as_json:
        echo(
            dump_json(
                {
                    "added": [lm.id for lm in result.landmarks],
                    "skipped": to_jsonable(result.skipped),
                    "osm_sha256": result.file_sha256,
                }
            )
        )
        return
    echo(f"added {len(result.landmarks)} landmarks to {registry}")
    for note in result.skipped[:50]:
        echo(f"[skipped] {printable(note.message)}")


def _as_of(text: str | None) -> Any:
    """``--as-of``: a date means 00:00 UTC that day; a time must carry its zone."""
    if text is None:
        return None
    from datetime import UTC, date, datetime

    from geoverify.sun import parse_time

    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return parse_time(text)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@registry_app.command("fetch-osm")
def registry_fetch_osm(
    registry: RegistryArg,
    tag: OsmTagOpt,
    around: AroundOpt = None,
    radius_m: RadiusOpt = None,
    bbox: BboxOpt = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            help="Overpass API URL (default: $GEOVERIFY_OVERPASS_URL, else the public "
            "overpass-api.de).",
        ),
    ] = None,
    timeout_s: Annotated[
        float,
        typer.Option(
            "--timeout-s",
            help="Give up after this many seconds (0.1 to 3600): connecting, waiting and "
            "downloading together.",
        ),
    ] = 90.0,
    merge_by_name: MergeOpt = False,
    replace: ReplaceOpt = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="The map as it was then (Overpass attic data): a date (00:00 UTC) or a time "
            "with its zone.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fetch from OpenStreetMap (one Overpass query), save the answer, import it.

    The only command that uses the network, and only when it is run. The response is saved
    verbatim in osm/ beside the registry, with its SHA-256 and the data's timestamp, then
    imported exactly as import-osm would.
    """
    from geoverify.osm import fetch_overpass, import_osm, overpass_query
    from geoverify.registry import add_landmarks

    def run() -> tuple[Any, Any]:
        box = box_option(bbox, around, radius_m)
        when = _as_of(as_of)
        # the server's own limit, at most 900 s; nan and negatives reach the library's check
        query = overpass_query(box, tag, timeout_s=min(timeout_s, 900), as_of=when)
        fetched = fetch_overpass(
            query, registry.parent / "osm", endpoint=endpoint, timeout_s=timeout_s
        )
        result = import_osm(
            fetched.path, tags=tag, bbox=box, merge_by_name=merge_by_name, as_of=when
        )
        add_landmarks(registry, result.landmarks, replace=replace)
        return fetched, result

    fetched, result = run_command(as_json, run)
    if as_json:
        echo(
            dump_json(
                {
                    "fetched": to_jsonable(fetched),
                    "added": [lm.id for lm in result.landmarks],
                    "skipped": to_jsonable(result.skipped),
                }
            )
        )
        return
    echo(
        f"saved {fetched.path} ({fetched.size_bytes:,} bytes, sha256 {fetched.sha256[:16]}..., "
        f"OSM data as of {fetched.osm_base or 'not stated by the server'})"
    )
    if fetched.final_url != fetched.endpoint:
        echo(f"answered from {fetched.final_url} (a redirect on the same host)")
    echo(f"added {len(result.landmarks)} landmarks to {registry}")
    for note in result.skipped[:50]:
        echo(f"[skipped] {printable(note.message)}")
