"""The LR range test's callback: one rate per batch, the batch's own loss and metrics.

Two details matter in Keras 3:

* The batch logs carry the running mean of each metric since the epoch began,
  not the batch's own value. Read naively, a curve of running means lags behind
  the rate and biases every suggestion toward high rates. The callback resets the
  model's metrics before each batch, so the logs after the batch hold exactly
  that batch's loss and metrics.
* The test trains the user's model. The callback saves the weights, the
  optimizer's variables (moments, iteration counter) and its rate before it
  starts and puts them back afterwards, so the model is untouched.

The rate of each batch comes from ``tf_lropt.schedules._formulas.range_test``, where
every rate of the package is computed.

References:
    - Smith, L. N. (2017). Cyclical Learning Rates for Training Neural Networks.
      WACV 2017. https://arxiv.org/abs/1506.01186 (section 3.3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from tf_lropt._validation import check_choice, check_int, check_positive, check_range
from tf_lropt.callbacks.schedule_callback import check_float_learning_rate
from tf_lropt.schedules import _formulas
from tf_lropt.search.range_test_result import LRRangeTestResult

__all__ = ["MODES", "LRRangeTest", "check_rate_range", "range_test_rate"]

MODES = _formulas.RANGE_TEST_MODES


def range_test_rate(step: int, num_steps: int, min_lr: float, max_lr: float, mode: str) -> float:
    """The rate of batch ``step`` (0-based) of a range test of ``num_steps`` batches.

    ``linear``: ``min_lr + (max_lr - min_lr) * step / (num_steps - 1)``, Smith's
    choice. ``exponential``: ``min_lr * (max_lr / min_lr) ** (step / (num_steps - 1))``,
    equal steps on a log scale, for ranges spanning several decades. The value is the
    float32 rate the optimizer is given, computed by ``_formulas.range_test``.
    """
    rate = _formulas.range_test(step, num_steps, min_lr, max_lr, mode)
    return float(keras.ops.convert_to_numpy(rate))


def check_rate_range(min_lr: float, max_lr: float) -> tuple[float, float]:
    """``(min_lr, max_lr)`` once both are checked ``> 0`` and ``min_lr < max_lr``."""
    low, high = check_positive("min_lr", min_lr), check_positive("max_lr", max_lr)
    if not low < high:
        raise ValueError(
            f"Argument `min_lr` must be smaller than `max_lr`; received min_lr={min_lr!r}, "
            f"max_lr={max_lr!r}."
        )
    return low, high


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
        self.min_lr, self.max_lr = check_rate_range(min_lr, max_lr)
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
        check_float_learning_rate(self.model.optimizer, "LRRangeTest")
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
