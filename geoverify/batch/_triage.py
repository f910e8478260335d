"""Triage without claims: what a file claims, what it matched, where it says it was.

``batch`` without ``--claims`` and ``verify`` without ``--claims`` both verify the file against
an empty claims set (no hypothesis) and describe the result with ``triage``: the landmarks
matched, by name, in how many of the frames looked at; what the file's metadata claims (time,
device, position, direction, GPS track); and where it says the camera was, with the geodesic
distance to the landmarks matched (or, when none was, to the nearest landmark of the registry).
Every number comes from the verification; nothing is guessed where the file says nothing.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from geoverify.geodesy import distance_m
from geoverify.models import LatLon
from geoverify.probing._repr import degrees_text, device_text, direction_text, time_text

if TYPE_CHECKING:
    from geoverify.pipeline import Verification
    from geoverify.probing import MediaInfo
    from geoverify.registry import Registry

NO_HYPOTHESIS = "no hypothesis stated"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LandmarkSeen:
    """A landmark matched in some of the frames looked at."""

    landmark_id: str
    name: str
    frames_matched: int
    frames_looked_at: int

    @property
    def text(self) -> str:
        """Say it: ``matched Berliner Dom in 3 of 4 frames``."""
        n = self.frames_looked_at
        return f"matched {self.name} in {self.frames_matched} of {n} frame{'s' * (n != 1)}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Triage:
    """What one file shows and claims, without a hypothesis to test.

    ``file_claims`` are sentences about the file's own metadata; ``place`` says where the
    file says the camera was (empty when it says nothing); ``bottom_line`` is
    ``no hypothesis stated`` when the claims set has no hypothesis, else its headline.
    """

    matched: tuple[LandmarkSeen, ...]
    frames_looked_at: int
    file_claims: tuple[str, ...]
    place: str
    bottom_line: str

    @property
    def summary(self) -> str:
        """One sentence for a batch row: what was matched and where the file says it was."""
        if self.matched:
            seen = "; ".join(m.text for m in self.matched)
        elif self.frames_looked_at:
            n = self.frames_looked_at
            seen = f"no landmark matched in {n} frame{'s' * (n != 1)}"
        else:
            seen = "no frame could be matched"
        return f"{seen}; {self.place}" if self.place else seen


def triage(verification: Verification) -> Triage:
    """Describe a verification for triage: matches by name, the file's claims, its place.

    Parameters
    ----------
    verification
        The result of ``geoverify.verify`` (with or without claims).
    """
    report = verification.report
    registry = verification.registry
    names = {lm.id: lm.name or lm.id for lm in registry.landmarks}
    looked_at = len(report.frames)
    counts = report.summary.get("frames_matched_by_landmark", {})
    matched = tuple(
        LandmarkSeen(
            landmark_id=str(lm_id),
            name=names.get(str(lm_id), str(lm_id)),
            frames_matched=int(n),
            frames_looked_at=looked_at,
        )
        for lm_id, n in sorted(counts.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
    )
    bottom = report.bottom_line
    media = verification.media
    return Triage(
        matched=matched,
        frames_looked_at=looked_at,
        file_claims=file_claims(media),
        place=said_place(media, registry, tuple(m.landmark_id for m in matched)),
        bottom_line=NO_HYPOTHESIS if bottom.hypothesis == NO_HYPOTHESIS else bottom.headline,
    )


def _km(value: float) -> str:
    return f"{value / 1000:,.1f} km" if value >= 10_000 else f"{value:,.0f} m"


def file_claims(media: MediaInfo) -> tuple[str, ...]:
    """Say what the file's metadata claims: time, device, positions, direction, GPS track."""
    out = [f"created {time_text(t)} ({t.source})" for t in media.creation_times[:2]]
    device = device_text(media.device)
    if device:
        out.append(f"device {device}")
    for loc in media.locations:
        if loc.position is None:
            continue
        acc = f" ±{loc.accuracy_m:,.0f} m" if loc.accuracy_m is not None else ""
        out.append(
            f"position {degrees_text(loc.position.lat, loc.position.lon)}{acc} ({loc.source})"
        )
    for d in media.directions:
        out.append(f"{direction_text(d)} ({d.source})")
    track = media.gps_track
    if track is not None and track.fixes:
        out.append(f"GPS track of {len(track.fixes)} fixes ({track.source})")
    return tuple(out)


def _stated_position(media: MediaInfo) -> tuple[LatLon | None, str]:
    """Return the first position the file states (a location tag, else its GPS track's)."""
    for loc in media.locations:
        if loc.position is not None:
            return loc.position, loc.source
    track = media.gps_track
    if track is not None and track.fixes:
        fix = track.fixes[0]
        return LatLon(fix.lat, fix.lon), f"{track.source}, first fix"
    return None, ""


def said_place(media: MediaInfo, registry: Registry, matched_ids: tuple[str, ...]) -> str:
    """Say where the file puts the camera, and how far that is from the landmarks.

    The first position the file states (a location tag, else the GPS track's first fix); the
    distances are geodesics to the landmarks matched, or to the registry's nearest landmark
    that can be matched (one with reference pictures) when none was. Empty when the file
    states no position.
    """
    position, source = _stated_position(media)
    if position is None:
        return ""
    said = f"the file's position ({source}) is {degrees_text(position.lat, position.lon)}"
    pictured = [lm for lm in registry.landmarks if lm.reference_images] or registry.landmarks
    away = sorted(
        (distance_m(position, lm.anchor), lm.name or lm.id, lm.id)
        for lm in pictured
        if lm.anchor is not None
    )
    wanted = [a for a in away if a[2] in matched_ids]
    lead = ""
    if not wanted and away:
        wanted, lead = away[:1], "the nearest landmark, "
    far = [f"{_km(d)} from {lead}{name}" for d, name, _ in wanted]
    return said + (", " + ", ".join(far) if far else "")
