"""What a range test's curves suggest (:func:`suggest`, a pure function of the rates and
the per-batch curves), and the result that holds a test's data (:class:`LRRangeTestResult`).
Curves are smoothed without lag (a centered moving average) and read only where its window
is whole (:func:`trusted_window`).

References:
    - Smith, L. N. (2017). Cyclical Learning Rates for Training Neural Networks.
      WACV 2017. https://arxiv.org/abs/1506.01186 (section 3.3, figure 9).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tf_lropt._validation import check_range
from tf_lropt.plot import plot_range_test
from tf_lropt.schedules import CyclicalLearningRate
from tf_lropt.search._common import lower_is_better

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LRRangeTestResult", "LRSuggestion", "centered_moving_average", "suggest",
           "trusted_window"]

_MIN_TRUSTED_BATCHES = 5  # fewer give no suggestion: no rise or slope to read


@dataclasses.dataclass(frozen=True)
class LRSuggestion:
    """Rates suggested by a range test; ``None`` where the curve does not show one.

    Attributes:
        base_lr: Smith's rule: where the monitored metric has made ``rise_start``
            (10 %) of its total improvement, i.e. where it starts to improve.
        max_lr: Smith's rule: where it has made ``rise_stop`` (90 %) of its total
            improvement, i.e. where it stops improving (beyond this it flattens
            or turns ragged).
        steepest: where the smoothed loss falls fastest against ``log(rate)``.
        min_loss_over_10: the rate of the lowest smoothed loss, divided by 10.
        monitor: the metric Smith's rule was applied to.
        rise_unfinished: the monitored metric still improves at the last trusted
            batch, so the test did not reach where it stops: ``max_lr`` is only a
            lower bound; rerun with a higher ``max_lr`` or more batches.

    Suggestions are read only where the smoothed curve averages a whole window
    (see :func:`trusted_window`) and never from partial batches.
    """

    base_lr: float | None
    max_lr: float | None
    steepest: float | None
    min_loss_over_10: float | None
    monitor: str
    rise_unfinished: bool = False


def centered_moving_average(values: Sequence[float], half_window: int) -> np.ndarray:
    """Mean over ``[i - k, i + k]`` with ``k = min(half_window, i, n - 1 - i)``.

    Centered, so the curve does not lag behind the rate: an exponential moving
    average lags about ``1 / (1 - beta)`` batches and would move every suggestion
    to a higher rate. The window shrinks symmetrically at both ends.
    """
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n == 0 or half_window < 1:
        return x.copy()
    cumulative = np.concatenate([[0.0], np.cumsum(x)])
    index = np.arange(n)
    k = np.minimum(half_window, np.minimum(index, n - 1 - index))
    return (cumulative[index + k + 1] - cumulative[index - k]) / (2 * k + 1)


def finite_prefix(curves: Mapping[str, Sequence[float]]) -> int:
    """Number of leading batches before the loss first becomes non-finite."""
    loss = np.asarray(curves.get("loss", ()), dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(loss))
    return int(bad[0]) if bad.size else loss.size


def half_window(smoothing: float, num_finite: int) -> int:
    """The moving average's half width: ``0.5 / (1 - smoothing)`` batches, rounded, at
    least 1 (0 without smoothing), and at most a quarter of the finite batches so that
    whole windows remain."""
    wanted = max(1, round(0.5 / (1.0 - smoothing))) if smoothing > 0 else 0
    return min(wanted, max((num_finite - 1) // 4, 0))


def trusted_window(num_finite: int, half: int) -> slice:
    """The batches whose smoothed values average a full window: ``[k, n - 1 - k]``.

    The centered window shrinks at both ends, down to the raw last batch, so
    suggestions are read only where it is whole, for the half window ``k`` and the
    ``n`` batches before the loss stops being finite.
    """
    return slice(half, max(num_finite - half, half))


def log_slope(curve: np.ndarray, rates: np.ndarray, num_finite: int) -> np.ndarray:
    """Derivative of the first ``num_finite`` values of ``curve`` against ``log(rate)``."""
    if num_finite < 2:
        return np.full(num_finite, np.nan)
    return np.gradient(curve[:num_finite], np.log(rates[:num_finite]))


def resolve_monitor(curves: Mapping[str, Any], monitor: str) -> str:
    """``monitor`` checked against the curves; ``"auto"``: the first accuracy, else the loss."""
    if monitor != "auto":
        if monitor not in curves:
            raise ValueError(
                f"Argument `monitor` must name a recorded curve, one of {sorted(curves)}; "
                f"received monitor={monitor!r}."
            )
        return monitor
    return next((name for name in curves if "acc" in name.lower()), "loss")


def _check_rise(rise_start: float, rise_stop: float) -> None:
    check_range("rise_start", rise_start, 0.0, 1.0, low_open=True, high_open=True)
    check_range("rise_stop", rise_stop, rise_start, 1.0, low_open=True)


def suggest(
    rates: Sequence[float],
    curves: Mapping[str, Sequence[float]],
    monitor: str = "auto",
    *,
    smoothing: float = 0.98,
    rise_start: float = 0.1,
    rise_stop: float = 0.9,
) -> LRSuggestion:
    """What a range test's per-batch curves suggest (Smith's rule and two loss rules).

    ``curves`` maps a name (``"loss"``, ``"accuracy"``...) to one value per rate. They are
    smoothed with :func:`centered_moving_average` and read only inside
    :func:`trusted_window`, up to the first non-finite loss. Smith's rule on ``monitor``
    (``"auto"``: an accuracy curve if any, else the loss): from the worst point before the
    best one, ``base_lr`` is the first rate with ``rise_start`` of the improvement made,
    ``max_lr`` the first with ``rise_stop``. On the loss: ``steepest`` is where it falls
    fastest against ``log(rate)`` (up to its minimum: past it the loss diverges, and its
    fall back after a spike is no region to train in) and ``min_loss_over_10`` the rate of
    its minimum divided by 10.
    """
    _check_rise(rise_start, rise_stop)
    monitor = resolve_monitor(curves, monitor)
    rates = np.asarray(rates, dtype=np.float64)
    num_finite = finite_prefix(curves)
    half = half_window(smoothing, num_finite)
    window = trusted_window(num_finite, half)
    if window.stop - window.start < _MIN_TRUSTED_BATCHES:
        return LRSuggestion(None, None, None, None, monitor)
    trusted_rates = rates[window]
    steepest = min_over_10 = base = top = None
    if "loss" in curves:
        smoothed_loss = centered_moving_average(curves["loss"], half)
        loss = smoothed_loss[window]
        lowest = int(np.argmin(loss))
        min_over_10 = float(trusted_rates[lowest] / 10.0)
        slope = log_slope(smoothed_loss, rates, num_finite)[window][: lowest + 1]
        if slope.size >= 2:
            steepest = float(trusted_rates[int(np.nanargmin(slope))])
    curve = centered_moving_average(curves[monitor], half)[window]
    gain = -curve if lower_is_better(monitor) else curve
    peak = int(np.argmax(gain))
    # The baseline is the lowest point before the peak, not the first batch, whose
    # average spans few batches and is noisy.
    start = int(np.argmin(gain[: peak + 1]))
    rise = gain[peak] - gain[start]
    if rise > 0:
        made = gain[start : peak + 1] - gain[start]
        base = float(trusted_rates[start + int(np.argmax(made >= rise_start * rise))])
        top = float(trusted_rates[start + int(np.argmax(made >= rise_stop * rise))])
    return LRSuggestion(base, top, steepest, min_over_10, monitor,
                        rise_unfinished=peak == gain.size - 1)


def drop_partial_batches(
    rates: Sequence[float], curves: Mapping[str, Sequence[float]],
    batch_sizes: Sequence[int] | None,
) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """The rates and curves without the batches smaller than the largest, and their count.

    A partial batch (the end of an epoch) is a noisier sample: 5 examples can show
    accuracy 1.0 and pull every suggestion to the rate it happened to meet.
    """
    rates = np.asarray(rates, dtype=np.float64)
    curves = {name: np.asarray(values, dtype=np.float64) for name, values in curves.items()}
    if batch_sizes is None:
        return rates, curves, 0
    sizes = np.asarray(batch_sizes, dtype=np.int64)
    if sizes.size != rates.size:
        raise ValueError(
            f"Argument `batch_sizes` must have one entry per batch ({rates.size}); "
            f"received {sizes.size} entries."
        )
    keep = sizes == sizes.max(initial=0)
    return rates[keep], {k: v[keep] for k, v in curves.items()}, int(np.count_nonzero(~keep))


class LRRangeTestResult:
    """Curves of one range test and what they suggest.

    Attributes:
        learning_rates: rate of every recorded batch.
        raw: per-batch value of the loss and of every metric, by name.
        smoothed: the same curves, centered moving average (no lag) over about
            ``1 / (1 - smoothing)`` batches.
        mode: ``"linear"`` or ``"exponential"``.
        diverged: whether the test stopped early because the loss diverged.
        monitor: the curve Smith's rule reads (``"auto"`` resolved).
        dropped_partial_batches: batches left out because they were smaller than
            the others (the last of an epoch over arrays); ``batch_sizes`` gives
            each batch's size, ``None`` keeps every batch.
        suggestion: an :class:`LRSuggestion`, from :func:`suggest`.
    """

    def __init__(
        self,
        learning_rates: Sequence[float],
        raw: Mapping[str, Sequence[float]],
        mode: str,
        diverged: bool,
        monitor: str = "auto",
        smoothing: float = 0.98,
        rise_start: float = 0.1,
        rise_stop: float = 0.9,
        batch_sizes: Sequence[int] | None = None,
    ) -> None:
        _check_rise(rise_start, rise_stop)
        self.learning_rates, self.raw, self.dropped_partial_batches = drop_partial_batches(
            learning_rates, raw, batch_sizes)
        self.mode = mode
        self.diverged = diverged
        self.smoothing = smoothing
        self.rise_start, self.rise_stop = rise_start, rise_stop
        self.monitor = resolve_monitor(self.raw, monitor)

    @functools.cached_property
    def _half_window(self) -> int:
        return half_window(self.smoothing, finite_prefix(self.raw))

    @functools.cached_property
    def smoothed(self) -> dict[str, np.ndarray]:
        return {k: centered_moving_average(v, self._half_window) for k, v in self.raw.items()}

    @functools.cached_property
    def suggestion(self) -> LRSuggestion:
        return suggest(self.learning_rates, self.raw, self.monitor, smoothing=self.smoothing,
                       rise_start=self.rise_start, rise_stop=self.rise_stop)

    def slope(self, name: str = "loss") -> np.ndarray:
        """Derivative of a smoothed curve with respect to ``log(rate)``."""
        return log_slope(self.smoothed[name], self.learning_rates, finite_prefix(self.raw))

    def trusted(self) -> slice:
        """The batches whose smoothed values average a full window (:func:`trusted_window`)."""
        return trusted_window(finite_prefix(self.raw), self._half_window)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per batch: step, learning_rate, every raw and smoothed curve."""
        import pandas as pd

        data: dict[str, Any] = {
            "step": np.arange(len(self.learning_rates)),
            "learning_rate": self.learning_rates,
        }
        for name in self.raw:
            data[name] = self.raw[name]
            data[f"{name}_smoothed"] = self.smoothed[name]
        return pd.DataFrame(data)

    def to_csv(self, path: str) -> None:
        """Writes :meth:`to_dataframe` to ``path``."""
        self.to_dataframe().to_csv(path, index=False)

    def to_schedule(self, step_size: int, mode: str = "triangular",
                    **kwargs: Any) -> CyclicalLearningRate:
        """A ``CyclicalLearningRate`` between the suggested ``base_lr`` and ``max_lr``."""
        s = self.suggestion
        if s.base_lr is None or s.max_lr is None or not s.base_lr < s.max_lr:
            raise ValueError(
                f"The range test suggests no usable range on {s.monitor!r} "
                f"(base_lr={s.base_lr}, max_lr={s.max_lr}); widen min_lr/max_lr or train longer."
            )
        return CyclicalLearningRate(s.base_lr, s.max_lr, step_size, mode=mode, **kwargs)

    def plot(self, metrics: Sequence[str] | None = None, ax: Any = None) -> list:
        """Rate on the x axis (log scale in exponential mode), suggestions marked.

        Plots ``loss`` and the monitored metric by default, one panel each, raw
        curves faint and smoothed curves solid (:func:`tf_lropt.plot.plot_range_test`).
        Returns the matplotlib axes.
        """
        return plot_range_test(self, metrics, ax)
