"""Files that must survive a kill: atomic writes, and the weights-file format.

A long run persists as it goes, so a process killed while writing must leave
either the old file or the new one, never half of one: :func:`atomic_write`
writes a temporary file beside the target and renames it over the target
(``os.replace`` is atomic on POSIX and Windows).

The weights file holds a model's variables only, as a NumPy ``.npz`` with one
array per variable named ``w0``, ``w1``, ... in ``model.get_weights()`` order.
Keras' own ``save_weights`` would also store the optimizer's variables, the
learning rate among them, which the explorer must not carry from one trial's
model to the next.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Sequence
from typing import IO

import numpy as np

__all__ = ["atomic_write", "load_weights_file", "save_weights_file", "save_weights_file_once"]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """Opens a temporary file beside ``path``; on a clean exit it replaces ``path``.

    The folder is created if missing. On an error the temporary file is removed
    and ``path`` keeps its old content. The file gets the permissions ``open`` would
    give a new one (``0o666`` less the umask; ``tempfile.mkstemp``'s ``0o600`` would
    hide a shared results folder's files from everyone but their writer).
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    partial = os.path.join(folder, f"{os.path.basename(path)}.{uuid.uuid4().hex}.partial")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(partial, flags, 0o666)
    try:
        with os.fdopen(descriptor, mode, **open_kwargs) as f:
            yield f
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
        raise


def save_weights_file(path: str | os.PathLike, weights: Sequence[np.ndarray]) -> None:
    """Writes ``weights`` (``model.get_weights()``) to ``path`` atomically."""
    with atomic_write(path, "wb") as f:
        np.savez(f, **{f"w{i}": np.asarray(w) for i, w in enumerate(weights)})


def save_weights_file_once(path: str | os.PathLike, weights: Sequence[np.ndarray]) -> None:
    """Writes ``weights`` to ``path`` unless a file is there already: the first writer wins.

    Parallel workers that all find no file each write their own and link it into place; the
    link fails for all but the first, so every worker then loads the same weights.
    """
    path = os.fspath(path)
    partial = f"{path}.{os.getpid()}.partial.npz"
    save_weights_file(partial, weights)
    try:
        os.link(partial, path)
    except FileExistsError:
        pass
    except OSError:  # a file system without hard links: the last writer wins
        os.replace(partial, path)
    with contextlib.suppress(FileNotFoundError):
        os.remove(partial)


def load_weights_file(path: str | os.PathLike) -> list[np.ndarray]:
    """The weights :func:`save_weights_file` wrote, in order (for ``model.set_weights``)."""
    with np.load(os.fspath(path)) as stored:
        return [stored[f"w{i}"] for i in range(len(stored.files))]
