"""tf_lropt.callbacks: drive schedules, momentum and weight decay during ``fit``.

``ScheduleCallback`` sets the rate from any schedule before every batch, reading
the step from ``optimizer.iterations``; ``CyclicLR`` and ``CosineAnnealing`` are
its named twins built on the very schedule objects of ``tf_lropt.schedules``.
"""

from tf_lropt.callbacks.learning_rate_logger import LearningRateLogger
from tf_lropt.callbacks.schedule_callback import CosineAnnealing, CyclicLR, ScheduleCallback
from tf_lropt.callbacks.weight_decay import WeightDecayScheduler

__all__ = [
    "CosineAnnealing",
    "CyclicLR",
    "LearningRateLogger",
    "ScheduleCallback",
    "WeightDecayScheduler",
]
