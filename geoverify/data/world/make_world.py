"""Build countries_110m.json (country outlines for the report's inset map) from world-atlas.

Input: ``countries-110m.json`` of the npm package ``world-atlas`` 2.0.2 (TopoJSON made by
Mike Bostock from Natural Earth's 1:110m admin-0 countries, public domain); get it with
``npm pack world-atlas@2`` and ``tar xzf world-atlas-2.0.2.tgz``. Output: one JSON object,
``{"source": ..., "countries": [{"name": ..., "id": ..., "polygons": [[ring, ...], ...]}]}``,
each ring a flat list ``[lon, lat, lon, lat, ...]`` in WGS84 degrees rounded to 0.01 deg
(about 1 km, finer than a 1:110m outline), countries in the file's order. Deterministic:
the same input gives the same bytes.

Run: ``python geoverify/data/world/make_world.py package/countries-110m.json``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("countries_110m.json")


def _decode_arcs(topo: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """Undo the delta encoding and quantisation of every arc: lon/lat degrees."""
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)
    return arcs


def _ring(indices: list[int], arcs: list[list[tuple[float, float]]]) -> list[float]:
    """Join a ring's arcs (a negative index ~i is arc i reversed), dropping shared ends."""
    pts: list[tuple[float, float]] = []
    for i in indices:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        pts += arc if not pts else arc[1:]
    flat: list[float] = []
    last = None
    for lon, lat in pts:
        p = (round(lon, 2), round(lat, 2))
        if p != last:
            flat += [p[0], p[1]]
            last = p
    return flat


def main(source: Path) -> Path:
    """Convert ``source`` (world-atlas countries-110m.json) and write ``OUT``."""
    topo = json.loads(source.read_text(encoding="utf-8"))
    arcs = _decode_arcs(topo)
    countries = []
    for g in topo["objects"]["countries"]["geometries"]:
        if g["type"] == "Polygon":
            polys = [g["arcs"]]
        elif g["type"] == "MultiPolygon":
            polys = g["arcs"]
        else:
            continue
        rings = [[_ring(r, arcs) for r in poly] for poly in polys]
        countries.append(
            {"name": g["properties"]["name"], "id": g.get("id", ""), "polygons": rings}
        )
    data = {
        "source": "Natural Earth 1:110m admin-0 countries (public domain), via world-atlas 2.0.2",
        "countries": countries,
    }
    OUT.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    return OUT


if __name__ == "__main__":
    main(Path(sys.argv[1]))
