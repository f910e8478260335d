"""The claims in memory: ``Claim``, ``Role``, ``Hypothesis``, ``ClaimSet``, and the vocabulary.

``QUALIFIERS`` maps a verbal qualifier to its interval as multiples of the value (low, high);
``COMPASS`` a compass word to its sector (centre_deg, half_width_deg), clockwise from true
north. The claims file is read into these by ``_file``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from geoverify.models import LatLon
from geoverify.sun import ShadowMeasurement

QUALIFIERS: dict[str, tuple[float, float]] = {
    "exactly": (0.97, 1.03),
    "about": (0.8, 1.2),
    "approximately": (0.8, 1.2),
    "around": (0.8, 1.2),
    "roughly": (0.8, 1.2),
    "some": (0.8, 1.2),
    "just under": (0.8, 1.0),
    "nearly": (0.8, 1.0),
    "almost": (0.8, 1.0),
    "just over": (1.0, 1.2),
    "a little over": (1.0, 1.2),
    "a little more than": (1.0, 1.2),
    "under": (0.0, 1.0),
    "less than": (0.0, 1.0),
    "at most": (0.0, 1.0),
    "within": (0.0, 1.0),
    "up to": (0.0, 1.0),
    "over": (1.0, math.inf),
    "more than": (1.0, math.inf),
    "at least": (1.0, math.inf),
}

COMPASS: dict[str, tuple[float, float]] = {
    "north": (0.0, 45.0),
    "east": (90.0, 45.0),
    "south": (180.0, 45.0),
    "west": (270.0, 45.0),
    "north-east": (45.0, 22.5),
    "south-east": (135.0, 22.5),
    "south-west": (225.0, 22.5),
    "north-west": (315.0, 22.5),
}

CAMERA = "camera"  # the subject that means the footage's own embedded positions (version 2)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """One claim: the published text and what it asserts, in typed form.

    ``interval`` is the claimed range in metres (distance kinds) with the rule that produced
    it; ``direction`` a compass word or ``bearing:DEG``; roles name entries of ``ClaimSet.roles``
    or landmark ids.
    """

    id: str
    kind: Literal["distance", "direction", "side_of_line", "within", "nearest", "shadow"]
    text: str
    subject: str
    reference: str = ""
    interval_m: tuple[float, float] | None = None
    interval_rule: str = ""
    direction: str = ""
    sector: tuple[float, float] | None = None  # (centre_deg, half_width_deg)
    of_kind: Mapping[str, str] = dataclasses.field(default_factory=dict)
    notes: str = ""
    time_utc: datetime | None = None
    shadow: ShadowMeasurement | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Role:
    """A role: candidate landmark ids, and the kind (tags) a candidate must have."""

    name: str
    candidates: tuple[str, ...]
    kind: Mapping[str, str] = dataclasses.field(default_factory=dict)
    notes: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Hypothesis:
    """What the footage is said to show, and where and when it is said to have been filmed.

    ``shows`` and ``filmed_at`` name a role or a landmark id; ``filmed_at_point`` is a place
    given by coordinates instead; ``within_m`` is how far from it the camera may have been.
    Either end of the time window may be open (``None``); both are UTC. ``camera_points`` is
    (POINTS file, frame or ``None``) as the file writes them, relative to the claims file:
    landmarks marked in the footage, for ``verify`` to resect the camera from.
    """

    shows: str | None = None
    filmed_at: str | None = None
    filmed_at_point: LatLon | None = None
    within_m: float | None = None
    filmed_from_utc: datetime | None = None
    filmed_until_utc: datetime | None = None
    camera_points: tuple[str, str | None] | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClaimSet:
    """Claims from one published source, with their roles and the hypothesis under test.

    ``footage`` is ``None`` when the file states no hypothesis (every claims_version 1 file);
    ``notes`` say so.
    """

    claims: tuple[Claim, ...]
    roles: Mapping[str, Role]
    source: Mapping[str, str]
    path: str = ""
    sha256: str = ""
    version: int = 1
    footage: Hypothesis | None = None
    notes: tuple[str, ...] = ()

    def candidates(self, name: str) -> tuple[str, ...]:
        """Return the landmark ids a name may mean: a role's candidates, or the name itself."""
        role = self.roles.get(name)
        return role.candidates if role is not None else (name,)
