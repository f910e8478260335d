"""The point picker (`geoverify pick`): the page it writes, and real clicks in a real browser.

The browser tests drive Debian's Chromium headless through its DevTools protocol over a pipe
(``--remote-debugging-pipe``: JSON messages ending in a NUL byte, read on fd 3 and answered on
fd 4), no extra dependency: real mouse presses and releases, a wheel, a drag and typed text,
at on-screen spots computed from the image element's own box for frame pixels known in advance
(the surveyed points of samples/berlin/photos/berlin_gcp_list.txt in berlin_01.jpg). The page
must give those pixels back within ``TOLERANCE_PX`` frame pixels, with the frame shown at about
a quarter of its size and again zoomed in, and the file its Save button downloads must be read
by ``read_points`` and resect the camera as test_locate does from the same points.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import math
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import ROOT
from geographiclib.geodesic import Geodesic
from PIL import Image
from shapely.geometry import Point
from typer.testing import CliRunner

from geoverify.cli import app
from geoverify.probing import read_photo
from geoverify.registry import Landmark, Registry, save_registry
from geoverify.resection import LocateOptions, locate, pick_page, read_points, write_pick_page

BERLIN = ROOT / "samples" / "berlin"
PHOTO = BERLIN / "photos" / "berlin_01.jpg"  # 3264x2448, upright
REGISTRY = BERLIN / "registry.geojson"
EXIF_GPS_01 = (52.5189166666667, 13.4002944444444)  # the phone's own fix (test_locate)
# The page keeps a point to 0.1 px and reads pointer events, which keep fractions of a screen
# pixel, so a click lands within 0.05 frame px of the spot (measured: at most 0.046 px, with
# the frame at 21 % and at 82 %; one screen pixel is 4.7 frame pixels at 21 %). 1 frame px
# leaves room for layout rounding (Chromium lays out in 1/64 px) on another screen.
TOLERANCE_PX = 1.0
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)> </title> javascript:alert(3)'
CSP_REST = "img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
runner = CliRunner()


def _gcp_01() -> list[tuple[float, float, float, float, float]]:
    """(lat, lon, alt_m, x_px, y_px) of the surveyed points seen in berlin_01.jpg."""
    rows = []
    for line in (BERLIN / "photos" / "berlin_gcp_list.txt").read_text().splitlines()[1:]:
        lon, lat, alt, x, y, shot = line.split()
        if shot == "01.jpg":
            rows.append((float(lat), float(lon), float(alt), float(x), float(y)))
    return rows


# --- the page, without a browser ------------------------------------------------------------


class _Parsed(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        else:
            self.text.append(data)


def _parse(html: str) -> _Parsed:
    parsed = _Parsed()
    parsed.feed(html)
    return parsed


def _page_data(parsed: _Parsed) -> dict[str, Any]:
    (block,) = [t for a, t in parsed.scripts if a.get("type") == "application/json"]
    return json.loads(block)


def test_cli_writes_one_self_contained_page(tmp_path):
    out = tmp_path / "points.html"
    result = runner.invoke(
        app, ["pick", str(PHOTO), "--registry", str(REGISTRY), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    html = out.read_text(encoding="utf-8")
    parsed = _parse(html)
    # two scripts: the data (JSON, never run) and the code, allowed by its hash and nothing else
    (code,) = [t for a, t in parsed.scripts if not a]
    assert len(parsed.scripts) == 2
    digest = base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode()
    (csp,) = [
        a["content"] for t, a in parsed.tags if a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert csp == f"default-src 'none'; script-src 'sha256-{digest}'; {CSP_REST}"
    # nothing to fetch: no src, href or url() but the frame's data: URI
    links = [(t, k, v) for t, a in parsed.tags for k, v in a.items() if k in ("src", "href")]
    assert [(t, k) for t, k, _ in links] == [("img", "src")]
    assert links[0][2].startswith("data:image/jpeg;base64,")
    assert "url(" not in html
    assert not re.search(r"https?://", html)
    assert not [k for _, a in parsed.tags for k in a if k.startswith("on")]
    data = _page_data(parsed)
    assert data["frame"] | {"sha256": ""} == {
        "name": "berlin_01.jpg", "width": 3264, "height": 2448, "sha256": ""
    }  # fmt: skip
    assert data["frame"]["sha256"] == hashlib.sha256(PHOTO.read_bytes()).hexdigest()
    assert [lm["id"] for lm in data["landmarks"]][:1] == ["berliner_dom"]
    assert data["header"] == ["x_px", "y_px", "landmark", "lat", "lon", "alt_m", "sigma_m"]
    # the frame, full resolution and upright: the pixels geoverify decodes (JPEG again, q92)
    shown = cv2.imdecode(
        np.frombuffer(base64.b64decode(links[0][2].split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR
    )
    decoded, _ = read_photo(PHOTO)
    assert shown.shape == decoded.shape == (2448, 3264, 3)
    assert float(np.mean(np.abs(shown.astype(float) - decoded))) < 3.0


def test_the_exif_orientation_is_applied(tmp_path):
    # stored 60x20, EXIF orientation 6 (shown turned 90 degrees clockwise): the page shows and
    # counts 20x60, with the stored top-left corner (red) at the top right
    stored = np.zeros((20, 60, 3), np.uint8)
    stored[:10, :30] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "turned.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    html = pick_page(path)
    data = _page_data(_parse(html))
    assert (data["frame"]["width"], data["frame"]["height"]) == (20, 60)
    (src,) = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', html)
    shown = cv2.imdecode(np.frombuffer(base64.b64decode(src), np.uint8), cv2.IMREAD_COLOR)
    assert shown.shape[:2] == (60, 20)
    assert shown[5, 15, 2] > 200
    assert shown[5, 5, 2] < 60


def test_a_png_frame_is_shown_pixel_for_pixel(tmp_path):
    # a frame saved by `geoverify frames` is PNG: it stays lossless on the page
    frame = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), frame)
    (src,) = re.findall(r'src="data:image/png;base64,([^"]+)"', pick_page(path))
    shown = cv2.imdecode(np.frombuffer(base64.b64decode(src), np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(shown, frame)


def test_an_existing_out_is_refused_without_overwrite(tmp_path):
    out = tmp_path / "points.html"
    out.write_text("mine")
    args = ["pick", str(PHOTO), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 7
    assert "[E_OUTPUT_EXISTS]" in result.stderr
    assert out.read_text() == "mine"
    as_json = runner.invoke(app, [*args, "--json"])
    assert as_json.exit_code == 7
    assert json.loads(as_json.stdout)["error"]["code"] == "E_OUTPUT_EXISTS"
    replaced = runner.invoke(app, [*args, "--overwrite", "--json"])
    assert replaced.exit_code == 0, replaced.output
    assert json.loads(replaced.stdout) == {"out": str(out)}
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_out_is_never_an_input_nor_a_link(tmp_path):
    registry = tmp_path / "r.geojson"
    shutil.copy(REGISTRY, registry)
    before = registry.read_bytes()
    for out in (registry, PHOTO):
        result = runner.invoke(
            app,
            ["pick", str(PHOTO), "--registry", str(registry), "--out", str(out), "--overwrite"],
        )
        assert result.exit_code == 7
        assert "[E_OUTPUT_HOLDS_INPUT]" in result.stderr
    assert registry.read_bytes() == before
    link = tmp_path / "link.html"
    link.symlink_to(tmp_path / "elsewhere.html")
    result = runner.invoke(app, ["pick", str(PHOTO), "--out", str(link), "--overwrite"])
    assert result.exit_code == 7
    assert "[E_OUTPUT_SYMLINK]" in result.stderr
    assert not (tmp_path / "elsewhere.html").exists()


def test_a_video_is_refused_with_exit_3(tmp_path):
    out = tmp_path / "points.html"
    video = ROOT / "samples" / "karma" / "karma.mp4"  # committed (walk.mp4 is made by make demo)
    result = runner.invoke(app, ["pick", str(video), "--out", str(out)])
    assert result.exit_code == 3
    assert "[E_PICK_NOT_STILL]" in result.stderr
    assert "geoverify frames" in result.stderr
    assert not out.exists()


def _hostile_registry(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.geojson"
    landmarks = (
        Landmark(id="dom", name=HOSTILE, geometry=Point(13.4007, 52.5193)),
        Landmark(id='a,"b" </script>', name="comma", geometry=Point(13.4005, 52.5192)),
        Landmark(id="nowhere", name=HOSTILE),  # no position: not offered
    )
    save_registry(Registry(name=HOSTILE, landmarks=landmarks), path)
    return path


def test_registry_and_file_names_stay_text(tmp_path):
    photo = tmp_path / "<img src=x onerror=alert(1)>.jpg"
    shutil.copy(PHOTO, photo)
    out = tmp_path / "p.html"
    write_pick_page(photo, out, registry=_hostile_registry(tmp_path))
    html = out.read_text(encoding="utf-8")
    parsed = _parse(html)
    assert [t for t, _ in parsed.tags].count("script") == 2
    assert [t for t, _ in parsed.tags].count("img") == 1
    assert not [k for _, a in parsed.tags for k in a if k.startswith("on")]
    assert HOSTILE not in html
    (block,) = [t for a, t in parsed.scripts if a.get("type") == "application/json"]
    assert "<" not in block
    assert ">" not in block
    assert "&" not in block
    data = _page_data(parsed)
    assert data["registry"] == HOSTILE
    assert {lm["id"]: lm["name"] for lm in data["landmarks"]} == {
        "dom": HOSTILE,
        'a,"b" </script>': "comma",
    }
    assert data["no_position"] == 1
    assert data["frame"]["name"] == photo.name
    assert any(HOSTILE in t for t in parsed.text)  # the registry's name, shown as text


# --- the page in a real browser -----------------------------------------------------------


class DevTools:
    """Chromium headless, driven over ``--remote-debugging-pipe`` (fd 3 in, fd 4 out)."""

    def __init__(self, profile: Path, width: int = 1400, height: int = 900) -> None:
        to_child, self._w = os.pipe()
        self._r, from_child = os.pipe()

        def fds_3_and_4() -> None:  # in the child: its ends of the pipes become fds 3 and 4
            a = fcntl.fcntl(to_child, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_child, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        cmd = [
            str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-quic", f"--user-data-dir={profile}",
            "--proxy-server=127.0.0.1:9", f"--window-size={width},{height}",
            "--remote-debugging-pipe", "about:blank",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd,
            pass_fds=(3, 4),
            preexec_fn=fds_3_and_4,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.events: list[dict[str, Any]] = []
        self._id = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buf = b""
        while chunk := os.read(self._r, 1 << 16):
            buf += chunk
            *messages, buf = buf.split(b"\0")
            for m in messages:
                self._inbox.put(json.loads(m))
        self._inbox.put(None)

    def _next(self, deadline: float) -> dict[str, Any]:
        try:
            m = self._inbox.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError("no answer from Chromium") from None
        if m is None:
            raise RuntimeError("Chromium closed the pipe")
        return m

    def call(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + 20
        while True:
            m = self._next(deadline)
            if m.get("id") == self._id:
                assert "error" not in m, (method, m["error"])
                return m["result"]
            self.events.append(m)

    def wait_for(
        self, method: str, test: Any = None, *, session: str = "", since: int = 0
    ) -> dict[str, Any]:
        """Wait for an event of ``session`` (from the ``since``-th event on) passing ``test``."""
        deadline = time.monotonic() + 20
        seen = since
        while True:
            for e in self.events[seen:]:
                if (
                    e.get("method") == method
                    and e.get("sessionId", "") == session
                    and (test is None or test(e["params"]))
                ):
                    return e
            seen = len(self.events)
            self.events.append(self._next(deadline))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close")
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        self._reader.join(10)
        os.close(self._r)


class Tab:
    """One page of the browser: evaluate, and real mouse and keyboard input at CSS pixels."""

    def __init__(self, browser: DevTools, uri: str) -> None:
        self.b = browser
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.s = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable", session=self.s)
        metrics = {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False}
        browser.call("Emulation.setDeviceMetricsOverride", metrics, session=self.s)
        since = len(browser.events)
        browser.call("Page.navigate", {"url": uri}, session=self.s)
        browser.wait_for("Page.loadEventFired", session=self.s, since=since)

    def until(self, expression: str) -> Any:
        """Evaluate until the value is truthy (input the page handles in a later task)."""
        for _ in range(200):
            if value := self.js(expression):
                return value
            time.sleep(0.01)
        raise TimeoutError(expression)

    def events(self, *methods: str) -> list[dict[str, Any]]:
        return [
            e["params"]
            for e in self.b.events
            if e.get("sessionId") == self.s and e.get("method") in methods
        ]

    def js(self, expression: str) -> Any:
        params = {"expression": expression, "returnByValue": True, "awaitPromise": True}
        result = self.b.call("Runtime.evaluate", params, session=self.s)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def box(self, selector: str) -> dict[str, float]:
        q = json.dumps(selector)
        return self.js(
            f"JSON.parse(JSON.stringify(document.querySelector({q}).getBoundingClientRect()))"
        )

    def mouse(self, kind: str, x: float, y: float, **more: Any) -> None:
        params = {"type": kind, "x": x, "y": y, **more}
        self.b.call("Input.dispatchMouseEvent", params, session=self.s)

    def click(self, x: float, y: float) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            self.mouse(kind, x, y, button="left", buttons=1, clickCount=1)

    def click_on(self, selector: str) -> None:
        """Click the middle of an element, which must be visible there (not scrolled off)."""
        r = self.box(selector)
        x, y = r["x"] + r["width"] / 2, r["y"] + r["height"] / 2
        q = json.dumps(selector)
        assert self.js(f"document.elementFromPoint({x}, {y}) === document.querySelector({q})")
        self.click(x, y)

    def drag(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.mouse("mousePressed", x0, y0, button="left", buttons=1, clickCount=1)
        for t in (0.25, 0.5, 0.75, 1.0):
            self.mouse(
                "mouseMoved", x0 + t * (x1 - x0), y0 + t * (y1 - y0), button="left", buttons=1
            )
        self.mouse("mouseReleased", x1, y1, button="left", buttons=1, clickCount=1)

    def type(self, text: str) -> None:
        self.b.call("Input.insertText", {"text": text}, session=self.s)

    def on_screen(self, x_px: float, y_px: float) -> tuple[float, float]:
        """Where frame pixel (x_px, y_px) is on screen now: from the image element's box."""
        r = self.box("#frame")
        return r["x"] + x_px * r["width"] / 3264, r["y"] + y_px * r["height"] / 2448

    def problems(self) -> list[str]:
        """Console output, exceptions, errors and warnings, dialogs: a clean page has none."""
        found = [f"console.{e['type']}" for e in self.events("Runtime.consoleAPICalled")]
        found += [e["exceptionDetails"]["text"] for e in self.events("Runtime.exceptionThrown")]
        found += [
            e["entry"]["text"]
            for e in self.events("Log.entryAdded")
            if e["entry"]["level"] in ("error", "warning")
        ]
        found += [e["message"] for e in self.events("Page.javascriptDialogOpening")]
        return found

    def requests(self) -> list[str]:
        return [e["request"]["url"] for e in self.events("Network.requestWillBeSent")]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("make test installs Debian's chromium")
    b = DevTools(tmp_path_factory.mktemp("profile"))
    yield b
    b.close()


def _shown_like_the_frame(tab: Tab) -> tuple[float, float]:
    """Correlate the screen inside the image's box with the frame, as is and upside down."""
    r = tab.box("#frame")
    clip = {"x": r["x"], "y": r["y"], "width": r["width"], "height": r["height"], "scale": 1}
    shot = tab.b.call("Page.captureScreenshot", {"format": "png", "clip": clip}, session=tab.s)
    screen = cv2.imdecode(
        np.frombuffer(base64.b64decode(shot["data"]), np.uint8), cv2.IMREAD_GRAYSCALE
    ).astype(float)
    frame = cv2.cvtColor(read_photo(PHOTO)[0], cv2.COLOR_BGR2GRAY)
    size = (screen.shape[1], screen.shape[0])
    expected = cv2.resize(frame, size, interpolation=cv2.INTER_AREA).astype(float)
    return (
        float(np.corrcoef(screen.ravel(), expected.ravel())[0, 1]),
        float(np.corrcoef(screen.ravel(), expected[::-1, ::-1].ravel())[0, 1]),
    )


def _mark(tab: Tab, x_px: float, y_px: float, lat: float, lon: float, alt: float) -> None:
    """Click the frame at a frame pixel, then type the point's position into its new row."""
    count = tab.js("geoverifyPick.points().length")
    sx, sy = tab.on_screen(x_px, y_px)
    view = tab.box("#view")
    assert view["left"] + 5 < sx < view["right"] - 5
    assert view["top"] + 5 < sy < view["bottom"] - 5
    tab.click(sx, sy)
    n = count + 1
    assert tab.js("geoverifyPick.points().length") == n
    tab.click_on(f"#rows tr:nth-child({n}) td:nth-child(5) input")  # lat
    tab.type(f"{lat!r}, {lon!r}")  # the pair typed into lat fills lon too
    tab.click_on(f"#rows tr:nth-child({n}) td:nth-child(7) input")  # alt_m
    tab.type(repr(alt))


def _bring_into_view(tab: Tab, x_px: float, y_px: float) -> None:
    """Drag the frame (a pan, which adds no point) until the frame pixel is mid-view."""
    view = tab.box("#view")
    cx, cy = view["x"] + view["width"] / 2, view["y"] + view["height"] / 2
    sx, sy = tab.on_screen(x_px, y_px)
    count = tab.js("geoverifyPick.points().length")
    tab.drag(cx, cy, cx + (cx - sx), cy + (cy - sy))
    assert tab.js("geoverifyPick.points().length") == count


def test_clicks_give_frame_pixels_at_any_zoom_and_save_a_points_file(browser, tmp_path):
    page = tmp_path / "points.html"
    write_pick_page(PHOTO, page, registry=REGISTRY)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.call(
        "Browser.setDownloadBehavior",
        {"behavior": "allow", "downloadPath": str(downloads), "eventsEnabled": True},
    )
    tab = Tab(browser, page.as_uri())
    gcp = _gcp_01()
    assert len(gcp) == 10
    # shown whole, at about a quarter of its size: 1 screen pixel is 4 frame pixels
    fit = tab.js("geoverifyPick.view().scale")
    assert 0.15 < fit < 0.3
    # the image's box is where the frame is drawn, upright (not turned, not mirrored)
    same, turned = _shown_like_the_frame(tab)
    assert same > 0.95
    assert turned < 0.5
    for lat, lon, alt, x, y in gcp[:6]:
        _mark(tab, x, y, lat, lon, alt)
    # zoomed in with the wheel (six notches about the view's centre), panned by dragging
    view = tab.box("#view")
    for _ in range(6):
        tab.mouse(
            "mouseWheel", view["x"] + view["width"] / 2, view["y"] + 200, deltaX=0, deltaY=-100
        )
    zoomed = tab.until(
        f"geoverifyPick.view().scale > {fit * 1.25**5.5} && geoverifyPick.view().scale"
    )
    assert zoomed == pytest.approx(fit * 1.25**6)
    for lat, lon, alt, x, y in gcp[6:]:
        _bring_into_view(tab, x, y)
        _mark(tab, x, y, lat, lon, alt)
    assert tab.js("geoverifyPick.view().scale") == zoomed  # drags pan, never zoom
    # a landmark from the registry's list, then deleted with its row's button
    view = tab.box("#view")
    tab.click(view["x"] + view["width"] / 2, view["y"] + view["height"] / 2)
    assert tab.js("geoverifyPick.points().length") == 11
    options = tab.js(
        "[...document.querySelector('#rows tr:last-child select').options].map(o => o.text)"
    )
    assert "Berliner Dom (berliner_dom)" in options
    tab.js(
        "(() => { const s = document.querySelector('#rows tr:last-child select');"
        " s.value = 'berliner_dom'; s.dispatchEvent(new Event('change')); })()"
    )
    assert tab.js("geoverifyPick.csv()").splitlines()[-1].endswith(",berliner_dom,,,,")
    tab.click_on("#rows tr:last-child button")
    points = tab.js("geoverifyPick.points()")
    assert [p["n"] for p in points] == list(range(1, 11))
    off_px = [
        max(abs(p["x_px"] - x), abs(p["y_px"] - y))
        for p, (*_, x, y) in zip(points, gcp, strict=True)
    ]
    assert max(off_px) <= TOLERANCE_PX, off_px  # 6 clicks at about 21 %, 4 at about 82 %
    table = tab.js(
        "[...document.querySelectorAll('#rows tr')]"
        ".map(r => [Number(r.cells[1].textContent), Number(r.cells[2].textContent)])"
    )
    assert table == [[p["x_px"], p["y_px"]] for p in points]
    # the Save button, clicked: the download is the page's CSV and read_points reads it
    csv = tab.js("geoverifyPick.csv()")
    tab.click_on("#save")
    browser.wait_for("Browser.downloadProgress", lambda p: p["state"] == "completed")
    saved = downloads / "berlin_01.points.csv"
    assert saved.read_text(encoding="utf-8") == csv
    rows = read_points(saved)
    for row, (lat, lon, alt, x, y) in zip(rows, gcp, strict=True):
        assert row.landmark is None
        assert row.position is not None
        assert (row.position.lat, row.position.lon, row.alt_m) == (lat, lon, alt)
        assert math.hypot(row.x_px - x, row.y_px - y) <= TOLERANCE_PX * math.sqrt(2)
    fix = locate(PHOTO, saved, options=LocateOptions(samples=50))
    off = Geodesic.WGS84.Inverse(*EXIF_GPS_01, fix.camera.lat, fix.camera.lon)["s12"]
    assert off < 5.0  # as from the surveyed pixels themselves (2.9 m, test_locate)
    # no console message, no error, no CSP violation; no request but the page and its frame
    assert tab.problems() == []
    assert {u.split(":", 1)[0] for u in tab.requests()} <= {"file", "data", "blob"}
    # and the policy is in force: an image from the network is refused, never fetched
    refused = tab.js(
        "new Promise(ok => { document.addEventListener('securitypolicyviolation',"
        " e => ok(e.effectiveDirective), {once: true});"
        " const i = new Image(); i.src = 'http://example.invalid/x.png'; })"
    )
    assert refused == "img-src"
    (out,) = [
        e for e in tab.events("Network.requestWillBeSent") if e["request"]["url"][:4] == "http"
    ]
    blocked = browser.wait_for(
        "Network.loadingFailed", lambda p: p["requestId"] == out["requestId"], session=tab.s
    )
    assert blocked["params"]["blockedReason"] == "csp"


def test_hostile_registry_text_shows_as_text_and_ids_round_trip(browser, tmp_path):
    page = tmp_path / "hostile.html"
    write_pick_page(PHOTO, page, registry=_hostile_registry(tmp_path))
    tab = Tab(browser, page.as_uri())
    assert tab.js("document.querySelectorAll('option').length") == 0  # a list per point
    sx, sy = tab.on_screen(1000.0, 1000.0)
    tab.click(sx, sy)
    texts = tab.js(
        "[...document.querySelectorAll('#rows select option')].map(o => [o.value, o.text])"
    )
    assert texts[1:] == [
        ["dom", f"{HOSTILE} (dom)"],
        ['a,"b" </script>', 'comma (a,"b" </script>)'],
    ]
    assert tab.js("document.querySelectorAll('img').length") == 1
    tab.js(
        "(() => { const s = document.querySelector('#rows select');"
        " s.value = 'a,\"b\" </script>'; s.dispatchEvent(new Event('change')); })()"
    )
    saved = tmp_path / "p.csv"
    saved.write_text(tab.js("geoverifyPick.csv()"), encoding="utf-8")
    (row,) = read_points(saved)
    assert row.landmark == 'a,"b" </script>'
    assert abs(row.x_px - 1000.0) <= TOLERANCE_PX
    assert abs(row.y_px - 1000.0) <= TOLERANCE_PX
    assert tab.problems() == []
    assert {u.split(":", 1)[0] for u in tab.requests()} <= {"file", "data"}
