"""The LR explorer; kept for existing imports: it lives in :mod:`tf_lropt.search.explorer`."""

from tf_lropt.search.explorer import (  # noqa: F401
    PAPER_COARSE_LRS,
    PAPER_REFINE_OFFSETS,
    LRExplorer,
    __all__,
    rate_quantum,
    refine_rates,
)
