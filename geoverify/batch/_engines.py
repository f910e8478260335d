"""The batch's engines: one item in a worker (``run_item``), a process pool, or Dask.

``run_item`` is the task function of both engines: a module-level function of plain
arguments at a stable path (``geoverify.batch._engines.run_item``), so that a spawned pool
worker or a Dask worker imports it by name.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
import sys
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from geoverify.batch._outputs import check_items_folder, save_row
from geoverify.errors import GeoverifyError, InputError, MissingDependencyError

# A pool worker's parent (``_init_worker``): the batch. 0 in the batch itself and on Dask.
_PARENT = {"pid": 0}
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _init_worker(parent_pid: int) -> None:
    """Make a pool worker die with the batch, even one killed with SIGKILL.

    On Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` has the kernel kill the worker when the
    process that started it ends (it is started by the batch's thread that calls
    ``verify_batch``); ``run_item`` also checks, before each item, that its parent is still the
    batch. Without this a killed batch's workers went on writing rows into ``out`` for as long
    as their queue lasted. Elsewhere the check before each item is what remains.
    """
    _PARENT["pid"] = parent_pid
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    _exit_if_orphaned()


def _exit_if_orphaned() -> None:
    """End a pool worker whose batch has gone (its parent is no longer the batch)."""
    if _PARENT["pid"] and os.getppid() != _PARENT["pid"]:
        os._exit(1)


def run_item(task: Mapping[str, Any]) -> dict[str, Any]:
    """Verify one distinct file and write its report into ``items/KEY``; return its row data.

    A module-level function of plain arguments, so the process pool and Dask run the same code.
    A ``GeoverifyError`` becomes a failed row; anything else too, with ``E_INTERNAL``.
    """
    from geoverify.batch._triage import triage
    from geoverify.claims import load_claims
    from geoverify.pipeline import save_verification, verify
    from geoverify.registry import load_registry

    _exit_if_orphaned()
    out_root = Path(task["out"])
    out = out_root / "items" / task["key"]
    row: dict[str, Any] = {"key": task["key"], "file_sha256": task["sha256"], "status": "failed"}
    try:
        registry = load_registry(task["registry"])
        claims = load_claims(task["claims"]) if task["claims"] else None
        posted = datetime.fromisoformat(task["posted_utc"]) if task["posted_utc"] else None
        result = verify(
            task["path"],
            registry=registry,
            claims=claims,
            options=_verify_options(task["options"]),
            posted_utc=posted,
        )
        fingerprint = _fingerprint(result, int(task["options"].get("decoder_threads", 0)))
        _exit_if_orphaned()
        check_items_folder(out_root)
        save_verification(result, out, overwrite=bool(task.get("overwrite")))
        report = result.report
        found = triage(result)
        done = {
            **row,
            "status": "done",
            "verdict": report.bottom_line.verdict.value,
            "rule": report.bottom_line.rule,
            "landmarks_matched": sorted(report.summary["frames_matched_by_landmark"]),
            "report_dir": str(out),
            "frame_phashes": [f["phash"] for f in report.frames],
            "fingerprint": fingerprint,
            "thumbnail": _thumbnail(result),
            "findings": found.summary,
            "landmark_names": [m.name for m in found.matched],
        }
        check_items_folder(out_root)
        save_row(out, done)
        row = done
    except GeoverifyError as exc:
        row.update(status="failed", error_code=exc.code, error_message=exc.message)
    except Exception as exc:
        row.update(
            status="failed",
            error_code="E_INTERNAL",
            error_message=f"{type(exc).__name__}: {exc}"[:300],
        )
    return row


def _verify_options(record: Mapping[str, Any]) -> Any:
    from geoverify._media import DecodeLimits
    from geoverify.frames import FrameOptions
    from geoverify.matching import MatchOptions
    from geoverify.models import TEXT_LANG
    from geoverify.pipeline import VerifyOptions
    from geoverify.text import TextOptions

    threads = int(record.get("decoder_threads", 0))
    if threads:
        import cv2

        cv2.setNumThreads(threads)
    lang = record.get("text", TEXT_LANG)
    _check_trust_list(record)
    return VerifyOptions(
        matching=MatchOptions(**record.get("matching", {})),
        frames=FrameOptions(**record["frames"]),  # verify_batch always writes them
        limits=DecodeLimits(decoder_threads=threads),
        text=TextOptions(lang=lang) if lang is not None else None,
        trust_anchors=record.get("trust_anchors"),
    )


def trust_list_sha256(path: str | os.PathLike[str]) -> str:
    """Read a C2PA trust list (``E_TRUST_ANCHORS`` if it holds none); return its SHA-256."""
    import hashlib

    from geoverify.probing import read_trust_anchors

    return hashlib.sha256(read_trust_anchors(path).encode("utf-8")).hexdigest()


def _check_trust_list(record: Mapping[str, Any]) -> None:
    """Refuse an item when the trust list is no longer the one the batch's keys were made of."""
    from geoverify.errors import InputError

    path = record.get("trust_anchors")
    if not path:
        return
    if trust_list_sha256(path) != record.get("trust_anchors_sha256"):
        msg = f"the trust list {path!r} changed since the batch started"
        hint = "Run the batch again: its items are keyed by the trust list's content."
        raise InputError(msg, code="E_TRUST_ANCHORS", hint=hint)


FINGERPRINT_FRAMES = 8
_FLAT_STD = 4.0  # grey levels: a frame this uniform (black, a fade) says nothing of the picture


def _fingerprint(result: Any, threads: int) -> list[str]:
    """Perceptual hashes of frames at 0, 1/8, ..., 7/8 of a video's duration ("" if flat).

    The frames a report chooses depend on the encoding (the sharpest frames of a re-upload at
    another frame rate are other frames), these do not: a re-encoded copy has the same
    pictures at the same fractions of its duration. Empty for a photo, a video of unknown
    duration, or one this second, seeking pass cannot read.
    """
    import cv2
    import numpy as np

    from geoverify._media import DecodeLimits
    from geoverify.frames import FrameOptions, is_photo, select_frames

    media = result.media
    duration = media.video.duration_s if media.video is not None else None
    duration = duration or media.container.duration_s
    if is_photo(media.path) or not duration or not 0 < duration < 1e7:
        return []
    try:
        selection = select_frames(
            media,
            options=FrameOptions(every_s=duration / FINGERPRINT_FRAMES),
            limits=DecodeLimits(decoder_threads=threads),
        )
    except GeoverifyError:
        return []
    hashes = []
    for frame in selection.frames[:FINGERPRINT_FRAMES]:
        if frame.image_bgr is None or not frame.image_bgr.size:
            hashes.append("")
            continue
        gray = cv2.cvtColor(frame.image_bgr, cv2.COLOR_BGR2GRAY)
        small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA)
        hashes.append(frame.phash if float(np.std(small)) >= _FLAT_STD else "")
    return hashes


def _thumbnail(result: Any) -> str:
    from geoverify.report import jpeg_data_uri

    frames = result.selection.frames
    if not frames or frames[0].image_bgr is None:
        return ""
    return jpeg_data_uri(frames[0].image_bgr, max_width=160)


def worker_threads(threads_per_worker: int | None, *, several: bool) -> int:
    """Each worker's decoder and OpenCV threads (0: their own choice)."""
    if threads_per_worker is not None:
        if not 0 <= threads_per_worker <= 64:
            msg = f"--threads-per-worker {threads_per_worker} must be 0 (automatic) to 64"
            raise InputError(msg, code="E_INPUT_OPTION", hint="e.g. --threads-per-worker 1")
        return threads_per_worker
    # several workers: one decoder thread and one OpenCV thread each, so that they share the
    # cores instead of competing for them (one verify alone keeps about 1.5 cores busy)
    return 1 if several else 0


_SCHEDULER_SCHEMES = frozenset({"tcp", "tls", "ucx", "ws", "wss"})


def scheduler_address(text: str) -> str:
    """Check a Dask scheduler address (``tcp://HOST:PORT``) and that Dask is installed.

    Raises
    ------
    InputError
        ``E_INPUT_OPTION``: not ``[SCHEME://]HOST:PORT`` (a TCP-like scheme, a port 1-65535).
    MissingDependencyError
        The Dask packages are not installed.
    """
    raw = text.strip()
    address = raw if "://" in raw else f"tcp://{raw}"
    try:
        parts = urllib.parse.urlsplit(address)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme not in _SCHEDULER_SCHEMES
        or not parts.hostname
        or port is None
        or not 0 < port < 65536
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
        or any(ch.isspace() or not ch.isprintable() for ch in raw)
    ):
        msg = f"--scheduler {text!r} is not the address of a Dask scheduler"
        raise InputError(
            msg,
            code="E_INPUT_OPTION",
            hint="Give tcp://HOST:PORT, as the scheduler prints it (e.g. tcp://10.0.0.5:8786).",
        )
    _dask()
    return address


def _dask() -> tuple[Any, Any]:
    """Dask distributed's ``Client`` and ``as_completed``; a friendly error when not installed."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        msg = "--scheduler needs the optional Dask packages, which are not installed"
        raise MissingDependencyError(
            msg, hint="pip install 'geoverify[dask]' (or run without --scheduler)"
        ) from None
    return Client, as_completed


def pool_workers(workers: int | None) -> int:
    if workers is not None:
        if workers < 1:
            msg = f"--workers {workers} must be at least 1"
            raise InputError(msg, code="E_INPUT_OPTION", hint="e.g. --workers 2")
        return workers
    return max(1, os.cpu_count() or 1)


# The BLAS libraries' thread pools are sized when numpy loads, from these variables: a pool
# process inherits them when it is spawned. Matching's nearest-neighbour search is a BLAS
# matrix product; two workers with two BLAS threads each on two cores spent a third of a batch
# on contention (bench/README.md). Dask's nanny sets the same variables in its workers.
_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def blas_threads(threads: int) -> Iterator[None]:
    """Set the BLAS thread variables (``threads`` > 0) for the processes spawned inside."""
    if threads <= 0:
        yield
        return
    saved = {name: os.environ.get(name) for name in _BLAS_THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(_BLAS_THREAD_VARIABLES, str(threads)))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_pool(
    tasks: list[dict[str, Any]],
    workers: int,
    progress: Callable[[int, int | None], None] | None,
    *,
    threads: int = 0,
) -> dict[str, dict[str, Any]]:
    """One task per file on a spawned process pool; a dead worker is a failed row.

    ``threads`` > 0 is each worker's thread count: its BLAS pool is sized to it too.
    """
    if not tasks:
        return {}
    with blas_threads(threads):
        return _pooled(tasks, workers, progress)


def _pooled(
    tasks: list[dict[str, Any]],
    workers: int,
    progress: Callable[[int, int | None], None] | None,
) -> dict[str, dict[str, Any]]:
    """Run the tasks on pools until each has a row (a pool that dies is replaced)."""
    results: dict[str, dict[str, Any]] = {}
    todo = list(tasks)
    done = 0
    while todo:
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(os.getpid(),),
        ) as pool:
            futures = {pool.submit(run_item, t): t for t in todo}
            broken = False
            try:
                for fut in concurrent.futures.as_completed(futures):
                    task = futures[fut]
                    try:
                        results[task["key"]] = fut.result()
                    except concurrent.futures.process.BrokenProcessPool:
                        broken = True
                        continue
                    done += 1
                    if progress is not None:
                        progress(done, len(tasks))
            except BaseException:  # Ctrl-C: what has not started is cancelled, not waited for
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        todo = [t for t in todo if t["key"] not in results]
        if broken and todo:
            # the pool died with these running: the first is taken as the cause and failed,
            # the others run again in a new pool
            dead = todo.pop(0)
            results[dead["key"]] = {
                "key": dead["key"],
                "file_sha256": dead["sha256"],
                "status": "failed",
                "error_code": "E_WORKER_DIED",
                "error_message": "the worker process died while verifying this file",
            }
            done += 1
            if progress is not None:
                progress(done, len(tasks))
        elif todo:  # pragma: no cover - every future either returns or breaks the pool
            break
    return results


def run_dask(
    tasks: list[dict[str, Any]],
    scheduler: str | None,
    progress: Callable[[int, int | None], None] | None,
) -> dict[str, dict[str, Any]]:
    """Run the same task function on a Dask distributed cluster; rows come back."""
    make_client, dask_completed = _dask()
    results: dict[str, dict[str, Any]] = {}
    if not tasks:
        return results
    try:
        client = make_client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as exc:
        msg = f"cannot reach the Dask scheduler {scheduler!r}: {exc}"
        from geoverify.errors import NetworkError

        raise NetworkError(msg, code="E_NET_UNREACHABLE", hint="Check the address.") from None
    try:
        futures = client.map(run_item, tasks, key=[f"geoverify-{t['key']}" for t in tasks],
                             pure=False)  # fmt: skip
        by_future = dict(zip(futures, tasks, strict=True))
        completed: Any = dask_completed
        for done, fut in enumerate(completed(futures), start=1):
            task = by_future[fut]
            try:
                results[task["key"]] = fut.result()
            except Exception as exc:
                results[task["key"]] = {
                    "key": task["key"],
                    "file_sha256": task["sha256"],
                    "status": "failed",
                    "error_code": "E_WORKER_DIED",
                    "error_message": f"the Dask task failed: {type(exc).__name__}: {exc}"[:300],
                }
            if progress is not None:
                progress(done, len(tasks))
    finally:
        closing: Any = client.close
        closing()
    return results
