"""Finding the learning rate: the LR range test and the coarse-to-fine explorer.

``range_test``: Smith's LR range test (``find_lr``; the ``LRRangeTest`` callback in
``range_test_callback``; ``suggest`` and ``LRRangeTestResult`` in ``range_test_result``).
``explorer``: Fujiwara's digit-by-digit explorer (``LRExplorer``), its candidate
lists in ``candidates``, its early stopping in ``stopping``, its KerasTuner engine in
``tuner``. ``_common`` holds what they share: data unpacking, the
objective's check, name and direction.
"""

from tf_lropt.search.candidates import (
    PAPER_COARSE_LRS,
    PAPER_REFINE_OFFSETS,
    rate_quantum,
    refine_rates,
)
from tf_lropt.search.explorer import LRExplorer
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
    "LRExplorer",
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
