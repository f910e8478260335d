"""The claims file explained: its JSON Schema, a starter file, and every kind with an example.

The examples here are the ones ``geoverify claims explain`` prints and the README shows; a test
loads each of them, so none can drift from what the loader accepts.
"""

from __future__ import annotations

import json
from typing import Any

from geoverify.claims._file import FileModel
from geoverify.claims._model import COMPASS, QUALIFIERS

__all__ = ["EXAMPLES", "claims_json_schema", "explain_text", "template_text"]

# kind -> (what it checks, one claim entry in YAML as it goes under `claims:`)
EXAMPLES: dict[str, tuple[str, str]] = {
    "distance": (
        "the geodesic distance between two landmarks (or roles), against a qualified value",
        '- {id: from_centre, kind: distance, text: "2 km from the city centre",\n'
        "   subject: monument, reference: city_centre,\n"
        "   distance: {qualifier: about, value_m: 2000}}",
    ),
    "distance with direction": (
        "a distance and a direction in one sentence, as newsrooms write them: both must hold",
        '- {id: west_of_square, kind: distance, text: "about 1 km west of the central square",\n'
        "   subject: monument, reference: central_square,\n"
        "   distance: {qualifier: about, value_m: 1000}, direction: west}",
    ),
    "direction": (
        "the bearing from the reference to the subject, within a compass sector or bearing:DEG",
        '- {id: north_of_station, kind: direction, text: "north of the station",\n'
        "   subject: monument, reference: station, direction: north}",
    ),
    "side_of_line": (
        "which side of a line (a river, a street) the subject is on, optionally how far from it",
        '- {id: east_of_river, kind: side_of_line, text: "just under 500 m east of the river",\n'
        "   subject: monument, line: river, side: east,\n"
        "   distance: {qualifier: just under, value_m: 500}}",
    ),
    "within": (
        "the subject lies inside an area landmark",
        '- {id: in_park, kind: within, text: "in the park", subject: monument, area: park}',
    ),
    "nearest": (
        "the target is the nearest landmark of a kind to the subject",
        '- {id: nearest_church, kind: nearest, text: "next to the church",\n'
        "   subject: monument, target: church, of_kind: {amenity: place_of_worship}}",
    ),
    "shadow": (
        "a shadow measured in the footage against the sun at the claimed place and time",
        '- {id: morning_shadow, kind: shadow, text: "filmed in the morning",\n'
        "   subject: monument, time: '2023-03-06T09:30', tz: Europe/Kyiv,\n"
        "   shadow: {azimuth_deg: 290, azimuth_error_deg: 8}}",
    ),
    "camera": (
        "(claims_version 2) subject: camera means the footage's own embedded positions",
        '- {id: east_bank, kind: side_of_line, text: "filmed from the east bank",\n'
        "   subject: camera, line: river, side: east}",
    ),
}


def claims_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of a claims file (``geoverify/schemas/claims.schema.json``)."""
    schema = FileModel.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://geoverify.invalid/schemas/claims-2.json"
    schema["title"] = "geoverify claims file"
    schema["description"] = (
        "A claims file (YAML or JSON): the hypothesis under test (footage, claims_version 2), "
        "roles naming candidate landmarks, and published sentences as geodesic checks. "
        "Distances in metres, bearings in degrees clockwise from true north, times ISO 8601 "
        "with an offset (or a tz)."
    )
    return schema


def explain_text() -> str:
    """Everything a claims file can say: the qualifiers, the sectors, every kind."""
    lines = ["Qualifiers (a distance 'about 500 m' is read as the interval [a v, b v]):"]
    for q, (a, b) in QUALIFIERS.items():
        hi = "inf" if b == float("inf") else f"{b:g}"
        lines.append(f"  {q:20s} [{a:g} v, {hi} v]")
    lines.append("")
    lines.append("Compass directions (centre and half-width of the sector, degrees):")
    for word, (c, h) in COMPASS.items():
        lines.append(f"  {word:12s} {c:5.1f} +- {h:g}   (as side of a line: +- 90)")
    lines.append("  bearing:DEG  DEG +- 10 (half_width_deg to change it)")
    lines.append("")
    lines.append("Claim kinds, with an example each (they go in the list under claims:):")
    for kind, (what, example) in EXAMPLES.items():
        lines.append("")
        lines.append(f"{kind}: {what}")
        lines += ["  " + ln for ln in example.splitlines()]
    lines.append("")
    lines.append("Roles: a name for 'the city centre' with every published point it may mean:")
    lines.append("  roles: {city_centre: {candidates: [a, b, c], kind: {place: square}}}")
    return "\n".join(lines) + "\n"


def template_text() -> str:
    """Return a commented starter claims file (claims_version 2) that loads as it is."""
    return """\
# geoverify claims file: the hypothesis under test and the published sentences about the place.
# `geoverify claims explain` lists every kind, qualifier and direction; `geoverify claims
# validate FILE --registry REG` checks this file against a registry.
claims_version: 2
source:
  title: ""          # where the claims were published
  url: ""
  date: ""           # YYYY-MM-DD
  quote: ""          # the sentence as published
# What the footage is said to show, and where and when it is said to have been filmed.
footage:
  shows: monument                              # a role or a landmark id
  filmed_at: {role: monument, within_m: 300}   # or {lat: .., lon: .., within_m: ..}
  filmed_between: [null, null]                 # ISO 8601 with offset; null = open
  # filmed_on: 2023-03-06                      # or a whole day, instead of filmed_between,
  # tz: Europe/Kyiv                            #   in this zone (IANA name)
roles:
  monument:
    candidates: [monument_id_in_registry]      # every landmark the word may mean
    kind: {historic: memorial}                 # tags a candidate must have
claims: []
# claims:
#   - {id: from_centre, kind: distance, text: "2 km from the city centre",
#      subject: monument, reference: city_centre, distance: {qualifier: about, value_m: 2000}}
"""


def schema_text() -> str:
    """Return the JSON Schema as the committed file holds it."""
    return json.dumps(claims_json_schema(), indent=2, sort_keys=True) + "\n"
