"""OSM import on real OpenStreetMap data in three formats."""

from __future__ import annotations

import contextlib
import json
import math
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import DATA, ROOT
from typer.testing import CliRunner

from geoverify import InputError, LatLon, MissingDependencyError, RegistryError
from geoverify.cli import app
from geoverify.errors import NetworkError
from geoverify.geodesy import distance_m
from geoverify.osm import fetch_overpass, import_osm, overpass_query, read_osm

OSM = DATA / "osm"
FORMATS = ["helsinki_centre.osm", "helsinki_centre_overpass.json", "helsinki.osm.pbf"]


@pytest.mark.parametrize("name", FORMATS)
def test_memorials_with_pinned_versions(name):
    result = import_osm(
        OSM / name, tags=["historic=memorial"], bbox=(24.9375, 60.1685, 24.9450, 60.1722)
    )
    by_id = {lm.id: lm for lm in result.landmarks}
    kivi = by_id["osm_n60131847"]
    assert kivi.name == "Aleksis Kiven muistopatsas"
    assert "Aleksis Kivi Memorial" in kivi.aliases
    assert kivi.tags["memorial"] == "statue"
    # the values of node 60131847 in the source file
    assert kivi.anchor == LatLon(60.1716831, 24.9439197)
    src = kivi.sources[0]
    assert (src.osm_type, src.osm_id, src.osm_version, src.osm_timestamp) == (
        "node",
        60131847,
        17,
        "2018-11-15T00:36:42Z",
    )
    assert "ODbL" in src.licence


def test_the_three_formats_agree():
    results = [
        import_osm(
            OSM / n,
            tags=["historic=memorial", "building"],
            bbox=(24.9400, 60.1690, 24.9440, 60.1715),
        )
        for n in FORMATS
    ]
    ids = [sorted(lm.id for lm in r.landmarks) for r in results]
    assert ids[0] == ids[1] == ids[2]
    for a, b in zip(results[0].landmarks, results[2].landmarks, strict=True):
        assert a.geometry.equals_exact(b.geometry, 1e-7)


def test_a_street_mapped_as_many_ways_becomes_one_landmark():
    result = import_osm(OSM / "helsinki.osm.pbf", tags=["highway"], merge_by_name=True)
    street = next(lm for lm in result.landmarks if lm.id == "osm_name_mannerheimintie")
    assert len(street.sources) > 10  # every OSM way keeps its id and version
    assert all(s.osm_type == "way" and s.osm_version for s in street.sources)
    assert street.geometry.geom_type in ("LineString", "MultiLineString")
    assert "merged from" in street.notes


def test_closed_building_ways_are_polygons_and_relations_are_assembled():
    result = import_osm(OSM / "helsinki.osm.pbf", tags=["building"])
    kinds = {lm.geometry.geom_type for lm in result.landmarks}
    assert "Polygon" in kinds
    relations = [lm for lm in result.landmarks if lm.id.startswith("osm_r")]
    assert relations
    assert all(lm.geometry.is_valid and lm.geometry.area > 0 for lm in relations)


def test_incomplete_elements_are_reported_not_guessed():
    result = import_osm(OSM / "helsinki_centre.osm", tags=["type=multipolygon"])
    assert any(n.code == "W_OSM_INCOMPLETE" for n in result.skipped)


def test_geodesic_distance_between_two_imported_statues():
    result = import_osm(OSM / "helsinki_centre.osm", tags=["historic=memorial"])
    by_id = {lm.id: lm for lm in result.landmarks}
    d = distance_m(by_id["osm_n60131847"].anchor, by_id["osm_n60131839"].anchor)
    # GeographicLib Inverse for (60.1716831, 24.9439197) -> (60.1699517, 24.9430680)
    from pyproj import Geod

    _, _, expected = Geod(ellps="WGS84").inv(24.9439197, 60.1716831, 24.9430680, 60.1699517)
    assert d == pytest.approx(expected, abs=1e-6)
    assert 190 < d < 200


@pytest.mark.parametrize(
    "content", [b"", b"\x00\x01garbage", b"<osm><node id='1' lat='x'", b'{"no": 1}']
)
def test_bad_osm_files(tmp_path, content):
    path = tmp_path / "bad.osm"
    path.write_bytes(content)
    with pytest.raises(RegistryError) as exc:
        import_osm(path, tags=["historic"])
    assert exc.value.code == "E_OSM_INVALID"


def test_pbf_without_osmium_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "osmium", None)  # as if the optional extra were absent
    with pytest.raises(MissingDependencyError) as exc:
        read_osm(OSM / "helsinki.osm.pbf")
    assert "pip install 'geoverify[osm]'" in exc.value.hint


# --- fetch-osm against hostile servers on loopback ------------------------------------------
# A raw socket server: each case writes the bytes it likes, malformed HTTP included. The
# registry is the Bakhmut sample; every failure must leave it byte for byte and save nothing.

BAKHMUT = ROOT / "samples" / "bakhmut" / "registry.geojson"
BOX = "37.99,48.58,38.01,48.60"
MEMORIAL = {
    "type": "node",
    "id": 1,
    "lat": 48.59,
    "lon": 38.0,
    "version": 1,
    "timestamp": "2020-01-01T00:00:00Z",
    "tags": {"historic": "memorial", "name": "Memorial"},
}
CONTROL = ("\x1b", "\x07", "\x9b", "\u202e")  # ESC, BEL, CSI, right-to-left override
runner = CliRunner()

Respond = Callable[[socket.socket, str, threading.Event], None]


def _overpass(
    elements: list[dict] | None = None,
    *,
    remark: str | None = None,
    osm_base: str = "2026-12-01T10:00:00Z",
) -> bytes:
    """Build an answer laid out as Overpass API 0.7 writes it (``out meta``)."""
    doc: dict = {
        "version": 0.6,
        "generator": "Overpass API 0.7.62.4 2390de5a",
        "osm3s": {
            "timestamp_osm_base": osm_base,
            "copyright": "The data included in this document is from www.openstreetmap.org. "
            "The data is made available under ODbL.",
        },
        "elements": [MEMORIAL] if elements is None else elements,
    }
    if remark is not None:
        doc["remark"] = remark
    return json.dumps(doc, indent=1).encode("utf-8")


def _http(status: str, body: bytes = b"", *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close", *headers]
    return "\r\n".join(head).encode("utf-8") + b"\r\n\r\n" + body


def _answer(data: bytes) -> Respond:
    return lambda conn, _path, _stop: conn.sendall(data)


def _drip(head: bytes, tail: bytes, every_s: float = 0.3) -> Respond:
    """Send ``head`` at once, then ``tail`` one byte every ``every_s`` (under any read timeout)."""

    def respond(conn: socket.socket, _path: str, stop: threading.Event) -> None:
        conn.sendall(head)
        for byte in tail:
            if stop.wait(every_s):
                return
            conn.sendall(bytes([byte]))

    return respond


def _read_request(conn: socket.socket) -> tuple[str, str]:
    """Return the path and the Overpass query (the ``data`` field) of one POST."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return "", ""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    form = urllib.parse.parse_qs(body.decode("ascii"))
    return lines[0].split(" ")[1], form.get("data", [""])[0]


@contextlib.contextmanager
def _server(respond: Respond) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Serve on 127.0.0.1; yield the endpoint and the (path, query) of each request seen."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()
    seen: list[tuple[str, str]] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                try:
                    conn.settimeout(5)
                    path, query = _read_request(conn)
                    seen.append((path, query))
                    respond(conn, path, stop)
                except OSError:  # the client gave up (a time-out, a refused answer)
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/interpreter", seen
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.fixture
def case(tmp_path: Path) -> tuple[Path, bytes]:
    """Return a registry to fetch into, and its bytes before."""
    reg = tmp_path / "case" / "registry.geojson"
    reg.parent.mkdir()
    reg.write_bytes(BAKHMUT.read_bytes())
    return reg, reg.read_bytes()


def _fetch_osm(reg: Path, endpoint: str, *extra: str) -> tuple[int, str, str]:
    args = ["registry", "fetch-osm", str(reg), "--tag", "historic", "--bbox", BOX]
    result = runner.invoke(app, [*args, "--endpoint", endpoint, *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


def _assert_refused(case: tuple[Path, bytes], rc: int, err: str, code: str, exit_code: int = 9):
    """One error line and a hint, no traceback; the registry as it was, nothing in osm/."""
    reg, before = case
    assert rc == exit_code, err
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("error: "), err
    assert lines[0].endswith(f"[{code}]"), err
    assert lines[1].startswith("hint: "), err
    assert not any(c in err for c in CONTROL)
    assert reg.read_bytes() == before
    assert sorted(p.name for p in reg.parent.iterdir()) == [reg.name]  # no osm/, no lock


OK_ANSWER = _http("200 OK", _overpass(), "Content-Type: application/json")


@pytest.mark.parametrize(
    ("respond", "what"),
    [
        pytest.param(
            _answer(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                b"ZZZZ\r\nabc\r\n"
            ),
            "IncompleteRead",
            id="bad-chunk-size",
        ),
        pytest.param(_answer(b"HELLO THERE\r\n\r\n"), "BadStatusLine", id="bad-status-line"),
        pytest.param(
            _answer(
                b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n"
            ),
            "more than 100 headers",
            id="too-many-headers",
        ),
        pytest.param(
            _answer(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 100_000 + b"\r\n\r\n"),
            "LineTooLong",
            id="header-line-too-long",
        ),
        pytest.param(_answer(b""), "without response", id="closed-without-answer"),
    ],
)
def test_fetch_osm_malformed_http_is_exit_9_and_saves_nothing(case, respond, what):
    with _server(respond) as (url, seen):
        rc, _, err = _fetch_osm(case[0], url, "--timeout-s", "3")
    _assert_refused(case, rc, err, "E_NET_BAD_RESPONSE")
    assert "malformed HTTP" in err
    assert what in err
    assert len(seen) == 1


@pytest.mark.parametrize(
    "respond",
    [
        pytest.param(
            _drip(b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n", b'{"elements": []}'),
            id="body-one-byte-at-a-time",
        ),
        pytest.param(
            _drip(b"", b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n" + b'{"elements": []}'),
            id="headers-one-byte-at-a-time",
        ),
    ],
)
def test_fetch_osm_timeout_bounds_the_whole_fetch(case, respond):
    # every read returns within 0.3 s, so only a limit on the whole fetch ends it
    with _server(respond) as (url, _):
        start = time.monotonic()
        rc, _, err = _fetch_osm(case[0], url, "--timeout-s", "1")
        took_s = time.monotonic() - start
    _assert_refused(case, rc, err, "E_NET_TIMEOUT")
    assert "took longer than 1 s" in err
    assert took_s < 3.0


@pytest.mark.parametrize("timeout", ["nan", "-1", "0", "inf", "1e308", "3601"])
def test_fetch_osm_timeout_out_of_range_is_refused_before_sending(case, timeout):
    with _server(_answer(OK_ANSWER)) as (url, seen):
        rc, _, err = _fetch_osm(case[0], url, "--timeout-s", timeout)
    _assert_refused(case, rc, err, "E_INPUT_OPTION", exit_code=3)
    assert "0.1 to 3600" in err
    assert not seen


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://[::1",
        "http://[::1]:99999/",
        "ftp://127.0.0.1/api",
        "http://",
        "127.0.0.1:8080/api",
        "http://user:secret@127.0.0.1/api",
        "http://127.0.0.1/api\x1b[2J",
        "http://127.0.0.1/a b",
    ],
)
def test_fetch_osm_malformed_endpoint_is_refused(case, endpoint):
    rc, _, err = _fetch_osm(case[0], endpoint)
    _assert_refused(case, rc, err, "E_INPUT_OPTION", exit_code=3)
    assert "Overpass endpoint" in err


def test_the_library_checks_endpoint_and_time_limit(tmp_path, monkeypatch):
    for endpoint in ("http://[::1", "file:///etc/passwd", "https:///api"):
        with pytest.raises(InputError) as exc:
            fetch_overpass("[out:json];", tmp_path, endpoint=endpoint)
        assert exc.value.code == "E_INPUT_OPTION"
    monkeypatch.setenv("GEOVERIFY_OVERPASS_URL", "not a url")
    with pytest.raises(InputError, match=r"\$GEOVERIFY_OVERPASS_URL"):
        fetch_overpass("[out:json];", tmp_path)
    for bad in (math.nan, -1.0, 1e308):
        with pytest.raises(InputError, match=r"0\.1 to 3600"):
            fetch_overpass("[out:json];", tmp_path, endpoint="http://127.0.0.1:9/", timeout_s=bad)
        with pytest.raises(InputError):
            overpass_query((37.99, 48.58, 38.01, 48.60), ["historic"], timeout_s=bad)
    assert "[timeout:1]" in overpass_query((37.99, 48.58, 38.01, 48.60), ["x"], timeout_s=0.5)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.2:{port}/api/interpreter",
        "http://localhost:{port}/api/interpreter",
        "https://127.0.0.1:{port}/api/interpreter",
        "http://127.0.0.1:1/api/interpreter",
        "file:///etc/passwd",
    ],
)
def test_fetch_osm_refuses_a_redirect_to_another_scheme_host_or_port(case, location):
    def respond(conn: socket.socket, path: str, _stop: threading.Event) -> None:
        port = conn.getsockname()[1]
        target = location.format(port=port)
        conn.sendall(_http("302 Found", b"", f"Location: {target}"))

    with _server(respond) as (url, seen):
        rc, _, err = _fetch_osm(case[0], url, "--timeout-s", "3")
    _assert_refused(case, rc, err, "E_NET_REDIRECT")
    assert "127.0.0.1" in err
    assert urllib.parse.urlsplit(location).netloc.split(":")[0] in err  # both hosts named
    assert len(seen) == 1  # nothing sent to the other server


def test_fetch_osm_follows_a_same_host_redirect_and_records_where_the_answer_came_from(case):
    def respond(conn: socket.socket, path: str, _stop: threading.Event) -> None:
        if path == "/api/interpreter":
            conn.sendall(_http("307 Temporary Redirect", b"", "Location: /moved/interpreter"))
        else:
            conn.sendall(OK_ANSWER)

    reg, _ = case
    with _server(respond) as (url, seen):
        rc, out, err = _fetch_osm(reg, url, "--timeout-s", "3", "--json")
    assert rc == 0, err
    assert [path for path, _ in seen] == ["/api/interpreter", "/moved/interpreter"]
    assert all('nwr["historic"]' in query for _, query in seen)  # the query sent again
    fetched = json.loads(out)["fetched"]
    provenance = json.loads(Path(fetched["path"]).with_suffix(".provenance.json").read_text())
    assert provenance["endpoint"] == url
    assert provenance["final_url"] == url.replace("/api/", "/moved/")
    assert provenance["osm_base"] == "2026-12-01T10:00:00Z"
    assert json.loads(out)["added"] == ["osm_n1"]


@pytest.mark.parametrize(
    ("elements", "remark"),
    [
        pytest.param(
            [MEMORIAL],
            'runtime error: Query timed out in "query" at line 3 after 26 seconds.',
            id="timed-out-with-elements",
        ),
        pytest.param(
            [],
            "runtime error: Query run out of memory using about 2048 MB of RAM.",
            id="out-of-memory-no-elements",
        ),
        pytest.param(
            None,
            'runtime error: Query timed out in "recurse" at line 5 after 181 seconds.',
            id="timed-out-no-elements-list",
        ),
    ],
)
def test_fetch_osm_partial_answer_is_refused(case, elements, remark):
    body = _overpass(elements, remark=remark)
    if elements is None:
        doc = json.loads(body)
        del doc["elements"]
        body = json.dumps(doc).encode()
    with _server(_answer(_http("200 OK", body))) as (url, _):
        rc, _, err = _fetch_osm(case[0], url, "--timeout-s", "3")
    _assert_refused(case, rc, err, "E_NET_PARTIAL")
    assert remark.replace('"', "") in err.replace('"', "")


def test_server_strings_reach_messages_and_records_escaped(tmp_path):
    hostile = "2024\x1b]0;PWNED\x07\x1b[2J\x9b31m\u202eZ"
    with _server(_answer(_http("200 OK", _overpass(osm_base=hostile)))) as (url, _):
        fetched = fetch_overpass("[out:json];", tmp_path / "osm", endpoint=url, timeout_s=3)
    assert not any(c in fetched.osm_base for c in CONTROL)
    assert fetched.osm_base.startswith("2024\\x1b]0;PWNED\\x07")
    provenance = json.loads(Path(fetched.path).with_suffix(".provenance.json").read_text())
    assert provenance["osm_base"] == fetched.osm_base
    saved = json.loads(Path(fetched.path).read_text())  # the answer itself is kept verbatim
    assert saved["osm3s"]["timestamp_osm_base"] == hostile

    answers = [
        _http("200 OK", _overpass(remark="runtime error: " + hostile + "x" * 5000)),
        _http("200 OK", _overpass(None, remark=hostile)[:-10]),  # JSON cut short
        _http("500 \x1b[31mInternal \x07Error", b""),
        _http("429 Too Many Requests", b"", "Retry-After: \x1b[31m" + "9" * 6000),
        _http("302 Found", b"", f"Location: http://evil.example/{hostile}"),
        b"HTTP/1.1 200 OK\r\nX-\x1b[2J: v\r\n\r\n",
    ]
    for answer in answers:
        with _server(_answer(answer)) as (url, _), pytest.raises(NetworkError) as exc:
            fetch_overpass("[out:json];", tmp_path / "bad", endpoint=url, timeout_s=3)
        text = f"{exc.value.message}\n{exc.value.hint}"
        assert not any(c in text for c in CONTROL), text
        assert len(text) < 600
    assert not (tmp_path / "bad").exists()
