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

The rule by job: ``_paths`` (temporaries, inputs kept apart, single files), ``_manifests``
(what geoverify's manifests list, and writing one), ``_survey`` (what a folder holds, and
whether it may be written), ``_staging`` (building a folder and moving it into place).
"""

from __future__ import annotations

from geoverify._output._manifests import (
    MANIFEST,
    OUTPUT_SCHEMA,
    is_geoverify_output,
    write_manifest,
)
from geoverify._output._paths import (
    check_inputs_apart,
    check_output_file,
    make_staging_dir,
    real_path,
    remove_stale_temporaries,
    within,
    write_output_file,
)
from geoverify._output._staging import staged_dir
from geoverify._output._survey import (
    OutputFolder,
    check_output_dir,
    prepare_output_dir,
    survey_output_dir,
)

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
