"""The isolated worker: crashes, hangs, memory blow-ups and errors become structured errors."""

from __future__ import annotations

import os
import time

import pytest

from geoverify import DecodeLimits, InputError, LimitError, MediaError
from geoverify._worker import run_isolated


def test_result_comes_back():
    assert run_isolated(divmod, 7, 3, limits=DecodeLimits()) == (2, 1)


def test_crash_is_a_media_error_and_the_caller_survives():
    with pytest.raises(MediaError) as exc:
        run_isolated(os.abort, limits=DecodeLimits())
    assert exc.value.code == "E_DECODER_CRASH"
    assert "SIGABRT" in exc.value.message


def test_hang_is_a_timeout():
    with pytest.raises(LimitError) as exc:
        run_isolated(time.sleep, 30, limits=DecodeLimits(timeout_s=2))
    assert exc.value.code == "E_TIMEOUT"


def test_memory_blow_up_is_a_limit_error():
    limits = DecodeLimits(max_memory_bytes=1024**3)
    with pytest.raises(LimitError) as exc:
        run_isolated(bytearray, 4 * 1024**3, limits=limits)
    assert exc.value.code == "E_LIMIT_MEMORY"


def test_opencv_out_of_memory_is_a_limit_error_too():
    # OpenCV's allocator fails with cv2.error (StsNoMem), not MemoryError: a 60000 x 60000
    # image (3.6 GB) under a 1 GiB limit
    code = "import cv2, numpy as np; cv2.resize(np.zeros((8, 8), np.uint8), (60_000, 60_000))"
    limits = DecodeLimits(max_memory_bytes=1024**3)
    with pytest.raises(LimitError) as exc:
        run_isolated(exec, code, limits=limits)
    assert exc.value.code == "E_LIMIT_MEMORY"


def test_the_worker_runs_this_geoverify_not_one_in_the_current_folder(tmp_path, monkeypatch):
    fake = tmp_path / "geoverify"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "_worker.py").write_text("import sys\nsys.exit(3)\n")  # what would run instead
    monkeypatch.chdir(tmp_path)
    assert run_isolated(int, "7", limits=DecodeLimits()) == 7


def test_exception_in_worker_is_a_media_error():
    with pytest.raises(MediaError) as exc:
        run_isolated(int, "not a number", limits=DecodeLimits())
    assert exc.value.code == "E_DECODER_ERROR"


@pytest.mark.parametrize(
    "kwargs", [{"max_pixels": 0}, {"max_frames": -1}, {"timeout_s": 0}, {"max_memory_bytes": 1.5}]
)
def test_limits_are_validated(kwargs):
    with pytest.raises(InputError):
        DecodeLimits(**kwargs)
