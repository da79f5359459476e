"""A coarse-to-fine learning-rate explorer (Fujiwara, 2023), a KerasTuner tuner.

Exploration searches the rate one significant digit at a time: every rate of the
coarse list (0.009, ..., 0.001) trains a fresh model from the same initial weights
for ``epochs_per_trial`` epochs and scores its best epoch; the ``top_k`` best are
refined by one more digit (:mod:`tf_lropt.search.candidates`, exact decimals), up
to ``digits`` digits. Exploitation then trains one model with the found rates in
turn (:mod:`tf_lropt.search.exploitation`, the document's table 3). Where this
differs from the source: a digit's top-k are chosen among its whole list, parents
included, so a refinement never returns a worse rate than its parent; beyond the
paper, ``early_stopping="median"`` (:mod:`tf_lropt.search.stopping`).

``LRExplorer`` is a tuner as ``Hyperband`` is one: its Oracle
(:class:`tf_lropt.search.oracle.ExplorerOracle`) decides which rate trains next,
``run_trial`` trains it (:class:`tf_lropt.search.trials.TrialRunner`), and the
KerasTuner project ``directory/keras_tuner`` is the search's only store: running
the same explorer on the same directory trains only the missing trials.

Distributed (KerasTuner's own mode): every process runs the same
``LRExplorer(...).search()`` with ``KERASTUNER_TUNER_ID`` (``chief``, or any id per
worker), ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT``. Any process may be
killed and restarted under any id without a finished trial training again
(:mod:`tf_lropt.search.oracle`); workers without a chief stop after
``chief_timeout`` seconds (:mod:`tf_lropt.search.workers`). Afterwards the same
script run as one process (no ``KERASTUNER_*`` variables) reads the finished
search and goes on with ``exploit()``.

References:
    - Fujiwara, T. (2023). A program development: anyone can obtain a good
      validation result by this Learning Rate Explorer. (tables 2-6)
    - O'Malley, T. et al. (2019). KerasTuner. https://github.com/keras-team/keras-tuner
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import keras
import keras_tuner
import numpy as np

from tf_lropt._validation import check_choice, check_int, check_positive
from tf_lropt.search import exploitation, reports
from tf_lropt.search.candidates import PAPER_COARSE_LRS, PAPER_REFINE_OFFSETS, SearchPoint, rank
from tf_lropt.search.oracle import ExplorerOracle, read_trial_files
from tf_lropt.search.settings import SearchSettings, search_point_of
from tf_lropt.search.stopping import MedianStopping
from tf_lropt.search.trials import EpochReport, TrialRunner
from tf_lropt.search.workers import ChiefClient, ChiefUnreachableError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LRExplorer", "TrialError"]


class TrialError(keras_tuner.errors.FatalError):
    """A trial raised; ``__cause__`` holds the error. Stops the search (rerun: trained again)."""


class LRExplorer(keras_tuner.engine.base_tuner.BaseTuner):
    """Coarse-to-fine learning-rate search (Fujiwara, 2023), resumable, on KerasTuner.

    Args:
        build_model: ``build_model(learning_rate) -> compiled keras.Model``. Called
            once per trial; every model built gets the same initial weights.
        train_data: what ``fit`` takes as ``x``: a dataset, or ``(x, y)`` arrays.
        val_data: ``validation_data`` for ``fit``; needed for ``val_*`` objectives.
        objective: a key of the ``fit`` history, e.g. ``"val_loss"``.
        direction: ``"min"`` or ``"max"``.
        coarse_lrs: the first-digit rates (the paper: 0.009 ... 0.001).
        epochs_per_trial: epochs each rate trains (the paper: 50).
        top_k: rates kept after each digit (the paper: 2).
        digits: number of digits searched, >= 1 (the paper: 3).
        refine_offsets: the ``n`` of ``rate + n * step`` (the paper: 4 ... -10).
        directory: where the KerasTuner project, weights and tables are written.
        seed: seeds the initial weights and each trial's training.
        max_trials: stop after this many finished trials (all runs together).
        time_budget: stop starting new trials after this many seconds of this run.
        exploitation_order: ``"descending"`` rate (paper) or ``"score"``.
        batch_size: ``fit`` batch size for array data.
        fit_kwargs: further ``fit`` arguments.
        verbose: 0 silent, 1 one line per trial.
        engine: deprecated and ignored: exploration always runs on KerasTuner.
        early_stopping, early_stopping_grace, early_stopping_min_trials: ``None`` (the
            paper) or ``"median"``, with its grace epochs and the finished trials of the
            digit it waits for (:mod:`tf_lropt.search.stopping`).
        worker_timeout, chief_timeout, idle_pause: distributed mode: seconds without a
            report (one every epoch) after which a worker's trial goes to another;
            seconds a worker waits for an absent chief; pause after an ``IDLE`` answer.

    After ``search()``, ``found_rates`` holds the winners in exploitation order,
    ``ranked_rates`` the same rates best score first and ``trials`` the record of
    every finished trial by rate key.
    """

    def __init__(self, build_model: Callable[[float], keras.Model], train_data: Any,
                 val_data: Any = None, objective: str = "val_loss", direction: str = "min",
                 coarse_lrs: Sequence[float] = PAPER_COARSE_LRS, epochs_per_trial: int = 50,
                 top_k: int = 2, digits: int = 3,
                 refine_offsets: Iterable[int] = PAPER_REFINE_OFFSETS,
                 directory: str = "lr_explorer", seed: int | None = 0,
                 max_trials: int | None = None, time_budget: float | None = None,
                 exploitation_order: str = "descending", batch_size: int | None = None,
                 fit_kwargs: dict[str, Any] | None = None, verbose: int = 1,
                 engine: str | None = None, early_stopping: str | None = None,
                 early_stopping_grace: int = 1, early_stopping_min_trials: int = 3,
                 worker_timeout: float = 600.0, chief_timeout: float = 60.0,
                 idle_pause: float = 0.5) -> None:
        if engine is not None:
            check_choice("engine", engine, ("auto", "keras_tuner", "local"))
            warnings.warn("LRExplorer's `engine` argument is deprecated and ignored: the "
                          "exploration always runs on KerasTuner.", DeprecationWarning,
                          stacklevel=2)
        directory = os.fspath(directory)
        self.settings = SearchSettings.checked(
            objective, direction, coarse_lrs, epochs_per_trial, top_k, digits, refine_offsets,
            seed, early_stopping, early_stopping_grace, early_stopping_min_trials,
            has_val_data=val_data is not None)
        self.runner = TrialRunner(build_model, train_data, val_data, directory, seed, batch_size,
                                  fit_kwargs)
        self.objective, self.direction = self.settings.objective, self.settings.direction
        self.seed, self.verbose = seed, verbose
        self.max_trials = None if max_trials is None else check_int("max_trials", max_trials, low=1)
        self.time_budget = (None if time_budget is None
                            else check_positive("time_budget", time_budget))
        self.exploitation_order = check_choice("exploitation_order", exploitation_order,
                                               ("descending", "score"))
        check_positive("worker_timeout", worker_timeout)
        check_positive("chief_timeout", chief_timeout)
        oracle = ExplorerOracle(self.settings.as_config(), self.max_trials,
                                worker_timeout=worker_timeout)
        super().__init__(oracle, directory=directory, project_name="keras_tuner")
        if self._is_worker():
            self.oracle = ChiefClient(oracle, chief_timeout, idle_pause)
        else:
            oracle.load(self.directory)
        self.trials: dict[str, dict[str, Any]] = {}
        self.found_rates: list[float] = []
        self.ranked_rates: list[float] = []
        self.complete = False
        self.exploitation_history: list[dict[str, Any]] = []
        self.best_score = math.nan
        self.trained_this_run = 0

    # ----------------------------------------------------------------- budget
    def worst_case_trials(self) -> int:
        """Trials without any de-duplication: coarse + (digits-1) * top_k * offsets."""
        return self.settings.worst_case_trials()

    def worst_case_epochs(self) -> int:
        """Exploration epochs in the worst case (the paper's setting: 3,500)."""
        return self.settings.worst_case_epochs()

    def explored_epochs(self) -> int:
        """Epochs the finished trials trained, all runs together (less with early stopping)."""
        return sum(t["epochs"] or 0 for t in self.trials.values())

    def initial_weights_path(self) -> str:
        """The ``.npz`` file of the initial weights every trial starts from."""
        return self.runner.initial_weights_path()

    def initial_weights(self) -> list[np.ndarray]:
        """The weights every trial (and the exploitation) starts from, for baselines that
        must start from them too: ``model.set_weights(explorer.initial_weights())``. Raises
        ``FileNotFoundError`` before the first trial has started."""
        return self.runner.initial_weights()

    # ------------------------------------------------------------ exploration
    def _records(self) -> dict[str, dict[str, Any]]:
        records = (read_trial_files(self.project_dir, self.objective) if self._is_worker()
                   else self.oracle.records())
        return {r["key"]: r for r in records}

    def search(self) -> list[float]:
        """Runs (or resumes) exploration; returns the found rates.

        If ``max_trials`` or ``time_budget`` stops it first, ``complete`` is False
        and the rates returned are the best ``top_k`` of all finished trials.
        """
        self.trials, self.trained_this_run, self._seconds = self._records(), 0, []
        if self.verbose:
            print(f"LRExplorer: worst case {self.worst_case_trials()} trials x "
                  f"{self.settings.epochs_per_trial} epochs = {self.worst_case_epochs():,} "
                  f"epochs ({len(self.trials)} trials already finished in "
                  f"{self.directory!r})", flush=True)
        if not self._is_worker():
            if not self.trials:
                self.runner.check_objective(float(self.settings.coarse_lrs[0]), self.objective)
            self.oracle.deadline = (None if self.time_budget is None
                                    else time.time() + self.time_budget)
        with warnings.catch_warnings():
            # Trials report every epoch, as KerasTuner's deprecation notice advises against;
            # its alternative (one result at the end) would keep neither curve nor heartbeat.
            warnings.filterwarnings("ignore", "The use case of calling", DeprecationWarning)
            try:
                super().search(verbose=0)
            except TrialError as error:
                raise error.__cause__ from None
            except ChiefUnreachableError:
                # A worker that comes after the chief ended a finished search stops cleanly.
                if not self._point(self._records()).complete:
                    raise
                if self.verbose:
                    print(f"LRExplorer: the chief is gone and the search in "
                          f"{self.directory!r} is complete.", flush=True)
        self.trials = self._records()
        scores = {key: t["score"] for key, t in self.trials.items()}
        point = self._point(self.trials)
        self.complete = point.complete
        winners = point.winners if point.complete else \
            rank(self.trials, scores, self.direction)[: self.settings.top_k]
        self.ranked_rates = [self.trials[k]["rate"] for k in winners]
        self.found_rates = (sorted(self.ranked_rates, reverse=True)
                            if self.exploitation_order == "descending" else self.ranked_rates)
        reports.write_found_rates(os.path.join(self.directory, "found_rates.json"),
                                  self.found_rates, self.complete)
        reports.write_trials_csv(os.path.join(self.directory, "trials.csv"),
                                 self.trials.values())
        return self.found_rates

    def _point(self, records: dict[str, dict[str, Any]]) -> SearchPoint:
        return search_point_of(self.settings.as_config(),
                               {key: t["score"] for key, t in records.items()})

    def _stopping_callback(self, digit: int) -> MedianStopping | None:
        s = self.settings
        if s.early_stopping is None:
            return None
        references = [t["curve"] for t in self._records().values() if t["digit"] == digit]
        return MedianStopping(self.objective, references, self.direction, s.epochs_per_trial,
                              s.early_stopping_grace, s.early_stopping_min_trials)

    def run_trial(self, trial, *args, **kwargs) -> None:
        """Trains one rate from the initial weights, reporting every epoch to the Oracle."""
        values = trial.hyperparameters.values
        stopping = self._stopping_callback(int(values["digit"]))
        report = EpochReport(self.oracle, trial.trial_id, self.objective, stopping)
        try:
            curve, seconds = self.runner.train(
                float(values["rate"]), self.settings.epochs_per_trial, self.objective,
                [c for c in (stopping, report) if c])
        except keras_tuner.errors.FatalError:
            raise
        except Exception as error:
            # KerasTuner would mark the trial failed and rank its rate last for good; an
            # error (out of memory, a bug) ends the search instead, and a rerun retrains it.
            raise TrialError(str(error)) from error
        self.trained_this_run += 1
        self._seconds.append(seconds)
        if self.verbose:
            done = len(self._records()) + 1  # this trial has not ended yet
            total = min(self.worst_case_trials(), self.max_trials or math.inf)
            print(reports.progress_line(values, curve, self.objective, self.direction, done,
                                        int(total), self._seconds), flush=True)

    def save_model(self, trial_id, model, step=0) -> None:  # the explorer keeps no models
        pass

    def load_model(self, trial):
        raise NotImplementedError("The explorer's trials keep no models; see exploit().")

    # ----------------------------------------------------------- exploitation
    def exploit(self, rates: Sequence[float] | None = None, max_epochs: int = 1000,
                test_data: Any = None,
                predict_fn: Callable[[keras.Model, Any], np.ndarray] | None = None,
                patience: int | None = None) -> keras.Model:
        """Trains one model with the found rates in turn; returns it with the best weights.

        The document's table 3 (:func:`tf_lropt.search.exploitation.exploit`): a rate
        trains while the objective improves on its best, then the next takes over,
        cycling through the list for ``max_epochs`` epochs (the document: about
        1,000); ``patience`` stops after that many passes without improvement
        (``patience=1``: the rule of tf_lropt 0.x). Every improvement saves
        ``directory/exploit/best.weights.h5`` and, with ``test_data``, the
        predictions (``predict_fn(model, x)``, default ``model.predict``) as
        ``directory/exploit/predictions*.csv``. Resumable after a kill, epoch by
        epoch, ending as an uninterrupted run; other rates start over.
        """
        rates = exploitation.check_arguments(
            rates if rates is not None else self.found_rates, max_epochs, patience)
        out = os.path.join(self.directory, "exploit")

        def improved(model: keras.Model) -> None:
            if test_data is not None:
                exploitation.write_predictions(model, test_data, predict_fn, out)

        model = self.runner.fresh_model(rates[0])
        self.exploitation_history, self.best_score = exploitation.exploit(
            model, self.runner.fit, rates, out, self.objective, self.direction, max_epochs,
            patience, self.seed, improved, self.verbose)
        return model

    def run(self, max_epochs: int = 1000, test_data: Any = None,
            patience: int | None = None) -> keras.Model | None:
        """``search()`` then, if it completed, ``exploit()``."""
        self.search()
        if not self.complete:
            return None
        return self.exploit(max_epochs=max_epochs, test_data=test_data, patience=patience)

    # ---------------------------------------------------------------- results
    def trials_dataframe(self) -> pd.DataFrame:
        """One row per finished trial (:data:`tf_lropt.search.reports.TRIAL_COLUMNS`)."""
        return reports.trials_dataframe(self.trials.values())

    def plot_exploration(self, inverse: bool = True) -> list:
        """Score (1/score with ``inverse``, as in the paper) against rate, one panel per digit."""
        return reports.plot_exploration(self.trials.values(), self.objective, inverse)

    def plot_exploitation(self, ax: Any = None) -> Any:
        """The objective per epoch of the exploitation phase, coloured by rate; returns the axes."""
        return reports.plot_exploitation(self.exploitation_history, self.objective, ax)
