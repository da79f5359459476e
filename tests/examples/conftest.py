"""Puts ``examples/`` on sys.path so that tests import ``_harness`` and the scripts as the
scripts themselves do (their folder first on the path)."""

import os
import sys

EXAMPLES = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                                        "examples"))
if EXAMPLES not in sys.path:
    sys.path.append(EXAMPLES)
