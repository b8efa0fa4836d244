"""Subcommands of ``python -m docqa``; each module has NAME, HELP, ``add_arguments(parser)`` and ``run(args)``."""
