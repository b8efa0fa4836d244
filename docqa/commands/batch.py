"""``docqa batch QUESTIONS``: answer a file of questions, one output row per question."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from docqa.commands.ask import add_within_argument
from docqa.errors import BatchInterruptedError, BatchStoppedError, DocqaError, InputPathError, UsageError
from docqa.paths import QUERY_PIPELINE

if TYPE_CHECKING:
    from docqa.batch import RowWriter

NAME = "batch"
HELP = "Answer a file of questions (.csv with a 'question' column, .jsonl or .txt) into CSV or JSON lines."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``docqa batch``."""
    parser.add_argument(
        "questions",
        help="question file: .csv (question[,id]), .jsonl or .txt; - reads one question per line from standard input",
    )
    parser.add_argument("--out", "-o", help="output file (.csv or .jsonl); standard output when omitted")
    parser.add_argument("--format", choices=["csv", "jsonl"], help="output format (default: from --out, else jsonl)")
    parser.add_argument("--pipeline", default=str(QUERY_PIPELINE), help="query pipeline YAML")
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        help="questions per reader call (default: an eighth of the file, 8 to 64, so that progress shows)",
    )
    add_within_argument(parser)
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="always show progress (default: on a terminal, for 20 questions or more)",
    )
    progress.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")


def run(args: argparse.Namespace) -> int:
    """Answer every row, streaming results; exit 1 when some rows failed, 0 when all worked."""
    if args.out:
        check_output_path(args.out, args.questions)
    fmt = output_format(args.out, args.format)
    if args.chunk_size is not None and args.chunk_size < 1:
        raise UsageError("--chunk-size must be at least 1")
    from tqdm import tqdm

    from docqa.batch import BatchAnswerer, output_record, read_questions

    rows = read_questions(args.questions)
    answerer = BatchAnswerer(args.pipeline, chunk_size=args.chunk_size, within=args.within)
    answerer.check_index()
    started = time.perf_counter()
    done = failed = 0
    output = RowOutput(args.out, fmt)
    try:
        # Rows come out a chunk at a time: the bar is drawn at every row (else it shows the chunk's first row until
        # the next chunk) and the time left comes from the average rate since the start, not from the last row's.
        show = args.progress if args.progress is not None else sys.stderr.isatty() and len(rows) >= 20
        progress = tqdm(total=len(rows), unit="question", file=sys.stderr, disable=not show, mininterval=0, smoothing=0)
        try:
            for row, result, error in answerer.answer(rows):
                output.write(output_record(row, result, error))
                done += 1
                failed += bool(error)
                progress.update()
        except DocqaError as error:
            if not done or output.failed:
                raise
            raise BatchStoppedError(done, len(rows), failed, args.out or "the output above", error) from error
        except KeyboardInterrupt:
            if not done or output.failed:
                raise
            raise BatchInterruptedError(done, len(rows), failed, args.out or "the output above") from None
        finally:
            progress.close()
    except BaseException:
        output.close(quiet=True)
        raise
    output.close()
    seconds = time.perf_counter() - started
    print(
        f"docqa batch: {len(rows) - failed} of {len(rows)} questions answered, {failed} failed, {seconds:.1f} s",
        file=sys.stderr,
    )
    return 1 if failed else 0


def output_format(out: str | None, fmt: str | None) -> str:
    """
    The output format: ``fmt``, else from the extension of ``out``, else ``jsonl``.

    :raises UsageError: when neither tells, or they disagree (``--format csv --out answers.jsonl``).
    """
    suffix = Path(out).suffix.lstrip(".").lower() if out else ""
    if fmt and suffix in ("csv", "jsonl") and suffix != fmt:
        raise UsageError(f"--format {fmt} does not match --out {out}; give the file a .{fmt} name or drop --format")
    found = fmt or suffix or ("jsonl" if not out else "")
    if found not in ("csv", "jsonl"):
        raise UsageError(f"cannot tell the output format of {out}; name it .csv or .jsonl, or use --format")
    return found


def check_output_path(out: str, questions: str) -> None:
    """
    Refuse, before any work, an output file that cannot be written or is the question file itself.

    :raises UsageError: when ``out`` is a folder or the question file.
    :raises InputPathError: when its folder does not exist or cannot be written.
    """
    path = Path(out).expanduser()
    if path.is_dir():
        raise UsageError(f"--out {out} is a folder; name a file in it, e.g. {path / 'answers.csv'}")
    if path.exists() and path.resolve() == Path(questions).expanduser().resolve():
        raise UsageError(f"--out {out} is the question file itself; write the answers to another file")
    folder = path.parent
    if not folder.is_dir():
        raise InputPathError(str(folder), "is not an existing folder, so --out cannot be written there")
    if not os.access(path if path.exists() else folder, os.W_OK):
        raise InputPathError(out, "cannot be written (permission denied)")


class RowOutput:
    """
    Output rows written to ``out`` (standard output when None) as they come; the file is opened at the first row,
    so a run that fails before any row leaves an existing file as it was.
    """

    def __init__(self, out: str | None, fmt: str) -> None:
        self.out = out
        self.fmt = fmt
        self.written = 0
        self.failed = False
        self._handle: TextIO | None = None
        self._writer: RowWriter | None = None

    def write(self, record: dict[str, Any]) -> None:
        """
        Write and flush one row.

        :raises InputPathError: when the output cannot be opened or written (a full disk, say), naming the rows
            written before.
        """
        if self._writer is None:
            try:
                path = Path(self.out).expanduser() if self.out else None
                self._handle = open(path, "w", encoding="utf-8", newline="") if path else sys.stdout  # noqa: SIM115
            except OSError as error:
                raise InputPathError(str(self.out), f"cannot be written ({error.strerror or error})") from error
            from docqa.batch import RowWriter

            with self._failures():
                self._writer = RowWriter(self._handle, self.fmt)
        with self._failures():
            self._writer.write(record)
        self.written += 1

    def close(self, quiet: bool = False) -> None:
        """
        Close the file, if one was opened.

        :param quiet: ignore a failure, as after a failed write (another error is being reported).
        :raises InputPathError: when the rows still buffered cannot be written.
        """
        if not self.out or self._handle is None:
            return
        if quiet or self.failed:
            with contextlib.suppress(OSError):
                self._handle.close()
            return
        with self._failures():
            self._handle.close()

    @contextlib.contextmanager
    def _failures(self) -> Iterator[None]:
        """Turn a failed write into one line naming the output, the OS reason and the rows written before."""
        try:
            yield
        except OSError as error:
            if isinstance(error, BrokenPipeError) and not self.out:
                raise
            self.failed = True
            rows = f"{self.written} row{'s' * (self.written != 1)}"
            raise InputPathError(
                self.out or "standard output",
                f"cannot be written ({error.strerror or error}); {rows} written before it failed",
            ) from error
