"""Commands on published claims: check, candidates, and the claims group.

check and candidates test a claims file against a registry; ``claims`` validates a claims file,
writes a starter template, explains the kinds and prints the schema. The registry commands are
in ``_landmarks`` and ``_osm``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from geoverify.cli._common import (
    CONTEXT,
    JsonOpt,
    OverwriteFileOpt,
    app,
    dump_json,
    echo,
    printable,
    render_bottom_line,
    render_check,
    run_command,
)
from geoverify.errors import EXIT_FAIL_ON
from geoverify.models import Verdict, to_jsonable


@app.command("check")
def check_command(
    registry: Annotated[Path, typer.Option("--registry", help="Registry GeoJSON.")],
    claims: Annotated[Path, typer.Option("--claims", help="Claims YAML.")],
    fail_on: Annotated[
        Verdict | None,
        typer.Option("--fail-on", help="Exit 8 if any verdict is this (e.g. inconsistent)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check published claims against the registry: verdicts with margins (exit 0)."""
    from geoverify.claims import check_claims, load_claims
    from geoverify.registry import load_registry

    def run() -> tuple[Any, Any, tuple[str, dict[str, str]], dict[str, str]]:
        from geoverify.evidence import weigh_evidence
        from geoverify.report._build import landmark_names, mentioned_ids
        from geoverify.report._sentences import describe

        reg = load_registry(registry)
        cs = load_claims(claims)
        results = check_claims(reg, cs)
        bottom = weigh_evidence(
            hypothesis=cs.footage, registry=reg, claims=cs, checks=results, media=None
        )
        shows = cs.candidates(cs.footage.shows) if cs.footage and cs.footage.shows else ()
        names = landmark_names(reg, cs, bottom, mentioned_ids(results, (), cs))
        plain = describe(bottom, names=names, cameras=(), matches=(), shows=shows)
        return results, bottom, plain, dict(names)

    results, bottom, (summary, sentences), names = run_command(as_json, run)
    if as_json:
        echo(dump_json({"bottom_line": to_jsonable(bottom), "checks": to_jsonable(results)}))
    else:
        echo("\n".join(render_bottom_line(bottom, summary, sentences, names)))
        echo("")
        for r in results:
            echo("\n".join(render_check(r)))
    if fail_on is not None and any(r.verdict is fail_on for r in results):
        raise typer.Exit(EXIT_FAIL_ON)


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

    ranks = run_command(
        as_json, lambda: rank_candidates(load_registry(registry), load_claims(claims), role)
    )
    if as_json:
        echo(dump_json({"role": role, "candidates": to_jsonable(ranks)}))
        return
    if not ranks:
        echo(f"no landmark of the role's kind has a position: nothing to rank for {role!r}")
    for r in ranks:
        unit = r.worst_margin_unit or ""
        margin = f"{r.worst_margin:+.1f} {unit}".rstrip() if r.worst_margin is not None else "-"
        echo(
            f"{r.landmark_id:32s} consistent {r.consistent}  inconclusive {r.inconclusive}  "
            f"inconsistent {r.inconsistent}  worst margin {margin}"
        )


claims_app = typer.Typer(
    context_settings=CONTEXT,
    help="Claims files: validate, a starter template, the kinds explained.",
)
app.add_typer(claims_app, name="claims")


@claims_app.command("validate")
def claims_validate(
    claims: Annotated[Path, typer.Argument(help="Claims YAML.")],
    registry: Annotated[
        Path | None,
        typer.Option("--registry", help="Also check every name against this registry."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a claims file; list every problem (exit 4) or summarise it."""
    from geoverify.claims import check_claims, load_claims
    from geoverify.evidence import describe_hypothesis
    from geoverify.registry import load_registry

    def run() -> Any:
        cs = load_claims(claims)
        if registry is not None:
            check_claims(load_registry(registry), cs)  # raises on unknown names
        return cs

    cs = run_command(as_json, run)
    summary = {
        "valid": True,
        "claims_version": cs.version,
        "claims": [c.id for c in cs.claims],
        "roles": sorted(cs.roles),
        "hypothesis": describe_hypothesis(cs.footage),
        "notes": list(cs.notes),
        "sha256": cs.sha256,
    }
    if as_json:
        echo(dump_json(summary))
        return
    echo(
        f"valid: claims_version {cs.version}, {len(cs.claims)} claims, {len(cs.roles)} roles "
        f"in {claims}"
    )
    echo(f"hypothesis: {printable(summary['hypothesis'], 400)}")
    for note in cs.notes:
        echo(f"note: {note}")


@claims_app.command("template")
def claims_template(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write it to this file (refused if it exists).")
    ] = None,
    overwrite: OverwriteFileOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Print (or write) a commented starter claims file."""
    from geoverify.claims._guide import template_text

    text = template_text()
    if out is None:
        echo(dump_json({"template": text}) if as_json else text, nl=as_json)
        return

    def write() -> None:
        from geoverify._output import write_output_file

        write_output_file(out, text.encode("utf-8"), overwrite=overwrite)

    run_command(as_json, write)
    echo(dump_json({"written": str(out)}) if as_json else f"wrote {out}")


@claims_app.command("explain")
def claims_explain(as_json: JsonOpt = False) -> None:
    """Every claim kind with an example, the qualifier table and the compass sectors."""
    from geoverify.claims._guide import EXAMPLES, explain_text
    from geoverify.claims._model import COMPASS, QUALIFIERS

    if as_json:
        echo(
            dump_json(
                {
                    "qualifiers": {
                        q: [a, None if b == float("inf") else b] for q, (a, b) in QUALIFIERS.items()
                    },
                    "compass": {w: {"centre_deg": c, "half_width_deg": h}
                                for w, (c, h) in COMPASS.items()},
                    "kinds": {k: {"checks": what, "example": ex} for k, (what, ex) in
                              EXAMPLES.items()},
                }
            )
        )  # fmt: skip
        return
    echo(explain_text(), nl=False)


@claims_app.command("schema")
def claims_schema(
    as_json: Annotated[
        bool, typer.Option("--json", help="Accepted for uniformity: the schema is JSON.")
    ] = False,
) -> None:
    """Print the claims file's JSON Schema (also geoverify/schemas/claims.schema.json)."""
    from geoverify.claims._guide import schema_text

    echo(schema_text(), nl=False)
