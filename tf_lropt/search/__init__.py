"""Finding the learning rate: the LR range test and the coarse-to-fine explorer.

``range_test``: Smith's LR range test (``find_lr``; the ``LRRangeTest`` callback in
``range_test_callback``; ``suggest`` and ``LRRangeTestResult`` in ``range_test_result``).
``explorer``: Fujiwara's digit-by-digit explorer (``LRExplorer``), a KerasTuner
tuner; its candidate lists in ``candidates``, its Oracle in ``oracle``, trial
training in ``trials``, exploitation in ``exploitation``, tables in ``reports``,
settings in ``settings``, early stopping in ``stopping``, the distributed
workers' link to the chief in ``workers``. ``_common`` holds what the range test
and the explorer share. The explorer needs KerasTuner
(``pip install "tf-lropt[search]"``); the range test does not.
"""

import importlib.util

from tf_lropt.search.candidates import (
    PAPER_COARSE_LRS,
    PAPER_REFINE_OFFSETS,
    rate_quantum,
    refine_rates,
)
from tf_lropt.search.range_test import (
    LRRangeTest,
    LRRangeTestResult,
    LRSuggestion,
    centered_moving_average,
    find_lr,
    range_test_rate,
    suggest,
)

__all__ = [
    "PAPER_COARSE_LRS",
    "PAPER_REFINE_OFFSETS",
    "LRRangeTest",
    "LRRangeTestResult",
    "LRSuggestion",
    "centered_moving_average",
    "find_lr",
    "range_test_rate",
    "rate_quantum",
    "refine_rates",
    "suggest",
]

KERAS_TUNER_MISSING = ('LRExplorer runs on KerasTuner, which is not installed: '
                       'pip install "tf-lropt[search]" (or pip install keras-tuner).')


def _keras_tuner_installed() -> bool:
    """Whether KerasTuner can be imported, asked without importing it (it imports TensorFlow)."""
    try:
        return importlib.util.find_spec("keras_tuner") is not None
    except ValueError:  # a module object without a spec stands in for it
        return True


# ``from tf_lropt.search import *`` reads every name of ``__all__``: LRExplorer only where it
# can be imported, so the star import works without the optional KerasTuner.
if _keras_tuner_installed():
    __all__.append("LRExplorer")


def __getattr__(name: str):
    # The explorer is imported on first use, so the range test works without KerasTuner.
    if name == "LRExplorer":
        try:
            from tf_lropt.search.explorer import LRExplorer
        except ModuleNotFoundError as error:
            if error.name != "keras_tuner":
                raise
            raise ImportError(KERAS_TUNER_MISSING) from error
        return LRExplorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
