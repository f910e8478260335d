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
- **Near-duplicates** (re-encoded re-uploads) are linked afterwards by perceptual hashes, with
  the Hamming distance in bits, never merged: those of the frames each report chose, and those
  of eight frames at the same fractions of each video's duration (a re-upload at another frame
  rate or size has the same pictures there, whatever frames its report chose).
- **Failures** are isolated: a bad file (missing, a folder, a FIFO or a device, a link loop, a
  link that leaves its input folder, a malformed export message) is that item's row with an
  error code; the batch goes on and ends with exit code 5 when any item failed or is missing.
  When none of the inputs exists at all, nothing is written (``E_INPUT_MISSING``, exit 3).
- **Output.** ``out`` follows the output rule (``geoverify._output``): new, empty, or geoverify's
  (every file listed by a ``manifest.json``: the batch's own at the top, written first so an
  interrupted batch's folder is known as ours, and again last listing every file; each item's
  in ``items/KEY``). ``overwrite`` keeps files geoverify did not write and writes beside them,
  never over them. An ``out`` that is, holds or lies inside an input (a file, a folder, an
  export, the registry and its images, the claims) is refused, as is a symbolic link anywhere
  in it. A run holds a lock on the folder for its whole length: a second batch into the same
  ``out`` is refused (``E_OUTPUT_BUSY``) instead of mixing its rows with the first's.
- **summary.csv** is safe to open in a spreadsheet: a cell that starts with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return is prefixed with ``'`` (OWASP's rule against CSV
  formula injection: a channel name or a file name is text, never a formula).
- **Engines.** A process pool (``spawn``; one task per file; a dead worker is a failed row; on
  Linux the workers die with the batch, even when it is killed with SIGKILL) or, with
  ``scheduler``, a Dask distributed cluster (``pip install 'geoverify[dask]'``) running the
  same task function. Workers write each item's report into ``out`` themselves and send back
  only its row: a cluster needs ``out``, the inputs, the registry and the claims on a disk every
  worker sees at the same paths.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geoverify._choices import (
    DEFAULT_AFFINE,
    DEFAULT_FEATURES,
    DEFAULT_SECOND_PASS,
    AffineMode,
    FeatureSet,
    SecondPass,
)
from geoverify._output import OutputFolder
from geoverify._version import __version__
from geoverify.batch._engines import (
    FINGERPRINT_FRAMES,
    pool_workers,
    run_dask,
    run_item as run_item,
    run_pool,
    scheduler_address,
    trust_list_sha256,
    worker_threads,
)
from geoverify.batch._inputs import (
    PHOTO_SUFFIXES as PHOTO_SUFFIXES,
    VIDEO_SUFFIXES as VIDEO_SUFFIXES,
    check_found,
    collect_inputs,
    hash_items,
    read_paths,
    read_telegram_export as read_telegram_export,
)
from geoverify.batch._model import BatchItem, BatchResult, BatchRow, Post
from geoverify.batch._outputs import batch_folder, summary_json as summary_json, write_outputs
from geoverify.batch._triage import NO_HYPOTHESIS, LandmarkSeen, Triage, triage
from geoverify.models import TEXT_LANG, to_jsonable

if TYPE_CHECKING:
    from geoverify.frames import FrameOptions

__all__ = [
    "BATCH_SCHEMA_VERSION",
    "NO_HYPOTHESIS",
    "BatchItem",
    "BatchResult",
    "BatchRow",
    "LandmarkSeen",
    "Post",
    "Triage",
    "collect_inputs",
    "triage",
    "verify_batch",
]

BATCH_SCHEMA_VERSION = "1.1"  # 1.1: findings, landmark_names
_NEAR_DUPLICATE_BITS = 10  # of 64: frames this close are the same picture re-encoded


def _key(sha: str, context: str) -> str:
    return f"{sha[:32]}-{hashlib.sha256(context.encode()).hexdigest()[:12]}"


def verify_batch(
    inputs: Sequence[str | os.PathLike[str]],
    *,
    registry: str | os.PathLike[str],
    out: str | os.PathLike[str],
    claims: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    affine: AffineMode = DEFAULT_AFFINE,
    features: FeatureSet = DEFAULT_FEATURES,
    second_pass: SecondPass = DEFAULT_SECOND_PASS,
    frames: FrameOptions | None = None,
    threads_per_worker: int | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    text: str | None = TEXT_LANG,
    trust_anchors: str | os.PathLike[str] | None = None,
) -> BatchResult:
    """Verify every input; write ``items/``, ``summary.json``, ``summary.csv``, ``index.html``.

    Parameters
    ----------
    inputs
        Files, folders, globs and Telegram Desktop exports.
    registry, claims
        As for ``verify``; without ``claims`` each item is probed, its frames chosen and matched
        (a triage of which items show which landmark).
    out
        The batch's folder: new, empty, or one geoverify wrote (a batch folder resumes).
    overwrite
        Also write into an ``out`` holding files geoverify did not write: they are kept, and
        one where the batch would write (``summary.csv``, ...) is refused.
    workers
        Processes of the local pool (default: the machine's cores).
    scheduler
        ``tcp://HOST:PORT`` of a Dask distributed scheduler, instead of the local pool.
    affine
        The matcher's affine-simulation pass (``MatchOptions.affine``) for every item.
    second_pass
        The matcher's pass for frames the plain pass cannot match (``MatchOptions.second_pass``).
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
    text, trust_anchors
        As ``VerifyOptions``': Tesseract languages joined by ``+`` (``None``: no text read),
        a PEM file of the C2PA authorities you trust. Part of each item's key (the trust list
        by its content's SHA-256).

    Raises
    ------
    InputError
        A bad option (``E_INPUT_OPTION``: workers, threads, a malformed scheduler address;
        ``E_OCR_LANG_INVALID``: a malformed ``text``; ``E_TRUST_ANCHORS``: a trust list that
        holds no certificate), or none of the inputs exists (``E_INPUT_MISSING``); nothing
        is written.
    MissingDependencyError
        ``scheduler`` without the Dask packages.
    RegistryError
        The registry or the claims are invalid.
    OutputError
        ``out`` breaks the output rule, or another batch is writing into it
        (``E_OUTPUT_BUSY``).
    """
    reading = _Reading.checked(text, trust_anchors)
    run = _Run.checked(inputs, registry, out, claims, workers, scheduler, threads_per_worker)
    run = dataclasses.replace(run, read=(*run.read, *reading.read))  # --out may not hold them
    matching = {"affine": affine, "features": features, "second_pass": second_pass}
    return _run_batch(run, _Settings.of(matching, frames, run, reading), out, overwrite, progress)


def _run_batch(
    run: _Run,
    settings: _Settings,
    out: str | os.PathLike[str],
    overwrite: bool,
    progress: Callable[[int, int | None], None] | None,
) -> BatchResult:
    """Plan, run and summarise a checked batch (``verify_batch``) in its folder."""
    with batch_folder(out, overwrite=overwrite, inputs=run.read) as (out_dir, survey):
        items_existed = (out_dir / "items").is_dir()
        by_sha, rows = hash_items(run.items)
        tasks, reused, refused = _plan(by_sha, settings, out_dir, survey)
        rows += [_row(data, by_sha[data["file_sha256"]]) for data in refused.values()]
        for task in tasks:
            task.update(registry=run.registry_path, claims=run.claims_path, overwrite=overwrite)
        results = run.execute(tasks, progress)
        rows += [_row(d, by_sha[d["file_sha256"]]) for d in [*results.values(), *reused.values()]]
        result = _result(rows, reused, out_dir, run)
        write_outputs(result, out_dir, items_existed=items_existed)
    return result


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Reading:
    """The text languages (``None``: off) and the C2PA trust list, checked; what they read."""

    text: str | None
    trust_anchors: str | None
    trust_sha256: str

    @classmethod
    def checked(cls, text: str | None, trust_anchors: str | os.PathLike[str] | None) -> _Reading:
        """Refuse a malformed language list or trust list before anything is written."""
        from geoverify.text import check_lang_syntax

        if text is not None:
            check_lang_syntax(text)  # a missing Tesseract only marks each item's text line
        if trust_anchors is None:
            return cls(text=text, trust_anchors=None, trust_sha256="")
        return cls(
            text=text,
            trust_anchors=str(Path(os.fspath(trust_anchors)).resolve()),
            trust_sha256=trust_list_sha256(trust_anchors),
        )

    @property
    def read(self) -> tuple[str, ...]:
        """The files these options read (the output folder may not hold them)."""
        return (self.trust_anchors,) if self.trust_anchors else ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Run:
    """A batch with everything that can be refused checked, before anything is written."""

    n_workers: int
    threads: int
    address: str | None
    registry_sha256: str
    claims_sha256: str
    registry_path: str
    claims_path: str
    items: tuple[BatchItem, ...]
    read: tuple[str, ...]

    @classmethod
    def checked(
        cls,
        inputs: Sequence[str | os.PathLike[str]],
        registry: str | os.PathLike[str],
        out: str | os.PathLike[str],
        claims: str | os.PathLike[str] | None,
        workers: int | None,
        scheduler: str | None,
        threads_per_worker: int | None,
    ) -> _Run:
        """Check the options, load the registry and claims, and find the inputs (in order)."""
        from geoverify.claims import load_claims
        from geoverify.registry import load_registry

        # everything that can be refused is, before anything is written or hashed
        n_workers = pool_workers(workers)
        several = scheduler is not None or n_workers > 1
        threads = worker_threads(threads_per_worker, several=several)
        address = scheduler_address(scheduler) if scheduler is not None else None
        reg = load_registry(registry)
        claims_sha = load_claims(claims).sha256 if claims is not None else ""
        items = collect_inputs(inputs, out=out)
        check_found(inputs, items)
        read = read_paths(inputs, items, reg, claims)
        return cls(
            n_workers=n_workers,
            threads=threads,
            address=address,
            registry_sha256=reg.sha256,
            claims_sha256=claims_sha,
            registry_path=str(Path(os.fspath(registry)).resolve()),
            claims_path=str(Path(os.fspath(claims)).resolve()) if claims is not None else "",
            items=tuple(items),
            read=tuple(read),
        )

    @property
    def engine(self) -> str:
        """Name the engine for the summary: the Dask scheduler, or the local pool."""
        if self.address:
            return f"dask {self.address}"
        return f"process pool ({self.n_workers} workers)"

    def execute(
        self,
        tasks: list[dict[str, Any]],
        progress: Callable[[int, int | None], None] | None,
    ) -> dict[str, dict[str, Any]]:
        """Run the tasks on the Dask cluster or the local pool; return their rows by key."""
        if self.address:
            return run_dask(tasks, self.address, progress)
        return run_pool(tasks, self.n_workers, progress, threads=self.threads)


def _result(
    rows: list[BatchRow], reused: Mapping[str, Any], out_dir: Path, run: _Run
) -> BatchResult:
    """Link near-duplicates, sort the rows and count them into the batch's result."""
    rows = _link_near_duplicates(rows)
    rows.sort(key=lambda r: (r.paths[0] if r.paths else "", r.key))
    return BatchResult(
        schema_version=BATCH_SCHEMA_VERSION,
        created_utc=datetime.now(UTC),
        out_dir=str(out_dir),
        rows=tuple(rows),
        done=sum(1 for r in rows if r.status == "done" and r.key not in reused),
        reused=len(reused),
        failed=sum(1 for r in rows if r.status == "failed"),
        missing=sum(1 for r in rows if r.status == "missing"),
        skipped=sum(1 for r in rows if r.status == "skipped"),
        engine=run.engine,
        registry_sha256=run.registry_sha256,
        claims_sha256=run.claims_sha256,
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Settings:
    """What the workers are told, and the hash of what an item's result depends on."""

    options: dict[str, Any]
    context: str

    @classmethod
    def of(
        cls, matching: dict[str, Any], frames: FrameOptions | None, run: _Run, reading: _Reading
    ) -> _Settings:
        from geoverify._media import DecodeLimits
        from geoverify.frames import FrameOptions
        from geoverify.matching import MatchOptions
        from geoverify.pipeline import VerifyOptions
        from geoverify.text import TextOptions

        frame_options = frames if frames is not None else FrameOptions.covering()
        options = {
            "matching": matching,
            "frames": to_jsonable(frame_options),
            "decoder_threads": run.threads,
            "text": reading.text,
            "trust_anchors": reading.trust_anchors,
            "trust_anchors_sha256": reading.trust_sha256,  # a worker checks it is unchanged
        }
        # the key depends on what changes results: not on the decoder's thread count, nor on
        # where the trust list lies (its content counts)
        verify_options = VerifyOptions(
            matching=MatchOptions(**matching),
            frames=frame_options,
            limits=DecodeLimits(),
            text=TextOptions(lang=reading.text) if reading.text is not None else None,
        )
        context = json.dumps(
            {
                "geoverify": __version__,
                "registry": run.registry_sha256,
                "claims": run.claims_sha256,
                "options": to_jsonable(verify_options),
                "trust_anchors_sha256": reading.trust_sha256,
            },
            sort_keys=True,
        )
        return cls(options=options, context=context)


def _plan(
    by_sha: Mapping[str, Mapping[str, Any]],
    settings: _Settings,
    out_dir: Path,
    survey: OutputFolder,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Split the files into tasks to run, rows done by an earlier run, and refused ones.

    A row is reused only if the item's own manifest lists it (so is geoverify's); one that is
    there but foreign (possible with ``overwrite``) refuses the item rather than trusting or
    replacing it.
    """
    tasks: list[dict[str, Any]] = []
    reused: dict[str, dict[str, Any]] = {}
    refused: dict[str, dict[str, Any]] = {}
    for sha, entry in by_sha.items():
        key = _key(sha, settings.context)
        rel = f"items/{key}/row.json"
        if rel in survey.owned:
            try:
                data = json.loads((out_dir / rel).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = None  # a damaged row is done again
            if isinstance(data, dict) and data.get("file_sha256") == sha:
                reused[key] = data
                continue
        elif rel in survey.foreign:
            refused[key] = {
                "key": key,
                "file_sha256": sha,
                "status": "failed",
                "error_code": "E_OUTPUT_NOT_EMPTY",
                "error_message": f"{rel} in --out was not written by geoverify",
            }
            continue
        times = [p.posted_utc for p in entry["posts"] if p.posted_utc is not None]
        tasks.append(
            {
                "key": key,
                "sha256": sha,
                "path": entry["paths"][0],
                "out": str(out_dir),
                "options": settings.options,
                "posted_utc": min(times).isoformat() if times else "",
            }
        )
    return tasks, reused, refused


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
        fingerprint=tuple(str(h) for h in data.get("fingerprint") or ()),
        thumbnail=str(data.get("thumbnail") or ""),
        findings=str(data.get("findings") or ""),
        landmark_names=tuple(str(n) for n in data.get("landmark_names") or ()),
    )


def _hashes(values: Sequence[str]) -> list[int | None]:
    """Parse 16-hex-digit perceptual hashes; an empty or malformed one (a flat frame) is None."""
    parsed: list[int | None] = []
    for h in values:
        try:
            parsed.append(int(h, 16) if len(h) == 16 else None)
        except ValueError:
            parsed.append(None)
    return parsed


def _distance(a: BatchRow, b: BatchRow) -> int | None:
    """Hamming distance, in bits of 64, between two items' pictures; None if nothing compares.

    The smaller of: the closest pair of the frames their reports chose; and the median over
    the eight frames at the same fractions of each video's duration (``fingerprint``; at least
    three pairs with picture in both), which does not depend on which frames a report chose.
    """
    ha = [h for h in _hashes(a.frame_phashes) if h is not None]
    hb = [h for h in _hashes(b.frame_phashes) if h is not None]
    best = min(((x ^ y).bit_count() for x in ha for y in hb), default=None)
    fa, fb = _hashes(a.fingerprint), _hashes(b.fingerprint)
    if len(fa) == len(fb) == FINGERPRINT_FRAMES:
        aligned = sorted(
            (x ^ y).bit_count()
            for x, y in zip(fa, fb, strict=True)
            if x is not None and y is not None
        )
        if len(aligned) >= 3:
            median = aligned[len(aligned) // 2]
            best = median if best is None else min(best, median)
    return best


def _link_near_duplicates(rows: list[BatchRow]) -> list[BatchRow]:
    """Link items whose pictures look alike (a re-encoded re-upload), with the distance."""
    done = sorted((r for r in rows if r.status == "done"), key=lambda r: r.key)
    links: dict[str, list[tuple[str, int]]] = {r.key: [] for r in done}
    for i, a in enumerate(done):
        for b in done[i + 1 :]:
            distance = _distance(a, b)
            if distance is not None and distance <= _NEAR_DUPLICATE_BITS:
                links[a.key].append((b.key, distance))
                links[b.key].append((a.key, distance))
    return [
        dataclasses.replace(r, near_duplicates=tuple(sorted(links.get(r.key, [])))) for r in rows
    ]
