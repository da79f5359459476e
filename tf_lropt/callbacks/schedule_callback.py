"""Drive an optimizer's rate (and momentum) from a schedule during ``fit``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from tf_lropt import _validation as v
from tf_lropt.callbacks import _hyperparameters as hp
from tf_lropt.callbacks import _step_logs
from tf_lropt.schedules import Cosine, CyclicalLearningRate, OneCycle

# Momentum at the rate's peak and at its lowest point when cycle_momentum=True,
# the same for every callback (PyTorch's OneCycleLR defaults; its CyclicLR uses 0.8/0.9).
DEFAULT_BASE_MOMENTUM = 0.85
DEFAULT_MAX_MOMENTUM = 0.95

# ScheduleCallback's own keyword arguments, documented once: its docstring and every callback
# twin's fill the placeholder ``{{schedule_callback_keyword_args}}`` with them, the way Keras
# documents its optimizers' shared arguments (``{{base_optimizer_keyword_args}}``).
schedule_callback_keyword_args = """cycle_momentum: cycle momentum / beta_1 inversely to the rate.
        base_momentum: momentum at the rate's peak, in ``(0, 1)``.
        max_momentum: momentum at the rate's lowest point, in ``[base_momentum, 1)``.
        momentum_schedule: explicit ``step -> momentum``; implies cycling.
        verbose: print the rate at each epoch start when ``> 0``."""


def current_step(optimizer: Any) -> int:
    """The optimizer's update count (micro-batches // gradient_accumulation_steps)."""
    return int(keras.ops.convert_to_numpy(optimizer.iterations))


def check_float_learning_rate(optimizer: Any, callback: str) -> None:
    """Raises ValueError where assigning a float rate would fail inside Keras: a
    ``LearningRateSchedule`` (TypeError there) or another callable (AttributeError).

    Keras exposes no public way to tell a scheduled optimizer from a float one
    (``optimizer.learning_rate`` is the schedule's current value), so this reads
    ``_learning_rate``, present in every Keras 3 optimizer.
    """
    rate = getattr(hp.target_optimizer(optimizer), "_learning_rate", None)
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        kind = "a LearningRateSchedule"
    elif callable(rate) and not isinstance(rate, keras.Variable):
        kind = "a callable"
    else:
        kind = None
    if kind is not None:
        raise ValueError(
            f"{callback} sets the learning rate every batch, but the optimizer "
            f"{type(optimizer).__name__} was built with learning_rate={rate!r}, {kind}, which "
            "Keras does not let a callback overwrite. Build it with a "
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
    itself would instead see micro-batches.

    ``steps_per_execution=k``: Keras calls the batch hooks once per ``k`` steps, so
    the rate is set once per ``k`` updates (from the step at the start of the
    group) and a cycle shorter than ``k`` steps is lost; ``on_train_begin`` warns.
    Pass the schedule to the optimizer itself where every step must follow it.

    Logging: ``"learning_rate"`` (and the momentum attribute's name when cycled) is
    added to the logs the train step returns, before any callback sees them, so
    History, CSVLogger and TensorBoard (``update_freq="batch"`` or an integer)
    record it wherever this callback is listed. The per-batch value is the rate that
    batch's update used; the epoch value is the last batch's. TensorBoard's own
    ``epoch_learning_rate`` reads ``optimizer.learning_rate`` after the epoch: with
    this callback that is the same last-batch rate, but with a schedule *inside* the
    optimizer it is the schedule at the next step (the first rate of the following
    epoch), one step ahead of ``LearningRateLogger``'s value in History.
    ``self.history`` keeps the per-batch values with ``"iterations"``.

    ``cycle_momentum=True`` cycles SGD's ``momentum`` (or Adam's ``beta_1``)
    inversely to the rate between ``base_momentum`` and ``max_momentum`` (defaults
    ``DEFAULT_BASE_MOMENTUM = 0.85`` and ``DEFAULT_MAX_MOMENTUM = 0.95`` for every
    callback), as PyTorch's ``CyclicLR``/``OneCycleLR`` do; the schedule must provide
    ``momentum_schedule`` (``CyclicalLearningRate``, ``Cosine``, ``OneCycle``), or pass
    any ``momentum_schedule`` callable of the step. The momentum goes through a
    variable the compiled train step reads (see ``_hyperparameters``); it is not
    part of the optimizer's saved variables, and the optimizer's config keeps floats.

    Args:
        schedule: a ``LearningRateSchedule`` or a callable ``step -> rate``.
        {{schedule_callback_keyword_args}}

    The optimizer must be built with a float learning rate (a schedule there
    raises ``ValueError`` at ``on_train_begin``).

    References:
        - Leslie N. Smith, 2017. [Cyclical Learning Rates for Training Neural Networks](
          https://arxiv.org/abs/1506.01186). WACV 2017.
        - Leslie N. Smith, 2018. [A disciplined approach to neural network
          hyper-parameters: Part 1](https://arxiv.org/abs/1803.09820): cyclical momentum.
    """

    def __init__(
        self,
        schedule: Callable[[Any], Any],
        cycle_momentum: bool = False,
        base_momentum: float = DEFAULT_BASE_MOMENTUM,
        max_momentum: float = DEFAULT_MAX_MOMENTUM,
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
        _step_logs.warn_steps_per_execution(self.model, type(self).__name__, "learning rate")
        if self.cycle_momentum:
            self._momentum_attribute = momentum_attribute(optimizer)
            self._momentum_variable, rebound = hp.bind(
                optimizer, self._momentum_attribute, "cycle_momentum"
            )
            if rebound:
                self.model.make_train_function(force=True)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        _step_logs.install(self.model, self, lambda: self._current)
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
        _step_logs.remove(self.model, self)
        if self._momentum_attribute is not None:
            hp.unbind(self.model.optimizer, self._momentum_attribute)
            self._momentum_variable = None


if ScheduleCallback.__doc__:  # None under python -OO
    ScheduleCallback.__doc__ = ScheduleCallback.__doc__.replace(
        "{{schedule_callback_keyword_args}}", schedule_callback_keyword_args
    )
