"""The output rule's staging: build a folder under a temporary name, then move it into place."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from geoverify._io import output_error, temp_prefix, umask
from geoverify._output._manifests import MANIFEST
from geoverify._output._paths import Inputs, builds_in_place, make_staging_dir, remove_path
from geoverify._output._survey import OutputFolder, check_clashes, check_output_dir
from geoverify._signals import deferred

log = logging.getLogger("geoverify._output")


def _remove_owned(root: Path, survey: OutputFolder) -> None:
    """Remove the survey's owned files and stale temporaries below ``root``, then empty folders."""
    for rel in sorted(survey.owned):
        with contextlib.suppress(FileNotFoundError):
            (root / rel).unlink()
    for rel in survey.stale:
        remove_path(root / rel)
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
    check_clashes(survey, new, what)
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
    in_place = builds_in_place(out)
    staging: Path | None = None
    try:
        with deferred():  # a signal cannot land between the folder's creation and its record
            staging = make_staging_dir(out)
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
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise output_error(exc, out) from None
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
