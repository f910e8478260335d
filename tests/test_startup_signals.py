"""Ctrl-C while the ``geoverify`` command starts: exit 130, one line, no traceback.

Real processes and real signals. The command's handlers are installed by ``geoverify/__init__``
before anything else loads; until the command runs, a signal ends the process at once (there is
nothing to clean up), because an exception raised by a handler in the middle of an import can
be swallowed (a weakref callback or ``__del__`` prints "Exception ignored" and carries on).
What remains before that point is the interpreter's own start-up (``site``, the console script's
first lines), which no package code can reach.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

GEOVERIFY = Path(sys.executable).parent / "geoverify"
SIGTERM_BIT = 1 << (signal.SIGTERM - 1)

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists() or not GEOVERIFY.exists(),
    reason="needs Linux /proc and the installed geoverify command",
)


def _caught(pid: int) -> int:
    """The process's mask of caught signals (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((x for x in status.splitlines() if x.startswith("SigCgt:")), "SigCgt: 0")
    return int(line.split()[1], 16)


@pytest.mark.parametrize("after_s", [0.0, 0.01, 0.03, 0.08, 0.15])
def test_ctrl_c_during_the_imports_of_the_command(tmp_path, after_s):
    registry = tmp_path / "r.geojson"
    registry.write_bytes((ROOT / "samples" / "bakhmut" / "registry.geojson").read_bytes())
    args = ["registry", "add", str(registry), "--id", "s", "--name", "S", "--lat", "48.6"]
    proc = subprocess.Popen(
        [str(GEOVERIFY), *args, "--lon", "38"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    # Python itself catches SIGINT; SIGTERM is caught once geoverify's handlers are in place
    deadline = time.monotonic() + 30
    while not _caught(proc.pid) & SIGTERM_BIT and proc.poll() is None:
        assert time.monotonic() < deadline, "the command never installed its handlers"
        time.sleep(0.001)
    time.sleep(after_s)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    assert "Exception ignored" not in err
    if proc.returncode != 0:  # 0: the command had finished before the signal
        assert proc.returncode == 130, err
        assert err.strip().endswith("interrupted")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


FINALISER = """
import os, signal
class Finaliser:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # the handler runs here, inside __del__
            pass
Finaliser()
print("carried on")
"""


def test_a_signal_inside_a_finaliser_at_start_up_still_ends_the_command():
    # the start-up handlers, as the console script gets them (its argv[0] is .../geoverify)
    code = "import sys; sys.argv[0] = '/bin/geoverify'; import geoverify\n" + FINALISER
    done = _run(code)
    assert done.returncode == 130, done.stderr
    assert "carried on" not in done.stdout
    assert done.stderr == "interrupted\n"


def test_a_swallowed_interrupt_while_the_command_runs_still_exits_130():
    # the run's handler raises (to unwind and clean up); when a finaliser swallows that, the
    # command still ends with 130 instead of 0 (geoverify.cli.main checks on the way out)
    code = (
        "from geoverify import _signals\n_signals.install()\n"
        + FINALISER
        + "_signals.raise_if_interrupted()\n"
    )
    done = _run(code)
    assert done.returncode == 130, done.stderr
    assert "carried on" in done.stdout  # the exception was swallowed, as it can be


_DEFERRED = """
import os, signal, sys, threading, time
from pathlib import Path
from geoverify import _signals
_signals.install()
out = Path(sys.argv[1])
in_thread = sys.argv[2] == "thread"
if in_thread:  # another thread's section must not hold the main thread's signal back
    inside = threading.Event()
    def hold():
        with _signals.deferred():
            inside.set()
            time.sleep(5)
    threading.Thread(target=hold, daemon=True).start()
    inside.wait()
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(2)
    out.write_text("not interrupted")
else:
    try:
        with _signals.deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # the handler has run by now: the section goes on regardless
            out.write_text("made")  # what a clean-up must know about
    finally:
        out.write_text(out.read_text() + ", then cleaned up")
"""


@pytest.mark.parametrize("where", ["main", "thread"])
def test_a_signal_in_a_deferred_section_is_raised_when_it_ends(tmp_path, where):
    """``deferred``: the staging folder is recorded before the interrupt unwinds the stack."""
    out = tmp_path / "state.txt"
    done = subprocess.run(
        [sys.executable, "-c", _DEFERRED, str(out), where],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == "interrupted"  # one line, no traceback
    if where == "main":
        assert out.read_text() == "made, then cleaned up"
    else:
        assert not out.exists()  # interrupted at once, not when the thread's section ended


def test_an_interrupt_in_a_section_that_fails_is_not_lost(tmp_path):
    """The section's own error (a temporary that could not be made) gives way to the signal."""
    script = (
        "import os, signal\n"
        "from geoverify import _signals\n"
        "_signals.install()\n"
        "try:\n"
        "    with _signals.deferred():\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        raise PermissionError('the temporary could not be made')\n"
        "except OSError:\n"
        "    print('the command went on after Ctrl-C')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 130, done.stderr
    assert done.stdout == ""
    assert done.stderr.strip() == "interrupted"
