"""One catalogue of codes: every code literal in the package is in geoverify.codes and README."""

from __future__ import annotations

import re

from conftest import ROOT

from geoverify.codes import CODES, markdown_table

CODE = re.compile(r"""["']([EWI]_[A-Z0-9_]{3,})["']""")


def _literals() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "geoverify").rglob("*.py"):
        if path.name == "codes.py":
            continue
        found |= set(CODE.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_code_in_the_package_is_in_the_catalogue():
    missing = sorted(_literals() - set(CODES))
    assert not missing, f"add to geoverify/codes.py: {missing}"


def test_every_catalogued_code_is_used():
    stale = sorted(set(CODES) - _literals())
    assert not stale, f"no longer used, remove from geoverify/codes.py: {stale}"


def test_every_code_has_a_one_line_meaning():
    for code, meaning in CODES.items():
        assert code[:2] in ("E_", "W_", "I_")
        assert meaning.endswith(".")
        assert "\n" not in meaning
        assert len(meaning) <= 100, code


def test_the_readme_table_is_the_catalogue():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "run `python -m geoverify.codes` and paste into README.md"
