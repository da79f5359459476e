"""Optimizers: AdaBound, WarmupAdaBound, RAdam, AdaBelief and RAdaBeliefW.

Keras already ships SGD (momentum, Nesterov), Adagrad, RMSprop, Adam and AdamW.
"""

from tf_lropt.optimizers.adabelief import AdaBelief
from tf_lropt.optimizers.adabound import AdaBound
from tf_lropt.optimizers.radabeliefw import RAdaBeliefW
from tf_lropt.optimizers.radam import RAdam
from tf_lropt.optimizers.warmup_adabound import WarmupAdaBound

# The package's optimizers, the one list that tests, bench/ and examples/ read.
OPTIMIZER_CLASSES = (AdaBound, WarmupAdaBound, RAdam, AdaBelief, RAdaBeliefW)

__all__ = [
    "OPTIMIZER_CLASSES",
    "AdaBelief",
    "AdaBound",
    "RAdaBeliefW",
    "RAdam",
    "WarmupAdaBound",
]
