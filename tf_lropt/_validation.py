"""Argument checks shared by every public constructor.

Each check raises ``ValueError`` naming the argument, the value it got and the
valid range, so that a bad configuration fails at construction time, before any
training starts. Nothing is clamped silently.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any


def _is_real(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"{left}{lo}, {hi}{right}"


def check_range(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Checks that ``value`` is a finite real number inside the interval.

    ``low_open``/``high_open`` exclude the corresponding end point. ``None``
    leaves that side unbounded. Returns the value as a Python float.
    """
    interval = _interval(low, high, low_open, high_open)
    if not _is_real(value) or math.isnan(value) or math.isinf(value):
        raise ValueError(
            f"Argument `{name}` must be a finite number in {interval}; received {name}={value!r}."
        )
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(
            f"Argument `{name}` must be in {interval}; received {name}={value!r}."
        )
    return float(value)


def check_positive(name: str, value: Any) -> float:
    """Checks ``value > 0``."""
    return check_range(name, value, 0.0, None, low_open=True)


def check_non_negative(name: str, value: Any) -> float:
    """Checks ``value >= 0``."""
    return check_range(name, value, 0.0, None)


def check_probability_like(name: str, value: Any) -> float:
    """Checks ``0 <= value < 1`` (decay rates such as beta_1 and beta_2)."""
    return check_range(name, value, 0.0, 1.0, high_open=True)


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """Checks that ``value`` is an integer inside ``[low, high]``."""
    interval = _interval(low, high, False, False)
    if not isinstance(value, Integral) or isinstance(value, bool):
        raise ValueError(
            f"Argument `{name}` must be an integer in {interval}; received {name}={value!r}."
        )
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"Argument `{name}` must be in {interval}; received {name}={value!r}.")
    return int(value)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """Checks that ``value`` is one of ``choices``; the message lists them."""
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(
            f"Argument `{name}` must be one of {valid}; received {name}={value!r}."
        )
    return value


def check_learning_rate(value: Any) -> None:
    """Checks a float learning rate; schedules and callables pass through.

    Keras accepts a float, a ``LearningRateSchedule`` or a callable. Only the
    float form can be checked before training; it must be finite and ``>= 0``.
    """
    if callable(value) or hasattr(value, "get_config"):
        return
    check_non_negative("learning_rate", value)


def check_bool(name: str, value: Any) -> bool:
    """Checks that ``value`` is a bool (flags such as ``amsgrad``)."""
    if not isinstance(value, bool):
        raise ValueError(
            f"Argument `{name}` must be True or False; received {name}={value!r}."
        )
    return value


def check_value_range(name: str, value: Any) -> tuple[float, float]:
    """Checks a ``(low, high)`` pair of finite numbers with ``low < high``."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(
            f"Argument `{name}` must be a pair (low, high) with low < high; "
            f"received {name}={value!r}."
        )
    low = check_range(f"{name}[0]", value[0])
    high = check_range(f"{name}[1]", value[1])
    if low >= high:
        raise ValueError(
            f"Argument `{name}` must be a pair (low, high) with low < high; "
            f"received {name}={value!r}."
        )
    return (low, high)
