"""The LR range test; kept for existing imports: it lives in :mod:`tf_lropt.search.range_test`."""

from tf_lropt.search.range_test import (  # noqa: F401
    MODES,
    LRRangeTest,
    LRRangeTestResult,
    LRSuggestion,
    __all__,
    centered_moving_average,
    find_lr,
    range_test_rate,
    suggest,
)
