"""Build samples/bakhmut/registry.geojson from sources/bakhmut_reference_points.csv.

Deterministic: every coordinate comes from the CSV (whose rows cite their sources); nothing is
added. Rows without coordinates (the T-34 and MiG-17 monuments) become landmarks with no
geometry and their published verbal location in the notes, so checks that need them say
"inconclusive" instead of guessing. Position uncertainty is set only where a source states
one:

- the State Register point (row river_bakhmut_register_F670) is rounded to 1 arc-second, so the
  true point lies within half an arc-second in latitude and longitude: the radius below;
- the Guardian river label: the compiled notes say to expect +-100-200 m from the channel,
  so 200 m.

Everything else has no stated uncertainty, and geoverify says so when it uses it.
Run: python samples/bakhmut/build_registry.py
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

from geoverify.models import LatLon
from geoverify.registry import Landmark, Registry, Source, point_landmark, save_registry

HERE = Path(__file__).resolve().parent

TAGS = {
    "city_reference_point": {"place": "city", "geoverify:role": "city_reference_point"},
    "building": {"building": "yes"},
    "river_label_point": {"waterway": "river", "geoverify:role": "label_point"},
    "river_register_point": {"waterway": "river", "geoverify:role": "register_point"},
    "settlement_label_point": {"place": "village", "geoverify:role": "label_point"},
    "monument": {"historic": "memorial"},
}
EXTRA_TAGS = {
    "t34_monument": {"memorial": "tank"},
    "mig17_monument": {"memorial": "aircraft"},
    "railway_station_bakhmut": {"railway": "station"},
}
ALIASES = {
    "river_label_guardian": ("Бахмут", "Bakhmutka", "Bakhmutovka", "Бахмутка"),
    "river_bakhmut_register_F670": ("Bakhmutka", "Bakhmutovka", "Бахмутка"),
    "t34_monument": ("T-34 monument", "Tank monument", "Пам'ятник «Воїнам-танкістам»"),
}


def half_arcsecond_radius_m(lat_deg: float) -> float:
    """Radius covering a +-0.5 arc-second rounding box at ``lat_deg`` (WGS84 metres/degree)."""
    m_per_deg_lat = 111_132.92 - 559.82 * math.cos(2 * math.radians(lat_deg))
    m_per_deg_lon = 111_412.84 * math.cos(math.radians(lat_deg))
    half = 0.5 / 3600.0
    return math.hypot(half * m_per_deg_lat, half * m_per_deg_lon)


def landmark(row: dict[str, str]) -> Landmark:
    """Turn one row of the sourced CSV into a landmark (no position when the row has none)."""
    tags = {**TAGS[row["kind"]], **EXTRA_TAGS.get(row["id"], {})}
    source = Source(
        kind="publication" if "register" not in row["id"] else "register",
        title=row["source"],
        licence=row["source_license"],
        note=f"confidence: {row['confidence']}",
    )
    notes = row["notes"]
    uncertainty = None
    if row["id"] == "river_bakhmut_register_F670":
        uncertainty = round(half_arcsecond_radius_m(float(row["lat"])), 1)
    elif row["id"] == "river_label_guardian":
        uncertainty = 200.0
    if not row["lat"]:
        return Landmark(
            id=row["id"],
            name=row["name_en"],
            aliases=ALIASES.get(row["id"], ()) + ((row["name_uk"],) if row["name_uk"] else ()),
            tags=tags,
            sources=(source,),
            notes=f"No sourced coordinate. Published location, in words: {row['source']}. {notes}",
        )
    lm = point_landmark(
        row["id"],
        row["name_en"],
        LatLon(float(row["lat"]), float(row["lon"])),
        tags=tags,
        uncertainty_m=uncertainty,
        sources=(source,),
        notes=notes,
    )
    aliases = ALIASES.get(row["id"], ()) + ((row["name_uk"],) if row["name_uk"] else ())
    return dataclasses.replace(lm, aliases=tuple(dict.fromkeys(aliases)))


def main() -> None:
    """Write registry.geojson beside this script."""
    with open(
        HERE / "sources" / "bakhmut_reference_points.csv", newline="", encoding="utf-8"
    ) as fh:
        rows = list(csv.DictReader(fh))
    registry = Registry(name="bakhmut", landmarks=tuple(landmark(r) for r in rows))
    save_registry(registry, HERE / "registry.geojson")


if __name__ == "__main__":
    main()
