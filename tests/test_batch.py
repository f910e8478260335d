"""geoverify batch on a Telegram-style export built from the real sample media: every row,
resume, duplicates, near-duplicates, failures, and the same rows on a Dask LocalCluster."""

from __future__ import annotations

import csv
import json
import os
import runpy
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import KARMA, ROOT
from typer.testing import CliRunner

from geoverify.batch import collect_inputs, read_telegram_export, verify_batch
from geoverify.cli import app
from geoverify.frames import FrameOptions

runner = CliRunner()
BAKHMUT = ROOT / "samples" / "bakhmut"
BERLIN = ROOT / "samples" / "berlin"
# the tests are about the batch, not frame coverage: each video's two sharpest frames (two, so
# that the re-upload is still linked by its frames' hashes), the plain pass
FEW = FrameOptions(best=2)


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
    assert summary["schema_version"] == "1.0"
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
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
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
        "--out", str(out), "--workers", "1", "--affine", "off", "--best", "2",
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

    from geoverify.batch import _blas_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    show = "import os; print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['OMP_NUM_THREADS'])"
    with _blas_threads(1):
        child = subprocess.run([sys.executable, "-c", show], capture_output=True, text=True)
    assert child.stdout.split() == ["1", "1"]
    assert os.environ["OMP_NUM_THREADS"] == "3"
    assert "OPENBLAS_NUM_THREADS" not in os.environ
    with _blas_threads(0):  # automatic: nothing set
        assert "OPENBLAS_NUM_THREADS" not in os.environ
