"""OpenStreetMap as a source of landmarks: .osm XML, Overpass JSON and .osm.pbf files.

Input: a local OSM file (nothing is downloaded). Output: ``Landmark`` values with the OSM
element's type, id, version and timestamp in their sources, so the map state used is pinned.

Selection is by tags (``historic=memorial``, or ``waterway`` for any value; several filters
are alternatives) and optionally by a bounding box. Geometry:

- a node is a point;
- a way is a line, or a polygon when it is closed and its tags describe an area (``area=yes``,
  ``building``, ``landuse``, ``natural=water``...; never ``highway`` or ``waterway`` unless
  ``area=yes``);
- a ``multipolygon`` or ``boundary`` relation is assembled from its member ways into rings
  (ways joined end to end), outer and inner;
- a ``waterway``, ``street`` or ``route`` relation is the merged line of its member ways;
- with ``merge_by_name``, selected ways that share a name become one line (a river or a street
  is mapped as many ways).

Incomplete elements (a way whose nodes are missing, a relation whose members are outside the
extract) are skipped and reported, never guessed. ``.osm.pbf`` needs the optional ``osmium``
package (``pip install 'geoverify[osm]'``).

``fetch_overpass`` (``registry fetch-osm``) is the one function that downloads: one Overpass
query, bounded as a whole by its time limit, with redirects followed only on the same scheme,
host and port; a partial answer (a ``remark`` saying the server stopped the query) is refused,
and every string the server sends is escaped before it reaches a message or a record.
"""

from __future__ import annotations

from geoverify.osm._assemble import (
    OsmImport,
    bbox_around,
    import_osm,
    parse_bbox,
    parse_tag_filters,
)
from geoverify.osm._fetch import (
    DEFAULT_OVERPASS_ENDPOINT as DEFAULT_OVERPASS_ENDPOINT,
    MAX_FETCH_TIMEOUT_S as MAX_FETCH_TIMEOUT_S,
    MIN_FETCH_TIMEOUT_S as MIN_FETCH_TIMEOUT_S,
    OVERPASS_ENDPOINT_ENV as OVERPASS_ENDPOINT_ENV,
    OverpassFetch,
    fetch_overpass,
    overpass_query,
)
from geoverify.osm._read import OsmData, read_osm, tags_of as tags_of

__all__ = [
    "OsmData",
    "OsmImport",
    "OverpassFetch",
    "bbox_around",
    "fetch_overpass",
    "import_osm",
    "overpass_query",
    "parse_bbox",
    "parse_tag_filters",
    "read_osm",
]
