"""Deprecated: the explorer's KerasTuner pieces now live where their concern is.

``ExplorerOracle`` is in :mod:`tf_lropt.search.oracle`; the tuner is ``LRExplorer``
itself (:mod:`tf_lropt.search.explorer`), which replaces ``ExplorerTuner``.
"""

import warnings

from tf_lropt.search.explorer import TrialError
from tf_lropt.search.oracle import ExplorerOracle

__all__ = ["ExplorerOracle", "TrialError"]

warnings.warn("tf_lropt.search.tuner is deprecated: import ExplorerOracle from "
              "tf_lropt.search.oracle; LRExplorer is the tuner (ExplorerTuner is gone).",
              DeprecationWarning, stacklevel=2)
