"""The notebook-facing API is an explicit list: growing it is a visible diff here."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
from pathlib import Path

import geoverify

EXPECTED = [
    "__version__",
    "BBox",
    "bearing_deg",
    "BottomLine",
    "build_index",
    "build_report",
    "CameraFix",
    "CameraPoints",
    "check_claim",
    "check_claims",
    "check_shadow",
    "CheckResult",
    "ClaimSet",
    "ContentCredentials",
    "DecodeLimits",
    "destination",
    "distance_m",
    "facing_check",
    "FacingCheck",
    "Footage",
    "Frame",
    "FrameOptions",
    "FrameSelection",
    "GeoverifyError",
    "import_osm",
    "InputError",
    "Landmark",
    "LatLon",
    "LimitError",
    "load_claims",
    "load_registry",
    "locate",
    "match_frames",
    "match_image",
    "MatchOptions",
    "MediaError",
    "MediaInfo",
    "MissingDependencyError",
    "NetworkError",
    "Note",
    "offset_from_line",
    "OutputError",
    "parse_iso6709",
    "probe",
    "rank_candidates",
    "read_footage",
    "read_points",
    "read_text",
    "Registry",
    "RegistryError",
    "Report",
    "save_frames",
    "save_registry",
    "save_verification",
    "select_frames",
    "Severity",
    "sha256_file",
    "shadow_places",
    "shadow_time_windows",
    "ShadowMeasurement",
    "sun_position",
    "TextOptions",
    "TextRegion",
    "to_jsonable",
    "triage",
    "Triage",
    "Verdict",
    "Verification",
    "verify",
    "verify_batch",
    "VerifyOptions",
    "weigh_evidence",
    "write_report",
]


def test_all_is_the_snapshot():
    assert geoverify.__all__ == sorted(EXPECTED, key=str.casefold)


def _type_checking_imports() -> dict[str, str]:
    """Return the names ``geoverify/__init__.py`` imports for type checkers, with their module."""
    tree = ast.parse(Path(geoverify.__file__).read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("geoverify"):
            for alias in node.names:
                if alias.asname == alias.name:  # `X as X`: an explicit re-export
                    found[alias.name] = node.module
    return found


def test_the_exported_set_is_written_once_and_every_name_comes_from_its_module():
    # httpx's tests/test_exported_members.py, for a package whose names load on first use
    table = geoverify._EXPORTS
    assert geoverify.__all__ == sorted(table, key=str.casefold)
    assert _type_checking_imports() == table  # what type checkers see is the same table
    for name, module in table.items():
        value = getattr(geoverify, name)
        assert value is getattr(importlib.import_module(module), name), name
    public = {n for n in vars(geoverify) if not n.startswith("_") and n != "TYPE_CHECKING"}
    submodules = {n for n, v in vars(geoverify).items() if isinstance(v, types.ModuleType)}
    # once everything has loaded, the package's public names are the table's and its stages
    assert public - submodules == set(table) - {"__version__"}
    assert dir(geoverify) == sorted(table)  # dir() sorts what __dir__ gives


def test_error_tree():
    assert issubclass(geoverify.InputError, ValueError)
    assert issubclass(geoverify.RegistryError, ValueError)
    assert issubclass(geoverify.MissingDependencyError, ImportError)
    for cls in (geoverify.InputError, geoverify.MediaError, geoverify.LimitError):
        assert issubclass(cls, geoverify.GeoverifyError)


def test_import_pulls_in_neither_typer_nor_rich_nor_the_decoder():
    code = (
        "import sys, geoverify; "
        "bad = [m for m in ('typer', 'rich', 'av') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_probe_is_the_function_and_its_stage_is_probing():
    importlib.import_module("geoverify.probing._model")
    importlib.import_module("geoverify.frames")
    assert callable(geoverify.probe)
    assert geoverify.probe.__module__ == "geoverify.probing"
    assert geoverify.select_frames.__module__ == "geoverify.frames"  # loaded on first use
