"""Shared code of the example scripts: data, models, one training loop, results and plots.

The scripts in ``examples/`` do ``import _harness`` (their folder is first on ``sys.path``).
"""

from _harness import data, models  # noqa: F401
