"""Frame selection: exact timestamps, cuts on a clip of real photographs, rotation, damage."""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction

import av
import numpy as np
import pytest
from conftest import BERLIN
from fixtures import (
    cutaway_frames,
    dissolve_frames,
    read_number,
    truncate_copy,
    write_clip,
    write_h264,
    write_multishot,
    write_numbered,
)

from geoverify import DecodeLimits, InputError, MediaError
from geoverify.frames import FrameOptions, perceptual_hash, save_frames, select_frames

CUT_TOL_FRAMES = 1


@pytest.fixture(scope="module")
def multishot(tmp_path_factory):
    path = tmp_path_factory.mktemp("ms") / "multishot.mp4"
    truth = write_multishot(path)
    return path, truth


def test_every_decodes_the_exact_frame_in_a_long_gop(tmp_path):
    clip = write_numbered(tmp_path / "n.mp4", n_frames=75, fps=25, gop=250)
    sel = select_frames(clip, options=FrameOptions(every_s=1.24))
    got = [(f.t_s, f.frame_number, read_number(f.image_bgr)) for f in sel.frames]
    # 1.24 s at 25 fps is frame 31; 2.48 s is frame 62. The pixels say which frame was decoded.
    assert got == [(0.0, 0, 0), (1.24, 31, 31), (2.48, 62, 62)]
    assert [f.keyframe for f in sel.frames] == [True, False, False]
    assert sel.frames_expected == 75
    assert sel.uncovered_ranges_s == ()


@pytest.mark.parametrize("every_s", [0.52, 1.0, 0.04])
def test_seeking_and_the_sequential_pass_pick_the_same_frames(tmp_path, every_s):
    clip = write_numbered(tmp_path / "n.mp4", n_frames=75, gop=20, texture=True)
    import av
    from av.video.frame import PictureType

    with av.open(str(clip)) as c:  # the clip has B-frames: seeking skips the unreferenced ones
        kinds = {PictureType(f.pict_type) for f in c.decode(video=0)}
    assert PictureType.B in kinds
    seeking = select_frames(clip, options=FrameOptions(every_s=every_s))
    # asking for best frames too forces the one-pass decode of every frame
    sequential = select_frames(clip, options=FrameOptions(every_s=every_s, best=1))
    chosen = [f for f in sequential.frames if "every" in f.strategies]
    picked = [f.frame_number for f in chosen]
    assert [f.frame_number for f in seeking.frames] == picked
    assert [read_number(f.image_bgr) for f in seeking.frames] == picked
    for a, b in zip(seeking.frames, chosen, strict=True):  # the same pixels, not just the number
        assert np.array_equal(a.image_bgr, b.image_bgr)


def test_start_and_end_restrict_the_range(tmp_path):
    clip = write_numbered(tmp_path / "n.mp4", n_frames=75)
    sel = select_frames(clip, options=FrameOptions(every_s=0.5, start_s=1.0, end_s=2.0))
    assert [read_number(f.image_bgr) for f in sel.frames] == [25, 37, 50]
    assert [f.t_s for f in sel.frames] == [1.0, 1.48, 2.0]


def test_variable_frame_rate_timestamps_equal_the_pts(tmp_path):
    pts = [0, 40, 80, 200, 240, 400, 420, 440, 460, 600]
    clip = write_clip(
        tmp_path / "v.mkv",
        n_frames=10,
        pts=pts,
        time_base=Fraction(1, 1000),
        container_format="matroska",
    )
    sel = select_frames(clip, options=FrameOptions(every_s=0.01))
    assert sorted({f.pts for f in sel.frames}) == pts
    assert sorted({f.t_s for f in sel.frames}) == [p / 1000 for p in pts]
    assert sorted({f.frame_number for f in sel.frames}) == list(range(10))


def test_keyframes_only(tmp_path):
    clip = write_numbered(tmp_path / "n.mp4", n_frames=75, gop=25)
    sel = select_frames(clip, options=FrameOptions(keyframes=True))
    assert [f.frame_number for f in sel.frames] == [0, 25, 50]
    assert [read_number(f.image_bgr) for f in sel.frames] == [0, 25, 50]
    assert all(f.keyframe for f in sel.frames)


def test_saved_keyframes_are_the_decoders_keyframes_bit_for_bit(tmp_path):
    """The PNGs `frames --keyframes` writes hold FFmpeg's own keyframe pixels, read by Pillow.

    The answer is a full decode with PyAV (no frame skipped), its keyframes by the decoder's
    flag; the PNGs are read with Pillow's PNG decoder, not OpenCV's: tolerance 0 per pixel,
    timestamps equal to the PTS, each recorded SHA-256 that of the file's bytes.
    """
    from PIL import Image as PILImage

    from geoverify.frames import extract_frames

    clip = write_numbered(tmp_path / "n.mp4", n_frames=75, gop=25, texture=True)
    with av.open(str(clip)) as container:
        truth = {
            f.pts: f.to_ndarray(format="rgb24") for f in container.decode(video=0) if f.key_frame
        }
    out = tmp_path / "out"
    extract_frames(clip, out, options=FrameOptions(keyframes=True))
    entries = json.loads((out / "frames.json").read_text())["frames"]
    assert len(truth) == 3  # keyframes at 0, 25 and 50
    assert [e["pts"] for e in entries] == sorted(truth)
    for entry in entries:
        data = (out / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        with PILImage.open(out / entry["file"]) as png:
            assert png.format == "PNG"
            pixels = np.asarray(png.convert("RGB"))
        assert np.array_equal(pixels, truth[entry["pts"]])


def test_scenes_find_every_cut_and_no_false_cut(multishot):
    path, truth = multishot
    sel = select_frames(path, options=FrameOptions(scenes=True))
    _check_scenes(sel, truth)
    assert sel.frames_screened == 0  # one keyframe: nothing to screen, every frame decoded
    assert sel.frames_decoded == truth["n_frames"]


@pytest.mark.parametrize("gop", [20, 25])
def test_screened_scene_scan_finds_the_same_cuts(tmp_path, gop):
    # GOP 20 puts every cut (40, 80, 120, 160) on a keyframe; GOP 25 puts them inside GOPs
    path = tmp_path / "ms.mp4"
    truth = write_multishot(path, gop=gop)
    sel = select_frames(path, options=FrameOptions(scenes=True))
    _check_scenes(sel, truth)
    assert sel.frames_screened > 0
    assert sel.frames_decoded + sel.frames_screened == truth["n_frames"]
    assert any(n.code == "I_FRAMES_SCREENED" for n in sel.notes)
    full = select_frames(path, options=FrameOptions(scenes=True, scene_scan="full"))
    assert full.frames_screened == 0
    assert [(s.first_frame, s.began_with) for s in sel.shots] == [
        (s.first_frame, s.began_with) for s in full.shots
    ]
    # the screening decoders give the same pixels as the stream's own decoder
    every = select_frames(path, options=FrameOptions(every_s=0.04, best=1))
    pixels = {f.frame_number: f.image_bgr for f in every.frames}
    for f in sel.frames:
        assert np.array_equal(f.image_bgr, pixels[f.frame_number])


def test_screened_scene_scan_sees_a_cutaway_between_matching_keyframes(tmp_path):
    frames, truth = cutaway_frames()
    path = write_h264(tmp_path / "cutaway.mp4", frames, gop=50)
    sel = select_frames(path, options=FrameOptions(scenes=True))
    assert sel.frames_screened > 0  # the GOP 100-149 of the steady pan is screened
    cuts = [s.first_frame for s in sel.shots if s.began_with == "cut"]
    assert len(cuts) == 2
    for found, expected in zip(cuts, truth["cuts"], strict=True):
        assert abs(found - expected) <= CUT_TOL_FRAMES


def _check_scenes(sel, truth):
    assert sel.decode_error == ""
    assert sel.uncovered_ranges_s == ()
    cuts = [s.first_frame for s in sel.shots if s.began_with == "cut"]
    fades = [s.first_frame for s in sel.shots if s.began_with == "fade"]
    assert len(cuts) == len(truth["cuts"])  # the flash and the fast pan are not cuts
    for found, expected in zip(cuts, truth["cuts"], strict=True):
        assert abs(found - expected) <= CUT_TOL_FRAMES
    assert len(fades) == 1
    assert abs(fades[0] - truth["fade_start"]) <= CUT_TOL_FRAMES
    # one representative frame per shot, inside its shot
    reps = [f for f in sel.frames if "scene" in f.strategies]
    assert len(reps) == len(sel.shots)
    for rep, shot in zip(reps, sel.shots, strict=True):
        assert shot.first_frame <= rep.frame_number <= shot.last_frame


def test_views_follow_a_pan_but_not_a_still_shot(multishot):
    path, _ = multishot
    sel = select_frames(path, options=FrameOptions(views=True))
    views_per_shot: dict[int, int] = {}
    for f in sel.frames:
        views_per_shot[f.shot] = views_per_shot.get(f.shot, 0) + 1
    assert views_per_shot[2] >= 3  # the fast pan moves 300 px on a 320 px frame
    for slow in (0, 1, 3):
        assert views_per_shot[slow] == 1


def test_best_frames_are_distinct(multishot):
    path, _ = multishot
    sel = select_frames(path, options=FrameOptions(best=4))
    assert len(sel.frames) == 4
    hashes = [int(f.phash, 16) for f in sel.frames]
    for i, a in enumerate(hashes):
        for b in hashes[i + 1 :]:
            assert (a ^ b).bit_count() > 10


@pytest.mark.parametrize(("matrix_deg", "corner"), [(-90, "top_right"), (180, "bottom_right")])
@pytest.mark.parametrize(
    "options",
    [FrameOptions(every_s=10), FrameOptions(scenes=True), FrameOptions(scenes=True, best=1)],
    ids=["every", "screened-scenes", "full-scan"],
)
def test_saved_frames_are_upright(tmp_path, matrix_deg, corner, options):
    clip = write_clip(tmp_path / "r.mp4", rotation_deg=matrix_deg)
    frame = select_frames(clip, options=options).frames[0]
    img = frame.image_bgr
    h, w = img.shape[:2]
    assert (h, w) == ((64, 48) if matrix_deg == -90 else (48, 64))
    # the stored frame's red 8x8 corner is top-left; a viewer sees it turned with the picture
    patch = {
        "top_right": img[1:7, w - 7 : w - 1],
        "bottom_right": img[h - 7 : h - 1, w - 7 : w - 1],
    }[corner]
    b, g, r = patch.reshape(-1, 3).mean(axis=0)
    assert r > 180
    assert g < 80
    assert b < 80


def test_truncated_video_returns_the_decodable_part(tmp_path):
    # index (moov) first, so a cut file still opens: the partial-download case
    full = write_numbered(tmp_path / "n.mp4", n_frames=75, faststart=True, texture=True)
    cut = truncate_copy(full, tmp_path / "cut.mp4", 0.6)
    sel = select_frames(cut, options=FrameOptions(every_s=0.04))
    assert 0 < sel.frames_decoded < 75
    assert sel.frames_expected == 75
    assert sel.uncovered_ranges_s
    assert sel.uncovered_ranges_s[0][0] > 0
    assert sel.uncovered_ranges_s[-1][1] == pytest.approx(74 / 25)
    assert "W_FRAMES_MISSING" in {n.code for n in sel.notes}
    # what came back is right: each frame's pixels show its own number
    numbers = [read_number(f.image_bgr) for f in sel.frames]
    assert numbers == [f.frame_number for f in sel.frames]
    assert numbers == list(range(len(numbers)))


def test_save_frames_writes_files_manifest_and_sheet(tmp_path, multishot):
    path, _ = multishot
    sel = select_frames(path, options=FrameOptions(scenes=True))
    out = tmp_path / "out"
    saved = save_frames(sel, out)
    manifest = json.loads((out / "frames.json").read_text())
    assert manifest["source"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(manifest["frames"]) == len(sel.frames)
    for entry in manifest["frames"]:
        data = (out / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert entry["file"] == f"f_{entry['t_s']:010.3f}s.png"
        assert entry["pts_time_s"] == pytest.approx(entry["pts"] * Fraction(entry["time_base"]))
    assert (out / "contact_sheet.png").stat().st_size > 0
    assert "<script" not in (out / "contact_sheet.html").read_text()
    assert not list(out.glob("*.part"))
    # PNG is lossless: the saved pixels are the selected frame's pixels
    import cv2

    first = cv2.imdecode(
        np.fromfile(out / manifest["frames"][0]["file"], np.uint8), cv2.IMREAD_COLOR
    )
    assert np.array_equal(first, sel.frames[0].image_bgr)
    assert saved.manifest.endswith("frames.json")


def test_a_folder_of_another_video_is_replaced_whole_never_mixed(tmp_path, multishot):
    path, _ = multishot
    out = tmp_path / "out"
    save_frames(select_frames(path, options=FrameOptions(scenes=True)), out)
    other = write_clip(tmp_path / "other.mp4")
    saved = save_frames(select_frames(other, options=FrameOptions(every_s=1)), out)
    manifest = json.loads((out / "frames.json").read_text())
    assert manifest["source"]["sha256"] == hashlib.sha256(other.read_bytes()).hexdigest()
    listed = {f["file"] for f in manifest["frames"]}
    assert listed == {f.file for f in saved.frames}
    # no frame of the first video is left behind: the folder holds this run's files only
    on_disk = {p.name for p in out.iterdir()}
    assert on_disk == listed | {"frames.json", "contact_sheet.png", "contact_sheet.html",
                                "manifest.json"}  # fmt: skip


def test_options_are_validated():
    with pytest.raises(InputError):
        FrameOptions()
    with pytest.raises(InputError):
        FrameOptions(every_s=-1)
    with pytest.raises(InputError):
        FrameOptions(every_s=1, start_s=5, end_s=2)


def test_perceptual_hash_tells_images_apart():
    import cv2
    from fixtures import IMAGES

    def gray(name):
        return cv2.imdecode(np.fromfile(IMAGES / name, np.uint8), cv2.IMREAD_GRAYSCALE)

    aero1, box = gray("aero1.jpg"), gray("box_in_scene.png")
    h = perceptual_hash(aero1)
    # the same picture re-encoded at another size stays close; another picture does not
    smaller = cv2.resize(aero1, (aero1.shape[1] // 2, aero1.shape[0] // 2))
    assert (h ^ perceptual_hash(smaller)).bit_count() <= 4
    assert (h ^ perceptual_hash(box)).bit_count() > 16


def test_hostile_file_name_stays_text_in_the_contact_sheet(tmp_path):
    from html.parser import HTMLParser

    clip = write_clip(tmp_path / '<script>alert(1)<img src=x onerror=alert(2)>" onload="x.mp4')
    out = tmp_path / "out"
    save_frames(select_frames(clip, options=FrameOptions(every_s=0.5)), out)
    tags: list[str] = []
    attrs: list[str] = []

    class Audit(HTMLParser):
        def handle_starttag(self, tag, a):
            tags.append(tag)
            attrs.extend(k for k, _ in a)

    Audit().feed((out / "contact_sheet.html").read_text())
    assert "script" not in tags
    assert not [a for a in attrs if a.startswith("on")]


def test_start_past_the_end_is_a_clear_error(tmp_path):
    clip = write_numbered(tmp_path / "n.mp4", n_frames=25)
    with pytest.raises(InputError) as exc:  # an option error, not a damaged file
        select_frames(clip, options=FrameOptions(every_s=1, start_s=60))
    assert exc.value.code == "E_INPUT_OPTION"
    assert "below 1.000 s" in exc.value.hint


@pytest.mark.parametrize("source", ["msmpeg4-avi", "iphone-mov"])
def test_screened_scan_agrees_with_the_full_scan_on_other_files(tmp_path, source):
    # MS-MPEG4 takes its frame size from the AVI header, not the bitstream (a decoder built
    # from the codec alone decodes nothing); the iPhone clip is real and turned 90 degrees.
    from conftest import DATA

    if source == "msmpeg4-avi":
        clip = write_clip(tmp_path / "m.avi", codec="msmpeg4", container_format="avi", n_frames=60)
    else:
        clip = DATA / "video_metadata" / "iphone6_with-gps.mov"
    screened = select_frames(clip, options=FrameOptions(scenes=True))
    full = select_frames(clip, options=FrameOptions(scenes=True, scene_scan="full"))
    assert screened.decode_error == ""
    if source == "iphone-mov":
        assert screened.frames_screened > 0
        assert screened.rotation_deg == 90
    assert screened.rotation_deg == full.rotation_deg
    assert [(s.first_frame, s.began_with) for s in screened.shots] == [
        (s.first_frame, s.began_with) for s in full.shots
    ]
    every = select_frames(clip, options=FrameOptions(every_s=1e-3, best=1, max_selected=5000))
    pixels = {f.frame_number: f.image_bgr for f in every.frames}
    for f in screened.frames:
        assert np.array_equal(f.image_bgr, pixels[f.frame_number])


def test_screened_scan_looks_at_the_whole_gop_when_the_change_is_gradual(tmp_path):
    path = write_h264(tmp_path / "dissolve.mp4", dissolve_frames(), gop=50)
    screened = select_frames(path, options=FrameOptions(scenes=True))
    full = select_frames(path, options=FrameOptions(scenes=True, scene_scan="full"))
    assert [(s.first_frame, s.began_with) for s in screened.shots] == [
        (s.first_frame, s.began_with) for s in full.shots
    ]
    # the frame before the first GOP's window does not look like its keyframe: the whole
    # first GOP is looked at (50 frames, against 3 had the window been trusted); the middle
    # GOP is screened; the last, with no next keyframe to compare with, is looked at in full
    assert screened.frames_decoded >= 100
    assert screened.frames_screened > 0


def test_probe_and_select_in_one_worker_give_what_the_two_calls_give(tmp_path):
    from geoverify import probe
    from geoverify.footage import read_footage

    def probe_and_select(path, **kw):
        footage = read_footage(path, **kw)
        return footage.media, footage.selection

    clip = write_clip(tmp_path / "h.mp4", n_frames=50, rotation_deg=90)
    opts = FrameOptions(scenes=True, best=2)
    streamed: list[int] = []
    media, selection = probe_and_select(
        clip, options=opts, on_frame=lambda f: streamed.append(f.frame_number)
    )
    alone = probe(clip)
    assert media.sha256 == alone.sha256 == selection.source_sha256
    assert media.video == alone.video
    assert media.notes == alone.notes
    apart = select_frames(alone, options=opts)
    assert selection.rotation_deg == apart.rotation_deg == 270  # probe's rotation, as before
    assert [f.pts for f in selection.frames] == [f.pts for f in apart.frames]
    assert [f.phash for f in selection.frames] == [f.phash for f in apart.frames]
    assert all(f.image_bgr.size for f in selection.frames)  # streamed frames keep their pixels
    assert sorted(streamed) == sorted(f.frame_number for f in selection.frames)
    # a photo: probed and selected without a worker
    photo_media, photo = probe_and_select(BERLIN / "berlin_01.jpg", options=opts)
    assert photo_media.still is not None
    assert [f.strategies for f in photo.frames] == [("still",)]
    # probe's errors come first; the scan's come with the file's hash
    text = tmp_path / "page.mp4"
    text.write_text("<html><body>not a video</body></html>")
    with pytest.raises(MediaError) as exc:
        probe_and_select(text, options=opts)
    assert exc.value.code == "E_INPUT_NOT_MEDIA"
    with pytest.raises(InputError) as exc:
        probe_and_select(clip, options=FrameOptions(every_s=1.0, start_s=60.0))
    assert exc.value.code == "E_INPUT_OPTION"  # a start past the end: the option, not the file
    assert exc.value.input_sha256 == media.sha256


def test_a_matroska_clip_is_demuxed_once_for_probe_and_scan(tmp_path):
    # Matroska has no full index: probe demuxes the packets, and the scan takes them as its
    # packet index instead of demuxing again; the selection is the one of the two calls
    from geoverify import probe
    from geoverify.footage import read_footage

    def probe_and_select(path, **kw):
        footage = read_footage(path, **kw)
        return footage.media, footage.selection

    from geoverify.frames._plan import packet_index_of
    from geoverify.frames._scan import scan_frames
    from geoverify.probing._container import PacketLog, read_container

    clip = write_clip(tmp_path / "m.mkv", n_frames=60, fps=25)
    opts = FrameOptions(scenes=True, every_s=0.5)
    media, selection = probe_and_select(clip, options=opts)
    assert media.container.demuxer == "matroska,webm"
    apart = select_frames(probe(clip), options=opts)
    assert [f.pts for f in selection.frames] == [f.pts for f in apart.frames]
    assert selection.frames_expected == apart.frames_expected == 60
    # what the follow-up job is handed: every packet probe demuxed, in file order (an MP4's
    # timestamps come from its index: nothing demuxed, nothing handed over)
    with av.open(str(clip)) as c:
        video = c.streams.video[0]
        order = [(p.pts, bool(p.is_keyframe)) for p in c.demux(video) if p.pts is not None]
        time_base = Fraction(video.time_base)

    log = PacketLog()
    read_container(str(clip), DecodeLimits(), log)
    assert log.whole_stream() == order
    mp4 = write_clip(tmp_path / "m.mp4", n_frames=10)
    log = PacketLog()
    read_container(str(mp4), DecodeLimits(), log)
    assert log.whole_stream() is None
    # and a given index is the one the scan uses: without its last 10 packets, 50 frames
    index = packet_index_of(order[:-10], time_base)
    short = scan_frames(str(clip), opts, DecodeLimits(), None, index=index)
    assert short.frames_expected == 50


def test_select_frames_takes_the_probe_result_as_its_handle(tmp_path):
    from geoverify import probe

    clip = write_clip(tmp_path / "h.mp4", n_frames=50, rotation_deg=90)
    media = probe(clip)
    opts = FrameOptions(scenes=True, best=2)
    by_path = select_frames(clip, options=opts)
    by_media = select_frames(media, options=opts)
    assert by_media.source_sha256 == media.sha256 == by_path.source_sha256
    # a 90-degree display matrix (counter-clockwise) is shown turned 270 degrees clockwise
    assert by_media.rotation_deg == media.video.rotation_deg == by_path.rotation_deg == 270
    assert [f.pts for f in by_media.frames] == [f.pts for f in by_path.frames]
    assert [f.phash for f in by_media.frames] == [f.phash for f in by_path.frames]
    # an explicit rotation still overrides the probe's
    assert select_frames(media, options=opts, rotation_deg=0).rotation_deg == 0
    with open(clip, "ab") as fh:  # the file changed after it was probed
        fh.write(b"\0" * 16)
    with pytest.raises(InputError) as exc:
        select_frames(media, options=opts)
    assert exc.value.code == "E_INPUT_CHANGED"


# --- the range and count options: refused as options, never blamed on the file ---------------


@pytest.mark.parametrize("start_s", [5.0, 2.0, 1e30])
def test_a_start_past_the_end_is_an_option_error_naming_the_duration(tmp_path, start_s):
    clip = write_clip(tmp_path / "s.mp4", n_frames=50)  # 2 s at 25 fps
    with pytest.raises(InputError) as exc:
        select_frames(clip, options=FrameOptions(every_s=1.0, start_s=start_s))
    assert exc.value.code == "E_INPUT_OPTION"
    assert "2.000 s" in exc.value.message
    # inside the clip the same options work
    sel = select_frames(clip, options=FrameOptions(every_s=1.0, start_s=1.0))
    assert [f.frame_number for f in sel.frames] == [25]


@pytest.mark.parametrize(
    "args",
    [["--best", "-1"], ["--start", "1e30"], ["--start", "nan"], ["--start", "1", "--end", "1"]],
)
def test_frames_command_refuses_bad_options_with_exit_3(tmp_path, args):
    from typer.testing import CliRunner

    from geoverify.cli import app

    clip = write_clip(tmp_path / "o.mp4", n_frames=50)
    result = CliRunner().invoke(app, ["frames", str(clip), "--out", str(tmp_path / "f"), *args])
    assert result.exit_code == 3, result.output
    assert "[E_INPUT_OPTION]" in result.stderr
    assert not (tmp_path / "f").exists()
