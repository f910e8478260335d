"""probe() on generated clips and on the bad inputs of the reliability contract."""

from __future__ import annotations

import importlib
import json
import os
from fractions import Fraction

import pytest
from fixtures import truncate_copy, write_audio_only, write_clip, write_jpeg

from geoverify import InputError, MediaError, probe, to_jsonable
from geoverify.probing import parse_iso6709


def test_constant_rate_clip(tmp_path):
    info = probe(write_clip(tmp_path / "c.mp4", n_frames=25, fps=25))
    v = info.video
    assert v is not None
    assert v.frame_count_timestamps == 25
    assert v.nominal_frame_rate == Fraction(25)
    assert v.variable_frame_rate is False
    assert v.duration_s == pytest.approx(1.0, abs=1e-9)
    assert {"W_REMUXED_FFMPEG", "W_NO_CAPTURE_METADATA"} <= {n.code for n in info.notes}


def test_variable_rate_clip_duration_from_timestamps(tmp_path):
    pts = [0, 40, 80, 200, 240, 400, 420, 440, 460, 600]
    clip = write_clip(
        tmp_path / "v.mkv",
        n_frames=10,
        pts=pts,
        time_base=Fraction(1, 1000),
        container_format="matroska",
    )
    v = probe(clip).video
    assert v is not None
    assert v.variable_frame_rate is True
    assert v.frame_count_timestamps == 10
    # last pts + the median frame interval (40 ms): 0.64 s, not 10 frames / 25 fps = 0.4 s
    assert v.duration_s == pytest.approx(0.64, abs=1e-9)


@pytest.mark.parametrize(("matrix_deg", "clockwise"), [(-90, 90), (180, 180), (90, 270)])
def test_rotation(tmp_path, matrix_deg, clockwise):
    v = probe(write_clip(tmp_path / "r.mp4", rotation_deg=matrix_deg)).video
    assert v is not None
    assert v.rotation_deg == clockwise
    expected = (48, 64) if clockwise in (90, 270) else (64, 48)
    assert (v.display_width, v.display_height) == expected


def test_odd_size_and_audio(tmp_path):
    info = probe(write_clip(tmp_path / "o.mp4", width=66, height=50, with_audio=True))
    assert info.video is not None
    assert (info.video.stored_width, info.video.stored_height) == (66, 50)
    assert [(a.codec, a.sample_rate_hz, a.channels) for a in info.audio] == [("aac", 8000, 1)]


def test_matroska_named_mp4_works_and_warns(tmp_path):
    clip = write_clip(tmp_path / "m.mp4", container_format="matroska")
    info = probe(clip)
    assert info.container.format_sniffed == "matroska"
    assert "W_EXTENSION_MISMATCH" in {n.code for n in info.notes}


def test_faststart_cut_in_half_is_partial_and_labelled(tmp_path):
    full = write_clip(tmp_path / "f.mp4", faststart=True, n_frames=50)
    cut = truncate_copy(full, tmp_path / "cut.mp4", 0.5)
    info = probe(cut)
    assert info.media_data_complete is False
    assert "W_MEDIA_DATA_MISSING" in {n.code for n in info.notes}


def _error(exc_info):
    return exc_info.value.code


def test_moov_at_end_cut_in_half(tmp_path):
    full = write_clip(tmp_path / "f.mp4", n_frames=50)
    cut = truncate_copy(full, tmp_path / "cut.mp4", 0.5)
    with pytest.raises(MediaError) as exc:
        probe(cut)
    assert _error(exc) == "E_CONTAINER_TRUNCATED"
    assert exc.value.input_sha256


def test_empty_file(tmp_path):
    (tmp_path / "e.mp4").write_bytes(b"")
    with pytest.raises(InputError) as exc:
        probe(tmp_path / "e.mp4")
    assert _error(exc) == "E_INPUT_EMPTY"


def test_random_bytes(tmp_path):
    path = tmp_path / "r.mp4"
    path.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(20000)))
    with pytest.raises(MediaError) as exc:
        probe(path)
    assert _error(exc) == "E_INPUT_NOT_MEDIA"


def test_html_named_mp4(tmp_path):
    path = tmp_path / "page.mp4"
    path.write_text("<!DOCTYPE html><html><body>Video unavailable</body></html>")
    with pytest.raises(MediaError) as exc:
        probe(path)
    assert _error(exc) == "E_INPUT_NOT_MEDIA"


def test_image_named_mp4(tmp_path):
    jpg = write_jpeg(tmp_path / "still.jpg")
    renamed = tmp_path / "still.mp4"
    jpg.rename(renamed)
    media = probe(renamed)  # a photo is read as a photo, whatever its name
    assert media.still is not None
    assert media.container.format_sniffed == "jpeg"
    assert any(n.code == "W_EXTENSION_MISMATCH" for n in media.notes)


def test_audio_only(tmp_path):
    with pytest.raises(MediaError) as exc:
        probe(write_audio_only(tmp_path / "a.mp4"))
    assert _error(exc) == "E_NO_VIDEO_STREAM"
    assert len(exc.value.input_sha256) == 64


def test_directory_fifo_missing(tmp_path):
    with pytest.raises(InputError) as exc:
        probe(tmp_path)
    assert _error(exc) == "E_INPUT_NOT_FILE"
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(InputError) as exc:
        probe(fifo)
    assert _error(exc) == "E_INPUT_NOT_FILE"
    with pytest.raises(InputError) as exc:
        probe(tmp_path / "nope.mp4")
    assert _error(exc) == "E_INPUT_MISSING"


def test_protocol_looking_name_is_a_plain_file(tmp_path):
    # FFmpeg would read "concat:a|b" as a protocol; geoverify hands it an open file instead.
    clip = write_clip(tmp_path / "concat:x.mp4")
    info = probe(clip)
    assert info.video is not None


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable(tmp_path):
    clip = write_clip(tmp_path / "c.mp4")
    clip.chmod(0)
    with pytest.raises(InputError) as exc:
        probe(clip)
    assert _error(exc) == "E_INPUT_UNREADABLE"


def test_hostile_metadata_kept_verbatim_as_valid_json(tmp_path):
    import av
    from fixtures import frame_image

    path = tmp_path / "h.mkv"
    with av.open(str(path), "w", format="matroska", metadata_errors="surrogateescape") as out:
        out.metadata["title"] = "<script>alert(1)</script>"
        out.metadata["comment"] = 'x" onload="alert(1) \x01\x1b[31m bad \udcff bytes'
        out.metadata["description"] = "A" * (10 * 2**20)
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(3):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame_image(i), format="rgb24")))
        out.mux(stream.encode())
    info = probe(path)
    tags = {t.key.lower(): t for t in info.tags if t.scope == "container"}
    assert tags["title"].value == "<script>alert(1)</script>"
    assert tags["comment"].value.startswith('x" onload="alert(1) \x01\x1b[31m bad \ufffd')
    assert tags["comment"].invalid_utf8
    assert tags["description"].truncated_from_chars == 10 * 2**20
    text = json.dumps(to_jsonable(info), ensure_ascii=False, allow_nan=False)
    text.encode("utf-8")  # strict: lone surrogates would raise here
    codes = {n.code for n in info.notes}
    assert {"W_TAG_TRUNCATED", "W_TAG_NOT_UTF8"} <= codes


def test_impossible_and_future_dates_flagged(tmp_path):
    clip = write_clip(
        tmp_path / "d.mkv",
        container_format="matroska",
        metadata={"creation_time": "2091-01-01T00:00:00Z"},
    )
    notes = {n.code for n in probe(clip).notes}
    assert "W_TIME_IMPOSSIBLE" in notes


def test_invalid_location_flagged(tmp_path):
    clip = write_clip(
        tmp_path / "l.mkv", container_format="matroska", metadata={"location": "+95.0000+010.0/"}
    )
    info = probe(clip)
    (loc,) = info.locations
    assert loc.position is None
    assert "W_LOCATION_INVALID" in {n.code for n in info.notes}


def test_input_changing_while_probed_is_refused(tmp_path, monkeypatch):
    probe_module = importlib.import_module("geoverify.probing")
    clip = write_clip(tmp_path / "c.mp4")
    original_run = probe_module.run_isolated

    def run_then_append(*args, **kwargs):  # another program appends while we work
        result = original_run(*args, **kwargs)
        with open(clip, "ab") as fh:
            fh.write(b"\0" * 16)
        return result

    monkeypatch.setattr(probe_module, "run_isolated", run_then_append)
    with pytest.raises(InputError) as exc:
        probe(clip)
    assert _error(exc) == "E_INPUT_CHANGED"


@pytest.mark.parametrize(
    ("text", "lat", "lon", "alt"),
    [
        ("+32.0929+034.8620+028.516/", 32.0929, 34.862, 28.516),
        ("+33.1268-117.3273/", 33.1268, -117.3273, None),
        ("-3330.5+15045.0/", -33.508333333333333, 150.75, None),
        ("+403015-0735800/", 40.504166666666666, -73.96666666666667, None),
        ("+48.8577+002.295+066CRSWGS_84/", 48.8577, 2.295, 66.0),
    ],
)
def test_iso6709_forms(text, lat, lon, alt):
    pos, altitude = parse_iso6709(text)
    assert pos.lat == pytest.approx(lat, abs=1e-12)
    assert pos.lon == pytest.approx(lon, abs=1e-12)
    assert altitude == alt


@pytest.mark.parametrize(
    "text", ["+32.0929+034.8620", "32.0929 34.8620/", "+95.0+010.0/", "+3260+03400/", "", "+1+2/"]
)
def test_iso6709_rejects(text):
    with pytest.raises(InputError):
        parse_iso6709(text)


def _encode(out, stream, images, first_pts=0):
    import av

    for i, img in enumerate(images):
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = first_pts + i
        out.mux(stream.encode(frame))
    out.mux(stream.encode())


def test_cover_art_stream_is_skipped(tmp_path):
    import av
    from fixtures import frame_image

    path = tmp_path / "cover.mp4"
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        cover = out.add_stream("mjpeg", rate=1)
        cover.width, cover.height, cover.pix_fmt = 32, 32, "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        _encode(out, cover, [frame_image(0, 32, 32)])
        _encode(out, video, [frame_image(i) for i in range(10)])
    v = probe(path).video
    assert v is not None
    assert v.index == 0
    assert "1 cover-art stream(s) skipped" in v.chosen_because


def test_non_square_pixels_and_non_zero_start(tmp_path):
    import av
    from fixtures import frame_image

    path = tmp_path / "sar.mkv"
    with av.open(str(path), "w", format="matroska") as out:
        video = out.add_stream("mpeg4", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.codec_context.sample_aspect_ratio = Fraction(2, 1)
        _encode(out, video, [frame_image(i) for i in range(10)], first_pts=50)
    v = probe(path).video
    assert v is not None
    assert v.sample_aspect_ratio == Fraction(2, 1)
    assert (v.display_width, v.display_height) == (128, 48)
    assert v.start_time_s == pytest.approx(2.0, abs=1e-9)  # pts 50 at 1/25 s


def test_ten_bit_video(tmp_path):
    import av
    from fixtures import frame_image

    path = tmp_path / "ten.mp4"
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p10le"
        video.options = {"threads": "1"}
        for i in range(5):
            img = av.VideoFrame.from_ndarray(frame_image(i), format="rgb24")
            out.mux(video.encode(img.reformat(format="yuv420p10le")))
        out.mux(video.encode())
    v = probe(path).video
    assert v is not None
    assert v.pix_fmt == "yuv420p10le"
    assert v.first_frame_decoded


def test_a_null_island_location_is_a_note_for_a_video_as_for_a_photo(tmp_path):
    from conftest import VIDEO_DATA
    from PIL import Image

    from geoverify.evidence import camera_positions

    # a real Android clip whose ISO 6709 tag (+33.9951-118.4762/) is overwritten with zeros
    data = (VIDEO_DATA / "android_keyed_moov_only.mp4").read_bytes()
    assert data.count(b"+33.9951-118.4762/") == 1
    video = tmp_path / "zeros.mp4"
    video.write_bytes(data.replace(b"+33.9951-118.4762/", b"+00.0000+000.0000/"))
    photo = tmp_path / "zeros.jpg"  # a photo whose EXIF GPS block says 0 N 0 E
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)}
    Image.new("RGB", (64, 48), (90, 120, 150)).save(photo, exif=exif)
    for path in (video, photo):
        media = probe(path)
        (loc,) = media.locations  # the claim is kept, with what is wrong with it
        assert loc.position is None
        assert "null island" in loc.problem
        assert "W_LOCATION_NULL_ISLAND" in {n.code for n in media.notes}
        assert camera_positions(media) == ()  # never a camera position
