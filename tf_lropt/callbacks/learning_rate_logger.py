"""Write the optimizer's current learning rate into the logs."""

from __future__ import annotations

from typing import Any

import keras

from tf_lropt import _validation as v
from tf_lropt.callbacks import _step_logs


class LearningRateLogger(keras.callbacks.Callback):
    """Puts the rate the optimizer uses into ``logs["learning_rate"]``.

    For optimizers whose ``learning_rate`` is a ``LearningRateSchedule`` (or a float
    another callback changes), so History, CSVLogger and TensorBoard record the
    cycle. The rate is read before each batch, i.e. the rate that batch's update
    uses. ``frequency="batch"`` also puts it into every batch's logs, added to the
    logs the train step returns so that TensorBoard (``update_freq="batch"``) and
    CSVLogger see it wherever this callback is listed; ``"epoch"`` only at epoch end
    (the last batch's rate; History always sees it, a CSVLogger only when listed
    after this callback). ``self.history`` keeps every per-batch value with its
    ``"iterations"``.

    Which epoch rate is which: History (through this callback) holds the rate the
    epoch's *last* update used, ``schedule(iterations - 1)``. TensorBoard's own
    ``epoch_learning_rate`` reads ``optimizer.learning_rate`` after the epoch, which
    for a schedule inside the optimizer is ``schedule(iterations)``, the rate of the
    *next* update: the two differ by one step. With ``ScheduleCallback`` (a float
    rate set before every batch) both show the last update's rate.
    """

    def __init__(self, frequency: str = "epoch"):
        super().__init__()
        self.frequency = v.check_choice("frequency", frequency, ("batch", "epoch"))
        self.history: dict[str, list[float]] = {"iterations": [], "learning_rate": []}
        self._rate: float | None = None

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.frequency == "batch":
            _step_logs.install(self.model, self, lambda: {"learning_rate": self._rate})
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

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        _step_logs.remove(self.model, self)
