"""``python -m indexing``."""

from indexing.cli import command

command()
