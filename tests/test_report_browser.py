"""The report as an editor opens it: every kind of report in Chromium at 400, 800 and 1280 px.

Each report is made by ``verify`` from real inputs the suite already uses (samples/berlin, the
Berlin photographs, the seed case samples/bakhmut with the Karma drone clip, the iPhone clip
of tests/data/video_metadata, a plain generated clip), then opened in Debian's Chromium,
driven over ``--remote-debugging-pipe`` by test_pick's ``DevTools`` and ``Tab``. At each width
the page must:

- name the bottom line first: the first verdict word on the page is the bottom line's, and
  it is the verdict the case was built to get;
- draw a map whose text boxes (the DOM's ``getBoundingClientRect``) neither intersect nor
  leave the map;
- not scroll sideways at 400 px;
- show the inset world map exactly when a point lies off the local map (the cases with a
  camera or a claimed place over 1,000 km from the landmarks, known from the inputs);
- say names, not ids, in its summary sentences wherever the registry gives a name;
- draw, where the registry was imported from OpenStreetMap (tests/data/osm), its streets and
  areas under the landmarks, and nothing of the kind where it was not.

Distances asserted in sentences are computed here with GeographicLib (an independent
implementation of Karney's geodesics) and compared at the sentence's own rounding.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import test_pick
from conftest import DATA, KARMA, ROOT, VIDEO_DATA
from fixtures import write_clip
from geographiclib.geodesic import Geodesic
from test_pick import DevTools, Tab

from geoverify.frames import FrameOptions
from geoverify.matching import MatchOptions
from geoverify.pipeline import VerifyOptions, save_verification, verify
from geoverify.text import TextOptions

BERLIN = ROOT / "samples" / "berlin"
BAKHMUT = ROOT / "samples" / "bakhmut"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PLAIN = VerifyOptions(frames=FrameOptions(best=2), matching=MatchOptions(affine="off"), text=None)
# the Berlin photograph reads one line of text: its report shows the text crops, at every width
WITH_TEXT = dataclasses.replace(PLAIN, text=TextOptions())
WIDTHS_PX = (400, 800, 1280)
# text boxes may touch: Chromium lays text out in 1/64 px, so a shared edge can read as an
# overlap of a fraction of a pixel
TOUCH_PX = 0.5
# the scale bar's length in metres, measured on the map against two landmarks' geodesic
# distance: the map is an equirectangular projection centred on the case (its scale differs
# from the true one by well under 1 % over a few kilometres), pixel positions are rounded to
# 0.1 px on markers 50+ px apart
SCALE_TOL = 0.02


def _claims(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _registry_ids(path: Path) -> dict[str, str]:
    """Every landmark id of a registry file, with its name (read here, not by geoverify)."""
    reg = json.loads(path.read_text(encoding="utf-8"))
    return {f["id"]: f["properties"]["name"] for f in reg["features"]}


def _city_wikipedia() -> tuple[float, float]:
    reg = json.loads((BAKHMUT / "registry.geojson").read_text(encoding="utf-8"))
    lon, lat = next(f for f in reg["features"] if f["id"] == "city_wikipedia")["geometry"][
        "coordinates"
    ]
    return lat, lon


def _helsinki_registry(root: Path) -> Path:
    """A registry imported from OpenStreetMap: Helsinki's memorials, streets, water, parks."""
    from geoverify.osm import import_osm
    from geoverify.registry import Registry, save_registry

    found: dict[str, Any] = {}
    for tags in (["historic=memorial"], ["highway"], ["waterway"], ["leisure=park"]):
        for lm in import_osm(DATA / "osm" / "helsinki_centre.osm", tags=tags).landmarks:
            found.setdefault(lm.id, lm)
    path = root / "helsinki.geojson"
    save_registry(Registry(name="helsinki", landmarks=tuple(found.values())), path)
    return path


@pytest.fixture(scope="module")
def reports(sample_walk, tmp_path_factory) -> dict[str, dict[str, Any]]:
    """Make every kind of report once: name -> folder, expected verdict, registry, far."""
    root = tmp_path_factory.mktemp("reports")
    lat, lon = _city_wikipedia()
    conflicting = _claims(
        root / "conflicting.yaml",
        # the Berlin photograph shows the Dom, but is said to be filmed in Bakhmut
        "claims_version: 2\nfootage:\n  shows: berliner_dom\n"
        f"  filmed_at: {{lat: {lat}, lon: {lon}, within_m: 500}}\nclaims: []\n",
    )
    plain = write_clip(root / "plain.mp4", n_frames=25)
    # a file on a source's drive sits deep in folders: its path (and its hash) must wrap in
    # the report's tables, not widen them (a CI checkout's longer path once did, at 800 px)
    deep = root / "from_the_sources_drive" / "sent_over_telegram_on_20230306" / "as_received"
    deep.mkdir(parents=True)
    iphone = deep / "iphone6_with-gps.mov"
    shutil.copyfile(VIDEO_DATA / "iphone6_with-gps.mov", iphone)
    helsinki = _helsinki_registry(root)
    at_the_statue = _claims(
        root / "helsinki.yaml",
        # the Aleksis Kivi statue (test_osm's osm_n60131847); the photograph is in Berlin
        "claims_version: 2\nfootage:\n  filmed_at: {role: osm_n60131847, within_m: 200}\n"
        "claims: []\n",
    )
    cases = {
        # name: (media, registry, claims, bottom line, something off the local map)
        "supported": (sample_walk, BERLIN / "registry.geojson", BERLIN / "claims.yaml",
                      "supported", False),
        "photo": (BERLIN / "photos" / "berlin_01.jpg", BERLIN / "registry.geojson",
                  BERLIN / "claims.yaml", "supported", False),
        "contradicted": (iphone, BERLIN / "registry.geojson",
                         BERLIN / "claims.yaml", "contradicted", True),
        "not_established": (plain, BERLIN / "registry.geojson", BERLIN / "claims.yaml",
                            "not established", False),
        "conflicting": (BERLIN / "photos" / "berlin_01.jpg", BERLIN / "registry.geojson",
                        conflicting, "conflicting", True),
        "seed": (KARMA, BAKHMUT / "registry.geojson", BAKHMUT / "claims.yaml",
                 "contradicted", True),
        "osm": (BERLIN / "photos" / "berlin_01.jpg", helsinki, at_the_statue, "contradicted",
                True),
    }  # fmt: skip
    out = {}
    for name, (media, registry, claims, verdict, far) in cases.items():
        opts = WITH_TEXT if name == "photo" else PLAIN
        result = verify(media, registry=registry, claims=claims, now=NOW, options=opts)
        folder = root / name
        save_verification(result, folder)
        out[name] = {
            "folder": folder,
            "verdict": verdict,
            "registry": registry,
            "far": far,
            "media": media,
        }
    return out


# test_pick's Chromium, started once for this module too (skipped where Chromium is missing)
browser = test_pick.browser


def _open(browser: DevTools, page: Path, width_px: int) -> Tab:
    tab = Tab(browser, page.as_uri())
    metrics = {"width": width_px, "height": 900, "deviceScaleFactor": 1, "mobile": False}
    browser.call("Emulation.setDeviceMetricsOverride", metrics, session=tab.s)
    tab.until("document.readyState === 'complete' && document.fonts.status === 'loaded'")
    return tab


# every text box of an SVG, and the SVG's own box, on screen (CSS pixels)
_TEXT_BOXES = """
(sel) => { const svg = document.querySelector(sel); if (!svg) return null;
  const r = (e) => { const b = e.getBoundingClientRect();
    return {x0: b.left, y0: b.top, x1: b.right, y1: b.bottom, text: e.textContent}; };
  return {svg: r(svg), texts: [...svg.querySelectorAll('text')].map(r)}; }
"""


# how far the page reaches past the width inside the vertical scroll bar (> 0: a sideways scroll)
_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _boxes(tab: Tab, selector: str) -> dict[str, Any] | None:
    value: dict[str, Any] | None = tab.js(f"({_TEXT_BOXES})({json.dumps(selector)})")
    return value


def _label_problems(found: dict[str, Any]) -> list[str]:
    """Return every pair of text boxes that intersect, and every box that leaves the map."""
    svg, texts = found["svg"], found["texts"]
    problems = []
    for t in texts:
        if (
            t["x0"] < svg["x0"] - TOUCH_PX
            or t["y0"] < svg["y0"] - TOUCH_PX
            or t["x1"] > svg["x1"] + TOUCH_PX
            or t["y1"] > svg["y1"] + TOUCH_PX
        ):
            problems.append(f"clipped: {t['text']!r}")
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            w = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
            h = min(a["y1"], b["y1"]) - max(a["y0"], b["y0"])
            if w > TOUCH_PX and h > TOUCH_PX:
                problems.append(f"overlap: {a['text']!r} / {b['text']!r}")
    return problems


CASES = ("supported", "photo", "contradicted", "not_established", "conflicting", "seed", "osm")


@pytest.mark.slow
@pytest.mark.parametrize("width_px", WIDTHS_PX)
@pytest.mark.parametrize("case", CASES)
def test_every_report_reads_at_every_width(reports, browser, case, width_px):
    info = reports[case]
    tab = _open(browser, info["folder"] / "report.html", width_px)
    # the first verdict word on the page is the bottom line, the one the case was built for
    first = tab.js(
        "(() => { const v = document.querySelector('.verdict');"
        " return {inBottom: !!v.closest('#bottom-line'), text: v.textContent.trim()}; })()"
    )
    assert first == {"inBottom": True, "text": info["verdict"]}
    top = tab.js("document.querySelector('#plain-summary').getBoundingClientRect().top")
    assert top < 900  # the summary is on the first screen
    # no label overlaps another or leaves its map, on the local map and on the inset
    for selector in ("#map", "#world-inset"):
        found = _boxes(tab, selector)
        if found is not None:
            assert found["texts"], selector
            assert _label_problems(found) == [], (case, width_px, selector)
    # the inset world map appears exactly when something lies off the local map
    assert (_boxes(tab, "#world-inset") is not None) == info["far"]
    arrows = tab.js("document.querySelectorAll('#map .edge-arrow').length")
    assert (arrows > 0) == info["far"]
    # nothing needs a sideways scroll, at 400 px either
    overflow = tab.js(_OVERFLOW)
    assert overflow <= 0, (case, width_px, overflow)
    if case == "photo":  # its text line's crops are on the page too, within the width
        assert tab.js("document.querySelectorAll('.text-crops figure img').length") >= 1
    assert tab.problems() == []
    page = (info["folder"] / "report.html").as_uri()
    assert {u for u in tab.requests() if not u.startswith("data:")} == {page}  # nothing else
    _close(browser, page)


def _close(browser: DevTools, uri: str) -> None:
    for t in browser.call("Target.getTargets")["targetInfos"]:
        if t["type"] == "page" and t["url"] == uri:
            browser.call("Target.closeTarget", {"targetId": t["targetId"]})


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_summary_sentences_say_names_not_ids(reports, browser, case):
    info = reports[case]
    tab = _open(browser, info["folder"] / "report.html", 1280)
    sentences = tab.js(
        "[document.querySelector('#plain-summary').textContent,"
        " ...[...document.querySelectorAll('.sentence')].map(e => e.textContent)]"
    )
    assert len(sentences) >= 7  # the summary, then one per line of evidence
    assert len(re.findall(r"[.!?](?:\s|$)", sentences[0])) >= 2  # two sentences to paste
    names = _registry_ids(info["registry"])
    for sentence in sentences:
        for lm_id in names:
            assert not re.search(rf"\b{re.escape(lm_id)}\b", sentence), (lm_id, sentence)
    report = json.loads((info["folder"] / "report.json").read_text())
    assert report["plain_summary"] == sentences[0]
    # the raw fields stay in report.json, and in the page only inside a closed details block
    raw = tab.js(
        "[...document.querySelectorAll('table.evidence td:last-child')]"
        ".map(td => [...td.childNodes].filter(n => n.nodeName !== 'DETAILS')"
        ".map(n => n.textContent).join(''))"
    )
    for text in raw:
        assert not re.search(r"_|\bFalse\b|\bTrue\b", text), text


def _nearest_m(points: list[tuple[float, float]], targets: list[tuple[float, float]]) -> float:
    return min(Geodesic.WGS84.Inverse(*p, *t)["s12"] for p in points for t in targets)


@pytest.mark.slow
def test_the_key_numbers_are_in_the_sentences(reports):
    """The strongest fact is a sentence: the far camera's distance, with its unit."""
    # the iPhone clip's ISO 6709 tag (+32.0929+034.8620), 2,854 km from the Dom
    contradicted = json.loads((reports["contradicted"]["folder"] / "report.json").read_text())
    dom = (52.51926834404209, 13.400703631118825)  # samples/berlin/registry.geojson
    d = _nearest_m([(32.0929, 34.8620)], [dom])
    assert f"{d / 1000:,.0f} km from Berliner Dom" in contradicted["plain_lines"]["location"]
    assert "Israel" in contradicted["plain_lines"]["location"]
    # the map's edge arrow says the same number, from the same landmark
    arrow = _arrow_titles(reports["contradicted"]["folder"])
    assert f"camera: {d / 1000:,.0f} km from Berliner Dom" in arrow
    # the seed case: Karma's GPS fixes against the landmarks on the map (the ids report.json
    # lists, their coordinates read here from samples/bakhmut's registry)
    seed = json.loads((reports["seed"]["folder"] / "report.json").read_text())
    reg = json.loads((BAKHMUT / "registry.geojson").read_text())
    on_map = {f["id"] for f in seed["map_features"]}
    assert len(on_map) >= 5
    fixes = [(c["position"]["lat"], c["position"]["lon"]) for c in seed["cameras"]]
    d, name = min(
        (_nearest_m(fixes, [(f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0])]),
         f["properties"]["name"])
        for f in reg["features"]
        if f["id"] in on_map
    )  # fmt: skip
    sentence = seed["plain_lines"]["location"]
    assert f"{d / 1000:,.0f} km from {name}, the nearest landmark on the map" in sentence
    assert "United States of America" in sentence
    said = [t for t in _arrow_titles(reports["seed"]["folder"]) if " km from " in t]
    assert said == [f"cameras: {d / 1000:,.0f} km from {name}"]  # Karma's 12 fixes, one arrow
    assert "map's centre" not in (reports["seed"]["folder"] / "report.html").read_text()
    assert "T-34-85 'To the Tank Soldiers' monument (1971)" in seed["plain_summary"]
    assert seed["plain_summary"].split(". ", 1)[1] == sentence


def _arrow_titles(folder: Path) -> list[str]:
    """The full texts (tooltips) of the local map's labels, read from report.html."""
    import html

    page = (folder / "report.html").read_text(encoding="utf-8")
    return [html.unescape(t) for t in re.findall(r"<title>([^<]*)</title>", page)]


@pytest.mark.slow
def test_the_photo_shows_its_tags_and_both_coordinate_forms(reports, browser):
    tab = _open(browser, reports["photo"]["folder"] / "report.html", 1280)
    text = tab.js("document.body.innerText")
    # exiftool -n reads 52.5189166666667, 13.4002944444444 from berlin_01.jpg (test_pick)
    assert "52.518917, 13.400294" in text
    assert "52° 31′ 8.1″ N, 13° 24′ 1.06″ E" in text  # the rationals the file gives
    shown = int(re.search(r"All metadata tags \((\d+)\)", text)[1])
    assert shown >= 30  # berlin_01.jpg's IFD0, Exif and GPS tags, not "(0)"


@pytest.mark.slow
@pytest.mark.parametrize("case", ["seed", "supported", "photo"])
def test_the_scale_bar_is_round_readable_and_true(reports, browser, case):
    tab = _open(browser, reports[case]["folder"] / "report.html", 1280)
    bar = tab.js(
        "(() => { const g = document.querySelector('#map .scale');"
        " const l = g.querySelector('line'); return {px: l.x2.baseVal.value - l.x1.baseVal.value,"
        " text: g.querySelector('text').textContent}; })()"
    )
    value, unit = re.fullmatch(r"([\d,.]+) (m|km)", bar["text"]).groups()
    metres = float(value.replace(",", "")) * (1000 if unit == "km" else 1)
    mantissa = metres / 10 ** math.floor(math.log10(metres))
    assert round(mantissa, 6) in (1.0, 2.0, 5.0)
    assert 60 <= bar["px"] <= 160  # map units (the SVG's viewBox)
    # the bar's metres per map unit, against two landmarks' geodesic distance on the map
    marks = tab.js(
        "[...document.querySelectorAll('#map circle.landmark')]"
        ".map(c => [c.dataset.id, c.cx.baseVal.value, c.cy.baseVal.value])"
    )
    reg = json.loads((reports[case]["registry"]).read_text())
    pos = {f["id"]: f["geometry"]["coordinates"] for f in reg["features"] if f["geometry"]}
    (a, ax, ay), (b, bx, by) = max(
        ((m, n) for i, m in enumerate(marks) for n in marks[i + 1 :]),
        key=lambda mn: math.hypot(mn[0][1] - mn[1][1], mn[0][2] - mn[1][2]),
    )
    geodesic_m = Geodesic.WGS84.Inverse(pos[a][1], pos[a][0], pos[b][1], pos[b][0])["s12"]
    metres_per_unit = geodesic_m / math.hypot(ax - bx, ay - by)
    assert bar["px"] * metres_per_unit == pytest.approx(metres, rel=SCALE_TOL)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["osm", "supported"])
def test_an_osm_registry_is_the_basemap(reports, browser, case):
    tab = _open(browser, reports[case]["folder"] / "report.html", 1280)
    drawn = tab.js("[...document.querySelectorAll('#map .basemap title')].map(t => t.textContent)")
    reg = json.loads(reports[case]["registry"].read_text())
    osm_lines = {
        f["properties"]["name"]
        for f in reg["features"]
        if f["geometry"]
        and f["geometry"]["type"] != "Point"
        and any(s.get("kind") == "osm" for s in f["properties"].get("sources", []))
    }
    if case == "supported":  # samples/berlin: surveyed points, nothing from OpenStreetMap
        assert drawn == []
        return
    assert len(set(drawn)) >= 20  # the streets and squares around the statue
    assert set(drawn) <= osm_lines  # each one a line or area of the registry, by its name
    assert "Aleksis Kiven muistopatsas" not in drawn  # the landmark is a landmark, not basemap


@pytest.fixture(scope="module")
def batch_index(tmp_path_factory) -> Path:
    """A batch of two files against the Berlin case: a photograph that matches the Dom, and
    the iPhone clip filmed 2,854 km away (its index.html is what an editor triages from)."""
    from geoverify.batch import verify_batch

    out = tmp_path_factory.mktemp("batch") / "out"
    verify_batch(
        [BERLIN / "photos" / "berlin_01.jpg", VIDEO_DATA / "iphone6_with-gps.mov"],
        registry=BERLIN / "registry.geojson",
        claims=BERLIN / "claims.yaml",
        out=out,
        workers=1,
        affine="off",
        frames=FrameOptions(best=2),
    )
    return out / "index.html"


@pytest.mark.slow
@pytest.mark.parametrize("width_px", WIDTHS_PX)
def test_the_batch_index_reads_at_every_width(batch_index, browser, width_px):
    tab = _open(browser, batch_index, width_px)
    overflow = tab.js(_OVERFLOW)
    assert overflow <= 0, (width_px, overflow)
    links = tab.js(
        "[...document.querySelectorAll('a')].filter(a => a.href.endsWith('report.html'))"
        ".map(a => [a.getAttribute('href'), a.getBoundingClientRect().right])"
    )
    assert len(links) == 2  # one report per file
    for href, right in links:
        assert right <= tab.js(
            "document.documentElement.clientWidth"
        )  # the link is on screen, not scrolled off
        assert (batch_index.parent / href).is_file()
    assert tab.problems() == []
    _close(browser, batch_index.as_uri())


@pytest.mark.slow
@pytest.mark.parametrize("case", ["seed", "supported"])
def test_the_report_prints(reports, browser, case):
    """An editor prints the report or saves it as a PDF: A4, colours kept, nothing cut off."""
    page = reports[case]["folder"] / "report.html"
    # A4 less the page's 1.5 cm margins: 21 cm - 3 cm = 18 cm = 680 CSS px
    tab = _open(browser, page, 680)
    browser.call("Emulation.setEmulatedMedia", {"media": "print"}, session=tab.s)
    overflow = tab.js(_OVERFLOW)
    assert overflow <= 0
    kept = tab.js("getComputedStyle(document.querySelector('#bottom-line')).printColorAdjust")
    assert kept == "exact"  # the verdict's colour survives "background graphics: off"
    for selector in ("#map", "#world-inset"):
        found = _boxes(tab, selector)
        if found is not None:
            assert _label_problems(found) == [], selector
    pdf = browser.call("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69}, session=tab.s)
    data = base64.b64decode(pdf["data"])
    assert data.startswith(b"%PDF-")
    assert tab.problems() == []
    _close(browser, page.as_uri())
