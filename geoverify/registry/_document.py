"""Reading a registry file: its bytes, strict JSON (no NaN, no duplicate keys), its depth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from geoverify._io import read_regular_file
from geoverify.errors import GeoverifyError, RegistryError
from geoverify.registry._model import MAX_FILE_BYTES

# A registry is about nine levels deep (a MultiPolygon's positions); deeper nesting is refused
# before anything walks it, so that no reader or writer recurses past Python's limit.
MAX_NESTING = 64
DEEP_HINT = "A registry is a few levels deep: remove the deeply nested value."


def _strict_json(text: str, where: str) -> Any:
    def no_constants(name: str) -> Any:
        msg = f"{name} is not valid JSON"
        raise ValueError(msg)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                msg = f"duplicate key {key!r}"
                raise ValueError(msg)
            out[key] = value
        return out

    hint = "Fix the JSON syntax (NaN, Infinity and duplicate keys are refused)."
    try:
        return json.loads(text, parse_constant=no_constants, object_pairs_hook=pairs)
    except RecursionError:
        msg = f"{where} is not usable GeoJSON: nested deeper than {MAX_NESTING} levels"
        raise RegistryError(msg, code="E_REGISTRY_JSON", hint=DEEP_HINT) from None
    except ValueError as exc:
        msg = f"{where} is not valid GeoJSON: {exc}"
        raise RegistryError(msg, code="E_REGISTRY_JSON", hint=hint) from None


def too_deep(data: Any, limit: int) -> str | None:
    """Return the JSON pointer of a value nested deeper than ``limit`` (``None``: none is).

    Walks with an explicit stack, never recursion, so any depth (even a cycle) is safe; the
    pointer is looked for only when the quick walk found something too deep.
    """
    stack: list[tuple[Any, int]] = [(data, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth = pop()
        if type(value) is dict:
            value = value.values()
        elif type(value) is not list:
            continue
        if depth > limit:
            return _deep_pointer(data, limit)
        for child in value:
            if type(child) is list or type(child) is dict:  # as json.loads makes them
                push((child, depth + 1))
    return None


def _deep_pointer(data: Any, limit: int) -> str:
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, keys = stack.pop()
        if len(keys) >= limit:
            return "/" + "/".join(k.replace("~", "~0").replace("/", "~1") for k in keys)
        items = value.items() if type(value) is dict else enumerate(value)
        for key, child in items:
            if type(child) is list or type(child) is dict:
                stack.append((child, (*keys, str(key))))
    return "/"


def _registry_read_error(message: str, reason: str, hint: str) -> GeoverifyError:
    if reason == "too_large":
        return RegistryError(message, code="E_REGISTRY_TOO_LARGE", hint="Split the registry.")
    if reason == "not_regular":
        return RegistryError(message, code="E_REGISTRY_NOT_FILE", hint=hint)
    return RegistryError(
        message,
        code="E_REGISTRY_MISSING",
        hint="Check the path, or create one with `geoverify registry add`.",
    )


def read_registry_bytes(path: Path) -> bytes:
    """Read the registry file's bytes: a regular file of at most 512 MiB (``RegistryError``)."""
    return read_regular_file(
        path, max_bytes=MAX_FILE_BYTES, what="registry file", error=_registry_read_error
    )


def parse_registry_document(raw: bytes, where: str) -> Any:
    """Decode and parse a registry file's bytes as strict JSON (``RegistryError``)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        msg = f"{where!r} is not UTF-8 text"
        raise RegistryError(
            msg, code="E_REGISTRY_JSON", hint="Save the file as UTF-8 GeoJSON."
        ) from None
    return _strict_json(text, where)
