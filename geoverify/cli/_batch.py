"""The batch command: a folder, a glob or a Telegram export, verified item by item."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from geoverify._choices import DEFAULT_AFFINE, DEFAULT_FEATURES, AffineMode
from geoverify.cli._common import JsonOpt, ProgressLines, app, dump_json, printable, run_command
from geoverify.cli._media import (
    BestOpt,
    EndOpt,
    EveryOpt,
    FeaturesOpt,
    ScenesOpt,
    StartOpt,
    ViewsOpt,
    cover_options,
)
from geoverify.errors import EXIT_SOME_FAILED


@app.command("batch")
def batch_command(
    inputs: Annotated[
        list[str],
        typer.Argument(help="Files, folders, globs, Telegram Desktop exports (result.json)."),
    ],
    registry: Annotated[Path, typer.Option("--registry", help="Registry GeoJSON.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for items/, summary, index.html.")],
    claims: Annotated[
        Path | None,
        typer.Option("--claims", help="Claims YAML; without it, a triage of what each shows."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Processes (default: the cores).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="tcp://HOST:PORT of a Dask distributed scheduler (pip install "
            "'geoverify[dask]'); its workers need --out and the inputs at the same paths.",
        ),
    ] = None,
    affine: Annotated[
        AffineMode, typer.Option("--affine", help="Affine-simulation pass of the matcher.")
    ] = DEFAULT_AFFINE,
    features: FeaturesOpt = DEFAULT_FEATURES,
    every: EveryOpt = None,
    scenes: ScenesOpt = False,
    views: ViewsOpt = False,
    best: BestOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    threads_per_worker: Annotated[
        int | None,
        typer.Option(
            "--threads-per-worker",
            help="Decoder and OpenCV threads per worker (default: 1 with several workers, "
            "else automatic; 0: automatic).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify every video of a folder, a glob or a Telegram export (exit 5 if any failed).

    One report per distinct file (keyed by content and settings: a re-run skips what is done),
    duplicates verified once and linked to every post, re-uploads linked by frame hashes, and
    summary.json, summary.csv and index.html in --out. Frames are chosen as by `verify`: with
    none of --every/--scenes/--views/--best, --scenes --views --best 4.
    """
    from geoverify.batch import verify_batch

    def run() -> Any:
        with ProgressLines("verifying", enabled=not as_json) as bar:
            return verify_batch(
                inputs,
                registry=registry,
                out=out,
                claims=claims,
                workers=workers,
                scheduler=scheduler,
                affine=affine,
                features=features,
                frames=cover_options(every, scenes, views, best, start, end),
                threads_per_worker=threads_per_worker,
                progress=bar,
            )

    result = run_command(as_json, run)
    if as_json:
        from geoverify.batch import summary_json

        typer.echo(dump_json(summary_json(result)))
    else:
        for r in result.rows:
            name = Path(r.paths[0]).name if r.paths else "(not in the export)"
            what = r.verdict or f"{r.status} {r.error_code or ''}".strip()
            extra = f"  matched {', '.join(r.landmarks_matched)}" if r.landmarks_matched else ""
            typer.echo(printable(f"{what:16s} {name}{extra}", 400))
        typer.echo(
            f"{len(result.rows)} items: {result.done} verified, {result.reused} reused, "
            f"{result.failed} failed, {result.missing} missing ({result.engine})"
        )
        typer.echo(f"index: {Path(result.out_dir) / 'index.html'}")
    if result.any_failed:
        raise typer.Exit(EXIT_SOME_FAILED)
