"""Write a small synthetic OpenStreetMap history (every version of each element), for tests.

Deterministic, no network. The elements are made up (ids 1-99, "Test ..." names, positions
near 0 N 0 E in the Gulf of Guinea): they describe no real place. Versions:
- node 1 "Test memorial": v1 2020-01-01 at (0.0010, 0.0010), v2 2023-06-01 moved to (0.0020,
  0.0020) and renamed "Test memorial (rebuilt)";
- node 2 "Test kiosk": v1 2021-01-01, v2 2022-12-01 deleted (visible false);
- node 3 "Test statue": only v1, 2024-01-01 (created after the date used by the tests).
Writes FILE.osh (XML) and, with pyosmium installed, FILE.osh.pbf.

Usage: python tests/data/osm/make_history.py OUT_STEM
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

VERSIONS = [
    # (id, version, timestamp, visible, lat, lon, name)
    (1, 1, "2020-01-01T00:00:00Z", True, 0.0010, 0.0010, "Test memorial"),
    (1, 2, "2023-06-01T00:00:00Z", True, 0.0020, 0.0020, "Test memorial (rebuilt)"),
    (2, 1, "2021-01-01T00:00:00Z", True, 0.0030, 0.0030, "Test kiosk"),
    (2, 2, "2022-12-01T00:00:00Z", False, None, None, "Test kiosk"),
    (3, 1, "2024-01-01T00:00:00Z", True, 0.0040, 0.0040, "Test statue"),
]


def write_xml(path: Path) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for oid, ver, ts, visible, lat, lon, name in VERSIONS:
        where = f' lat="{lat:.7f}" lon="{lon:.7f}"' if visible else ""
        body = f'<tag k="historic" v="memorial"/><tag k="name" v="{name}"/>' if visible else ""
        lines.append(
            f'<node id="{oid}" version="{ver}" timestamp="{ts}" '
            f'visible="{"true" if visible else "false"}"{where}>{body}</node>'
        )
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_pbf(path: Path) -> Path:
    import osmium
    from osmium.osm.mutable import Node

    header = osmium.io.Header()
    header.set("generator", "geoverify tests/data/osm/make_history.py")
    header.has_multiple_object_versions = True
    writer = osmium.SimpleWriter(str(path), header=header)
    try:
        for oid, ver, ts, visible, lat, lon, name in VERSIONS:
            when = datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)
            tags = {"historic": "memorial", "name": name} if visible else {}
            location = (lon, lat) if visible else None
            writer.add_node(
                Node(id=oid, version=ver, visible=visible, timestamp=when, location=location,
                     tags=tags)
            )  # fmt: skip
    finally:
        writer.close()
    return path


if __name__ == "__main__":
    stem = Path(sys.argv[1])
    write_xml(stem.with_suffix(".osh"))
    write_pbf(stem.with_suffix(".osh.pbf"))
