"""Build samples/berlin/registry.geojson from sourced numbers only (see PROVENANCE.md).

- the Berliner Dom: surveyed ground-control point 0 of the OpenSfM Berlin dataset, a point
  observed in photographs 02 and 03, taken as the building's position; reference image
  photos/berlin_03.jpg;
- the camera positions of the three photographs: their EXIF GPS (phone GPS, no stated
  accuracy, so no uncertainty is claimed).
Run: python samples/berlin/build_registry.py
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from shapely.geometry import Point

from geoverify.registry import Landmark, ReferenceImage, Registry, Source, save_registry

HERE = Path(__file__).resolve().parent
EXIF_GPS = {  # exiftool -n, recorded in PROVENANCE.md
    "01": (52.5189167, 13.4002944),
    "02": (52.5189250, 13.4003889),
    "03": (52.5190472, 13.4004472),
}


def main() -> None:
    """Write registry.geojson beside this script."""
    gcps = json.loads((HERE / "photos" / "berlin_ground_control_points.json").read_text())
    gcp0 = next(p for p in gcps["points"] if p["id"] == "0")
    lat, lon = gcp0["position"]["latitude"], gcp0["position"]["longitude"]
    ref = HERE / "photos" / "berlin_03.jpg"
    dom = Landmark(
        id="berliner_dom",
        name="Berliner Dom",
        aliases=("Berlin Cathedral", "Oberpfarr- und Domkirche zu Berlin"),
        tags={"building": "cathedral", "amenity": "place_of_worship"},
        geometry=Point(lon, lat),
        sources=(
            Source(
                kind="survey",
                title="OpenSfM Berlin dataset, ground_control_points.json, point 0",
                url="https://github.com/mapillary/OpenSfM/blob/main/data/berlin/ground_control_points.json",
                licence="BSD-2-Clause",
                note="surveyed point observed in photographs 02 and 03",
            ),
        ),
        reference_images=(
            ReferenceImage(
                path="photos/berlin_03.jpg",
                sha256=hashlib.sha256(ref.read_bytes()).hexdigest(),
                note="OpenSfM data/berlin/images/03.jpg",
            ),
        ),
        notes="Position: one surveyed point on the building, not its centroid.",
    )
    cameras = [
        Landmark(
            id=f"camera_{n}",
            name=f"Camera position of photograph {n}",
            tags={"geoverify:kind": "camera_position"},
            geometry=Point(lo, la),
            sources=(
                Source(
                    kind="other",
                    title=f"EXIF GPS of OpenSfM data/berlin/images/{n}.jpg (exiftool -n)",
                    licence="BSD-2-Clause",
                ),
            ),
            notes="Phone GPS: no accuracy is stated in the file.",
        )
        for n, (la, lo) in EXIF_GPS.items()
    ]
    save_registry(Registry(name="berlin", landmarks=(dom, *cameras)), HERE / "registry.geojson")


if __name__ == "__main__":
    main()
