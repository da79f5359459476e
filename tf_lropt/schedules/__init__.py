"""tf_lropt.schedules: ``keras.optimizers.schedules.LearningRateSchedule`` subclasses.

Cyclical (Smith, 2017), cosine with warm-up and warm restarts, one-cycle and a
linear warm-up wrapper for any schedule. Every rate is computed in
``_formulas``; the callbacks in ``tf_lropt.callbacks`` drive the same objects.
"""

from tf_lropt.schedules._formulas import CYCLICAL_MODES
from tf_lropt.schedules.cosine import Cosine
from tf_lropt.schedules.cyclical import (
    CyclicalLearningRate,
    ExpRange,
    Triangular,
    Triangular2,
    cyclical_step_size,
    cyclical_total_steps,
)
from tf_lropt.schedules.one_cycle import OneCycle
from tf_lropt.schedules.warmup import Warmup

__all__ = [
    "CYCLICAL_MODES",
    "Cosine",
    "CyclicalLearningRate",
    "ExpRange",
    "OneCycle",
    "Triangular",
    "Triangular2",
    "Warmup",
    "cyclical_step_size",
    "cyclical_total_steps",
]
