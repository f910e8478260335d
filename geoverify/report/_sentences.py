"""Plain sentences for an editor: each line of evidence, and the bottom line, in words.

Built from the structured evidence (``EvidenceLine.numbers``, the camera positions, the frame
matches) and the registry's names, never from its ids: "The file's own GPS puts the camera in
the United States of America, 10,628 km from Bakhmut (GeoNames 713174), the nearest landmark
on the map." The map's edge arrow gives the same number from the same landmark
(``nearest_landmark``), so an editor sees one distance, not two. A line this module has
no sentence for (a line added later) keeps its own summary, with every id it quotes replaced
by its name. The raw fields stay in report.json and in the report's collapsed details.

Countries come from the inset map's outlines (``_world.country_at``, Natural Earth 1:110m).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from geoverify.evidence import RESECTION, BottomLine, BottomVerdict, CameraPosition, EvidenceLine
from geoverify.models import LatLon
from geoverify.report._model import MatchRecord
from geoverify.report._world import country_at

_VERDICT_WORDS = {
    BottomVerdict.SUPPORTED: "supported",
    BottomVerdict.CONTRADICTED: "contradicted",
    BottomVerdict.CONFLICTING: "open: the evidence conflicts",
    BottomVerdict.NOT_ESTABLISHED: "not established",
}
_WITH_THE = ("United", "Central African", "Dominican", "Czech", "Netherlands", "Philippines")
_ID = re.compile(r"'([^'\s]+)'|\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b")


def fmt_distance(metres: float) -> str:
    """Return a distance for a reader: '48 m', '1.8 km', '1,788 km'."""
    if metres < 1000:
        return f"{metres:,.0f} m"
    if metres < 100_000:
        return f"{metres / 1000:,.1f} km"
    return f"{metres / 1000:,.0f} km"


def fmt_duration(seconds: float) -> str:
    """Return a duration for a reader: '42 s', '3 min', '5 h 20 min', '12 days', '10.4 years'."""
    s = abs(seconds)
    if s < 90:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        h, m = divmod(round(s / 60), 60)
        return f"{h} h {m} min" if m else f"{h} h"
    if s < 365.25 * 86400:
        return f"{s / 86400:,.0f} days"
    return f"{s / (365.25 * 86400):,.1f} years"


def named(text: str, names: Mapping[str, str]) -> str:
    """Replace every id or role ``text`` mentions (quoted or bare) by its name."""

    def swap(m: re.Match[str]) -> str:
        key = m.group(1) or m.group(2)
        return names.get(key, m.group(0))

    return _ID.sub(swap, text)


def _name(key: str, names: Mapping[str, str]) -> str:
    return names.get(key, key)


def _list(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _own(cameras: Sequence[CameraPosition]) -> list[CameraPosition]:
    return [c for c in cameras if not c.source.startswith(RESECTION)]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Nearest:
    """The landmark nearest to a set of points: which, how far, and between which positions."""

    feature: Mapping[str, Any]
    distance_m: float
    landmark: LatLon
    point: LatLon


def _vertices(coords: Any) -> list[LatLon]:
    """Return every position of a GeoJSON coordinate array (lon, lat order) as ``LatLon``."""
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [LatLon(float(coords[1]), float(coords[0]))]
    return [p for c in coords for p in _vertices(c)]


def nearest_landmark(
    points: Sequence[LatLon],
    features: Sequence[Mapping[str, Any]],
    ids: Sequence[str] = (),
) -> Nearest | None:
    """Return the map's landmark nearest to any of ``points``, with its geodesic distance.

    Only the landmarks ``ids`` names are candidates when any of them is on the map, else every
    landmark of ``features`` (``map_features`` records). A line or area counts by its nearest
    vertex. The sentence and the map's edge arrow both measure with this, so they agree.
    """
    from geoverify.geodesy import distance_m

    chosen = [f for f in features if f["id"] in ids] or list(features)
    best: Nearest | None = None
    for feature in chosen:
        for vertex in _vertices(feature["geometry"]["coordinates"]):
            for p in points:
                d = distance_m(p, vertex)
                if best is None or d < best.distance_m:
                    best = Nearest(feature=feature, distance_m=d, landmark=vertex, point=p)
    return best


def _whose(cameras: Sequence[CameraPosition]) -> str:
    """Say whose position it is: "The file's own GPS", "The file's own location tag"."""
    own = _own(cameras)
    if own and all("GPS" in c.source or "GPMF" in c.source for c in own):
        return "The file's own GPS"
    return "The file's own position"


def in_country(pos: LatLon) -> str:
    """Return " in the United States of America," (Natural Earth 1:110m), or "" at sea."""
    name = country_at(pos)
    if name is None:
        return ""
    the = "the " if name.startswith(_WITH_THE) or name.endswith(("Islands", "Republic")) else ""
    return f" in {the}{name},"


def _where(cameras: Sequence[CameraPosition]) -> str:
    """Return " in <country>," when every own camera position lies in one country."""
    places = {in_country(c.position) for c in _own(cameras)}
    return places.pop() if len(places) == 1 else ""


def _faced_away(ln: EvidenceLine) -> bool:
    """Whether the location line contradicts because no camera could have seen the landmark.

    Not when the position alone is farther than the claim allows: the distance is then the
    stronger fact, and the sentence says it.
    """
    n = ln.numbers
    facing = n.get("facing") or ()
    too_far = n.get("nearest_m") is not None and n.get("within_m") is not None
    too_far = too_far and float(n["nearest_m"]) > float(n["within_m"])
    return (
        ln.outcome.value == "contradicts"
        and all(f["in_view"] == "no" for f in facing)
        and bool(facing)
        and not too_far
    )


def _location(ln: EvidenceLine, ctx: _Context) -> str | None:
    n = ln.numbers
    if _faced_away(ln):
        return None  # the camera faced away from what it is said to show: the summary says so
    targets = [_name(t, ctx.names) for t in n.get("targets", [])]
    within = n.get("within_m")
    what = _whose(ctx.cameras)
    if "nearest_to_bound_area_m" in n:
        unplaced = [_name(u, ctx.names) for u in n.get("unplaced", [])]
        closest = nearest_landmark([c.position for c in _own(ctx.cameras)], ctx.features)
        if closest is None:  # nothing on the map: the bound's own number, which is a lower bound
            gap = fmt_distance(n["nearest_to_bound_area_m"])
            lead = f"{what} puts the camera{_where(ctx.cameras)} at least {gap} from every landmark"
            lead += " of this case"
        else:
            gap = fmt_distance(closest.distance_m)
            nearest = _name(str(closest.feature["id"]), ctx.names)
            lead = (
                f"{what} puts the camera{_where(ctx.cameras)} {gap} from {nearest}, "
                "the nearest landmark on the map"
            )
        if unplaced:
            lead += f" ({_list(unplaced)} has no position of its own)"
        return lead + "."
    if "nearest_m" in n and targets and within is not None:
        near = fmt_distance(n["nearest_m"])
        place = _list(targets)
        if ln.outcome.value == "contradicts":
            return (
                f"{what} puts the camera{_where(ctx.cameras)} {near} from {place}, "
                f"where the claim allows {fmt_distance(within)}."
            )
        if ln.outcome.value == "supports":
            far = fmt_distance(n.get("farthest_m", n["nearest_m"]))
            claimed = fmt_distance(within)
            return f"{what} puts the camera {far} from {place}, within the claimed {claimed}."
    return None


def _time(ln: EvidenceLine, ctx: _Context) -> str | None:
    n = ln.numbers
    if "outside_by_s" in n:
        source = n.get("source", "the file")
        start = str(n.get("file_time_from_utc", ""))
        window = str(n.get("window_utc", ""))
        side = "outside"
        if start[:1].isdigit() and window.startswith("[") and window[1:2].isdigit():
            side = "before" if start < window[1:].split(",")[0] else "after"
        when = f" on {start[:10]}" if start[:1].isdigit() else ""
        return (
            f"The file's own clock ({source}) says it was recorded{when}, "
            f"{fmt_duration(n['outside_by_s'])} {side} the claimed time."
        )
    return None


def _visual(ln: EvidenceLine, ctx: _Context) -> str | None:
    n = ln.numbers
    checked = n.get("frames_checked")
    if not checked:
        return None
    shown = [r for r in ctx.matches if r.verdict == "match" and r.landmark_id in ctx.shows]
    others = [r for r in ctx.matches if r.verdict == "match" and r.landmark_id not in ctx.shows]
    parts = []
    if shown:
        name = _name(shown[0].landmark_id or "", ctx.names)
        best = max(r.inliers for r in shown)
        parts.append(
            f"{_of_frames(len(shown), checked)} the reference picture of {name} "
            f"({best} matching points at best)"
        )
    if others:
        other_names = sorted({_name(r.landmark_id or "", ctx.names) for r in others})
        parts.append(f"{_of_frames(len(others), checked)} {_list(other_names)} instead")
    if not parts:
        return None
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def _description(ln: EvidenceLine, ctx: _Context) -> str | None:
    n = ln.numbers
    keys = ("consistent", "inconsistent", "inconclusive")
    if not all(k in n for k in keys):
        return None
    fit, bad, open_ = (int(n[k]) for k in keys)
    total = fit + bad + open_
    said = [f"{fit} fit{'s' if fit == 1 else ''}"] if fit else []
    said += [f"{bad} do{'es' if bad == 1 else ''} not fit"] if bad else []
    said += [f"{open_} cannot be decided from the registry"] if open_ else []
    if total == 1:
        verb = "fits" if fit else "does not fit" if bad else "cannot be decided from the registry"
        return f"The one published statement about the place {verb}."
    return f"Of the {total} published statements about the place, {_list(said)}."


class _Context:
    """What the sentences draw on besides a line's own numbers."""

    def __init__(
        self,
        names: Mapping[str, str],
        cameras: Sequence[CameraPosition],
        matches: Sequence[MatchRecord],
        shows: Sequence[str],
        features: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self.names = names
        self.cameras = cameras
        self.matches = matches
        self.shows = set(shows)
        self.features = features


_BUILDERS: dict[str, Callable[[EvidenceLine, _Context], str | None]] = {
    "location": _location,
    "time": _time,
    "visual": _visual,
    "description": _description,
}


def line_sentence(ln: EvidenceLine, ctx: _Context) -> str:
    """Return the line's plain sentence: built from its numbers, or its summary with names."""
    builder = _BUILDERS.get(ln.line)
    built = builder(ln, ctx) if builder is not None else None
    return built if built is not None else utc_text(named(ln.summary, ctx.names))


_ISO_UTC = re.compile(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(?::\d\d)?Z")


def utc_text(text: str) -> str:
    """Write ISO 8601 UTC instants for a reader ("2023-03-04 22:00 UTC")."""
    return _ISO_UTC.sub(r"\1 \2 UTC", text)


def _hypothesis(text: str, names: Mapping[str, str]) -> str:
    """Name the hypothesis' places (its roles are bare words there); a repeated name is "it"."""
    out = utc_text(named(text, names)).replace("the footage filmed ", "the footage was filmed ")
    out = out.replace(", between ", ", filmed between ")
    for key in sorted(names, key=len, reverse=True):
        out = re.sub(rf"(?<![\w'])\b{re.escape(key)}\b(?![\w'])", names[key], out)
    for name in set(names.values()):
        first = out.find(name)
        if first >= 0 and out.find(name, first + len(name)) >= 0:
            head, tail = out[: first + len(name)], out[first + len(name) :]
            out = head + tail.replace(name, "it")
    return out


# what describe_hypothesis says of an empty claims set (geoverify.evidence)
NO_HYPOTHESIS = "no hypothesis stated"


def describe(
    bottom: BottomLine,
    *,
    names: Mapping[str, str],
    cameras: Sequence[CameraPosition],
    matches: Sequence[MatchRecord],
    shows: Sequence[str] = (),
    features: Sequence[Mapping[str, Any]] = (),
) -> tuple[str, dict[str, str]]:
    """Return the two-sentence summary an editor can paste, and each line's plain sentence.

    ``names`` maps landmark ids and role names to the registry's names; ``shows`` are the ids
    the hypothesis says the footage shows (its role's candidates); ``features`` the landmarks
    on the map (``map_features``), which a far camera's distance is measured from.
    """
    ctx = _Context(names, cameras, matches, shows, features)
    sentences: dict[str, str] = {str(ln.line): line_sentence(ln, ctx) for ln in bottom.lines}
    if bottom.hypothesis == NO_HYPOTHESIS:  # a triage: what the file says and shows, no verdict
        return f"No hypothesis was stated. {_triage_sentence(ctx)}", sentences
    hyp = _hypothesis(bottom.hypothesis, names)
    comma = "," if "," in hyp else ""
    first = f"The claim that {hyp}{comma} is {_VERDICT_WORDS[bottom.verdict]}."
    # a file changed after it was signed (rule R0): its provenance is said first
    second = sentences["provenance"] if bottom.rule == "R0" else _second(bottom, sentences)
    return f"{first} {second}", sentences


def _of_frames(n: int, checked: int) -> str:
    """Say "3 of 4 frames match" or "1 of 1 frame matches" (the verb agrees with ``n``)."""
    noun = "frame" if checked == 1 else "frames"
    return f"{n} of {checked} {noun} {'matches' if n == 1 else 'match'}"


def _triage_sentence(ctx: _Context) -> str:
    """Say what a file with no hypothesis showed and where it says it was, by name."""
    frames = len({r.image_key for r in ctx.matches})
    seen: dict[str, int] = {}
    for r in ctx.matches:
        if r.verdict == "match" and r.landmark_id is not None:
            seen[r.landmark_id] = seen.get(r.landmark_id, 0) + 1
    unit = "frame" if frames == 1 else "frames"
    shown = [f"{ctx.names.get(k, k)} in {n} of {frames} {unit}" for k, n in seen.items()]
    out = f"It matched {', '.join(shown)}." if shown else "It matched no landmark."
    if ctx.cameras:
        cam = ctx.cameras[0]
        out += f" Its own position ({cam.source}): {cam.position.lat:.6f}, {cam.position.lon:.6f}."
    else:
        out += " It states no position."
    return out


def _second(bottom: BottomLine, sentences: Mapping[str, str]) -> str:
    """Return the sentence that says why: the deciding line(s), or what would decide it."""
    order = ("location", "visual", "time", "sun", "description", "specificity")
    ranked = sorted(
        (ln for ln in bottom.lines if ln.outcome.value in ("supports", "contradicts")),
        key=lambda ln: (ln.strength != "strong", order.index(ln.line) if ln.line in order else 9),
    )
    if bottom.verdict is BottomVerdict.CONFLICTING:
        sup = next((ln for ln in ranked if ln.outcome.value == "supports"), None)
        con = next((ln for ln in ranked if ln.outcome.value == "contradicts"), None)
        if sup is not None and con is not None:
            return f"{_clause(sentences[sup.line])}; but {_lower(sentences[con.line])}"
    want = {"contradicted": "contradicts", "supported": "supports"}.get(bottom.verdict.value)
    pick = next((ln for ln in ranked if ln.outcome.value == want), None)
    if pick is not None:
        return sentences[pick.line]
    if bottom.next_steps:
        step = bottom.next_steps[0].split(": ", 1)[-1]
        return f"No line of evidence decides it; what would: {_lower(step)}."
    return "No line of evidence decides it."


def _clause(sentence: str) -> str:
    return sentence.rstrip(".")


def _lower(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:] if sentence[1:2].islower() else sentence


def plain_numbers(numbers: Mapping[str, Any], names: Mapping[str, str]) -> list[tuple[str, str]]:
    """Return a line's raw numbers for a person: keys in words, units, durations, names.

    A record (a facing check, a line of text read) becomes one phrase, never a Python repr.
    """
    return [(_label(key), _value_text(key, value, names)) for key, value in numbers.items()]


def _label(key: str) -> str:
    for unit in ("_deg", "_m", "_s"):
        if key.endswith(unit):
            return key.removesuffix(unit).replace("_", " ")
    return key.replace("_", " ")


def _value_text(key: str, value: Any, names: Mapping[str, str]) -> str:
    """Return one raw value in words: its unit from the key, a name for an id."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    if isinstance(value, (int, float)):
        return _number_text(key, float(value)) or f"{value}"
    if isinstance(value, Mapping):
        return _record_text(value, names)
    if isinstance(value, (list, tuple)):
        parts = [_value_text(key, v, names) for v in value]
        sep = "; " if any(isinstance(v, Mapping) for v in value) else ", "
        return sep.join(parts) or "none"
    return _name(str(value), names) if isinstance(value, str) else f"{value}"


def _number_text(key: str, value: float) -> str | None:
    """Return a number with the unit its key names (metres, seconds, degrees), else ``None``."""
    if key.endswith("_m"):
        return fmt_distance(value)
    if key.endswith("_s"):
        return fmt_duration(value)
    if key.endswith("_deg"):
        return f"{value:g}°"
    return None


def _record_text(value: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """Return a record in words: a facing check, a position, or its fields one by one."""
    if "heading_deg" in value and "in_view" in value:
        return _facing_text(value, names)
    if set(value) == {"lat", "lon"}:
        return f"{float(value['lat']):.6f}, {float(value['lon']):.6f}"
    return "; ".join(f"{_label(k)} {_value_text(k, v, names)}" for k, v in value.items())


_IN_VIEW = {"yes": "in view", "no": "not in view", "undecided": "undecided"}


def _facing_text(rec: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """Say one facing check: "camera (EXIF GPS) faced 250° (true north, as written) ..."."""
    landmark = _name(str(rec.get("landmark", "")), names)
    half = float(rec["half_hfov_deg"])
    slack = float(rec.get("slack_deg") or 0.0)
    margin = float(rec["margin_deg"])
    return (
        f"{rec.get('camera', 'camera')} faced {float(rec['heading_deg']):g}° "
        f"({rec.get('reference', '')}, from {rec.get('heading_source', '')}); {landmark} lies at "
        f"{float(rec['bearing_deg']):g}°, {fmt_distance(float(rec['distance_m']))} away, "
        f"{float(rec['off_axis_deg']):g}° off the axis; half the field of view {half:g}° "
        f"({rec.get('hfov_source', '')}) plus {slack:g}° of uncertainty: "
        f"{_IN_VIEW.get(str(rec['in_view']), str(rec['in_view']))} "
        f"(margin {margin:+g}°)"
    )
