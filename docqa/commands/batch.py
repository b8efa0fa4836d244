"""``docqa batch QUESTIONS``: answer a file of questions, one output row per question."""

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

from docqa.batch import BatchAnswerer, RowWriter, output_record, read_questions
from docqa.commands.ask import add_within_argument
from docqa.errors import BatchStoppedError, DocqaError, UsageError
from docqa.pipelines import QUERY_PIPELINE

NAME = "batch"
HELP = "Answer a file of questions (.csv with a 'question' column, .jsonl or .txt) into CSV or JSON lines."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``docqa batch``."""
    parser.add_argument("questions", help="question file: .csv (question[,id]), .jsonl or .txt")
    parser.add_argument("--out", "-o", help="output file (.csv or .jsonl); standard output when omitted")
    parser.add_argument("--format", choices=["csv", "jsonl"], help="output format (default: from --out, else jsonl)")
    parser.add_argument("--pipeline", default=str(QUERY_PIPELINE), help="query pipeline YAML")
    parser.add_argument("--chunk-size", type=int, default=64, help="questions per reader call (default 64)")
    add_within_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Answer every row, streaming results; exit 1 when some rows failed, 0 when all worked."""
    fmt = args.format or (Path(args.out).suffix.lstrip(".").lower() if args.out else "jsonl")
    if fmt not in ("csv", "jsonl"):
        raise UsageError(f"cannot tell the output format of {args.out}; use --format csv or --format jsonl")
    if args.chunk_size < 1:
        raise UsageError("--chunk-size must be at least 1")
    rows = read_questions(args.questions)
    answerer = BatchAnswerer(args.pipeline, chunk_size=args.chunk_size, within=args.within)
    answerer.check_index()
    started = time.perf_counter()
    done = failed = 0
    handle = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout  # noqa: SIM115
    try:
        writer = RowWriter(handle, fmt)
        progress = tqdm(total=len(rows), unit="question", file=sys.stderr, disable=len(rows) < 20)
        try:
            for row, result, error in answerer.answer(rows):
                done += 1
                failed += bool(error)
                writer.write(output_record(row, result, error))
                progress.update()
        except DocqaError as error:
            if not done:
                raise
            raise BatchStoppedError(done, len(rows), failed, args.out or "the output above", error) from error
        finally:
            progress.close()
    finally:
        if args.out:
            handle.close()
    seconds = time.perf_counter() - started
    print(
        f"docqa batch: {len(rows) - failed} of {len(rows)} questions answered, {failed} failed, {seconds:.1f} s",
        file=sys.stderr,
    )
    return 1 if failed else 0
