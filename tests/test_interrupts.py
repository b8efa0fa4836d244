"""Ctrl-C: one line, no abort inside a library's import, and an end by SIGINT that a calling shell understands."""

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from docqa.interrupts import INTERRUPTED, in_import, interrupts_outside_imports

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parent.parent


def run_script(tmp_path: Path, script: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=tmp_path,
        env={"PYTHONPATH": f"{ROOT}:{tmp_path}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_in_import_is_true_only_while_a_module_is_imported(tmp_path, monkeypatch):
    (tmp_path / "docqa_probe_module.py").write_text(
        "import sys\nfrom docqa.interrupts import in_import\nSEEN = in_import(sys._getframe())\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import docqa_probe_module

    assert docqa_probe_module.SEEN is True
    assert in_import(sys._getframe()) is False
    assert in_import(None) is False


def test_outside_imports_ctrl_c_is_a_keyboard_interrupt_and_the_handler_is_put_back():
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), interrupts_outside_imports(lambda: "never printed"):
        signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


def test_a_ctrl_c_ignored_by_the_parent_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts_outside_imports(lambda: "never printed"):
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_during_an_import_prints_the_line_and_ends_by_sigint_at_once(tmp_path):
    (tmp_path / "slow_library.py").write_text(
        "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(30)\nprint('import finished')\n",
        encoding="utf-8",
    )
    result = run_script(
        tmp_path,
        """
        import sys
        from docqa.interrupts import interrupts_outside_imports
        print("written before", flush=False)
        with interrupts_outside_imports(lambda: "prog: interrupted; state"):
            try:
                import slow_library
            except KeyboardInterrupt:
                print("KeyboardInterrupt raised inside the import")
        print("went on")
        """,
    )
    assert result.returncode == -signal.SIGINT
    assert result.stdout == "written before\n"
    assert result.stderr == "prog: interrupted; state\n"


def test_exit_with_interrupted_ends_by_sigint_after_flushing_output(tmp_path):
    result = run_script(
        tmp_path,
        """
        from docqa.interrupts import INTERRUPTED, exit_with
        print("row 1", flush=False)
        exit_with(INTERRUPTED)
        """,
    )
    assert INTERRUPTED == 128 + signal.SIGINT
    assert result.returncode == -signal.SIGINT
    assert result.stdout == "row 1\n"
    assert result.stderr == ""


@pytest.mark.parametrize("status", [0, 1, 2])
def test_exit_with_other_statuses_is_a_plain_exit(tmp_path, status):
    result = run_script(tmp_path, f"from docqa.interrupts import exit_with\nexit_with({status})\n")
    assert result.returncode == status


def test_exit_with_waits_for_threads_runs_atexit_functions_and_flushes_before_leaving(tmp_path):
    result = run_script(
        tmp_path,
        """
        import atexit, sys, threading, time
        from docqa.interrupts import exit_with

        def late():
            time.sleep(0.3)
            print("thread done", flush=False)

        atexit.register(lambda: print("atexit ran", flush=False))
        threading.Thread(target=late).start()
        print("answer", flush=False)
        sys.stderr.write("warning\\n")
        exit_with(3)
        """,
    )
    assert result.returncode == 3
    assert result.stdout == "answer\nthread done\natexit ran\n"
    assert result.stderr == "warning\n"
