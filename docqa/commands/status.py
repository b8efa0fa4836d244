"""``docqa status [--files]``: what is indexed and which models answer."""

import argparse

from docqa.settings import get_settings
from docqa.stores import count_passages, describe_store, indexed_files

NAME = "status"
HELP = "Show the document store, how many passages and files it holds, and the models in use."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``docqa status``."""
    parser.add_argument("--files", action="store_true", help="also list the indexed files, one per line")


def run(args: argparse.Namespace) -> int:
    """Print the store's contents and the settings that choose the models; nothing is loaded."""
    settings = get_settings()
    passages, files = count_passages(settings), indexed_files(settings)
    print(f"store: {describe_store(settings)}: {passages} passages from {len(files)} files")
    print(f"embedding model: {settings.embedding_model}")
    print(f"reader model: {settings.reader_model}")
    print(f"device: {settings.device}")
    if args.files:
        print("\n".join(files))
    return 0
