"""Stage 8, batch: a folder, a glob or a Telegram Desktop export, verified item by item.

Input: files, folders (searched recursively for videos), globs, and Telegram Desktop JSON
exports (a folder holding ``result.json``, or that file). Output, in ``out``: one report folder
per distinct file under ``items/`` (keyed by content), ``summary.json`` (schema
``geoverify/schemas/batch.schema.json``), ``summary.csv`` and ``index.html``.

- **Keys.** An item's key is the SHA-256 of its bytes and a hash of what its result depends on
  (geoverify's version, the options, the registry's and the claims' SHA-256). A finished key
  (``items/KEY/row.json``) is not done again: an interrupted batch resumes where it stopped,
  and a changed option re-does everything it changes. A file present twice (same bytes under
  other names, or in several posts) is verified once and linked to every post.
- **Posts.** A Telegram message gives the item its post context (channel, message id, text,
  time in UTC from ``date_unixtime`` — never the exporting computer's local ``date`` — and
  forwarded-from); the earliest post time is an upper bound on when it was filmed, and the
  bottom line's time line uses it ("filmed before posted").
- **Near-duplicates** (re-encoded re-uploads) are linked afterwards by the perceptual hashes of
  their frames, with the Hamming distance, never merged.
- **Failures** are isolated: a bad file is a failed row with its error code; the batch goes on
  and ends with exit code 5 when any item failed.
- **Engines.** A process pool (``spawn``; one task per file; a dead worker is a failed row) or,
  with ``scheduler``, a Dask distributed cluster (``pip install 'geoverify[dask]'``) running the
  same task function. Workers write each item's report into ``out`` themselves and send back
  only its row: a cluster needs ``out``, the inputs, the registry and the claims on a disk every
  worker sees at the same paths.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import dataclasses
import glob
import hashlib
import io
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geoverify._choices import DEFAULT_AFFINE, DEFAULT_FEATURES, AffineMode, FeatureSet
from geoverify._io import check_replaceable_dir, read_regular_file, write_atomic
from geoverify._version import __version__
from geoverify.errors import GeoverifyError, InputError, MissingDependencyError
from geoverify.models import LatLon, to_jsonable

if TYPE_CHECKING:
    from geoverify.frames import FrameOptions

__all__ = [
    "BATCH_SCHEMA_VERSION",
    "BatchItem",
    "BatchResult",
    "BatchRow",
    "Post",
    "collect_inputs",
    "verify_batch",
]

BATCH_SCHEMA_VERSION = "1.0"
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".3gp", ".ts", ".mts", ".mpg", ".mpeg"}
)
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".heic", ".heif"})
_NOT_INCLUDED = "(File not included."
_MAX_EXPORT_BYTES = 512 * 2**20
_NEAR_DUPLICATE_BITS = 10  # of 64: frames this close are the same picture re-encoded
_MARKER = ".geoverify-batch"  # written first: an interrupted batch's folder is known as ours


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Post:
    """Where an item was posted: a Telegram message, as the export states it."""

    channel: str
    message_id: int
    text: str
    posted_utc: datetime | None
    forwarded_from: str | None
    media_type: str | None
    location: LatLon | None = None
    place_name: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BatchItem:
    """One input: a file (or one that an export names but does not hold) and its posts."""

    path: str
    posts: tuple[Post, ...] = ()
    missing_reason: str = ""
    skip_reason: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BatchRow:
    """The result of one distinct file: its bottom line, matches, posts and links."""

    key: str
    file_sha256: str
    paths: tuple[str, ...]
    status: str  # done, failed, missing, skipped
    verdict: str | None
    rule: str | None
    landmarks_matched: tuple[str, ...]
    error_code: str | None
    error_message: str | None
    report_dir: str | None
    posts: tuple[Post, ...]
    duplicates: tuple[str, ...] = ()  # other paths with the same bytes
    near_duplicates: tuple[tuple[str, int], ...] = ()  # (key, Hamming distance in bits)
    frame_phashes: tuple[str, ...] = ()
    thumbnail: str = ""  # a small JPEG data URI of the first frame (index.html)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BatchResult:
    """Every row, what the run did, and where it wrote."""

    schema_version: str
    created_utc: datetime
    out_dir: str
    rows: tuple[BatchRow, ...]
    done: int
    reused: int
    failed: int
    missing: int
    skipped: int
    engine: str
    registry_sha256: str
    claims_sha256: str

    @property
    def any_failed(self) -> bool:
        """Whether any item failed (the CLI then exits 5)."""
        return self.failed > 0


# --- inputs --------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """Join a Telegram text: a string, or a list of strings and ``{type, text}`` entities."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(
            v if isinstance(v, str) else str(v.get("text", "")) if isinstance(v, dict) else ""
            for v in value
        )
    return ""


def _unix(value: Any) -> datetime | None:
    try:
        seconds = int(str(value))
    except (TypeError, ValueError):
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _export_error(message: str, reason: str, hint: str) -> GeoverifyError:
    return InputError(message, code="E_EXPORT_INVALID", hint=hint)


def read_telegram_export(path: str | os.PathLike[str]) -> list[BatchItem]:
    """Read a Telegram Desktop JSON export: one item per message with a video (or photo).

    ``path`` is the export folder or its ``result.json``. Service messages are skipped; a file
    the export did not include is an item with ``missing_reason``. Times come from
    ``date_unixtime`` (UTC); ``date`` (the exporting computer's local time) is not used.
    """
    p = Path(os.fspath(path))
    result = p / "result.json" if p.is_dir() else p
    raw = read_regular_file(
        result, max_bytes=_MAX_EXPORT_BYTES, what="Telegram export", error=_export_error
    )
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        msg = f"{str(result)!r} is not a Telegram JSON export: {str(exc)[:120]}"
        raise InputError(
            msg, code="E_EXPORT_INVALID", hint="Export as JSON from Telegram Desktop."
        ) from None
    if not isinstance(doc, dict):
        msg = f"{str(result)!r} is not a Telegram JSON export"
        raise InputError(msg, code="E_EXPORT_INVALID", hint="Export as JSON from Telegram Desktop.")
    chats: list[Any] = []
    if isinstance(doc.get("messages"), list):
        chats = [doc]
    elif isinstance(doc.get("chats"), dict) and isinstance(doc["chats"].get("list"), list):
        chats = [c for c in doc["chats"]["list"] if isinstance(c, dict)]
    else:
        msg = f"{str(result)!r} holds neither messages nor chats.list"
        raise InputError(msg, code="E_EXPORT_INVALID", hint="Export as JSON from Telegram Desktop.")
    base = result.parent
    items = []
    for chat in chats:
        channel = str(chat.get("name") or chat.get("id") or "")
        for m in chat.get("messages") or []:
            if not isinstance(m, dict) or m.get("type") != "message":
                continue
            rel = m.get("file") if m.get("media_type") else m.get("photo")
            if not isinstance(rel, str) or not rel:
                continue
            loc = m.get("location_information")
            location = None
            if isinstance(loc, dict):
                try:
                    location = LatLon(float(loc["latitude"]), float(loc["longitude"]))
                except (KeyError, TypeError, ValueError, GeoverifyError):
                    location = None
            post = Post(
                channel=channel,
                message_id=int(m["id"]) if isinstance(m.get("id"), int) else -1,
                text=_text(m.get("text"))[:4000],
                posted_utc=_unix(m.get("date_unixtime")),
                forwarded_from=str(m["forwarded_from"]) if m.get("forwarded_from") else None,
                media_type=str(m.get("media_type") or ("photo" if m.get("photo") else "")),
                location=location,
                place_name=str(m["place_name"]) if m.get("place_name") else None,
            )
            if rel.startswith(_NOT_INCLUDED):
                items.append(
                    BatchItem(path="", posts=(post,), missing_reason="not included in the export")
                )
                continue
            target = (base / rel).resolve()
            try:
                target.relative_to(base.resolve())
            except ValueError:
                items.append(
                    BatchItem(path=rel, posts=(post,), missing_reason="outside the export folder")
                )
                continue
            items.append(BatchItem(path=str(target), posts=(post,)))
    return items


def collect_inputs(inputs: Sequence[str | os.PathLike[str]]) -> list[BatchItem]:
    """Expand the inputs: files, folders (recursive, videos and photos), globs, Telegram exports."""
    items: list[BatchItem] = []
    for raw in inputs:
        text = os.fspath(raw)
        p = Path(text)
        if (p.is_dir() and (p / "result.json").is_file()) or p.name == "result.json":
            items += read_telegram_export(p)
        elif p.is_dir():
            items += [
                BatchItem(path=str(f))
                for f in sorted(p.rglob("*"))
                if f.is_file() and f.suffix.lower() in VIDEO_SUFFIXES | PHOTO_SUFFIXES
            ]
        elif p.exists():
            items.append(BatchItem(path=str(p)))
        elif any(ch in text for ch in "*?["):
            matched = sorted(glob.glob(text, recursive=True))
            if not matched:
                items.append(BatchItem(path=text, missing_reason="the glob matches no file"))
            items += [BatchItem(path=m) for m in matched if Path(m).is_file()]
        else:
            items.append(BatchItem(path=text, missing_reason="no such file"))
    return items


# --- one item (runs in a worker process) ----------------------------------------------------


def _sha256(path: str) -> str:
    from geoverify._media import sha256_file

    return sha256_file(path)


def run_item(task: Mapping[str, Any]) -> dict[str, Any]:
    """Verify one distinct file and write its report into ``items/KEY``; return its row data.

    A module-level function of plain arguments, so the process pool and Dask run the same code.
    A ``GeoverifyError`` becomes a failed row; anything else too, with ``E_INTERNAL``.
    """
    from geoverify.claims import ClaimSet, load_claims
    from geoverify.pipeline import save_verification, verify
    from geoverify.registry import load_registry

    out = Path(task["out"]) / "items" / task["key"]
    row: dict[str, Any] = {"key": task["key"], "file_sha256": task["sha256"], "status": "failed"}
    try:
        registry = load_registry(task["registry"])
        claims = (
            load_claims(task["claims"])
            if task["claims"]
            else ClaimSet(claims=(), roles={}, source={})
        )
        posted = datetime.fromisoformat(task["posted_utc"]) if task["posted_utc"] else None
        result = verify(
            task["path"],
            registry=registry,
            claims=claims,
            options=_verify_options(task["options"]),
            posted_utc=posted,
        )
        save_verification(result, out, overwrite=True)
        report = result.report
        row.update(
            status="done",
            verdict=report.bottom_line.verdict.value,
            rule=report.bottom_line.rule,
            landmarks_matched=sorted(report.summary["frames_matched_by_landmark"]),
            report_dir=str(out),
            frame_phashes=[f["phash"] for f in report.frames],
            thumbnail=_thumbnail(result),
        )
    except GeoverifyError as exc:
        row.update(error_code=exc.code, error_message=exc.message)
    except Exception as exc:
        row.update(error_code="E_INTERNAL", error_message=f"{type(exc).__name__}: {exc}"[:300])
    if row["status"] == "done":
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / "row.json", json.dumps(row, ensure_ascii=False).encode("utf-8"))
    return row


def _verify_options(record: Mapping[str, Any]) -> Any:
    from geoverify._media import DecodeLimits
    from geoverify.frames import FrameOptions
    from geoverify.matching import MatchOptions
    from geoverify.pipeline import VerifyOptions

    threads = int(record.get("decoder_threads", 0))
    if threads:
        import cv2

        cv2.setNumThreads(threads)
    return VerifyOptions(
        matching=MatchOptions(**record.get("matching", {})),
        frames=FrameOptions(**record["frames"]),  # verify_batch always writes them
        limits=DecodeLimits(decoder_threads=threads),
    )


def _thumbnail(result: Any) -> str:
    from geoverify.report import jpeg_data_uri

    frames = result.selection.frames
    if not frames or frames[0].image_bgr is None:
        return ""
    return jpeg_data_uri(frames[0].image_bgr, max_width=160)


# --- the batch ------------------------------------------------------------------------------


def _key(sha: str, context: str) -> str:
    return f"{sha[:32]}-{hashlib.sha256(context.encode()).hexdigest()[:12]}"


def verify_batch(
    inputs: Sequence[str | os.PathLike[str]],
    *,
    registry: str | os.PathLike[str],
    out: str | os.PathLike[str],
    claims: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    affine: AffineMode = DEFAULT_AFFINE,
    features: FeatureSet = DEFAULT_FEATURES,
    frames: FrameOptions | None = None,
    threads_per_worker: int | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> BatchResult:
    """Verify every input; write ``items/``, ``summary.json``, ``summary.csv``, ``index.html``.

    Parameters
    ----------
    inputs
        Files, folders, globs and Telegram Desktop exports.
    registry, claims
        As for ``verify``; without ``claims`` each item is probed, its frames chosen and matched
        (a triage of which items show which landmark).
    workers
        Processes of the local pool (default: the machine's cores).
    scheduler
        ``tcp://HOST:PORT`` of a Dask distributed scheduler, instead of the local pool.
    affine
        The matcher's affine-simulation pass (``MatchOptions.affine``) for every item.
    features
        The matcher's features (``MatchOptions.features``): ``classic``, or learned ``aliked``
        or ``disk`` (``geoverify[learned]``).
    frames
        Which frames of each video are matched (``VerifyOptions.frames``); by default those
        covering every view (``FrameOptions.covering()``). Part of each item's key: changing
        them verifies every item again.
    threads_per_worker
        Decoder and OpenCV threads of each worker; by default 1 when several workers (or a
        cluster) share the machine, else FFmpeg's and OpenCV's own choice (0).
    progress
        Called with (items finished, items to do).
    """
    from geoverify.claims import load_claims
    from geoverify.registry import load_registry

    n_workers = _workers(workers)  # the options are checked before anything is written
    if threads_per_worker is not None and not 0 <= threads_per_worker <= 64:
        msg = f"--threads-per-worker {threads_per_worker} must be 0 (automatic) to 64"
        raise InputError(msg, code="E_INPUT_OPTION", hint="e.g. --threads-per-worker 1")
    out_dir = Path(os.fspath(out))
    ours = (out_dir / "summary.json").exists() or (out_dir / _MARKER).exists()
    if out_dir.exists() and not ours:
        check_replaceable_dir(out_dir, overwrite=not any(out_dir.iterdir()))
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / _MARKER, f"geoverify {__version__} batch folder\n".encode())
    reg = load_registry(registry)  # fail fast, before any item runs
    claims_sha = load_claims(claims).sha256 if claims is not None else ""
    items = collect_inputs(inputs)
    from geoverify._media import DecodeLimits
    from geoverify.frames import FrameOptions
    from geoverify.matching import MatchOptions
    from geoverify.pipeline import VerifyOptions

    # several workers: one decoder thread and one OpenCV thread each, so that they share the
    # cores instead of competing for them (one verify alone keeps about 1.5 cores busy)
    threads = 1 if (scheduler is not None or n_workers > 1) else 0
    if threads_per_worker is not None:
        threads = threads_per_worker
    frame_options = frames if frames is not None else FrameOptions.covering()
    options = {
        "matching": {"affine": affine, "features": features},
        "frames": to_jsonable(frame_options),
        "decoder_threads": threads,
    }
    # the key depends on what changes results: not on the decoder's thread count
    settings = VerifyOptions(
        matching=MatchOptions(affine=affine, features=features),
        frames=frame_options,
        limits=DecodeLimits(),
    )
    context = json.dumps(
        {
            "geoverify": __version__,
            "registry": reg.sha256,
            "claims": claims_sha,
            "options": to_jsonable(settings),
        },
        sort_keys=True,
    )
    # group by content: a file present twice is verified once
    by_sha: dict[str, dict[str, Any]] = {}
    rows: list[BatchRow] = []
    for item in items:
        if item.missing_reason:
            rows.append(_missing_row(item))
            continue
        if item.skip_reason:
            rows.append(
                dataclasses.replace(
                    _missing_row(item),
                    status="skipped",
                    error_code="E_INPUT_IS_IMAGE",
                    error_message=item.skip_reason,
                )
            )
            continue
        try:
            sha = _sha256(item.path)
        except GeoverifyError as exc:
            rows.append(_failed_row(item, exc.code, exc.message))
            continue
        entry = by_sha.setdefault(sha, {"paths": [], "posts": []})
        if item.path not in entry["paths"]:
            entry["paths"].append(item.path)
        entry["posts"] += list(item.posts)
    tasks = []
    reused: dict[str, dict[str, Any]] = {}
    for sha, entry in by_sha.items():
        key = _key(sha, context)
        done = out_dir / "items" / key / "row.json"
        if done.is_file():
            try:
                reused[key] = json.loads(done.read_text(encoding="utf-8"))
                continue
            except (OSError, ValueError):
                pass  # a damaged row is done again
        times = [p.posted_utc for p in entry["posts"] if p.posted_utc is not None]
        tasks.append(
            {
                "key": key,
                "sha256": sha,
                "path": entry["paths"][0],
                "registry": str(Path(os.fspath(registry)).resolve()),
                "claims": str(Path(os.fspath(claims)).resolve()) if claims is not None else "",
                "out": str(out_dir.resolve()),
                "options": options,
                "posted_utc": min(times).isoformat() if times else "",
            }
        )
    engine = f"dask {scheduler}" if scheduler else f"process pool ({n_workers} workers)"
    results = (
        _run_dask(tasks, scheduler, progress)
        if scheduler
        else _run_pool(tasks, n_workers, progress, threads=threads)
    )
    for data in list(results.values()) + list(reused.values()):
        sha = data["file_sha256"]
        entry = by_sha[sha]
        rows.append(_row(data, entry))
    rows = _link_near_duplicates(rows)
    rows.sort(key=lambda r: (r.paths[0] if r.paths else "", r.key))
    result = BatchResult(
        schema_version=BATCH_SCHEMA_VERSION,
        created_utc=datetime.now(UTC),
        out_dir=str(out_dir),
        rows=tuple(rows),
        done=sum(1 for r in rows if r.status == "done" and r.key not in reused),
        reused=len(reused),
        failed=sum(1 for r in rows if r.status == "failed"),
        missing=sum(1 for r in rows if r.status == "missing"),
        skipped=sum(1 for r in rows if r.status == "skipped"),
        engine=engine,
        registry_sha256=reg.sha256,
        claims_sha256=claims_sha,
    )
    _write_outputs(result, out_dir)
    return result


def _workers(workers: int | None) -> int:
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
def _blas_threads(threads: int) -> Iterator[None]:
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


def _run_pool(
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
    with _blas_threads(threads):
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
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
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


def _run_dask(
    tasks: list[dict[str, Any]],
    scheduler: str | None,
    progress: Callable[[int, int | None], None] | None,
) -> dict[str, dict[str, Any]]:
    """Run the same task function on a Dask distributed cluster; rows come back."""
    try:
        from dask.distributed import Client, as_completed as dask_completed
    except ImportError:
        msg = "--scheduler needs the optional Dask packages"
        raise MissingDependencyError(msg, hint="pip install 'geoverify[dask]'") from None
    results: dict[str, dict[str, Any]] = {}
    if not tasks:
        return results
    try:
        make_client: Any = Client
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


def _missing_row(item: BatchItem) -> BatchRow:
    return BatchRow(
        key=f"missing-{hashlib.sha256(repr((item.path, item.posts)).encode()).hexdigest()[:16]}",
        file_sha256="",
        paths=(item.path,) if item.path else (),
        status="missing",
        verdict=None,
        rule=None,
        landmarks_matched=(),
        error_code="E_INPUT_MISSING",
        error_message=item.missing_reason,
        report_dir=None,
        posts=item.posts,
    )


def _failed_row(item: BatchItem, code: str, message: str) -> BatchRow:
    return dataclasses.replace(
        _missing_row(item), status="failed", error_code=code, error_message=message
    )


def _row(data: Mapping[str, Any], entry: Mapping[str, Any]) -> BatchRow:
    paths = tuple(entry["paths"])
    return BatchRow(
        key=data["key"],
        file_sha256=data["file_sha256"],
        paths=paths,
        status=data["status"],
        verdict=data.get("verdict"),
        rule=data.get("rule"),
        landmarks_matched=tuple(data.get("landmarks_matched") or ()),
        error_code=data.get("error_code"),
        error_message=data.get("error_message"),
        report_dir=data.get("report_dir"),
        posts=tuple(sorted(entry["posts"], key=lambda p: (p.posted_utc is None, p.posted_utc))),
        duplicates=paths[1:],
        frame_phashes=tuple(data.get("frame_phashes") or ()),
        thumbnail=str(data.get("thumbnail") or ""),
    )


def _link_near_duplicates(rows: list[BatchRow]) -> list[BatchRow]:
    """Link items whose frames look alike (a re-encoded re-upload), with the distance."""
    hashes = {r.key: [int(h, 16) for h in r.frame_phashes] for r in rows if r.status == "done"}
    links: dict[str, list[tuple[str, int]]] = {k: [] for k in hashes}
    keys = sorted(hashes)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            best = min(((x ^ y).bit_count() for x in hashes[a] for y in hashes[b]), default=64)
            if best <= _NEAR_DUPLICATE_BITS:
                links[a].append((b, best))
                links[b].append((a, best))
    return [
        dataclasses.replace(r, near_duplicates=tuple(sorted(links.get(r.key, [])))) for r in rows
    ]


# --- outputs --------------------------------------------------------------------------------

_CSV_FIELDS = (
    "key", "status", "verdict", "rule", "landmarks_matched", "paths", "duplicates",
    "near_duplicates", "first_post_utc", "channels", "message_ids", "error_code",
    "error_message", "report_dir", "file_sha256",
)  # fmt: skip


def summary_json(result: BatchResult) -> dict[str, Any]:
    data: dict[str, Any] = to_jsonable(result)
    for row in data["rows"]:
        row.pop("thumbnail", None)
    return data


def _csv_text(result: BatchResult) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_CSV_FIELDS)
    writer.writeheader()
    for r in result.rows:
        times = [p.posted_utc for p in r.posts if p.posted_utc]
        writer.writerow(
            {
                "key": r.key,
                "status": r.status,
                "verdict": r.verdict or "",
                "rule": r.rule or "",
                "landmarks_matched": ";".join(r.landmarks_matched),
                "paths": ";".join(r.paths),
                "duplicates": ";".join(r.duplicates),
                "near_duplicates": ";".join(f"{k}:{d}" for k, d in r.near_duplicates),
                "first_post_utc": min(times).isoformat() if times else "",
                "channels": ";".join(sorted({p.channel for p in r.posts})),
                "message_ids": ";".join(str(p.message_id) for p in r.posts),
                "error_code": r.error_code or "",
                "error_message": r.error_message or "",
                "report_dir": r.report_dir or "",
                "file_sha256": r.file_sha256,
            }
        )
    return buf.getvalue()


def _write_outputs(result: BatchResult, out_dir: Path) -> None:
    from geoverify.models import sanitize_text

    text = json.dumps(summary_json(result), ensure_ascii=False, allow_nan=False, indent=2)
    write_atomic(out_dir / "summary.json", sanitize_text(text).encode("utf-8"))
    write_atomic(out_dir / "summary.csv", sanitize_text(_csv_text(result)).encode("utf-8"))
    write_atomic(out_dir / "index.html", sanitize_text(_index_html(result)).encode("utf-8"))


_SORT_SCRIPT = """
document.querySelectorAll("th[data-col]").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0], col = +th.dataset.col;
    var asc = th.dataset.dir !== "asc"; th.dataset.dir = asc ? "asc" : "desc";
    Array.from(body.rows).sort(function (a, b) {
      var x = a.cells[col].dataset.sort || a.cells[col].textContent;
      var y = b.cells[col].dataset.sort || b.cells[col].textContent;
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    }).forEach(function (tr) { body.appendChild(tr); });
  });
});
"""


def _index_html(result: BatchResult) -> str:
    """Render the self-contained, sortable index (CSP allows its one script by hash)."""
    import base64
    import html

    digest = base64.b64encode(hashlib.sha256(_SORT_SCRIPT.encode()).digest()).decode()
    head = ("thumbnail", "bottom line", "landmark matched", "first posted (UTC)", "channel",
            "duplicates", "file", "report")  # fmt: skip
    th = "".join(
        f'<th data-col="{i}" tabindex="0">{html.escape(h)} ⇅</th>' for i, h in enumerate(head)
    )
    body = []
    for r in result.rows:
        times = sorted(p.posted_utc for p in r.posts if p.posted_utc)
        first = times[0].strftime("%Y-%m-%d %H:%M:%S") if times else ""
        verdict = r.verdict or f"{r.status}: {r.error_code or ''}"
        dups = [f"same bytes: {p}" for p in r.duplicates]
        dups += [f"looks like {k[:12]} ({d} bits)" for k, d in r.near_duplicates]
        link = ""
        if r.report_dir:
            rel = os.path.relpath(Path(r.report_dir) / "report.html", result.out_dir)
            link = f'<a href="{html.escape(Path(rel).as_posix())}">report</a>'
        thumb = (
            f'<img src="{html.escape(r.thumbnail)}" alt="first frame" width="160">'
            if r.thumbnail.startswith("data:image/jpeg;base64,")
            else ""
        )
        cells = [
            thumb,
            f"<b>{html.escape(verdict)}</b>"
            + (
                f"<br><small>{html.escape(r.error_message or '')}</small>"
                if r.error_message
                else ""
            ),
            html.escape(", ".join(r.landmarks_matched) or "-"),
            html.escape(first),
            html.escape(", ".join(sorted({p.channel for p in r.posts})) or "-"),
            "<br>".join(html.escape(d) for d in dups) or "-",
            html.escape("; ".join(r.paths) or "-"),
            link,
        ]
        body.append(
            f'<tr class="{html.escape(r.status)}">'
            + "".join(f"<td>{c}</td>" for c in cells)
            + "</tr>"
        )
    csp = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    counts = (
        f"{len(result.rows)} items: {result.done} verified, {result.reused} reused from an "
        f"earlier run, {result.failed} failed, {result.missing} missing; engine {result.engine}"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="referrer" content="no-referrer">
<title>geoverify batch</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.9em; }}
td, th {{ border: 1px solid #ddd; padding: 4px 6px; vertical-align: top; text-align: left; }}
th {{ cursor: pointer; background: #f4f4f4; }}
tr.failed, tr.missing {{ background: #f9dede; }}
</style></head><body>
<h1>geoverify batch</h1>
<p>{html.escape(counts)}. Click a column's title to sort by it.</p>
<table><thead><tr>{th}</tr></thead><tbody>
{"".join(body)}
</tbody></table>
<script>{_SORT_SCRIPT}</script>
</body></html>
"""
