"""Frame selection without a video: the decoding plan from a packet index, and each strategy
fed items made from real photographs (real PyAV frames built from their pixels)."""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
from conftest import BERLIN

from geoverify._images import read_image
from geoverify.errors import LimitError
from geoverify.frames import FrameOptions
from geoverify.frames._plan import PacketIndex, every_targets, plan_decoding, uncovered_ranges
from geoverify.frames._scan import Analyser
from geoverify.frames._strategies import Best, Every, Item, Keyframes, Picks, Selection

TB = Fraction(1, 25)  # one tick per frame at 25 fps


def _index(n=100, gop=25, *, open_gop=False, demux_error=""):
    pts = tuple(range(n))
    order = [(p, p % gop == 0) for p in pts]
    if open_gop:  # a B-frame shown before the keyframe it follows in decode order
        order[gop + 1] = (gop - 1, False)
    return PacketIndex(
        time_base=TB,
        pts=pts,
        key_pts=tuple(p for p in pts if p % gop == 0),
        decode_order=tuple(order),
        demux_error=demux_error,
    )


# --- the plan --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opts", "mode", "analyse"),
    [
        (FrameOptions(keyframes=True, scenes=False, best=0), "keys", False),
        (FrameOptions(every_s=1.0, scenes=False, best=0), "seek", False),
        (FrameOptions(scenes=True, best=0), "screen", True),
        (FrameOptions(scenes=True, best=0, scene_scan="full"), "full", True),
        (FrameOptions(scenes=True, best=0, start_s=1.0), "full", True),
        (FrameOptions(scenes=True, best=2), "full", True),
        (FrameOptions(scenes=False, views=True, best=0), "full", True),
        (FrameOptions(keyframes=True, every_s=1.0, scenes=False, best=0), "full", False),
    ],
)
def test_the_plan_follows_from_the_options(opts, mode, analyse):
    plan = plan_decoding(opts, _index())
    assert (plan.mode, plan.analyse) == (mode, analyse)


def test_the_screen_needs_closed_gops_three_keyframes_and_a_clean_demux():
    scenes = FrameOptions(scenes=True, best=0)
    assert plan_decoding(scenes, _index()).mode == "screen"
    assert plan_decoding(scenes, _index(open_gop=True)).mode == "full"
    assert plan_decoding(scenes, _index(n=50)).mode == "full"  # two keyframes
    assert plan_decoding(scenes, _index(demux_error="InvalidDataError")).mode == "full"


def test_every_targets_are_the_frames_on_screen_at_each_time():
    # variable frame rate: frames at 0, 0.04, 0.5, 1.9 s; the last stays on screen for the
    # median step (0.46 s), to 2.36 s
    index = PacketIndex(
        time_base=Fraction(1, 100),
        pts=(0, 4, 50, 190),
        key_pts=(0,),
        decode_order=((0, True), (4, False), (50, False), (190, False)),
    )
    targets = every_targets(index, FrameOptions(every_s=0.5, scenes=False, best=0))
    # 0 -> frame 0; 0.5 -> frame at 0.5; 1.0 and 1.5 -> still the frame at 0.5 s; 2.0 -> 1.9 s
    assert targets == {0: [0.0], 50: [0.5, 1.0, 1.5], 190: [2.0]}
    assert every_targets(index, FrameOptions(scenes=False, best=2)) == {}


def test_uncovered_times_join_into_ranges():
    step = 0.04
    assert uncovered_ranges([1.0, 1.04, 1.08, 2.0], step) == ((1.0, 1.08), (2.0, 2.0))
    assert uncovered_ranges([1.0], step, tail=(1.04, 3.0)) == ((1.0, 3.0),)
    assert uncovered_ranges([], step, tail=(5.0, 6.0)) == ((5.0, 6.0),)


# --- strategies on items -----------------------------------------------------------------------


def _photo(name: str, size=(320, 180)):
    image, _ = read_image(BERLIN / name, 60_000_000)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _items(images, *, keys=(0,), opts=None):
    """Items as the scan makes them: a real PyAV frame per picture, analysed in order."""
    opts = opts or FrameOptions()
    analyser = Analyser(opts.analysis_width)
    out = []
    for i, img in enumerate(images):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
        frame = frame.reformat(format="yuv420p")
        item = Item(frame=frame, pts=i, t_s=i / 25, number=i, key=i in keys)
        analyser.analyse(item)
        out.append(item)
    return out


def _run(opts, items, **kw):
    picks = Picks(opts, 0, TB, stream=False)
    selection = Selection(opts, picks, fps_hint=25.0, **kw)
    for i, item in enumerate(items):
        selection.offer(item, tuple(items[i + 1 : i + 3]))
    selection.finish()
    return picks, selection


def test_a_cut_between_two_photographs_makes_two_shots_with_a_scene_frame_each():
    a, b = _photo("berlin_01.jpg"), _photo("berlin_02.jpg")
    opts = FrameOptions(scenes=True, best=0)
    items = _items([a] * 10 + [b] * 10, opts=opts)
    picks, selection = _run(opts, items)
    shots = selection.shot_list
    assert [(s.first_frame, s.last_frame, s.began_with) for s in shots] == [
        (0, 9, "start"),
        (10, 19, "cut"),
    ]
    scene = [f for f in picks.frames.values() if "scene" in f.strategies]
    assert [f.shot for f in scene] == [0, 1]
    assert [f.frame_number < 10 for f in scene] == [True, False]


def test_a_flash_of_two_frames_is_not_a_cut_and_a_fade_from_black_is():
    a, b = _photo("berlin_01.jpg"), _photo("berlin_03.jpg")
    black = np.zeros_like(a)
    opts = FrameOptions(scenes=True, best=0)
    flash = _items([a] * 8 + [b] * 2 + [a] * 8, opts=opts)
    _, selection = _run(opts, flash)
    assert len(selection.shot_list) == 1
    assert flash[8].flash
    fade = _items([a] * 6 + [black] * 4 + [a] * 6, opts=opts)
    _, selection = _run(opts, fade)
    assert [s.began_with for s in selection.shot_list] == ["start", "fade"]
    assert selection.shot_list[1].first_frame == 10  # the first frame after the black


def test_views_pick_when_the_camera_has_moved_a_third_of_the_frame():
    wide, _ = read_image(BERLIN / "berlin_01.jpg", 60_000_000)
    wide = cv2.resize(wide, (960, 180), interpolation=cv2.INTER_AREA)
    # a pan: the 320 px window moves 16 px a frame over a 960 px strip of the photograph
    frames = [wide[:, x : x + 320] for x in range(0, 640, 16)]
    opts = FrameOptions(scenes=False, views=True, best=0)
    picks, _ = _run(opts, _items(frames, opts=opts))
    views = sorted(f.frame_number for f in picks.frames.values())
    assert views[0] == 0  # the first view of the shot
    # each next view is about a third of the width (107 px, 7 frames of 16 px) further on
    steps = np.diff(views)
    assert len(views) >= 4
    assert all(6 <= s <= 8 for s in steps), views


def test_every_keyframes_and_best_pick_what_they_should():
    imgs = [_photo(n) for n in ("berlin_01.jpg", "berlin_02.jpg", "berlin_03.jpg")]
    blurred = [cv2.GaussianBlur(im, (0, 0), 3) for im in imgs]
    frames = [*imgs, *blurred, imgs[0]]  # the last repeats the first: a near-duplicate
    opts = FrameOptions(scenes=False, best=2, sample_hz=25.0)
    items = _items(frames, keys=(0, 3), opts=opts)
    picks = Picks(opts, 0, TB, stream=False)
    strategies = [
        Every(picks, frozenset({1, 5}), None),
        Keyframes(picks, None),
        Best(opts, picks, None),
    ]
    for item in items:
        for s in strategies:
            s.offer(item, False)
    for s in strategies:
        s.finish()
    by_strategy = {
        name: sorted(f.frame_number for f in picks.frames.values() if name in f.strategies)
        for name in ("every", "keyframe", "best")
    }
    assert by_strategy["every"] == [1, 5]
    assert by_strategy["keyframe"] == [0, 3]
    best = by_strategy["best"]
    assert len(best) == 2
    assert not set(best) & {3, 4, 5}  # blurred frames are never the sharpest two
    assert not {0, 6} <= set(best)  # a frame and its repeat are one candidate


def test_more_frames_than_max_selected_is_a_limit():
    imgs = [_photo("berlin_01.jpg")] * 5
    opts = FrameOptions(keyframes=True, scenes=False, best=0, max_selected=3)
    items = _items(imgs, keys=range(5), opts=opts)
    with pytest.raises(LimitError) as exc:
        _run(opts, items)
    assert exc.value.code == "E_LIMIT_FRAMES"
