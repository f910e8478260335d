"""Property-based tests for every parser of untrusted input.

The property (issue 11): any input gives a value or a ``GeoverifyError`` with its documented
exit code, nothing else, within a bounded time (hypothesis' deadline, stated per test).
"""

from __future__ import annotations

import json
import string
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from geoverify import GeoverifyError, parse_iso6709
from geoverify.errors import EXIT_CODES
from geoverify.probing._claims import _parse_time as parse_metadata_time
from geoverify.probing._gpmf import parse_gps5
from geoverify.registry import registry_from_geojson
from geoverify.sun import parse_time

DEADLINE_MS = 2000  # each example, on this 2-core machine
FAST = settings(
    max_examples=300, deadline=DEADLINE_MS, suppress_health_check=[HealthCheck.too_slow]
)


def _documented(exc: GeoverifyError, exit_code: int | None = None) -> None:
    assert exc.exit_code in EXIT_CODES
    assert exc.code.startswith("E_")
    assert exc.message
    if exit_code is not None:
        assert exc.exit_code == exit_code


# --- text parsers --------------------------------------------------------------------------

_iso_chars = st.sampled_from([*"+-0123456789./ ", "CRSWGS_84", "e", "E", "\x00", "\u0663"])
_iso_text = st.one_of(
    st.text(max_size=60),
    st.lists(_iso_chars, max_size=40).map("".join),
    st.builds(
        lambda a, b, c: f"{a}{b}{c}/",
        st.from_regex(r"[+-]\d{1,8}(\.\d{0,12})?", fullmatch=True),
        st.from_regex(r"[+-]\d{1,9}(\.\d{0,12})?", fullmatch=True),
        st.from_regex(r"([+-]\d{1,500}(\.\d*)?)?", fullmatch=True),
    ),
)


@FAST
@given(_iso_text)
def test_iso6709_gives_a_position_or_a_documented_error(text):
    try:
        pos, alt = parse_iso6709(text)
    except GeoverifyError as exc:
        _documented(exc)
        return
    assert -90 <= pos.lat <= 90
    assert -180 <= pos.lon <= 180
    assert alt is None or abs(alt) < 1e8


_time_text = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda y, rest: f"{y:04d}{rest}",
        st.integers(0, 9999),
        st.from_regex(
            r"-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:?\d\d)?", fullmatch=True
        ),
    ),
)


@FAST
@given(_time_text)
def test_metadata_times_parse_or_are_left_unparsed(text):
    utc, _zone, _offset = parse_metadata_time(text)  # never raises: unparsed is a note
    assert utc is None or (isinstance(utc, datetime) and utc.utcoffset() is not None)


@FAST
@given(
    _time_text,
    st.one_of(
        st.none(),
        st.sampled_from(["Europe/Kyiv", "America", "UTC", "Etc/GMT+5", "../../etc/passwd", ""]),
        st.text(max_size=300),
    ),
)
def test_sun_times_and_zones_give_utc_or_a_documented_error(text, zone):
    try:
        when = parse_time(text, zone=zone)
    except GeoverifyError as exc:
        _documented(exc)
        return
    offset = when.utcoffset()
    assert offset is not None
    assert offset.total_seconds() == 0


# --- GPMF ----------------------------------------------------------------------------------

_KLV_KEYS = [b"DEVC", b"STRM", b"GPS5", b"GPSU", b"GPSF", b"GPSP", b"SCAL", b"TYPE", b"GPRI"]


@st.composite
def _klv(draw, depth=0):
    key = draw(st.sampled_from(_KLV_KEYS))
    typ = draw(st.sampled_from([b"\x00", b"l", b"s", b"f", b"U", b"c", b"?", b"L", b"J", b"d"]))
    size = draw(st.integers(0, 24))
    repeat = draw(st.integers(0, 6))
    if typ == b"\x00" and depth < 3:
        body = b"".join(draw(st.lists(_klv(depth + 1), max_size=4)))
    else:
        body = draw(st.binary(max_size=size * repeat + 8))
    header = key + typ + bytes([size]) + repeat.to_bytes(2, "big")
    return header + body + b"\x00" * (-len(body) % 4)


@settings(max_examples=400, deadline=DEADLINE_MS, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.floats(allow_nan=True), st.one_of(_klv(), st.binary())), max_size=5))
def test_gpmf_payloads_give_finite_fixes_or_none(payloads):
    for fix in parse_gps5(tuple(payloads)):
        for value in (fix.lat, fix.lon, fix.alt_m):
            assert value == value  # not NaN
            assert abs(value) < 1e15
        assert -90 <= fix.lat <= 90
        assert -180 <= fix.lon <= 180
        assert fix.dop is None or fix.dop == fix.dop


# --- the registry validator ----------------------------------------------------------------

_json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
_json = st.recursive(
    _json_scalar,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=30,
)
_position = st.lists(
    st.one_of(st.floats(-200, 200), st.integers(-(10**401), 10**401), _json_scalar),
    min_size=0,
    max_size=4,
)
_geometry = st.fixed_dictionaries(
    {
        "type": st.one_of(
            st.sampled_from(
                ["Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"]
            ),
            _json,
        ),
        "coordinates": st.one_of(
            _position,
            st.lists(_position, max_size=5),
            st.lists(st.lists(_position, max_size=6), max_size=3),
            _json,
        ),
    }
)
_feature = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["Feature", "feature", 1]),
        "id": st.one_of(st.text(max_size=6), _json_scalar),
        "geometry": st.one_of(st.none(), _geometry, _json),
        "properties": st.one_of(
            st.fixed_dictionaries(
                {"name": st.one_of(st.text(max_size=8), _json_scalar)},
                optional={
                    "aliases": _json,
                    "tags": _json,
                    "uncertainty_m": _json_scalar,
                    "sources": _json,
                    "reference_images": st.one_of(
                        _json,
                        st.lists(st.fixed_dictionaries({"path": st.text(max_size=12)}), max_size=2),
                    ),
                    "notes": _json,
                },
            ),
            _json,
        ),
    }
)


@settings(max_examples=400, deadline=DEADLINE_MS, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_feature, max_size=4), st.dictionaries(st.text(max_size=6), _json, max_size=2))
def test_registry_validator_gives_a_registry_or_a_registry_error(tmp_path_factory, features, extra):
    base = tmp_path_factory.getbasetemp()
    doc = {**extra, "type": "FeatureCollection", "features": features}
    try:
        reg = registry_from_geojson(doc, where="x.geojson", base_dir=base)
    except GeoverifyError as exc:
        _documented(exc, 4)
        return
    for lm in reg.landmarks:
        assert lm.id.strip()
        assert lm.name.strip()
        if lm.geometry is not None:
            assert lm.geometry.is_valid


@FAST
@given(st.text(max_size=200))
def test_registry_text_gives_a_registry_or_a_registry_error(tmp_path_factory, text):
    from geoverify.registry._read import parse_registry_document

    try:
        registry_from_geojson(parse_registry_document(text.encode("utf-8", "surrogatepass"), "x"))
    except GeoverifyError as exc:
        _documented(exc, 4)


# --- the claims loader ---------------------------------------------------------------------

_yaml_atoms = st.sampled_from(
    [
        "claims_version: 1\n",
        "claims_version: 2\n",
        "claims: []\n",
        "claims:\n  - {id: a, kind: distance, text: t, subject: s, reference: r, "
        "distance: {qualifier: about, value_m: 5}}\n",
        "  - {id: b, kind: shadow, text: t, subject: s, time: '2023-03-06T10:15', tz: Europe/Kyiv,"
        " shadow: {azimuth_deg: 300}}\n",
        "  - {id: c, kind: direction, text: t, subject: s, reference: r, "
        "direction: 'bearing:nan'}\n",
        "roles: {s: [a, b]}\n",
        "roles: {s: {candidates: []}}\n",
        "source: {date: 2023-02-30, title: !!python/object/apply:os.system [x]}\n",
        "source: &a {title: x}\nother: *a\n",
        "---\n",
        "? [1, 2]\n: x\n",
        "x: " + "9" * 5000 + "\n",
        "x: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
        'x: "\\ud800"\n',
        "x: 0001-01-01T00:00:00+05:00\n",
        "\t\x00\n",
        "%YAML 1.1\n",
    ]
)


@settings(max_examples=300, deadline=DEADLINE_MS, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(_yaml_atoms, st.text(alphabet=string.printable, max_size=30)), max_size=8)
)
def test_claims_loader_gives_claims_or_a_claims_error(tmp_path_factory, parts):
    from geoverify import load_claims

    path = Path(tmp_path_factory.mktemp("claims")) / "c.yaml"
    path.write_text("".join(parts), encoding="utf-8")
    try:
        claims = load_claims(path)
    except GeoverifyError as exc:
        _documented(exc, 4)
        return
    json.dumps([c.text for c in claims.claims])


# --- the OSM importers ---------------------------------------------------------------------

_osm_id = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
_element = st.fixed_dictionaries(
    {"type": st.sampled_from(["node", "way", "relation", "area", 5]), "id": _osm_id},
    optional={
        "lat": st.one_of(st.floats(-100, 100), _osm_id),
        "lon": st.one_of(st.floats(-200, 200), _osm_id),
        "tags": st.one_of(
            st.dictionaries(st.sampled_from(["name", "landuse", "x"]), _json_scalar), _json
        ),
        "nodes": st.one_of(st.lists(_osm_id, max_size=6), _osm_id),
        "members": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "type": st.sampled_from(["way", "node", 3]),
                        "ref": _osm_id,
                        "role": _json_scalar,
                    }
                ),
                max_size=4,
            ),
            _json,
        ),
        "geometry": _json,
        "version": _osm_id,
    },
)


@settings(max_examples=300, deadline=DEADLINE_MS, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_element, max_size=8))
def test_overpass_json_gives_landmarks_or_an_error(tmp_path_factory, elements):
    from geoverify.osm import import_osm

    path = Path(tmp_path_factory.mktemp("osm")) / "o.json"
    text = json.dumps({"elements": elements}, allow_nan=True)  # Infinity and NaN, as attackers do
    path.write_text(text, encoding="utf-8")
    try:
        result = import_osm(path, tags=["name", "landuse", "x"], merge_by_name=True)
    except GeoverifyError as exc:
        _documented(exc)
        return
    from geoverify.registry import landmark_problems

    for lm in result.landmarks:
        assert landmark_problems(lm) == ()


@FAST
@given(
    st.lists(
        st.sampled_from(
            [
                '<?xml version="1.0" encoding="UTF-8"?>',
                '<?xml version="1.0" encoding="x-bogus"?>',
                "<osm>",
                "</osm>",
                '<node id="1" lat="48.1" lon="38.1"/>',
                '<node id="2" lat="48.1" lon="38.1"><tag k="landuse" v="x"/></node>',
                '<node id="inf" lat="nan" lon="1e999"/>',
                '<way id="3"><nd ref="1"/><nd ref="2"/><nd ref="1"/><tag k="landuse" v="y"/></way>',
                '<way id="4"><nd ref="1"/><nd ref="1"/><tag k="name" v="Бахмутка"/></way>',
                '<relation id="5"><member type="way" ref="3" role="outer"/>'
                '<tag k="type" v="multipolygon"/><tag k="landuse" v="z"/></relation>',
                "<!DOCTYPE osm [<!ENTITY a 'aaaa'>]>",
                "&#xD800;",
                "<",
            ]
        ),
        max_size=10,
    )
)
def test_osm_xml_gives_landmarks_or_an_error(tmp_path_factory, parts):
    from geoverify.osm import import_osm

    path = Path(tmp_path_factory.mktemp("osm")) / "o.osm"
    path.write_text("".join(parts), encoding="utf-8")
    try:
        import_osm(path, tags=["landuse", "name"], merge_by_name=True)
    except GeoverifyError as exc:
        _documented(exc)
