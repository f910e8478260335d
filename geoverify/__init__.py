"""geoverify: check where and when a video was filmed, offline, with evidence you can retrace.

The stages are importable functions; the ``geoverify`` command line is a thin client of them.
probe -> frames -> registry (+ osm) -> matching -> claims / sun.
"""

import os as _os
import sys as _sys

# The `geoverify` command turns Ctrl-C and SIGTERM into its exit codes before anything else
# loads, `typing` included (see geoverify._signals): until then, Ctrl-C prints a traceback.
# A library user keeps Python's own handling.
if _sys.argv and _os.path.basename(_sys.argv[0]) == "geoverify":
    from geoverify import _signals as _startup_signals

    _startup_signals.install_startup()

from typing import TYPE_CHECKING

from geoverify._version import __version__ as __version__

# The public surface, written once: each name and the module it comes from. ``__all__`` is this
# table's keys, and the imports under TYPE_CHECKING below say the same for type checkers
# (tests/test_public_api.py checks the two agree). A name is imported from its module the first
# time it is used, so that `import geoverify` (and the decoder worker, and the CLI) load only the
# stages they need.
_EXPORTS = {
    "__version__": "geoverify._version",
    "BBox": "geoverify.models",
    "bearing_deg": "geoverify.geodesy",
    "BottomLine": "geoverify.evidence",
    "build_index": "geoverify.matching",
    "build_report": "geoverify.report",
    "CameraFix": "geoverify.resection",
    "CameraPoints": "geoverify.resection",
    "check_claim": "geoverify.claims",
    "check_claims": "geoverify.claims",
    "check_shadow": "geoverify.sun",
    "CheckResult": "geoverify.models",
    "ClaimSet": "geoverify.claims",
    "ContentCredentials": "geoverify.probing",
    "DecodeLimits": "geoverify._media",
    "destination": "geoverify.geodesy",
    "distance_m": "geoverify.geodesy",
    "facing_check": "geoverify.evidence",
    "FacingCheck": "geoverify.evidence",
    "Footage": "geoverify.footage",
    "Frame": "geoverify.frames",
    "FrameOptions": "geoverify.frames",
    "FrameSelection": "geoverify.frames",
    "GeoverifyError": "geoverify.errors",
    "import_osm": "geoverify.osm",
    "InputError": "geoverify.errors",
    "Landmark": "geoverify.registry",
    "LatLon": "geoverify.models",
    "LimitError": "geoverify.errors",
    "load_claims": "geoverify.claims",
    "load_registry": "geoverify.registry",
    "locate": "geoverify.resection",
    "match_frames": "geoverify.matching",
    "match_image": "geoverify.matching",
    "MatchOptions": "geoverify.matching",
    "MediaError": "geoverify.errors",
    "MediaInfo": "geoverify.probing",
    "MissingDependencyError": "geoverify.errors",
    "NetworkError": "geoverify.errors",
    "Note": "geoverify.models",
    "offset_from_line": "geoverify.geodesy",
    "OutputError": "geoverify.errors",
    "parse_iso6709": "geoverify.probing",
    "probe": "geoverify.probing",
    "rank_candidates": "geoverify.claims",
    "read_footage": "geoverify.footage",
    "read_points": "geoverify.resection",
    "read_text": "geoverify.text",
    "Registry": "geoverify.registry",
    "RegistryError": "geoverify.errors",
    "Report": "geoverify.report",
    "save_frames": "geoverify.frames",
    "save_registry": "geoverify.registry",
    "save_verification": "geoverify.pipeline",
    "select_frames": "geoverify.frames",
    "Severity": "geoverify.models",
    "sha256_file": "geoverify.probing",
    "shadow_places": "geoverify.sun",
    "shadow_time_windows": "geoverify.sun",
    "ShadowMeasurement": "geoverify.sun",
    "sun_position": "geoverify.sun",
    "TextOptions": "geoverify.text",
    "TextRegion": "geoverify.text",
    "to_jsonable": "geoverify.models",
    "triage": "geoverify.batch",
    "Triage": "geoverify.batch",
    "Verdict": "geoverify.models",
    "Verification": "geoverify.pipeline",
    "verify": "geoverify.pipeline",
    "verify_batch": "geoverify.batch",
    "VerifyOptions": "geoverify.pipeline",
    "weigh_evidence": "geoverify.evidence",
    "write_report": "geoverify.report",
}

if TYPE_CHECKING:  # the same table, for type checkers (`X as X`: an explicit re-export)
    from geoverify._media import DecodeLimits as DecodeLimits
    from geoverify.batch import (
        Triage as Triage,
        triage as triage,
        verify_batch as verify_batch,
    )
    from geoverify.claims import (
        ClaimSet as ClaimSet,
        check_claim as check_claim,
        check_claims as check_claims,
        load_claims as load_claims,
        rank_candidates as rank_candidates,
    )
    from geoverify.errors import (
        GeoverifyError as GeoverifyError,
        InputError as InputError,
        LimitError as LimitError,
        MediaError as MediaError,
        MissingDependencyError as MissingDependencyError,
        NetworkError as NetworkError,
        OutputError as OutputError,
        RegistryError as RegistryError,
    )
    from geoverify.evidence import (
        BottomLine as BottomLine,
        FacingCheck as FacingCheck,
        facing_check as facing_check,
        weigh_evidence as weigh_evidence,
    )
    from geoverify.footage import (
        Footage as Footage,
        read_footage as read_footage,
    )
    from geoverify.frames import (
        Frame as Frame,
        FrameOptions as FrameOptions,
        FrameSelection as FrameSelection,
        save_frames as save_frames,
        select_frames as select_frames,
    )
    from geoverify.geodesy import (
        bearing_deg as bearing_deg,
        destination as destination,
        distance_m as distance_m,
        offset_from_line as offset_from_line,
    )
    from geoverify.matching import (
        MatchOptions as MatchOptions,
        build_index as build_index,
        match_frames as match_frames,
        match_image as match_image,
    )
    from geoverify.models import (
        BBox as BBox,
        CheckResult as CheckResult,
        LatLon as LatLon,
        Note as Note,
        Severity as Severity,
        Verdict as Verdict,
        to_jsonable as to_jsonable,
    )
    from geoverify.osm import import_osm as import_osm
    from geoverify.pipeline import (
        Verification as Verification,
        VerifyOptions as VerifyOptions,
        save_verification as save_verification,
        verify as verify,
    )
    from geoverify.probing import (
        ContentCredentials as ContentCredentials,
        MediaInfo as MediaInfo,
        parse_iso6709 as parse_iso6709,
        probe as probe,
        sha256_file as sha256_file,
    )
    from geoverify.registry import (
        Landmark as Landmark,
        Registry as Registry,
        load_registry as load_registry,
        save_registry as save_registry,
    )
    from geoverify.report import (
        Report as Report,
        build_report as build_report,
        write_report as write_report,
    )
    from geoverify.resection import (
        CameraFix as CameraFix,
        CameraPoints as CameraPoints,
        locate as locate,
        read_points as read_points,
    )
    from geoverify.sun import (
        ShadowMeasurement as ShadowMeasurement,
        check_shadow as check_shadow,
        shadow_places as shadow_places,
        shadow_time_windows as shadow_time_windows,
        sun_position as sun_position,
    )
    from geoverify.text import (
        TextOptions as TextOptions,
        TextRegion as TextRegion,
        read_text as read_text,
    )


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module 'geoverify' has no attribute {name!r}"
        raise AttributeError(msg)
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)


__all__ = sorted(_EXPORTS, key=str.casefold)
