"""The output rule's manifests: what geoverify lists as its own in a folder, and writing one."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from geoverify._io import limit_error, read_regular_file, sha256_or_none, write_atomic
from geoverify._output._paths import TEMP_NAME
from geoverify.errors import GeoverifyError

MANIFEST = "manifest.json"
OUTPUT_SCHEMA = "geoverify.output/1"
_MAX_MANIFEST_BYTES = 64 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


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


def _sha_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and _SHA256.match(value) else None


def _frames_doc_listed(doc: dict[str, Any]) -> dict[str, str | None]:
    """Map the frame files, annotated images and contact sheet one such manifest names."""
    listed: dict[str, str | None] = {}
    for entry in doc.get("frames") or []:
        if not isinstance(entry, dict):
            continue
        for key in ("file", "annotated_image"):
            rel = _safe_rel(entry.get(key))
            if rel is not None:
                listed[rel] = _sha_or_none(entry.get("sha256")) if key == "file" else None
    sheet = doc.get("contact_sheet")
    if isinstance(sheet, dict):
        listed.update({rel: None for rel in map(_safe_rel, sheet.values()) if rel is not None})
    return listed


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
        listed.update(_frames_doc_listed(doc))
    return listed


def _output_listed(folder: Path, names: set[str]) -> tuple[dict[str, str | None], list[str]]:
    """Map the files a ``manifest.json`` in ``folder`` lists; the folders it declares nested."""
    doc = _load_json(folder / MANIFEST) if MANIFEST in names else None
    if not isinstance(doc, dict) or not (
        doc.get("schema") == OUTPUT_SCHEMA or isinstance(doc.get("schema_version"), int)
    ):
        return {}, []
    files = doc.get("files")
    if not isinstance(files, dict) or not all(
        _safe_rel(k) and _sha_or_none(v) for k, v in files.items()
    ):
        return {}, []
    listed: dict[str, str | None] = {str(_safe_rel(k)): v for k, v in files.items()}
    listed[MANIFEST] = None
    if doc.get("schema") != OUTPUT_SCHEMA and "row.json" in names:
        listed["row.json"] = None  # an item of a batch from before the output rule
    declared = doc.get("nested")
    holds = (
        [r for r in map(_safe_rel, declared) if r is not None] if isinstance(declared, list) else []
    )
    return listed, holds


def listed_files(folder: Path, filenames: Iterable[str]) -> tuple[dict[str, str | None], list[str]]:
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
    found, declared = _output_listed(folder, names)
    listed.update(found)
    holds += declared
    listed.update(_frames_listed(folder, names))
    return listed, holds


def is_geoverify_output(folder: str | os.PathLike[str]) -> bool:
    """Tell whether ``folder`` holds a manifest geoverify wrote (a report, frames, a batch...)."""
    p = Path(os.fspath(folder))
    try:
        names = [n for n in os.listdir(p) if n in (MANIFEST, "frames.json", "matches.json")]
    except OSError:
        return False
    listed, _ = listed_files(p, names)
    return bool(listed)


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
        if p.is_symlink() or not p.is_file() or any(TEMP_NAME.match(x) for x in rel_path.parts):
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
