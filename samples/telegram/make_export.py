"""Build a small Telegram Desktop style export from the real sample media (for tests and demos).

Writes OUT/result.json (a single-chat export in Telegram Desktop's JSON shape) and OUT/video_files/
with: the Karma GoPro clip; the iPhone clip; the same Karma bytes under another name, posted
again as a forward; the iPhone clip re-encoded (a re-upload: other bytes, the same pictures);
a post whose file the export did not include; a service message; a corrupt video (the first
4 KiB of the Karma clip); a photo (the first Berlin photograph). The channel, texts and post
times are made up for the fixture (labelled so in the channel's name); the media are the real
sample files, unchanged but for the re-encoded and the corrupt copy. Deterministic: the same
files every run.

Usage: python samples/telegram/make_export.py OUT
"""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KARMA = ROOT / "samples" / "karma" / "karma.mp4"
IPHONE = ROOT / "tests" / "data" / "video_metadata" / "iphone6_with-gps.mov"
NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"
FIRST_POST = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # fixture times: one hour apart
LOCAL = timedelta(hours=3)  # the exporting computer's zone: `date` is local, never used


def reencode(src: Path, dst: Path) -> Path:
    """Decode the iPhone clip and encode it again (MPEG-4 Part 2), as a platform re-upload does.

    The 90 degree display rotation is baked into the pixels: other bytes, the same pictures.
    """
    import av
    import numpy as np

    with av.open(str(src)) as inp:
        frames = [
            np.ascontiguousarray(np.rot90(f.to_ndarray(format="rgb24"), k=-1))
            for f in inp.decode(inp.streams.video[0])
        ]
    height, width = frames[0].shape[:2]
    with av.open(str(dst), "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=30)
        stream.width, stream.height = width - width % 2, height - height % 2
        stream.pix_fmt = "yuv420p"
        stream.options = {"qscale": "4"}
        for img in frames:
            frame = av.VideoFrame.from_ndarray(img[: stream.height, : stream.width], format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def message(n: int, **fields: object) -> dict[str, object]:
    """One message in Telegram Desktop's shape, posted ``n`` hours after the first."""
    when = FIRST_POST + timedelta(hours=n)
    base: dict[str, object] = {
        "id": 100 + n,
        "type": "message",
        "date": (when + LOCAL).strftime("%Y-%m-%dT%H:%M:%S"),
        "date_unixtime": str(int(when.timestamp())),
        "from": "geoverify test channel",
        "from_id": "channel1",
        "text": "",
    }
    base.update(fields)
    return base


def main(out: Path) -> Path:
    """Write the export into ``out``; return ``out``."""
    files = out / "video_files"
    files.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(KARMA, files / "karma.mp4")
    shutil.copyfile(IPHONE, files / "iphone.mov")
    shutil.copyfile(KARMA, files / "karma_again.mp4")
    if not (files / "iphone_reupload.mp4").exists():
        reencode(IPHONE, files / "iphone_reupload.mp4")
    (files / "broken.mp4").write_bytes(KARMA.read_bytes()[:4096])
    (out / "photos").mkdir(exist_ok=True)
    shutil.copyfile(ROOT / "samples" / "berlin" / "photos" / "berlin_01.jpg",
                    out / "photos" / "berlin_01.jpg")  # fmt: skip
    video = {"media_type": "video_file", "mime_type": "video/mp4"}
    messages = [
        message(0, file="video_files/karma.mp4", text="Flight over the coast", **video),
        message(1, file="video_files/iphone.mov",
                text=["Street view ", {"type": "hashtag", "text": "#test"}], **video),
        message(2, file="video_files/karma_again.mp4", forwarded_from="Another test channel",
                text="Seen elsewhere", **video),
        message(3, file="video_files/iphone_reupload.mp4", text="Re-uploaded", **video),
        message(4, file=NOT_INCLUDED, text="Too large to export", **video),
        {"id": 105, "type": "service", "date": "2026-01-05T17:00:00",
         "date_unixtime": str(int((FIRST_POST + timedelta(hours=5)).timestamp())),
         "actor": "geoverify test channel", "action": "pin_message", "message_id": 100,
         "text": ""},
        message(6, file="video_files/broken.mp4", text="Corrupt upload", **video),
        message(7, photo="photos/berlin_01.jpg", width=3264, height=2448, text="A photo"),
    ]  # fmt: skip
    export = {
        "name": "geoverify test channel (synthetic fixture)",
        "type": "public_channel",
        "id": 1000000001,
        "messages": messages,
    }
    (out / "result.json").write_text(json.dumps(export, ensure_ascii=False, indent=1) + "\n")
    return out


if __name__ == "__main__":
    main(Path(sys.argv[1]))
