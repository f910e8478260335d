"""Deterministic generator of tiny synthetic media for the tests (PyAV's bundled encoders).

Every clip is made from arithmetic on the frame number (no randomness except where a seed is
given), so the same call gives the same frames. Sizes are tiny (64x48, 1-3 s).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

W, H = 64, 48


def frame_image(i: int, width: int = W, height: int = H) -> np.ndarray:
    """An RGB frame whose content encodes ``i``; the top-left 8x8 corner is marked red."""
    y, x = np.mgrid[0:height, 0:width]
    img = np.zeros((height, width, 3), np.uint8)
    img[..., 0] = (x * 4 + i * 3) % 256
    img[..., 1] = (y * 5 + i * 7) % 256
    img[..., 2] = (i * 11) % 256
    img[:8, :8] = (255, 0, 0)
    return img


def write_clip(
    path: Path,
    *,
    n_frames: int = 25,
    fps: int = 25,
    codec: str = "mpeg4",
    container_format: str | None = None,
    rotation_deg: float | None = None,
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    metadata: dict[str, str] | None = None,
    stream_metadata: dict[str, str] | None = None,
    faststart: bool = False,
    with_audio: bool = False,
    width: int = W,
    height: int = H,
) -> Path:
    """Write a small video; ``pts`` (in ``time_base`` units) makes it variable frame rate."""
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", format=container_format, options=options) as out:
        if metadata:
            out.metadata.update(metadata)
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"threads": "1", "g": "250", "sc_threshold": "0"}
        if time_base is not None:
            stream.time_base = time_base
            stream.codec_context.time_base = time_base
        if stream_metadata:
            stream.metadata.update(stream_metadata)
        if rotation_deg is not None:
            stream.set_display_rotation(rotation_deg)
        audio = None
        if with_audio:
            audio = out.add_stream("aac", rate=8000)
            audio.layout = "mono"
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(frame_image(i, width, height), format="rgb24")
            if pts is not None:
                frame.pts = pts[i]
                frame.time_base = time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
        if audio is not None:
            _mux_tone(out, audio, int(8000 * n_frames / fps))
    return path


def _mux_tone(out: av.container.OutputContainer, audio: av.AudioStream, samples: int) -> None:
    """Encode ``samples`` of a 440 Hz mono tone at 8 kHz into ``audio``."""
    t = np.arange(samples) / 8000.0
    tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
    for start in range(0, samples, 1024):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(tone[:, start : start + 1024]), format="fltp", layout="mono"
        )
        frame.sample_rate = 8000
        frame.pts = start
        out.mux(audio.encode(frame))
    out.mux(audio.encode())


def write_audio_only(path: Path) -> Path:
    """An AAC-in-MP4 file with no video stream (1 s of a 440 Hz tone)."""
    with av.open(str(path), "w", format="mp4") as out:
        audio = out.add_stream("aac", rate=8000)
        audio.layout = "mono"
        _mux_tone(out, audio, 8000)
    return path


def write_jpeg(path: Path) -> Path:
    """A JPEG still image (encoded with PyAV's mjpeg encoder)."""
    with av.open(str(path), "w", format="image2", options={"update": "1"}) as out:
        stream = out.add_stream("mjpeg", rate=1)
        stream.width, stream.height = W, H
        stream.pix_fmt = "yuvj420p"
        frame = av.VideoFrame.from_ndarray(frame_image(0), format="rgb24")
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def truncate_copy(src: Path, dst: Path, fraction: float) -> Path:
    """Copy the first ``fraction`` of ``src``'s bytes to ``dst``."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


IMAGES = Path(__file__).resolve().parent / "data" / "image_matching"


def _photo(name: str, height: int) -> np.ndarray:
    import cv2

    img = cv2.imdecode(np.fromfile(IMAGES / name, np.uint8), cv2.IMREAD_COLOR)
    scale = height / img.shape[0]
    return cv2.resize(img, (round(img.shape[1] * scale), height), interpolation=cv2.INTER_AREA)


def _pan(photo: np.ndarray, n: int, step_px: float, size: tuple[int, int]) -> list[np.ndarray]:
    """``n`` crops of ``photo`` whose window moves ``step_px`` pixels right per frame."""
    w, h = size
    max_x = photo.shape[1] - w
    y0 = (photo.shape[0] - h) // 2
    frames = []
    for i in range(n):
        x = round(min(max_x, i * step_px))
        frames.append(photo[y0 : y0 + h, x : x + w].copy())
    return frames


def multishot_frames() -> tuple[list[np.ndarray], dict[str, object]]:
    """BGR frames (320x240, 25 fps) of a clip built from real photographs, and its ground truth.

    Shots: aero1 slow pan (40 frames); box_in_scene slow pan with a one-frame camera flash at
    its 20th frame (40); graf1 fast pan, 7.5 px a frame, 58 % of the frame width a second (40);
    aero3 slow pan (40); graf3 slow pan (38) whose last 8 frames fade to black; 3 black frames;
    box fading in over 8 frames, then holding (24 with the fade). Hard cuts at frames 40, 80,
    120, 160; the fade's new shot starts at frame 201 (first frame after the black run).
    """
    size = (320, 240)
    frames: list[np.ndarray] = []
    frames += _pan(_photo("aero1.jpg", 260), 40, 1.0, size)
    shot = _pan(_photo("box_in_scene.png", 260), 40, 1.0, size)
    shot[20] = np.clip(shot[20].astype(np.int16) + 110, 0, 255).astype(np.uint8)  # flash
    frames += shot
    frames += _pan(_photo("graf1.png", 500), 40, 7.5, size)
    frames += _pan(_photo("aero3.jpg", 260), 40, 1.0, size)
    last = _pan(_photo("graf3.png", 260), 38, 1.0, size)
    for k in range(8):  # fade out over the last 8 frames of the shot
        last[30 + k] = (last[30 + k].astype(np.float32) * (1 - (k + 1) / 8)).astype(np.uint8)
    frames += last
    frames += [np.zeros((240, 320, 3), np.uint8)] * 3
    box = _pan(_photo("box.png", 250), 24, 0.0, size)
    for k in range(8):
        box[k] = (box[k].astype(np.float32) * ((k + 1) / 8)).astype(np.uint8)
    frames += box
    truth = {"cuts": [40, 80, 120, 160], "fade_start": 201, "flash": 60, "n_frames": len(frames)}
    return frames, truth


def write_multishot(path: Path, gop: int = 300) -> dict[str, object]:
    """Encode ``multishot_frames`` with H.264, a GOP of ``gop`` frames, scene-cut keyframes off.

    The default GOP is longer than the clip (one keyframe); short GOPs let the scene scan
    screen GOPs instead of decoding them.
    """
    frames, truth = multishot_frames()
    write_h264(path, frames, gop=gop)
    return truth


def write_h264(
    path: Path,
    frames: list[np.ndarray],
    *,
    gop: int | None = None,
    fps: int = 25,
    options: dict[str, str] | None = None,
) -> Path:
    """Encode BGR frames (all one size) with libx264 in MP4, one thread (deterministic).

    ``gop``: a keyframe exactly every ``gop`` frames (no scene-cut keyframes); ``None`` keeps
    x264's own choice. ``options``: further x264 options (``crf``, ``g`` ...).
    """
    h, w = frames[0].shape[:2]
    x264 = {"threads": "1"}
    if gop is not None:
        x264.update(g=str(gop), keyint_min=str(gop), sc_threshold="0")
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {**x264, **(options or {})}
        for img in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        out.mux(stream.encode())
    return path


def cutaway_frames() -> tuple[list[np.ndarray], dict[str, object]]:
    """A slow pan over aero1 (150 frames, 25 fps) interrupted by 5 frames of graf1 at 60-64.

    With a 50-frame GOP the keyframes either side of the cutaway (50 and 100) both show aero1:
    only the frames in between tell that something else was shown.
    """
    size = (320, 240)
    frames = _pan(_photo("aero1.jpg", 260), 150, 0.5, size)
    away = _pan(_photo("graf1.png", 260), 5, 0.5, size)
    frames[60:65] = away
    return frames, {"cuts": [60, 65]}


def number_image(i: int, *, texture: bool = False) -> np.ndarray:
    """A 64x48 frame showing ``i`` as 16 binary blocks (8x8 px, 2 rows of 8): white is 1.

    ``texture`` adds seeded noise to the background so that frames are large when encoded.
    """
    img = np.full((48, 64, 3), 64, np.uint8)
    if texture:
        rng = np.random.default_rng(i)
        img = (img + rng.integers(-40, 40, img.shape)).astype(np.uint8)
    for bit in range(16):
        row, col = divmod(bit, 8)
        if (i >> bit) & 1:
            img[8 + row * 16 : 16 + row * 16, col * 8 : col * 8 + 8] = 255
    return img


def read_number(img: np.ndarray) -> int:
    """Inverse of ``number_image`` for a decoded (lossy) frame."""
    gray = img.mean(axis=2)
    value = 0
    for bit in range(16):
        row, col = divmod(bit, 8)
        block = gray[8 + row * 16 + 2 : 16 + row * 16 - 2, col * 8 + 2 : col * 8 + 6]
        value |= int(block.mean() > 160) << bit
    return value


def write_numbered(
    path: Path,
    n_frames: int = 75,
    fps: int = 25,
    gop: int = 250,
    *,
    faststart: bool = False,
    texture: bool = False,
) -> Path:
    """A long-GOP H.264 clip whose frame i shows the number i (see ``number_image``)."""
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"threads": "1", "g": str(gop), "sc_threshold": "0", "crf": "10"}
        for i in range(n_frames):
            img = number_image(i, texture=texture)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        out.mux(stream.encode())
    return path


def dissolve_frames() -> list[np.ndarray]:
    """150 frames (25 fps): aero1, a 20-frame cross-dissolve to graf1 at frames 10-29, graf1.

    A gradual change writes no large frame: with a 50-frame GOP only the first GOP's
    keyframe and its later frames tell that the picture changed.
    """
    size = (320, 240)
    a = _pan(_photo("aero1.jpg", 260), 1, 0.0, size)[0].astype(np.float32)
    b = _pan(_photo("graf1.png", 260), 1, 0.0, size)[0].astype(np.float32)
    frames = []
    for i in range(150):
        w = min(1.0, max(0.0, (i - 10) / 20))
        frames.append(((1 - w) * a + w * b).round().astype(np.uint8))
    return frames
