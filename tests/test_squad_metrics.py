"""The official SQuAD v2.0 metrics against hand-computed values, and the squad-metrics command's input checks."""

import json

import pytest

from docqa.cli import main
from docqa.errors import DatasetError
from docqa.evaluation.squad_data import load_squad, parse_squad
from docqa.evaluation.squad_metrics import (
    compute_exact,
    compute_f1,
    find_best_threshold,
    gold_answers,
    normalize_answer,
    squad_v2_metrics,
)

pytestmark = pytest.mark.unit


def squad_json(*questions: tuple[str, list[str]]) -> dict:
    """A SQuAD v2.0 document with one paragraph holding the (id, gold answers) questions."""
    context = "Denver Broncos beat the Carolina Panthers at Santa Clara."
    qas = []
    for qid, answers in questions:
        qas.append(
            {
                "id": qid,
                "question": f"question {qid}?",
                "answers": [{"text": text, "answer_start": max(context.find(text), 0)} for text in answers],
                "is_impossible": not answers,
            }
        )
    return {"version": "v2.0", "data": [{"title": "Super Bowl", "paragraphs": [{"context": context, "qas": qas}]}]}


# q1, q2 answerable; q3, q4 unanswerable.
GOLD = {"q1": ["Denver Broncos", "Broncos"], "q2": ["Carolina Panthers"], "q3": [], "q4": []}
# q1 exact (article dropped), q2 F1 4/5 (p 2/3, r 1), q3 right no-answer, q4 wrong answer.
PREDICTIONS = {"q1": "the Broncos", "q2": "Panthers of Carolina", "q3": "", "q4": "Santa Clara"}
NA_PROBS = {"q1": 0.1, "q2": 0.5, "q3": 0.9, "q4": 0.6}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The  Quick, brown-fox!", "quick brownfox"),
        ("an apple a day", "apple day"),
        ("Theater, anthem, THE end.", "theater anthem end"),
        ("  \tNew\nYork  ", "new york"),
        ("the", ""),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_exact_ignores_case_punctuation_and_articles():
    assert compute_exact("The Broncos!", "broncos") == 1
    assert compute_exact("Broncos", "Denver Broncos") == 0
    assert compute_exact("", "") == 1
    assert compute_exact("", "the") == 1


def test_f1_partial_overlap_and_repeated_tokens():
    assert compute_f1("the cat sat on the mat", "cat on mat") == pytest.approx(6 / 7, abs=1e-15)
    # common = min counts: y twice; precision 2/4, recall 2/3
    assert compute_f1("x y y", "y y y z") == pytest.approx(4 / 7, abs=1e-15)
    assert compute_f1("Denver Broncos", "Carolina Panthers") == 0


def test_f1_empty_gold_and_prediction():
    assert compute_f1("", "") == 1
    assert compute_f1("", "Broncos") == 0
    assert compute_f1("Broncos", "") == 0
    assert compute_f1("Broncos", "a the") == 0


def test_gold_answers_drop_answers_that_normalise_to_nothing():
    assert gold_answers([]) == [""]
    assert gold_answers(["The", "!"]) == [""]
    assert gold_answers(["the", "Broncos"]) == ["Broncos"]


def test_metrics_without_na_probs():
    metrics = squad_v2_metrics(GOLD, PREDICTIONS)
    assert list(metrics) == [
        "exact", "f1", "total", "HasAns_exact", "HasAns_f1", "HasAns_total", "NoAns_exact", "NoAns_f1", "NoAns_total",
    ]  # fmt: skip
    assert metrics["exact"] == 50.0
    assert metrics["f1"] == pytest.approx(100 * (1 + 4 / 5 + 1 + 0) / 4, abs=1e-12)
    assert metrics["total"] == 4
    assert metrics["HasAns_exact"] == 50.0
    assert metrics["HasAns_f1"] == pytest.approx(90.0, abs=1e-12)
    assert metrics["HasAns_total"] == 2
    assert (metrics["NoAns_exact"], metrics["NoAns_f1"], metrics["NoAns_total"]) == (50.0, 50.0, 2)


def test_max_over_gold_answers():
    gold = {"q": ["Denver Broncos", "Broncos", "Denver"]}
    assert squad_v2_metrics(gold, {"q": "Broncos team"})["f1"] == pytest.approx(100 * 2 / 3, abs=1e-12)
    assert squad_v2_metrics(gold, {"q": "denver"})["exact"] == 100.0


def test_gold_of_only_articles_is_unanswerable_yet_counted_as_has_answer():
    # As the official script: has_answer comes from the raw answers list, the gold texts from normalisation.
    metrics = squad_v2_metrics({"q": ["The"]}, {"q": ""})
    assert metrics["HasAns_total"] == 1 and metrics["HasAns_exact"] == 100.0
    assert "NoAns_total" not in metrics


def test_best_threshold_search():
    metrics = squad_v2_metrics(GOLD, PREDICTIONS, NA_PROBS)
    # Start: all unanswered = 2 right (q3, q4). Ascending na-prob: q1 +1 -> 3 (0.1), q2 +0 / +0.8 (0.5),
    # q4 -1 (0.6), q3 +0 (0.9).
    assert metrics["best_exact"] == 75.0
    assert metrics["best_exact_thresh"] == 0.1
    assert metrics["best_f1"] == pytest.approx(100 * 3.8 / 4, abs=1e-12)
    assert metrics["best_f1_thresh"] == 0.5
    # With na-probs and the default threshold 1.0 nothing is switched to no-answer.
    assert metrics["exact"] == 50.0


def test_na_prob_threshold_switches_questions_to_no_answer():
    metrics = squad_v2_metrics(GOLD, PREDICTIONS, NA_PROBS, na_prob_thresh=0.55)
    # q4 (0.6) and q3 (0.9) are above 0.55: both become correct no-answers; q1, q2 keep their answers.
    assert metrics["exact"] == 75.0
    assert metrics["f1"] == pytest.approx(100 * 3.8 / 4, abs=1e-12)
    assert (metrics["NoAns_exact"], metrics["NoAns_f1"]) == (100.0, 100.0)
    assert metrics["HasAns_f1"] == pytest.approx(90.0, abs=1e-12)
    # A question whose na-prob equals the threshold is answered (the rule is strictly above).
    assert squad_v2_metrics(GOLD, PREDICTIONS, NA_PROBS, na_prob_thresh=0.6)["NoAns_exact"] == 50.0
    # Switching an answerable question to no-answer makes it wrong.
    assert squad_v2_metrics(GOLD, PREDICTIONS, NA_PROBS, na_prob_thresh=0.0)["HasAns_exact"] == 0.0


def test_best_threshold_ties_follow_na_prob_order():
    gold = {"right": ["Broncos"], "wrong": []}
    predictions = {"right": "Broncos", "wrong": "Panthers"}
    has_answer = {"right": True, "wrong": False}
    scores = {"right": 1, "wrong": 0}
    # Equal na-probs: the official search walks them in the file's order, keeping only strict improvements.
    assert find_best_threshold(predictions, scores, {"right": 0.5, "wrong": 0.5}, has_answer) == (100.0, 0.5)
    assert find_best_threshold(predictions, scores, {"wrong": 0.5, "right": 0.5}, has_answer) == (50.0, 0.0)
    assert squad_v2_metrics(gold, predictions, {"wrong": 0.5, "right": 0.5})["best_exact_thresh"] == 0.0


def test_best_threshold_is_zero_when_answering_never_helps():
    gold = {"a": ["Broncos"], "b": [], "c": []}
    predictions = {"a": "Panthers", "b": "x", "c": ""}
    metrics = squad_v2_metrics(gold, predictions, {"a": -3.0, "b": -1.0, "c": 2.0})
    assert (metrics["best_exact"], metrics["best_exact_thresh"]) == (pytest.approx(200 / 3, abs=1e-12), 0.0)
    assert (metrics["best_f1"], metrics["best_f1_thresh"]) == (pytest.approx(200 / 3, abs=1e-12), 0.0)


def test_missing_prediction_counts_as_wrong_at_every_threshold():
    predictions = {"q1": "Broncos", "q2": "Carolina Panthers"}
    metrics = squad_v2_metrics(GOLD, predictions, {"q1": 0.0, "q2": 5.0})
    assert metrics["total"] == 4
    # q2's na-prob 5.0 is above the default threshold 1.0: no answer, wrong; q3, q4 have no prediction: wrong.
    assert metrics["exact"] == 25.0
    assert metrics["NoAns_exact"] == 0.0
    # Start at 0 (q3, q4 are not counted as right no-answers), q1 +1 at 0.0, q2 +1 at 5.0.
    assert (metrics["best_exact"], metrics["best_exact_thresh"]) == (50.0, 5.0)
    assert (metrics["best_f1"], metrics["best_f1_thresh"]) == (50.0, 5.0)


# --- files and the command ---------------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path):
    data = tmp_path / "data.json"
    data.write_text(json.dumps(squad_json(*GOLD.items())))
    predictions = tmp_path / "predictions.json"
    predictions.write_text(json.dumps(PREDICTIONS))
    na_probs = tmp_path / "na_probs.json"
    na_probs.write_text(json.dumps(NA_PROBS))
    return data, predictions, na_probs


def test_command_prints_and_writes_official_metrics(files, tmp_path, capsys):
    data, predictions, na_probs = files
    out = tmp_path / "metrics.json"
    assert main(["squad-metrics", str(data), str(predictions), "--na-prob-file", str(na_probs), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert printed == squad_v2_metrics(GOLD, PREDICTIONS, NA_PROBS)
    assert printed["best_f1_thresh"] == 0.5


def test_command_threshold_option(files, capsys):
    data, predictions, na_probs = files
    args = ["squad-metrics", str(data), str(predictions), "--na-prob-file", str(na_probs), "--na-prob-thresh", "0.55"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["exact"] == 75.0


def test_command_warns_about_missing_predictions(files, capsys):
    data, predictions, _ = files
    predictions.write_text(json.dumps({"q1": "Broncos"}))
    assert main(["squad-metrics", str(data), str(predictions)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["exact"] == 25.0
    assert "3 of 4 questions have no prediction" in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_command_rejects_predictions_for_unknown_ids(files, capsys):
    data, predictions, _ = files
    predictions.write_text(json.dumps({**PREDICTIONS, "zz9": "x", "zz8": "y"}))
    line = one_line_error(capsys, ["squad-metrics", str(data), str(predictions)])
    assert "2 prediction(s) for question ids not in" in line and "'zz9'" in line


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("  \n", "the file is empty"),
        ("[1, 2]", "not a JSON array"),
        ('{"q1": 3}', "the value for 'q1' is 3"),
        ("{not json", "not valid JSON"),
    ],
)
def test_command_rejects_bad_predictions_file(files, capsys, content, message):
    data, predictions, _ = files
    predictions.write_text(content)
    assert message in one_line_error(capsys, ["squad-metrics", str(data), str(predictions)])


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"version": "v1"}, "not SQuAD format (no top-level 'data' list)"),
        ([{"question": "?"}], "not SQuAD format"),
        ({"data": [{"title": "x"}]}, "data[0] has no 'paragraphs' list"),
        ({"data": [{"paragraphs": [{"qas": []}]}]}, "data[0].paragraphs[0] has no 'context' string"),
        ({"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "q1", "question": "?"}]}]}]}, "'answers' list"),
        ({"data": []}, "holds no questions"),
    ],
)
def test_command_rejects_data_that_is_not_squad(files, capsys, document, message):
    data, predictions, _ = files
    data.write_text(json.dumps(document))
    assert message in one_line_error(capsys, ["squad-metrics", str(data), str(predictions)])


def test_command_rejects_empty_data_file_and_missing_file(files, capsys, tmp_path):
    data, predictions, _ = files
    data.write_text("")
    assert "the file is empty; expected a SQuAD v2.0 JSON file" in one_line_error(
        capsys, ["squad-metrics", str(data), str(predictions)]
    )
    assert "does not exist" in one_line_error(capsys, ["squad-metrics", str(tmp_path / "nope.json"), str(predictions)])


def test_command_checks_na_prob_ids(files, capsys):
    data, predictions, na_probs = files
    na_probs.write_text(json.dumps({"q1": 0.1}))
    line = one_line_error(capsys, ["squad-metrics", str(data), str(predictions), "--na-prob-file", str(na_probs)])
    assert "no na-probability for 3 predicted question(s)" in line
    na_probs.write_text(json.dumps({**NA_PROBS, "zz": 1.0}))
    line = one_line_error(capsys, ["squad-metrics", str(data), str(predictions), "--na-prob-file", str(na_probs)])
    assert "'zz'" in line


def test_duplicate_question_ids_are_rejected():
    with pytest.raises(DatasetError, match="appears twice"):
        parse_squad(squad_json(("q1", ["Broncos"]), ("q1", [])))


def test_load_squad_reads_questions_in_order(files):
    data, _, _ = files
    dataset = load_squad(data)
    assert [question.id for question in dataset.questions] == ["q1", "q2", "q3", "q4"]
    assert [question.has_answer for question in dataset.questions] == [True, True, False, False]
    assert dataset.questions[0].answer_starts == [0, 7]
    assert dataset.limited(3).articles[0]["paragraphs"][0]["qas"][-1]["id"] == "q3"


@pytest.mark.parametrize("start", [None, "abc", "3", 1.5, True])
def test_command_rejects_bad_answer_start(files, capsys, start):
    data, predictions, _ = files
    document = squad_json(*GOLD.items())
    document["data"][0]["paragraphs"][0]["qas"][1]["answers"][0]["answer_start"] = start
    data.write_text(json.dumps(document))
    line = one_line_error(capsys, ["squad-metrics", str(data), str(predictions)])
    assert f"data[0].paragraphs[0].qas[1].answers[0] has answer_start {start!r}" in line


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_command_rejects_non_finite_na_probs(files, capsys, value):
    data, predictions, na_probs = files
    na_probs.write_text(json.dumps(NA_PROBS).replace("0.9", value))
    line = one_line_error(capsys, ["squad-metrics", str(data), str(predictions), "--na-prob-file", str(na_probs)])
    assert "the value for 'q3' is" in line and "must be finite numbers" in line


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_command_rejects_non_finite_threshold(files, capsys, value):
    data, predictions, _ = files
    line = one_line_error(capsys, ["squad-metrics", str(data), str(predictions), f"--na-prob-thresh={value}"])
    assert "--na-prob-thresh must be a finite number" in line


def test_command_refuses_an_out_it_cannot_write(files, capsys, tmp_path):
    data, predictions, na_probs = files
    argv = ["squad-metrics", str(data), str(predictions), "--na-prob-file", str(na_probs), "--out"]
    assert "is a directory" in one_line_error(capsys, [*argv, str(tmp_path)])
    assert f"{data} is not a directory" in one_line_error(capsys, [*argv, str(data / "metrics.json")])
    before = [path.read_text() for path in files]
    for path in files:
        assert f"is the input file {path}" in one_line_error(capsys, [*argv, str(path)])
    assert [path.read_text() for path in files] == before


def test_command_out_creates_missing_directories(files, capsys, tmp_path):
    data, predictions, _ = files
    out = tmp_path / "new" / "metrics.json"
    assert main(["squad-metrics", str(data), str(predictions), "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == json.loads(capsys.readouterr().out)


def test_oddities_the_official_script_lets_through_are_counted_as_warnings():
    qas = [
        {"id": "a", "question": "Who?", "answers": [{"text": "Rollo", "answer_start": 0}], "is_impossible": False},
        {"id": "b", "question": "  ", "answers": [{"text": "Rollo", "answer_start": 3}]},
        {"id": "c", "question": "Why?", "answers": [{"text": "Paris", "answer_start": 0}], "is_impossible": "no"},
        {"id": "d", "question": "When?", "answers": [], "is_impossible": True},
    ]
    document = {"data": [{"title": "t", "paragraphs": [{"context": "Rollo led the Normans.", "qas": qas}]}]}
    assert parse_squad(document).warnings == (
        "1 question is empty (read as they are)",
        "2 gold answers are not at the answer_start given in the context (scored by text, as the official script "
        "does; check the offsets)",
        "1 question has an is_impossible that is not true or false",
    )
    document["data"].append({"title": "u", "paragraphs": [{"context": "", "qas": [dict(qas[3], id="e")]}]})
    assert parse_squad(document).warnings[1] == "1 question has an empty context"
    clean = {"data": [{"title": "t", "paragraphs": [{"context": "Rollo led the Normans.", "qas": qas[:1]}]}]}
    assert parse_squad(clean).warnings == ()
