"""The output rule: what every command that writes may replace, and what it never touches.

An output folder is new, empty, or geoverify's (every file in it listed by a manifest);
``--overwrite`` keeps the files geoverify did not write and removes only what an earlier run
listed; an output that is, holds or lies inside an input is refused even with ``--overwrite``;
a single output file that exists is refused without ``--overwrite``; a killed run's
temporaries are removed by the next run. Every case runs the real command on real files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures import write_clip

from geoverify._output import check_output_dir, staged_dir, survey_output_dir, write_manifest
from geoverify.errors import OutputError

ROOT = Path(__file__).resolve().parent.parent
KARMA = ROOT / "samples" / "karma" / "karma.mp4"
BERLIN = ROOT / "samples" / "berlin"
BAKHMUT = ROOT / "samples" / "bakhmut"


def _cli(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "geoverify", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )
    return proc.returncode, proc.stdout, proc.stderr


def _tree(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (hidden ones too) with its SHA-256."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", n_frames=20)


@pytest.fixture
def case(tmp_path: Path, clip: Path) -> Path:
    """A case folder as an analyst keeps it: the clip, a registry with its photos, the claims."""
    folder = tmp_path / "case"
    shutil.copytree(BERLIN, folder / "reg", ignore=shutil.ignore_patterns("*.mp4"))
    shutil.copy(clip, folder / "clip.mp4")
    (folder / "notes.txt").write_text("the analyst's notes")
    return folder


# --- folders: inputs are never inside the output -------------------------------------------------


def test_verify_out_dot_with_overwrite_in_the_case_folder_deletes_nothing(case: Path) -> None:
    before = _tree(case)
    rc, _, err = _cli(
        "verify", "clip.mp4", "--registry", "reg/registry.geojson", "--claims",
        "reg/claims.yaml", "--out", ".", "--overwrite", cwd=case,
    )  # fmt: skip
    assert rc == 7, err
    assert "E_OUTPUT_HOLDS_INPUT" in err
    assert "Traceback" not in err
    assert _tree(case) == before  # nothing written, nothing removed


def test_an_input_inside_an_earlier_report_folder_is_refused(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "o"
    with staged_dir(out) as stage:  # an earlier report folder, wholly geoverify's
        (stage / "report.json").write_text("{}")
        write_manifest(stage)
    shutil.copy(clip, out / "clip.mp4")  # the analyst saved the clip into it
    before = _tree(out)
    rc, _, err = _cli(
        "verify", str(out / "clip.mp4"), "--registry", str(BERLIN / "registry.geojson"),
        "--claims", str(BERLIN / "claims.yaml"), "--out", str(out),
    )  # fmt: skip
    assert rc == 7
    assert "E_OUTPUT_HOLDS_INPUT" in err
    assert _tree(out) == before


def test_a_registry_image_inside_out_is_refused(tmp_path: Path) -> None:
    """The registry's reference photographs are inputs too: an --out above them is refused."""
    reg = tmp_path / "reg"
    shutil.copytree(BERLIN, reg, ignore=shutil.ignore_patterns("*.mp4"))
    images = [p for p in reg.rglob("*.jpg")]
    assert images  # the Berlin sample has reference photographs
    with pytest.raises(OutputError) as exc:
        check_output_dir(images[0].parent, overwrite=True, inputs=[os.fspath(p) for p in images])
    assert exc.value.code == "E_OUTPUT_HOLDS_INPUT"


def test_an_output_inside_an_input_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    with pytest.raises(OutputError) as exc:
        check_output_dir(folder / "out", inputs=[folder])
    assert exc.value.code == "E_OUTPUT_HOLDS_INPUT"
    linked = tmp_path / "link"
    linked.symlink_to(folder)  # the same folder through a link is the same folder
    with pytest.raises(OutputError):
        check_output_dir(linked / "out", inputs=[folder])


# --- folders: files geoverify did not write -------------------------------------------------------


def test_frames_into_a_folder_of_the_analysts_files(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "out"
    rc, _, err = _cli("frames", str(clip), "--out", str(out), "--every", "0.5")
    assert rc == 0, err
    first = json.loads((out / "frames.json").read_text())
    (out / "notes.txt").write_text("mine")
    (out / "sub").mkdir()
    (out / "sub" / "photo.jpg").write_bytes(b"not geoverify's")
    # without --overwrite: refused, nothing changes
    before = _tree(out)
    rc, _, err = _cli("frames", str(clip), "--out", str(out), "--every", "1")
    assert rc == 7
    assert "E_OUTPUT_NOT_EMPTY" in err
    assert "notes.txt" in err
    assert _tree(out) == before
    # with --overwrite: the analyst's files stay, the earlier frames go, the new ones come
    rc, _, err = _cli("frames", str(clip), "--out", str(out), "--every", "1", "--overwrite")
    assert rc == 0, err
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "sub" / "photo.jpg").read_bytes() == b"not geoverify's"
    second = json.loads((out / "frames.json").read_text())
    old = {f["file"] for f in first["frames"]} - {f["file"] for f in second["frames"]}
    assert old  # every 0.5 s gave frames every 1 s does not
    assert not any((out / name).exists() for name in old)
    manifest = json.loads((out / "manifest.json").read_text())["files"]
    assert "notes.txt" not in manifest
    assert "sub/photo.jpg" not in manifest
    for name, digest in manifest.items():  # the manifest lists this run's files, truly
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    # the folder is not wholly geoverify's: the next run needs --overwrite again
    rc, _, err = _cli("frames", str(clip), "--out", str(out), "--every", "1")
    assert rc == 7


def test_overwrite_never_replaces_a_file_geoverify_did_not_write(
    tmp_path: Path, clip: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "frames.json").write_text("the analyst's own frames.json")
    before = _tree(out)
    rc, _, err = _cli("frames", str(clip), "--out", str(out), "--every", "1", "--overwrite")
    assert rc == 7
    assert "E_OUTPUT_NOT_EMPTY" in err
    assert "frames.json" in err
    assert _tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary left beside it


def test_frames_twice_leaves_only_the_second_runs_frames(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "out"
    assert _cli("frames", str(clip), "--out", str(out), "--every", "0.25")[0] == 0
    assert _cli("frames", str(clip), "--out", str(out), "--every", "1")[0] == 0
    listed = {f["file"] for f in json.loads((out / "frames.json").read_text())["frames"]}
    assert {p.name for p in out.glob("f_*")} == listed


def test_a_file_appearing_during_the_run_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged_dir(out) as stage:
        (stage / "a.txt").write_text("first")
        write_manifest(stage)

    def second_run() -> None:
        with staged_dir(out) as stage:
            (stage / "a.txt").write_text("second")
            write_manifest(stage)
            (out / "dropped_in.txt").write_text("saved by the analyst meanwhile")

    with pytest.raises(OutputError) as exc:
        second_run()
    assert exc.value.code == "E_OUTPUT_NOT_EMPTY"
    assert (out / "a.txt").read_text() == "first"
    assert (out / "dropped_in.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_nested_manifests_own_their_folders_only_where_vouched_for(tmp_path: Path) -> None:
    """A batch's items carry their own manifests; a report copied in by the user does not count."""
    out = tmp_path / "batch"
    out.mkdir()
    write_manifest(out, extra={"nested": ["items"]})  # first, as a batch does
    item = out / "items" / "k1"
    item.mkdir(parents=True)
    (item / "report.json").write_text("{}")
    write_manifest(item)  # an item finished before the batch was killed
    assert survey_output_dir(out).foreign == ()
    (out / "items" / "stray.txt").write_text("x")
    assert survey_output_dir(out).foreign == ("items/stray.txt",)
    (out / "items" / "stray.txt").unlink()
    # an old report the analyst keeps inside the folder: its manifest vouches for nothing
    archived = out / "archive" / "old_report"
    archived.mkdir(parents=True)
    (archived / "report.json").write_text("{}")
    write_manifest(archived)
    assert set(survey_output_dir(out).foreign) == {
        "archive/old_report/manifest.json",
        "archive/old_report/report.json",
    }


# --- single files ---------------------------------------------------------------------------------


def test_single_file_outputs_are_refused_when_they_exist(tmp_path: Path) -> None:
    reg = tmp_path / "registry.geojson"
    shutil.copy(BAKHMUT / "registry.geojson", reg)
    before = reg.read_bytes()
    runs = [
        ("sun", "where", "--time", "2023-03-06T10:15+02:00", "--shadow-azimuth", "300",
         "--bbox", "30,40,40,50", "--out", str(reg)),
        ("probe", str(KARMA), "--track", "geojson", "--out", str(reg)),
        ("claims", "template", "--out", str(reg)),
    ]  # fmt: skip
    for args in runs:
        rc, _, err = _cli(*args)
        assert rc == 7, (args, err)
        assert "E_OUTPUT_EXISTS" in err
        assert "--overwrite" in err
        assert reg.read_bytes() == before
    rc, _, err = _cli("probe", str(KARMA), "--track", "geojson", "--out", str(reg), "--overwrite")
    assert rc == 0, err
    assert json.loads(reg.read_text())["type"] == "FeatureCollection"
    assert reg.read_bytes() != before


def test_a_single_file_output_is_never_an_input_or_a_link(tmp_path: Path) -> None:
    video = tmp_path / "karma.mp4"
    shutil.copy(KARMA, video)
    before = video.read_bytes()
    rc, _, err = _cli("probe", str(video), "--track", "gpx", "--out", str(video), "--overwrite")
    assert rc == 7
    assert "E_OUTPUT_HOLDS_INPUT" in err
    assert video.read_bytes() == before
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep")
    link = tmp_path / "t.gpx"
    link.symlink_to(target)
    rc, _, err = _cli("probe", str(video), "--track", "gpx", "--out", str(link), "--overwrite")
    assert rc == 7
    assert "E_OUTPUT_SYMLINK" in err
    assert target.read_text() == "keep"


def test_a_single_file_output_checks_its_own_path_only(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(sys.executable)  # a link elsewhere in the tree
    out = tmp_path / "track.gpx"
    rc, _, err = _cli("probe", str(KARMA), "--track", "gpx", "--out", str(out))
    assert rc == 0, err
    assert out.read_text().startswith("<?xml")


# --- a killed run -------------------------------------------------------------------------------


def test_a_killed_runs_temporaries_are_removed_by_the_next_run(tmp_path: Path, clip: Path) -> None:
    """What a SIGKILLed run leaves beside --out (its PID is gone) goes at the next run.

    (tests/test_faults.py kills a real ``frames`` run mid-way; here a real process makes the
    temporaries as a run would and exits without removing them, then ``verify`` runs.)
    """
    out = tmp_path / "report"
    make = (
        "import os, sys, tempfile; d = sys.argv[1]; "
        "p = tempfile.mkdtemp(dir=d, prefix=f'.report.{os.getpid()}.', suffix='.part'); "
        "open(os.path.join(p, 'f_1.png'), 'wb').write(b'x' * 100); "
        "tempfile.mkstemp(dir=d, prefix=f'.report.{os.getpid()}.', suffix='.old')"
    )
    subprocess.run([sys.executable, "-c", make, str(tmp_path)], check=True)
    (tmp_path / ".report.notes").write_text("not a temporary of geoverify's: kept")
    assert len([p for p in tmp_path.iterdir() if p.name.startswith(".report.")]) == 3
    rc, _, err = _cli(
        "-q", "verify", str(clip), "--registry", str(BERLIN / "registry.geojson"),
        "--claims", str(BERLIN / "claims.yaml"), "--out", str(out), "--every", "1",
    )  # fmt: skip
    assert rc == 0, err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [".report.notes"]
    assert (out / "manifest.json").is_file()


# --- what counts as geoverify's (a fresh-eyes review's cases) ------------------------------------


def _earlier_run(out: Path) -> None:
    with staged_dir(out) as stage:
        (stage / "report.json").write_text("{}")
        write_manifest(stage)


def test_a_manifest_geoverify_did_not_write_owns_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    doc = {"name": "my dataset", "files": {"notes.txt": "0" * 64}}
    (out / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(OutputError) as exc:
        _earlier_run(out)
    assert exc.value.code == "E_OUTPUT_NOT_EMPTY"
    assert (out / "notes.txt").read_text() == "mine"


def test_a_listed_file_edited_since_is_the_users(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _earlier_run(out)
    (out / "report.json").write_text('{"edited": "by the analyst"}')
    with pytest.raises(OutputError) as exc:
        _earlier_run(out)
    assert exc.value.code == "E_OUTPUT_NOT_EMPTY"
    assert "edited" in (out / "report.json").read_text()


def test_names_like_temporaries_and_empty_folders_of_the_user_are_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _earlier_run(out)
    (out / ".notes.2024.txt.old").write_text("mine")
    (out / ".photos.1.bak.old").mkdir()
    (out / ".photos.1.bak.old" / "IMG_1.jpg").write_bytes(b"mine")
    (out / "evidence").mkdir()
    beside = tmp_path / ".out.2019.backup.old"  # beside --out, not a temporary's form
    beside.mkdir()
    (beside / "report.html").write_text("mine")
    survey = survey_output_dir(out)
    assert set(survey.foreign) == {
        ".notes.2024.txt.old",
        ".photos.1.bak.old/IMG_1.jpg",
        "evidence/",
    }
    with pytest.raises(OutputError):
        _earlier_run(out)
    with staged_dir(out, overwrite=True) as stage:
        (stage / "report.json").write_text('{"second": true}')
        write_manifest(stage)
    assert (out / ".photos.1.bak.old" / "IMG_1.jpg").read_bytes() == b"mine"
    assert (out / ".notes.2024.txt.old").exists()
    assert (out / "evidence").is_dir()
    assert (beside / "report.html").exists()
    assert json.loads((out / "report.json").read_text()) == {"second": True}


def test_an_input_reached_through_a_link_and_dotdot_is_refused(tmp_path: Path) -> None:
    case = tmp_path / "case"
    (case / "sub").mkdir(parents=True)
    video = case / "karma.mp4"
    shutil.copy(KARMA, video)
    work = tmp_path / "work"
    work.mkdir()
    (work / "link").symlink_to(case / "sub")
    before = video.read_bytes()
    rc, _, err = _cli(
        "probe", str(video), "--track", "gpx", "--out", "link/../karma.mp4", "--overwrite",
        cwd=work,
    )  # fmt: skip
    assert rc == 7
    assert "E_OUTPUT_HOLDS_INPUT" in err
    assert video.read_bytes() == before


def test_a_file_where_a_folder_goes_is_refused_before_anything_is_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _earlier_run(out)
    (out / "frames").write_text("a file of the user's named like a folder geoverify writes")
    before = _tree(out)

    def second_run() -> None:
        with staged_dir(out, overwrite=True) as stage:
            (stage / "frames").mkdir()
            (stage / "frames" / "f_1.png").write_bytes(b"x")
            write_manifest(stage)

    with pytest.raises(OutputError) as exc:
        second_run()
    assert exc.value.code == "E_OUTPUT_NOT_EMPTY"
    assert _tree(out) == before  # the earlier run's files too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_replaced_folder_keeps_its_permissions(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _earlier_run(out)
    out.chmod(0o700)
    _earlier_run(out)
    assert (out.stat().st_mode & 0o777) == 0o700


def test_out_dot_is_filled_in_place_and_the_working_folder_survives(
    tmp_path: Path, clip: Path
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    for _ in range(2):  # the second run replaces the first in place
        rc, out, err = _cli("frames", str(clip), "--out", ".", "--every", "1", "--json", cwd=here)
        assert rc == 0, err
        assert json.loads(out)["frames"]
    assert (here / "manifest.json").is_file()
    assert not [p for p in here.iterdir() if p.name.startswith(".")]


def test_a_frames_folder_of_an_earlier_version_is_geoverifys(tmp_path: Path, clip: Path) -> None:
    """Before the output rule, `frames` wrote no manifest.json: its frames.json tells."""
    out = tmp_path / "out"
    assert _cli("frames", str(clip), "--out", str(out), "--every", "1")[0] == 0
    (out / "manifest.json").unlink()  # as the earlier version left it
    assert survey_output_dir(out).foreign == ()
    assert _cli("frames", str(clip), "--out", str(out), "--every", "0.5")[0] == 0


def test_a_single_output_file_is_never_a_fifo_even_with_overwrite(tmp_path):
    # found by the December sweep: `pick --out FIFO --overwrite` replaced the FIFO (as root,
    # /dev/null too); a special file is refused before any work
    import os

    from geoverify._output import check_output_file
    from geoverify.errors import OutputError

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError) as err:
        check_output_file(fifo, overwrite=True)
    assert err.value.code == "E_OUTPUT_PATH"
    assert fifo.is_fifo()


def test_the_atomic_writer_itself_never_replaces_a_fifo(tmp_path):
    # the refusal at the depth every writer shares (registry, reports, batch, OSM answers)
    import os

    from geoverify._io import write_atomic
    from geoverify.errors import OutputError

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError) as err:
        write_atomic(fifo, b"data")
    assert err.value.code == "E_OUTPUT_PATH"
    assert fifo.is_fifo()
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]  # no temporary left
