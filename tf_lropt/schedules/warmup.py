"""A linear warm-up in front of any learning-rate schedule."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from tf_lropt import _validation as v
from tf_lropt.schedules import _formulas


@keras.saving.register_keras_serializable(package="tf_lropt")
class Warmup(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from ``start_lr`` to ``schedule(0)``, then ``schedule``.

    ``lr(i) = start_lr + (schedule(0) - start_lr) * i / warmup_steps`` for
    ``i < warmup_steps``, then ``schedule(i - warmup_steps)``: the wrapped schedule
    starts from its own step 0 when the warm-up ends, so its cycles and decay keep
    their length.

    Args:
        schedule: any ``LearningRateSchedule`` (serializable for saving).
        warmup_steps: warm-up length in steps, ``>= 1``.
        start_lr: rate at step 0, ``>= 0``.
        name: name of the schedule.

    Argument names:
        ``start_lr`` here and ``Cosine``'s ``warmup_start_lr`` are the same quantity, the
        rate at step 0 of the linear warm-up.

    References:
        - [Goyal et al., 2017. Accurate, Large Minibatch SGD: Training ImageNet in
          1 Hour](https://arxiv.org/abs/1706.02677): gradual linear warm-up.
    """

    def __init__(
        self,
        schedule: keras.optimizers.schedules.LearningRateSchedule,
        warmup_steps: int,
        start_lr: float = 0.0,
        name: str = "Warmup",
    ):
        super().__init__()
        if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            raise ValueError(
                "Argument `schedule` must be a keras.optimizers.schedules.LearningRateSchedule; "
                f"received schedule={schedule!r}."
            )
        self.schedule = schedule
        self.warmup_steps = v.check_int("warmup_steps", warmup_steps, 1)
        self.start_lr = v.check_non_negative("start_lr", start_lr)
        self.name = name

    def __call__(self, step: Any) -> Any:
        i = _formulas.as_float_step(step)
        target = ops.cast(self.schedule(0.0), "float32")
        warm = _formulas.linear_warmup(i, self.warmup_steps, self.start_lr, target)
        after = ops.cast(self.schedule(ops.maximum(i - self.warmup_steps, 0.0)), "float32")
        return ops.where(i < self.warmup_steps, warm, after)

    def get_config(self) -> dict[str, Any]:
        return {
            "schedule": keras.optimizers.schedules.serialize(self.schedule),
            "warmup_steps": self.warmup_steps,
            "start_lr": self.start_lr,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Warmup:
        config = dict(config)
        config["schedule"] = keras.optimizers.schedules.deserialize(config["schedule"])
        return cls(**config)
