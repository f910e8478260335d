"""The text command: lines of text in a photo or a video's frames, their script and names."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from geoverify.cli._common import JsonOpt, ProgressLines, app, dump_json, echo, run_command
from geoverify.models import TEXT_LANG, TEXT_MAX_FRAMES, to_jsonable

if TYPE_CHECKING:
    from geoverify.text import TextOptions


TextOpt = Annotated[
    str,
    typer.Option(
        "--text",
        help="Tesseract languages for the text in the frames, joined by '+'; 'off' reads none.",
    ),
]


def text_lang(value: str) -> str | None:
    """Return the languages ``--text`` names (``None``: ``off``, no text read)."""
    return None if value == "off" else value


def text_options(value: str) -> TextOptions | None:
    """Return the ``TextOptions`` of ``--text`` (``None``: off)."""
    from geoverify.text import TextOptions

    lang = text_lang(value)
    return None if lang is None else TextOptions(lang=lang)


@app.command("text")
def text_command(
    media: Annotated[Path, typer.Argument(help="Local photo or video.")],
    lang: Annotated[
        str, typer.Option("--lang", help="Tesseract languages joined by '+'.")
    ] = TEXT_LANG,
    registry: Annotated[
        Path | None,
        typer.Option("--registry", help="Registry whose names and aliases to look for."),
    ] = None,
    max_frames: Annotated[
        int, typer.Option("--max-frames", help="Frames of a video read at most (the sharpest).")
    ] = TEXT_MAX_FRAMES,
    as_json: JsonOpt = False,
) -> None:
    """Read the text in a photo or a video's frames: where, what, which script, which names.

    A video's frames are chosen as verify chooses them. Needs Tesseract (`make tesseract`).
    """
    from geoverify.registry import load_registry
    from geoverify.text import TextOptions, read_footage_text

    def run() -> Any:
        reg = load_registry(registry) if registry is not None else None
        options = TextOptions(lang=lang, max_frames=max_frames)
        with ProgressLines("reading text", enabled=not as_json) as bar:
            return read_footage_text(media, registry=reg, options=options, progress=bar)

    result = run_command(as_json, run)
    if as_json:
        echo(dump_json(to_jsonable(result)))
        return
    found = len(result.regions)
    echo(f"{result.path}: {found} line(s) of text, Tesseract {result.tesseract_version}")
    for ft in result.frames:
        for region in ft.regions:
            b = region.box
            names = ", ".join(f"{m.landmark_id} ({m.score:.2f})" for m in region.matches)
            echo(
                f"  {ft.t_s:8.2f} s  [{b.left_px},{b.top_px} {b.width_px}x{b.height_px}]  "
                f"{region.text!r}  conf {region.confidence:.0f}  "
                f"{region.script.script}/{region.script.language}"
                + (f"  names: {names}" if names else "")
            )
