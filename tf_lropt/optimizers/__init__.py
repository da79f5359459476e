"""Optimizers: AdaBound, WarmupAdaBound, RAdam, AdaBelief and RAdaBeliefW.

Keras already ships SGD (momentum, Nesterov), Adagrad, RMSprop, Adam and AdamW.
"""

from tf_lropt.optimizers.adabelief import AdaBelief
from tf_lropt.optimizers.adabound import AdaBound
from tf_lropt.optimizers.radabeliefw import RAdaBeliefW
from tf_lropt.optimizers.radam import RAdam
from tf_lropt.optimizers.warmup_adabound import WarmupAdaBound

__all__ = ["AdaBelief", "AdaBound", "RAdaBeliefW", "RAdam", "WarmupAdaBound"]
