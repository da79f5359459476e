"""The LR explorer; kept for existing imports: it lives in :mod:`tf_lropt.search.explorer`.

It needs KerasTuner: ``pip install "tf-lropt[search]"``.
"""

from tf_lropt.search import (  # noqa: F401
    PAPER_COARSE_LRS,
    PAPER_REFINE_OFFSETS,
    rate_quantum,
    refine_rates,
)
from tf_lropt.search import LRExplorer  # noqa: F401  (ImportError naming the extra without it)

__all__ = ["PAPER_COARSE_LRS", "PAPER_REFINE_OFFSETS", "LRExplorer", "rate_quantum",
           "refine_rates"]
