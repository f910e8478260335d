"""Stage 5, claims: published statements about places turned into geodesic checks.

Input: a claims file (YAML) that an analyst writes from a published text, and a registry.
Output: one ``CheckResult`` per claim, with the measured value, the claimed range, the margin,
a verdict (consistent / inconsistent / inconclusive), the method and the caveats.

Claim kinds
-----------
``distance``      distance between two landmarks ("about 2 km from the city centre")
``direction``     bearing from a reference to the subject in a compass sector ("east of")
``side_of_line``  which side of a line and how far ("just under 500 m east of the river")
``within``        the subject lies inside an area
``nearest``       the nearest landmark of a kind to the subject is a given one
``shadow``        a shadow measured in the footage fits the sun at the claimed place and time

A role (``monument``, ``city_centre``) names one or several candidate landmarks. Every choice
is evaluated; when the verdicts differ the claim is inconclusive and the notes say which
definition decides it.

Verbal qualifiers map to explicit intervals (``QUALIFIERS``), always printed with the result so
a reader can disagree:

================================================  ==================
qualifier                                         interval for value v
================================================  ==================
exactly                                           [0.97 v, 1.03 v]
about, approximately, around, roughly, some       [0.8 v, 1.2 v]
just under, nearly, almost                        [0.8 v, v]
just over, a little over, a little more than      [v, 1.2 v]
under, less than, at most, within, up to          [0, v]
over, more than, at least                         [v, infinity)
================================================  ==================

``range_m: [a, b]`` gives an interval directly ("between 1 and 2 km").

Compass words are sectors centred on their bearing: the four cardinal words span +-45 degrees,
the four intercardinal words +-22.5 degrees; ``side_of_line`` asks only that the direction from
the line towards the subject has a component that way (+-90 degrees). Position uncertainty
(``uncertainty_m`` of each landmark) widens the measured value into a possible range; a range
that straddles a bound of the claim gives ``inconclusive``. Bounds are inclusive and values are
compared at the resolution of the measurement (1 mm, 1e-6 degree), so a value exactly on a bound
is consistent, every time.

Every measured value carries its own unit: a check returns a ``ClaimCheck`` whose
``quantities`` list what was measured (a distance in metres, a bearing in degrees, a shadow's
length ratio), each with its claimed range and its margin in the same unit. "About 1 km west of
the square" measures a distance and a bearing; "west of the river" a bearing from the line (the
distance from the line is shown, not claimed).

In a claims_version 2 file, ``camera`` as a subject or reference means the footage's own
positions. ``check_claims``, ``rank_candidates`` and ``check_names`` resolve names the same way,
so ``geoverify claims validate`` refuses exactly what ``check`` and ``verify`` would refuse.
"""

from __future__ import annotations

from collections.abc import Sequence

from geoverify.claims._check import CameraFix, check_claim, check_names, checker, uses_camera
from geoverify.claims._file import claims_from_data, load_claims
from geoverify.claims._model import CAMERA, COMPASS, QUALIFIERS, Claim, ClaimSet, Hypothesis
from geoverify.claims._place import Place, find_landmark, resolve_place
from geoverify.claims._rank import CandidateRank, rank_candidates
from geoverify.claims._result import (
    UNITS,
    ClaimCandidate,
    ClaimCheck,
    Quantity,
    Unit,
    describe_quantity,
    format_value,
    quantities_of,
)
from geoverify.claims._suggest import did_you_mean
from geoverify.registry import Registry

__all__ = [
    "CAMERA",
    "COMPASS",
    "QUALIFIERS",
    "UNITS",
    "CameraFix",
    "CandidateRank",
    "Claim",
    "ClaimCandidate",
    "ClaimCheck",
    "ClaimSet",
    "Hypothesis",
    "Place",
    "Quantity",
    "Unit",
    "check_claim",
    "check_claims",
    "check_names",
    "claims_from_data",
    "describe_quantity",
    "did_you_mean",
    "find_landmark",
    "format_value",
    "load_claims",
    "quantities_of",
    "rank_candidates",
    "resolve_place",
    "uses_camera",
]


def check_claims(
    registry: Registry, claims: ClaimSet, *, camera: Sequence[CameraFix] | None = None
) -> tuple[ClaimCheck, ...]:
    """Check every claim; one result each, in file order.

    In a claims_version 2 file the subject (or reference) ``camera`` means the footage's own
    positions: ``camera`` gives them (``geoverify.evidence.camera_positions``), each checked
    as a candidate; without positions such a claim is inconclusive.

    Raises
    ------
    RegistryError
        ``E_CLAIMS_UNKNOWN_LANDMARK`` (exit 4) listing every landmark the claims name that the
        registry does not have, before anything is checked.
    """
    check = checker(registry, claims, camera)
    return tuple(check(c, claims) for c in claims.claims)
