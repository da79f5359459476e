"""tf_lropt: learning-rate control for Keras 3.

Optimizers (AdaBound, WarmupAdaBound, RAdam, AdaBelief, RAdaBeliefW), learning-rate
schedules (cyclical, cosine, one-cycle, warm-up), callbacks that drive any schedule
during ``fit``, the LR range test, a coarse-to-fine learning-rate explorer,
TrivialAugment / CutMix and recipes that assemble each paper's method from these parts.
Importing the package registers every class with Keras' serialization, so saved models
load back without ``custom_objects``.
"""

__version__ = "0.1.0"

from tf_lropt import (  # noqa: E402
    augment,
    callbacks,
    lr_finder,
    optimizers,
    plot,
    recipes,
    schedules,
    search,
)
from tf_lropt.lr_finder import LRRangeTest, LRRangeTestResult, find_lr  # noqa: E402

__all__ = [
    "LRRangeTest",
    "LRRangeTestResult",
    "__version__",
    "augment",
    "callbacks",
    "find_lr",
    "lr_finder",
    "optimizers",
    "plot",
    "recipes",
    "schedules",
    "search",
]
if search._keras_tuner_installed():  # the star import reads them: only where they import
    __all__ += ["LRExplorer", "explorer"]


def __getattr__(name: str):
    # The explorer needs KerasTuner; imported on first use, the rest works without it.
    if name == "LRExplorer":
        return search.LRExplorer
    if name == "explorer":
        import importlib

        return importlib.import_module("tf_lropt.explorer")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
