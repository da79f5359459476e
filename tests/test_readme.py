"""Every Python block of README.md runs as written, as a user would copy it.

Each block runs in a fresh interpreter whose working directory is a temporary
folder, so a block that forgets an import, its data or a definition fails here. A
block whose first line is ``# In a new process, in the same directory as the block
above:`` runs after that block, in the same folder, in a second interpreter: the
way a user reloads what the block above saved. The blocks use scikit-learn's
bundled digits or generated arrays and train for a few epochs, so nothing is
downloaded and all of them take well under a minute on two cores.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CONTINUES = "# In a new process, in the same directory as the block above:"
TIMEOUT_S = 600


def _python_blocks(text: str) -> list[tuple[str, str]]:
    """(the section heading above it, code) for every ```python block, in order."""
    blocks = []
    heading = "top"
    # Fences are matched whole, so a comment line inside a block is no heading.
    for match in re.finditer(r"^(#{1,4} [^\n]*)$|^```(\w*)\n(.*?)^```$", text, re.M | re.S):
        if match.group(1):
            heading = match.group(1).lstrip("# ").strip()
        elif match.group(2) == "python":
            blocks.append((heading, match.group(3)))
    return blocks


BLOCKS = _python_blocks(README.read_text(encoding="utf-8"))


def _block_id(index: int) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "-", BLOCKS[index][0]).strip("-").lower()
    return f"{index}-{words[:40]}"


def _run(code: str, cwd: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["MPLBACKEND"] = "Agg"  # plot_schedule / savefig without a display
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, (
        f"README block failed (exit {done.returncode}):\n{code}\n--- stderr ---\n"
        f"{done.stderr[-4000:]}"
    )


def test_readme_has_the_blocks_this_test_expects():
    # A changed fence (```py, indented) would silently drop a block from the checks.
    assert len(BLOCKS) >= 11
    assert README.read_text(encoding="utf-8").count("```python") == len(BLOCKS)
    assert not BLOCKS[0][1].startswith(CONTINUES)


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=_block_id)
def test_readme_block_runs(index, tmp_path):
    heading, code = BLOCKS[index]
    if "CutMix" in code and not hasattr(keras.layers, "CutMix"):
        pytest.skip(f"CutMix needs Keras >= 3.9; installed {keras.__version__}")
    if code.startswith(CONTINUES):
        _run(BLOCKS[index - 1][1], tmp_path)
    _run(code, tmp_path)


def test_ci_runs_the_readme_test_command_and_stops_on_its_failure():
    # The README's "Run the tests" command is what CI runs; its && list sits in an `if !`
    # test because set -e ignores a failure before the last command of an && list.
    command = re.search(r"^python -m venv \.venv && \. \.venv/bin/activate && (pip install -e "
                        r"\"\.\[test\]\".*)$", README.read_text(encoding="utf-8"), re.M)
    assert command, "README lost its test command"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f"if ! {{ {command.group(1)}; }}; then" in ci
