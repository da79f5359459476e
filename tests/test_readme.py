"""Every Python block of README.md runs as written, as a user would copy it, and prints what
the README says it prints.

Each block runs in a fresh interpreter whose working directory is a temporary folder and
whose ``tf_lropt`` is the installed package (``pip install -e .`` or ``pip install .``), not
this source tree put on ``PYTHONPATH``: a block that forgets an import, its data or a
definition fails here, and so does a package that installs incompletely. A block whose
first line is ``# In a new process, in the same directory as the block above:`` runs after
that block, in the same folder, in a second interpreter: the way a user reloads what the
block above saved.

What a block prints is checked: a ```` ```text ```` block right after it (optionally
introduced by one paragraph ending in a colon) is its expected standard output, compared as a
doctest compares (``...`` stands for any text); a block without one must print nothing.
Its standard error may hold TensorFlow's C++ log lines, which the README explains, and
nothing else: no warning, no traceback.

A block that needs something not every tested environment has says so in a comment line
``# Needs the TensorFlow backend ...`` or ``# Needs ... Keras >= 3.9 ...``, and is skipped
where that is missing. The blocks use scikit-learn's bundled digits or generated arrays and
train for a few epochs, so nothing is downloaded.
"""

from __future__ import annotations

import dataclasses
import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from tests._output import other_lines, tensorflow_log_lines

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CONTINUES = "# In a new process, in the same directory as the block above:"
TIMEOUT_S = 600
_FENCE = re.compile(r"^(#{1,4} [^\n]*)$|^```(\w*)\n(.*?)^```$", re.M | re.S)
_NEEDS = re.compile(r"^# Needs (.*)$", re.M)
# Every backend runs the blocks; a block that needs TensorFlow says so and is skipped elsewhere.
pytestmark = pytest.mark.backend_agnostic


@dataclasses.dataclass(frozen=True)
class Block:
    heading: str
    code: str
    expected_output: str  # "" when the block must print nothing

    def missing(self) -> str | None:
        """Why this block cannot run here, or None."""
        needs = " ".join(_NEEDS.findall(self.code))
        if "TensorFlow backend" in needs and keras.backend.backend() != "tensorflow":
            return f"needs the TensorFlow backend; backend is {keras.backend.backend()}"
        if "Keras >= 3.9" in needs and not hasattr(keras.layers, "CutMix"):
            return f"needs Keras >= 3.9 (keras.layers.CutMix); installed {keras.__version__}"
        return None


def _blocks(text: str) -> list[Block]:
    """Every ```python block in order, with the section heading above it and the ```text
    block that follows it (nothing but blank lines, or one paragraph ending in a colon,
    between)."""
    blocks: list[Block] = []
    heading, last_python_end = "top", None
    for match in _FENCE.finditer(text):
        if match.group(1):
            heading = match.group(1).lstrip("# ").strip()
            continue
        language, body = match.group(2), match.group(3)
        between = text[last_python_end:match.start()].strip() if last_python_end else None
        if language == "text" and between is not None and (
                not between or ("\n\n" not in between and between.endswith(":"))):
            blocks[-1] = dataclasses.replace(blocks[-1], expected_output=body)
        if language == "python":
            blocks.append(Block(heading, body, ""))
            last_python_end = match.end()
        else:
            last_python_end = None
    return blocks


BLOCKS = _blocks(README.read_text(encoding="utf-8"))


def _block_id(index: int) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "-", BLOCKS[index].heading).strip("-").lower()
    return f"{index}-{words[:40]}"


def _user_env() -> dict[str, str]:
    """The environment a user's shell would have: the installed package only."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MPLBACKEND"] = "Agg"  # plot_schedule / savefig without a display
    return env


@pytest.fixture(scope="module")
def installed_package(tmp_path_factory) -> str:
    """Where the README blocks' ``import tf_lropt`` finds the package, checked to be this
    checkout (an editable install) or an installed copy, not another checkout's."""
    # Found, not imported: importing it would import Keras and its backend, seconds each time.
    where = "import importlib.util; print(importlib.util.find_spec('tf_lropt').origin)"
    done = subprocess.run([sys.executable, "-c", where],
                          cwd=tmp_path_factory.mktemp("where"), env=_user_env(),
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    if done.returncode != 0:
        pytest.fail("README blocks run against the installed package, and tf_lropt is not "
                    "found outside the source tree: run `pip install -e .` first.\n"
                    + done.stderr[-2000:])
    location = Path(done.stdout.strip().splitlines()[-1]).resolve()
    if not (location.is_relative_to(ROOT) or "site-packages" in location.parts):
        pytest.fail(f"README blocks would import tf_lropt from {location}, another checkout: "
                    f"run `pip install -e .` in {ROOT}")
    return str(location)


def _run(block: Block, cwd: Path) -> None:
    done = subprocess.run([sys.executable, "-c", block.code], cwd=cwd, env=_user_env(),
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, (
        f"README block failed (exit {done.returncode}):\n{block.code}\n--- stderr ---\n"
        f"{done.stderr[-4000:]}"
    )
    noise = other_lines(done.stderr)
    assert not noise, "README block wrote to stderr:\n" + "\n".join(noise[-40:])
    checker = doctest.OutputChecker()
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    assert checker.check_output(block.expected_output, done.stdout, flags), (
        f"README block printed\n{done.stdout}\ninstead of what the README shows:\n"
        f"{block.expected_output}"
    )


def test_readme_has_the_blocks_this_test_expects():
    # A changed fence (```py, indented) would silently drop a block from the checks.
    text = README.read_text(encoding="utf-8")
    assert len(BLOCKS) >= 11
    assert text.count("```python") == len(BLOCKS)
    assert not BLOCKS[0].code.startswith(CONTINUES)
    # Every ```text block is the output of the python block above it.
    assert text.count("```text") == sum(bool(b.expected_output) for b in BLOCKS)


def test_expected_output_is_read_and_compared():
    # The parser pairs a text block with the python block above it, and the comparison
    # rejects a wrong line: a broken parser or checker would let any output pass.
    [block] = _blocks("```python\nprint(1)\n```\n\nIt prints:\n\n```text\n1 ...\n```\n")
    assert block.expected_output == "1 ...\n"
    checker, flags = doctest.OutputChecker(), doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    assert checker.check_output(block.expected_output, "1 and more\n", flags)
    assert not checker.check_output(block.expected_output, "2 and more\n", flags)
    [silent] = _blocks("```python\nx = 1\n```\n\nSome prose.\n\nMore.\n\n```text\n1\n```\n")
    assert silent.expected_output == ""


def test_tensorflow_log_lines_are_told_apart_from_other_output():
    # Lines as TensorFlow 2.21 and 2.18 write them on a CPU machine, and what must stay visible.
    logs = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1796636094.652794   12922 cudart_stub.cc:31] Could not find cuda drivers on "
        "your machine, GPU will not be used.",
        "E0000 00:00:1796636121.962892   12922 cuda_platform.cc:52] failed call to cuInit: "
        "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
        "2026-12-07 09:32:46.748086: I tensorflow/core/util/port.cc:153] oneDNN custom "
        "operations are on.",
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild "
        "TensorFlow with the appropriate compiler flags.",
    ]
    exit_noise = [  # TensorFlow 2.16 at the exit of a process that exported a model
        "Exception ignored in: <function AtomicFunction.__del__ at 0x7ff330458220>",
        "Traceback (most recent call last):",
        '  File "/v/tensorflow/python/eager/polymorphic_function/atomic_function.py", line 291,'
        " in __del__",
        "TypeError: 'NoneType' object is not subscriptable",
    ]
    others = ["/x/keras/src/trainer.py:12: UserWarning: something a user must see",
              "Traceback (most recent call last):", "I0000 is not a log line"]
    stderr = "\n".join(logs + exit_noise + others)
    assert tensorflow_log_lines(stderr) == logs
    assert other_lines(stderr) == others


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=_block_id)
def test_readme_block_runs(index, tmp_path, installed_package):
    block = BLOCKS[index]
    reason = block.missing() or (block.code.startswith(CONTINUES) and BLOCKS[index - 1].missing())
    if reason:
        pytest.skip(reason)
    if block.code.startswith(CONTINUES):
        _run(BLOCKS[index - 1], tmp_path)
    _run(block, tmp_path)


def test_ci_runs_the_readme_test_command_and_stops_on_its_failure():
    # The README's "Run the tests" command is what CI's first stage runs; its && list sits in
    # an `if !` test because set -e ignores a failure before the last command of an && list.
    command = re.search(r"^python -m venv \.venv && \. \.venv/bin/activate && (pip install -e "
                        r"\"\.\[tensorflow,jax,test\]\".*)$", README.read_text(encoding="utf-8"),
                        re.M)
    assert command, "README lost its test command"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f"if ! {{ {command.group(1)}; }}; then" in ci
