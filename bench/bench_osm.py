"""Benchmark: multipolygon assembly in `import_osm` against pyosmium's area assembly (libosmium).

A square ring is cut into N ways listed in a shuffled (seeded) order inside one multipolygon
relation, written as .osm XML. For N = 10k, 20k and 40k ways this times, with the same file:
  - reference: pyosmium `FileProcessor(...).with_areas()` iterating the assembled areas
    (libosmium's multipolygon assembler, C++), the same parse-and-assemble job;
  - geoverify: `import_osm(path, tags=["landuse"])` (XML parse, ring join, polygon build,
    the registry check of the landmark).
Prints the medians of several runs, geoverify's time over the reference's, and how each grows
when N doubles (linear: 2.0; the issue's bound for geoverify: at most 2.5).
Usage: python bench/bench_osm.py [--runs N]
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import tempfile
from pathlib import Path

from _common import timed

SEED = 20261201


def ring_relation_xml(n_ways: int, *, nodes_per_way: int = 2) -> str:
    """OSM XML: one ``landuse`` multipolygon whose outer ring is ``n_ways`` ways, shuffled."""
    n_nodes = n_ways * (nodes_per_way - 1)
    side = n_nodes // 4 + 1
    pts: list[tuple[float, float]] = []
    step = 0.01 / side
    for i in range(n_nodes):  # walk the four sides of a square anticlockwise
        k, r = divmod(i, n_nodes // 4 or 1)
        x, y = [(r * step, 0.0), (0.01, r * step), (0.01 - r * step, 0.01), (0.0, 0.01 - r * step)][
            min(k, 3)
        ]
        pts.append((48.58 + y, 37.99 + x))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    for i, (lat, lon) in enumerate(pts, start=1):
        lines.append(f'<node id="{i}" version="1" lat="{lat:.9f}" lon="{lon:.9f}"/>')
    ways = []
    for w in range(n_ways):
        refs = [(w * (nodes_per_way - 1) + j) % n_nodes + 1 for j in range(nodes_per_way)]
        ways.append((100_000 + w, refs))
    for wid, refs in ways:
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        lines.append(f'<way id="{wid}" version="1">{nds}</way>')
    order = [wid for wid, _ in ways]
    random.Random(SEED).shuffle(order)
    members = "".join(f'<member type="way" ref="{wid}" role="outer"/>' for wid in order)
    lines.append(
        f'<relation id="1" version="1">{members}<tag k="type" v="multipolygon"/>'
        '<tag k="landuse" v="meadow"/></relation>'
    )
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import osmium

    from geoverify.osm import import_osm

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (10_000, 20_000, 40_000):
            path = Path(tmp) / f"ring_{n}.osm"
            path.write_text(ring_relation_xml(n))

            def ours(path: Path = path) -> None:
                result = import_osm(path, tags=["landuse"])
                if len(result.landmarks) != 1:
                    sys.exit(f"geoverify assembled {len(result.landmarks)} areas")

            def reference(path: Path = path) -> None:
                areas = [o for o in osmium.FileProcessor(str(path)).with_areas() if o.is_area()]
                if len(areas) != 1:
                    sys.exit(f"osmium assembled {len(areas)} areas")

            rows.append((n, timed(ours, args.runs), timed(reference, args.runs)))
    print(f"{'ways':>7} {'geoverify s':>12} {'osmium s':>10} {'ratio':>6}")
    for n, ours_s, ref_s in rows:
        print(f"{n:7d} {ours_s:12.3f} {ref_s:10.3f} {ours_s / ref_s:6.2f}")
    for (n0, a0, r0), (n1, a1, r1) in itertools.pairwise(rows):
        print(f"{n0} -> {n1} ways: geoverify x{a1 / a0:.2f}, osmium x{r1 / r0:.2f}")


if __name__ == "__main__":
    main()
