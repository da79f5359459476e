"""Common plumbing of the Adam-family optimizers: arguments, slots, dtypes, config."""

from __future__ import annotations

import keras
from keras import ops

from tf_lropt._validation import (
    check_learning_rate,
    check_non_negative,
    check_probability_like,
)

_LOW_PRECISION = ("float16", "bfloat16")


class AdaptiveOptimizer(keras.optimizers.Optimizer):
    """Base of the package's optimizers: ``beta_1``, ``beta_2``, ``epsilon`` and slots.

    Subclasses list their slot names in ``_slot_names`` and implement ``update_step``.
    Arithmetic runs in float32 when a variable is float16/bfloat16, so that small
    constants such as AdaBelief's ``epsilon=1e-16`` do not round to zero.
    """

    def __init__(self, learning_rate, beta_1, beta_2, epsilon, name, **kwargs):
        check_learning_rate(learning_rate)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = check_probability_like("beta_1", beta_1)
        self.beta_2 = check_probability_like("beta_2", beta_2)
        self.epsilon = check_non_negative("epsilon", epsilon)

    def _slot_names(self) -> tuple[str, ...]:
        return ("momentum", "velocity")

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        # One list per slot name, each in var_list order (the layout Keras' Adam uses).
        self._slot_lists = [
            [self.add_variable_from_reference(variable, name) for variable in var_list]
            for name in self._slot_names()
        ]

    def _slots(self, variable) -> list:
        index = self._get_variable_index(variable)
        return [slots[index] for slots in self._slot_lists]

    @staticmethod
    def _compute_dtype(variable) -> str:
        dtype = keras.backend.standardize_dtype(variable.dtype)
        return "float32" if dtype in _LOW_PRECISION else dtype

    def _prepare(self, gradient, variable, learning_rate):
        """Returns ``(lr, gradient, t)`` in the compute dtype; ``t`` counts updates from 1.

        ``iterations`` already counts whole updates under gradient accumulation.
        """
        dtype = self._compute_dtype(variable)
        step = ops.cast(self.iterations + 1, dtype)
        return ops.cast(learning_rate, dtype), ops.cast(gradient, dtype), step

    def _write(self, slot, value):
        """Stores ``value`` in ``slot`` and returns the slot's new value.

        The update reads the moment back from its slot, as Keras' Adam does: XLA then
        streams the fused new moment once instead of recomputing it from a copy of
        the old one (a copy that cost AdaBelief 40% more memory traffic).
        """
        self.assign(slot, ops.cast(value, slot.dtype))
        return ops.cast(slot, value.dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
