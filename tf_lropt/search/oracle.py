"""The explorer's KerasTuner Oracle: which rate trains next, and the trial records.

``ExplorerOracle`` hands out the digit-by-digit candidates of
:func:`tf_lropt.search.candidates.search_point`. A digit's candidates depend on
every score of the digit before: while its last trials run elsewhere, the
Oracle answers ``IDLE`` (as KerasTuner's Hyperband does between its rounds).

KerasTuner's trial files (``trial_*/trial.json``) are the search's only store: a
trial reports its objective every epoch (which is also the worker's sign of
life) with the ``EXTRAS`` (epochs so far, stopped, seconds), so the objective's
history is its curve and KerasTuner's score its best epoch; the Oracle adds the
``worker`` (tuner id) that ran it. :func:`trial_record`
reads one back.

Nothing finished is ever trained twice, whichever process dies: KerasTuner hands
the trials that were running when the chief stopped out again on a reload, and
the Oracle drops from that queue every trial that has a completed record (it
also saves its state after, not only before, a finished trial leaves the running
list). A trial whose worker has not reported for ``worker_timeout`` seconds goes
to the next worker that asks; a report that comes after its trial was finished
by another worker is ignored.

References:
    - Fujiwara, T. (2023). A program development: anyone can obtain a good
      validation result by this Learning Rate Explorer. (tables 2-4)
    - O'Malley, T. et al. (2019). KerasTuner. https://github.com/keras-team/keras-tuner
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from typing import Any

import keras_tuner
from keras_tuner.engine.trial import Trial, TrialStatus

from tf_lropt._files import atomic_write
from tf_lropt.search.candidates import SearchPoint, rate_key
from tf_lropt.search.settings import search_point_of

__all__ = ["EXTRAS", "ExplorerOracle", "read_trial_files", "trial_record"]

# Reported with the objective every epoch: the trial's length so far, whether early
# stopping ended it, its seconds so far. The objective's history is the trial's curve.
EXTRAS = ("trial_epochs", "trial_stopped", "trial_seconds")
_DONE = (TrialStatus.COMPLETED, TrialStatus.FAILED)


def trial_record(trial: Trial, objective: str, worker: str | None = None) -> dict[str, Any]:
    """A finished trial as the explorer's record: rate, digit, score, curve, worker..."""
    values, metrics = trial.hyperparameters.values, trial.metrics

    def history(name: str) -> list[float]:
        return [float(o.mean()) for o in metrics.get_history(name)] if metrics.exists(name) else []

    curve = history(objective)
    epochs, stopped, seconds = (history(name)[-1:] or [None] for name in EXTRAS)
    score = trial.score if trial.status == TrialStatus.COMPLETED else None
    score = float(score) if score is not None and math.isfinite(score) else math.nan
    return {"key": values["rate"], "rate": float(values["rate"]), "quantum": values["quantum"],
            "digit": int(values["digit"]), "score": score,
            "best_epoch": None if math.isnan(score) or trial.best_step is None
            else int(trial.best_step) + 1,
            "epochs": len(curve) if epochs[0] is None else int(epochs[0]),
            "stopped": None if stopped[0] is None else bool(stopped[0]),
            "seconds": math.nan if seconds[0] is None else seconds[0],
            "curve": curve, "worker": worker}


def read_trial_files(project_dir: str, objective: str) -> list[dict[str, Any]]:
    """The records of the finished trials in a KerasTuner project (any process may read)."""
    records = []
    for name in sorted(os.listdir(project_dir)) if os.path.isdir(project_dir) else []:
        path = os.path.join(project_dir, name, "trial.json")
        if name.startswith("trial_") and os.path.exists(path):
            with open(path) as f:
                state = json.load(f)
            trial = Trial.from_state(state)
            if trial.status in _DONE:
                records.append(trial_record(trial, objective, state.get("worker")))
    return records


def read_legacy_records(directory: str) -> list[dict[str, Any]]:
    """The JSON trial records of tf_lropt 0.x (``directory/trials/*.json``), to import once."""
    folder = os.path.join(directory, "trials")
    records = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if name.endswith(".json"):
            with open(os.path.join(folder, name)) as f:
                records.append(json.load(f))
    return records


class ExplorerOracle(keras_tuner.Oracle):
    """Hands out the explorer's candidates, one digit at a time, best-first ranked.

    Args:
        config: the search's configuration (``SearchSettings.as_config()``); a
            reloaded state with another configuration is refused.
        max_trials: stop once this many trials are finished (all runs together).
        deadline: ``time.time()`` after which no trial starts.
        worker_timeout: seconds without a report (one comes every epoch) after
            which a running trial goes to the next worker that asks.
    """

    def __init__(self, config: Mapping[str, Any], max_trials: int | None = None,
                 deadline: float | None = None, worker_timeout: float = 600.0) -> None:
        super().__init__(objective=keras_tuner.Objective(config["objective"],
                                                         config["direction"]),
                         seed=1, max_retries_per_trial=0,
                         max_consecutive_failed_trials=1_000_000)
        self.config = dict(config)
        self.search_max_trials = max_trials
        self.deadline = deadline
        self.worker_timeout = worker_timeout
        self.workers: dict[str, str] = {}  # trial id -> the tuner id that ran it
        self._heard: dict[str, float] = {}  # tuner id -> time of its last request
        for name, default in (("rate", "1"), ("quantum", "1"), ("digit", 1)):
            self.hyperparameters.Fixed(name, default)

    # ------------------------------------------------------------ the search
    def finished(self) -> dict[str, Trial]:
        """Rate key -> its finished trial (completed, or failed for good)."""
        return {t.hyperparameters.values["rate"]: t for t in self.trials.values()
                if t.status in _DONE}

    def scores(self) -> dict[str, float]:
        """Rate key -> score of every finished trial (failed ones score NaN)."""
        return {key: float(t.score) if t.status == TrialStatus.COMPLETED and t.score is not None
                else math.nan for key, t in self.finished().items()}

    def point(self) -> SearchPoint:
        """Where the search stands on the finished trials' scores."""
        return search_point_of(self.config, self.scores())

    def records(self) -> list[dict[str, Any]]:
        """The explorer's record of every finished trial."""
        return [trial_record(t, self.objective.name, self.workers.get(t.trial_id))
                for t in self.finished().values()]

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        point = self.point()
        stopped = {"status": TrialStatus.STOPPED}
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
                return {"status": TrialStatus.RUNNING,
                        "values": {"rate": rate_key(rate), "quantum": rate_key(quantum),
                                   "digit": point.digit}}
        # The digit's last trials run elsewhere: its winners are not known yet.
        return {"status": TrialStatus.IDLE}

    # ------------------------------------------------- nothing lost, nothing twice
    def _ended(self, trial_id: str) -> bool:
        # end_order, not the status: in one process the tuner sets the status of the
        # Oracle's own trial object before it calls end_trial.
        return trial_id in self.end_order

    def _drop_finished_from_queue(self) -> None:
        self._retry_queue = [i for i in self._retry_queue if not self._ended(i)]
        for tuner_id, trial in list(self.ongoing_trials.items()):
            if self._ended(trial.trial_id):
                del self.ongoing_trials[tuner_id]

    def _requeue_silent_workers(self, asking: str) -> None:
        now = time.time()
        for tuner_id, trial in list(self.ongoing_trials.items()):
            if tuner_id != asking and now - self._heard.get(tuner_id, now) > self.worker_timeout:
                del self.ongoing_trials[tuner_id]
                self.tuner_ids.discard(tuner_id)  # else the chief waits for it to leave
                self._heard.pop(tuner_id, None)
                self._retry_queue.append(trial.trial_id)

    @keras_tuner.synchronized
    def create_trial(self, tuner_id: str) -> Trial:
        self._heard[tuner_id] = time.time()
        self._drop_finished_from_queue()
        self._requeue_silent_workers(tuner_id)
        trial = super().create_trial(tuner_id)
        if trial.status == TrialStatus.RUNNING and trial.metrics.metrics:
            # Handed out again (after a restart, or a silent worker's): it trains from its
            # first epoch, so the epochs reported before would mix into its curve.
            trial.metrics = type(trial.metrics)()
            self._save_trial(trial)
        return trial

    def _holder(self, trial_id: str) -> str | None:
        return next((t for t, trial in self.ongoing_trials.items() if trial.trial_id == trial_id),
                    None)

    @keras_tuner.synchronized
    def update_trial(self, trial_id: str, metrics: Mapping[str, float], step: int = 0) -> Trial:
        trial = self.trials[trial_id]
        holder = self._holder(trial_id)
        if holder is not None:
            self._heard[holder] = time.time()
        if self._ended(trial_id):  # a late report of a trial another worker finished
            return trial
        return super().update_trial(trial_id, metrics, step)

    @keras_tuner.synchronized
    def end_trial(self, trial: Trial) -> None:
        if self._ended(trial.trial_id):
            self._drop_finished_from_queue()
            return
        holder = self._holder(trial.trial_id)
        if holder is not None:
            self.workers[trial.trial_id] = holder
        super().end_trial(trial)
        self.save()  # KerasTuner saved before the trial left the running list

    def _save_trial(self, trial: Trial) -> None:
        state = trial.get_state()
        state["worker"] = self.workers.get(trial.trial_id)
        with atomic_write(os.path.join(self._get_trial_dir(trial.trial_id), "trial.json")) as f:
            json.dump(state, f)

    def reload(self) -> None:
        super().reload()
        for trial_id, trial in self.trials.items():
            # A trial file is written as finished only by end_trial: one the chief finished
            # just before it died, without saving oracle.json, is finished too.
            if trial.status in _DONE and trial_id not in self.end_order:
                self.end_order.append(trial_id)
            with open(os.path.join(self._get_trial_dir(trial_id), "trial.json")) as f:
                worker = json.load(f).get("worker")
            if worker is not None:
                self.workers[trial_id] = worker
        self._drop_finished_from_queue()

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update(explorer_config=self.config)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        if state.get("explorer_config", self.config) != self.config:
            raise ValueError(
                f"The KerasTuner project holds a search with another configuration "
                f"({state['explorer_config']}); use a new directory to search with {self.config}."
            )

    def load(self, directory: str) -> None:
        """Reloads the project (any tuner id), then imports 0.x JSON records once."""
        if os.path.exists(self._get_oracle_fname()) and not self.trials:
            self.reload()  # KerasTuner reloads only when this tuner id has its own file
        legacy_config = os.path.join(directory, "explorer.json")
        if os.path.exists(legacy_config):
            with open(legacy_config) as f:
                saved = json.load(f)
            if saved != self.config:
                raise ValueError(
                    f"The directory {directory!r} holds a search with another configuration "
                    f"({saved}); use a new directory to search with {self.config}.")
        known = set(self.finished())
        legacy = [r for r in read_legacy_records(directory) if r["key"] not in known]
        for record in legacy:
            self.import_record(record)
        if legacy:
            self.save()

    def import_record(self, record: Mapping[str, Any]) -> None:
        """Adds a finished trial of the explorer's former JSON store as a completed trial."""
        values = {"rate": record["key"], "quantum": record["quantum"],
                  "digit": int(record["digit"])}
        hyperparameters = self.hyperparameters.copy()
        hyperparameters.values = values
        trial = Trial(hyperparameters, trial_id=f"{len(self.trials):04d}",
                      status=TrialStatus.COMPLETED)
        trial.metrics.register(self.objective.name, direction=self.objective.direction)
        curve = record.get("curve") or [record["score"]]
        for step, value in enumerate(curve):
            trial.metrics.update(self.objective.name, value, step=step)
        extras = (record.get("epochs") or len(curve), float(bool(record.get("stopped"))),
                  record.get("seconds", math.nan))
        for name, value in zip(EXTRAS, extras, strict=True):
            trial.metrics.update(name, value, step=len(curve) - 1)
        trial.score = float(record["score"])
        trial.best_step = (record.get("best_epoch") or 1) - 1
        self.trials[trial.trial_id] = trial
        self.start_order.append(trial.trial_id)
        self.end_order.append(trial.trial_id)
        self._save_trial(trial)
