"""Where docqa's pipeline YAML files are; light to import, for the command-line parsers' defaults."""

from pathlib import Path

PIPELINES_DIR = Path(__file__).resolve().parent.parent / "pipelines"
QUERY_PIPELINE = PIPELINES_DIR / "query.yml"
INDEXING_PIPELINE = PIPELINES_DIR / "indexing.yml"
