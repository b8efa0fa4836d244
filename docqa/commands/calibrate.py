"""``docqa calibrate DATA.json``: set the reader's no-answer threshold to the one that maximises F1 on DATA."""

import argparse
import os
import sys
from pathlib import Path

from docqa.errors import PipelineFileError, UsageError
from docqa.evaluation.squad_data import load_squad, print_warnings
from docqa.paths import QUERY_PIPELINE

NAME = "calibrate"
HELP = "Find the no-answer threshold that maximises F1 on SQuAD v2.0 data and write it into the query pipeline."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``docqa calibrate``."""
    parser.add_argument("data", help="SQuAD v2.0 JSON file with answerable and unanswerable questions")
    parser.add_argument(
        "--pipeline", default=str(QUERY_PIPELINE), help="pipeline YAML whose reader is calibrated (default %(default)s)"
    )
    parser.add_argument("--limit", type=int, metavar="N", help="use only the first N questions")
    parser.add_argument("--dry-run", action="store_true", help="print the figures but do not change the YAML")
    parser.add_argument("--no-progress", action="store_true", help="do not show a progress bar")


def run(args: argparse.Namespace) -> int:
    """Calibrate, print before/after, write."""
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    from docqa.pipelines import pipeline_file

    pipeline = str(pipeline_file(args.pipeline))
    if not args.dry_run and Path(pipeline).is_file() and not os.access(pipeline, os.W_OK):
        raise PipelineFileError(pipeline, "is not writable; make it writable, or use --dry-run")
    from docqa.evaluation.calibrate import calibrate, format_calibration, write_threshold
    from docqa.evaluation.evaluate import checked_query_pipeline

    dataset = load_squad(args.data).limited(args.limit)
    print_warnings(dataset)
    checked_query_pipeline(pipeline)  # a pipeline ask cannot load is refused before any reading
    if not args.dry_run:
        write_threshold(pipeline, 0.0, check_only=True)  # a YAML that cannot be edited is refused before reading
    progress = not args.no_progress and sys.stderr.isatty()
    calibration, evaluation = calibrate(dataset, pipeline, write=False, progress=progress)
    print(f"calibrated on {len(evaluation.results)} questions of {dataset.path}, each read against its own paragraph")
    print(format_calibration(calibration))
    if args.dry_run:
        print(f"dry run: {pipeline} unchanged")
    else:
        write_threshold(pipeline, calibration.after_threshold)
        print(f"wrote no_answer_threshold: {calibration.after_threshold!r} into {pipeline}")
    return 0
