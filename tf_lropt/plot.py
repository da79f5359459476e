"""Plots (matplotlib, imported lazily so the package does not depend on it).

Install the extra: ``pip install tf-lropt[plot]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tf_lropt import _validation as v


def _new_figure(figsize: tuple[float, float]) -> Any:
    """A matplotlib figure without pyplot's global state (headless, leaks no open figures).

    matplotlib is imported here, not at package import.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "tf_lropt.plot needs matplotlib: pip install 'tf-lropt[plot]'."
        ) from error
    return Figure(figsize=figsize, layout="constrained")


def _new_axes(ax: Any = None, figsize: tuple[float, float] = (6.4, 4.0)) -> tuple[Any, Any]:
    """Returns ``(figure, axes)``: ``ax``'s own figure, or a new one (see ``_new_figure``)."""
    if ax is not None:
        return ax.figure, ax
    figure = _new_figure(figsize)
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


def _new_grid(rows: int, columns: int, figsize: tuple[float, float]) -> list[Any]:
    """A new figure's axes, row-major. Without pyplot's state unless the caller has
    imported pyplot (a notebook, a script that calls ``plt.gcf()``): then pyplot
    holds the figure, so it is shown and ``plt.gcf()`` finds it."""
    import sys

    if "matplotlib.pyplot" in sys.modules:
        figure = sys.modules["matplotlib.pyplot"].figure(figsize=figsize, layout="constrained")
    else:
        figure = _new_figure(figsize)
    return list(figure.subplots(rows, columns, squeeze=False).ravel())


def plot_range_test(result: Any, metrics: Sequence[str] | None = None, ax: Any = None) -> list:
    """An LR range test's curves against the rate, one panel per metric, suggestions marked.

    ``result`` is an ``LRRangeTestResult``. Raw curves are faint, smoothed ones solid;
    the rate axis is logarithmic in exponential mode. Returns the axes.

    References:
        - [Smith, 2017. Cyclical Learning Rates for Training Neural Networks](
          https://arxiv.org/abs/1506.01186), section 3.3, figure 9.
    """
    names = list(metrics) if metrics is not None else list(dict.fromkeys(["loss",
                                                                          result.monitor]))
    if ax is None:
        axes = _new_grid(len(names), 1, (6, 3 * len(names)))
    else:
        axes = list(np.atleast_1d(ax))
    s = result.suggestion
    marks = {"base_lr": (s.base_lr, "tab:green"), "max_lr": (s.max_lr, "tab:red"),
             "steepest": (s.steepest, "tab:purple"), "min/10": (s.min_loss_over_10, "tab:gray")}
    for axis, name in zip(axes, names, strict=False):
        axis.plot(result.learning_rates, result.raw[name], alpha=0.3, color="tab:blue")
        axis.plot(result.learning_rates, result.smoothed[name], color="tab:blue", label=name)
        for label, (rate, color) in marks.items():
            if rate is not None:
                axis.axvline(rate, linestyle="--", color=color, label=f"{label} {rate:.3g}")
        if result.mode == "exponential":
            axis.set_xscale("log")
        axis.set_xlabel("learning rate")
        axis.set_ylabel(name)
        axis.legend(fontsize="small")
    return axes


def plot_exploration(trials: Sequence[dict], objective: str, inverse: bool = True) -> list:
    """Explorer trials' score (``1/score`` with ``inverse``) against rate, one panel per digit.

    ``trials`` are dicts with ``rate``, ``digit`` and ``score``. Returns the axes.

    References:
        - Fujiwara, T. (2023). A program development: anyone can obtain a good
          validation result by this Learning Rate Explorer. (figures of tables 2-4)
    """
    digits = sorted({t["digit"] for t in trials}) or [1]
    axes = _new_grid(1, len(digits), (4.5 * len(digits), 3.5))
    for axis, digit in zip(axes, digits, strict=False):
        part = sorted((t for t in trials if t["digit"] == digit), key=lambda t: -t["rate"])
        scores = np.array([t["score"] for t in part], dtype=float)
        axis.plot([t["rate"] for t in part], 1.0 / scores if inverse else scores, "o-")
        axis.set_title(f"digit {digit}")
        axis.set_xlabel("learning rate")
        axis.set_ylabel(f"1/{objective}" if inverse else objective)
    return axes


def plot_exploitation(history: Sequence[dict], objective: str, ax: Any = None) -> Any:
    """The objective per epoch of an explorer's exploitation, one colour per rate.

    ``history`` holds dicts with ``epoch``, ``rate`` and ``objective``. Returns the axes.
    """
    axis = ax if ax is not None else _new_grid(1, 1, (6, 3.5))[0]
    for rate in dict.fromkeys(h["rate"] for h in history):
        points = [(h["epoch"], h[objective]) for h in history if h["rate"] == rate]
        axis.plot(*zip(*points, strict=True), "o", markersize=3, label=f"lr={rate:g}")
    axis.plot([h["epoch"] for h in history], [h[objective] for h in history],
              color="gray", linewidth=0.8)
    axis.set_xlabel("epoch")
    axis.set_ylabel(objective)
    axis.legend(fontsize="small")
    return axis
