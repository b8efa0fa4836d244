"""
Calibrating the reader's no-answer threshold on labelled data and writing it into a pipeline YAML.

The reader says "no answer" when its gap ``null - best span`` (the na-probability) is above
``no_answer_threshold``; the threshold that maximises F1 is the official script's ``best_f1_thresh``. One
correction: when answering no question at all is best, the official search reports 0.0, which would still answer
every question with a negative gap, so the threshold written is then just below the smallest gap.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docqa.errors import DatasetError, PipelineFileError
from docqa.evaluation.evaluate import (
    Evaluation,
    evaluate_reader,
    read_pipeline_yaml,
    reader_component_name,
    reader_from_yaml,
)
from docqa.evaluation.squad_data import SquadDataset
from docqa.evaluation.squad_metrics import squad_v2_metrics

PARAMETER = "no_answer_threshold"


@dataclass
class Calibration:
    """Figures before and after moving the threshold."""

    before_threshold: float
    after_threshold: float
    official_best_f1_thresh: float
    before: dict[str, Any]
    after: dict[str, Any]


def choose_threshold(evaluation: Evaluation) -> Calibration:
    """
    The F1-maximising threshold for an evaluation with every question's best span and gap.

    :returns: the figures at the evaluation's threshold and at the chosen one.
    """
    gold = {result.id: result.gold for result in evaluation.results}
    predictions = evaluation.predictions
    na_probs = evaluation.na_probs
    before = squad_v2_metrics(gold, predictions, na_probs, evaluation.threshold)
    official = before["best_f1_thresh"]
    candidates = [_between_gaps(official, na_probs.values()), min(na_probs.values()) - 1.0]
    scored = [(squad_v2_metrics(gold, predictions, na_probs, value), value) for value in candidates]
    after, threshold = max(scored, key=lambda pair: pair[0]["f1"])
    return Calibration(evaluation.threshold, float(threshold), official, before, after)


def _between_gaps(threshold: float, gaps: Iterable[float]) -> float:
    """
    A threshold with the same decisions as ``threshold`` (a question's own gap, as the official search gives it)
    but away from every gap: halfway to the next larger gap (1.0 above when there is none), so that a question on
    the boundary is not flipped by a rounding difference (another CPU, another precision).
    """
    larger = [gap for gap in gaps if gap > threshold]
    return (threshold + min(larger)) / 2 if larger else threshold + 1.0


def set_threshold_in_yaml(text: str, component: str, value: float, path: str = "<pipeline>") -> str:
    """
    Set ``components.<component>.init_parameters.no_answer_threshold`` in pipeline YAML text, changing nothing else.

    :raises PipelineFileError: when the component's block cannot be found.
    """
    lines = text.splitlines(keepends=True)
    start = _find_block(lines, 0, len(lines), "components", 0, path)
    start = _find_block(lines, start + 1, _block_end(lines, start), component, None, path)
    end = _block_end(lines, start)
    rendered = repr(float(value))
    for index in range(start + 1, end):
        match = re.match(rf"^(\s+){PARAMETER}:\s*([^#\n]*?)(\s*#.*)?(\r?\n)?$", lines[index])
        if match:
            lines[index] = f"{match.group(1)}{PARAMETER}: {rendered}{match.group(3) or ''}{match.group(4) or ''}"
            return "".join(lines)
    params = _find_block(lines, start + 1, end, "init_parameters", None, path, required=False)
    newline = "\r\n" if lines[start].endswith("\r\n") else "\n"
    if params is None:
        indent = _indent(lines[start + 1]) if start + 1 < end else _indent(lines[start]) + 2
        entry = f"{' ' * (indent + 2)}{PARAMETER}: {rendered}{newline}"
        lines.insert(end, f"{' ' * indent}init_parameters:{newline}{entry}")
    else:
        body = [line for line in lines[params + 1 : _block_end(lines, params)] if line.strip()]
        indent = _indent(body[0]) if body else _indent(lines[params]) + 2
        if lines[params].rstrip().endswith("{}"):
            lines[params] = lines[params].replace("{}", "", 1).rstrip() + newline
        lines.insert(params + 1, f"{' ' * indent}{PARAMETER}: {rendered}{newline}")
    return "".join(lines)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: list[str], start: int) -> int:
    """Index after the last line indented deeper than ``lines[start]`` (blank and comment lines included)."""
    indent = _indent(lines[start])
    end = start + 1
    for index in range(start + 1, len(lines)):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            continue
        if _indent(lines[index]) <= indent:
            break
        end = index + 1
    return end


def _find_block(
    lines: list[str], start: int, end: int, key: str, indent: int | None, path: str, required: bool = True
) -> int | None:
    """The index of the line ``key:`` (at ``indent``, or the first indentation found) between start and end."""
    pattern = re.compile(rf"^(\s*)['\"]?{re.escape(key)}['\"]?\s*:")
    for index in range(start, end):
        match = pattern.match(lines[index])
        if match and (indent is None or len(match.group(1)) == indent):
            return index
    if required:
        raise PipelineFileError(path, f"cannot find '{key}:' to write {PARAMETER} into; edit it by hand")
    return None


def write_threshold(path: str | Path, value: float, check_only: bool = False) -> str:
    """
    Write ``value`` as the reader's ``no_answer_threshold`` in the pipeline YAML at ``path``, keeping the rest
    (its line endings too).

    :param check_only: only check that the edit can be made (before a long calibration), write nothing.

    :returns: the reader component's name.
    :raises PipelineFileError: when the file has no reader or the edit does not read back as intended.
    """
    import yaml

    path = Path(path)
    component = reader_component_name(read_pipeline_yaml(path), path)
    with path.open(encoding="utf-8", newline="") as handle:
        text = handle.read()
    updated = set_threshold_in_yaml(text, component, value, str(path))
    try:
        written = (yaml.safe_load(updated)["components"][component].get("init_parameters") or {}).get(PARAMETER)
    except (yaml.YAMLError, KeyError, TypeError, AttributeError):
        written = None
    if written != float(value):
        if check_only:
            raise PipelineFileError(
                str(path), f"{PARAMETER} cannot be set safely in this file (use --dry-run and set it by hand)"
            )
        raise PipelineFileError(str(path), f"could not set {PARAMETER} safely; set it to {value} by hand")
    if check_only:
        return component
    try:
        path.write_text(updated, encoding="utf-8", newline="")
    except OSError as error:
        raise PipelineFileError(
            str(path), f"cannot be written ({error.strerror or error}); set {PARAMETER} to {value} by hand"
        ) from error
    return component


def check_calibration_data(dataset: SquadDataset) -> None:
    """
    Check that the questions include both answerable and unanswerable ones, without which no threshold is learnt.

    :raises DatasetError: when they are all of one kind.
    """
    answerable = sum(question.has_answer for question in dataset.questions)
    if answerable in (0, len(dataset.questions)):
        kind = "answerable" if answerable else "unanswerable"
        raise DatasetError(
            dataset.path,
            f"the {len(dataset.questions)} question(s) used are all {kind}; calibrating needs both answerable and "
            "unanswerable questions (use such data, or a larger --limit)",
        )


def calibrate(
    dataset: SquadDataset, pipeline_path: str | Path, write: bool = True, progress: bool = True
) -> tuple[Calibration, Evaluation]:
    """
    Evaluate the pipeline's reader on ``dataset`` (reader mode), choose the F1-best threshold, write it.

    :param write: False only reports what would be written.
    :raises DatasetError: when the questions are not both answerable and unanswerable.
    """
    check_calibration_data(dataset)
    reader = reader_from_yaml(pipeline_path)
    evaluation = evaluate_reader(dataset, reader, progress=progress)
    calibration = choose_threshold(evaluation)
    if write:
        write_threshold(pipeline_path, calibration.after_threshold)
    return calibration, evaluation


def format_calibration(calibration: Calibration) -> str:
    """Before/after table for the terminal."""
    keys = [key for key in ("exact", "f1", "HasAns_f1", "NoAns_f1") if key in calibration.before]
    lines = [
        f"{'':<14}{'before':>10}{'after':>10}",
        f"{'threshold':<14}{calibration.before_threshold:>10.4f}{calibration.after_threshold:>10.4f}",
    ]
    lines.extend(f"{key:<14}{calibration.before[key]:>10.2f}{calibration.after[key]:>10.2f}" for key in keys)
    if calibration.after_threshold != calibration.official_best_f1_thresh:
        lines.append(
            f"(the official best_f1_thresh {calibration.official_best_f1_thresh:g} still answers every question with a "
            "smaller gap; answering none scores higher, so the threshold is set below every gap)"
        )
    return "\n".join(lines)
