"""The complexity gates' ignore list may only shrink (osmnx's settings: complexity 14, 8 args)."""

from __future__ import annotations

import ast
import tomllib

from conftest import ROOT

# The package files still above max-complexity 14 or max-args 8 (ten when the gates were
# introduced, 2026-12-02; no function above complexity 14 since the same day's later commits).
# Remove a file here and in pyproject.toml once it is below them; never add one.
ALLOWED = {
    "geoverify/batch/__init__.py": {"PLR0913"},
    "geoverify/evidence/__init__.py": {"PLR0913"},
    "geoverify/report/_build.py": {"PLR0913"},
}
GATES = {"C901", "PLR0913"}


def test_the_gates_are_on():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lint = conf["tool"]["ruff"]["lint"]
    assert set(lint["select"]) >= GATES
    assert lint["mccabe"]["max-complexity"] == 14
    assert lint["pylint"]["max-args"] == 8
    assert conf["tool"]["mypy"]["warn_unreachable"] is True
    assert "--strict-markers" in conf["tool"]["pytest"]["ini_options"]["addopts"]


def test_the_complexity_ignore_list_only_shrinks():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    ignores = conf["tool"]["ruff"]["lint"]["per-file-ignores"]
    for pattern, codes in ignores.items():
        gated = GATES & set(codes)
        if not gated or pattern in ("geoverify/cli/*.py", "tests/*"):
            continue  # CLI commands take one argument per option; test builders likewise
        assert pattern in ALLOWED, f"{pattern} was added to the gates' ignore list"
        assert gated <= ALLOWED[pattern], f"{pattern} gained {gated - ALLOWED[pattern]}"


def test_no_underscore_name_is_imported_from_another_file():
    # a name another module uses is that module's interface: no leading underscore (the module
    # itself may stay private, e.g. geoverify.probing._exif)
    crossing = []
    for path in sorted((ROOT / "geoverify").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not str(node.module).startswith("geoverify"):
                continue
            for alias in node.names:
                name = alias.name
                if not name.startswith("_") or name.startswith("__"):
                    continue
                target = ROOT / (str(node.module).replace(".", "/") + "/" + name)
                if not (target.with_suffix(".py").exists() or (target / "__init__.py").exists()):
                    crossing.append(f"{path.relative_to(ROOT)}: {node.module}.{name}")
    assert crossing == []
