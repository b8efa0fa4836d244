"""``python -m docqa``: ask questions, process question files, evaluate and calibrate."""

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from docqa import __version__
from docqa.errors import DocqaError
from docqa.interrupts import INTERRUPTED, exit_with, interrupts_outside_imports

COMMAND_MODULES = ("ask", "batch", "status", "evaluate", "squad_metrics", "calibrate")


class OneLineParser(argparse.ArgumentParser):
    """An argument parser that reports a usage error as one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _command_modules() -> list[ModuleType]:
    modules = []
    for name in COMMAND_MODULES:
        try:
            modules.append(importlib.import_module(f"docqa.commands.{name}"))
        except ModuleNotFoundError as error:
            if error.name != f"docqa.commands.{name}":
                raise
    return modules


def build_parser() -> argparse.ArgumentParser:
    """The parser with every available subcommand."""
    parser = OneLineParser(
        prog="docqa",
        description="Ask questions of the indexed documents, answer question files, evaluate and calibrate the reader.",
    )
    parser.add_argument("--version", action="version", version=f"docqa {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    commands.required = True
    parser.subcommand_parsers = {}  # type: ignore[attr-defined]
    for module in _command_modules():
        sub = commands.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
        parser.subcommand_parsers[module.NAME] = sub  # type: ignore[attr-defined]
    return parser


def quiet_libraries() -> None:
    """Keep library warnings and progress bars off the user's terminal."""
    import os
    import warnings

    warnings.filterwarnings("ignore")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
    for name in (
        "transformers",
        "sentence_transformers",
        "haystack",
        "haystack_integrations",
        "elastic_transport",
        "pypdf",
    ):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:
        pass


def warn_about_settings(prog: str) -> None:
    """
    Print one line per ``.env`` line that is ignored and per ``DOCQA_*`` variable docqa does not read (a misspelled
    setting would be ignored silently), and show the warnings docqa's modules log (a store journal cut short) as
    ``prog: warning: ...`` lines too.
    """
    from docqa.settings import settings_warnings

    for line in settings_warnings():
        print(f"{prog}: warning: {line}", file=sys.stderr)
    logger = logging.getLogger("docqa")
    if not any(isinstance(handler, _WarningLines) for handler in logger.handlers):
        logger.addHandler(_WarningLines(prog))


class _WarningLines(logging.Handler):
    """Logged warnings as ``prog: warning: message`` lines on the standard error of the moment."""

    def __init__(self, prog: str) -> None:
        super().__init__(logging.WARNING)
        self.prog = prog

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(f"{self.prog}: warning: {record.getMessage()}", file=sys.stderr)
        except Exception:
            self.handleError(record)


def run_command(prog: str, handler, args: argparse.Namespace) -> int:
    """Run a command, printing a user error as one line instead of a traceback."""
    try:
        warn_about_settings(prog)
        return int(handler(args) or 0)
    except DocqaError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        return output_closed()


def output_closed() -> int:
    """
    The reader of standard output went away (``docqa status | head``): stop quietly, as ``cat`` does.

    :returns: the exit status of a process ended by SIGPIPE.
    """
    import os

    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 141


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run ``docqa`` with ``argv`` (None: the command line) and return its exit status; Ctrl-C while a library is
    being imported ends the process (:mod:`docqa.interrupts`).
    """
    with interrupts_outside_imports(lambda: "docqa: interrupted"):
        return _main(argv)


def command() -> None:
    """The ``docqa`` program (``python -m docqa`` and the installed script)."""
    exit_with(main())


def _main(argv: Sequence[str] | None) -> int:
    try:
        parser = build_parser()
        if not (sys.argv[1:] if argv is None else argv):
            parser.print_help(sys.stderr)
            return 2
        args, extras = parser.parse_known_args(argv)
        if extras:
            parser.subcommand_parsers[args.command].error(f"unrecognized arguments: {' '.join(extras)}")
        quiet_libraries()
    except KeyboardInterrupt:
        print("docqa: interrupted", file=sys.stderr)
        return INTERRUPTED
    return run_command("docqa", args.handler, args)
