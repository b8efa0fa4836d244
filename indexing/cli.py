"""``python -m indexing PATH [PATH...] [--recreate] [--pipeline FILE]``: index files and folders."""

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from docqa import __version__
from docqa.cli import OneLineParser, output_closed, quiet_libraries, warn_about_settings
from docqa.errors import DocqaError
from docqa.interrupts import INTERRUPTED, exit_with, interrupts_outside_imports
from docqa.paths import INDEXING_PIPELINE
from indexing.files import SUPPORTED_EXTENSIONS


def program_name() -> str:
    """How the user started the command: ``docqa-index`` (the installed script) or ``python -m indexing``."""
    return "docqa-index" if Path(sys.argv[0]).name == "docqa-index" else "python -m indexing"


def _after_interrupt(args: argparse.Namespace, indexer: Any) -> str:
    """What an interrupted run left in the index, and what to run next."""
    if not getattr(args, "recreate", False):
        return "run the command again to finish (finished files are kept)"
    if indexer is not None and indexer.emptied:
        return (
            "--recreate had emptied the index, which now holds only the files finished since; run the command again "
            "without --recreate to index the rest"
        )
    return "nothing was written and the index was left as it was (--recreate empties it only before the first write)"


#: Past this many files, the line after ``--remove`` names the first ones and counts the rest.
REMOVED_LISTED = 10


def removal_line(removed: dict[str, int]) -> str:
    """``removed N passages of M files: a, b, ...`` for the passages removed per file (a few names for many files)."""
    passages, files = sum(removed.values()), len(removed)
    names = list(removed)[:REMOVED_LISTED]
    more = f" and {files - len(names)} more" if files > len(names) else ""
    counted = f"removed {passages} passage{'s' * (passages != 1)} of {files} file{'s' * (files != 1)}"
    return f"{counted}: {', '.join(names)}{more}"


def quiet_converters() -> None:
    """Leave docqa's converters' warnings (``No text could be extracted from ...``) to the summary, which names each
    file skipped and why."""
    logging.getLogger("indexing.conversion").setLevel(logging.ERROR)


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = OneLineParser(
        prog=program_name(),
        description=(
            f"Index files and folders (recursively) of {', '.join(SUPPORTED_EXTENSIONS)} into the document store "
            "chosen by DOCQA_STORE. Unchanged files are skipped; changed files replace their old passages; files "
            "that were deleted from an indexed folder lose their passages."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to index")
    parser.add_argument("--version", action="version", version=f"docqa {__version__}")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--recreate", action="store_true", help="empty the index before indexing")
    action.add_argument(
        "--remove",
        action="store_true",
        help="remove the passages of these files, or of every file under these folders, instead of indexing "
        "(the files need not exist any more)",
    )
    parser.add_argument("--pipeline", default=None, help=f"indexing pipeline YAML (default: {INDEXING_PIPELINE})")
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show progress")
    progress.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")
    return parser


def main(argv: list[str] | None = None) -> int:
    """
    Run the command; user errors are printed as one line ``indexing: <message>``.

    :returns: 0 when every file given is in the index (indexed or unchanged) or at least one file was indexed,
        1 when nothing could be indexed or a model or store failed, 2 for a wrong command line or path, 130 when
        interrupted.
    """
    args, indexer = None, None

    def interrupted() -> str:
        return f"indexing: interrupted; {_after_interrupt(args, indexer)}"

    try:
        with interrupts_outside_imports(interrupted):
            args = build_parser().parse_args(argv)
            quiet_libraries()
            quiet_converters()
            warn_about_settings("indexing")
            from indexing.run import Indexer

            indexer = Indexer(args.pipeline) if args.pipeline else Indexer()
            if args.remove:
                print(removal_line(indexer.remove(args.paths)))
                return 0
            summary = indexer.run(args.paths, recreate=args.recreate, progress=args.progress)
    except DocqaError as error:
        print(f"indexing: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(interrupted(), file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        return output_closed()
    try:
        print(summary.line())
    except BrokenPipeError:
        return output_closed()
    return summary.exit_code


def command() -> None:
    """The indexing program (``python -m indexing`` and the installed ``docqa-index``)."""
    exit_with(main())
