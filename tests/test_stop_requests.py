"""A stop asked by a signal is never lost: SIGTERM's handler notes it before raising, so
that an exception Python discards (raised while a finalizer runs: "Exception ignored in")
still keeps the staged output from being put in place (exit 143, no output, stage removed).
A real process and a real signal."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from landcarbon.io import outputs
from landcarbon.io.outputs import clear_stop, request_stop, staged_output_dir

SCRIPT = textwrap.dedent("""
    import os, signal, sys, weakref
    from pathlib import Path
    from landcarbon.cli._base import _terminate
    from landcarbon.io.outputs import staged_output_dir

    signal.signal(signal.SIGTERM, _terminate)
    target = Path(sys.argv[1])

    class Held:
        pass

    def finalizer():
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs inside the finalizer
        for _ in range(100_000):
            pass

    with staged_output_dir(target, kind="run") as stage:
        (stage / "units.csv").write_text("unit_id\\n1\\n")
        held = Held()
        weakref.finalize(held, finalizer)
        del held  # the finalizer runs; the handler's SystemExit is reported and dropped
        print("the block went on", flush=True)
    print("put in place", flush=True)
""")


def test_a_lost_sigterm_still_keeps_the_output_out(tmp_path: Path) -> None:
    target = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(target)], capture_output=True,
                          text=True, timeout=120)
    assert "the block went on" in proc.stdout  # the exception was indeed lost
    assert "Exception ignored" in proc.stderr and "Terminated" in proc.stderr
    assert "put in place" not in proc.stdout
    assert proc.returncode == 143
    assert not target.exists()
    assert not list(tmp_path.glob(".out.partial-*"))  # the stage is removed


def test_a_stop_asked_before_the_commit_discards_the_stage(tmp_path: Path) -> None:
    target = tmp_path / "out"
    try:
        with (pytest.raises(SystemExit) as stopped,
              staged_output_dir(target, kind="run") as stage):
            (stage / "a.csv").write_text("x\n")
            request_stop(2)  # SIGINT
        assert stopped.value.code == 130
        assert not target.exists() and not list(tmp_path.glob(".out.partial-*"))
    finally:
        clear_stop()
    assert outputs._STOP == []
    with staged_output_dir(target, kind="run") as stage:  # a new command: no stop asked
        (stage / "a.csv").write_text("x\n")
    assert (target / "a.csv").read_text() == "x\n"


SAFE_POINTS = textwrap.dedent("""
    import os, signal, sys, weakref
    from pathlib import Path
    import dask.array as da
    from landcarbon.cli._base import _terminate, _unraisable
    from landcarbon.io.outputs import staged_output_dir
    from landcarbon.pipeline._compute import compute_context
    from landcarbon.pipeline.progress import step

    sys.unraisablehook = _unraisable  # as the CLI sets it
    signal.signal(signal.SIGTERM, _terminate)
    target, where = Path(sys.argv[1]), sys.argv[2]

    class Held:
        pass

    def finalizer():
        os.kill(os.getpid(), signal.SIGTERM)

    with staged_output_dir(target, kind="run") as stage, compute_context(None):
        held = Held()
        weakref.finalize(held, finalizer)
        del held  # the handler's SystemExit is lost in the finalizer
        print("the block went on", flush=True)
        if where == "task":
            da.ones(100, chunks=10).sum().compute()
        else:
            with step("next"):
                pass
        print("went past the safe point", flush=True)
""")


@pytest.mark.parametrize("where", ["task", "step"])
def test_a_lost_stop_takes_effect_at_the_next_task_or_step(tmp_path: Path, where: str) -> None:
    """The stop lost in a finalizer stops the run at its next dask task or step (not at its
    end), and Python's "Exception ignored" report of it is not printed."""
    target = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", SAFE_POINTS, str(target), where],
                          capture_output=True, text=True, timeout=120)
    assert "the block went on" in proc.stdout
    assert "went past the safe point" not in proc.stdout
    assert "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr
    assert "Terminated" in proc.stderr and proc.returncode == 143
    assert not target.exists() and not list(tmp_path.glob(".out.partial-*"))
