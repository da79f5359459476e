"""tf_lropt.callbacks: drive schedules, momentum and weight decay during ``fit``.

``ScheduleCallback`` sets the rate from any schedule before every batch, reading
the step from ``optimizer.iterations``. Every schedule of ``tf_lropt.schedules``
has a callback twin named ``<ScheduleName>Callback`` that takes the schedule's
own arguments (``TWINS`` maps each schedule class to its twin):

=============================  ================================
schedule                       callback twin
=============================  ================================
``CyclicalLearningRate``       ``CyclicalLearningRateCallback`` (alias ``CyclicLR``)
``Triangular``                 ``TriangularCallback``
``Triangular2``                ``Triangular2Callback``
``ExpRange``                   ``ExpRangeCallback``
``Cosine``                     ``CosineCallback`` (alias ``CosineAnnealing``)
``OneCycle``                   ``OneCycleCallback``
``Warmup``                     ``WarmupCallback``
=============================  ================================

``CyclicLR`` and ``CosineAnnealing`` are the same class objects as their
``<ScheduleName>Callback`` names. Momentum cycling defaults to
``DEFAULT_BASE_MOMENTUM`` / ``DEFAULT_MAX_MOMENTUM`` (0.85 / 0.95) everywhere.
"""

from tf_lropt.callbacks.learning_rate_logger import LearningRateLogger
from tf_lropt.callbacks.schedule_callback import (
    DEFAULT_BASE_MOMENTUM,
    DEFAULT_MAX_MOMENTUM,
    ScheduleCallback,
)
from tf_lropt.callbacks.twins import (
    TWINS,
    CosineAnnealing,
    CosineCallback,
    CyclicalLearningRateCallback,
    CyclicLR,
    ExpRangeCallback,
    OneCycleCallback,
    ScheduleTwin,
    Triangular2Callback,
    TriangularCallback,
    WarmupCallback,
)
from tf_lropt.callbacks.weight_decay import WEIGHT_DECAY_OFF_FRACTION, WeightDecayScheduler

__all__ = [
    "DEFAULT_BASE_MOMENTUM",
    "DEFAULT_MAX_MOMENTUM",
    "TWINS",
    "WEIGHT_DECAY_OFF_FRACTION",
    "CosineAnnealing",
    "CosineCallback",
    "CyclicLR",
    "CyclicalLearningRateCallback",
    "ExpRangeCallback",
    "LearningRateLogger",
    "OneCycleCallback",
    "ScheduleCallback",
    "ScheduleTwin",
    "Triangular2Callback",
    "TriangularCallback",
    "WarmupCallback",
    "WeightDecayScheduler",
]
