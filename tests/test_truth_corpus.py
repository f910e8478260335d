"""The truth corpus: every real geotagged file against hypotheses made from its own truth.

The truth is what other tools read from the files, never geoverify: ExifTool at test time for
the photographs (``-n``: signed decimal degrees), the team's recorded ExifTool and ffprobe
output for the videos (``tests/data/video_metadata/expected_metadata_tool_output.json``) and
ExifTool's dump of the GoPro GPS tracks (``*_gps_exiftool.csv``). From each file's truth the
corpus makes hypotheses and states what the evidence must say:

- the true place (within 100 m, plus the spread of a track) and the true time window: never
  ``contradicts``; the location line ``supports``;
- the place moved by 1, 10, 100, 1,000 and 10,000 km in three directions: ``contradicts``,
  never ``supports`` (every move exceeds the claimed 100 m plus any stated accuracy);
- the window moved by a day, a month and a year, both ways: ``contradicts``, never
  ``supports`` (a time without a zone is at most 14 h off, less than the smallest move);
- shows the landmark of a ground-truth image pair: the visual line ``supports``; a landmark
  whose reference is another place: never ``supports``; and every number in report.json is
  finite.

The place and time cases run the stage functions ``verify`` composes (``probe`` once per
file, then ``check_claims`` and ``weigh_evidence`` per hypothesis); the visual cases run
``verify`` itself. Each failure names its case.
"""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pyproj import Geod

import geoverify
from geoverify.claims import check_claims, claims_from_data
from geoverify.evidence import Outcome, camera_positions, weigh_evidence
from geoverify.registry import load_registry

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "tests" / "data" / "photos"
VIDEOS = ROOT / "tests" / "data" / "video_metadata"
IMAGES = ROOT / "tests" / "data" / "image_matching"
GEOD = Geod(ellps="WGS84")

CLAIMED_WITHIN_M = 100.0
MOVES_KM = (1, 10, 100, 1_000, 10_000)
BEARINGS_DEG = (0.0, 135.0, 250.0)
SHIFTS = (timedelta(days=1), timedelta(days=30), timedelta(days=365))
UNKNOWN_ZONE = timedelta(hours=14)  # the widest UTC offset in use


@dataclass(frozen=True)
class Truth:
    """Where and when a file was made, as a tool other than geoverify reads it."""

    name: str
    path: Path
    fixes: tuple[tuple[float, float], ...]  # (lat, lon) degrees
    utc: datetime | None  # a time with its zone (GPS clock, QuickTime UTC)
    local: datetime | None = None  # a wall-clock time with no zone (EXIF DateTimeOriginal)
    gps_time_of_day: bool = False  # a GPS time of day, which fixes the zone of ``local``


def _exiftool_photos() -> list[Truth]:
    files = sorted([*PHOTOS.glob("*.jpg"), *PHOTOS.glob("*.heic")])
    files += sorted((ROOT / "samples" / "berlin" / "photos").glob("*.jpg"))
    tags = ["-Composite:GPSLatitude", "-Composite:GPSLongitude", "-Composite:GPSDateTime",
            "-EXIF:DateTimeOriginal", "-EXIF:GPSTimeStamp"]  # fmt: skip
    out = subprocess.run(
        ["exiftool", "-n", "-j", "-G", *tags, *map(str, files)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    truths = []
    for doc in json.loads(out):
        lat, lon = doc.get("Composite:GPSLatitude"), doc.get("Composite:GPSLongitude")
        if not isinstance(lat, float | int) or not isinstance(lon, float | int):
            continue
        if lat == 0 and lon == 0:
            continue  # null island: no position
        gps_time = doc.get("Composite:GPSDateTime")
        utc = None
        if isinstance(gps_time, str):
            try:
                utc = datetime.strptime(gps_time.rstrip("Z")[:19], "%Y:%m:%d %H:%M:%S")
                utc = utc.replace(tzinfo=UTC)
            except ValueError:
                utc = None  # a malformed GPS date (2014:09:259): no time from the GPS clock
        local = None
        original = doc.get("EXIF:DateTimeOriginal")
        if isinstance(original, str) and re.match(r"\d{4}:\d\d:\d\d \d\d:\d\d:\d\d", original):
            local = datetime.strptime(original[:19], "%Y:%m:%d %H:%M:%S")
        path = Path(doc["SourceFile"])
        tod = isinstance(doc.get("EXIF:GPSTimeStamp"), str | float | int)
        truths.append(Truth(path.name, path, ((float(lat), float(lon)),), utc, local, tod))
    return truths


def _recorded_videos() -> list[Truth]:
    recorded = json.loads((VIDEOS / "expected_metadata_tool_output.json").read_text())["files"]
    truths = []
    for name, doc in sorted(recorded.items()):
        path = VIDEOS / name
        if not path.is_file():
            continue
        tool = doc.get("exiftool", {})
        coords = next(
            (v for k, v in tool.items() if k.endswith("GPSCoordinates") and isinstance(v, str)),
            None,
        )
        track = VIDEOS / f"{path.stem}_gps_exiftool.csv"
        if name == "karma.mp4" or track.is_file():
            continue  # the GoPro tracks come from their CSV below
        if coords is None:
            continue
        lat, lon = (float(x) for x in re.findall(r"[-+]?\d+(?:\.\d+)?", coords)[:2])
        created = tool.get("QuickTime:CreateDate")
        utc = (
            datetime.strptime(created, "%Y:%m:%d %H:%M:%S").replace(tzinfo=UTC)
            if isinstance(created, str)
            else None
        )  # QuickTime's CreateDate is UTC by the format's definition
        truths.append(Truth(name, path, ((lat, lon),), utc))
    for csv_path, video in (
        (VIDEOS / "karma_gps_exiftool.csv", ROOT / "samples" / "karma" / "karma.mp4"),
        (VIDEOS / "max-heromode_gps_exiftool.csv", VIDEOS / "max-heromode.mp4"),
    ):
        with csv_path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        fixes = tuple((float(r["lat"]), float(r["lon"])) for r in rows)
        first = datetime.strptime(rows[0]["gps_datetime_utc"][:19], "%Y:%m:%d %H:%M:%S")
        truths.append(Truth(video.name, video, fixes, first.replace(tzinfo=UTC)))
    return truths


@pytest.fixture(scope="module")
def corpus() -> list[tuple[Truth, Any]]:
    if shutil.which("exiftool") is None:
        pytest.skip("ExifTool (libimage-exiftool-perl; make test installs it) is the oracle")
    truths = _exiftool_photos() + _recorded_videos()
    assert len(truths) >= 12, [t.name for t in truths]
    return [(t, geoverify.probe(t.path)) for t in truths]


@pytest.fixture(scope="module")
def empty_registry(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("reg") / "registry.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    return load_registry(path)


def _centre(fixes: tuple[tuple[float, float], ...]) -> tuple[float, float, float]:
    """The first fix, and how far the others lie from it (m), by pyproj's geodesic."""
    lat0, lon0 = fixes[0]
    spread = max(GEOD.inv(lon0, lat0, lon, lat)[2] for lat, lon in fixes)
    return lat0, lon0, spread


def _window(t: Truth, shift: timedelta = timedelta(0)) -> tuple[str, str] | None:
    if t.utc is not None:
        lo, hi = t.utc - timedelta(hours=1), t.utc + timedelta(hours=1)
    elif t.local is not None:  # the true UTC lies within 14 h of the wall-clock time
        base = t.local.replace(tzinfo=UTC)
        lo, hi = base - UNKNOWN_ZONE - timedelta(hours=1), base + UNKNOWN_ZONE + timedelta(hours=1)
    else:
        return None
    if shift:  # a window as a newsroom states it: an hour either side of the moved time
        moved = (t.utc or t.local.replace(tzinfo=UTC)) + shift  # type: ignore[union-attr]
        lo, hi = moved - timedelta(hours=1), moved + timedelta(hours=1)
    return lo.isoformat(), hi.isoformat()


def _lines(media: Any, registry: Any, footage: dict[str, Any]) -> dict[str, Any]:
    claims = claims_from_data({"claims_version": 2, "footage": footage, "claims": []})
    checks = check_claims(registry, claims, camera=camera_positions(media))
    bottom = weigh_evidence(
        hypothesis=claims.footage, registry=registry, claims=claims, checks=checks, media=media
    )
    return {ln.line: ln for ln in bottom.lines}


def _place_cases(t: Truth) -> Iterator[tuple[str, dict[str, Any], bool]]:
    lat, lon, spread = _centre(t.fixes)
    within = CLAIMED_WITHIN_M + spread
    yield "true place", {"lat": lat, "lon": lon, "within_m": within}, True
    for km in MOVES_KM:
        for bearing in BEARINGS_DEG:
            lon2, lat2, _ = GEOD.fwd(lon, lat, bearing, km * 1000.0)
            yield (
                f"moved {km} km at {bearing:g} deg",
                {"lat": lat2, "lon": lon2, "within_m": within},
                False,
            )


def test_the_place_a_file_was_made_is_never_contradicted_and_a_moved_one_always_is(
    corpus: list[tuple[Truth, Any]], empty_registry: Any
) -> None:
    failures = []
    n = 0
    for truth, media in corpus:
        for case, place, true in _place_cases(truth):
            n += 1
            line = _lines(media, empty_registry, {"filmed_at": place})["location"]
            got = f"{line.outcome.value} ({line.strength}): {line.summary}"
            if true and line.outcome is not Outcome.SUPPORTS:
                failures.append(f"{truth.name}, {case}: want supports, got {got}")
            if not true and line.outcome is not Outcome.CONTRADICTS:
                failures.append(f"{truth.name}, {case}: want contradicts, got {got}")
    assert n >= 12 * 16
    assert not failures, "\n".join(failures)


def test_the_time_a_file_was_made_is_never_contradicted_and_a_moved_one_always_is(
    corpus: list[tuple[Truth, Any]], empty_registry: Any
) -> None:
    failures = []
    n = 0
    for truth, media in corpus:
        if _window(truth) is None:
            continue
        cases = [("true window", timedelta(0))]
        cases += [(f"moved {sign}{s.days} d", sign_s * s) for s in SHIFTS
                  for sign, sign_s in (("+", 1), ("-", -1))]  # fmt: skip
        for case, shift in cases:
            n += 1
            line = _lines(media, empty_registry, {"filmed_between": list(_window(truth, shift))})[
                "time"
            ]
            got = f"{line.outcome.value} ({line.strength}): {line.summary}"
            if not shift and line.outcome is Outcome.CONTRADICTS:
                failures.append(f"{truth.name}, {case}: contradicted: {got}")
            if shift and line.outcome is not Outcome.CONTRADICTS:
                failures.append(f"{truth.name}, {case}: want contradicts, got {got}")
    assert n >= 10 * 7
    assert not failures, "\n".join(failures)


def test_a_time_without_a_zone_read_as_stated_is_weak_support_not_no_evidence(
    corpus: list[tuple[Truth, Any]], empty_registry: Any
) -> None:
    """A file with only a wall-clock time (no zone, no GPS clock) read as written: weak support."""
    failures = []
    cases = [
        (t, m) for t, m in corpus if t.local is not None and t.utc is None and not t.gps_time_of_day
    ]
    assert cases
    for truth, media in cases:
        stated = truth.local.replace(tzinfo=UTC)  # type: ignore[union-attr]
        window = [
            (stated - timedelta(hours=1)).isoformat(),
            (stated + timedelta(hours=1)).isoformat(),
        ]
        line = _lines(media, empty_registry, {"filmed_between": window})["time"]
        if line.outcome is not Outcome.SUPPORTS:
            failures.append(f"{truth.name}: {line.outcome.value} ({line.strength}): {line.summary}")
    assert not failures, "\n".join(failures)


def test_a_camera_far_from_every_landmark_contradicts_a_place_with_no_position(
    corpus: list[tuple[Truth, Any]],
) -> None:
    """The seed case: the T-34 monument has no sourced position, but every landmark of the case
    is in Bakhmut; footage whose GPS is thousands of km away cannot have been filmed there."""
    registry = load_registry(ROOT / "samples" / "bakhmut" / "registry.geojson")
    positioned = [lm for lm in registry.landmarks if lm.geometry is not None]
    unplaced = next(lm for lm in registry.landmarks if lm.geometry is None)
    failures = []
    decided = 0
    for truth, media in corpus:
        lat, lon, _ = _centre(truth.fixes)
        nearest_m = min(
            GEOD.inv(lon, lat, lm.geometry.representative_point().x,
                     lm.geometry.representative_point().y)[2]
            for lm in positioned
        )  # fmt: skip
        if nearest_m < 1_000_000:
            continue  # only the cases the bound decides beyond doubt
        decided += 1
        line = _lines(media, registry, {"filmed_at": {"role": unplaced.id, "within_m": 300}})[
            "location"
        ]
        if line.outcome is not Outcome.CONTRADICTS:
            failures.append(
                f"{truth.name} ({nearest_m / 1000:,.0f} km from every landmark): "
                f"{line.outcome.value}: {line.summary}"
            )
    assert decided >= 10, decided  # every file of the corpus is over 1,000 km from Bakhmut
    assert not failures, "\n".join(failures)


# --- the visual line, end to end -----------------------------------------------------------------


def _registry_with(folder: Path, landmarks: dict[str, Path]) -> Path:
    """A registry of point landmarks at (0.5, 0.5)-spaced places, each with one reference."""
    import hashlib

    folder.mkdir(parents=True, exist_ok=True)
    features = []
    for i, (lid, image) in enumerate(landmarks.items()):
        shutil.copy(image, folder / image.name)
        sha = hashlib.sha256(image.read_bytes()).hexdigest()
        features.append(
            {
                "type": "Feature",
                "id": lid,
                "geometry": {"type": "Point", "coordinates": [10.0 + i / 2, 50.0]},
                "properties": {
                    "name": lid,
                    "reference_images": [{"path": image.name, "sha256": sha}],
                },
            }
        )
    path = folder / "registry.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _claims(folder: Path, shows: str) -> Path:
    path = folder / "claims.yaml"
    path.write_text(f"claims_version: 2\nfootage:\n  shows: {shows}\nclaims: []\n")
    return path


def _finite(value: Any, where: str = "") -> Iterator[str]:
    if isinstance(value, float) and not math.isfinite(value):
        yield where
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _finite(v, f"{where}/{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _finite(v, f"{where}/{i}")


VISUAL_CASES = [
    # footage, the landmark it shows (its reference), another landmark, want for shown
    ("box_in_scene.png", {"box": "box.png", "graffiti": "graf1.png"}, "box", Outcome.SUPPORTS),
    ("box_in_scene.png", {"box": "box.png", "graffiti": "graf1.png"}, "graffiti", None),
    ("graf3.png", {"graffiti": "graf1.png", "box": "box.png"}, "box", None),
    # the reference is (a re-encoding of) a bundled negative control: still a match (item 1)
    ("leuvenB.jpg", {"leuven": "leuvenA.jpg", "box": "box.png"}, "leuven", Outcome.SUPPORTS),
]


@pytest.mark.slow
@pytest.mark.parametrize(("footage", "refs", "shows", "want"), VISUAL_CASES)
def test_the_visual_line_follows_the_ground_truth_pairs(
    tmp_path: Path, footage: str, refs: dict[str, str], shows: str, want: Outcome | None
) -> None:
    reg = _registry_with(tmp_path / "case", {k: IMAGES / v for k, v in refs.items()})
    claims = _claims(tmp_path / "case", shows)
    clip = tmp_path / footage
    shutil.copy(IMAGES / footage, clip)
    result = geoverify.verify(clip, registry=reg, claims=claims)
    visual = next(ln for ln in result.report.bottom_line.lines if ln.line == "visual")
    case = f"{footage} said to show {shows}: {visual.outcome.value}: {visual.summary}"
    if want is None:  # another place's reference: no match (never support, never a verdict
        # against a place the registry does not locate)
        assert visual.outcome in (Outcome.NO_EVIDENCE, Outcome.CONTRADICTS), case
    else:
        assert visual.outcome is want, case
    geoverify.save_verification(result, tmp_path / "out")
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert list(_finite(report)) == [], case
