import subprocess
import sys
from pathlib import Path

import pytest

from docqa import __version__
from docqa.cli import build_parser

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parent.parent


def run_docqa(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "docqa", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300
    )


def test_every_command_is_registered():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"ask", "batch"} <= set(commands)


def test_docqa_alone_shows_the_commands_and_both_programs_tell_their_version():
    result = run_docqa()
    assert result.returncode == 2 and result.stderr.startswith("usage: docqa [-h] [--version] COMMAND")
    assert "calibrate" in result.stderr and "Traceback" not in result.stderr
    for command in (["-m", "docqa"], ["-m", "indexing"]):
        version = subprocess.run([sys.executable, *command, "--version"], capture_output=True, text=True, cwd=ROOT)
        assert (version.returncode, version.stdout) == (0, f"docqa {__version__}\n")


def test_unknown_option_is_one_line_and_exit_2():
    result = run_docqa("ask", "Who?", "--bogus")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unrecognized arguments: --bogus" in result.stderr


def test_unknown_command_is_one_line():
    result = run_docqa("frobnicate")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0


def test_bad_setting_is_one_line(tmp_path):
    import os

    env = {**os.environ, "DOCQA_DEVICE": "tpu"}
    result = run_docqa("ask", "Who?", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("docqa: DOCQA_DEVICE")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("command", "expected"), [("docqa", "ask"), ("docqa-index", "PATH")])
def test_installed_commands_run_from_any_directory(tmp_path, command, expected):
    script = Path(sys.executable).parent / command
    assert script.exists(), f"{command} is not installed in this environment: run bash scripts/setup.sh"
    result = subprocess.run([str(script), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout and result.stdout.startswith(f"usage: {command} ")
    if command == "docqa-index":
        from docqa.paths import INDEXING_PIPELINE

        # the help wraps long paths, after a hyphen too
        assert str(INDEXING_PIPELINE).replace(" ", "") in "".join(result.stdout.split()), "the default pipeline"


def test_status_names_the_store_its_contents_and_the_models(tmp_path):
    import os

    from haystack import Document

    from docqa.embedded_store import EmbeddedDocumentStore
    from docqa.hardware import default_cpu_precision

    store = tmp_path / "store"
    EmbeddedDocumentStore(path=str(store)).write_documents(
        [Document(content=f"passage {i}", meta={"file_path": f"/docs/{i % 2}.txt"}) for i in range(3)]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCQA_")}
    env.update(DOCQA_STORE_PATH=str(store), DOCQA_READER_MODEL="/models/reader", DOCQA_DEVICE="cpu")
    result = run_docqa("status", "--files", env=env)
    assert result.returncode == 0, result.stderr
    precision = default_cpu_precision()
    assert result.stdout.splitlines() == [
        f"store: embedded store at {store}: 3 passages from 2 files",
        f"embedding model: sentence-transformers/all-MiniLM-L6-v2 (cpu, {precision})",
        f"reader model: /models/reader (cpu, {precision})",
        "2 indexed files no longer on disk (moved or deleted; their passages still answer): re-index their folder, "
        "or python -m indexing --remove PATH",
        "/docs/0.txt  (not on disk)",
        "/docs/1.txt  (not on disk)",
    ]
    bm25 = run_docqa("status", "--pipeline", "pipelines/query_bm25.yml", env=env)
    assert bm25.stdout.splitlines()[1:2] == [f"reader model: /models/reader (cpu, {precision})"]
    missing_gpu = run_docqa("status", env={**env, "DOCQA_DEVICE": "cuda:99"})
    assert missing_gpu.returncode == 0, missing_gpu.stderr
    assert all("device 'cuda:99'" in line for line in missing_gpu.stdout.splitlines()[1:3])
    EmbeddedDocumentStore(path=str(store)).write_documents(
        [Document(content="embedded", meta={"file_path": "/docs/2.txt", "embedding_model": "/models/minilm"})]
    )
    recorded = run_docqa("status", env=env)
    assert recorded.stdout.splitlines()[:2] == [
        f"store: embedded store at {store}: 4 passages from 3 files",
        "passages embedded with: /models/minilm",
    ]
    refused = recorded.stdout.splitlines()[-2]
    assert refused.startswith("questions are refused: the embedded store at") and "/models/minilm" in refused
    assert recorded.returncode == 0
    same = run_docqa("status", env={**env, "DOCQA_EMBEDDING_MODEL": "/models/minilm"})
    assert not any(line.startswith("questions are refused") for line in same.stdout.splitlines()), same.stdout
    one_store = tmp_path / "one"
    on_disk = tmp_path / "a.txt"
    on_disk.write_text("x")
    EmbeddedDocumentStore(path=str(one_store)).write_documents(
        [Document(content="x", meta={"file_path": str(on_disk)})]
    )
    one = run_docqa("status", "--files", env={**env, "DOCQA_STORE_PATH": str(one_store)})
    assert one.stdout.splitlines()[0] == f"store: embedded store at {one_store}: 1 passage from 1 file"
    assert "no longer on disk" not in one.stdout and one.stdout.splitlines()[-1] == str(on_disk)
    empty = run_docqa("status", env={**env, "DOCQA_STORE_PATH": str(tmp_path / "none")})
    assert empty.stdout.splitlines()[0] == (
        f"store: embedded store at {tmp_path / 'none'}: 0 passages from 0 files "
        "(nothing indexed here yet: python -m indexing PATH)"
    )
    assert not (tmp_path / "none").exists(), "status creates nothing"


def test_a_store_journal_cut_short_is_one_warning_line(tmp_path):
    import os

    from haystack import Document

    from docqa.embedded_store import EmbeddedDocumentStore

    store = tmp_path / "store"
    EmbeddedDocumentStore(path=str(store)).write_documents([Document(content="passage", meta={"file_path": "/a.txt"})])
    journal = store / "journal.0"
    journal.write_bytes(journal.read_bytes()[:-5])
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCQA_")}
    env.update(DOCQA_STORE_PATH=str(store), DOCQA_READER_MODEL="/models/reader", DOCQA_DEVICE="cpu")
    result = run_docqa("status", env=env)
    assert result.returncode == 0, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"docqa: warning: document store {store}: the last change in journal.0 was cut short")
    assert result.stdout.startswith(f"store: embedded store at {store}: 0 passages")


def test_a_misspelled_setting_is_named_with_the_closest_one(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCQA_")}
    env.update(DOCQA_STORE_PATH=str(tmp_path / "none"), DOCQA_DEVICE="cpu", DOCQA_READR_MODEL="/models/reader")
    (tmp_path / ".env").write_text("DOCQA_STOREE=elasticsearch\nthis line is junk\nDOCQA_UPLOAD_PATH=up\n")
    result = subprocess.run(
        [sys.executable, "-m", "docqa", "status"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "docqa: warning: .env line 2 is not NAME=value and is ignored: 'this line is junk'",
        "docqa: warning: DOCQA_READR_MODEL (in the environment) is not a docqa setting and is ignored; "
        "did you mean DOCQA_READER_MODEL?",
        "docqa: warning: DOCQA_STOREE (in .env) is not a docqa setting and is ignored; did you mean DOCQA_STORE?",
    ]
    assert result.stdout.startswith("store: embedded store"), "the misspelled DOCQA_STOREE chose nothing"


def test_output_closed_early_ends_quietly(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCQA_")}
    env.update(DOCQA_STORE_PATH=str(tmp_path / "none"), DOCQA_DEVICE="cpu")
    process = subprocess.Popen(
        [sys.executable, "-m", "docqa", "status", "--files"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.close()  # as `docqa status | head -0` would
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 141
    assert stderr == ""


@pytest.mark.parametrize("command", [["ask", "Who?"], ["status"], ["batch", "QUESTIONS"]])
def test_a_pipeline_that_is_not_a_query_pipeline_is_one_line_and_exit_2(command, tmp_path):
    questions = tmp_path / "questions.txt"
    questions.write_text("Who?\n")
    command = [str(questions) if part == "QUESTIONS" else part for part in command]
    result = run_docqa(*command, "--pipeline", "pipelines/indexing.yml")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("docqa: pipeline pipelines/indexing.yml: not a query pipeline")
    assert result.stderr.count("\n") == 1


def test_batch_output_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    questions = tmp_path / "questions.csv"
    questions.write_text("question\nWho?\n")
    cases = {
        str(tmp_path): f"docqa: --out {tmp_path} is a folder; name a file in it, e.g. {tmp_path / 'answers.csv'}",
        str(tmp_path / "no" / "answers.csv"): f"docqa: {tmp_path / 'no'}: is not an existing folder",
        str(questions): f"docqa: --out {questions} is the question file itself",
    }
    for out, message in cases.items():
        result = run_docqa("batch", str(questions), "--out", out, "--format", "csv")
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
    assert questions.read_text() == "question\nWho?\n"
    home = run_docqa("batch", str(questions), "--out", "~/no-such-folder-for-docqa/a.csv", env=None)
    assert home.returncode == 2
    assert home.stderr.startswith(f"docqa: {Path.home() / 'no-such-folder-for-docqa'}: is not an existing folder")
    mismatch = run_docqa("batch", str(questions), "--out", str(tmp_path / "a.jsonl"), "--format", "csv")
    assert mismatch.returncode == 2
    assert mismatch.stderr.startswith(f"docqa: --format csv does not match --out {tmp_path / 'a.jsonl'}")
    folder = run_docqa("batch", str(questions), "--out", str(tmp_path))
    assert folder.returncode == 2 and folder.stderr.startswith(f"docqa: --out {tmp_path} is a folder;"), folder.stderr


def test_ctrl_c_while_the_libraries_load_is_one_line(tmp_path):
    import os
    import signal
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCQA_")}
    env.update(DOCQA_STORE_PATH=str(tmp_path / "none"), DOCQA_DEVICE="cpu")
    process = subprocess.Popen(
        [sys.executable, "-m", "docqa", "ask", "Who?"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == -signal.SIGINT, stderr
    assert stderr == "docqa: interrupted\n"
