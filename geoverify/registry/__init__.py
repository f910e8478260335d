"""Stage 3, registry: landmarks with geometry, sources and reference images, as GeoJSON.

Input: an RFC 7946 GeoJSON FeatureCollection (the only place where coordinates are in
longitude, latitude order). Output: a ``Registry`` of frozen ``Landmark`` values. The raw JSON is
validated strictly before anything reaches shapely, and every problem is listed at once with the
file, the feature id and a JSON pointer: NaN, duplicate keys, out-of-range or swapped
coordinates, strings or nulls for numbers, wrong dimensions, short or unclosed rings, zero-length
lines, self-intersecting polygons (rejected, or repaired with the original kept when asked),
duplicate ids, reference images that are missing, outside the registry's folder or changed.

Inside geoverify a landmark's geometry is a shapely geometry with x = longitude and
y = latitude (shapely's convention); ``Landmark.anchor`` gives a ``LatLon``. Distances are never
computed on these degrees: ``geoverify.geodesy`` does that. Spatial queries use an STRtree only
to find candidates, then measure geodesically.

Writers (``save_registry``, ``add_landmark``, ``update_landmark``, ``remove_landmark``...) take
an exclusive lock on a sidecar ``.lock`` file of the real file (a registry that is a symbolic link
is followed), re-read the registry, and replace it atomically, keeping its permissions, so two
processes adding at once lose nothing. The lock file itself is opened with ``O_NOFOLLOW``: a link
or a non-regular file at its name is refused (``E_REGISTRY_LOCK``). A lock held by another
process is waited for at most ``lock_wait_s`` seconds (``LOCK_WAIT_S``, 10 s), then refused
(``E_REGISTRY_LOCKED``), the registry unchanged.
An edit changes only what it edits: features it does not touch are written back as they were
read, and what geoverify does not model (top-level members such as ``description``, a
feature's ``bbox``, properties such as ``wikidata``, a structured ``notes`` object) survives.
Every write is validated with the loading rules first; a registry that could not be loaded
again is never written (``E_REGISTRY_WRITE_REFUSED``).
"""

from __future__ import annotations

from geoverify.registry._coords import describe_positions, parse_geometry, parse_position
from geoverify.registry._lock import LOCK_WAIT_S
from geoverify.registry._model import (
    REGISTRY_FORMAT,
    FieldChange,
    Landmark,
    LandmarkEdit,
    LandmarkUpdate,
    ReferenceImage,
    Registry,
    RegistryProblem,
    Source,
    geodesic_distance_m,
    point_landmark,
)
from geoverify.registry._read import load_registry, registry_from_geojson
from geoverify.registry._update import update_landmark
from geoverify.registry._write import (
    add_landmark,
    add_landmarks,
    add_reference_image,
    area_warnings,
    landmark_problems,
    registry_to_geojson,
    remove_landmark,
    save_registry,
    set_area_of_interest,
)

__all__ = [
    "LOCK_WAIT_S",
    "REGISTRY_FORMAT",
    "FieldChange",
    "Landmark",
    "LandmarkEdit",
    "LandmarkUpdate",
    "ReferenceImage",
    "Registry",
    "RegistryProblem",
    "Source",
    "add_landmark",
    "add_landmarks",
    "add_reference_image",
    "area_warnings",
    "describe_positions",
    "geodesic_distance_m",
    "landmark_problems",
    "load_registry",
    "parse_geometry",
    "parse_position",
    "point_landmark",
    "registry_from_geojson",
    "registry_to_geojson",
    "remove_landmark",
    "save_registry",
    "set_area_of_interest",
    "update_landmark",
]
