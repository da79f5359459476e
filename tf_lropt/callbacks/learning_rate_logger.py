"""Write the optimizer's current learning rate into the logs."""

from __future__ import annotations

from typing import Any

import keras

from tf_lropt import _validation as v


class LearningRateLogger(keras.callbacks.Callback):
    """Puts the rate the optimizer uses into ``logs["learning_rate"]``.

    For optimizers whose ``learning_rate`` is a ``LearningRateSchedule`` (or a float
    another callback changes), so History, CSVLogger and TensorBoard record the
    cycle. The rate is read before each batch, i.e. the rate that batch's update
    uses. ``frequency="batch"`` also writes it into every batch's logs
    (TensorBoard with ``update_freq="batch"`` plots it per step); ``"epoch"`` only
    at epoch end (the last batch's rate). ``self.history`` keeps every per-batch
    value with its ``"iterations"``.
    """

    def __init__(self, frequency: str = "epoch"):
        super().__init__()
        self.frequency = v.check_choice("frequency", frequency, ("batch", "epoch"))
        self.history: dict[str, list[float]] = {"iterations": [], "learning_rate": []}
        self._rate: float | None = None

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        optimizer = self.model.optimizer
        self._rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        step = int(keras.ops.convert_to_numpy(optimizer.iterations))
        self.history["iterations"].append(step)
        self.history["learning_rate"].append(self._rate)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.frequency == "batch" and logs is not None and self._rate is not None:
            logs["learning_rate"] = self._rate

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None and self._rate is not None:
            logs["learning_rate"] = self._rate
