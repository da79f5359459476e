"""The LR explorer; kept for existing imports: it lives in :mod:`tf_lropt.search.explorer`.

It needs KerasTuner: ``pip install "tf-lropt[search]"``.
"""

# LRExplorer raises an ImportError naming the extra where KerasTuner is missing.
from tf_lropt.search import (  # noqa: F401
    PAPER_COARSE_LRS,
    PAPER_REFINE_OFFSETS,
    LRExplorer,
    rate_quantum,
    refine_rates,
)

__all__ = ["PAPER_COARSE_LRS", "PAPER_REFINE_OFFSETS", "LRExplorer", "rate_quantum",
           "refine_rates"]
