"""geoverify: check where and when a video was filmed, offline, with evidence you can retrace.

The stages are importable functions; the ``geoverify`` command line is a thin client of them.
probe -> frames -> registry (+ osm) -> matching -> claims / sun.
"""

from geoverify._decode import DecodeLimits
from geoverify._version import __version__
from geoverify.claims import ClaimSet, check_claim, check_claims, load_claims, rank_candidates
from geoverify.errors import (
    GeoverifyError,
    InputError,
    LimitError,
    MediaError,
    MissingDependencyError,
    RegistryError,
)
from geoverify.frames import Frame, FrameOptions, FrameSelection, save_frames, select_frames
from geoverify.geodesy import bearing_deg, destination, distance_m, offset_from_line
from geoverify.matching import MatchOptions, build_index, match_frames, match_image
from geoverify.models import CheckResult, LatLon, Note, Severity, Verdict, to_jsonable
from geoverify.osm import import_osm
from geoverify.probe import MediaInfo, parse_iso6709, probe, sha256_file
from geoverify.registry import Landmark, Registry, load_registry, save_registry
from geoverify.sun import (
    ShadowMeasurement,
    check_shadow,
    shadow_places,
    shadow_time_windows,
    sun_position,
)

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
    "Registry",
    "RegistryError",
    "Severity",
    "ShadowMeasurement",
    "Verdict",
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
    "select_frames",
    "sha256_file",
    "shadow_places",
    "shadow_time_windows",
    "sun_position",
    "to_jsonable",
]
