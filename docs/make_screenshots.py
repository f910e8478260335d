"""Make docs/report_berlin.png and docs/report_seed.png: the report as an editor first sees it.

The Berlin demo (what ``make demo`` verifies: samples/berlin/walk.mp4 against its registry and
claims) and the seed case (samples/karma/karma.mp4 against samples/bakhmut), each verified with
the clock fixed, rendered by Debian's Chromium headless at 1280 px: the top of the page (the
bottom line and the lines of evidence) and the map (from the "Content analysis: map" heading),
stacked into one PNG of 256 colours, at 3/4 scale. Run from the repository's root:

    .venv/bin/python docs/make_screenshots.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from geoverify.pipeline import save_verification, verify

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CASES = {
    "report_berlin.png": (
        ROOT / "samples" / "berlin" / "walk.mp4",
        ROOT / "samples" / "berlin" / "registry.geojson",
        ROOT / "samples" / "berlin" / "claims.yaml",
    ),
    "report_seed.png": (
        ROOT / "samples" / "karma" / "karma.mp4",
        ROOT / "samples" / "bakhmut" / "registry.geojson",
        ROOT / "samples" / "bakhmut" / "claims.yaml",
    ),
}
WIDTH_PX, TOP_PX, MAP_PX = 1280, 760, 700


def _shot(chromium: str, page: str, height_px: int, out: Path, profile: Path) -> Image.Image:
    cmd = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        "--disable-background-networking", "--no-first-run", "--proxy-server=127.0.0.1:9",
        f"--user-data-dir={profile}", f"--window-size={WIDTH_PX},{height_px}",
        f"--screenshot={out}", page,
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return Image.open(out).convert("RGB")


def _map_page(folder: Path) -> str:
    """Write the report's map section as a page of its own (same styles); return its URI."""
    html = (folder / "report.html").read_text(encoding="utf-8")
    head = html[: html.index("<body>") + len("<body>")]
    start = html.index('<h2 id="content">')
    end = html.index("<table", html.index('<div class="maps">'))
    page = folder / "map_only.html"
    page.write_text(head + html[start:end] + "</body></html>", encoding="utf-8")
    return page.as_uri()


def main() -> None:
    """Verify both cases and write their screenshots beside this script."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("make test installs Debian's chromium")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, (media, registry, claims) in CASES.items():
            result = verify(media, registry=registry, claims=claims, now=NOW)
            save_verification(result, work / name)
            page = (work / name / "report.html").as_uri()
            top = _shot(chromium, page, TOP_PX, work / "top.png", work / "profile")
            on_map = _shot(
                chromium, _map_page(work / name), MAP_PX, work / "map.png", work / "profile"
            )
            sheet = Image.new("RGB", (WIDTH_PX, TOP_PX + MAP_PX), "white")
            sheet.paste(top, (0, 0))
            sheet.paste(on_map, (0, TOP_PX))
            small = sheet.resize((WIDTH_PX * 3 // 4, (TOP_PX + MAP_PX) * 3 // 4), Image.LANCZOS)
            small.quantize(colors=256).save(Path(__file__).with_name(name), optimize=True)


if __name__ == "__main__":
    main()
