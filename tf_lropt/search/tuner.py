"""The explorer's exploration on KerasTuner: an Oracle and a Tuner, so trials run in parallel.

``ExplorerOracle`` hands out the digit-by-digit candidates of
:func:`tf_lropt.search.candidates.search_point`, the same function the explorer's
own loop replays, so the same scores give the same candidates, ranking and
winners. A digit's candidates depend on every score of the digit before: while
the last trials of a digit run elsewhere, the Oracle answers ``IDLE`` (as
KerasTuner's Hyperband does between its rounds) and the worker asks again.
Its state (the search's configuration, the scores it knows, the trials handed
out) goes through KerasTuner's ``get_state``/``set_state``, so a rerun resumes.

``ExplorerTuner`` trains one rate per trial from the explorer's initial weights
and writes the explorer's trial record (``directory/trials/<rate>.json``). With
the explorer's ``early_stopping``, the trial stops itself
(:mod:`tf_lropt.search.stopping`) and reports its best score, so the Oracle ranks
it like any other; the rule's settings are part of the configuration the Oracle
checks on a reload.

Distributed (KerasTuner's own mode): one chief process holds the Oracle and
workers ask it for trials over gRPC, each process started with the environment
variables ``KERASTUNER_TUNER_ID`` (``chief``, or a distinct id per worker),
``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT``; every process runs the
same ``LRExplorer(...).search()``. A worker killed mid-trial keeps its trial:
restarted with the same ``KERASTUNER_TUNER_ID`` it is handed the same trial again.

References:
    - Fujiwara, T. (2023). A program development: anyone can obtain a good
      validation result by this Learning Rate Explorer. (tables 2-4)
    - O'Malley, T. et al. (2019). KerasTuner. https://github.com/keras-team/keras-tuner
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import keras_tuner

from tf_lropt.search.candidates import rate_key, search_point

__all__ = ["ExplorerOracle", "ExplorerTuner", "TrialError"]

_DONE = (keras_tuner.engine.trial.TrialStatus.COMPLETED,
         keras_tuner.engine.trial.TrialStatus.FAILED)


class ExplorerOracle(keras_tuner.Oracle):
    """Hands out the explorer's candidates, one digit at a time, best-first ranked.

    Args:
        config: the search's configuration (``coarse_lrs`` as decimal strings,
            ``digits``, ``top_k``, ``refine_offsets``, ``direction``, ``objective``...);
            a reloaded state with another configuration is refused.
        known_scores: rate key -> score of trials finished outside this Oracle
            (the explorer's JSON records); they are never handed out.
        max_trials: stop once this many trials are known (all runs together).
        deadline: ``time.time()`` after which no trial starts.
    """

    def __init__(self, config: Mapping[str, Any], known_scores: Mapping[str, float] = (),
                 max_trials: int | None = None, deadline: float | None = None) -> None:
        super().__init__(objective=keras_tuner.Objective(config["objective"],
                                                         config["direction"]),
                         seed=1, max_retries_per_trial=0,
                         max_consecutive_failed_trials=1_000_000)
        self.config = dict(config)
        self.known_scores = dict(known_scores)
        self.search_max_trials = max_trials
        self.deadline = deadline
        for name, default in (("rate", "1"), ("quantum", "1"), ("digit", 1)):
            self.hyperparameters.Fixed(name, default)

    def scores(self) -> dict[str, float]:
        """Rate key -> score of every finished trial (failed ones score NaN)."""
        scores = dict(self.known_scores)
        for trial in self.trials.values():
            if trial.status in _DONE:
                score = trial.score if trial.score is not None else math.nan
                scores[trial.hyperparameters.values["rate"]] = float(score)
        return scores

    def point(self):
        c = self.config
        return search_point(c["coarse_lrs"], c["digits"], c["top_k"], c["refine_offsets"],
                            c["direction"], self.scores())

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        point = self.point()
        stopped = {"status": keras_tuner.engine.trial.TrialStatus.STOPPED}
        if point.complete:
            return stopped
        if self.search_max_trials is not None and len(self.scores()) >= self.search_max_trials:
            return stopped
        if self.deadline is not None and time.time() >= self.deadline:
            return stopped
        handed = {t.hyperparameters.values["rate"] for t in self.trials.values()
                  if t.status not in _DONE}
        for rate, quantum in point.missing:
            if rate_key(rate) not in handed:
                return {"status": keras_tuner.engine.trial.TrialStatus.RUNNING,
                        "values": {"rate": rate_key(rate), "quantum": rate_key(quantum),
                                   "digit": point.digit}}
        # The digit's last trials run elsewhere: its winners are not known yet.
        return {"status": keras_tuner.engine.trial.TrialStatus.IDLE}

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update(explorer_config=self.config, known_scores=self.known_scores)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        if state.get("explorer_config", self.config) != self.config:
            raise ValueError(
                f"The KerasTuner project holds a search with another configuration "
                f"({state['explorer_config']}); use a new directory to search with {self.config}."
            )
        self.known_scores = {**state.get("known_scores", {}), **self.known_scores}


class TrialError(keras_tuner.errors.FatalError):
    """A trial raised; ``__cause__`` holds the error. Stops KerasTuner's search."""


class _PatientOracle:
    """A worker's gRPC Oracle client that waits a little after an ``IDLE`` answer.

    KerasTuner's search loop asks again at once; at a digit's barrier that would
    keep a core busy with requests for the whole length of a trial.
    """

    def __init__(self, client: Any, pause: float) -> None:
        self._client, self._pause = client, pause

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def create_trial(self, tuner_id: str):
        trial = self._client.create_trial(tuner_id)
        if trial.status == keras_tuner.engine.trial.TrialStatus.IDLE:
            time.sleep(self._pause)
        return trial


class ExplorerTuner(keras_tuner.engine.base_tuner.BaseTuner):
    """Runs the explorer's trials: each one rate, from the explorer's initial weights.

    Args:
        explorer: the ``LRExplorer`` whose ``_run_trial`` trains a trial.
        oracle: an :class:`ExplorerOracle`.
        directory, project_name: KerasTuner's project (the explorer uses
            ``<explorer directory>/keras_tuner``).
        idle_pause: seconds a worker waits after an ``IDLE`` answer.
    """

    def __init__(self, explorer: Any, oracle: ExplorerOracle, directory: str,
                 project_name: str = "keras_tuner", idle_pause: float = 0.5) -> None:
        self.explorer = explorer
        super().__init__(oracle, directory=directory, project_name=project_name)
        if self._is_worker():
            self.oracle = _PatientOracle(self.oracle, idle_pause)

    def run_trial(self, trial, *args, **kwargs) -> dict[str, float]:
        values = trial.hyperparameters.values
        try:
            record = self.explorer._run_trial(Decimal(values["rate"]),
                                              Decimal(values["quantum"]), int(values["digit"]))
        except Exception as error:
            # KerasTuner would mark the trial failed and rank its rate last for good;
            # an error (out of memory, a bug) ends the search instead, as it does in
            # the explorer's own loop, and the trial is handed out again on a rerun.
            raise TrialError(str(error)) from error
        self.explorer._trial_done(record)
        score = record["score"]
        if not math.isfinite(score):  # KerasTuner marks a NaN score invalid; rank it last
            score = math.inf if self.explorer.direction == "min" else -math.inf
        return {self.explorer.objective: score}

    def save_model(self, trial_id, model, step=0) -> None:  # the explorer keeps no models
        pass

    def load_model(self, trial):
        raise NotImplementedError("The explorer's trials keep no models; see exploit().")
