"""Terminal output: no control character from a file reaches the terminal active.

Ids, names and messages from a registry or claims file, tags and names of a video, are shown
with their control characters escaped (``\\x1b``) in every line the CLI prints, error and hint
lines included; JSON output escapes them as JSON does (``\\u001b``) and parses back to the same
strings. One wrapper (``geoverify.cli._common.echo``) prints everything, and a check of the
CLI's source keeps it that way.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import typer
from conftest import ROOT
from typer.testing import CliRunner

from geoverify.cli import app
from geoverify.cli._common import _fail, dump_json, terminal_safe
from geoverify.errors import InputError

runner = CliRunner()

# a window title, a clear screen, a one-byte CSI (C1), a bidi override, DEL, a carriage return
HOSTILE = "\x1b]0;PWNED\x07\x1b[2J\x9b31m\u202eevil\x7f\r"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\x7f", "\r")


def _registry_and_claims(folder: Path) -> tuple[Path, Path]:
    """A registry whose first landmark's id carries ``HOSTILE``, claims naming it (S6/S7)."""
    hostile_id = "m1" + HOSTILE
    features = [
        {
            "type": "Feature",
            "id": hostile_id,
            "geometry": {"type": "Point", "coordinates": [38.0, 48.6]},
            "properties": {"name": "M1" + HOSTILE, "tags": {"historic": "memorial"}},
        },
        {
            "type": "Feature",
            "id": "m2",
            "geometry": {"type": "Point", "coordinates": [38.01, 48.6]},
            "properties": {"name": "M2", "tags": {"historic": "memorial"}},
        },
        {
            "type": "Feature",
            "id": "ref",
            "geometry": {"type": "Point", "coordinates": [38.0, 48.61]},
            "properties": {"name": "R"},
        },
    ]
    registry = folder / "reg.geojson"
    registry.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    claims = folder / "claims.yaml"
    claims.write_text(
        "claims_version: 1\n"
        "roles:\n"
        f"  r:\n    candidates: [{json.dumps(hostile_id)}, m2]\n"
        "    kind: {historic: memorial}\n"
        "claims:\n"
        f"  - id: {json.dumps('c' + HOSTILE)}\n    kind: distance\n    text: t\n"
        "    subject: r\n    reference: ref\n"
        "    distance: {qualifier: within, value_m: 100000}\n"
    )
    return registry, claims


def _assert_escaped(text: str) -> None:
    for ch in RAW:
        assert ch not in text, f"{ch!r} reached the terminal"


@pytest.mark.parametrize("command", [["check"], ["candidates", "--role", "r"]])
def test_ids_from_a_claims_file_are_escaped(tmp_path, command):
    registry, claims = _registry_and_claims(tmp_path)
    result = runner.invoke(app, [*command, "--registry", str(registry), "--claims", str(claims)])
    assert result.exit_code == 0, result.output
    _assert_escaped(result.stdout + result.stderr)
    assert "m1\\x1b]0;PWNED\\x07" in result.stdout


@pytest.mark.parametrize("command", [["check"], ["candidates", "--role", "r"]])
def test_json_output_escapes_control_characters_and_parses_back(tmp_path, command):
    registry, claims = _registry_and_claims(tmp_path)
    args = [*command, "--registry", str(registry), "--claims", str(claims), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    _assert_escaped(result.stdout)
    assert any("m1" + HOSTILE in s for s in _strings(json.loads(result.stdout)))


def _strings(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in _strings(k) + _strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in _strings(v)]
    return []


def test_dump_json_round_trips_every_control_character():
    text = dump_json({"s": HOSTILE + "\n\t\x00\x85"})
    _assert_escaped(text)
    assert "\x00" not in text
    assert "\x85" not in text
    assert json.loads(text) == {"s": HOSTILE + "\n\t\x00\x85"}


def test_error_and_hint_lines_are_escaped(capsys):
    error = InputError("bad id 'x" + HOSTILE + "'", code="E_INPUT_OPTION", hint="try" + HOSTILE)
    with pytest.raises(typer.Exit) as raised:
        _fail(False, error)
    assert raised.value.exit_code == 3
    err = capsys.readouterr().err
    _assert_escaped(err)
    assert err.count("\n") == 2  # one error line, one hint line
    assert "hint: try\\x1b]0;PWNED\\x07" in err


def test_error_from_a_hostile_registry_id_is_escaped(tmp_path):
    registry, _ = _registry_and_claims(tmp_path)
    result = runner.invoke(app, ["registry", "show", str(registry), "nope" + HOSTILE])
    assert result.exit_code != 0
    _assert_escaped(result.stdout + result.stderr)


def test_terminal_safe_keeps_newlines_tabs_and_text():
    assert terminal_safe("a\tb\nc é 東京 👍") == "a\tb\nc é 東京 👍"
    assert terminal_safe("\x1b[31m\x9b\ud800") == "\\x1b[31m\\x9b\\ud800"


# --- every print goes through echo -----------------------------------------------------------

_PRINTERS = {
    ("typer", "echo"),
    ("typer", "secho"),
    ("click", "echo"),
    ("click", "secho"),
    ("stdout", "write"),
    ("stderr", "write"),
    ("console", "print"),
    ("rich", "print"),
}


def _printing_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """Calls that print without ``echo``: (line, what)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("print", "pprint"):
            found.append((node.lineno, func.id))
        elif isinstance(func, ast.Attribute):
            owner = func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if (name, func.attr) in _PRINTERS or func.attr == "print_exc":
                found.append((node.lineno, f"{name}.{func.attr}"))
    return found


def test_the_cli_prints_only_through_echo():
    offenders = []
    for path in sorted((ROOT / "geoverify" / "cli").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if path.name == "_common.py":  # echo's own typer.echo is the one allowed
            body = [
                n for n in tree.body if not (isinstance(n, ast.FunctionDef) and n.name == "echo")
            ]
            tree = ast.Module(body=body, type_ignores=[])
        offenders += [f"{path.name}:{line} {what}" for line, what in _printing_calls(tree)]
    assert not offenders, f"print through geoverify.cli._common.echo: {offenders}"
