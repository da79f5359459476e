"""The project's files name no folder of one particular machine.

A script that needs a folder takes it from an argument or an environment variable with a
relative default; documentation shows relative or placeholder paths. Keras' own fallback cache
``/tmp/.keras`` (used when the home folder is not writable) is Keras' behaviour, not a machine's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Absolute folders that belong to one machine: a workspace, a home, a wheel or venv store.
MACHINE_PATH = re.compile(r"(?<![\w.~$])/(?:work|root|home|opt|mnt|srv|Users)/[\w.]"
                          r"|(?<![\w.~$])/tmp/(?!\.keras\b)[\w.]")


def _tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode()
    return [ROOT / name for name in listed.split("\0") if name]


def test_the_pattern_finds_machine_paths_and_spares_relative_ones():
    for path in ("/work/venvs/torch", "x=/root/.cache", "/home/me/data", "/opt/wheels/t.whl",
                 "--directory /tmp/explorer"):
        assert MACHINE_PATH.search(path), path
    for path in ("results/campaign", "~/.keras/datasets", "/tmp/.keras", "$HOME/work/x",
                 "docs/runs/exp10", "a/work/b"):
        assert not MACHINE_PATH.search(path), path


def test_no_tracked_file_names_a_machine_path():
    found = []
    for path in _tracked_files():
        if path == Path(__file__).resolve():
            continue  # its examples above
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue  # binary files (PNG), or a file deleted in the working tree
        for number, line in enumerate(text.splitlines(), 1):
            if MACHINE_PATH.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not found, "absolute folders of one machine:\n" + "\n".join(found)
