"""Without KerasTuner the package and the range test work; the explorer says what to install."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = """
import sys
sys.modules["keras_tuner"] = None  # as if not installed
import tf_lropt
from tf_lropt.search import find_lr, LRRangeTest  # the range test needs no KerasTuner
for attempt in ("tf_lropt.LRExplorer", "from tf_lropt.search import LRExplorer",
                "import tf_lropt.explorer"):
    try:
        exec(attempt if " " in attempt else f"x = {attempt}")
    except ImportError as error:
        assert 'pip install "tf-lropt[search]"' in str(error), (attempt, error)
    else:
        raise AssertionError(f"{attempt} did not raise")
# The star imports list only what imports: the explorer is left out.
for module in ("tf_lropt", "tf_lropt.search"):
    names = {}
    exec(f"from {module} import *", names)
    assert "find_lr" in names and "LRExplorer" not in names, (module, sorted(names))
print("ok")
"""


def test_package_and_range_test_import_without_keras_tuner_and_the_explorer_names_the_extra():
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]


def test_with_keras_tuner_the_star_imports_bring_the_explorer():
    from tf_lropt.search.explorer import LRExplorer

    for module in ("tf_lropt", "tf_lropt.search"):
        names = {}
        exec(f"from {module} import *", names)
        assert names["LRExplorer"] is LRExplorer, module
    assert names["find_lr"].__module__ == "tf_lropt.search.range_test"
    names = {}
    exec("from tf_lropt import *", names)
    assert names["explorer"].__name__ == "tf_lropt.explorer"
