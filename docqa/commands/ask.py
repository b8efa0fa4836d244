"""``docqa ask [QUESTION]``: the best answer span with its source, or an honest no-answer."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from docqa.errors import EmptyQuestionError, QuestionTooLongError, UsageError
from docqa.paths import QUERY_PIPELINE

if TYPE_CHECKING:
    from docqa.ask import AskResult, QuestionAnswering

NAME = "ask"
HELP = "Answer a question from the indexed documents."
NO_ANSWER_TEXT = "No answer found in the indexed documents."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``docqa ask``."""
    parser.add_argument(
        "question",
        nargs="?",
        help="the question, in plain words; without it, questions are read one per line (typed, or piped in) and "
        "answered as they come, with the models loaded once",
    )
    parser.add_argument(
        "--top-k",
        type=int,
        default=None,
        metavar="N",
        help="answer spans to return (default: the reader's top_k in the pipeline YAML, 3 in docqa's)",
    )
    add_within_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--pipeline", default=str(QUERY_PIPELINE), help="query pipeline YAML")


def add_within_argument(parser: argparse.ArgumentParser) -> None:
    """``--in PATH`` (repeatable): search only the indexed files at or under PATH."""
    parser.add_argument(
        "--in",
        dest="within",
        action="append",
        metavar="PATH",
        help="search only the indexed files at or under this file or folder (repeat for several)",
    )


def highlight(context: str, start: int, end: int, width: int = 160) -> str:
    """The answer inside its passage, marked with » «, cut to about ``width`` characters around it."""
    from docqa.ask import one_line

    left = max(0, start - width // 2)
    right = min(len(context), end + width // 2)
    prefix = "…" if left > 0 else ""
    suffix = "…" if right < len(context) else ""
    snippet = f"{context[left:start]}»{context[start:end]}«{context[end:right]}"
    return prefix + one_line(snippet) + suffix


def format_result(result: AskResult) -> str:
    """Human-readable text of an answer."""
    from docqa.ask import one_line, page_citation, section_citation

    lines = []
    if result.no_answer:
        lines.append(NO_ANSWER_TEXT)
        if result.no_answer_score is not None:
            lines.append(f"  (no-answer confidence {result.no_answer_score:.2f})")
        for rank, span in enumerate(result.answers, start=1):
            label = "Closest span, below the threshold" if rank == 1 else f"#{rank}"
            lines.append(
                f"  {label}: {one_line(span.text)!r} ({span.score:.2f}) in {span.source}"
                f"{page_citation(span.page, span.page_label)}{section_citation(span.section)}"
            )
        return "\n".join(lines)
    for rank, answer in enumerate(result.answers, start=1):
        page = page_citation(answer.page, answer.page_label) + section_citation(answer.section)
        label = "Answer" if rank == 1 else f"  #{rank}"
        lines.append(f"{label}: {one_line(answer.text)}  (score {answer.score:.2f})")
        lines.append(f"    source: {answer.source}{page}")
        lines.append(f"    {highlight(answer.context, answer.start, answer.end)}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Ask one question, or every question read from standard input, and print the answers."""
    if args.top_k is not None and args.top_k < 1:
        raise UsageError("--top-k must be at least 1")
    if args.question is not None and not args.question.strip():
        raise EmptyQuestionError()
    from docqa.ask import QuestionAnswering

    qa = QuestionAnswering(args.pipeline)
    if args.question is not None:
        result = qa.ask(args.question, top_k=args.top_k, within=args.within)
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) if args.json else format_result(result))
        return 0
    return ask_each_line(qa, args.top_k, args.json, args.within)


#: A line that is only one of these ends the questions (piped in, a question may well be a single letter).
QUIT_WORDS = ("quit", "exit")
#: On a terminal the short forms end them too.
TERMINAL_QUIT_WORDS = (*QUIT_WORDS, "q", ":q")


def ask_each_line(qa: QuestionAnswering, top_k: int | None, as_json: bool, within: list[str] | None = None) -> int:
    """
    Answer the questions of standard input, one per line, as they come (a prompt on a terminal, where an empty
    line also quits; piped in, blank lines are skipped). A line that is only ``quit`` or ``exit`` (on a terminal
    also ``q``, :data:`TERMINAL_QUIT_WORDS`) or the end of input ends. A question that cannot be asked (too long) is
    reported and the next one read.

    :returns: 0, or 1 when some question could not be asked.
    """
    from docqa.ask import one_line

    interactive = sys.stdin.isatty()
    if interactive:
        print("Ask a question about your documents; an empty line, quit or Ctrl-D ends.", file=sys.stderr, flush=True)
    failed = 0
    while True:
        try:
            line = input("Question: ") if interactive else sys.stdin.readline()
        except EOFError:
            break
        if not line or line.strip().lower() in (TERMINAL_QUIT_WORDS if interactive else QUIT_WORDS):
            break
        if not line.strip():
            if interactive:
                break
            continue
        try:
            result = qa.ask(line, top_k=top_k, within=within)
        except (EmptyQuestionError, QuestionTooLongError) as error:
            print(f"docqa: {error}", file=sys.stderr, flush=True)
            failed += 1
            continue
        if as_json:
            print(json.dumps(result.to_dict(), ensure_ascii=False), flush=True)
        else:
            echoed = "" if interactive else f"Question: {one_line(line)}\n"
            print(f"{echoed}{format_result(result)}\n", flush=True)
    return 1 if failed else 0
