"""Authoring a case: registry add (points, lines, areas, pasted coordinates), images, the area of
interest, fetch-osm against a real HTTP server on loopback, and the claims tools."""

from __future__ import annotations

import contextlib
import http.server
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DATA, ROOT
from typer.testing import CliRunner

from geoverify import InputError, load_registry
from geoverify.cli import app
from geoverify.registry import parse_position

runner = CliRunner()
OSM = DATA / "osm"
BERLIN = ROOT / "samples" / "berlin"
TOL_DEG = 1e-9


def _cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


# --- coordinates as pasted -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lat", "lon"),
    [
        ("48.5947, 38.0008", 48.5947, 38.0008),
        ("48.5947 38.0008", 48.5947, 38.0008),
        ("-33.8568, 151.2153", -33.8568, 151.2153),
        ("48°35′41″N 38°0′3″E", 48 + 35 / 60 + 41 / 3600, 38 + 0 / 60 + 3 / 3600),
        ("48°35'41\"N, 38°0'3\"E", 48 + 35 / 60 + 41 / 3600, 38 + 3 / 3600),
        ("33°51′24″S 151°12′55″E", -(33 + 51 / 60 + 24 / 3600), 151 + 12 / 60 + 55 / 3600),
        (
            "https://www.openstreetmap.org/?mlat=48.5950&mlon=38.0010#map=18/48.5950/38.0010",
            48.595,
            38.001,
        ),
        ("https://www.openstreetmap.org/#map=17/48.59481/38.00123", 48.59481, 38.00123),
        ("https://www.google.com/maps/@48.5951,38.0011,17z", 48.5951, 38.0011),
        ("https://maps.google.com/?q=48.5952,38.0012", 48.5952, 38.0012),
        (
            "https://www.google.com/maps/place/X/@48.1,38.1,17z/data=!3d48.5953!4d38.0013",
            48.5953,
            38.0013,
        ),
    ],
)
def test_positions_as_analysts_paste_them(text, lat, lon):
    p = parse_position(text)
    assert p.lat == pytest.approx(lat, abs=TOL_DEG)
    assert p.lon == pytest.approx(lon, abs=TOL_DEG)


@pytest.mark.parametrize(
    "text", ["48 35 41 N, 38 0 3 E", "abc", "95, 10", "", "https://example.org/page", "48.5"]
)
def test_text_that_is_no_position_is_refused_not_guessed(text):
    with pytest.raises(InputError) as exc:
        parse_position(text)
    assert exc.value.code == "E_INPUT_COORD"


# --- registry add and friends --------------------------------------------------------------


def test_a_case_is_built_from_the_command_line(tmp_path):
    reg = tmp_path / "case.geojson"
    shutil.copy(BERLIN / "photos" / "berlin_03.jpg", tmp_path / "dom.jpg")
    rc, out, _ = _cli(
        "registry", "add", str(reg), "--id", "dom", "--name", "Point A (test)",
        "--alias", "Punkt A", "--tag", "building=cathedral",
        "--at", "52°31′9.4″N 13°24′2.5″E", "--uncertainty-m", "15",
        "--source", "test value", "--image", str(tmp_path / "dom.jpg"),
    )  # fmt: skip
    assert rc == 0, out
    assert "read: 52.5192778, 13.4006944" in out  # echoed before it was written
    rc, _, _ = _cli(
        "registry", "add", str(reg), "--id", "spree", "--name", "Line B (test)",
        "--tag", "waterway=river", "--line", "52.5200,13.3990; 52.5185,13.4035; 52.5170,13.4060",
    )  # fmt: skip
    assert rc == 0
    rc, out, _ = _cli(
        "registry", "add", str(reg), "--id", "lustgarten", "--name", "Area C (test)",
        "--area", "52.5186,13.3990; 52.5193,13.3990; 52.5193,13.4002; 52.5186,13.4002",
    )  # fmt: skip
    assert rc == 0
    assert "ring was closed" in out
    rc, _, _ = _cli(
        "registry", "add", str(reg), "--id", "w", "--name", "W",
        "--wkt", "POINT (13.401 52.519)",
    )  # fmt: skip
    assert rc == 0
    registry = load_registry(reg)  # everything written loads, images hashed and checked
    dom = registry.get("dom")
    assert dom.aliases == ("Punkt A",)
    assert dom.tags == {"building": "cathedral"}
    assert dom.uncertainty_m == 15
    assert dom.reference_images[0].path == "dom.jpg"
    assert registry.get("spree").geometry.geom_type == "LineString"
    assert registry.get("lustgarten").geometry.geom_type == "Polygon"
    assert registry.get("w").anchor.lat == pytest.approx(52.519, abs=TOL_DEG)


def test_add_image_copies_into_the_registry_folder_or_refuses(tmp_path):
    reg = tmp_path / "case" / "r.geojson"
    reg.parent.mkdir()
    rc, _, _ = _cli(
        "registry", "add", str(reg), "--id", "dom", "--name", "Dom", "--at", "52.5, 13.4"
    )
    assert rc == 0
    photo = BERLIN / "photos" / "berlin_03.jpg"
    rc, _, err = _cli("registry", "add-image", str(reg), "dom", str(photo))
    assert rc == 3
    assert "--copy" in err
    rc, _, _ = _cli("registry", "add-image", str(reg), "dom", str(photo), "--copy")
    assert rc == 0
    assert (reg.parent / "images" / "berlin_03.jpg").read_bytes() == photo.read_bytes()
    assert load_registry(reg).get("dom").reference_images[0].path == "images/berlin_03.jpg"
    (tmp_path / "case" / "fake.jpg").write_text("<svg/>")
    rc, _, err = _cli("registry", "add-image", str(reg), "dom", str(tmp_path / "case" / "fake.jpg"))
    assert rc == 3
    assert "E_IMAGE_INVALID" in err


def test_the_area_of_interest_flags_swapped_and_outside_positions(tmp_path):
    reg = tmp_path / "r.geojson"
    rc, _, _ = _cli(
        "registry", "set-area", str(reg), "--around", "48.5947, 38.0008", "--radius-m", "3000"
    )
    assert rc == 0
    rc, _, err = _cli(
        "registry", "add", str(reg), "--id", "s", "--name", "S", "--at", "38.0008, 48.5947"
    )
    assert rc == 4
    assert "E_PROBABLY_SWAPPED" in err
    assert "s" not in {lm.id for lm in load_registry(reg)}
    rc, _, _ = _cli(
        "registry", "add", str(reg), "--id", "s", "--name", "S", "--at", "38.0008, 48.5947",
        "--force",
    )  # fmt: skip
    assert rc == 0
    rc, out, _ = _cli(
        "registry", "add", str(reg), "--id", "far", "--name", "Far", "--at", "50.45, 30.52"
    )
    assert rc == 0
    assert "W_OUTSIDE_AREA" in out
    codes = {w.code for w in load_registry(reg).warnings}
    assert codes == {"W_PROBABLY_SWAPPED", "W_OUTSIDE_AREA"}
    rc, out, _ = _cli("registry", "validate", str(reg))
    assert "W_PROBABLY_SWAPPED" in out


@pytest.mark.parametrize(
    ("bbox", "fragment"),
    [
        ("48.55,37.95,48.63,38.06", "south,west,north,east"),
        ("1,2,3", "four numbers"),
        ("5,5,1,1", "west"),
    ],
)
def test_a_bbox_in_the_wrong_order_is_refused_with_the_right_one(tmp_path, bbox, fragment):
    rc, _, err = _cli(
        "registry", "import-osm", str(tmp_path / "r.geojson"), str(OSM / "helsinki_centre.osm"),
        "--tag", "historic=memorial", "--bbox", bbox,
    )  # fmt: skip
    assert rc == 3
    assert fragment in err


def test_a_bbox_that_selects_nothing_is_an_error_not_an_empty_import(tmp_path):
    rc, _, err = _cli(
        "registry", "import-osm", str(tmp_path / "r.geojson"), str(OSM / "helsinki_centre.osm"),
        "--tag", "historic=memorial", "--bbox", "30.0,50.0,30.1,50.1",
    )  # fmt: skip
    assert rc == 3
    assert "E_OSM_BBOX_EMPTY" in err
    assert not (tmp_path / "r.geojson").exists()


# --- fetch-osm against a real server on loopback -------------------------------------------


class _Overpass(http.server.BaseHTTPRequestHandler):
    mode = "ok"
    queries: list[str] = []  # noqa: RUF012

    def do_POST(self) -> None:
        import urllib.parse

        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode("ascii"))
        _Overpass.queries.append(form["data"][0])
        if self.mode == "slow":
            time.sleep(3)
        if self.mode == "429":
            self.send_response(429)
            self.send_header("Retry-After", "30")
            self.end_headers()
            return
        body = (
            (OSM / "helsinki_centre_overpass.json").read_bytes()
            if self.mode in ("ok", "slow")
            else b'{"elements": [ {"type": "node", "id": 1,'
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def overpass() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Overpass)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/interpreter"
    finally:
        server.shutdown()
        server.server_close()
        _Overpass.mode = "ok"
        _Overpass.queries.clear()


def test_fetch_osm_saves_the_answer_verbatim_and_imports_it(tmp_path, overpass):
    reg = tmp_path / "r.geojson"
    rc, out, err = _cli(
        "registry", "fetch-osm", str(reg), "--around", "60.1710, 24.9410", "--radius-m", "300",
        "--tag", "historic=memorial", "--endpoint", overpass, "--json",
    )  # fmt: skip
    assert rc == 0, err
    report = json.loads(out)
    saved = Path(report["fetched"]["path"])
    assert saved.parent == tmp_path / "osm"
    assert saved.read_bytes() == (OSM / "helsinki_centre_overpass.json").read_bytes()
    provenance = json.loads(saved.with_suffix(".provenance.json").read_text())
    assert provenance["endpoint"] == overpass
    assert provenance["osm_base"] == ""  # this recording states none: said, not invented
    (query,) = _Overpass.queries
    assert 'nwr["historic"="memorial"]' in query
    assert "out meta;" in query
    added = report["added"]
    assert added
    assert {lm.id for lm in load_registry(reg)} == set(added)
    # the same as import-osm on the same bytes
    rc, out, _ = _cli(
        "registry", "import-osm", str(tmp_path / "r2.geojson"), str(saved),
        "--tag", "historic=memorial", "--bbox", ",".join(map(str, _box())), "--json",
    )  # fmt: skip
    assert rc == 0
    assert json.loads(out)["added"] == added


def _box() -> tuple[float, float, float, float]:
    from geoverify.osm import bbox_around

    return bbox_around(parse_position("60.1710, 24.9410"), 300)


@pytest.mark.parametrize(
    ("mode", "code", "timeout"),
    [
        ("429", "E_NET_RATE_LIMITED", "30"),
        ("slow", "E_NET_TIMEOUT", "0.5"),
        ("bad", "E_NET_BAD_RESPONSE", "30"),
    ],
)
def test_fetch_osm_failures_are_exit_9_and_save_nothing(tmp_path, overpass, mode, code, timeout):
    _Overpass.mode = mode
    reg = tmp_path / "r.geojson"
    rc, _, err = _cli(
        "registry", "fetch-osm", str(reg), "--bbox", "24.93,60.16,24.95,60.18",
        "--tag", "historic=memorial", "--endpoint", overpass, "--timeout-s", timeout,
    )  # fmt: skip
    assert rc == 9, err
    assert f"[{code}]" in err
    assert not reg.exists()
    assert not (tmp_path / "osm").exists() or not list((tmp_path / "osm").iterdir())


def test_fetch_osm_offline_is_a_clear_error(tmp_path):
    # a port on loopback where nothing listens: the same error as no network
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc, _, err = _cli(
        "registry", "fetch-osm", str(tmp_path / "r.geojson"), "--bbox", "24.93,60.16,24.95,60.18",
        "--tag", "historic", "--endpoint", f"http://127.0.0.1:{port}/api/interpreter",
    )  # fmt: skip
    assert rc == 9
    assert "E_NET_UNREACHABLE" in err


# --- the README and --help agree with the code ---------------------------------------------


def _commands() -> set[str]:
    import typer.main

    from geoverify.cli import app as the_app

    group = typer.main.get_command(the_app)
    out = set()
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        if subs:
            out |= {f"{name} {sub}" for sub in subs}
        else:
            out.add(name)
    return out


def test_the_readme_names_every_command_and_only_real_ones():
    readme = (ROOT / "README.md").read_text()
    commands = _commands()
    groups = {c.split()[0] for c in commands if " " in c}
    for command in commands:
        group, _, sub = command.partition(" ")
        listed = f"geoverify {command}" in readme or (
            sub and re.search(rf"geoverify {group}\s[a-z|\-\s]*(?<![a-z-]){sub}(?![a-z-])", readme)
        )
        assert listed, f"README does not mention `geoverify {command}`"
    for group, sub in re.findall(r"`geoverify ([a-z]+) ([a-z][a-z\-]+)", readme):
        if group in groups:
            assert f"{group} {sub}" in commands, f"README names `geoverify {group} {sub}`"


def test_every_error_code_the_readme_names_exists_in_the_code():
    readme = (ROOT / "README.md").read_text()
    source = "\n".join(p.read_text() for p in (ROOT / "geoverify").rglob("*.py"))
    named = set(re.findall(r"\b([EW]_[A-Z0-9_]{3,})\b", readme)) - {"E_CODE"}  # the placeholder
    for code in sorted(named):
        assert f'"{code}"' in source, f"README names {code}, which no code raises"


def test_every_claim_kind_has_an_example_that_loads(tmp_path):
    from geoverify import load_claims
    from geoverify.claims._file import _ClaimModel
    from geoverify.claims._guide import EXAMPLES

    kinds = set()
    for i, (_, example) in enumerate(EXAMPLES.values()):
        path = tmp_path / f"c{i}.yaml"
        indented = "\n".join("  " + ln for ln in example.splitlines())
        path.write_text(f"claims_version: 2\nclaims:\n{indented}\n", encoding="utf-8")
        (claim,) = load_claims(path).claims
        kinds.add(claim.kind)
    import typing

    union = typing.get_args(typing.get_args(_ClaimModel)[0])
    declared = {typing.get_args(m.model_fields["kind"].annotation)[0] for m in union}
    assert kinds == declared  # every kind the loader knows has an example
    readme = (ROOT / "README.md").read_text()
    for example in (ex for _, ex in EXAMPLES.values()):
        assert example.splitlines()[0] in readme


def test_the_committed_claims_schema_is_the_loaders(tmp_path):
    import jsonschema

    from geoverify.claims._guide import schema_text

    committed = (ROOT / "geoverify" / "schemas" / "claims.schema.json").read_text()
    assert committed == schema_text()
    schema = json.loads(committed)
    import yaml

    for sample in (ROOT / "samples").glob("*/claims.yaml"):
        jsonschema.validate(yaml.safe_load(sample.read_text()), schema)  # dates stay strings


def test_claims_template_validate_and_explain(tmp_path):
    out = tmp_path / "starter.yaml"
    rc, _, _ = _cli("claims", "template", "--out", str(out))
    assert rc == 0
    rc, stdout, _ = _cli("claims", "validate", str(out), "--json")
    assert rc == 0
    assert json.loads(stdout)["claims_version"] == 2
    rc, _, err = _cli("claims", "template", "--out", str(out))
    assert rc == 7  # never overwrites
    rc, stdout, _ = _cli("claims", "explain")
    assert "just under" in stdout
    assert "side_of_line" in stdout
    rc, _, err = _cli(
        "claims", "validate", str(ROOT / "samples" / "bakhmut" / "claims.yaml"),
        "--registry", str(BERLIN / "registry.geojson"),
    )  # fmt: skip
    assert rc == 4  # names the Bakhmut landmarks a Berlin registry does not have
    assert "t34_monument" in err


def test_a_distance_with_a_direction_checks_both(tmp_path):
    reg = tmp_path / "r.geojson"
    _cli("registry", "add", str(reg), "--id", "square", "--name", "Square", "--at", "48.0, 38.0")
    # 1 km due west of the square (a geodesic, from geoverify.geodesy.destination)
    from geoverify.geodesy import destination
    from geoverify.models import LatLon

    west = destination(LatLon(48.0, 38.0), 270.0, 1000.0)
    _cli("registry", "add", str(reg), "--id", "m", "--name", "M", "--at", f"{west.lat}, {west.lon}")
    claims = tmp_path / "c.yaml"
    for direction, verdict in (("west", "consistent"), ("east", "inconsistent")):
        claims.write_text(
            "claims_version: 2\nclaims:\n - {id: c, kind: distance, text: t, subject: m, "
            f"reference: square, distance: {{qualifier: about, value_m: 1000}}, "
            f"direction: {direction}}}\n"
        )
        rc, stdout, _ = _cli("check", "--registry", str(reg), "--claims", str(claims), "--json")
        assert rc == 0
        (check,) = json.loads(stdout)["checks"]
        assert check["verdict"] == verdict
        assert check["measured"] == pytest.approx(1000.0, abs=1e-3)


# --- from Python: rich displays in Jupyter -------------------------------------------------


def test_notebook_displays_are_tables_with_every_string_escaped(tmp_path):
    from datetime import UTC, datetime

    from fixtures import write_clip
    from shapely.geometry import Point

    from geoverify import FrameOptions, LatLon, select_frames, sun_position
    from geoverify.registry import Landmark, Registry

    hostile = "<script>alert(1)</script>"
    reg = Registry(name=hostile, landmarks=(Landmark(id="a", name=hostile, geometry=Point(1, 2)),))
    page = reg._repr_html_()
    assert "<table>" in page
    assert hostile not in page
    assert "&lt;script&gt;" in page
    assert "2.000000, 1.000000" in page  # lat, lon
    selection = select_frames(write_clip(tmp_path / "c.mp4"), options=FrameOptions(every_s=0.5))
    page = selection._repr_html_()
    assert page.count("<tr>") >= len(selection.frames) + 1
    sun = sun_position(LatLon(48.6, 38.0), datetime(2023, 3, 6, 8, 0, tzinfo=UTC))
    assert "shadow azimuth" in sun._repr_html_()
    from geoverify import check_claims, load_claims, load_registry

    bakhmut = ROOT / "samples" / "bakhmut"
    results = check_claims(
        load_registry(bakhmut / "registry.geojson"), load_claims(bakhmut / "claims.yaml")
    )
    page = results[2]._repr_html_()  # the station against three definitions of the centre
    assert page.count("<tr>") >= 4 + 3  # the summary rows, then one row per candidate
    assert "city_geonames_713174" in page


# --- the map as it was ----------------------------------------------------------------------


@pytest.fixture
def history(tmp_path):
    import runpy

    make = runpy.run_path(str(OSM / "make_history.py"))
    return make["write_xml"](tmp_path / "h.osh"), make["write_pbf"](tmp_path / "h.osh.pbf")


@pytest.mark.parametrize("which", [0, 1], ids=["osh", "osh.pbf"])
def test_import_as_of_a_date_takes_each_element_as_it_was(tmp_path, history, which):
    path = history[which]
    reg = tmp_path / f"r{which}.geojson"
    rc, out, err = _cli(
        "registry", "import-osm", str(reg), str(path), "--tag", "historic", "--as-of",
        "2023-03-06", "--json",
    )  # fmt: skip
    assert rc == 0, err
    report = json.loads(out)
    assert report["added"] == ["osm_n1"]  # the kiosk was deleted, the statue not yet there
    lm = load_registry(reg).get("osm_n1")
    assert lm.name == "Test memorial"  # version 1, not the 2023-06 rebuild
    assert (lm.anchor.lat, lm.anchor.lon) == (pytest.approx(0.001), pytest.approx(0.001))
    (src,) = lm.sources
    assert (src.osm_version, src.osm_timestamp) == (1, "2020-01-01T00:00:00Z")
    codes = [n["code"] for n in report["skipped"]]
    assert "W_OSM_NEWER_THAN_AS_OF" in codes
    # without --as-of: the newest version of each, deleted ones dropped
    rc, out, _ = _cli("registry", "import-osm", str(tmp_path / f"n{which}.geojson"), str(path),
                      "--tag", "historic", "--json")  # fmt: skip
    assert sorted(json.loads(out)["added"]) == ["osm_n1", "osm_n3"]
    assert load_registry(tmp_path / f"n{which}.geojson").get("osm_n1").name.endswith("(rebuilt)")


def test_the_report_warns_when_the_map_is_newer_than_the_footage(tmp_path, history):
    from geoverify import load_claims
    from geoverify.evidence import weigh_evidence

    reg = tmp_path / "r.geojson"
    _cli("registry", "import-osm", str(reg), str(history[0]), "--tag", "historic")
    claims = tmp_path / "c.yaml"
    claims.write_text(
        "claims_version: 2\nfootage:\n  shows: osm_n1\n"
        "  filmed_between: [null, 2023-03-06T00:00+02:00]\nclaims: []\n"
    )
    bottom = weigh_evidence(
        hypothesis=load_claims(claims).footage,
        registry=load_registry(reg),
        claims=load_claims(claims),
        checks=(),
        media=None,
    )
    (caveat,) = [c for c in bottom.caveats if "OpenStreetMap data" in c]
    assert "'osm_n1'" in caveat
    assert "2023-06-01T00:00:00Z" in caveat


def test_fetch_osm_as_of_asks_overpass_for_the_map_as_it_was(tmp_path, overpass):
    rc, _, err = _cli(
        "registry", "fetch-osm", str(tmp_path / "r.geojson"), "--bbox", "24.93,60.16,24.95,60.18",
        "--tag", "historic=memorial", "--endpoint", overpass, "--as-of", "2019-01-01",
    )  # fmt: skip
    assert rc == 0, err
    (query,) = _Overpass.queries
    assert query.startswith('[out:json][timeout:90][date:"2019-01-01T00:00:00Z"];')


def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(tmp_path):
    import subprocess
    import sys

    from conftest import KARMA

    geoverify = Path(sys.executable).parent / "geoverify"
    proc = subprocess.run(
        [str(geoverify), "frames", str(KARMA), "--out", str(tmp_path / "f"), "--every", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("decoding: ")]
    assert lines, proc.stderr
    assert re.fullmatch(r"decoding: \d+(/\d+)?", lines[-1])
    assert "\x1b[" not in proc.stderr  # no terminal control codes in a log
    quiet = subprocess.run(
        [str(geoverify), "-q", "frames", str(KARMA), "--out", str(tmp_path / "g"), "--every", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert quiet.returncode == 0
    assert "decoding" not in quiet.stderr


@pytest.mark.parametrize(
    "args",
    [["claims", "explain", "--json"], ["claims", "template", "--json"], ["claims", "schema"]],
)
def test_claims_commands_speak_json(args):
    rc, out, _ = _cli(*args)
    assert rc == 0
    json.loads(out)
