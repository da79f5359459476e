"""Plots (matplotlib, imported lazily so the package does not depend on it).

Install the extra: ``pip install tf-lropt[plot]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tf_lropt import _validation as v


def _new_axes(ax: Any = None, figsize: tuple[float, float] = (6.4, 4.0)) -> tuple[Any, Any]:
    """Returns ``(figure, axes)``: ``ax``'s own figure, or a new one.

    matplotlib is imported here, not at package import. A new figure is created
    without pyplot's global state (``matplotlib.figure.Figure``), so plotting works
    headless and leaks no open figures.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "tf_lropt.plot needs matplotlib: pip install 'tf-lropt[plot]'."
        ) from error
    if ax is not None:
        return ax.figure, ax
    figure = Figure(figsize=figsize, layout="constrained")
    return figure, figure.add_subplot()


def schedule_values(schedule: Callable[[Any], Any], steps: int | Sequence[int]) -> np.ndarray:
    """The schedule's rate at each step (``range(steps)`` for an int), as float64."""
    import keras

    if isinstance(steps, int) and not isinstance(steps, bool):
        steps = range(v.check_int("steps", steps, 1))
    step_array = np.asarray(list(steps), dtype="float32")
    rates = schedule(keras.ops.convert_to_tensor(step_array))
    return np.asarray(keras.ops.convert_to_numpy(rates), dtype="float64").reshape(-1)


def plot_schedule(
    schedule: Callable[[Any], Any],
    steps: int | Sequence[int],
    ax: Any = None,
    label: str | None = None,
    log_scale: bool = False,
) -> Any:
    """Draws a learning-rate schedule over ``steps`` and returns the figure.

    ``steps`` is a number of steps (from 0) or a sequence of steps. The schedule
    is evaluated on all of them at once, so any ``keras.ops``-based schedule (all
    of ``tf_lropt.schedules``, Keras' own) works. Pass ``ax`` to draw several
    schedules on one axes, as in Smith's figures of triangular, triangular2 and
    exp_range. Save with ``figure.savefig(path)``.

    References:
        - [Smith, 2017. Cyclical Learning Rates for Training Neural Networks](
          https://arxiv.org/abs/1506.01186), figures of the policies.
    """
    if isinstance(steps, int) and not isinstance(steps, bool):
        step_values = np.arange(v.check_int("steps", steps, 1))
    else:
        step_values = np.asarray(list(steps))
    rates = schedule_values(schedule, step_values.tolist())
    figure, axes = _new_axes(ax)
    axes.plot(step_values, rates, label=label or type(schedule).__name__)
    axes.set_xlabel("iteration")
    axes.set_ylabel("learning rate")
    if log_scale:
        axes.set_yscale("log")
    axes.grid(True, alpha=0.3)
    axes.legend()
    return figure
