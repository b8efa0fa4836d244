"""Help, version and usage errors come at once: building the parsers loads no model library."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "haystack", "sentence_transformers", "elasticsearch")
# Runs ``python -m MODULE ARGS`` in this process and prints, as the last line of standard output, the heavy modules
# it loaded: from an atexit function, which runs however the command ends (SystemExit, or docqa.interrupts.exit_with).
RUN_AND_LIST = f"""
import atexit, json, runpy, sys
module, *args = sys.argv[1:]
sys.argv = [module, *args]
atexit.register(lambda: print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r}))))
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def run_and_list(module: str, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run ``python -m module args``; the completed process (its output without the list) and the heavy modules."""
    result = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, module, *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    output, _, listed = result.stdout.rstrip("\n").rpartition("\n")
    result.stdout = output
    return result, json.loads(listed)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["ask", "--help"],
        ["batch", "--help"],
        ["status", "--help"],
        ["evaluate", "--help"],
        ["squad-metrics", "--help"],
        ["calibrate", "--help"],
        ["--version"],
        [],
    ],
)
def test_docqa_help_and_version_load_no_model_library(args):
    result, heavy = run_and_list("docqa", *args)
    assert result.returncode == (2 if not args else 0), result.stderr
    assert "Traceback" not in result.stderr
    assert heavy == []


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_indexing_help_and_version_load_no_model_library(args):
    result, heavy = run_and_list("indexing", *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(("usage: python -m indexing ", "docqa "))
    assert heavy == []


def test_a_usage_error_is_one_line_and_loads_no_model_library():
    result, heavy = run_and_list("docqa", "ask", "--top-k", "x")
    assert result.returncode == 2
    assert result.stderr == "docqa ask: error: argument --top-k: invalid int value: 'x' (see docqa ask --help)\n"
    assert heavy == []


@pytest.mark.parametrize(
    ("args", "line"),
    [(["  "], "docqa: the question is empty."), (["Who?", "--top-k", "0"], "docqa: --top-k must be at least 1")],
)
def test_a_question_that_cannot_be_asked_is_refused_before_any_model_library_loads(args, line):
    result, heavy = run_and_list("docqa", "ask", *args)
    assert result.returncode == 2
    assert result.stderr.startswith(line) and len(result.stderr.splitlines()) == 1, result.stderr
    assert {module.split(".")[0] for module in heavy} <= {"transformers"}, "only its logging, to quiet it"


def test_an_unknown_option_points_to_the_commands_own_help():
    result, heavy = run_and_list("docqa", "ask", "Who?", "--bogus")
    assert result.returncode == 2
    assert result.stderr == "docqa ask: error: unrecognized arguments: --bogus (see docqa ask --help)\n"
    assert heavy == []


def test_evaluate_shows_the_top_k_the_evaluation_uses_by_default():
    from docqa.commands.evaluate import TOP_K
    from docqa.evaluation.evaluate import RECALL_AT

    assert max(RECALL_AT) == TOP_K
