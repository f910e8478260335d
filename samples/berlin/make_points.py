"""Write the POINTS files of the Berlin photographs from OpenSfM's surveyed points.

``photos/berlin_gcp_list.txt`` (OpenSfM, BSD-2; PROVENANCE.md) lists, for each surveyed point,
``longitude latitude altitude pixel_x pixel_y image``. This writes ``points_01.csv``,
``points_02.csv`` and ``points_03.csv`` in the form ``geoverify locate --points`` reads
(x_px,y_px,lat,lon,alt_m), one row per point the photograph sees, in the list's order.
Nothing is computed: the numbers are the survey's, moved into another column order.

Usage: python samples/berlin/make_points.py [FOLDER]   (default: samples/berlin)
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GCP = HERE / "photos" / "berlin_gcp_list.txt"
HEADER = "x_px,y_px,lat,lon,alt_m"


def points_csv(shot: str) -> str:
    """Return the POINTS file of photograph ``shot`` (``01``, ``02`` or ``03``), as text."""
    rows = [HEADER]
    for line in GCP.read_text(encoding="utf-8").splitlines()[1:]:
        parts = line.split()
        if len(parts) == 6 and parts[5] == f"{shot}.jpg":
            lon, lat, alt, x, y = parts[:5]
            rows.append(f"{x},{y},{lat},{lon},{alt}")
    return "\n".join(rows) + "\n"


def main() -> None:
    """Write the three POINTS files into the folder given (or this one)."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for shot in ("01", "02", "03"):
        (out / f"points_{shot}.csv").write_text(points_csv(shot), encoding="utf-8")


if __name__ == "__main__":
    main()
