"""Cyclical learning rates (Smith, 2017): triangular, triangular2 and exp_range."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras

from tf_lropt import _validation as v
from tf_lropt.schedules import _formulas


def _check_scale_fn_serializable(scale_fn: Callable[[Any], Any]) -> None:
    registered = keras.saving.get_registered_name(scale_fn)
    if getattr(scale_fn, "__name__", "") == "<lambda>" or registered == getattr(
        scale_fn, "__name__", None
    ):
        raise ValueError(
            f"Cannot serialize CyclicalLearningRate: its `scale_fn`={scale_fn!r} is "
            "not a registered function, so a saved model could not be loaded again. "
            "Define it with `def` and decorate it with "
            "`@keras.saving.register_keras_serializable(package=...)`, or use one of "
            f"the named modes {_formulas.CYCLICAL_MODES}."
        )


@keras.saving.register_keras_serializable(package="tf_lropt")
class CyclicalLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """Cyclical learning rate (CLR) between ``base_lr`` and ``max_lr``.

    At iteration ``i`` (counted from 0, the optimizer's ``iterations``)::

        cycle = floor(1 + i / (2 * step_size))
        x     = |i / step_size - 2 * cycle + 1|
        lr    = base_lr + (max_lr - base_lr) * w(x) * scale

    with the window ``w(x) = max(0, 1 - x)`` (``shape="triangular"``), ``1 - x**2``
    (``"welch"``, parabolic) or ``(1 + cos(pi x)) / 2`` (``"hann"``, sine); Smith
    tried all three and found them equivalent. The amplitude ``scale`` is

    - ``mode="triangular"``: 1;
    - ``mode="triangular2"``: ``1 / 2**(cycle - 1)``, halved every cycle;
    - ``mode="exp_range"``: ``gamma**i`` over the global iteration;
    - a user ``scale_fn``: evaluated on the cycle number (``scale_mode="cycle"``,
      the default) or on the global iteration (``"iterations"``). It must be a
      function registered with ``keras.saving.register_keras_serializable``; a
      lambda works in memory but ``get_config`` (saving) raises a ``ValueError``,
      because a model saved with it could not be loaded again.

    ``step_size_down`` makes the cycle asymmetric: ``step_size`` iterations up,
    ``step_size_down`` down (PyTorch's ``CyclicLR`` convention). Smith recommends a
    ``step_size`` of 2-10 epochs' worth of iterations (see ``cyclical_step_size``)
    and stopping training at the end of a cycle (see ``cyclical_total_steps``).

    Args:
        base_lr: lower bound of the rate, ``>= 0``.
        max_lr: upper bound, ``>= base_lr``.
        step_size: iterations in the rising half of a cycle, ``> 0``.
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``; ignored when
            ``scale_fn`` is given.
        gamma: exp_range's decay per iteration, in ``(0, 1]``.
        scale_fn: optional custom amplitude scale.
        scale_mode: ``"cycle"`` or ``"iterations"``: what ``scale_fn`` receives.
        shape: window shape, ``"triangular"``, ``"welch"`` or ``"hann"``.
        step_size_down: iterations in the falling half; ``None`` means ``step_size``.
        name: name of the schedule.

    Example (the paper's CIFAR-10 setting):

    >>> schedule = CyclicalLearningRate(0.001, 0.006, step_size=2000)
    >>> optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)

    Argument names:
        ``base_lr`` here is the cycle's lower bound; in ``tf_lropt.optimizers.AdaBound``
        ``base_lr`` is the reference rate that rescales ``final_lr``. ``max_lr`` is the
        upper bound here and ``OneCycle``'s peak.

    References:
        - [Smith, 2017. Cyclical Learning Rates for Training Neural Networks](
          https://arxiv.org/abs/1506.01186) (WACV 2017).
    """

    def __init__(
        self,
        base_lr: float,
        max_lr: float,
        step_size: float,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[Any], Any] | None = None,
        scale_mode: str | None = None,
        shape: str = "triangular",
        step_size_down: float | None = None,
        name: str = "CyclicalLearningRate",
    ):
        super().__init__()
        self.base_lr = v.check_non_negative("base_lr", base_lr)
        self.max_lr = v.check_range("max_lr", max_lr, self.base_lr, None)
        self.step_size = v.check_positive("step_size", step_size)
        self.step_size_down = (
            None if step_size_down is None else v.check_positive("step_size_down", step_size_down)
        )
        self.mode = v.check_choice("mode", mode, _formulas.CYCLICAL_MODES)
        self.gamma = v.check_range("gamma", gamma, 0.0, 1.0, low_open=True)
        self.shape = v.check_choice("shape", shape, _formulas.WINDOW_SHAPES)
        if scale_mode is not None:
            v.check_choice("scale_mode", scale_mode, _formulas.SCALE_MODES)
        if scale_fn is not None and not callable(scale_fn):
            raise ValueError(
                f"Argument `scale_fn` must be callable; received scale_fn={scale_fn!r}."
            )
        if scale_fn is None and scale_mode is not None:
            raise ValueError(
                f"Argument `scale_mode`={scale_mode!r} only applies with a custom `scale_fn`; "
                f"the named mode {mode!r} fixes its own."
            )
        if scale_fn is not None and mode != "triangular":
            raise ValueError(
                f"Pass either a named `mode` or a custom `scale_fn`, not both; received "
                f"mode={mode!r} with scale_fn={scale_fn!r}."
            )
        self.scale_fn = scale_fn
        self.scale_mode = scale_mode
        self.name = name

    def _scale(self) -> tuple[Callable[[Any], Any], str]:
        if self.scale_fn is None:
            return _formulas.named_scale(self.mode, self.gamma)
        return self.scale_fn, self.scale_mode or "cycle"

    def _evaluate(self, step: Any, low: float, high: float) -> Any:
        scale_fn, scale_mode = self._scale()
        down = self.step_size if self.step_size_down is None else self.step_size_down
        return _formulas.cyclical(
            step, low, high, self.step_size, down, self.shape, scale_fn, scale_mode
        )

    def __call__(self, step: Any) -> Any:
        return self._evaluate(step, self.base_lr, self.max_lr)

    def momentum_schedule(self, base_momentum: float, max_momentum: float) -> Callable:
        """The inverse cycle for momentum: ``max_momentum`` where the rate is lowest.

        ``momentum = max_momentum - (max_momentum - base_momentum) * w(x) * scale``,
        as in PyTorch's ``CyclicLR(cycle_momentum=True)``.
        """
        return lambda step: self._evaluate(step, max_momentum, base_momentum)

    def get_config(self) -> dict[str, Any]:
        scale_fn = None
        if self.scale_fn is not None:
            _check_scale_fn_serializable(self.scale_fn)
            scale_fn = keras.saving.serialize_keras_object(self.scale_fn)
        return {
            "base_lr": self.base_lr,
            "max_lr": self.max_lr,
            "step_size": self.step_size,
            "mode": self.mode,
            "gamma": self.gamma,
            "scale_fn": scale_fn,
            "scale_mode": self.scale_mode,
            "shape": self.shape,
            "step_size_down": self.step_size_down,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CyclicalLearningRate:
        config = dict(config)
        if config.get("scale_fn") is not None:
            config["scale_fn"] = keras.saving.deserialize_keras_object(config["scale_fn"])
        return cls(**config)


class _NamedPolicy(CyclicalLearningRate):
    """A named mode with only the three bounds as arguments (and a matching config)."""

    _MODE = "triangular"

    def __init__(self, base_lr: float, max_lr: float, step_size: float, name: str | None = None):
        name = type(self).__name__ if name is None else name
        super().__init__(base_lr, max_lr, step_size, mode=self._MODE, name=name)

    def get_config(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("base_lr", "max_lr", "step_size", "name")}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _NamedPolicy:
        return cls(**config)


@keras.saving.register_keras_serializable(package="tf_lropt")
class Triangular(_NamedPolicy):
    """Smith's ``triangular`` policy: constant amplitude between the bounds.

    See ``CyclicalLearningRate`` for the formula.

    References:
        - [Smith, 2017. Cyclical Learning Rates for Training Neural Networks](
          https://arxiv.org/abs/1506.01186).
    """

    _MODE = "triangular"


@keras.saving.register_keras_serializable(package="tf_lropt")
class Triangular2(_NamedPolicy):
    """Smith's ``triangular2`` policy: the amplitude halves at the end of every cycle.

    ``scale = 1 / 2**(cycle - 1)``; see ``CyclicalLearningRate``.

    References:
        - [Smith, 2017. Cyclical Learning Rates for Training Neural Networks](
          https://arxiv.org/abs/1506.01186).
    """

    _MODE = "triangular2"


@keras.saving.register_keras_serializable(package="tf_lropt")
class ExpRange(CyclicalLearningRate):
    """Smith's ``exp_range`` policy: the amplitude decays as ``gamma**iteration``.

    The paper uses ``gamma = 0.99994``; see ``CyclicalLearningRate``.

    References:
        - [Smith, 2017. Cyclical Learning Rates for Training Neural Networks](
          https://arxiv.org/abs/1506.01186).
    """

    def __init__(
        self, base_lr: float, max_lr: float, step_size: float, gamma: float, name: str = "ExpRange"
    ):
        super().__init__(base_lr, max_lr, step_size, mode="exp_range", gamma=gamma, name=name)

    def get_config(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("base_lr", "max_lr", "step_size", "gamma", "name")}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ExpRange:
        return cls(**config)


def cyclical_step_size(num_examples: int, batch_size: int, epochs_per_half_cycle: float) -> int:
    """``step_size`` in iterations for a half cycle of ``epochs_per_half_cycle`` epochs.

    One epoch is ``ceil(num_examples / batch_size)`` iterations (CIFAR-10: 50,000
    images at batch 100 give 500). Smith finds 2-10 epochs per half cycle works well.

    References:
        - [Smith, 2017](https://arxiv.org/abs/1506.01186), section 3.2.
    """
    num_examples = v.check_int("num_examples", num_examples, 1)
    batch_size = v.check_int("batch_size", batch_size, 1)
    epochs = v.check_positive("epochs_per_half_cycle", epochs_per_half_cycle)
    return max(1, round(math.ceil(num_examples / batch_size) * epochs))


def cyclical_total_steps(step_size: int, num_cycles: int, step_size_down: int | None = None) -> int:
    """Training length in iterations that ends exactly at a cycle minimum.

    Smith advises stopping when the rate is back at ``base_lr``, after 3 or
    better 4+ full cycles: ``num_cycles * (step_size + step_size_down)``.
    """
    step_size = v.check_int("step_size", step_size, 1)
    num_cycles = v.check_int("num_cycles", num_cycles, 1)
    down = step_size if step_size_down is None else v.check_int("step_size_down", step_size_down, 1)
    return num_cycles * (step_size + down)
