"""Benchmark: geoverify's vectorised NREL SPA against suncalc (pip `suncalc`, bench env only).

Times 100,000 positions (one place, one a minute) and 100,000 places at one time, medians of
--runs, and reports how far suncalc's fast low-precision formulas are from the SPA.
Usage: python bench/bench_sun.py [--runs N]
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import timed

from geoverify.sun import sun_positions

N = 100_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import suncalc

    unix = 1_677_628_800.0 + np.arange(N) * 60.0  # 2023-03-01 onwards, one a minute
    lat, lon = 48.59472, 38.00083
    rng = np.random.default_rng(7)
    plat, plon = rng.uniform(-60, 60, N), rng.uniform(-180, 180, N)
    dates = (unix * 1000).astype("int64").astype("datetime64[ms]")
    one = np.full(N, 1_677_672_000_000, dtype="int64").astype("datetime64[ms]")
    cases = {
        "100k times, one place": (
            lambda: sun_positions(lat, lon, unix),
            lambda: suncalc.get_position(dates, lon, lat),
        ),
        "100k places, one time": (
            lambda: sun_positions(plat, plon, 1_677_672_000.0),
            lambda: suncalc.get_position(one, plon, plat),
        ),
    }
    print(f"runs: {args.runs}, N = {N}")
    for name, (ours, ref) in cases.items():
        a, b = timed(ours, args.runs, warmup=True), timed(ref, args.runs, warmup=True)
        print(
            f"{name:24s} geoverify {a:6.3f} s ({N / a / 1e3:7.0f} k/s)   "
            f"suncalc {b:6.3f} s ({N / b / 1e3:7.0f} k/s)   geoverify/suncalc time {a / b:5.2f}"
        )
    spa = sun_positions(lat, lon, unix)
    sc = suncalc.get_position(dates, lon, lat)
    sc_az = (np.degrees(np.asarray(sc["azimuth"])) + 180.0) % 360.0  # suncalc: from south
    sc_el = np.degrees(np.asarray(sc["altitude"]))
    up = spa["elevation_geometric_deg"] > 5
    d_az = np.abs((sc_az - spa["azimuth_deg"] + 180) % 360 - 180)[up]
    d_el = np.abs(sc_el - spa["elevation_geometric_deg"])[up]
    print(
        f"suncalc vs SPA (sun above 5 deg): azimuth max {d_az.max():.3f} deg, "
        f"median {np.median(d_az):.3f}; elevation max {d_el.max():.3f} deg"
    )


if __name__ == "__main__":
    main()
