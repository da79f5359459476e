"""What a user sees when running a README block or an example: TensorFlow's C++ log lines.

TensorFlow's runtime writes its start-up notices (oneDNN, CPU instructions, CUDA probing such
as ``E0000 ... failed call to cuInit``) straight to the process's stderr, before any Python code
can intervene, in one of two formats depending on the version:

    2026-12-07 09:32:46.748086: I tensorflow/core/util/port.cc:153] oneDNN custom operations ...
    I0000 00:00:1796635733.244976    6169 cudart_stub.cc:31] Could not find cuda drivers ...
"""

from __future__ import annotations

import re

_LOG_LINE = re.compile(
    r"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"  # absl (TensorFlow >= 2.19, XLA)
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] \S+:\d+\]"  # TensorFlow's own (<= 2.18)
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: .*rebuild TensorFlow)"  # a notice's second line
)


def tensorflow_log_lines(stderr: str) -> list[str]:
    """The lines of ``stderr`` that TensorFlow's (or XLA's) C++ logging wrote."""
    return [line for line in stderr.splitlines() if _LOG_LINE.match(line)]


# TensorFlow 2.16 tears down a traced function after Python's modules at interpreter exit and
# reports the error it then meets (a process that saved or exported a model): harmless, and
# TensorFlow's own.
_EXIT_NOISE = "Exception ignored in: <function AtomicFunction.__del__"


def other_lines(stderr: str) -> list[str]:
    """The non-empty lines of ``stderr`` that are not TensorFlow's C++ log lines, nor the
    traceback TensorFlow 2.16 prints at exit (``Exception ignored in: ... AtomicFunction``)."""
    kept, in_exit_noise = [], False
    for line in stderr.splitlines():
        if line.startswith(_EXIT_NOISE):
            in_exit_noise = True
            continue
        if in_exit_noise:
            # Its traceback: a "Traceback" line, indented frames, then the exception's line.
            in_exit_noise = line.startswith(("Traceback", " "))
            continue
        if line.strip() and not _LOG_LINE.match(line):
            kept.append(line)
    return kept
