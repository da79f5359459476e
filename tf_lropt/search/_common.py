"""What the range test and the explorer share: data unpacking, objectives, ranking."""

from __future__ import annotations

import math
from typing import Any

import keras

from tf_lropt._validation import check_choice

DIRECTIONS = ("min", "max")


def split_xy(data: Any) -> tuple[Any, Any]:
    """``(x, y)`` or ``(x,)`` arrays as ``(x, y)``; anything else (a dataset): ``(data, None)``."""
    if isinstance(data, tuple | list) and len(data) in (1, 2):
        return data[0], data[1] if len(data) == 2 else None
    return data, None


def lower_is_better(name: str) -> bool:
    """Whether a metric named ``name`` improves downward (a loss, an error, an NLL)."""
    lowered = name.lower()
    return "loss" in lowered or "error" in lowered or "nll" in lowered


def resolve_direction(objective: str, direction: str) -> str:
    """``"min"`` or ``"max"``; ``"auto"`` reads it from the objective's name."""
    check_choice("direction", direction, (*DIRECTIONS, "auto"))
    if direction == "auto":
        return "min" if lower_is_better(objective) else "max"
    return direction


def check_logged(model: keras.Model, data: Any, name: str, argument: str,
                 batch_size: int | None = None) -> None:
    """Raises ValueError unless training ``model`` on ``data`` logs ``name``.

    One evaluation batch names what training logs (evaluate changes no weights);
    a ``val_`` name is looked up without its prefix.
    """
    x, y = split_xy(data)
    logs = model.evaluate(x, y, batch_size=batch_size, steps=1, verbose=0, return_dict=True)
    base = name[4:] if name.startswith("val_") else name
    if base not in logs:
        produced = sorted(logs) + sorted(f"val_{k}" for k in logs)
        raise ValueError(
            f"Argument `{argument}`={name!r} is not produced by training; the model reports "
            f"{produced}."
        )


def better(a: float, b: float, direction: str) -> bool:
    """Whether score ``a`` beats ``b``; a non-finite score never wins, always loses."""
    if not math.isfinite(a):
        return False
    if not math.isfinite(b):
        return True
    return a < b if direction == "min" else a > b


def best_of(curve: list[float], direction: str) -> tuple[float, int | None]:
    """The best finite value of ``curve`` and its 1-based epoch; ``(nan, None)`` if none."""
    finite = [v for v in curve if math.isfinite(v)]
    if not finite:
        return math.nan, None
    best = (min if direction == "min" else max)(finite)
    return best, curve.index(best) + 1


def rank_key(score: float, rate: float, direction: str) -> tuple[float, float]:
    """Sort key: best score first, non-finite last, ties to the higher rate."""
    sign = 1.0 if direction == "min" else -1.0
    return (sign * score if math.isfinite(score) else math.inf), -rate
