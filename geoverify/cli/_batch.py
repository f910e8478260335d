"""The batch command: a folder, a glob or a Telegram export, verified item by item."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from geoverify._choices import DEFAULT_AFFINE, DEFAULT_FEATURES, DEFAULT_SECOND_PASS, AffineMode
from geoverify.cli._common import (
    BestOpt,
    EndOpt,
    EveryOpt,
    FeaturesOpt,
    JsonOpt,
    ProgressLines,
    ScenesOpt,
    SecondPassOpt,
    StartOpt,
    ViewsOpt,
    app,
    cover_options,
    dump_json,
    echo,
    printable,
    run_command,
)
from geoverify.cli._probe import TrustAnchorsOpt
from geoverify.cli._text import TextOpt, text_lang
from geoverify.errors import EXIT_SOME_FAILED
from geoverify.models import TEXT_LANG

InputsArg = Annotated[
    list[str],
    typer.Argument(help="Files, folders, globs, Telegram Desktop exports (result.json)."),
]
ClaimsOpt = Annotated[
    Path | None,
    typer.Option("--claims", help="Claims YAML; without it, a triage of what each shows."),
]
BatchOverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Write into an --out folder that also holds files geoverify did not write: "
        "they are kept, and the batch refuses to run if one of them has a name it writes "
        "(summary.json, summary.csv, index.html, manifest.json). A batch folder of an "
        "earlier run resumes without it; an --out inside an input is refused even with it.",
    ),
]
WorkersOpt = Annotated[
    int | None, typer.Option("--workers", help="Processes (default: the cores).")
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="tcp://HOST:PORT of a Dask distributed scheduler (pip install "
        "'geoverify\\[dask]'); its workers need --out and the inputs at the same paths.",
    ),
]
BatchAffineOpt = Annotated[
    AffineMode, typer.Option("--affine", help="Affine-simulation pass of the matcher.")
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        "--threads-per-worker",
        help="Decoder and OpenCV threads per worker (default: 1 with several workers, "
        "else automatic; 0: automatic).",
    ),
]


@app.command("batch")
def batch_command(
    inputs: InputsArg,
    registry: Annotated[Path, typer.Option("--registry", help="Registry GeoJSON.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for items/, summary, index.html.")],
    claims: ClaimsOpt = None,
    overwrite: BatchOverwriteOpt = False,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    affine: BatchAffineOpt = DEFAULT_AFFINE,
    features: FeaturesOpt = DEFAULT_FEATURES,
    second_pass: SecondPassOpt = DEFAULT_SECOND_PASS,
    every: EveryOpt = None,
    scenes: ScenesOpt = False,
    views: ViewsOpt = False,
    best: BestOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    threads_per_worker: ThreadsOpt = None,
    trust_anchors: TrustAnchorsOpt = None,
    text: TextOpt = TEXT_LANG,
    as_json: JsonOpt = False,
) -> None:
    """Verify every video of a folder, a glob or a Telegram export (exit 5 if any failed).

    One report per distinct file (keyed by content and settings: a re-run skips what is done),
    duplicates verified once and linked to every post, re-uploads linked by frame hashes, and
    summary.json, summary.csv and index.html in --out. Frames are chosen as by `verify`: with
    none of --every/--scenes/--views/--best, --scenes --views --best 4. A file that cannot be
    read (missing, a FIFO or device, a link leaving its folder) is a row with its error code;
    exit 5 when any item failed or is missing, exit 3 (nothing written) when no input exists.
    """
    from geoverify.batch import verify_batch

    def run() -> Any:
        with ProgressLines("verifying", enabled=not as_json) as bar:
            return verify_batch(
                inputs,
                registry=registry,
                out=out,
                claims=claims,
                overwrite=overwrite,
                workers=workers,
                scheduler=scheduler,
                affine=affine,
                features=features,
                second_pass=second_pass,
                frames=cover_options(every, scenes, views, best, start, end),
                threads_per_worker=threads_per_worker,
                progress=bar,
                text=text_lang(text),
                trust_anchors=trust_anchors,
            )

    result = run_command(as_json, run)
    if as_json:
        from geoverify.batch import summary_json

        echo(dump_json(summary_json(result)))
    else:
        _render_batch(result)
    if result.any_failed:
        raise typer.Exit(EXIT_SOME_FAILED)


def _render_batch(result: Any) -> None:
    from geoverify.batch._index import post_label

    triage = not result.claims_sha256  # no claims: say what was found, not "not_established"
    for r in result.rows:
        name = Path(r.paths[0]).name if r.paths else "(not in the export)"
        if not r.paths and r.posts:
            name = f"{post_label(r.posts[0])} (its file is not in the export)"
        if r.status != "done":
            what = f"{r.status} {r.error_code or ''}".strip()
        else:
            what = "triage" if triage else (r.verdict or "")
        names = r.landmark_names or r.landmarks_matched
        extra = f"  matched {', '.join(names)}" if names else ""
        if r.findings:
            extra = f"  {r.findings}"
        echo(printable(f"{what:16s} {name}{extra}", 400))
    echo(
        f"{len(result.rows)} items: {result.done} verified, {result.reused} reused, "
        f"{result.failed} failed, {result.missing} missing ({result.engine})"
    )
    echo(f"index: {Path(result.out_dir) / 'index.html'}")
