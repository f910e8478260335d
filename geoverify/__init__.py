"""geoverify: check where and when a video was filmed, offline, with evidence you can retrace.

The stages are importable functions; the ``geoverify`` command line is a thin client of them.
"""

from geoverify._decode import DecodeLimits
from geoverify._version import __version__
from geoverify.errors import (
    GeoverifyError,
    InputError,
    LimitError,
    MediaError,
    MissingDependencyError,
    RegistryError,
)
from geoverify.models import LatLon, Note, Severity, Verdict, to_jsonable
from geoverify.probe import MediaInfo, parse_iso6709, probe, sha256_file

__all__ = [
    "DecodeLimits",
    "GeoverifyError",
    "InputError",
    "LatLon",
    "LimitError",
    "MediaError",
    "MediaInfo",
    "MissingDependencyError",
    "Note",
    "RegistryError",
    "Severity",
    "Verdict",
    "__version__",
    "parse_iso6709",
    "probe",
    "sha256_file",
    "to_jsonable",
]
