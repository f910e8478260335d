"""The notebook-facing API is an explicit list: growing it is a visible diff here."""

from __future__ import annotations

import subprocess
import sys

import geoverify

EXPECTED = [
    "CheckResult",
    "ClaimSet",
    "DecodeLimits",
    "Frame",
    "FrameOptions",
    "FrameSelection",
    "GeoverifyError",
    "InputError",
    "Landmark",
    "LatLon",
    "LimitError",
    "MatchOptions",
    "MediaError",
    "MediaInfo",
    "MissingDependencyError",
    "Note",
    "OutputError",
    "Registry",
    "RegistryError",
    "Severity",
    "ShadowMeasurement",
    "Verdict",
    "Verification",
    "VerifyOptions",
    "__version__",
    "bearing_deg",
    "build_index",
    "check_claim",
    "check_claims",
    "check_shadow",
    "destination",
    "distance_m",
    "import_osm",
    "load_claims",
    "load_registry",
    "match_frames",
    "match_image",
    "offset_from_line",
    "parse_iso6709",
    "probe",
    "rank_candidates",
    "save_frames",
    "save_registry",
    "save_verification",
    "select_frames",
    "sha256_file",
    "shadow_places",
    "shadow_time_windows",
    "sun_position",
    "to_jsonable",
    "verify",
]


def test_all_is_the_snapshot():
    assert sorted(geoverify.__all__) == sorted(EXPECTED)
    for name in geoverify.__all__:
        assert hasattr(geoverify, name)


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


def test_probe_is_the_function_even_after_its_package_loads():
    import importlib

    importlib.import_module("geoverify.probe._model")
    importlib.import_module("geoverify.frames")
    assert callable(geoverify.probe)
    assert geoverify.select_frames.__module__ == "geoverify.frames"  # loaded on first use
