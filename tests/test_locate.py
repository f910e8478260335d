"""Where was the camera? Resection tested against truth geoverify did not compute.

- The Berlin photographs (OpenSfM, BSD-2): ten surveyed WGS84 points with their pixels in each
  photo (samples/berlin/photos/berlin_gcp_list.txt) and each phone's own EXIF GPS fix; the
  distances are GeographicLib's.
- Generated street scenes (a known camera, landmarks 100-500 m away with map error, pixel
  noise): the stated 90 % region must hold the true camera about nine times in ten.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT
from geographiclib.geodesic import Geodesic
from PIL import Image
from shapely.geometry import Point

from geoverify.errors import InputError
from geoverify.models import LatLon
from geoverify.resection import LocateOptions, MarkedPoint, locate, read_points
from geoverify.resection._frame import LocalFrame
from geoverify.resection._solve import Problem, alternative, solve
from geoverify.resection._uncertainty import monte_carlo

BERLIN = ROOT / "samples" / "berlin" / "photos"
GCP = BERLIN / "berlin_gcp_list.txt"
# the phones' own EXIF GPS (exiftool -n), samples/berlin/PROVENANCE.md
EXIF_GPS = {
    "01": (52.5189166666667, 13.4002944444444),
    "02": (52.518925, 13.4003888888889),
    "03": (52.5190472222222, 13.4004472222222),
}
WGS84 = Geodesic.WGS84
FAST = LocateOptions(samples=60)


def _gcp_rows(shot: str) -> list[tuple[float, float, float, float, float]]:
    """(lat, lon, alt_m, x_px, y_px) of every surveyed point the photo sees."""
    rows = []
    for line in GCP.read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) == 6 and parts[5] == f"{shot}.jpg":
            lon, lat, alt, x, y = map(float, parts[:5])
            rows.append((lat, lon, alt, x, y))
    return rows


def _points_csv(folder: Path, shot: str, *, heights: bool = True) -> Path:
    path = folder / f"points_{shot}.csv"
    lines = ["x_px,y_px,lat,lon" + (",alt_m" if heights else "")]
    for lat, lon, alt, x, y in _gcp_rows(shot):
        lines.append(f"{x},{y},{lat},{lon}" + (f",{alt}" if heights else ""))
    path.write_text("\n".join(lines) + "\n")
    return path


def _metres(a: LatLon, lat: float, lon: float) -> float:
    return float(WGS84.Inverse(a.lat, a.lon, lat, lon)["s12"])


def _turn(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


# --- the Berlin photos --------------------------------------------------------------------------


@pytest.mark.parametrize("shot", ["01", "02", "03"])
def test_each_berlin_photo_is_placed_within_5_m_of_its_own_gps(tmp_path, shot):
    fix = locate(BERLIN / f"berlin_{shot}.jpg", _points_csv(tmp_path, shot), options=FAST)
    assert fix.mode == "3d"
    assert fix.focal.source.startswith("EXIF FocalLengthIn35mmFilm 35")
    assert _metres(fix.camera, *EXIF_GPS[shot]) < 5.0  # measured 1.4-3.4 m
    assert fix.rms_px < 2.0  # the surveyed points fit at 0.6-1.8 px
    assert not fix.ambiguous
    assert not any(p.outlier for p in fix.points)
    # each point's distance is the geodesic from the stated camera (GeographicLib, 1 cm)
    for p in fix.points:
        assert p.distance_m == pytest.approx(
            _metres(fix.camera, p.position.lat, p.position.lon), abs=0.01
        )


def test_the_three_berlin_photos_face_the_same_way(tmp_path):
    # the three were taken from a few metres apart towards the cathedral: headings 33-36 deg
    headings = [
        locate(BERLIN / f"berlin_{s}.jpg", _points_csv(tmp_path, s), options=FAST).heading_deg
        for s in ("01", "02", "03")
    ]
    assert max(_turn(a, b) for a, b in itertools.combinations(headings, 2)) < 5.0
    # the issue's own PnP of these points (OpenCV, PoseLib and pycolmap agreeing) gave 33-36 deg
    assert all(32.0 <= h <= 37.0 for h in headings)


@pytest.mark.parametrize("shot", ["01", "02", "03"])
def test_the_2d_mode_needs_no_heights_and_lands_within_10_m(tmp_path, shot):
    fix = locate(
        BERLIN / f"berlin_{shot}.jpg", _points_csv(tmp_path, shot, heights=False), options=FAST
    )
    assert fix.mode == "2d"
    assert fix.alt_m is None
    assert fix.pitch_deg is None
    assert _metres(fix.camera, *EXIF_GPS[shot]) < 10.0  # measured 3.1-3.9 m
    assert any("level" in n for n in fix.notes)


def _problem(shot: str, idx: list[int] | None = None) -> tuple[Problem, LocalFrame]:
    rows = np.array(_gcp_rows(shot))
    if idx is not None:
        rows = rows[idx]
    frame = LocalFrame(LatLon(52.519, 13.4005))
    enu = frame.to_enu(rows[:, 0], rows[:, 1], rows[:, 2])
    problem = Problem(
        enu=enu,
        px=rows[:, 3:5].copy(),
        width_px=3264,
        height_px=2448,
        focal_px=35.0 / 36.0 * 3264,
        mode="3d",
    )
    return problem, frame


@pytest.mark.parametrize("shot", ["01", "02", "03"])
def test_every_five_point_subset_agrees_within_5_m(shot):
    full, _ = _problem(shot)
    best = solve(full)[0].position
    n = len(full.enu)
    worst = 0.0
    for subset in itertools.combinations(range(n), 5):
        poses = solve(_problem(shot, list(subset))[0])
        worst = max(worst, float(np.linalg.norm(poses[0].position[:2] - best[:2])))
    assert worst < 5.0


@pytest.mark.parametrize("shot", ["01", "02"])
def test_a_four_point_subset_far_from_the_answer_is_flagged_ambiguous(shot):
    full, _ = _problem(shot)
    best = solve(full)[0].position
    far = flagged = 0
    for subset in itertools.combinations(range(len(full.enu)), 4):
        poses = solve(_problem(shot, list(subset))[0])
        if not poses:
            continue
        if float(np.linalg.norm(poses[0].position[:2] - best[:2])) > 20.0:
            far += 1
            flagged += alternative(poses, 2.0) is not None
    assert flagged == far  # every far one is flagged (every seed of P3P is searched)
    # and the flag works: three points give P3P's exact twin solutions (0 px both), reported
    for subset in ([0, 1, 2], [0, 3, 6], [1, 4, 8]):
        poses = solve(_problem(shot, subset)[0])
        assert len(poses) >= 2
        assert alternative(poses, 2.0) is not None


def test_three_points_in_3d_are_refused_and_allowed_in_2d(tmp_path):
    rows = _gcp_rows("01")[:3]
    pts = [
        MarkedPoint(
            row=i, x_px=x, y_px=y, landmark=None, position=LatLon(lat, lon), alt_m=alt, sigma_m=None
        )
        for i, (lat, lon, alt, x, y) in enumerate(rows)
    ]
    with pytest.raises(InputError) as err:
        locate(BERLIN / "berlin_01.jpg", pts, mode="3d", options=FAST)
    assert err.value.code == "E_POINTS_TOO_FEW"
    fix = locate(BERLIN / "berlin_01.jpg", pts, mode="2d", options=FAST)
    assert fix.mode == "2d"  # three horizontal angles: an exact resection
    assert _metres(fix.camera, *EXIF_GPS["01"]) < 25.0  # measured 16.0 m with three points


def test_landmark_ids_resolve_through_the_registry(tmp_path):
    # The same points as registry landmarks (ids, 0.5 m survey uncertainty): the same camera
    rows = _gcp_rows("02")
    features = [
        {
            "type": "Feature",
            "id": f"gcp{i}",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"name": f"surveyed point {i}", "uncertainty_m": 0.5},
        }
        for i, (lat, lon, _a, _x, _y) in enumerate(rows)
    ]
    registry = tmp_path / "registry.geojson"
    registry.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    points = tmp_path / "points.json"
    points.write_text(
        json.dumps(
            {
                "points": [
                    {"x_px": x, "y_px": y, "landmark": f"gcp{i}", "alt_m": alt}
                    for i, (_lat, _lon, alt, x, y) in enumerate(rows)
                ]
            }
        )
    )
    by_id = locate(BERLIN / "berlin_02.jpg", points, registry=registry, options=FAST)
    by_position = locate(BERLIN / "berlin_02.jpg", _points_csv(tmp_path, "02"), options=FAST)
    assert _metres(by_id.camera, by_position.camera.lat, by_position.camera.lon) < 0.01
    assert {p.sigma_source for p in by_id.points} == {"registry uncertainty_m"}
    # a tighter map gives a tighter region
    assert by_id.uncertainty.radius_m_90 < by_position.uncertainty.radius_m_90


def test_without_exif_the_focal_length_is_fitted_and_flagged_weak(tmp_path):
    # the photo re-saved as PNG (no EXIF): ten points fit the focal length themselves
    png = tmp_path / "berlin_01.png"
    with Image.open(BERLIN / "berlin_01.jpg") as im:
        im.save(png)
    fix = locate(png, _points_csv(tmp_path, "01"), options=FAST)
    assert fix.focal.estimated
    assert fix.focal.value_px == pytest.approx(35.0 / 36.0 * 3264, rel=0.10)
    assert any("weak" in n for n in fix.notes)
    assert _metres(fix.camera, *EXIF_GPS["01"]) < 10.0
    # five points are not enough to fit it
    five = tmp_path / "five.csv"
    five.write_text("\n".join(_points_csv(tmp_path, "01").read_text().splitlines()[:6]) + "\n")
    with pytest.raises(InputError) as err:
        locate(png, five, options=FAST)
    assert err.value.code == "E_FOCAL_UNKNOWN"
    assert "--focal-35mm" in err.value.hint


def test_the_json_record_has_the_documented_keys(tmp_path):
    fix = locate(BERLIN / "berlin_03.jpg", _points_csv(tmp_path, "03"), options=FAST)
    record = json.loads(json.dumps(fix.to_dict()))
    assert set(record["camera"]) == {"lat", "lon", "alt_m"}
    assert record["mode"] == "3d"
    assert record["uncertainty"]["region_90"]["type"] == "Polygon"
    assert record["uncertainty"]["radius_m_50"] <= record["uncertainty"]["radius_m_90"]
    assert record["focal"]["value_px"] == pytest.approx(
        35.0 / 36.0 * 3264, abs=1e-6
    )  # EXIF, long side
    assert {"residual_px", "outlier"} <= set(record["points"][0])
    # the region is around the stated camera
    region = fix.uncertainty.region_90
    assert region.contains(Point(fix.camera.lon, fix.camera.lat))


# --- generated street scenes: is the stated uncertainty true? -----------------------------------


def _scene(rng: np.random.Generator, n: int, sigma_m: float, sigma_px: float) -> tuple:
    """A near-level camera at the origin, n landmarks 100-500 m away in view, noisy map, clicks."""
    width, height, hfov = 1920, 1080, 60.0
    f = width / 2 / math.tan(math.radians(hfov) / 2)
    heading = rng.uniform(0, 2 * math.pi)
    pitch = math.radians(rng.uniform(-3, 3))
    camera = np.array([0.0, 0.0, 1.6])
    forward = np.array(
        [math.sin(heading) * math.cos(pitch), math.cos(heading) * math.cos(pitch), math.sin(pitch)]
    )
    right = np.array([math.cos(heading), -math.sin(heading), 0.0])
    rot = np.vstack([right, np.cross(forward, right), forward])
    world, pixels = [], []
    while len(world) < n:
        d, a = rng.uniform(100, 500), rng.uniform(-0.45, 0.45) * math.radians(hfov)
        p = np.array([d * math.sin(heading + a), d * math.cos(heading + a), rng.uniform(0, 40)])
        c = rot @ (p - camera)
        x, y = width / 2 + f * c[0] / c[2], height / 2 + f * c[1] / c[2]
        if c[2] > 0 and 0 <= x <= width and 0 <= y <= height:
            world.append(p)
            pixels.append((x, y))
    noisy = np.array(world) + rng.normal(scale=sigma_m, size=(n, 3))
    clicks = np.array(pixels) + rng.normal(scale=sigma_px, size=(n, 2))
    return Problem(
        enu=noisy, px=clicks, width_px=width, height_px=height, focal_px=f, mode="3d"
    ), math.degrees(heading)


def test_the_90_percent_region_holds_the_true_camera_nine_times_in_ten():
    rng = np.random.default_rng(20261208)
    frame = LocalFrame(LatLon(48.5947, 38.0008))  # anywhere: the scene is local
    truth = frame.latlon(0.0, 0.0)
    inside, errors_m, turns = 0, [], []
    scenes = 200
    for i in range(scenes):
        problem, heading = _scene(rng, 6, sigma_m=3.0, sigma_px=2.0)
        best = solve(problem)[0]
        u = monte_carlo(
            problem, best, sigma_m=np.full(6, 3.0), sigma_px=2.0, frame=frame, samples=100, seed=i
        )
        inside += u.region_90.contains(Point(truth.lon, truth.lat))
        errors_m.append(float(np.linalg.norm(best.position[:2])))
        turns.append(_turn(best.heading_deg, heading))
    assert 0.85 <= inside / scenes <= 0.95
    assert float(np.median(errors_m)) <= 8.0  # measured 6.7 m
    assert float(np.median(turns)) <= 1.0  # measured 0.66 deg


# --- bad input: one line, a stable code, nothing else ---------------------------------------------


def _write(tmp_path: Path, text: str, name: str = "p.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("x_px,y_px,lat,lon\n10,10,52.5,nan\n", "E_INPUT_NAN"),
        ("x_px,y_px,lat,lon\n10,10,52.5\n", "E_POINTS_INVALID"),
        ("x_px,y_px\n10,10\n", "E_POINTS_INVALID"),
        ("a,b\n1,2\n", "E_POINTS_INVALID"),
        ('{"points": [{"x_px": 1}]}', "E_POINTS_INVALID"),
        ("x_px,y_px,lat,lon,sigma_m\n10,10,52.5,13.4,-1\n", "E_POINTS_INVALID"),
        ("x_px,y_px,lat,lon,colour\n10,10,52.5,13.4,red\n", "E_POINTS_INVALID"),
    ],
)
def test_a_bad_points_file_is_refused_with_its_code(tmp_path, text, code):
    with pytest.raises(InputError) as err:
        read_points(_write(tmp_path, text))
    assert err.value.code == code
    assert "\n" not in err.value.message


def test_bad_points_are_refused_before_any_solve(tmp_path):
    photo = BERLIN / "berlin_01.jpg"
    rows = _gcp_rows("01")

    def refused(points: list[MarkedPoint], **kw: object) -> str:
        with pytest.raises(InputError) as err:
            locate(photo, points, options=FAST, **kw)  # type: ignore[arg-type]
        return err.value.code

    def mark(lat: float, lon: float, alt: float, x: float, y: float, i: int = 0) -> MarkedPoint:
        return MarkedPoint(
            row=i, x_px=x, y_px=y, landmark=None, position=LatLon(lat, lon), alt_m=alt, sigma_m=None
        )

    good = [mark(*r, i) for i, r in enumerate(rows)]
    outside = [*good[:-1], mark(*rows[-1][:3], 4000.0, 10.0)]
    assert refused(outside) == "E_POINTS_OUTSIDE_FRAME"
    one_spot = [mark(*rows[0][:3], 100.0 + i, 100.0, i) for i in range(5)]
    assert refused(one_spot) == "E_POINTS_DEGENERATE"
    same_pixel = [mark(*r[:3], 1000.0, 1000.0, i) for i, r in enumerate(rows)]
    assert refused(same_pixel) == "E_POINTS_DEGENERATE"
    assert refused(good, focal_35mm=35.0, hfov_deg=50.0) == "E_INPUT_OPTION"
    assert refused(good, mode="4d") == "E_INPUT_OPTION"
    no_height = [dataclass_replace(p, alt_m=None) for p in good]
    assert refused(no_height, mode="3d") == "E_POINTS_NO_HEIGHT"


def dataclass_replace(p: MarkedPoint, **changes: object) -> MarkedPoint:
    import dataclasses

    return dataclasses.replace(p, **changes)  # type: ignore[arg-type]


def test_landmark_problems_name_the_point(tmp_path):
    registry = tmp_path / "registry.geojson"
    registry.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "id": "dom",
                        "geometry": None,
                        "properties": {"name": "Dom"},
                    },
                ],
            }
        )
    )
    photo = BERLIN / "berlin_01.jpg"
    unknown = _write(tmp_path, "x_px,y_px,landmark\n10,10,museum\n")
    unplaced = _write(tmp_path, "x_px,y_px,landmark\n10,10,dom\n", "q.csv")
    for path, code in ((unknown, "E_POINTS_UNKNOWN_LANDMARK"), (unplaced, "E_POINTS_NO_POSITION")):
        with pytest.raises(InputError) as err:
            locate(photo, path, registry=registry, options=FAST)
        assert err.value.code == code
        assert "point 1" in err.value.message
    with pytest.raises(InputError) as err:
        locate(photo, unknown, options=FAST)
    assert err.value.code == "E_POINTS_NO_REGISTRY"


def test_a_video_is_refused_with_a_hint_to_save_a_frame(tmp_path):
    clip = tmp_path / "clip.mp4"
    shutil.copy(ROOT / "samples" / "karma" / "karma.mp4", clip)
    with pytest.raises(InputError) as err:
        locate(clip, _points_csv(tmp_path, "01"), options=FAST)
    assert err.value.code == "E_LOCATE_NOT_STILL"
    assert "geoverify frames" in err.value.hint


# --- as evidence: verify weighs the resected camera -----------------------------------------------


def _without_gps(src: Path, out: Path) -> Path:
    """The photo re-encoded with its EXIF but without the GPS block (its focal length kept)."""
    with Image.open(src) as im:
        exif = im.getexif()
        del exif[0x8825]  # GPSInfo
        im.save(out, exif=exif, quality=92)
    return out


def _claims(folder: Path, lat: float, lon: float, within_m: float) -> Path:
    path = folder / f"claims_{within_m:g}.yaml"
    path.write_text(
        "claims_version: 2\nfootage:\n"
        f"  filmed_at: {{lat: {lat}, lon: {lon}, within_m: {within_m}}}\nclaims: []\n"
    )
    return path


def test_verify_weighs_the_camera_resected_from_marked_points(tmp_path):
    from geographiclib.geodesic import Geodesic

    from geoverify.evidence import Outcome
    from geoverify.frames import FrameOptions
    from geoverify.matching import MatchOptions
    from geoverify.pipeline import VerifyOptions, save_verification, verify
    from geoverify.resection import CameraPoints

    photo = _without_gps(BERLIN / "berlin_01.jpg", tmp_path / "no_gps.jpg")
    points = _points_csv(tmp_path, "01")
    registry = ROOT / "samples" / "berlin" / "registry.geojson"
    options = VerifyOptions(
        frames=FrameOptions(best=1), matching=MatchOptions(affine="off"), text=None
    )
    lat, lon = EXIF_GPS["01"]  # where the phone said it was, a truth locate never saw here
    near = _claims(tmp_path, lat, lon, 50.0)

    def location(claims: Path, marked: CameraPoints | None) -> object:
        result = verify(
            photo, registry=registry, claims=claims, options=options, camera_points=marked
        )
        return result, next(ln for ln in result.report.bottom_line.lines if ln.line == "location")

    _, blind = location(near, None)
    assert blind.outcome is not Outcome.SUPPORTS  # no GPS in the file: nothing to place it
    result, line = location(near, CameraPoints(points=points))
    assert line.outcome is Outcome.SUPPORTS
    assert line.strength == "strong"  # 2.9 m off plus a 90 % radius of about 22 m < 50 m
    assert result.report.resection is not None
    assert result.report.resection["mode"] == "3d"
    assert any(c.source.startswith("resection") for c in result.report.cameras)
    # moved 2 km north: the resected camera contradicts it
    moved = WGS84.Direct(lat, lon, 0.0, 2000.0)
    _, far = location(
        _claims(tmp_path, moved["lat2"], moved["lon2"], 50.0), CameraPoints(points=points)
    )
    assert far.outcome is Outcome.CONTRADICTS
    # report.json carries the resection, valid against the published schema
    out = save_verification(result, tmp_path / "report")
    report = json.loads((Path(out["out_dir"]) / "report.json").read_text())
    assert report["schema_version"] == "2.5"
    import jsonschema

    schema = json.loads((ROOT / "geoverify" / "schemas" / "report.schema.json").read_text())
    jsonschema.validate(report, schema)
    assert (
        Geodesic.WGS84.Inverse(
            lat, lon, report["resection"]["camera"]["lat"], report["resection"]["camera"]["lon"]
        )["s12"]
        < 5.0
    )


def test_points_on_a_video_need_the_frame_they_were_marked_on(tmp_path):
    from geoverify.pipeline import verify
    from geoverify.resection import CameraPoints

    decoded = []
    with pytest.raises(InputError) as err:
        verify(
            ROOT / "samples" / "karma" / "karma.mp4",
            progress=lambda *args: decoded.append(args),
            registry=ROOT / "samples" / "berlin" / "registry.geojson",
            claims=_claims(tmp_path, 52.5, 13.4, 100.0),
            camera_points=CameraPoints(points=_points_csv(tmp_path, "01")),
        )
    assert err.value.code == "E_LOCATE_NOT_STILL"
    assert "--points-frame" in err.value.hint
    assert decoded == []  # refused before any decoding
    # a frame of another size than the video's is said so in the record
    from geoverify.frames import FrameOptions
    from geoverify.matching import MatchOptions
    from geoverify.pipeline import VerifyOptions

    result = verify(
        ROOT / "samples" / "karma" / "karma.mp4",
        registry=ROOT / "samples" / "berlin" / "registry.geojson",
        claims=_claims(tmp_path, 52.5, 13.4, 100.0),
        options=VerifyOptions(
            frames=FrameOptions(best=1), matching=MatchOptions(affine="off"), text=None
        ),
        camera_points=CameraPoints(
            points=_points_csv(tmp_path, "01"), image=BERLIN / "berlin_01.jpg"
        ),
    )
    assert result.report.resection is not None
    check = result.report.resection["frame_check"]
    assert check["frame_px"] == [3264, 2448]
    assert check["same_size"] is False


def _with_direction(src: Path, out: Path, bearing_deg: float, ref: str) -> Path:
    """The photo with its GPS position removed and a GPSImgDirection written (a test copy)."""
    with Image.open(src) as im:
        exif = im.getexif()
        gps = exif.get_ifd(0x8825)
        gps.clear()
        gps[16] = ref  # GPSImgDirectionRef: T true, M magnetic
        gps[17] = bearing_deg  # GPSImgDirection
        im.save(out, exif=exif, quality=92)
    return out


@pytest.mark.parametrize(
    ("bearing_deg", "ref", "agrees"),
    [(35.0, "T", True), (215.0, "T", False), (45.0, "M", True), (100.0, "M", False)],
)
def test_the_files_own_direction_is_compared_with_the_resected_heading(
    tmp_path, bearing_deg, ref, agrees
):
    # photo 01 faces 34.9 deg (resected; the three photos agree within 3 deg)
    from geoverify.pipeline import verify
    from geoverify.resection import CameraPoints

    photo = _with_direction(BERLIN / "berlin_01.jpg", tmp_path / "d.jpg", bearing_deg, ref)
    result = verify(
        photo,
        registry=ROOT / "samples" / "berlin" / "registry.geojson",
        claims=_claims(tmp_path, 52.5189, 13.4003, 100.0),
        camera_points=CameraPoints(points=_points_csv(tmp_path, "01")),
    )
    assert result.report.resection is not None
    (check,) = result.report.resection["heading_checks"]
    assert check["source"] == "EXIF GPSImgDirection"
    turn = abs((bearing_deg - check["resected_heading_deg"] + 180.0) % 360.0 - 180.0)
    assert check["difference_deg"] == pytest.approx(turn, abs=1e-9)
    assert check["agrees"] is agrees


def test_the_report_map_draws_the_resected_camera_its_region_and_rays(tmp_path):
    from geoverify.pipeline import verify
    from geoverify.report import render_html
    from geoverify.resection import CameraPoints

    photo = _without_gps(BERLIN / "berlin_01.jpg", tmp_path / "no_gps.jpg")
    result = verify(
        photo,
        registry=ROOT / "samples" / "berlin" / "registry.geojson",
        claims=_claims(tmp_path, 52.5189, 13.4003, 100.0),
        camera_points=CameraPoints(points=_points_csv(tmp_path, "01")),
    )
    html = render_html(result.report)
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert svg.count('stroke="#93c" stroke-opacity="0.5"') == 10  # a ray to each marked point
    assert 'fill="#93c" fill-opacity="0.15"' in svg  # the 90 % region
    assert "camera resected from 10 marked points (3d)" in svg
    # the resected camera is no part of a GPS track line
    assert 'stroke="#c60" stroke-width="2" stroke-dasharray="1 3"' not in svg


def test_the_berlin_points_files_are_the_survey_moved_into_columns():
    # samples/berlin/points_0N.csv are what make_points.py writes from the OpenSfM list
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_points", ROOT / "samples" / "berlin" / "make_points.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for shot in ("01", "02", "03"):
        committed = (ROOT / "samples" / "berlin" / f"points_{shot}.csv").read_text()
        assert committed == module.points_csv(shot)
        marked = read_points(ROOT / "samples" / "berlin" / f"points_{shot}.csv")
        assert len(marked) == len(_gcp_rows(shot))


def test_a_claims_file_can_name_the_points_marked_in_the_footage(tmp_path):
    # footage: camera_points: {points: ...}, relative to the claims file, as --points would
    from geoverify.pipeline import verify

    shutil.copy(ROOT / "samples" / "berlin" / "points_01.csv", tmp_path / "points.csv")
    claims = tmp_path / "claims.yaml"
    claims.write_text(
        "claims_version: 2\nfootage:\n"
        "  filmed_at: {lat: 52.5189167, lon: 13.4002944, within_m: 50}\n"
        "  camera_points: {points: points.csv}\nclaims: []\n"
    )
    photo = _without_gps(BERLIN / "berlin_01.jpg", tmp_path / "no_gps.jpg")
    result = verify(photo, registry=ROOT / "samples" / "berlin" / "registry.geojson", claims=claims)
    assert result.report.resection is not None
    assert result.camera_points is not None
    assert str(tmp_path / "points.csv") in result.inputs  # an --out may not hold it
    line = next(ln for ln in result.report.bottom_line.lines if ln.line == "location")
    assert line.strength == "strong"
    # a misspelt key is refused by the claims reader, like every other
    claims.write_text(claims.read_text().replace("points: points.csv", "pionts: points.csv"))
    from geoverify import RegistryError, load_claims

    with pytest.raises(RegistryError) as err:
        load_claims(claims)
    assert err.value.code == "E_CLAIMS_INVALID"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            '{"points": [{"x_px": ' + "9" * 5000 + ', "y_px": 1, "lat": 52.5, "lon": 13.4}]}',
            "E_POINTS_INVALID",
        ),  # an integer Python refuses to convert: no traceback
        ("x_px,y_px,lat,lat,lon\n10,10,52.5,0,13.4\n", "E_POINTS_INVALID"),  # a column twice
        ("x_px,y_px,lat,lon\n10,10,52.5,13.4,99\n", "E_POINTS_INVALID"),  # a value too many
        ("x_px,y_px,lat,lon,alt_m\n10,10,52.5,13.4,1e308\n", "E_POINTS_INVALID"),
        ("x_px,y_px,lat,lon,sigma_m\n10,10,52.5,13.4,1e300\n", "E_POINTS_INVALID"),
    ],
)
def test_hostile_points_files_found_by_the_sweep_are_one_line_errors(tmp_path, text, code):
    with pytest.raises(InputError) as err:
        read_points(_write(tmp_path, text))
    assert err.value.code == code
    assert len(err.value.message) < 300  # a 5,000-digit value is cut in the message


def test_options_and_points_found_by_the_sweep_are_refused_before_the_work(tmp_path):
    photo = BERLIN / "berlin_01.jpg"
    points = _points_csv(tmp_path, "01")
    for options in (LocateOptions(seed=-1), LocateOptions(samples=100_000)):
        with pytest.raises(InputError) as err:
            locate(photo, points, options=options)
        assert err.value.code == "E_INPUT_OPTION"
    # 30 points x 10,000 samples: over the 200,000 re-solves a run may cost
    many = tmp_path / "many.csv"
    rows = points.read_text().splitlines()
    many.write_text("\n".join(rows + rows[1:] + rows[1:]) + "\n")
    with pytest.raises(InputError) as err:
        locate(photo, many, options=LocateOptions(samples=10_000))
    assert err.value.code == "E_INPUT_OPTION"
    assert "--samples" in err.value.hint
    # a point typed in the southern hemisphere: far from the others, not "on one line"
    far = tmp_path / "far.csv"
    far.write_text(points.read_text().replace("52.519134104", "-52.519134104", 1))
    with pytest.raises(InputError) as err:
        locate(photo, far, options=FAST)
    assert err.value.code == "E_POINTS_DEGENERATE"
    assert "km from the others" in err.value.message
    # noise named .png asks for a photo, not a video
    noise = tmp_path / "rand.png"
    noise.write_bytes(bytes(range(256)) * 64)
    from geoverify.errors import GeoverifyError

    with pytest.raises(GeoverifyError) as exc:
        locate(noise, points, options=FAST)
    assert "photo" in exc.value.hint


def test_a_resection_with_no_region_is_written_with_null_radii(tmp_path):
    # map error of 10 km on points 40 m away: almost no re-solve keeps every point in front,
    # so no radius is stated, and camera.json/geojson (strict JSON) say null, not Infinity
    from geoverify.resection import save_camera_fix

    rows = _points_csv(tmp_path, "01").read_text().splitlines()
    wide = tmp_path / "wide.csv"
    wide.write_text("\n".join([rows[0] + ",sigma_m"] + [r + ",10000" for r in rows[1:]]) + "\n")
    fix = locate(BERLIN / "berlin_01.jpg", wide, options=FAST)
    assert not math.isfinite(fix.uncertainty.radius_m_90)
    assert any("no uncertainty region" in n for n in fix.notes)
    out = save_camera_fix(fix, tmp_path / "out")
    camera = json.loads((out / "camera.json").read_text())
    assert camera["uncertainty"]["radius_m_90"] is None
    geo = json.loads((out / "camera.geojson").read_text())
    assert geo["features"][0]["properties"]["radius_m_90"] is None
