"""The learning-rate range test (Smith, 2017, section 3.3).

Train for a few epochs while the learning rate rises from ``min_lr`` to
``max_lr``, one value per batch, and record the loss and the metrics of every
batch. The rate where accuracy starts to rise is a good lower bound (``base_lr``)
for a cyclical schedule, the rate where it stops rising or turns ragged a good
upper bound (``max_lr``).

Two details matter in Keras 3:

* The batch logs carry the running mean of each metric since the epoch began,
  not the batch's own value. Read naively, a curve of running means lags behind
  the rate and biases every suggestion toward high rates. The callback resets the
  model's metrics before each batch, so the logs after the batch hold exactly
  that batch's loss and metrics.
* The test trains the user's model. The callback saves the weights, the
  optimizer's variables (moments, iteration counter) and its rate before it
  starts and puts them back afterwards, so the model is untouched.

References:
    - Smith, L. N. (2017). Cyclical Learning Rates for Training Neural Networks.
      WACV 2017. https://arxiv.org/abs/1506.01186 (section 3.3, figure 9).
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np

from tf_lropt._validation import check_choice, check_int, check_positive, check_range
from tf_lropt.search._common import check_logged, lower_is_better, split_xy

__all__ = [
    "LRRangeTest",
    "LRRangeTestResult",
    "LRSuggestion",
    "centered_moving_average",
    "find_lr",
    "range_test_rate",
]

MODES = ("linear", "exponential")


def range_test_rate(step: int, num_steps: int, min_lr: float, max_lr: float, mode: str) -> float:
    """The rate of batch ``step`` (0-based) of a range test of ``num_steps`` batches.

    ``linear``: ``min_lr + (max_lr - min_lr) * step / (num_steps - 1)``, Smith's
    choice. ``exponential``: ``min_lr * (max_lr / min_lr) ** (step / (num_steps - 1))``,
    equal steps on a log scale, for ranges spanning several decades.
    """
    fraction = step / max(num_steps - 1, 1)
    if mode == "linear":
        return min_lr + (max_lr - min_lr) * fraction
    return min_lr * (max_lr / min_lr) ** fraction


def _half_window(smoothing: float) -> int:
    return max(1, round(0.5 / (1.0 - smoothing)))


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
    (see :meth:`LRRangeTestResult.trusted`) and never from partial batches.
    """

    base_lr: float | None
    max_lr: float | None
    steepest: float | None
    min_loss_over_10: float | None
    monitor: str
    rise_unfinished: bool = False


class LRRangeTestResult:
    """Curves and suggestions of one range test.

    Attributes:
        learning_rates: rate of every recorded batch.
        raw: per-batch value of the loss and of every metric, by name.
        smoothed: the same curves, centered moving average (no lag) over about
            ``1 / (1 - smoothing)`` batches.
        mode: ``"linear"`` or ``"exponential"``.
        diverged: whether the test stopped early because the loss diverged.
        dropped_partial_batches: batches left out because they were smaller than
            the others (the last of an epoch over arrays); ``batch_sizes`` gives
            each batch's size, ``None`` keeps every batch.
        suggestion: an :class:`LRSuggestion`.
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
        check_range("rise_start", rise_start, 0.0, 1.0, low_open=True, high_open=True)
        check_range("rise_stop", rise_stop, rise_start, 1.0, low_open=True)
        rates = np.asarray(learning_rates, dtype=np.float64)
        curves = {k: np.asarray(v, dtype=np.float64) for k, v in raw.items()}
        # A partial batch (the end of an epoch) is a noisier sample: 5 examples can show
        # accuracy 1.0 and pull every suggestion to the rate it happened to meet.
        keep = np.ones(rates.size, dtype=bool)
        if batch_sizes is not None:
            sizes = np.asarray(batch_sizes, dtype=np.int64)
            if sizes.size != rates.size:
                raise ValueError(
                    f"Argument `batch_sizes` must have one entry per batch ({rates.size}); "
                    f"received {sizes.size} entries."
                )
            if sizes.size:
                keep = sizes == sizes.max()
        self.dropped_partial_batches = int(np.count_nonzero(~keep))
        self.learning_rates = rates[keep]
        self.raw = {k: v[keep] for k, v in curves.items()}
        self.mode = mode
        self.diverged = diverged
        self.smoothing = smoothing
        # A quarter of a short curve at most, so that whole windows remain (see trusted()).
        self._half_window = min(_half_window(smoothing) if smoothing > 0 else 0,
                                max((self._finite_prefix() - 1) // 4, 0))
        self.smoothed = {
            k: centered_moving_average(v, self._half_window) for k, v in self.raw.items()
        }
        self.monitor = self._resolve_monitor(monitor)
        self.suggestion = self._suggest(rise_start, rise_stop)

    def _resolve_monitor(self, monitor: str) -> str:
        if monitor != "auto":
            if monitor not in self.raw:
                raise ValueError(
                    f"Argument `monitor` must name a recorded curve, one of {sorted(self.raw)}; "
                    f"received monitor={monitor!r}."
                )
            return monitor
        for name in self.raw:
            if "acc" in name.lower():
                return name
        return "loss"

    def _finite_prefix(self) -> int:
        """Number of leading batches before the loss first becomes non-finite."""
        loss = self.raw.get("loss", np.zeros(0))
        bad = np.flatnonzero(~np.isfinite(loss))
        return int(bad[0]) if bad.size else len(loss)

    def slope(self, name: str = "loss") -> np.ndarray:
        """Derivative of a smoothed curve with respect to ``log(rate)``."""
        n = self._finite_prefix()
        curve = self.smoothed[name][:n]
        if n < 2:
            return np.full(n, np.nan)
        return np.gradient(curve, np.log(self.learning_rates[:n]))

    def trusted(self) -> slice:
        """The batches whose smoothed values average a full window.

        The centered window shrinks at both ends, down to the raw last batch, so
        suggestions are read only where it is whole: ``[k, n - 1 - k]`` for the
        half window ``k`` and the ``n`` batches before the loss stops being finite.
        """
        n, k = self._finite_prefix(), self._half_window
        return slice(k, max(n - k, k))

    def _suggest(self, rise_start: float, rise_stop: float) -> LRSuggestion:
        window = self.trusted()
        first = window.start
        n = window.stop - first
        rates = self.learning_rates[window]
        steepest = min_over_10 = base = top = None
        unfinished = False
        if n >= 5 and "loss" in self.smoothed:
            loss = self.smoothed["loss"][window]
            lowest = int(np.argmin(loss))
            min_over_10 = float(rates[lowest] / 10.0)
            # Search up to the minimum only: past it the loss diverges and its
            # fall back after a spike is no region to train in.
            slope = self.slope("loss")[window][: lowest + 1]
            if slope.size >= 2:
                steepest = float(rates[int(np.nanargmin(slope))])
        if n >= 5:
            curve = self.smoothed[self.monitor][window]
            gain = -curve if lower_is_better(self.monitor) else curve
            peak = int(np.argmax(gain))
            unfinished = peak == n - 1
            # The baseline is the lowest point before the peak, not the first
            # batch, whose average spans few batches and is noisy.
            start = int(np.argmin(gain[: peak + 1]))
            rise = gain[peak] - gain[start]
            if rise > 0:
                segment = gain[start : peak + 1] - gain[start]
                base = float(rates[start + int(np.argmax(segment >= rise_start * rise))])
                top = float(rates[start + int(np.argmax(segment >= rise_stop * rise))])
        return LRSuggestion(base, top, steepest, min_over_10, self.monitor, unfinished)

    def to_dataframe(self):
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

    def to_schedule(self, step_size: int, mode: str = "triangular", **kwargs: Any):
        """A ``CyclicalLearningRate`` between the suggested ``base_lr`` and ``max_lr``."""
        from tf_lropt.schedules import CyclicalLearningRate

        s = self.suggestion
        if s.base_lr is None or s.max_lr is None or not s.base_lr < s.max_lr:
            raise ValueError(
                f"The range test suggests no usable range on {s.monitor!r} "
                f"(base_lr={s.base_lr}, max_lr={s.max_lr}); widen min_lr/max_lr or train longer."
            )
        return CyclicalLearningRate(s.base_lr, s.max_lr, step_size, mode=mode, **kwargs)

    def plot(self, metrics: Sequence[str] | None = None, ax=None):
        """Rate on the x axis (log scale in exponential mode), suggestions marked.

        Plots ``loss`` and the monitored metric by default, one panel each, raw
        curves faint and smoothed curves solid (:func:`tf_lropt.plot.plot_range_test`).
        Returns the matplotlib axes.
        """
        from tf_lropt import plot

        return plot.plot_range_test(self, metrics, ax)


def _check_rate_range(min_lr: float, max_lr: float) -> tuple[float, float]:
    low, high = check_positive("min_lr", min_lr), check_positive("max_lr", max_lr)
    if not low < high:
        raise ValueError(
            f"Argument `min_lr` must be smaller than `max_lr`; received min_lr={min_lr!r}, "
            f"max_lr={max_lr!r}."
        )
    return low, high


def _innermost_optimizer(optimizer):
    return getattr(optimizer, "inner_optimizer", optimizer)


class LRRangeTest(keras.callbacks.Callback):
    """Callback that raises the rate every batch and records per-batch logs.

    Before each batch it sets the optimizer's rate to
    :func:`range_test_rate` and resets the model's metrics, so the logs after
    the batch are that batch's own loss and metrics (not Keras' running mean).
    It stops training after ``num_steps`` batches, or once the loss is not
    finite or its smoothed value exceeds ``divergence_factor`` times the lowest
    smoothed loss so far. With ``restore=True`` it puts back the weights, the
    optimizer's variables and its rate when training ends.

    Because metrics are reset every batch, the epoch logs other callbacks see
    during the test describe only the last batch. With ``steps_per_execution``
    above 1 one rate covers each group of batches.

    Args:
        min_lr: rate of the first batch, > 0.
        max_lr: rate of the last batch, > ``min_lr``.
        num_steps: batches in the test, >= 2.
        mode: ``"linear"`` (Smith) or ``"exponential"``.
        divergence_factor: stop when the smoothed loss exceeds this multiple of
            its minimum; ``None`` never stops on divergence.
        smoothing: in [0, 1). The divergence check uses an exponential moving
            average with this factor (causal, as it runs during training); the
            result's curves a centered moving average over about
            ``1 / (1 - smoothing)`` batches, which does not lag.
        restore: put the model and optimizer back afterwards.
        epoch_batch_sizes: the size of each batch of an epoch, when known
            (``find_lr`` passes it for arrays); the result then drops the
            partial batches, whose values are noisier than the others.

    References:
        - Smith (2017), Cyclical Learning Rates for Training Neural Networks,
          section 3.3. https://arxiv.org/abs/1506.01186
    """

    def __init__(
        self,
        min_lr: float,
        max_lr: float,
        num_steps: int,
        mode: str = "linear",
        divergence_factor: float | None = 4.0,
        smoothing: float = 0.98,
        restore: bool = True,
        epoch_batch_sizes: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        self.epoch_batch_sizes = None if epoch_batch_sizes is None else list(epoch_batch_sizes)
        self.min_lr, self.max_lr = _check_rate_range(min_lr, max_lr)
        self.num_steps = check_int("num_steps", num_steps, low=2)
        self.mode = check_choice("mode", mode, MODES)
        if divergence_factor is not None:
            check_range("divergence_factor", divergence_factor, 1.0, None, low_open=True)
        self.divergence_factor = divergence_factor
        self.smoothing = check_range("smoothing", smoothing, 0.0, 1.0, high_open=True)
        self.restore = restore
        self._reset_records()

    def _reset_records(self) -> None:
        self.learning_rates: list[float] = []
        self.history: dict[str, list[float]] = {}
        self.batch_indices: list[int] = []
        self.diverged = False
        self._step = 0
        self._average = 0.0
        self._best = math.inf

    def _sync_jax_state(self) -> None:
        # The JAX trainer keeps the state outside the variables during an
        # epoch; writing to variables is only seen after syncing it back.
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()

    def on_train_begin(self, logs=None) -> None:
        self._reset_records()
        optimizer = _innermost_optimizer(self.model.optimizer)
        if isinstance(optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            raise ValueError(
                "LRRangeTest sets the learning rate every batch, but the model's optimizer was "
                "built with a LearningRateSchedule, which Keras does not allow to overwrite. "
                "Compile the model with a float learning rate for the range test."
            )
        if self.model.built and not self.model.optimizer.built:
            # Keras' TensorFlow trainer builds the optimizer at the first step, after this
            # hook; built now, its state (the step counter above all, which schedules read)
            # is saved here and put back at the end like a built optimizer's.
            self.model.optimizer.build(self.model.trainable_variables)
        self._saved_weights = self.model.get_weights()
        self._saved_optimizer = [np.array(v) for v in self.model.optimizer.variables]
        self._saved_rate = float(np.array(self.model.optimizer.learning_rate))

    def on_train_batch_begin(self, batch, logs=None) -> None:
        self._sync_jax_state()
        rate = range_test_rate(self._step, self.num_steps, self.min_lr, self.max_lr, self.mode)
        self.model.optimizer.learning_rate = rate
        self.model.reset_metrics()
        self.learning_rates.append(rate)
        self.batch_indices.append(int(batch))

    def on_train_batch_end(self, batch, logs=None) -> None:
        for name, value in (logs or {}).items():
            array = np.asarray(value)
            if array.ndim == 0:
                self.history.setdefault(name, []).append(float(array))
        self._step += 1
        loss = self.history.get("loss", [math.nan])[-1]
        self._average = self.smoothing * self._average + (1.0 - self.smoothing) * loss
        smoothed = self._average / (1.0 - self.smoothing**self._step)
        self._best = min(self._best, smoothed)
        if not math.isfinite(loss) or (
            self.divergence_factor is not None
            and self._step > 1
            and smoothed > self.divergence_factor * self._best
        ):
            self.diverged = True
            self.model.stop_training = True
        if self._step >= self.num_steps:
            self.model.stop_training = True

    def on_train_end(self, logs=None) -> None:
        if not self.restore:
            return
        self._sync_jax_state()
        self.model.set_weights(self._saved_weights)
        variables = self.model.optimizer.variables
        if len(variables) == len(self._saved_optimizer):
            for variable, value in zip(variables, self._saved_optimizer, strict=True):
                variable.assign(value)
        self.model.optimizer.learning_rate = self._saved_rate
        self.model.reset_metrics()

    def result(self, monitor: str = "auto", **kwargs: Any) -> LRRangeTestResult:
        """The recorded curves as an :class:`LRRangeTestResult`."""
        n = min(len(self.learning_rates), *(len(v) for v in self.history.values()))
        raw = {k: v[:n] for k, v in self.history.items()}
        sizes = self.epoch_batch_sizes
        if sizes is not None:
            kwargs.setdefault("batch_sizes", [sizes[min(b, len(sizes) - 1)]
                                              for b in self.batch_indices[:n]])
        return LRRangeTestResult(
            self.learning_rates[:n],
            raw,
            self.mode,
            self.diverged,
            monitor=monitor,
            smoothing=self.smoothing,
            **kwargs,
        )


def _array_batch_sizes(data: Any, batch_size: int | None) -> list[int] | None:
    """Sizes of the batches of one epoch over ``(x, y)`` arrays; None for other data."""
    if not (isinstance(data, tuple | list) and data):
        return None
    first = data[0]
    while isinstance(first, tuple | list | dict):
        first = next(iter(first.values())) if isinstance(first, dict) else first[0]
    size = batch_size or 32
    full, rest = divmod(len(first), size)
    return [size] * full + ([rest] if rest else [])


def _batches_per_epoch(data: Any, batch_size: int | None) -> int | None:
    sizes = _array_batch_sizes(data, batch_size)
    if sizes is not None:
        return len(sizes)
    if isinstance(data, keras.utils.PyDataset):
        return len(data)
    # A tf.data.Dataset exists only once TensorFlow is imported; never import it here.
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(data, tf.data.Dataset):
        cardinality = int(data.cardinality())
        return cardinality if cardinality > 0 else None
    try:
        return len(data)
    except TypeError:
        return None


def find_lr(
    model: keras.Model,
    data: Any,
    min_lr: float = 1e-7,
    max_lr: float = 1.0,
    epochs: int | None = None,
    steps: int | None = None,
    mode: str = "linear",
    monitor: str = "auto",
    batch_size: int | None = None,
    divergence_factor: float | None = 4.0,
    smoothing: float = 0.98,
    verbose: int = 0,
    **fit_kwargs: Any,
) -> LRRangeTestResult:
    """Runs an LR range test on a compiled model and returns its curves.

    The model's weights, optimizer state and rate are restored afterwards.

    Args:
        model: a compiled Keras model whose optimizer has a float rate.
        data: ``(x, y)`` arrays, a ``tf.data.Dataset`` or a ``PyDataset``.
        min_lr, max_lr: the rate range, ``0 < min_lr < max_lr``.
        epochs: length of the test in epochs (Smith: a few); default 1.
        steps: length in batches instead of ``epochs`` (exclusive with it).
        mode: ``"linear"`` (Smith) or ``"exponential"``.
        monitor: curve for Smith's base/max rule; ``"auto"`` picks an accuracy
            metric if compiled, else the loss.
        batch_size: batch size for array data.
        divergence_factor, smoothing: see :class:`LRRangeTest`.
        verbose: passed to ``fit``.
        **fit_kwargs: passed to ``fit`` (e.g. ``class_weight``).

    Returns:
        An :class:`LRRangeTestResult`.
    """
    _check_rate_range(min_lr, max_lr)
    check_choice("mode", mode, MODES)
    if epochs is not None and steps is not None:
        raise ValueError(
            f"Pass either `epochs` or `steps`, not both; received epochs={epochs!r}, "
            f"steps={steps!r}."
        )
    if steps is not None:
        check_int("steps", steps, low=2)
    if epochs is not None:
        check_int("epochs", epochs, low=1)
    if getattr(model, "optimizer", None) is None:
        raise ValueError("find_lr needs a compiled model: call model.compile(...) first.")

    per_epoch = _batches_per_epoch(data, batch_size)
    if per_epoch is None:
        if steps is None:
            raise ValueError(
                "The number of batches per epoch of `data` is unknown; pass `steps` and a "
                "repeating dataset."
            )
        num_steps, fit_epochs, steps_per_epoch = steps, 1, steps
    else:
        num_steps = steps if steps is not None else per_epoch * (epochs or 1)
        fit_epochs, steps_per_epoch = math.ceil(num_steps / per_epoch), None
    check_int("number of range-test batches", num_steps, low=2)

    callback = LRRangeTest(min_lr, max_lr, num_steps, mode, divergence_factor, smoothing,
                           epoch_batch_sizes=_array_batch_sizes(data, batch_size))
    callbacks = [callback, *fit_kwargs.pop("callbacks", [])]
    x, y = split_xy(data)
    inputs = dict(x=x, y=y, batch_size=batch_size) if isinstance(data, tuple | list) else \
        dict(x=data)
    if monitor != "auto":
        check_logged(model, data, monitor, "monitor", batch_size)  # fails before training
    model.fit(**inputs, epochs=fit_epochs, callbacks=callbacks, verbose=verbose,
              **({} if steps_per_epoch is None else {"steps_per_epoch": steps_per_epoch}),
              **fit_kwargs)
    return callback.result(monitor=monitor)
