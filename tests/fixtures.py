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
