"""A worker's link to the chief in KerasTuner's distributed mode, with bounded waits.

KerasTuner's own client waits up to an hour for an absent chief and crashes on
some gRPC errors. ``ChiefClient`` asks with ``chief_timeout`` seconds (waiting for
the chief to come up within them) and turns any failure into
``ChiefUnreachableError``, which stops the worker's search with a message that
says what to do. After an ``IDLE`` answer (a digit's last trials run elsewhere)
it pauses ``idle_pause`` seconds before asking again, where KerasTuner's loop
would ask at once and keep a core busy.
"""

from __future__ import annotations

import os
import time

import grpc
import keras_tuner
from keras_tuner.engine.trial import Trial, TrialStatus
from keras_tuner.src import protos
from keras_tuner.src.distribute.oracle_client import OracleClient

__all__ = ["ChiefClient", "ChiefUnreachableError"]


class ChiefUnreachableError(keras_tuner.errors.FatalError):
    """The chief did not answer in time: this worker stops (its trial is handed out again)."""


class ChiefClient(OracleClient):
    """KerasTuner's ``OracleClient`` with a timeout, a clear error and a pause when idle."""

    def __init__(self, oracle: keras_tuner.Oracle, chief_timeout: float,
                 idle_pause: float) -> None:
        super().__init__(oracle)
        self.chief_timeout, self.idle_pause = chief_timeout, idle_pause

    def _call(self, method: str, request):
        try:
            return getattr(self.stub, method)(request, wait_for_ready=True,
                                              timeout=self.chief_timeout)
        except grpc.RpcError as error:
            address = (f"{os.environ.get('KERASTUNER_ORACLE_IP')}:"
                       f"{os.environ.get('KERASTUNER_ORACLE_PORT')}")
            raise ChiefUnreachableError(
                f"Worker {self.tuner_id!r}: the chief at {address} did not answer within "
                f"{self.chief_timeout:g} s ({error.code().name}); stopping. Restart the chief: "
                "it resumes from the directory, hands out this worker's trial again, and "
                "workers restarted under any KERASTUNER_TUNER_ID continue.") from None

    def create_trial(self, tuner_id: str) -> Trial:
        request = protos.get_service().CreateTrialRequest(tuner_id=tuner_id)
        trial = Trial.from_proto(self._call("CreateTrial", request).trial)
        if trial.status == TrialStatus.IDLE:
            time.sleep(self.idle_pause)
        return trial

    def update_trial(self, trial_id: str, metrics, step: int = 0) -> Trial:
        request = protos.get_service().UpdateTrialRequest(trial_id=trial_id, metrics=metrics,
                                                          step=step)
        return Trial.from_proto(self._call("UpdateTrial", request).trial)

    def end_trial(self, trial: Trial) -> None:
        self._call("EndTrial", protos.get_service().EndTrialRequest(trial=trial.to_proto()))

    def get_trial(self, trial_id: str) -> Trial:
        request = protos.get_service().GetTrialRequest(trial_id=trial_id)
        return Trial.from_proto(self._call("GetTrial", request).trial)
