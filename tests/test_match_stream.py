"""Matching frames on a thread while they are decoded (``verify``'s ``MatchStream``).

Real photographs (OpenCV's samples): graf3 shows the wall of graf1 from 40 degrees, box_in_scene
shows box.png on a table, aero1 shows neither. The stream must give those answers, in the
order the frames were given, and the same numbers as matching the frames one after another.
"""

from __future__ import annotations

import dataclasses
import shutil

from conftest import DATA

from geoverify._images import load_image
from geoverify.matching import MatchOptions, build_index, match_frames
from geoverify.matching._stream import MatchStream
from geoverify.registry import Landmark, ReferenceImage, Registry, load_registry, save_registry

IM = DATA / "image_matching"
# the other landmark's two orientations are the controls: a rate of at best 1/3 is accepted
OPTS = MatchOptions(background="off", affine="off", min_controls=2, max_false_match_rate=0.5)


@dataclasses.dataclass(frozen=True)
class _Frame:  # what matching reads of a geoverify.frames.Frame
    image_bgr: object
    t_s: float
    frame_number: int


def _registry(tmp_path):
    (tmp_path / "refs").mkdir()
    marks = []
    for lid, name in (("graf", "graf1.png"), ("box", "box.png")):
        shutil.copy(IM / name, tmp_path / "refs" / name)
        ref = ReferenceImage(path=f"refs/{name}", sha256="")
        marks.append(Landmark(id=lid, name=lid, reference_images=(ref,)))
    save_registry(Registry(name="t", landmarks=tuple(marks)), tmp_path / "r.geojson")
    return load_registry(tmp_path / "r.geojson")


def test_the_stream_matches_frames_as_they_come_and_answers_in_the_given_order(tmp_path):
    reg = _registry(tmp_path)
    frames = [
        _Frame(load_image(IM / name), float(i), i)
        for i, name in enumerate(("graf3.png", "aero1.jpg", "box_in_scene.png"))
    ]
    stream = MatchStream(reg, OPTS, tmp_path)
    stream.take(frames[2])  # frames come in any order; one never taken is matched at the end
    stream.take(frames[0])
    stream.take(frames[0])  # taken twice: matched once
    seen: list[tuple[int, int | None]] = []
    index, streamed = stream.results(frames, progress=lambda d, t: seen.append((d, t)))
    assert index is not None
    found = [
        (m.match.verdict, m.match.best.landmark_id if m.match.best else None) for m in streamed
    ]
    assert (found[0], found[2]) == (("match", "graf"), ("match", "box"))
    assert found[1][0] == "no_match"
    assert [m.frame_number for m in streamed] == [0, 1, 2]
    assert seen == [(1, 3), (2, 3), (3, 3)]
    # the same numbers as matching the frames one after another
    plain = match_frames(frames, build_index(reg, options=OPTS, base_dir=tmp_path))
    assert [(m.match.best.inliers, m.match.control_scores, m.frame_sha256) for m in streamed] == [
        (m.match.best.inliers, m.match.control_scores, m.frame_sha256) for m in plain
    ]


def test_a_registry_without_reference_images_matches_nothing(tmp_path):
    save_registry(
        Registry(name="t", landmarks=(Landmark(id="a", name="a"),)), tmp_path / "r.geojson"
    )
    stream = MatchStream(load_registry(tmp_path / "r.geojson"), OPTS, tmp_path)
    frame = _Frame(load_image(IM / "graf3.png"), 0.0, 0)
    stream.take(frame)
    assert stream.results([frame]) == (None, ())
