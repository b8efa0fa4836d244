"""Checks of component parameters, so that a bad value in a pipeline YAML is refused when the pipeline loads."""

import math
from typing import Any


def require_count(name: str, value: Any) -> int:
    """
    :returns: ``value``, a whole number >= 1.
    :raises ValueError: naming ``name`` otherwise (``top_k: -5``, ``top_k: "five"``, ``top_k: true``).
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, not {value!r}")
    return value


def require_finite(name: str, value: Any) -> float:
    """
    :returns: ``value``, a finite number.
    :raises ValueError: naming ``name`` otherwise (``"0.5"``, ``null``, ``.inf``).
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return value
