"""Drive an optimizer's rate (and momentum) from a schedule during ``fit``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from tf_lropt import _validation as v
from tf_lropt.callbacks import _hyperparameters as hp
from tf_lropt.schedules import Cosine, CyclicalLearningRate, OneCycle


def current_step(optimizer: Any) -> int:
    """The optimizer's update count (micro-batches // gradient_accumulation_steps)."""
    return int(keras.ops.convert_to_numpy(optimizer.iterations))


def check_float_learning_rate(optimizer: Any, callback: str) -> None:
    """Raises a clear error where Keras would raise a TypeError on assignment."""
    rate = getattr(hp.target_optimizer(optimizer), "_learning_rate", None)
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule) or (
        callable(rate) and not isinstance(rate, keras.Variable)
    ):
        raise ValueError(
            f"{callback} sets the learning rate every batch, but the optimizer "
            f"{type(optimizer).__name__} was built with learning_rate={rate!r}. Build it with a "
            "float learning rate (e.g. learning_rate=0.0) and let the callback drive it, or keep "
            "the schedule in the optimizer and drop the callback."
        )


def momentum_attribute(optimizer: Any) -> str:
    """``momentum`` (SGD, RMSprop) or ``beta_1`` (the Adam family)."""
    target = hp.target_optimizer(optimizer)
    for attribute in ("momentum", "beta_1"):
        value = getattr(target, attribute, None)
        if value is not None and not callable(value):
            if isinstance(value, hp.HyperparameterVariable):
                value = value.structural_value
            if value == 0:
                raise ValueError(
                    f"cycle_momentum needs a momentum buffer, but {type(target).__name__} was "
                    f"built with {attribute}=0. Build it with a non-zero {attribute}."
                )
            return attribute
    raise ValueError(
        f"cycle_momentum needs an optimizer with `momentum` or `beta_1`; "
        f"{type(target).__name__} has neither."
    )


class ScheduleCallback(keras.callbacks.Callback):
    """Sets the optimizer's learning rate from a schedule before every batch.

    The step is ``optimizer.iterations``, the number of optimizer updates done so
    far, so resuming from a checkpoint, ``BackupAndRestore`` or ``initial_epoch``
    continues the cycle where it stopped. Under gradient accumulation
    (``gradient_accumulation_steps=k``) that counter is the number of *updates*, so
    the rate changes every ``k`` micro-batches; a schedule passed to the optimizer
    itself would instead see micro-batches. With ``steps_per_execution=k`` Keras calls
    the batch hooks once per ``k`` steps, so the rate is set once per ``k`` updates
    (from the step at the start of the group); pass the schedule to the optimizer
    itself where every step must follow it.

    ``logs`` receive ``"learning_rate"`` (and the momentum attribute's name when
    cycled) at every batch end and epoch end, so History, CSVLogger and TensorBoard
    record them; ``self.history`` keeps the per-batch values with ``"iterations"``.

    ``cycle_momentum=True`` cycles SGD's ``momentum`` (or Adam's ``beta_1``)
    inversely to the rate between ``base_momentum`` and ``max_momentum``, as
    PyTorch's ``CyclicLR``/``OneCycleLR`` do; the schedule must provide
    ``momentum_schedule`` (``CyclicalLearningRate``, ``Cosine``, ``OneCycle``), or pass
    any ``momentum_schedule`` callable of the step. The momentum goes through a
    variable the compiled train step reads (see ``_hyperparameters``); it is not
    part of the optimizer's saved variables, and the optimizer's config keeps floats.

    Args:
        schedule: a ``LearningRateSchedule`` or a callable ``step -> rate``.
        cycle_momentum: cycle momentum / beta_1 inversely to the rate.
        base_momentum: momentum at the rate's peak, in ``(0, 1)``.
        max_momentum: momentum at the rate's lowest point, in ``[base_momentum, 1)``.
        momentum_schedule: explicit ``step -> momentum``; implies cycling.
        verbose: print the rate at each epoch start when ``> 0``.

    The optimizer must be built with a float learning rate (a schedule there
    raises ``ValueError`` at ``on_train_begin``).

    References:
        - [Smith, 2017. Cyclical Learning Rates for Training Neural Networks](
          https://arxiv.org/abs/1506.01186).
        - [Smith, 2018. A disciplined approach to neural network hyper-parameters](
          https://arxiv.org/abs/1803.09820): cyclical momentum.
    """

    def __init__(
        self,
        schedule: Callable[[Any], Any],
        cycle_momentum: bool = False,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        momentum_schedule: Callable[[Any], Any] | None = None,
        verbose: int = 0,
    ):
        super().__init__()
        if not callable(schedule):
            raise ValueError(
                "Argument `schedule` must be a LearningRateSchedule or a callable of the step; "
                f"received schedule={schedule!r}."
            )
        self.schedule = schedule
        self.base_momentum = v.check_range(
            "base_momentum", base_momentum, 0.0, 1.0, low_open=True, high_open=True
        )
        self.max_momentum = v.check_range(
            "max_momentum", max_momentum, self.base_momentum, 1.0, high_open=True
        )
        if momentum_schedule is None and cycle_momentum:
            if not hasattr(schedule, "momentum_schedule"):
                raise ValueError(
                    f"cycle_momentum=True needs a schedule with `momentum_schedule` "
                    f"({CyclicalLearningRate.__name__}, {Cosine.__name__}, {OneCycle.__name__}); "
                    f"received schedule={schedule!r}. Pass `momentum_schedule=` explicitly."
                )
            momentum_schedule = schedule.momentum_schedule(self.base_momentum, self.max_momentum)
        if momentum_schedule is not None and not callable(momentum_schedule):
            raise ValueError(
                f"Argument `momentum_schedule` must be callable; received {momentum_schedule!r}."
            )
        self.momentum_schedule = momentum_schedule
        self.cycle_momentum = momentum_schedule is not None
        self.verbose = v.check_int("verbose", verbose, 0)
        self.history: dict[str, list[float]] = {}
        self._momentum_attribute: str | None = None
        self._momentum_variable: hp.HyperparameterVariable | None = None
        self._current: dict[str, float] = {}

    def on_train_begin(self, logs: dict | None = None) -> None:
        optimizer = self.model.optimizer
        check_float_learning_rate(optimizer, type(self).__name__)
        if self.cycle_momentum:
            self._momentum_attribute = momentum_attribute(optimizer)
            self._momentum_variable, rebound = hp.bind(
                optimizer, self._momentum_attribute, "cycle_momentum"
            )
            if rebound:
                self.model.make_train_function(force=True)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        optimizer = self.model.optimizer
        step = current_step(optimizer)
        rate = float(keras.ops.convert_to_numpy(self.schedule(step)))
        optimizer.learning_rate = rate
        self._current = {"learning_rate": rate}
        if self._momentum_variable is not None:
            momentum = float(keras.ops.convert_to_numpy(self.momentum_schedule(step)))
            self._momentum_variable.assign(momentum)
            self._current[self._momentum_attribute] = momentum
        self.history.setdefault("iterations", []).append(step)
        for key, value in self._current.items():
            self.history.setdefault(key, []).append(value)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.verbose > 0:
            step = current_step(self.model.optimizer)
            rate = float(keras.ops.convert_to_numpy(self.schedule(step)))
            print(f"\nEpoch {epoch + 1}: {type(self).__name__} learning rate {rate:.6g}.")

    def _log(self, logs: dict | None) -> None:
        if logs is not None:
            logs.update(self._current)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._log(logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._log(logs)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._momentum_attribute is not None:
            hp.unbind(self.model.optimizer, self._momentum_attribute)
            self._momentum_variable = None


class CyclicLR(ScheduleCallback):
    """Callback twin of ``tf_lropt.schedules.CyclicalLearningRate`` (the Kaggle name).

    Builds the same schedule object and drives it with ``ScheduleCallback``;
    see both for the formula, ``cycle_momentum`` and logging.

    References:
        - [Smith, 2017. Cyclical Learning Rates for Training Neural Networks](
          https://arxiv.org/abs/1506.01186).
    """

    def __init__(
        self,
        base_lr: float = 0.001,
        max_lr: float = 0.006,
        step_size: float = 2000,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[Any], Any] | None = None,
        scale_mode: str | None = None,
        shape: str = "triangular",
        step_size_down: float | None = None,
        cycle_momentum: bool = False,
        base_momentum: float = 0.8,
        max_momentum: float = 0.9,
        verbose: int = 0,
    ):
        schedule = CyclicalLearningRate(
            base_lr, max_lr, step_size, mode, gamma, scale_fn, scale_mode, shape, step_size_down
        )
        super().__init__(schedule, cycle_momentum, base_momentum, max_momentum, verbose=verbose)


class CosineAnnealing(ScheduleCallback):
    """Callback twin of ``tf_lropt.schedules.Cosine`` (warm-up, floor, warm restarts).

    Builds the same schedule object and drives it with ``ScheduleCallback``;
    see both for the formula, ``cycle_momentum`` and logging.

    References:
        - Source document 001, equation (17); [Loshchilov & Hutter, 2017. SGDR](
          https://arxiv.org/abs/1608.03983).
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        warmup_steps: int = 0,
        warmup_start_lr: float = 0.0,
        restart_steps: int | None = None,
        restart_mult: float = 1.0,
        restart_decay: float = 1.0,
        cycle_momentum: bool = False,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        verbose: int = 0,
    ):
        schedule = Cosine(
            initial_learning_rate,
            decay_steps,
            alpha,
            warmup_steps,
            warmup_start_lr,
            restart_steps,
            restart_mult,
            restart_decay,
        )
        super().__init__(schedule, cycle_momentum, base_momentum, max_momentum, verbose=verbose)
