"""The output rule: what a command that writes may replace, and what it never touches.

One rule for every command that writes (README, "Where results go"):

- a single output file (``probe --track``, ``sun where``, ``claims template``) that exists is
  refused without ``overwrite``; it is never a symbolic link and never one of the inputs;
- an output folder is new, empty, or one that geoverify wrote: every file in it is listed, with
  the SHA-256 it still has, by a geoverify manifest in it or in a folder above it inside it
  (``manifest.json``; a batch's items have their own; ``frames.json``, ``matches.json`` and the
  ``manifest.json`` of reports written before this rule are read too);
- a folder holding anything else (a file no manifest lists, a listed file since edited, an
  empty folder of the user's) is refused without ``overwrite``; with it, geoverify writes its
  files beside the others and removes only files the old manifests list and that are unchanged;
  a file of the user's where geoverify would write is refused even then;
- an output that is, holds or lies inside one of the inputs (the video, the photo, the registry
  and its images, the claims, the telemetry, a folder or export read) is refused even with
  ``overwrite``; paths are compared after resolving links;
- a folder is built under a temporary name beside it (inside it when the folder above cannot be
  written, when it is the working folder or a mount point) and moved into place when complete;
  it keeps the permission bits of the folder it replaces. The temporaries of a killed run
  (``.NAME.PID.xxxxxxxx.part``/``.old``, the process gone, the same user) go at the next run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import logging
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from geoverify._io import (
    limit_error,
    output_error,
    read_regular_file,
    sha256_or_none,
    temp_prefix,
    umask,
    write_atomic,
)
from geoverify.errors import GeoverifyError, OutputError

__all__ = [
    "MANIFEST",
    "OUTPUT_SCHEMA",
    "OutputFolder",
    "check_inputs_apart",
    "check_output_dir",
    "check_output_file",
    "is_geoverify_output",
    "make_staging_dir",
    "prepare_output_dir",
    "real_path",
    "remove_stale_temporaries",
    "staged_dir",
    "survey_output_dir",
    "within",
    "write_manifest",
    "write_output_file",
]

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
OUTPUT_SCHEMA = "geoverify.output/1"
_MAX_MANIFEST_BYTES = 64 << 20
# tempfile's names: 8 characters of [a-z0-9_] between our prefix and suffix
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[a-z0-9_]{8}\.(?:part|old)$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
Inputs = Iterable[str | os.PathLike[str]]


# --- temporaries ---------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # EPERM: another user's process holds the number
        return True
    return True


def _temporary_state(folder: Path, name: str) -> str:
    """``live``, ``stale`` or ``""`` (not a geoverify temporary) for the entry ``name``."""
    m = _TEMP.match(name)
    if m is None:
        return ""
    if _pid_alive(int(m.group("pid"))):
        return "live"
    try:
        mine = os.lstat(folder / name).st_uid == os.getuid()
    except OSError:
        return ""
    return "stale" if mine else ""


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


def remove_stale_temporaries(folder: Path, name: str) -> None:
    """Remove the ``.NAME.PID.xxxxxxxx.part``/``.old`` a killed run of this user left in ``folder``.

    Only names of exactly that form, whose process is gone and which this user owns: a file
    of the user's that merely looks like one stays.
    """
    try:
        entries = [e.name for e in os.scandir(folder)]
    except OSError:
        return
    for entry in entries:
        m = _TEMP.match(entry)
        if m is not None and m.group("name") == name and _temporary_state(folder, entry) == "stale":
            _remove(folder / entry)


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def _in_place(out: Path) -> bool:
    """Whether ``out`` must be built inside itself rather than beside it and renamed."""
    if not out.is_dir():
        return False
    with contextlib.suppress(OSError):
        if out == Path(os.path.realpath(os.getcwd())) or os.path.ismount(out):
            return True
    return not _writable(out.parent)


def make_staging_dir(out: Path) -> Path:
    """Make a temporary folder for building ``out``: beside it, or inside it (``_in_place``)."""
    where = out if _in_place(out) else out.parent
    try:
        where.mkdir(parents=True, exist_ok=True)
        if where == out.parent:
            remove_stale_temporaries(where, out.name)
        return Path(tempfile.mkdtemp(dir=where, prefix=temp_prefix(out), suffix=".part"))
    except OSError as exc:
        raise output_error(exc, out) from None


# --- paths and inputs ----------------------------------------------------------------------------


def _checked_path(raw: str, what: str) -> Path:
    """Refuse an empty path, a symbolic link and a file where a folder is wanted."""
    if not str(raw).strip():
        msg = f"{what} is empty"
        raise OutputError(msg, code="E_OUTPUT_PATH", hint="Name an output folder.")
    out = Path(raw)
    if out.is_symlink():
        msg = f"{what} {raw!r} is a symbolic link"
        raise OutputError(
            msg, code="E_OUTPUT_SYMLINK", hint="Give the real folder, not a link to it."
        )
    if out.exists() and not out.is_dir():
        msg = f"{what} {raw!r} is a file, not a folder"
        raise OutputError(msg, code="E_OUTPUT_PATH", hint="Choose a folder for the output.")
    return out


def _check_writable_from(path: Path, raw: str, what: str) -> None:
    """Check the nearest existing folder at or above ``path`` is a folder we can write."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        msg = f"{what} {raw!r} lies under {str(existing)!r}, which is a file"
        raise OutputError(msg, code="E_OUTPUT_PATH", hint="Choose a folder for the output.")
    if not os.access(existing, os.W_OK | os.X_OK):
        msg = f"{what} {raw!r} cannot be written ({str(existing)!r} is not writable)"
        raise OutputError(msg, code="E_OUTPUT_WRITE", hint="Choose a folder you can write to.")


def real_path(path: str | os.PathLike[str]) -> Path:
    """Resolve every link as the system does (so ``..`` after a link goes where it leads)."""
    return Path(os.path.realpath(os.fspath(path)))


def _real_target(path: str | os.PathLike[str]) -> Path:
    """Where a name will be created: its folder resolved, its own last part kept."""
    p = Path(os.fspath(path))
    return real_path(p.parent if str(p.parent) else ".") / p.name


def within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_inputs_apart(out: str | os.PathLike[str], inputs: Inputs, *, what: str = "--out") -> None:
    """Refuse an output that is, holds or lies inside one of ``inputs`` (even with overwrite).

    Paths are compared after resolving links as the system does, so ``.``, ``..`` after a
    link and a linked folder are caught. An input folder (a batch folder, a Telegram export)
    holds its files: an output inside it is refused too, since a later run would read it back.
    """
    target = _real_target(out)
    raw = os.fspath(out)
    for item in inputs:
        src = real_path(item)
        if within(src, target):
            kind = "is" if src == target else "holds"
            msg = f"{what} {raw!r} {kind} the input {os.fspath(item)!r}"
            raise OutputError(
                msg,
                code="E_OUTPUT_HOLDS_INPUT",
                hint="geoverify never writes over or around its inputs: choose a separate "
                "output path (--overwrite does not change this).",
            )
        if src.is_dir() and within(target, src):
            msg = f"{what} {raw!r} lies inside the input folder {os.fspath(item)!r}"
            raise OutputError(
                msg,
                code="E_OUTPUT_HOLDS_INPUT",
                hint="A later run would read the output back as input: choose an output "
                "path outside the input folders.",
            )


# --- single files --------------------------------------------------------------------------------


def check_output_file(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: Inputs = (),
    what: str = "--out",
) -> Path:
    """Check, before any work, that a single output file may be written at ``path``.

    Refused with ``OutputError``: an empty path, a folder, a symbolic link (geoverify never
    writes through one), one of the command's ``inputs`` (even with ``overwrite``), an existing
    file without ``overwrite`` (``E_OUTPUT_EXISTS``), and a folder that cannot be written. Only
    the file's own path is checked: links elsewhere in the folder tree do not matter. Returns
    the path the file will be written at (its folder resolved).
    """
    raw = os.fspath(path)
    if not raw.strip():
        msg = f"{what} is empty"
        raise OutputError(msg, code="E_OUTPUT_PATH", hint="Name an output file.")
    p = Path(raw)
    check_inputs_apart(p, inputs, what=what)
    if p.is_symlink():
        msg = f"{what} {raw!r} is a symbolic link"
        raise OutputError(
            msg, code="E_OUTPUT_SYMLINK", hint="geoverify never writes through a link."
        )
    if p.exists():
        if p.is_dir():
            msg = f"{what} {raw!r} is a folder, not a file"
            raise OutputError(msg, code="E_OUTPUT_PATH", hint="Name a file for the output.")
        if not overwrite:
            msg = f"{what} {raw!r} exists"
            raise OutputError(
                msg,
                code="E_OUTPUT_EXISTS",
                hint="Choose a new file name, or pass --overwrite to replace it.",
            )
    target = _real_target(p)
    _check_writable_from(target.parent, raw, what)
    return target


def write_output_file(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    overwrite: bool = False,
    inputs: Inputs = (),
    what: str = "--out",
) -> Path:
    """Write one output file under the output rule (``check_output_file``), atomically.

    Without ``overwrite`` the file is linked into place only if the name is still free, so a
    file that appeared since the check is not replaced either (on a file system without hard
    links, such as FAT, the name is checked again just before the rename).
    """
    target = check_output_file(path, overwrite=overwrite, inputs=inputs, what=what)
    if overwrite:
        write_atomic(target, data)
        return target
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=temp_prefix(target), suffix=".part")
    except OSError as exc:
        raise output_error(exc, target) from None
    exists = OutputError(
        f"{what} {os.fspath(path)!r} exists",
        code="E_OUTPUT_EXISTS",
        hint="Choose a new file name, or pass --overwrite.",
    )
    try:
        os.fchmod(fd, 0o666 & ~umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            os.link(tmp, target)  # fails if the name was taken meanwhile
        except FileExistsError:
            raise exists from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            if os.path.lexists(target):
                raise exists from None
            os.rename(tmp, target)
    except OSError as exc:
        raise output_error(exc, target) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


# --- what a folder holds -------------------------------------------------------------------------


def _load_json(path: Path) -> Any:
    try:
        raw = read_regular_file(
            path, max_bytes=_MAX_MANIFEST_BYTES, what="manifest", error=limit_error
        )
        return json.loads(raw.decode("utf-8"))
    except (GeoverifyError, ValueError, RecursionError):
        return None


def _safe_rel(name: object) -> str | None:
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        return None
    parts = PurePosixPath(name).parts
    if PurePosixPath(name).is_absolute() or not parts or any(p in ("..", ".") for p in parts):
        return None
    return PurePosixPath(*parts).as_posix()


_LEGACY_BATCH = ".geoverify-batch"
_LEGACY_SUMMARIES = ("summary.json", "summary.csv", "index.html")


def _legacy_batch(marker: Path) -> bool:
    try:
        with marker.open("rb") as fh:
            return fh.read(64).startswith(b"geoverify ")
    except OSError:
        return False


def _frames_listed(folder: Path, names: set[str]) -> dict[str, str | None]:
    """Map the files a ``frames.json`` or ``matches.json`` in ``folder`` names (SHA-256 or None)."""
    listed: dict[str, str | None] = {}
    for manifest, schema in (
        ("frames.json", "geoverify.frames/"),
        ("matches.json", "geoverify.matches/"),
    ):
        doc = _load_json(folder / manifest) if manifest in names else None
        if not (isinstance(doc, dict) and str(doc.get("schema", "")).startswith(schema)):
            continue
        listed[manifest] = None
        for entry in doc.get("frames") or []:
            if not isinstance(entry, dict):
                continue
            for key in ("file", "annotated_image"):
                rel = _safe_rel(entry.get(key))
                sha = entry.get("sha256") if key == "file" else None
                if rel is not None:
                    listed[rel] = sha if isinstance(sha, str) and _SHA256.match(sha) else None
        sheet = doc.get("contact_sheet")
        if isinstance(sheet, dict):
            for value in sheet.values():
                rel = _safe_rel(value)
                if rel is not None:
                    listed[rel] = None
    return listed


def _listed(folder: Path, filenames: Iterable[str]) -> tuple[dict[str, str | None], list[str]]:
    """Map the files geoverify's manifests in ``folder`` list to their SHA-256 (None: by name).

    Read: ``manifest.json`` (``schema`` geoverify.output/1, or a report's ``schema_version``
    from before it), ``frames.json`` (a ``frames`` folder) and ``matches.json`` (a ``match``
    folder). A file that is not such a manifest gives nothing. Also returns the folders the
    ``manifest.json`` declares (``nested``) as holding items with manifests of their own.
    """
    names = set(filenames)
    listed: dict[str, str | None] = {}
    holds: list[str] = []
    if _LEGACY_BATCH in names and _legacy_batch(folder / _LEGACY_BATCH):
        # a batch folder from before the output rule: its marker, summaries and items
        listed.update({n: None for n in (_LEGACY_BATCH, *_LEGACY_SUMMARIES) if n in names})
        holds = ["items"]
    doc = _load_json(folder / MANIFEST) if MANIFEST in names else None
    if isinstance(doc, dict) and (
        doc.get("schema") == OUTPUT_SCHEMA or isinstance(doc.get("schema_version"), int)
    ):
        files = doc.get("files")
        if isinstance(files, dict) and all(
            _safe_rel(k) and isinstance(v, str) and _SHA256.match(v) for k, v in files.items()
        ):
            listed.update({str(_safe_rel(k)): v for k, v in files.items()})
            listed[MANIFEST] = None
            if doc.get("schema") != OUTPUT_SCHEMA and "row.json" in names:
                listed["row.json"] = None  # an item of a batch from before the output rule
            declared = doc.get("nested")
            if isinstance(declared, list):
                holds += [str(r) for r in map(_safe_rel, declared) if r is not None]
    listed.update(_frames_listed(folder, names))
    return listed, holds


def is_geoverify_output(folder: str | os.PathLike[str]) -> bool:
    """Tell whether ``folder`` holds a manifest geoverify wrote (a report, frames, a batch...)."""
    p = Path(os.fspath(folder))
    try:
        names = [n for n in os.listdir(p) if n in (MANIFEST, "frames.json", "matches.json")]
    except OSError:
        return False
    listed, _ = _listed(p, names)
    return bool(listed)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OutputFolder:
    """What an output folder holds now: geoverify's files, and everything else.

    ``owned``: files a geoverify manifest lists and that are unchanged (and the manifests);
    ``foreign``: every other file, and the user's empty folders (with a trailing ``/``);
    ``stale``: temporaries of killed runs. All are POSIX-style paths relative to ``path``.
    ``sha256``: the SHA-256 of each owned file whose manifest records one (checked against the
    file, so a later manifest can reuse it rather than read the file again).
    """

    path: Path
    exists: bool
    owned: frozenset[str]
    foreign: tuple[str, ...]
    stale: tuple[str, ...] = ()
    sha256: Mapping[str, str] = dataclasses.field(default_factory=dict)


def _unreadable(path: Path, what: str, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc)
    return OutputError(
        f"{what}: {str(path)!r} cannot be read ({reason}), so what it holds is unknown",
        code="E_OUTPUT_WRITE",
        hint="geoverify replaces only what it can see it wrote: fix the permissions, or "
        "choose another folder.",
    )


def _link_error(path: str, full: Path, what: str) -> OutputError:
    return OutputError(
        f"{what} {path!r} holds a symbolic link {str(full)!r}",
        code="E_OUTPUT_SYMLINK",
        hint="geoverify never writes through a link: remove it, or choose another folder.",
    )


def _refuse_links(here: Path, names: Iterable[str], raw: str, what: str) -> None:
    for name in names:
        try:
            link = (here / name).is_symlink()
        except OSError as exc:
            raise _unreadable(here / name, what, exc) from None
        if link:
            raise _link_error(raw, here / name, what)


def _sort_temporaries(
    here: Path, rel_dir: PurePosixPath, names: Iterable[str], stale: list[str]
) -> list[str]:
    """Return the names that are not geoverify's temporaries; add the stale ones to ``stale``."""
    kept = []
    for name in names:
        state = _temporary_state(here, name)
        if state == "stale":
            stale.append((rel_dir / name).as_posix())
        elif state == "":
            kept.append(name)
    return kept


def survey_output_dir(path: str | os.PathLike[str], *, what: str = "--out") -> OutputFolder:
    """List what ``path`` holds: geoverify's unchanged files, everything else, stale temporaries.

    Raises ``OutputError``: ``E_OUTPUT_SYMLINK`` for a symbolic link anywhere inside it,
    ``E_OUTPUT_WRITE`` for a folder inside it that cannot be read.
    """
    out = real_path(path)
    if not out.is_dir():
        return OutputFolder(path=out, exists=False, owned=frozenset(), foreign=())
    listed: dict[str, str | None] = {}
    nested: set[str] = set()
    files: list[str] = []
    dirs: list[str] = []
    stale: list[str] = []

    def fail(exc: OSError) -> None:
        raise _unreadable(Path(exc.filename or out), what, exc)

    for dirpath, dirnames, filenames in os.walk(out, onerror=fail, followlinks=False):
        here = Path(dirpath)
        rel_dir = PurePosixPath(here.relative_to(out).as_posix())
        _refuse_links(here, (*dirnames, *filenames), os.fspath(path), what)
        kept_dirs = _sort_temporaries(here, rel_dir, dirnames, stale)
        dirs += [(rel_dir / n).as_posix() for n in kept_dirs]
        dirnames[:] = kept_dirs
        plain = _sort_temporaries(here, rel_dir, filenames, stale)
        files += [(rel_dir / n).as_posix() for n in plain]
        # a manifest below the top counts only where one above vouches for it: it lists the
        # manifest, or declares the folder above as holding items with their own (a batch)
        top = rel_dir == PurePosixPath(".")
        vouched = (
            top
            or str(rel_dir.parent) in nested
            or any(
                (rel_dir / m).as_posix() in listed
                for m in (MANIFEST, "frames.json", "matches.json")
            )
        )
        if vouched:
            found, holds = _listed(here, plain)
            listed.update({(rel_dir / rel).as_posix(): sha for rel, sha in found.items()})
            nested.update((rel_dir / h).as_posix() for h in holds)
    present = set(files)
    owned = set()
    checked: dict[str, str] = {}
    for rel, sha in listed.items():
        if rel in present and (sha is None or sha256_or_none(out / rel) == sha):
            owned.add(rel)
            if sha is not None:
                checked[rel] = sha
    foreign = sorted(present - owned)
    # a folder of the user's with no file anywhere below it is theirs too
    with_files = {str(PurePosixPath(f).parent) for f in present}
    filled = {a for f in with_files for a in (f, *map(str, PurePosixPath(f).parents))}
    foreign += sorted(f"{d}/" for d in dirs if d not in filled)
    return OutputFolder(
        path=out,
        exists=True,
        owned=frozenset(owned),
        foreign=tuple(foreign),
        stale=tuple(sorted(stale)),
        sha256=checked,
    )


def check_output_dir(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: Inputs = (),
    what: str = "--out",
    will_write: Iterable[str] = (),
) -> OutputFolder:
    """Check, before any expensive work, that an output folder may be written (the output rule).

    Refused with ``OutputError``: an empty path, a symbolic link, a file or a path under one,
    an output that is, holds or lies inside an input (``E_OUTPUT_HOLDS_INPUT``, even with
    ``overwrite``), a folder holding a symbolic link, a folder holding anything no geoverify
    manifest lists unless ``overwrite`` (``E_OUTPUT_NOT_EMPTY``), a file of the user's at one of
    the names in ``will_write`` (even with ``overwrite``), and a folder that cannot be written
    (the folder, or the one above it when the output is built beside it). Returns what the
    folder holds now.
    """
    raw = os.fspath(path)
    _checked_path(raw, what)
    out = real_path(raw)
    check_inputs_apart(out, inputs, what=what)
    if out.is_dir():
        if not _writable(out):
            msg = f"{what} {raw!r} cannot be written"
            raise OutputError(msg, code="E_OUTPUT_WRITE", hint="Choose a folder you can write to.")
    else:
        _check_writable_from(out.parent, raw, what)
    survey = survey_output_dir(out, what=what)
    if survey.foreign and not overwrite:
        shown = ", ".join(repr(n) for n in survey.foreign[:3])
        more = f" and {len(survey.foreign) - 3} more" if len(survey.foreign) > 3 else ""
        msg = f"{what} {raw!r} holds files geoverify did not write: {shown}{more}"
        raise OutputError(
            msg,
            code="E_OUTPUT_NOT_EMPTY",
            hint="Choose a new or empty folder, or pass --overwrite (it keeps those files and "
            "replaces only what an earlier geoverify run listed in its manifest).",
        )
    _check_clashes(survey, will_write, what)
    return survey


def _check_clashes(survey: OutputFolder, names: Iterable[str], what: str) -> None:
    """Refuse names this run writes where the user has a file, or a file where a folder goes."""
    foreign = set(survey.foreign)
    foreign_dirs = {f.rstrip("/") for f in survey.foreign if f.endswith("/")}
    for rel in names:
        parts = PurePosixPath(rel).parts
        prefixes = [PurePosixPath(*parts[:i]).as_posix() for i in range(1, len(parts))]
        clash = ""
        if rel in foreign or rel in foreign_dirs:
            clash = rel
        else:
            clash = next((p for p in prefixes if p in foreign), "")
        if not clash and (survey.path / rel).is_dir():
            clash = rel  # a folder where this run writes a file
        if clash:
            msg = f"{what} {str(survey.path)!r} holds {clash!r}, which geoverify did not write"
            raise OutputError(
                msg,
                code="E_OUTPUT_NOT_EMPTY",
                hint="geoverify would have to replace it: move it away, or choose another folder.",
            )


def prepare_output_dir(path: str | os.PathLike[str], *, what: str = "--out") -> Path:
    """Create a folder whose files are written one by one (``write_atomic``), if need be.

    For a folder being built (``staged_dir``'s) or one geoverify keeps beside an input (the
    registry's ``osm/``). Refused: a path that is a file or a link, or a folder holding a link.
    """
    raw = os.fspath(path)
    out = _checked_path(raw, what)
    _check_writable_from(Path(os.path.abspath(raw)), raw, what)
    survey_output_dir(out, what=what)  # refuses a link anywhere inside
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, out) from None
    return out


def write_manifest(
    folder: str | os.PathLike[str], *, extra: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Write ``manifest.json`` (last, durably): the SHA-256 of every file in ``folder``.

    ``extra`` members are written beside ``schema`` and ``files``. Returns ``files``: relative
    path to SHA-256, for every regular file below ``folder`` but the manifest itself and
    geoverify's temporaries.
    """
    out = Path(os.fspath(folder))
    files: dict[str, str] = {}
    for p in sorted(out.rglob("*")):
        rel_path = p.relative_to(out)
        if p.is_symlink() or not p.is_file() or any(_TEMP.match(x) for x in rel_path.parts):
            continue
        rel = rel_path.as_posix()
        if rel == MANIFEST:
            continue
        digest = sha256_or_none(p)
        if digest is not None:
            files[rel] = digest
    doc: dict[str, Any] = {"schema": OUTPUT_SCHEMA, **(extra or {}), "files": files}
    text = json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=2)
    write_atomic(out / MANIFEST, text.encode("utf-8"), durable=True)
    return files


# --- moving a built folder into place ------------------------------------------------------------


def _remove_owned(root: Path, survey: OutputFolder) -> None:
    """Remove the survey's owned files and stale temporaries below ``root``, then empty folders."""
    for rel in sorted(survey.owned):
        with contextlib.suppress(FileNotFoundError):
            (root / rel).unlink()
    for rel in survey.stale:
        _remove(root / rel)
    parents = {p for rel in (*survey.owned, *survey.stale) for p in PurePosixPath(rel).parents}
    for rel in sorted((str(p) for p in parents if str(p) != "."), key=len, reverse=True):
        with contextlib.suppress(OSError):
            (root / rel).rmdir()  # only if empty: a file of the user's keeps its folder


def _swap_in(staging: Path, survey: OutputFolder) -> None:
    """Move a complete ``staging`` folder to ``out``, replacing a folder wholly geoverify's."""
    out = survey.path
    if not out.exists():
        os.rename(staging, out)
        return
    with contextlib.suppress(OSError):
        os.chmod(staging, stat.S_IMODE(os.stat(out).st_mode))
    old = Path(tempfile.mkdtemp(dir=out.parent, prefix=temp_prefix(out), suffix=".old"))
    os.rmdir(old)
    os.rename(out, old)
    try:
        os.rename(staging, out)
    except OSError:
        os.rename(old, out)  # put the previous run back
        raise
    _remove_owned(old, survey)
    with contextlib.suppress(OSError):
        old.rmdir()
    if old.exists():  # something appeared in the old folder meanwhile: keep it, visibly
        keep = out.parent / f"{out.name}.kept-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        os.rename(old, keep)
        log.warning("files that appeared in %s during the run were kept in %s", out, keep)


def _merge_in(staging: Path, survey: OutputFolder, what: str) -> None:
    """Move ``staging``'s files into a folder that also holds files geoverify did not write.

    Every destination is checked before anything is removed; then the old manifests' files
    go, the new files move in and the manifest comes last.
    """
    out = survey.path
    new = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
    _check_clashes(survey, new, what)
    _remove_owned(out, survey)
    for rel in sorted(new, key=lambda r: r == MANIFEST):
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, dest)
    shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def staged_dir(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: Inputs = (),
    what: str = "--out",
    will_write: Iterable[str] = (),
) -> Iterator[Path]:
    """Build an output folder under a temporary name; move it into place at the end.

    The body writes into the yielded folder (and writes its ``manifest.json``, e.g. with
    ``write_manifest``). If it raises or is interrupted, the temporary folder is removed and
    ``path`` is left as it was. The output rule (``check_output_dir``) decides what may be
    replaced: a folder wholly geoverify's is replaced whole (it keeps its permission bits);
    with ``overwrite``, a folder that also holds other files keeps them, and only the files the
    old manifests list are removed. ``will_write`` names files the body will write, so a clash
    with a file of the user's is refused before the work.
    """
    inputs = tuple(inputs)
    survey = check_output_dir(
        path, overwrite=overwrite, inputs=inputs, what=what, will_write=will_write
    )
    out = survey.path
    in_place = _in_place(out)
    staging = make_staging_dir(out)
    try:
        if not out.exists():
            os.chmod(staging, 0o777 & ~umask())
        yield staging
        # what the folder holds now (another process may have written since the first check)
        survey = check_output_dir(out, overwrite=overwrite, inputs=inputs, what=what)
        if survey.foreign or in_place:
            _merge_in(staging, survey, what)
        else:
            _swap_in(staging, survey)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise output_error(exc, out) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
