"""Training one explorer trial: a fresh model at one rate, from fixed initial weights.

Every trial (and the exploitation) starts from the same initial weights, kept
in ``<directory>/initial_weights.npz`` (:mod:`tf_lropt._files`): the first model
built writes them, every later one loads them, in this process or another.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from tf_lropt._files import load_weights_file, save_weights_file_once
from tf_lropt.search import _common
from tf_lropt.search.oracle import EXTRAS

if TYPE_CHECKING:
    from tf_lropt.search.stopping import MedianStopping

__all__ = ["EpochReport", "TrialRunner"]


class TrialRunner:
    """Builds models from fixed initial weights and trains them with ``fit``.

    Args:
        build_model: ``build_model(learning_rate) -> compiled keras.Model``.
        train_data: what ``fit`` takes as ``x``: a dataset, or ``(x, y)`` arrays.
        val_data: ``validation_data`` for ``fit``.
        directory: where ``initial_weights.npz`` is kept.
        seed: seeds the initial weights and each trial's training.
        batch_size: ``fit`` batch size for array data.
        fit_kwargs: further ``fit`` arguments (their ``callbacks`` come first).
    """

    def __init__(self, build_model: Callable[[float], keras.Model], train_data: Any,
                 val_data: Any, directory: str, seed: int | None, batch_size: int | None,
                 fit_kwargs: dict[str, Any] | None) -> None:
        if not callable(build_model):
            raise ValueError(f"Argument `build_model` must be callable; received {build_model!r}.")
        self.build_model, self.train_data, self.val_data = build_model, train_data, val_data
        self.directory, self.seed, self.batch_size = directory, seed, batch_size
        self.fit_kwargs = dict(fit_kwargs or {})

    def initial_weights_path(self) -> str:
        """The ``.npz`` file of the initial weights every trial starts from."""
        return os.path.join(self.directory, "initial_weights.npz")

    def initial_weights(self) -> list[np.ndarray]:
        """The initial weights every trial starts from, as ``model.set_weights`` takes them."""
        path = self.initial_weights_path()
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"{path} does not exist yet: the first trial writes it when it starts "
                "(run `search()` first)")
        return load_weights_file(path)

    def fresh_model(self, rate: float) -> keras.Model:
        """``build_model(rate)`` holding the initial weights (written by the first call)."""
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        model = self.build_model(rate)
        if getattr(model, "optimizer", None) is None:
            raise ValueError("`build_model` must return a compiled model (call model.compile).")
        path = self.initial_weights_path()
        if not os.path.exists(path):
            # Parallel workers may all get here; the first file in place is the one all load.
            save_weights_file_once(path, model.get_weights())
        model.set_weights(self.initial_weights())
        return model

    def fit(self, model: keras.Model, epochs: int, initial_epoch: int = 0,
            callbacks: Sequence[keras.callbacks.Callback] = ()) -> keras.callbacks.History:
        """``model.fit`` on the training data, validating on the validation data."""
        x, y = _common.split_xy(self.train_data)
        kwargs = dict(self.fit_kwargs)
        kwargs.setdefault("verbose", 0)
        return model.fit(
            x, y, batch_size=self.batch_size, epochs=epochs, initial_epoch=initial_epoch,
            validation_data=self.val_data, callbacks=[*kwargs.pop("callbacks", []), *callbacks],
            **kwargs,
        )

    def check_objective(self, rate: float, objective: str) -> None:
        """Raises ValueError, before any training, if ``objective`` is not logged."""
        data = self.val_data if objective.startswith("val_") else self.train_data
        _common.check_logged(self.fresh_model(rate), data, objective, "objective",
                             self.batch_size)
        keras.backend.clear_session(free_memory=False)

    def train(self, rate: float, epochs: int, objective: str,
              callbacks: Sequence[keras.callbacks.Callback] = ()) -> tuple[list[float], float]:
        """Trains a fresh model at ``rate``; returns the objective per epoch and the seconds."""
        model = self.fresh_model(rate)
        start = time.time()
        history = self.fit(model, epochs, callbacks=callbacks).history
        if objective not in history:
            raise ValueError(f"Argument `objective`={objective!r} is not produced by training; "
                             f"history has {sorted(history)}.")
        # Without the garbage collection, which costs more than a small trial.
        keras.backend.clear_session(free_memory=False)
        return [float(v) for v in history[objective]], time.time() - start


class EpochReport(keras.callbacks.Callback):
    """Reports the objective and the ``EXTRAS`` to the Oracle after every epoch."""

    def __init__(self, oracle: Any, trial_id: str, objective: str,
                 stopping: MedianStopping | None) -> None:
        super().__init__()
        self.oracle, self.trial_id, self.objective = oracle, trial_id, objective
        self.stopping, self.start = stopping, time.time()

    def on_epoch_end(self, epoch, logs=None):
        value = float((logs or {}).get(self.objective, math.nan))
        stopped = float(bool(self.stopping and self.stopping.stopped))
        self.oracle.update_trial(self.trial_id, {
            self.objective: value, EXTRAS[0]: epoch + 1, EXTRAS[1]: stopped,
            EXTRAS[2]: time.time() - self.start}, step=epoch)
