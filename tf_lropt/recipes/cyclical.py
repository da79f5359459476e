"""Smith's cyclical-learning-rate procedure: range test, bounds, step size, stopping point."""

from __future__ import annotations

from typing import Any

import keras

from tf_lropt import _validation as v
from tf_lropt.callbacks import ScheduleCallback
from tf_lropt.recipes._base import Recipe, steps_per_epoch_of
from tf_lropt.schedules import CYCLICAL_MODES as MODES
from tf_lropt.search.range_test import find_lr

SMITH_STEP_SIZE_EPOCHS = (2, 10)


class CyclicalRecipe(Recipe):
    """Smith's procedure in one call: range test, then a cyclical schedule that ends at a minimum.

    :meth:`find` runs the LR range test (``tf_lropt.search.find_lr``) on the user's compiled
    model and data, the rate rising linearly from ``lr_range[0]`` to ``lr_range[1]`` over
    ``range_test_epochs`` (Smith's method: the test is one rising half cycle); the model's
    weights and optimizer state are restored afterwards. It takes Smith's bounds from the
    monitored curve (accuracy when compiled, else the loss): ``base_lr`` where it has made
    10 % of its improvement ("starts to rise"), ``max_lr`` where it has made 90 % ("stops
    rising or turns ragged"). The half cycle is ``step_size_epochs`` epochs, inside Smith's
    2-10 (by default the longest that fits ``cycles`` full cycles in ``max_epochs``, at least
    2), and training lasts the whole number of cycles that fits ``max_epochs``, so it ends
    with the rate back at ``base_lr``. It returns the schedule and the epochs; drive the
    compiled optimizer with :meth:`callbacks`, or compile a new one with the schedule.

    Smith's CIFAR-10 example: 500 iterations an epoch, step size 2000 (4 epochs), base_lr
    0.001 and max_lr 0.006 read from an 8-epoch range test; 3 cycles do better than fewer,
    4 or more better still; triangular2 reaches the fixed-rate accuracy (81.4 %) in 25,000
    iterations instead of 70,000.

    Args:
        max_epochs: the training budget in epochs, ``>= 4`` (one cycle of 2 + 2 epochs).
        steps_per_epoch: optimizer steps per epoch; or ``num_examples`` and ``batch_size``.
        num_examples, batch_size: for ``steps_per_epoch = ceil(num_examples / batch_size)``;
            ``batch_size`` is also given to the range test for array data.
        step_size_epochs: half-cycle length in epochs, an integer in [2, 10]; ``None``
            chooses it from ``max_epochs`` and ``cycles``.
        cycles: full cycles wanted when choosing the step size, ``>= 1`` (Smith: 4+).
        mode: ``"triangular"``, ``"triangular2"`` (amplitude halved every cycle) or
            ``"exp_range"`` (amplitude ``gamma**iteration``).
        gamma: exp_range's decay per iteration, in ``(0, 1]``; Smith's is 0.99994.
        lr_range: the range test's first and last rate, ``0 < low < high``.
        range_test_epochs: length of the range test; ``None`` uses the step size.
        monitor: curve for the bounds; ``"auto"`` picks an accuracy metric, else the loss.

    References:
        - Smith, L. N. (2017). Cyclical Learning Rates for Training Neural Networks.
          WACV 2017. https://arxiv.org/abs/1506.01186 (sections 3.2-3.3, table 1).
    """

    def __init__(
        self,
        max_epochs: int,
        steps_per_epoch: int | None = None,
        *,
        num_examples: int | None = None,
        batch_size: int | None = None,
        step_size_epochs: int | None = None,
        cycles: int = 4,
        mode: str = "triangular2",
        gamma: float = 0.99994,
        lr_range: tuple[float, float] = (1e-4, 1.0),
        range_test_epochs: int | None = None,
        monitor: str = "auto",
    ):
        low, high = SMITH_STEP_SIZE_EPOCHS
        self.max_epochs = v.check_int("max_epochs", max_epochs, 2 * low)
        self.steps_per_epoch = steps_per_epoch_of(steps_per_epoch, num_examples, batch_size)
        self.batch_size = batch_size
        self.cycles_wanted = v.check_int("cycles", cycles, 1)
        if step_size_epochs is None:
            step_size_epochs = min(high, max(low, max_epochs // (2 * cycles)))
        self.step_size_epochs = v.check_int("step_size_epochs", step_size_epochs, low, high)
        self.cycles = max_epochs // (2 * self.step_size_epochs)
        if self.cycles < 1:
            raise ValueError(
                f"Argument `max_epochs` must hold one cycle of 2 x step_size_epochs = "
                f"{2 * self.step_size_epochs} epochs, i.e. be in [{2 * self.step_size_epochs}, "
                f"inf); received max_epochs={max_epochs!r}."
            )
        self.mode = v.check_choice("mode", mode, MODES)
        self.gamma = v.check_range("gamma", gamma, 0.0, 1.0, low_open=True)
        self.lr_range = v.check_value_range("lr_range", lr_range)
        v.check_positive("lr_range[0]", self.lr_range[0])
        self.range_test_epochs = v.check_int(
            "range_test_epochs",
            self.step_size_epochs if range_test_epochs is None else range_test_epochs, 1)
        self.monitor = monitor
        self.range_test = None
        self.base_lr: float | None = None
        self.max_lr: float | None = None

    @property
    def epochs(self) -> int:
        """Training epochs: whole cycles only, so the run ends at ``base_lr``."""
        return 2 * self.step_size_epochs * self.cycles

    @property
    def step_size(self) -> int:
        """Half-cycle length in optimizer steps."""
        return self.step_size_epochs * self.steps_per_epoch

    def find(self, model: keras.Model, data: Any, *, plot: bool = False, verbose: int = 0,
             **fit_kwargs: Any) -> tuple[keras.optimizers.schedules.LearningRateSchedule, int]:
        """Runs the range test on ``model`` (compiled, float learning rate) and ``data``
        (``(x, y)`` arrays, a ``tf.data.Dataset`` or a ``PyDataset``), restores the model,
        prints the choices and returns ``(schedule, epochs)``. ``plot=True`` shows the test's
        curves with the bounds marked. Other arguments go to ``find_lr`` and ``fit``."""
        low, high = self.lr_range
        result = find_lr(model, data, min_lr=low, max_lr=high,
                         epochs=self.range_test_epochs, mode="linear", monitor=self.monitor,
                         batch_size=self.batch_size, verbose=verbose, **fit_kwargs)
        try:
            result.to_schedule(self.step_size)  # checks that the test found a range
        except ValueError as error:
            raise ValueError(
                f"{error} Here: widen lr_range ({low:g} to {high:g}) or lengthen the test "
                "(range_test_epochs)."
            ) from error
        self.range_test = result
        self.base_lr, self.max_lr = result.suggestion.base_lr, result.suggestion.max_lr
        self.summary()
        if plot:
            self.plot()
            import matplotlib.pyplot as plt

            plt.show()
        return self.schedule(), self.epochs

    def _require_found(self) -> None:
        if self.range_test is None:
            raise RuntimeError("Run `find(model, data)` first: the range test gives the bounds.")

    def schedule(self) -> keras.optimizers.schedules.LearningRateSchedule:
        """The cyclical schedule between the found bounds (a new object each call), built by
        the range test's ``LRRangeTestResult.to_schedule``."""
        self._require_found()
        return self.range_test.to_schedule(
            self.step_size, mode=self.mode, gamma=self.gamma if self.mode == "exp_range" else 1.0)

    def callbacks(self) -> list[keras.callbacks.Callback]:
        """``[ScheduleCallback]`` driving the compiled optimizer's float rate by the schedule."""
        return [ScheduleCallback(self.schedule())]

    def plot(self):
        """The range test's loss and monitored curves with base_lr and max_lr marked."""
        self._require_found()
        return self.range_test.plot()

    def _range_test_length(self) -> str:
        """The test's length: in epochs as asked until it has run, then in the batches it ran
        (``data`` may be one long stream, e.g. several epochs' batches as one epoch)."""
        if self.range_test is None:
            return f"{self.range_test_epochs} epochs"
        result = self.range_test
        ran = len(result.learning_rates) + result.dropped_partial_batches
        return f"{ran} batches" + (" (stopped early: the loss diverged)" if result.diverged else "")

    def describe(self) -> dict[str, Any]:
        return {
            "range_test": (f"{self.lr_range[0]:g} to {self.lr_range[1]:g} linear over "
                           f"{self._range_test_length()}"),
            "monitor": None if self.range_test is None else self.range_test.suggestion.monitor,
            "base_lr": self.base_lr,
            "max_lr": self.max_lr,
            "mode": self.mode,
            "step_size_epochs": self.step_size_epochs,
            "step_size": self.step_size,
            "cycles": self.cycles,
            "epochs": self.epochs,
            "steps_per_epoch": self.steps_per_epoch,
        }
