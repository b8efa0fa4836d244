"""
The official SQuAD v2.0 evaluation metrics as pure functions, with the same keys and values as the script.

Answers are normalised (lower case, no punctuation, no articles ``a|an|the``, single spaces); exact match and token
F1 are the maximum over the gold answers; an unanswerable question's only gold answer is ``""`` and the empty
prediction is the no-answer. A question is predicted unanswerable when its na-probability is above the threshold.
One deliberate difference: the official script crashes on a question without a prediction; here it scores 0 at
every threshold (the script of SQuAD v1.1 also counts it as wrong) and callers warn with the count.
"""

import collections
import re
import string
from collections.abc import Iterable, Mapping

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, remove punctuation, articles and extra white space, in the official script's order."""
    text = "".join(char for char in text.lower() if char not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def get_tokens(text: str) -> list[str]:
    """The normalised tokens of an answer; ``[]`` for the empty answer."""
    return normalize_answer(text).split() if text else []


def compute_exact(gold: str, prediction: str) -> int:
    """1 when the normalised answers are equal, else 0."""
    return int(normalize_answer(gold) == normalize_answer(prediction))


def compute_f1(gold: str, prediction: str) -> float:
    """Token F1 of the normalised answers; when either is empty, 1 if both are, else 0."""
    gold_tokens = get_tokens(gold)
    predicted_tokens = get_tokens(prediction)
    if not gold_tokens or not predicted_tokens:
        return int(gold_tokens == predicted_tokens)
    same = sum((collections.Counter(gold_tokens) & collections.Counter(predicted_tokens)).values())
    if same == 0:
        return 0
    precision = same / len(predicted_tokens)
    recall = same / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def gold_answers(answers: Iterable[str]) -> list[str]:
    """The gold answers that survive normalisation, or ``[""]`` when none does (an unanswerable question)."""
    kept = [answer for answer in answers if normalize_answer(answer)]
    return kept or [""]


def raw_scores(gold: Mapping[str, list[str]], predictions: Mapping[str, str]) -> tuple[dict, dict]:
    """
    Exact and F1 per question, before any no-answer threshold; a missing prediction scores 0.

    :param gold: question id -> gold answer texts (empty list for an unanswerable question), in file order.
    :param predictions: question id -> predicted text (``""`` = no answer).
    :returns: ``(exact, f1)``, each question id -> score.
    """
    exact: dict[str, float] = {}
    f1: dict[str, float] = {}
    for qid, answers in gold.items():
        if qid not in predictions:
            exact[qid] = f1[qid] = 0
            continue
        candidates = gold_answers(answers)
        exact[qid] = max(compute_exact(answer, predictions[qid]) for answer in candidates)
        f1[qid] = max(compute_f1(answer, predictions[qid]) for answer in candidates)
    return exact, f1


def apply_no_answer_threshold(
    scores: Mapping[str, float],
    na_probs: Mapping[str, float],
    has_answer: Mapping[str, bool],
    threshold: float,
    predicted: Iterable[str] | None = None,
) -> dict[str, float]:
    """
    Scores after predicting "no answer" for every question whose na-probability is above ``threshold``.

    :param predicted: the ids that have a prediction (all when None); the others keep their score of 0.
    """
    predicted = set(scores if predicted is None else predicted)
    new_scores = {}
    for qid, score in scores.items():
        if qid in predicted and na_probs[qid] > threshold:
            new_scores[qid] = float(not has_answer[qid])
        else:
            new_scores[qid] = score
    return new_scores


def make_eval_dict(exact: Mapping[str, float], f1: Mapping[str, float], qids: list[str] | None = None) -> dict:
    """``{"exact", "f1", "total"}`` in percent over ``qids`` (all questions when None)."""
    qids = list(exact) if not qids else qids
    total = len(qids)
    return {
        "exact": 100.0 * sum(exact[qid] for qid in qids) / total,
        "f1": 100.0 * sum(f1[qid] for qid in qids) / total,
        "total": total,
    }


def find_best_threshold(
    predictions: Mapping[str, str],
    scores: Mapping[str, float],
    na_probs: Mapping[str, float],
    has_answer: Mapping[str, bool],
) -> tuple[float, float]:
    """
    The best score (percent) over all na-probability thresholds and the threshold giving it, as the official script.

    Start from "every question unanswered" (threshold 0.0 reported), then answer the questions one by one in
    ascending na-probability (ties in ``na_probs`` order), keeping the first strict improvement's na-probability.
    """
    cur_score = sum(1 for qid, answerable in has_answer.items() if not answerable and qid in predictions)
    best_score = cur_score
    best_threshold = 0.0
    for qid in sorted(na_probs, key=lambda key: na_probs[key]):
        if qid not in scores or qid not in predictions:
            continue
        if has_answer[qid]:
            diff = scores[qid]
        else:
            diff = -1 if predictions[qid] else 0
        cur_score += diff
        if cur_score > best_score:
            best_score = cur_score
            best_threshold = na_probs[qid]
    return 100.0 * best_score / len(scores), best_threshold


def squad_v2_metrics(
    gold: Mapping[str, list[str]],
    predictions: Mapping[str, str],
    na_probs: Mapping[str, float] | None = None,
    na_prob_thresh: float = 1.0,
) -> dict:
    """
    The official SQuAD v2.0 evaluation.

    :param gold: question id -> gold answer texts (empty list: unanswerable), in file order.
    :param predictions: question id -> predicted text (``""`` = no answer).
    :param na_probs: question id -> na-probability for every predicted question; when given, the result also has
        ``best_exact``, ``best_exact_thresh``, ``best_f1``, ``best_f1_thresh``.
    :param na_prob_thresh: predict "no answer" when the na-probability is above this.
    :returns: the official keys in the official order.
    """
    if not gold:
        raise ValueError("no questions to evaluate")
    has_answer = {qid: bool(answers) for qid, answers in gold.items()}
    probs = na_probs if na_probs is not None else {qid: 0.0 for qid in predictions}
    exact_raw, f1_raw = raw_scores(gold, predictions)
    exact = apply_no_answer_threshold(exact_raw, probs, has_answer, na_prob_thresh, predictions)
    f1 = apply_no_answer_threshold(f1_raw, probs, has_answer, na_prob_thresh, predictions)
    result = make_eval_dict(exact, f1)
    for prefix, qids in (
        ("HasAns", [qid for qid, answerable in has_answer.items() if answerable]),
        ("NoAns", [qid for qid, answerable in has_answer.items() if not answerable]),
    ):
        if qids:
            result.update({f"{prefix}_{key}": value for key, value in make_eval_dict(exact, f1, qids).items()})
    if na_probs is not None:
        result["best_exact"], result["best_exact_thresh"] = find_best_threshold(
            predictions, exact_raw, na_probs, has_answer
        )
        result["best_f1"], result["best_f1_thresh"] = find_best_threshold(predictions, f1_raw, na_probs, has_answer)
    return result


def check_prediction_ids(gold: Mapping[str, object], ids: Iterable[str]) -> tuple[list[str], list[str]]:
    """
    Compare the ids of a predictions (or na-probability) file with the data's.

    :returns: ``(missing, unknown)``: gold ids without an entry (file order) and entries for ids not in the data.
    """
    ids = list(ids)
    present = set(ids)
    return [qid for qid in gold if qid not in present], [qid for qid in ids if qid not in gold]
