"""Benchmark: geodesic distance + side of a line for 1e6 point/line pairs, and nearest-landmark
queries on a 1e6-landmark registry. References in the same run: pyproj's vectorised inverse
(the floor for any exact geodesic distance) and a brute-force nearest search.
Usage: python bench/bench_geodesy.py [--runs N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import timed
from pyproj import Geod

from geoverify.geodesy import offsets_from_line_many
from geoverify.models import LatLon
from geoverify.registry import Landmark, Registry

N = 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    lat = 48.59 + rng.uniform(-0.05, 0.05, N)
    lon = 38.00 + rng.uniform(-0.05, 0.05, N)
    line = [LatLon(48.56, 38.005), LatLon(48.62, 38.012)]  # one 6.7 km segment
    geod = Geod(ellps="WGS84")
    ones = np.ones(N)
    t_ref = timed(lambda: geod.inv(lon, lat, ones * 38.0, ones * 48.59), args.runs)
    t_off = timed(lambda: offsets_from_line_many(lat, lon, line, signed=True), args.runs)
    print(f"1e6 point/segment pairs, runs {args.runs}")
    print(
        f"  pyproj Geod.inv, 1e6 point pairs (reference) {t_ref:6.2f} s  {N / t_ref / 1e6:5.2f} M/s"
    )
    print(
        f"  geoverify distance + side of the line      {t_off:6.2f} s  "
        f"{N / t_off / 1e6:5.2f} M/s"
        f"  ({t_off / t_ref:.1f}x the reference: a few inverse + direct solutions per pair)"
    )
    t0 = time.perf_counter()
    from shapely import points

    geoms = points(np.c_[lon, lat])
    marks = tuple(Landmark(id=f"m{i}", name="m", geometry=g) for i, g in enumerate(geoms))
    reg = Registry(name="bench", landmarks=marks)
    build = time.perf_counter() - t0
    queries = [
        LatLon(float(a), float(b)) for a, b in zip(lat[:200] + 0.001, lon[:200], strict=True)
    ]
    t_q = timed(lambda: [reg.nearest(q) for q in queries], args.runs) / len(queries)
    q = queries[0]
    t_brute = timed(lambda: geod.inv(lon, lat, ones * q.lon, ones * q.lat), 1)
    near = reg.nearest(q)[0]
    _, _, d = geod.inv(lon, lat, ones * q.lon, ones * q.lat)
    assert near[0].id == f"m{int(np.argmin(d))}"
    print(f"registry of {N:,} point landmarks: built (with STRtree) in {build:.1f} s")
    print(
        f"  nearest landmark: {t_q * 1e3:.2f} ms a query (median over 200 queries x {args.runs})"
        f"; brute-force geodesic scan {t_brute * 1e3:.0f} ms; same answer"
    )


if __name__ == "__main__":
    main()
