"""tf_lropt: learning-rate control for Keras 3.

Optimizers (AdaBound, WarmupAdaBound, RAdam, AdaBelief, RAdaBeliefW), learning-rate
schedules (cyclical, cosine, one-cycle, warm-up), callbacks that drive any schedule
during ``fit``, the LR range test, a coarse-to-fine learning-rate explorer and
TrivialAugment.
"""

__version__ = "0.1.0"

from tf_lropt import augment, callbacks, optimizers, schedules  # noqa: E402

__all__ = ["augment", "callbacks", "optimizers", "schedules", "__version__"]
