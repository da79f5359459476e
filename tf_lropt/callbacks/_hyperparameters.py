"""Route a float optimizer hyperparameter through a variable the compiled step reads.

Keras keeps ``momentum``, ``beta_1`` and ``weight_decay`` as Python floats. A
train step traced (and XLA-compiled) by ``fit`` captures them as constants, so a
callback that assigns a new float later changes nothing. ``bind`` swaps the float
for a ``HyperparameterVariable`` before the step is traced; the callback then
``assign``s it every batch.

The variable is deliberately *not* tracked by the optimizer: ``optimizer.variables``
and therefore ``.weights.h5`` / ``.keras`` files, checkpoints and BackupAndRestore
keep exactly the layout of an optimizer without the callback. ``get_config``
reports the value in effect as a plain float, and ``unbind`` (at the end of
``fit``) puts the configured float back.

This is tested on the TensorFlow backend (eager, ``tf.function``, XLA,
MirroredStrategy, LossScaleOptimizer). The torch trainer runs the step eagerly and
should read the variable too (untested). The JAX trainer passes only tracked
variables through its jitted step, so there a bound value would be frozen at trace
time and ``bind`` refuses with a ValueError.
"""

from __future__ import annotations

import functools
from numbers import Real
from typing import Any

import keras

_REGISTRY = "_tf_lropt_hyperparameters"


class HyperparameterVariable(keras.Variable):
    """A float32 variable standing in for a float hyperparameter.

    Comparisons with Python numbers (``if self.momentum != 0`` in Keras' SGD) use
    the value the optimizer was built with and return a Python bool, because they
    decide the structure of the step (whether slots exist), not its arithmetic.
    """

    def __init__(self, value: float, name: str):
        super().__init__(float(value), dtype="float32", trainable=False, name=name)
        self.structural_value = float(value)

    def _is_number(self, other: Any) -> bool:
        return isinstance(other, Real) and not isinstance(other, bool)

    def __eq__(self, other: Any) -> Any:
        if self._is_number(other):
            return self.structural_value == other
        return super().__eq__(other)

    def __ne__(self, other: Any) -> Any:
        if self._is_number(other):
            return self.structural_value != other
        return super().__ne__(other)

    __hash__ = keras.Variable.__hash__

    def __float__(self) -> float:
        try:
            return super().__float__()
        except (AttributeError, TypeError, ValueError) as error:
            raise TypeError(
                f"The optimizer hyperparameter held in {self.path!r} is driven by a tf_lropt "
                "callback through a variable, but the optimizer converts it to a Python float "
                "inside its compiled update step, where it can only be read as a tensor. "
                "This optimizer cannot have it scheduled; use keras.ops on the attribute in "
                "its update step, or do not schedule it."
            ) from error


def target_optimizer(optimizer: Any) -> Any:
    """The optimizer holding the hyperparameters (inside a LossScaleOptimizer)."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def _float_config(optimizer: Any, get_config: Any) -> dict[str, Any]:
    config = get_config()
    for key, value in config.items():
        if isinstance(value, HyperparameterVariable):
            config[key] = float(keras.ops.convert_to_numpy(value))
    return config


def bind(optimizer: Any, attribute: str, purpose: str) -> tuple[HyperparameterVariable, bool]:
    """Replaces ``optimizer.<attribute>`` by a variable holding its current value.

    Returns the variable and whether it was newly put in place (then a train step
    traced before still holds the old float and must be retraced). ``purpose``
    names the feature in error messages.
    """
    if keras.backend.backend() == "jax":
        raise ValueError(
            f"{purpose} needs a backend whose compiled train step reads variables that "
            "the optimizer does not track (TensorFlow); the JAX backend freezes "
            f"`{attribute}` when the step is traced."
        )
    target = target_optimizer(optimizer)
    current = getattr(target, attribute, None)
    if isinstance(current, HyperparameterVariable):
        return current, False
    if not isinstance(current, Real) or isinstance(current, bool):
        raise ValueError(
            f"{purpose} needs an optimizer with a float `{attribute}`; "
            f"{type(target).__name__} has {attribute}={current!r}. "
            + (
                "Construct the optimizer with a non-zero weight_decay."
                if attribute == "weight_decay"
                else "Use SGD(momentum>0), Adam/AdamW or another optimizer with this attribute."
            )
        )
    registry = target.__dict__.get(_REGISTRY)
    if registry is None:
        registry = {}
        object.__setattr__(target, _REGISTRY, registry)
        patched = functools.partial(_float_config, target, target.get_config)
        object.__setattr__(target, "get_config", patched)
    variable = registry.get(attribute)
    if variable is None or variable.structural_value != float(current):
        variable = HyperparameterVariable(current, name=f"{attribute}_schedule_value")
        registry[attribute] = variable
    variable.assign(float(current))
    object.__setattr__(target, attribute, variable)
    return variable, True


def unbind(optimizer: Any, attribute: str) -> None:
    """Puts back the float the optimizer was configured with.

    The original value, not the last scheduled one: a later ``fit`` (e.g. training
    split over several calls) starts from the same configuration.
    """
    target = target_optimizer(optimizer)
    current = getattr(target, attribute, None)
    if isinstance(current, HyperparameterVariable):
        object.__setattr__(target, attribute, current.structural_value)
