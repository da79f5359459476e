"""The one table of optimizer configurations every optimizer test runs over.

Each ``OptimizerCase`` builds a fresh optimizer from keyword overrides
(``case.factory(weight_decay=1e-2, learning_rate=schedule, ...)``) and the matching
float64 reference (``case.reference(**overrides)``, see ``tests/reference/optimizers.py``).
``PARAMS`` is the table as ``pytest.param(case, id=case.id)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import keras
import pytest

from tests.reference import optimizers as references
from tf_lropt import optimizers

# Arguments of the Keras base class that the references do not model.
_KERAS_ONLY = ("clipnorm", "clipvalue", "global_clipnorm", "use_ema", "ema_momentum",
               "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps",
               "name", "learning_rate", "base_lr")


@dataclass(frozen=True)
class OptimizerCase:
    id: str
    cls: type[keras.optimizers.Optimizer]
    reference_cls: type
    kwargs: dict[str, Any] = field(default_factory=dict)

    def factory(self, **overrides: Any) -> keras.optimizers.Optimizer:
        """A fresh optimizer with this case's arguments, updated by ``overrides``."""
        return self.cls(**{**self.kwargs, **overrides})

    def reference(self, **overrides: Any):
        """The float64 reference with the same hyperparameters as ``factory(**overrides)``.

        The reference gets the arguments themselves, never the optimizer's config, and
        its own defaults are the ones the issue specifies. AdaBound's reference rate is
        the float learning rate unless ``base_lr`` is given.
        """
        arguments = {**self.kwargs, **overrides}
        hyper = {k: v for k, v in arguments.items() if k not in _KERAS_ONLY}
        if issubclass(self.cls, optimizers.AdaBound):
            hyper["base_lr"] = arguments.get("base_lr") or arguments.get("learning_rate", 1e-3)
        return self.reference_cls(**hyper)

    @property
    def n_slots(self) -> int:
        return 3 if self.kwargs.get("amsbound") or self.kwargs.get("amsgrad") else 2



CASES: list[OptimizerCase] = [
    OptimizerCase("adabound", optimizers.AdaBound, references.AdaBoundReference),
    OptimizerCase("adabound_amsbound", optimizers.AdaBound, references.AdaBoundReference,
                  {"amsbound": True}),
    OptimizerCase("warmup_adabound", optimizers.WarmupAdaBound, references.AdaBoundReference,
                  {"warmup_steps": 10, "warmup_upper_bound": 0.01}),
    OptimizerCase("radam", optimizers.RAdam, references.RAdamReference),
    OptimizerCase("radam_threshold4", optimizers.RAdam, references.RAdamReference,
                  {"sma_threshold": 4.0}),
    OptimizerCase("radam_no_sgd", optimizers.RAdam, references.RAdamReference,
                  {"degenerate_to_sgd": False}),
    OptimizerCase("radam_threshold4_no_sgd", optimizers.RAdam, references.RAdamReference,
                  {"sma_threshold": 4.0, "degenerate_to_sgd": False}),
    OptimizerCase("adabelief", optimizers.AdaBelief, references.AdaBeliefReference),
    OptimizerCase("adabelief_amsgrad", optimizers.AdaBelief, references.AdaBeliefReference,
                  {"amsgrad": True}),
    OptimizerCase("adabelief_rectify", optimizers.AdaBelief, references.AdaBeliefReference,
                  {"rectify": True}),
    OptimizerCase("radabeliefw", optimizers.RAdaBeliefW, references.RAdaBeliefWReference),
]

PARAMS = [pytest.param(case, id=case.id) for case in CASES]
