"""``docqa status [--files]``: what is indexed and which models answer."""

import argparse
from pathlib import Path

from docqa.paths import QUERY_PIPELINE

NAME = "status"
HELP = "Show the document store, how many passages and files it holds, and the models in use."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``docqa status``."""
    parser.add_argument("--files", action="store_true", help="also list the indexed files, one per line")
    parser.add_argument("--pipeline", default=str(QUERY_PIPELINE), help="query pipeline YAML (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    """Print the store's contents and the models the query pipeline runs, with device and precision; nothing loads."""
    from docqa.ask import require_documents
    from docqa.errors import EmbeddingModelMismatchError
    from docqa.pipelines import describe_models, load_query_pipeline
    from docqa.settings import get_settings
    from docqa.stores import count_passages, describe_store, indexed_files, indexed_models

    settings = get_settings()
    pipeline = load_query_pipeline(args.pipeline)
    passages, files = count_passages(settings), indexed_files(settings)
    nothing = "" if passages else " (nothing indexed here yet: python -m indexing PATH)"
    print(
        f"store: {describe_store(settings)}: {_counted(passages, 'passage')} from {_counted(len(files), 'file')}"
        f"{nothing}"
    )
    models = indexed_models(settings) if passages else []
    if models:
        print(f"passages embedded with: {', '.join(models)}")
    print("\n".join(describe_models(pipeline)))
    if passages:
        try:
            require_documents(pipeline, settings)
        except EmbeddingModelMismatchError as error:
            print(f"questions are refused: {error}")
    # an Elasticsearch index may hold paths of another machine (compose's /data), so only the embedded store's
    gone = {path for path in files if not Path(path).exists()} if settings.store == "memory" else set()
    if gone:
        print(
            f"{_counted(len(gone), 'indexed file')} no longer on disk (moved or deleted; their passages still answer): "
            "re-index their folder, or python -m indexing --remove PATH"
        )
    if args.files:
        print("\n".join(f"{path}  (not on disk)" if path in gone else path for path in files))
    return 0


def _counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
