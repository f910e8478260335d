"""The output rule's survey: what an output folder holds, and whether it may be written."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from geoverify._io import output_error, sha256_or_none
from geoverify._output._manifests import MANIFEST, listed_files
from geoverify._output._paths import (
    Inputs,
    check_inputs_apart,
    check_writable_from,
    checked_path,
    real_path,
    temporary_state,
    writable_dir,
)
from geoverify.errors import OutputError


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
        state = temporary_state(here, name)
        if state == "stale":
            stale.append((rel_dir / name).as_posix())
        elif state == "":
            kept.append(name)
    return kept


@dataclasses.dataclass(slots=True)
class _Walk:
    """What ``survey_output_dir`` gathers walking a folder (relative POSIX paths)."""

    listed: dict[str, str | None] = dataclasses.field(default_factory=dict)
    nested: set[str] = dataclasses.field(default_factory=set)
    files: list[str] = dataclasses.field(default_factory=list)
    dirs: list[str] = dataclasses.field(default_factory=list)
    stale: list[str] = dataclasses.field(default_factory=list)

    def vouched(self, rel_dir: PurePosixPath) -> bool:
        """Whether the manifests of ``rel_dir`` count.

        A manifest below the top counts only where one above vouches for it: it lists the
        manifest, or declares the folder above as holding items with their own (a batch).
        """
        if rel_dir == PurePosixPath(".") or str(rel_dir.parent) in self.nested:
            return True
        return any(
            (rel_dir / m).as_posix() in self.listed
            for m in (MANIFEST, "frames.json", "matches.json")
        )


def _walk(out: Path, raw: str, what: str) -> _Walk:
    """Walk ``out``: refuse links, set temporaries apart, read the manifests that count."""
    walk = _Walk()

    def fail(exc: OSError) -> None:
        raise _unreadable(Path(exc.filename or out), what, exc)

    for dirpath, dirnames, filenames in os.walk(out, onerror=fail, followlinks=False):
        here = Path(dirpath)
        rel_dir = PurePosixPath(here.relative_to(out).as_posix())
        _refuse_links(here, (*dirnames, *filenames), raw, what)
        kept_dirs = _sort_temporaries(here, rel_dir, dirnames, walk.stale)
        walk.dirs += [(rel_dir / n).as_posix() for n in kept_dirs]
        dirnames[:] = kept_dirs
        plain = _sort_temporaries(here, rel_dir, filenames, walk.stale)
        walk.files += [(rel_dir / n).as_posix() for n in plain]
        if walk.vouched(rel_dir):
            found, holds = listed_files(here, plain)
            walk.listed.update({(rel_dir / rel).as_posix(): sha for rel, sha in found.items()})
            walk.nested.update((rel_dir / h).as_posix() for h in holds)
    return walk


def _owned(out: Path, walk: _Walk) -> tuple[set[str], dict[str, str]]:
    """Return the listed files present and unchanged, and the SHA-256 checked for each."""
    present = set(walk.files)
    owned = set()
    checked: dict[str, str] = {}
    for rel, sha in walk.listed.items():
        if rel in present and (sha is None or sha256_or_none(out / rel) == sha):
            owned.add(rel)
            if sha is not None:
                checked[rel] = sha
    return owned, checked


def survey_output_dir(path: str | os.PathLike[str], *, what: str = "--out") -> OutputFolder:
    """List what ``path`` holds: geoverify's unchanged files, everything else, stale temporaries.

    Raises ``OutputError``: ``E_OUTPUT_SYMLINK`` for a symbolic link anywhere inside it,
    ``E_OUTPUT_WRITE`` for a folder inside it that cannot be read.
    """
    out = real_path(path)
    if not out.is_dir():
        return OutputFolder(path=out, exists=False, owned=frozenset(), foreign=())
    walk = _walk(out, os.fspath(path), what)
    present = set(walk.files)
    owned, checked = _owned(out, walk)
    foreign = sorted(present - owned)
    # a folder of the user's with no file anywhere below it is theirs too
    with_files = {str(PurePosixPath(f).parent) for f in present}
    filled = {a for f in with_files for a in (f, *map(str, PurePosixPath(f).parents))}
    foreign += sorted(f"{d}/" for d in walk.dirs if d not in filled)
    return OutputFolder(
        path=out,
        exists=True,
        owned=frozenset(owned),
        foreign=tuple(foreign),
        stale=tuple(sorted(walk.stale)),
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
    checked_path(raw, what)
    out = real_path(raw)
    check_inputs_apart(out, inputs, what=what)
    if out.is_dir():
        if not writable_dir(out):
            msg = f"{what} {raw!r} cannot be written"
            raise OutputError(msg, code="E_OUTPUT_WRITE", hint="Choose a folder you can write to.")
    else:
        check_writable_from(out.parent, raw, what)
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
    check_clashes(survey, will_write, what)
    return survey


def check_clashes(survey: OutputFolder, names: Iterable[str], what: str) -> None:
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
    out = checked_path(raw, what)
    check_writable_from(Path(os.path.abspath(raw)), raw, what)
    survey_output_dir(out, what=what)  # refuses a link anywhere inside
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, out) from None
    return out
