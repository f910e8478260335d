"""Make the verify benchmark's input: a 60 s 1080p30 "phone-like" clip and a 10-landmark registry.

GENERATED from real photographs (none made by the team; provenance and licences in
tests/data/README.md, tests/data/photos/PROVENANCE-*.md and samples/berlin/PROVENANCE.md):
six shots of 10 s, each a slow pan or zoom (with a small deterministic hand shake) over one
photograph, encoded with libx264 like a phone (High profile, ~12 Mb/s, a keyframe every 1 s,
no scene-cut keyframes, two threads, fixed options: the same bytes on every run).

| shot | s | photograph filmed | landmark | its reference (another photograph) |
|---|---|---|---|---|
| 1 | 0-10 | samples/berlin/photos/berlin_02.jpg | berliner_dom | berlin_03.jpg |
| 2 | 10-20 | tests/data/image_matching/aero3.jpg | aerial_view | aero1.jpg |
| 3 | 20-30 | tests/data/photos/apple_iphone6.jpg (forest floor) | none | - |
| 4 | 30-40 | tests/data/image_matching/graf3.png | graffiti_wall | graf1.png |
| 5 | 40-50 | tests/data/photos/nokia_lumia800.jpg (sunset sky) | none | - |
| 6 | 50-60 | tests/data/image_matching/leuvenB.jpg | leuven_street | leuvenA.jpg |

The registry has ten landmarks, each with one reference photograph; four are filmed, six are
not: box (OpenCV's box.png), a street sign in Alt Hammoor (sony_dsc-hx5v_2.jpg), a restaurant
receipt (apple_iphone4.jpg), coloured ribbons (C2PA test image A.jpg, bench/data/c2pa_A.jpg,
see its PROVENANCE.md), a road at Thompson Springs (immich_thompson-springs.jpg, 150 px)
and exiftool's GPS test picture (120 px). What they are, honestly: test photographs, mostly
not landmarks. A position is given only where a source gives one (the Berlin survey point; a
photograph's own EXIF GPS, the camera's position, labelled so); every other geometry is null.
Run: python bench/make_verify_clip.py [OUT_DIR]   (default bench/out/verify_clip)
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FPS, SHOT_S, W, H = 30, 10, 1920, 1080
IM = ROOT / "tests" / "data" / "image_matching"
PHOTOS = ROOT / "tests" / "data" / "photos"
BERLIN = ROOT / "samples" / "berlin" / "photos"
C2PA_A = ROOT / "bench" / "data" / "c2pa_A.jpg"

# (photograph, landmark or None, zoom from, zoom to, pan x from/to, pan y from/to): the
# window's centre moves in fractions of the spare width/height; zoom 1 fills the frame
SHOTS: tuple[tuple[Path, str | None, float, float, float, float, float, float], ...] = (
    (BERLIN / "berlin_02.jpg", "berliner_dom", 1.15, 1.25, -0.8, 0.8, 0.2, -0.2),
    (IM / "aero3.jpg", "aerial_view", 1.0, 1.3, 0.0, 0.2, 0.0, 0.1),
    (PHOTOS / "apple_iphone6.jpg", None, 1.1, 1.1, 0.8, -0.8, 0.0, 0.3),
    (IM / "graf3.png", "graffiti_wall", 1.05, 1.15, -0.6, 0.6, 0.1, -0.1),
    (PHOTOS / "nokia_lumia800.jpg", None, 1.2, 1.2, -0.5, 0.5, -0.6, -0.4),
    (IM / "leuvenB.jpg", "leuven_street", 1.3, 1.05, 0.3, -0.3, 0.0, 0.0),
)

# id, name, reference photograph, (lat, lon) or None, where the position comes from
LANDMARKS: tuple[tuple[str, str, Path, tuple[float, float] | None, str], ...] = (
    ("berliner_dom", "Berliner Dom", BERLIN / "berlin_03.jpg", None, "gcp0"),
    ("aerial_view", "Aerial view of a city (OpenCV aero1)", IM / "aero1.jpg", None, ""),
    ("graffiti_wall", "Graffiti wall (Oxford VGG graf1)", IM / "graf1.png", None, ""),
    ("leuven_street", "A street in Leuven (OpenCV leuvenA)", IM / "leuvenA.jpg", None, ""),
    ("box", "A box on a table (OpenCV box.png)", IM / "box.png", None, ""),
    (
        "sign_alt_hammoor",
        "Street sign 'Alt Hammoor'",
        PHOTOS / "sony_dsc-hx5v_2.jpg",
        (51.778615, 8.36563805555556),
        "exif",
    ),
    (
        "receipt",
        "Restaurant receipt",
        PHOTOS / "apple_iphone4.jpg",
        (41.853, 12.4888333333333),
        "exif",
    ),
    ("ribbons", "Coloured ribbons (C2PA test image A.jpg)", C2PA_A, None, ""),
    (
        "thompson_springs",
        "Road at Thompson Springs",
        PHOTOS / "immich_thompson-springs.jpg",
        (39.115, -108.400968333333),
        "exif",
    ),
    (
        "exiftool_gps",
        "exiftool's GPS test picture",
        PHOTOS / "exiftool_GPS.jpg",
        (54.9896666666667, -1.91416666666667),
        "exif",
    ),
)


def _read(path: Path) -> np.ndarray:
    img = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        msg = f"cannot read {path}"
        raise SystemExit(msg)
    return img


def shot_frames(photo: Path, z0: float, z1: float, x0: float, x1: float, y0: float, y1: float):
    """Yield the shot's 300 frames: a window of the photograph, zoomed and panned smoothly."""
    img = _read(photo)
    h, w = img.shape[:2]
    cover = max(W / w, H / h)  # zoom 1: the photograph just covers the frame
    n = FPS * SHOT_S
    for i in range(n):
        t = i / (n - 1)
        s = 0.5 - 0.5 * np.cos(np.pi * t)  # ease in and out, like a hand-held pan
        zoom = cover * (z0 + (z1 - z0) * s)
        spare_x, spare_y = w * zoom - W, h * zoom - H
        shake_x = 2.0 * np.sin(2 * np.pi * 1.3 * i / FPS)
        shake_y = 1.5 * np.sin(2 * np.pi * 0.9 * i / FPS + 1.0)
        cx = 0.5 * spare_x * (1 + (x0 + (x1 - x0) * s) * 0.9) + shake_x
        cy = 0.5 * spare_y * (1 + (y0 + (y1 - y0) * s) * 0.9) + shake_y
        m = np.array([[zoom, 0, -cx], [0, zoom, -cy]], dtype=np.float64)
        interp = cv2.INTER_AREA if zoom < 1 else cv2.INTER_LINEAR
        yield cv2.warpAffine(img, m, (W, H), flags=interp, borderMode=cv2.BORDER_REFLECT)


def write_clip(path: Path) -> None:
    """Encode the six shots to ``path`` (through a temporary name)."""
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        out.metadata["comment"] = (
            "GENERATED by geoverify bench/make_verify_clip.py from real photographs; "
            "not camera footage"
        )
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {
            "threads": "2",
            "preset": "veryfast",
            "profile": "high",
            "b": "12M",
            "maxrate": "16M",
            "bufsize": "16M",
            "g": str(FPS),
            "keyint_min": str(FPS),
            "sc_threshold": "0",
        }
        for photo, _lm, *motion in SHOTS:
            for img in shot_frames(photo, *motion):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
                out.mux(stream.encode(frame))
        out.mux(stream.encode())
    tmp.replace(path)


def _feature(lid: str, name: str, ref: str, sha: str, pos: tuple[float, float] | None, how: str):
    if how == "gcp0":
        gcps = json.loads((BERLIN / "berlin_ground_control_points.json").read_text())
        p = next(p for p in gcps["points"] if p["id"] == "0")["position"]
        pos = (p["latitude"], p["longitude"])
        source = {
            "kind": "survey",
            "title": "OpenSfM Berlin dataset, ground_control_points.json, point 0",
            "licence": "BSD-2-Clause",
        }
    elif how == "exif":
        source = {
            "kind": "other",
            "title": f"EXIF GPS of {Path(ref).name} (exiftool -n): the camera's position",
        }
    else:
        source = {"kind": "other", "title": f"reference photograph {Path(ref).name}; no position"}
    geometry = None if pos is None else {"type": "Point", "coordinates": [pos[1], pos[0]]}
    return {
        "type": "Feature",
        "id": lid,
        "geometry": geometry,
        "properties": {
            "name": name,
            "sources": [source],
            "reference_images": [{"path": ref, "sha256": sha}],
        },
    }


def write_registry(folder: Path) -> Path:
    """Copy the references into ``folder/refs`` and write ``registry.geojson`` and claims."""
    refs = folder / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    features = []
    for lid, name, src, pos, how in LANDMARKS:
        dst = refs / src.name
        shutil.copyfile(src, dst)
        sha = hashlib.sha256(dst.read_bytes()).hexdigest()
        features.append(_feature(lid, name, f"refs/{src.name}", sha, pos, how))
    reg = {
        "type": "FeatureCollection",
        "name": "verify_bench",
        "geoverify_registry": 1,
        "features": features,
    }
    path = folder / "registry.geojson"
    path.write_text(json.dumps(reg, indent=1))
    (folder / "claims.yaml").write_text(
        "# the bench's hypothesis: the clip shows the Berliner Dom (no claim on distances)\n"
        "claims_version: 2\nfootage:\n  shows: berliner_dom\nclaims: []\n"
    )
    return path


def shot_truth() -> list[tuple[float, float, str | None]]:
    """Return (start s, end s, landmark filmed or None) for each shot."""
    return [(i * SHOT_S, (i + 1) * SHOT_S, s[1]) for i, s in enumerate(SHOTS)]


def main(folder: Path) -> Path:
    """Write clip.mp4, registry.geojson, claims.yaml and refs/ in ``folder``; return the clip."""
    folder.mkdir(parents=True, exist_ok=True)
    write_registry(folder)
    clip = folder / "clip.mp4"
    if not clip.exists():
        write_clip(clip)
    return clip


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "out" / "verify_clip")
