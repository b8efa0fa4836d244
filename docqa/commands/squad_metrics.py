"""``docqa squad-metrics DATA.json PREDICTIONS.json``: the official SQuAD v2.0 metrics of a predictions file."""

import argparse
import json
import math
import sys
from pathlib import Path

from docqa.errors import DatasetError, UsageError
from docqa.evaluation.squad_data import (
    SquadDataset,
    check_output_file,
    load_na_probs,
    load_predictions,
    load_squad,
)
from docqa.evaluation.squad_metrics import check_prediction_ids, squad_v2_metrics

NAME = "squad-metrics"
HELP = "Score a predictions file with the official SQuAD v2.0 metrics (exact, f1, HasAns/NoAns, best thresholds)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``docqa squad-metrics``."""
    parser.add_argument("data", help="SQuAD v2.0 JSON file with the gold answers")
    parser.add_argument("predictions", help='JSON object {"question id": "answer text"}, "" for no answer')
    parser.add_argument(
        "--na-prob-file", metavar="F", help='JSON object {"question id": na-probability}; adds best_* thresholds'
    )
    parser.add_argument(
        "--na-prob-thresh",
        type=float,
        default=1.0,
        metavar="T",
        help="predict no answer when the na-probability is above T (default 1.0, as the official script)",
    )
    parser.add_argument("--out", metavar="FILE", help="also write the metrics as JSON to FILE")


def score_files(
    dataset: SquadDataset,
    predictions: dict[str, str],
    predictions_path: str,
    na_probs: dict[str, float] | None = None,
    na_probs_path: str = "",
    na_prob_thresh: float = 1.0,
) -> tuple[dict, int]:
    """
    Check the ids of predictions and na-probabilities against the data, then score.

    :returns: ``(metrics, number of questions without a prediction)``.
    :raises DatasetError: predictions or na-probabilities for ids not in the data, or na-probabilities missing for
        predicted questions.
    """
    gold = {question.id: question.answers for question in dataset.questions}
    missing, unknown = check_prediction_ids(gold, predictions)
    if unknown:
        raise DatasetError(
            predictions_path,
            f"{len(unknown)} prediction(s) for question ids not in {dataset.path}, e.g. {unknown[0]!r}; "
            "score predictions against the data file they were made for",
        )
    if na_probs is not None:
        not_predicted, unknown = check_prediction_ids(predictions, na_probs)
        if unknown:
            raise DatasetError(
                na_probs_path,
                f"{len(unknown)} na-probabilities for question ids without a prediction, e.g. {unknown[0]!r}; "
                "use the na-probability file written with these predictions",
            )
        if not_predicted:
            raise DatasetError(
                na_probs_path,
                f"no na-probability for {len(not_predicted)} predicted question(s), e.g. {not_predicted[0]!r}; "
                "every predicted question needs one",
            )
    return squad_v2_metrics(gold, predictions, na_probs, na_prob_thresh), len(missing)


def run(args: argparse.Namespace) -> int:
    """Load, check, score, print the metrics as JSON."""
    if not math.isfinite(args.na_prob_thresh):
        raise UsageError(f"--na-prob-thresh must be a finite number, not {args.na_prob_thresh}")
    if args.out:
        check_output_file(args.out, [args.data, args.predictions, *([args.na_prob_file] if args.na_prob_file else [])])
    dataset = load_squad(args.data)
    predictions = load_predictions(args.predictions)
    na_probs = load_na_probs(args.na_prob_file) if args.na_prob_file else None
    metrics, missing = score_files(
        dataset, predictions, args.predictions, na_probs, args.na_prob_file or "", args.na_prob_thresh
    )
    if missing:
        print(
            f"docqa: warning: {missing} of {len(dataset.questions)} questions have no prediction in "
            f"{args.predictions}; they count as wrong",
            file=sys.stderr,
        )
    text = json.dumps(metrics, indent=2)
    print(text)
    if args.out:
        try:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        except OSError as error:
            raise UsageError(
                f"--out {args.out}: cannot be written ({error.strerror or error}); the metrics are above"
            ) from error
    return 0
