"""Build geoverify's background set of negative-control photographs from Debian packages.

The photographs come from six Debian bookworm packages (wallpaper packages and OpenCV's sample
data), each file's author and licence as the package's ``copyright`` file (or the wallpaper's
own ``metadata.json``) states them. Every image is scaled to at most 1024 pixels on its longer
side (INTER_AREA) and written as JPEG at quality 88, so the set stays under 20 MB; nothing else
is changed. ``manifest.json`` lists each file with its SHA-256, source package and version,
path inside the package, author and licence; ``PROVENANCE.md`` says the same for people.

Run it by hand (it downloads the packages with ``apt-get download``, a fetch the user asks
for); geoverify itself never downloads anything::

    python samples/background/build_background_set.py geoverify/data/background

The output is deterministic for the same packages and OpenCV version.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2

# (package, version, path in the package, author, licence, what it shows)
P16 = "usr/share/backgrounds"
PLASMA = "usr/share/wallpapers"
MATE = "usr/share/backgrounds/mate/nature"
CV = "usr/share/doc/opencv-doc/examples/data"
SOURCES: list[tuple[str, str, str, str, str, str]] = [
    ("lomiri-wallpapers-16.04", "20.04.0-2", f"{P16}/Bridge_by_Sander_Klootwijk.jpg",
     "Sander Klootwijk", "CC-BY-SA-4.0", "bridge cables over water"),
    ("lomiri-wallpapers-16.04", "20.04.0-2", f"{P16}/Dragonfly_by_Bolly.jpg",
     "Bolly", "CC-BY-SA-4.0", "dragonfly on a branch"),
    ("lomiri-wallpapers-16.04", "20.04.0-2", f"{P16}/Picture_0B_by_freespace.jpg",
     'Trevor "Freespace"', "CC-BY-4.0", "a fig on a plate"),
    ("lomiri-wallpapers-16.04", "20.04.0-2", f"{P16}/Picture_1A_by_freespace.jpg",
     'Trevor "Freespace"', "CC-BY-4.0", "brushes"),
    ("lomiri-wallpapers-16.04", "20.04.0-2", f"{P16}/Wine_by_Jakkub_Mede.jpg",
     "Jakub Mede", "CC-BY-4.0", "a room with a table and a bottle"),
    ("lomiri-wallpapers-16.04", "20.04.0-2", f"{P16}/aitzgorri_by_Aitzol_Berasategi.jpg",
     "Aitzol Berasategi", "CC-BY-4.0", "mountain landscape"),
    ("lomiri-wallpapers-16.04", "20.04.0-2", f"{P16}/analogpattern_by_Peter_Nerlich.jpg",
     "Peter Nerlich", "CC-BY-SA-4.0", "textured surface"),
    ("lomiri-wallpapers-16.04", "20.04.0-2", f"{P16}/free_by_Peter_Nerlich.jpg",
     "Peter Nerlich", "CC-BY-SA-4.0", "lamps and a bird"),
    ("lomiri-wallpapers-16.04", "20.04.0-2", f"{P16}/friends_by_Aitzol_Berasategi.jpg",
     "Aitzol Berasategi", "CC-BY-4.0", "a dog at a house window"),
    ("lomiri-wallpapers-16.04", "20.04.0-2", f"{P16}/greentock_by_Peter_Nerlich.jpg",
     "Peter Nerlich", "CC-BY-SA-4.0", "a clock face"),
    ("lomiri-wallpapers-16.04", "20.04.0-2", f"{P16}/life_by_Aitzol_Berasategi.jpg",
     "Aitzol Berasategi", "CC-BY-4.0", "a stream among rocks"),
    ("lomiri-wallpapers-16.04", "20.04.0-2", f"{P16}/picosdeeuropa_by_Aitzol_Berasategi.jpg",
     "Aitzol Berasategi", "CC-BY-4.0", "mountains (Picos de Europa)"),
    ("lomiri-wallpapers-16.04", "20.04.0-2", f"{P16}/seeding_by_Clements_Engelhardt.jpg",
     "Clemens Engelhardt", "CC0-1.0", "dandelions in a meadow"),
    ("lomiri-wallpapers-16.04", "20.04.0-2", f"{P16}/sunset_by_Aitzol_Berasategi.jpg",
     "Aitzol Berasategi", "CC-BY-4.0", "sunset over hills"),
    ("lomiri-wallpapers-20.04", "20.04.0-2", f"{P16}/Kleiber_by_Lukas_Baubkus.jpg",
     "Lukas Baubkus", "CC-BY-SA-3.0", "a bird on a tree trunk"),
    ("lomiri-wallpapers-20.04", "20.04.0-2", f"{P16}/Infinite-Sea_by_Aury88.jpg",
     "Aury88", "CC-BY-SA-3.0", "night sky over a landscape"),
    *(
        ("plasma-workspace-wallpapers", "4:5.27.5-2", f"{PLASMA}/{name}/contents/images/{size}",
         author, "LGPL-3.0", what)
        for name, size, author, what in [
            ("BytheWater", "1920x1080.jpg", "Maciej Wiklo", "a lake shore"),
            ("ColdRipple", "1920x1080.jpg", "Risto Saukonpää", "a pier in fog"),
            ("ColorfulCups", "2560x1600.jpg", "Dmitri Popov", "stacked cups"),
            ("EveningGlow", "1920x1080.jpg", "Ian Hex", "rowing boats on a lake shore"),
            ("FallenLeaf", "1920x1080.jpg", "Martin Klapetek", "autumn leaves"),
            ("Grey", "1920x1080.jpg", "Sigi Sagi", "a building facade"),
            ("Kite", "1920x1080.jpg", "Risto Saukonpää", "a kite in the sky"),
            ("OneStandsOut", "1920x1080.jpg", "Risto Saukonpää", "plants from above"),
            ("Path", "1920x1080.jpg", "Risto Saukonpää", "a forest path"),
            ("summer_1am", "1920x1080.jpg", "Risto Saukonpää", "a lake at night"),
        ]
    ),
    *(
        ("mate-backgrounds", "1.26.0-1", f"{MATE}/{name}", author, "GPL-2.0-or-later", what)
        for name, author, what in [
            ("Aqua.jpg", "Charles Barbin", "a water drop"),
            ("Blinds.jpg", "Lennart Poettering, Andrea Cimitan", "a leaf"),
            ("Dune.jpg", "Marco Cogoni, Hylke Bons", "grass on a dune by the sea"),
            ("FreshFlower.jpg", "Jens Ansorg", "a flower"),
            ("Garden.jpg", "Charles Barbin", "a garden flower"),
            ("GreenMeadow.jpg", "Timothy Schellhase, Lapo Calamandrei", "grass"),
            ("LadyBird.jpg", "Charles Barbin", "a ladybird on a plant"),
            ("RainDrops.jpg", "blackcombwhistler07", "rain drops on leaves"),
            ("Storm.jpg", "Sergey Nazarov", "storm clouds over a plain"),
            ("TwoWings.jpg", "Charles Barbin", "an insect on a flower"),
            ("Wood.jpg", "Jean-François Fortin Tam", "wood grain"),
            ("YellowFlower.jpg", "Charles Barbin", "a yellow flower"),
        ]
    ),
    *(
        ("opencv-doc", "4.6.0+dfsg-12", f"{CV}/{name}", "OpenCV sample data (Intel and others)",
         "Apache-2.0 AND BSD-3-Clause", what)
        for name, what in [
            ("building.jpg", "an office building"),
            ("home.jpg", "a house"),
            ("leuvenA.jpg", "a street in Leuven"),
        ]
    ),
]  # fmt: skip

MAX_SIDE_PX = 1024
JPEG_QUALITY = 88


def provenance(entries: list[dict[str, object]]) -> str:
    """Write the PROVENANCE.md text: where each photograph comes from, its author, licence."""
    lines = [
        "# Background set: negative-control photographs",
        "",
        "Real photographs of places, things and landscapes, none of them a registry landmark.",
        "geoverify matches a frame against them as negative controls when a registry holds too",
        "few references of its own to estimate a false-match rate (`MatchOptions.background`).",
        "",
        "Built by `samples/background/build_background_set.py` from Debian bookworm packages",
        f"(downloaded with `apt-get download`): each image scaled to at most {MAX_SIDE_PX} px on",
        f"its longer side (OpenCV INTER_AREA) and re-encoded as JPEG quality {JPEG_QUALITY}; no",
        "other change. Author and licence as the package's `copyright` file or the wallpaper's",
        "`metadata.json` give them. `manifest.json` holds the same with SHA-256 of both files.",
        "The licences are those of the originals (CC-BY and CC-BY-SA require this attribution;",
        "GPL/LGPL sources are the Debian packages named).",
        "",
        "| file | shows | author | licence | package (version): path |",
        "|---|---|---|---|---|",
    ]
    for e in entries:
        lines.append(
            f"| {e['file']} | {e['shows']} | {e['author']} | {e['licence']} | "
            f"{e['package']} ({e['version']}): `{e['path']}` |"
        )
    return "\n".join(lines) + "\n"


def main(out: Path) -> None:
    """Download the packages, scale the photographs and write the set to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    with tempfile.TemporaryDirectory() as tmp:
        packages = sorted({(p, v) for p, v, *_ in SOURCES})
        for package, version in packages:
            subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=tmp, check=True)
            deb = next(Path(tmp).glob(f"{package}_*.deb"))
            subprocess.run(["dpkg-deb", "-x", str(deb), str(Path(tmp) / package)], check=True)
        for package, version, path, author, licence, what in SOURCES:
            src = Path(tmp) / package / path
            image = cv2.imread(str(src), cv2.IMREAD_COLOR)
            if image is None:
                sys.exit(f"cannot read {src}")
            h, w = image.shape[:2]
            scale = min(1.0, MAX_SIDE_PX / max(h, w))
            size = (round(w * scale), round(h * scale))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            if not ok:
                sys.exit(f"cannot encode {src}")
            stem = (
                Path(path).stem if package != "plasma-workspace-wallpapers" else path.split("/")[3]
            )
            name = f"{package.split('-')[0]}_{stem}.jpg".lower()
            data = bytes(buf)
            (out / name).write_bytes(data)
            entries.append(
                {
                    "file": name,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "width": size[0],
                    "height": size[1],
                    "shows": what,
                    "author": author,
                    "licence": licence,
                    "package": package,
                    "version": version,
                    "path": path,
                    "original_sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
                }
            )
    manifest = {"schema": "geoverify.background/1", "images": entries}
    text = json.dumps(manifest, ensure_ascii=False, indent=1) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    (out / "PROVENANCE.md").write_text(provenance(entries), encoding="utf-8")
    print(f"{len(entries)} images, {sum((out / e['file']).stat().st_size for e in entries)} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "geoverify/data/background"))
