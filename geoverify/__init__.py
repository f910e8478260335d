"""geoverify: check where and when a video was filmed, offline, with evidence you can retrace.

The stages are importable functions; the ``geoverify`` command line is a thin client of them.
probe -> frames -> registry (+ osm) -> matching -> claims / sun.
"""

import os as _os
import sys as _sys
from typing import TYPE_CHECKING

# The `geoverify` command turns Ctrl-C and SIGTERM into its exit codes before anything heavy
# loads (see geoverify._signals); a library user keeps Python's own handling.
if _sys.argv and _os.path.basename(_sys.argv[0]) == "geoverify":
    from geoverify import _signals as _startup_signals

    _startup_signals.install()

from geoverify._version import __version__

# Imported now, not lazily: the function ``probe`` must win over the submodule of the same
# name, which Python would otherwise bind here once anything imports ``geoverify.probe``.
from geoverify.probe import MediaInfo, parse_iso6709, probe, sha256_file

if TYPE_CHECKING:  # the names below, for type checkers; at run time they load on first use
    from geoverify._decode import DecodeLimits
    from geoverify.claims import ClaimSet, check_claim, check_claims, load_claims, rank_candidates
    from geoverify.errors import (
        GeoverifyError,
        InputError,
        LimitError,
        MediaError,
        MissingDependencyError,
        OutputError,
        RegistryError,
    )
    from geoverify.frames import Frame, FrameOptions, FrameSelection, save_frames, select_frames
    from geoverify.geodesy import bearing_deg, destination, distance_m, offset_from_line
    from geoverify.matching import MatchOptions, build_index, match_frames, match_image
    from geoverify.models import CheckResult, LatLon, Note, Severity, Verdict, to_jsonable
    from geoverify.osm import import_osm
    from geoverify.pipeline import Verification, VerifyOptions, save_verification, verify
    from geoverify.registry import Landmark, Registry, load_registry, save_registry
    from geoverify.sun import (
        ShadowMeasurement,
        check_shadow,
        shadow_places,
        shadow_time_windows,
        sun_position,
    )

# Each public name is imported from its stage module the first time it is used, so that
# `import geoverify` (and the decoder worker, and the CLI) load only the stages they need.
_LAZY = {
    "CheckResult": "geoverify.models",
    "ClaimSet": "geoverify.claims",
    "DecodeLimits": "geoverify._decode",
    "Frame": "geoverify.frames",
    "FrameOptions": "geoverify.frames",
    "FrameSelection": "geoverify.frames",
    "GeoverifyError": "geoverify.errors",
    "InputError": "geoverify.errors",
    "Landmark": "geoverify.registry",
    "LatLon": "geoverify.models",
    "LimitError": "geoverify.errors",
    "MatchOptions": "geoverify.matching",
    "MediaError": "geoverify.errors",
    "MissingDependencyError": "geoverify.errors",
    "Note": "geoverify.models",
    "Verification": "geoverify.pipeline",
    "VerifyOptions": "geoverify.pipeline",
    "save_verification": "geoverify.pipeline",
    "verify": "geoverify.pipeline",
    "OutputError": "geoverify.errors",
    "Registry": "geoverify.registry",
    "RegistryError": "geoverify.errors",
    "Severity": "geoverify.models",
    "ShadowMeasurement": "geoverify.sun",
    "Verdict": "geoverify.models",
    "bearing_deg": "geoverify.geodesy",
    "build_index": "geoverify.matching",
    "check_claim": "geoverify.claims",
    "check_claims": "geoverify.claims",
    "check_shadow": "geoverify.sun",
    "destination": "geoverify.geodesy",
    "distance_m": "geoverify.geodesy",
    "import_osm": "geoverify.osm",
    "load_claims": "geoverify.claims",
    "load_registry": "geoverify.registry",
    "match_frames": "geoverify.matching",
    "match_image": "geoverify.matching",
    "offset_from_line": "geoverify.geodesy",
    "rank_candidates": "geoverify.claims",
    "save_frames": "geoverify.frames",
    "save_registry": "geoverify.registry",
    "select_frames": "geoverify.frames",
    "shadow_places": "geoverify.sun",
    "shadow_time_windows": "geoverify.sun",
    "sun_position": "geoverify.sun",
    "to_jsonable": "geoverify.models",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'geoverify' has no attribute {name!r}"
        raise AttributeError(msg)
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
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
