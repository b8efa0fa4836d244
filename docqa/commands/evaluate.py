"""``docqa evaluate DATA.json``: SQuAD v2.0 figures of the reader alone or of the whole query pipeline."""

import argparse
import math
import sys

from docqa.errors import UsageError
from docqa.evaluation.squad_data import load_squad, print_warnings
from docqa.paths import QUERY_PIPELINE

NAME = "evaluate"
HELP = "Evaluate the reader (each question on its own paragraph) or the whole query pipeline on SQuAD v2.0 data."
#: The default of ``--top-k``: the largest k of ``docqa.evaluation.evaluate.RECALL_AT`` (kept here so that the parser
#: does not import Haystack; a test checks that the two agree).
TOP_K = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``docqa evaluate``."""
    parser.add_argument("data", help="SQuAD v2.0 JSON file (questions with gold answers)")
    parser.add_argument(
        "--mode",
        choices=("reader", "pipeline"),
        default="reader",
        help="reader: each question read against its own paragraph (the model card's setting); pipeline: index "
        "the paragraphs into a fresh embedded store and run every question through the query pipeline",
    )
    parser.add_argument("--pipeline", default=str(QUERY_PIPELINE), help="query pipeline YAML (default %(default)s)")
    parser.add_argument(
        "--out",
        metavar="REPORT.json",
        help="report file; predictions, na-probs and per-question JSONL are written beside it "
        "(default: eval-<mode>.json in the current directory)",
    )
    parser.add_argument("--limit", type=int, metavar="N", help="evaluate only the first N questions")
    parser.add_argument(
        "--threshold",
        type=float,
        metavar="T",
        help="no-answer threshold for the metrics (default: the reader's no_answer_threshold in the pipeline)",
    )
    parser.add_argument(
        "--retrieval-only", action="store_true", help="pipeline mode: skip the reader, report retrieval figures only"
    )
    parser.add_argument(
        "--top-k",
        type=int,
        default=None,
        metavar="K",
        help=f"pipeline mode: passages retrieved per question for recall (default {TOP_K})",
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show progress bars")


def run(args: argparse.Namespace) -> int:
    """Evaluate, write the outputs, print the summary table."""
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    if args.top_k is not None and args.top_k < 1:
        raise UsageError("--top-k must be at least 1")
    if args.retrieval_only and args.mode != "pipeline":
        raise UsageError("--retrieval-only needs --mode pipeline")
    if args.top_k is not None and args.mode != "pipeline":
        raise UsageError("--top-k needs --mode pipeline (the reader mode reads each question's own paragraph)")
    if args.threshold is not None and not math.isfinite(args.threshold):
        raise UsageError(f"--threshold must be a finite number, not {args.threshold}")
    from docqa.evaluation.evaluate import (
        check_outputs,
        checked_query_pipeline,
        evaluate_pipeline,
        evaluate_reader,
        format_summary,
        write_outputs,
    )
    from docqa.pipelines import pipeline_file

    pipeline = str(pipeline_file(args.pipeline))
    out = args.out or f"eval-{args.mode}.json"
    check_outputs(out, [args.data, pipeline])
    dataset = load_squad(args.data).limited(args.limit)
    print_warnings(dataset)
    reader = checked_query_pipeline(pipeline)
    progress = not args.no_progress and sys.stderr.isatty()
    if args.mode == "reader":
        evaluation = evaluate_reader(dataset, reader, args.threshold, progress)
    else:
        evaluation = evaluate_pipeline(
            dataset, pipeline, args.top_k or TOP_K, not args.retrieval_only, args.threshold, progress
        )
    print(format_summary(evaluation))
    paths = write_outputs(evaluation, out)
    print("wrote " + ", ".join(str(path) for path in paths.values()))
    return 0
