"""``python -m docqa``."""

from docqa.cli import command

command()
