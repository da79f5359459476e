"""A coarse-to-fine learning-rate explorer: exploration, then exploitation.

Exploration searches the rate one significant digit at a time. Every rate of
the coarse list (0.009, 0.008, ..., 0.001) trains a freshly built model from the
same initial weights for ``epochs_per_trial`` epochs; a trial's score is its best
epoch. The ``top_k`` best rates are refined by one more digit,
``rate + n * 10**-(d + 1)`` for ``n`` in ``refine_offsets`` (4, 3, ..., -10), where
``10**-d`` is the place of the digit just searched (0.001 for the coarse list,
whose place is that of each rate's last digit); the new list is sorted in
descending order without non-positive, duplicate or already tried rates, and the
search repeats until ``digits`` digits. With the paper's example, 0.002 and 0.001
give 0.0024, 0.0023, ..., 0.0001, and 0.0007 and 0.0004 give 0.00074, ..., 0.00030.

Exploitation then trains one model with the found rates in turn: it keeps a rate
while the objective improves and moves to the next one when it worsens, cycling
through the list until a whole pass brings no improvement (or ``max_epochs``).
Whenever the objective improves the weights are saved and, if test data is
given, its predictions are written to CSV.

Rates are decimal numbers: they are generated with ``decimal.Decimal`` and
rounded to the refined digit, so no float noise such as 0.00030000000000000003
appears (the paper's table 4 rounds for the same reason).

Where this differs from the source: the top-k of a digit are chosen among that
digit's whole generated list, including the parents (n = 0) and other rates
already tried, whose scores are reused rather than retrained; so a refinement
never returns a worse rate than its parent. Exploitation order is descending
rate, as in the paper (table 5); ``exploitation_order="score"`` orders by score.
Beyond the paper, ``early_stopping="median"`` (off by default) stops a trial that
falls behind its digit's median (:mod:`tf_lropt.search.stopping`).

Persistence: each finished trial is a JSON file in ``directory/trials``, written
at once (atomically). Candidate generation is a deterministic function of the
finished trials (:func:`tf_lropt.search.candidates.search_point`), so running the
same explorer on the same directory replays the search and trains only the
missing trials. Exploitation saves its whole state after every epoch and
continues from it when called again (see :meth:`LRExplorer.exploit`).

Engines: with KerasTuner installed, exploration runs on it
(:mod:`tf_lropt.search.tuner`): its Oracle answers ``IDLE`` at a digit's barrier,
so the trials of a digit can run side by side in KerasTuner's distributed mode;
the finished JSON records are the Oracle's known scores, so directories written
by the explorer's own loop (``engine="local"``) are resumed by either engine.

References:
    - Fujiwara, T. (2023). A program development: anyone can obtain a good
      validation result by this Learning Rate Explorer. (tables 2-6)
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import keras
import numpy as np

from tf_lropt._validation import check_choice, check_int, check_positive
from tf_lropt.search import _common
from tf_lropt.search.candidates import (
    PAPER_COARSE_LRS,
    PAPER_REFINE_OFFSETS,
    rank,
    rate_key,
    rate_quantum,
    refine_rates,
    search_point,
    to_decimal,
)
from tf_lropt.search.stopping import EARLY_STOPPING_RULES, MedianStopping

__all__ = ["PAPER_COARSE_LRS", "PAPER_REFINE_OFFSETS", "LRExplorer", "rate_quantum",
           "refine_rates"]


class LRExplorer:
    """Coarse-to-fine learning-rate search (Fujiwara, 2023), resumable.

    Args:
        build_model: ``build_model(learning_rate) -> compiled keras.Model``. Called
            once per trial; the explorer loads the same initial weights into every
            model it builds.
        train_data: what ``fit`` takes as ``x``: a dataset, or ``(x, y)`` arrays.
        val_data: ``validation_data`` for ``fit``; needed for ``val_*`` objectives.
        objective: a key of the ``fit`` history, e.g. ``"val_loss"``.
        direction: ``"min"`` or ``"max"``.
        coarse_lrs: the first-digit rates (the paper: 0.009 ... 0.001).
        epochs_per_trial: epochs each rate trains (the paper: 50).
        top_k: rates kept after each digit (the paper: 2).
        digits: number of digits searched, >= 1 (the paper: 3).
        refine_offsets: the ``n`` of ``rate + n * step`` (the paper: 4 ... -10).
        directory: where trials, weights and tables are written.
        seed: seeds the initial weights and each trial's training.
        max_trials: stop after this many finished trials (all runs together).
        time_budget: stop starting new trials after this many seconds of this run.
        exploitation_order: ``"descending"`` rate (paper) or ``"score"``.
        batch_size: ``fit`` batch size for array data.
        fit_kwargs: further ``fit`` arguments.
        verbose: 0 silent, 1 one line per trial.
        engine: who runs exploration: ``"keras_tuner"`` (an ``ExplorerOracle``
            and ``ExplorerTuner`` in ``directory/keras_tuner``; parallel workers,
            see :mod:`tf_lropt.search.tuner`), ``"local"`` (a loop in this process,
            no dependency) or ``"auto"`` (KerasTuner when it is installed). Both
            train the same trials in the same order and write the same records.
        early_stopping: ``None`` (the paper: every trial trains ``epochs_per_trial``
            epochs) or ``"median"``: a trial stops once its best objective so far is
            worse than the median of its digit's finished trials at the same epoch
            (:mod:`tf_lropt.search.stopping`); it keeps its best score and is ranked
            with it, and its record says ``"stopped": true`` and how many epochs ran.
        early_stopping_grace: epochs every trial trains before the rule applies.
        early_stopping_min_trials: finished trials of the digit, at that epoch, the
            rule waits for.

    After ``search()``, ``found_rates`` holds the winners in exploitation order and
    ``ranked_rates`` the same rates best score first.
    """

    def __init__(
        self,
        build_model: Callable[[float], keras.Model],
        train_data: Any,
        val_data: Any = None,
        objective: str = "val_loss",
        direction: str = "min",
        coarse_lrs: Sequence[float] = PAPER_COARSE_LRS,
        epochs_per_trial: int = 50,
        top_k: int = 2,
        digits: int = 3,
        refine_offsets: Iterable[int] = PAPER_REFINE_OFFSETS,
        directory: str = "lr_explorer",
        seed: int | None = 0,
        max_trials: int | None = None,
        time_budget: float | None = None,
        exploitation_order: str = "descending",
        batch_size: int | None = None,
        fit_kwargs: dict[str, Any] | None = None,
        verbose: int = 1,
        engine: str = "auto",
        early_stopping: str | None = None,
        early_stopping_grace: int = 1,
        early_stopping_min_trials: int = 3,
    ) -> None:
        if not callable(build_model):
            raise ValueError(f"Argument `build_model` must be callable; received {build_model!r}.")
        coarse = list(coarse_lrs) if coarse_lrs is not None else []
        if not coarse:
            raise ValueError(f"Argument `coarse_lrs` must not be empty; received {coarse_lrs!r}.")
        for i, rate in enumerate(coarse):
            check_positive(f"coarse_lrs[{i}]", rate)
        offsets = list(refine_offsets)
        if not offsets:
            raise ValueError(
                f"Argument `refine_offsets` must not be empty; received {refine_offsets!r}."
            )
        for i, n in enumerate(offsets):
            check_int(f"refine_offsets[{i}]", n)
        if not isinstance(objective, str) or not objective:
            raise ValueError(f"Argument `objective` must be a metric name; received {objective!r}.")
        if objective.startswith("val_") and val_data is None:
            raise ValueError(
                f"Argument `objective`={objective!r} is a validation metric, but `val_data` is "
                "None; pass val_data or a training objective."
            )
        self.build_model = build_model
        self.train_data = train_data
        self.val_data = val_data
        self.objective = objective
        self.direction = _common.resolve_direction(objective, direction)
        self.coarse_lrs = [to_decimal(r).normalize() for r in coarse]
        self.epochs_per_trial = check_int("epochs_per_trial", epochs_per_trial, low=1)
        self.top_k = check_int("top_k", top_k, low=1)
        self.digits = check_int("digits", digits, low=1)
        self.refine_offsets = offsets
        self.directory = os.fspath(directory)
        self.seed = seed
        self.max_trials = None if max_trials is None else check_int("max_trials", max_trials, low=1)
        self.time_budget = None if time_budget is None else check_positive("time_budget",
                                                                           time_budget)
        self.exploitation_order = check_choice(
            "exploitation_order", exploitation_order, ("descending", "score")
        )
        self.batch_size = batch_size
        self.fit_kwargs = dict(fit_kwargs or {})
        self.verbose = verbose
        self.engine = check_choice("engine", engine, ("auto", "keras_tuner", "local"))
        self.early_stopping = check_choice("early_stopping", early_stopping,
                                           (None, *EARLY_STOPPING_RULES))
        self.early_stopping_grace = check_int("early_stopping_grace", early_stopping_grace,
                                              low=1)
        self.early_stopping_min_trials = check_int(
            "early_stopping_min_trials", early_stopping_min_trials, low=1)
        self.trials: dict[str, dict[str, Any]] = {}
        self.found_rates: list[float] = []
        self.ranked_rates: list[float] = []
        self.complete = False
        self.exploitation_history: list[dict[str, Any]] = []
        self.trained_this_run = 0

    # ----------------------------------------------------------------- budget
    def worst_case_trials(self) -> int:
        """Trials without any de-duplication: coarse + (digits-1) * top_k * offsets."""
        refined = (self.digits - 1) * self.top_k * len(self.refine_offsets)
        return len(set(self.coarse_lrs)) + refined

    def worst_case_epochs(self) -> int:
        """Exploration epochs in the worst case (the paper's setting: 3,500)."""
        return self.worst_case_trials() * self.epochs_per_trial

    # ------------------------------------------------------------ persistence
    @property
    def _trial_dir(self) -> str:
        return os.path.join(self.directory, "trials")

    def _load_trials(self) -> None:
        self.trials = self._read_records()

    def _read_records(self) -> dict[str, dict[str, Any]]:
        records = {}
        if os.path.isdir(self._trial_dir):
            for name in sorted(os.listdir(self._trial_dir)):
                if name.endswith(".json"):
                    with open(os.path.join(self._trial_dir, name)) as f:
                        record = json.load(f)
                    records[record["key"]] = record
        return records

    def _save_json(self, path: str, data: Any) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        partial = path + ".partial"
        with open(partial, "w") as f:
            json.dump(data, f, indent=1)
        os.replace(partial, path)

    def _config(self) -> dict[str, Any]:
        config = {
            "objective": self.objective,
            "direction": self.direction,
            "coarse_lrs": [rate_key(r) for r in self.coarse_lrs],
            "epochs_per_trial": self.epochs_per_trial,
            "top_k": self.top_k,
            "digits": self.digits,
            "refine_offsets": self.refine_offsets,
            "seed": self.seed,
        }
        if self.early_stopping is not None:  # absent by default: older directories still match
            config.update(early_stopping=self.early_stopping,
                          early_stopping_grace=self.early_stopping_grace,
                          early_stopping_min_trials=self.early_stopping_min_trials)
        return config

    def _check_config(self) -> None:
        config = self._config()
        path = os.path.join(self.directory, "explorer.json")
        if os.path.exists(path):
            with open(path) as f:
                saved = json.load(f)
            if saved != config:
                raise ValueError(
                    f"The directory {self.directory!r} holds a search with another configuration "
                    f"({saved}); use a new directory to search with {config}."
                )
        else:
            self._save_json(path, config)

    # ----------------------------------------------------------------- models
    def initial_weights_path(self) -> str:
        """The ``.npz`` file of the initial weights every trial starts from."""
        return os.path.join(self.directory, "initial_weights.npz")

    def _fresh_model(self, rate: float) -> keras.Model:
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        model = self.build_model(rate)
        if getattr(model, "optimizer", None) is None:
            raise ValueError("`build_model` must return a compiled model (call model.compile).")
        # Model variables only: Keras' save_weights would also store the optimizer's
        # variables, the learning rate among them, and loading them would give every
        # trial the rate of the first model built.
        path = self.initial_weights_path()
        if not os.path.exists(path):
            # Parallel workers may all get here: each writes its own file, and the first to
            # link it into place wins; the others then load the winner's weights below.
            os.makedirs(self.directory, exist_ok=True)
            partial = f"{path}.{os.getpid()}.partial.npz"
            np.savez(partial, **{f"w{i}": w for i, w in enumerate(model.get_weights())})
            try:
                os.link(partial, path)
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links: the last one wins
                os.replace(partial, path)
            if os.path.exists(partial):
                os.remove(partial)
        with np.load(path) as stored:
            model.set_weights([stored[f"w{i}"] for i in range(len(stored.files))])
        return model

    def _fit(self, model: keras.Model, epochs: int, initial_epoch: int = 0, callbacks=()):
        x, y = _common.split_xy(self.train_data)
        kwargs = dict(self.fit_kwargs)
        kwargs.setdefault("verbose", 0)
        return model.fit(
            x, y, batch_size=self.batch_size, epochs=epochs, initial_epoch=initial_epoch,
            validation_data=self.val_data, callbacks=[*kwargs.pop("callbacks", []), *callbacks],
            **kwargs,
        )

    def _scores(self) -> dict[str, float]:
        return {key: trial["score"] for key, trial in self.trials.items()}

    # ---------------------------------------------------------- exploration
    def _run_trial(self, rate: Decimal, quantum: Decimal, digit: int) -> dict[str, Any]:
        model = self._fresh_model(float(rate))
        start = time.time()
        stopping = self._stopping_callback(digit)
        history = self._fit(model, self.epochs_per_trial,
                            callbacks=[stopping] if stopping else ()).history
        if self.objective not in history:
            raise ValueError(
                f"Argument `objective`={self.objective!r} is not produced by training; "
                f"history has {sorted(history)}."
            )
        curve = [float(v) for v in history[self.objective]]
        best, best_epoch = _common.best_of(curve, self.direction)
        record = {
            "key": rate_key(rate),
            "rate": float(rate),
            "quantum": rate_key(quantum),
            "digit": digit,
            "score": best,
            "best_epoch": best_epoch,
            "epochs": len(curve),
            "stopped": bool(stopping and stopping.stopped),
            "seconds": time.time() - start,
            "curve": curve,
        }
        self._save_json(os.path.join(self._trial_dir, record["key"] + ".json"), record)
        # Without the garbage collection, which costs more than a small trial.
        keras.backend.clear_session(free_memory=False)
        return record

    def _stopping_callback(self, digit: int) -> MedianStopping | None:
        if self.early_stopping is None:
            return None
        # Workers sharing the directory also compare with the trials others finished.
        self.trials = {**self._read_records(), **self.trials}
        references = [t["curve"] for t in self.trials.values() if t["digit"] == digit]
        return MedianStopping(self.objective, references, self.direction, self.epochs_per_trial,
                              self.early_stopping_grace, self.early_stopping_min_trials)

    def explored_epochs(self) -> int:
        """Epochs the finished trials trained, all runs together (less with early stopping)."""
        return sum(t["epochs"] or 0 for t in self.trials.values())

    def _budget_left(self, started: float) -> bool:
        if self.max_trials is not None and len(self.trials) >= self.max_trials:
            return False
        if self.time_budget is not None and time.time() - started >= self.time_budget:
            return False
        return True

    def _report(self, record: dict[str, Any], done: int, total: int, seconds: list[float]) -> None:
        if not self.verbose:
            return
        width = 20
        filled = int(width * min(done / max(total, 1), 1.0))
        remaining = max(total - done, 0)
        eta = remaining * (sum(seconds) / len(seconds)) if seconds else 0.0
        print(
            f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
            f"digit {record['digit']} lr={record['key']} {self.objective}={record['score']:.6g} "
            f"(best epoch {record['best_epoch']}/{record['epochs']}) "
            f"{record['seconds']:.1f}s ETA {eta / 60:.1f} min",
            flush=True,
        )

    def search(self) -> list[float]:
        """Runs (or resumes) exploration; returns the found rates.

        If ``max_trials`` or ``time_budget`` stops it first, ``complete`` is False
        and the rates returned are the best ``top_k`` of all finished trials.
        """
        self._check_config()
        self._load_trials()
        self.trained_this_run = 0
        if self.verbose:
            print(
                f"LRExplorer: worst case {self.worst_case_trials()} trials x "
                f"{self.epochs_per_trial} epochs = {self.worst_case_epochs():,} epochs "
                f"({len(self.trials)} trials already finished in {self.directory!r})",
                flush=True,
            )
        started = time.time()
        self._seconds: list[float] = []
        if not self.trials:
            objective_data = self.val_data if self.objective.startswith("val_") else \
                self.train_data
            _common.check_logged(self._fresh_model(float(self.coarse_lrs[0])), objective_data,
                                 self.objective, "objective", self.batch_size)
            keras.backend.clear_session(free_memory=False)
        self.complete = False
        if self._uses_keras_tuner():
            self._search_on_keras_tuner(started)
        else:
            while True:
                point = self._point()
                if point.complete or not self._budget_left(started):
                    break
                rate, quantum = point.missing[0]
                self._trial_done(self._run_trial(rate, quantum, point.digit))
        point = self._point()
        self.complete = point.complete
        self._finish(point.winners if point.complete else
                     rank(self.trials, self._scores(), self.direction)[: self.top_k])
        return self.found_rates

    def _point(self):
        return search_point(self.coarse_lrs, self.digits, self.top_k, self.refine_offsets,
                            self.direction, self._scores())

    def _trial_done(self, record: dict[str, Any]) -> None:
        self.trials[record["key"]] = record
        self.trained_this_run += 1
        self._seconds.append(record["seconds"])
        total = min(self.worst_case_trials(), self.max_trials or math.inf)
        self._report(record, len(self.trials), int(total), self._seconds)

    def _uses_keras_tuner(self) -> bool:
        if self.engine != "auto":
            return self.engine == "keras_tuner"
        try:
            import keras_tuner  # noqa: F401
        except ImportError:
            return False
        return True

    def _search_on_keras_tuner(self, started: float) -> None:
        from tf_lropt.search.tuner import ExplorerOracle, ExplorerTuner, TrialError

        deadline = None if self.time_budget is None else started + self.time_budget
        oracle = ExplorerOracle(self._config(),
                                self._scores(), self.max_trials, deadline)
        tuner = ExplorerTuner(self, oracle, self.directory)
        try:
            tuner.search(verbose=0)
        except TrialError as error:
            raise error.__cause__ from None
        self._load_trials()  # what other processes sharing the directory wrote
        if tuner.oracle is oracle:  # the chief, or a single process: it knows every score
            for trial in oracle.trials.values():
                values = trial.hyperparameters.values
                if values["rate"] not in self.trials and trial.score is not None:
                    self.trials[values["rate"]] = {
                        "key": values["rate"], "rate": float(values["rate"]),
                        "quantum": values["quantum"], "digit": int(values["digit"]),
                        "score": float(trial.score), "best_epoch": None,
                        "epochs": None if self.early_stopping else self.epochs_per_trial,
                        "stopped": None, "seconds": math.nan, "curve": []}

    def _finish(self, winners: list[str]) -> None:
        self.ranked_rates = [self.trials[k]["rate"] for k in winners]
        if self.exploitation_order == "descending":
            winners = sorted(winners, key=lambda k: -self.trials[k]["rate"])
        self.found_rates = [self.trials[k]["rate"] for k in winners]
        self._save_json(
            os.path.join(self.directory, "found_rates.json"),
            {"found_rates": self.found_rates, "complete": self.complete},
        )
        self._write_trials_csv()

    _TRIAL_COLUMNS = ("rate", "digit", "score", "best_epoch", "epochs", "stopped", "seconds")

    def _sorted_trials(self) -> list[dict[str, Any]]:
        return sorted(self.trials.values(), key=lambda t: (t["digit"], -t["rate"]))

    def _write_trials_csv(self) -> None:
        # The csv module, not pandas, so that searching needs no optional dependency.
        with open(os.path.join(self.directory, "trials.csv"), "w", newline="") as f:
            writer = csv.DictWriter(f, self._TRIAL_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self._sorted_trials())

    # --------------------------------------------------------- exploitation
    def exploit(
        self,
        rates: Sequence[float] | None = None,
        max_epochs: int = 1000,
        test_data: Any = None,
        predict_fn: Callable[[keras.Model, Any], np.ndarray] | None = None,
    ) -> keras.Model:
        """Trains one model with the found rates in turn; returns it with the best weights.

        A rate is kept while the objective improves; on the first epoch that does
        not improve it the next rate takes over, cycling through the list, until a
        whole pass of the list brings no improvement or ``max_epochs`` is reached.
        On every improvement the weights go to ``directory/exploit/best.weights.h5``
        and, with ``test_data``, the predictions (``predict_fn(model, test_data)``,
        default ``model.predict``) to ``directory/exploit/predictions.csv`` (one
        ``predictions_<output>.csv`` per output for a model with several).

        Resumable: after every epoch the weights, the optimizer's variables, the
        position in the rate list, the best score and the history go to
        ``directory/exploit/state.npz`` in one atomic write. Called again with the
        same rates it continues from there (a finished run returns at once) and,
        each epoch being seeded with ``seed + epoch``, ends as an uninterrupted run.
        Other rates start over.
        """
        rates = [float(r) for r in (rates if rates is not None else self.found_rates)]
        if not rates:
            raise ValueError("No rates to exploit: run search() first or pass `rates`.")
        for i, rate in enumerate(rates):
            check_positive(f"rates[{i}]", rate)
        check_int("max_epochs", max_epochs, low=1)
        out = os.path.join(self.directory, "exploit")
        os.makedirs(out, exist_ok=True)
        best_path = os.path.join(out, "best.weights.h5")
        model = self._fresh_model(rates[0])
        run = self._load_exploitation(model, rates, os.path.join(out, "state.npz"))
        self.exploitation_history = run["history"]
        while run["epoch"] < max_epochs and run["failures"] < len(rates):
            epoch = run["epoch"]
            rate = rates[run["index"] % len(rates)]
            model.optimizer.learning_rate = rate
            if self.seed is not None:
                keras.utils.set_random_seed(self.seed + epoch + 1)
            history = self._fit(model, epoch + 1, initial_epoch=epoch).history
            score = float(history[self.objective][-1])
            improved = _common.better(score, run["best"], self.direction)
            run["history"].append(
                {"epoch": epoch + 1, "rate": rate, self.objective: score, "improved": improved}
            )
            if improved:
                run["best"], run["failures"] = score, 0
                model.save_weights(best_path)
                if test_data is not None:
                    self._write_predictions(model, test_data, predict_fn, out)
            else:
                run["failures"] += 1
                run["index"] += 1
            run["epoch"] = epoch + 1
            self._save_exploitation(model, run, os.path.join(out, "state.npz"))
            if self.verbose:
                print(f"exploit epoch {epoch + 1} lr={rate:g} {self.objective}={score:.6g}"
                      f"{' *' if improved else ''}", flush=True)
        self.best_score = run["best"]
        with open(os.path.join(out, "history.csv"), "w", newline="") as f:
            writer = csv.DictWriter(f, ["epoch", "rate", self.objective, "improved"])
            writer.writeheader()
            writer.writerows(self.exploitation_history)
        if os.path.exists(best_path):
            model.load_weights(best_path)
        return model

    def _load_exploitation(self, model: keras.Model, rates: list[float], path: str) -> dict:
        """The saved run for these rates, loaded into ``model``; else a new run."""
        run = {"rates": rates, "epoch": 0, "index": 0, "failures": 0, "best": math.nan,
               "history": []}
        if not os.path.exists(path):
            return run
        with np.load(path) as stored:
            saved = json.loads(str(stored["run"]))
            if saved["rates"] != rates:
                if self.verbose:
                    print(f"exploit: {path} holds a run with rates {saved['rates']}; "
                          f"starting over with {rates}", flush=True)
                return run
            model.set_weights([stored[f"w{i}"] for i in range(int(stored["n_weights"]))])
            optimizer = model.optimizer
            if not optimizer.built:
                optimizer.build(model.trainable_variables)
            for i, variable in enumerate(optimizer.variables):
                variable.assign(stored[f"o{i}"])
        if self.verbose:
            print(f"exploit: resuming after epoch {saved['epoch']}", flush=True)
        return saved

    def _save_exploitation(self, model: keras.Model, run: dict, path: str) -> None:
        arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
        arrays.update({f"o{i}": np.array(v) for i, v in enumerate(model.optimizer.variables)})
        partial = path + ".partial.npz"
        np.savez(partial, run=np.array(json.dumps(run)), n_weights=np.array(len(model.weights)),
                 **arrays)
        os.replace(partial, path)

    def _write_predictions(self, model, test_data, predict_fn, out: str) -> None:
        x, _ = _common.split_xy(test_data)
        predictions = predict_fn(model, x) if predict_fn else model.predict(x, verbose=0)
        # A model with several outputs (a VAE's dict) predicts a dict or a list:
        # one file per output, each row one example's output flattened.
        if isinstance(predictions, dict):
            named = {f"predictions_{key}.csv": value for key, value in predictions.items()}
        elif isinstance(predictions, list | tuple):
            named = {f"predictions_{i}.csv": value for i, value in enumerate(predictions)}
        else:
            named = {"predictions.csv": predictions}
        for name, value in named.items():
            array = np.asarray(value)
            array = array.reshape(array.shape[0] if array.ndim else 1, -1)
            np.savetxt(os.path.join(out, name), array, delimiter=",", fmt="%.7g")

    def run(self, max_epochs: int = 1000, test_data: Any = None) -> keras.Model | None:
        """``search()`` then, if it completed, ``exploit()``."""
        self.search()
        if not self.complete:
            return None
        return self.exploit(max_epochs=max_epochs, test_data=test_data)

    # -------------------------------------------------------------- results
    def trials_dataframe(self):
        """One row per finished trial: rate, digit, score, best epoch, epochs, stopped, seconds."""
        import pandas as pd

        rows = [{c: t.get(c) for c in self._TRIAL_COLUMNS} for t in self._sorted_trials()]
        return pd.DataFrame(rows, columns=list(self._TRIAL_COLUMNS))

    def plot_exploration(self, inverse: bool = True):
        """Score (1/score with ``inverse``, as in the paper) against rate, one panel per digit.

        See :func:`tf_lropt.plot.plot_exploration`; returns the axes.
        """
        from tf_lropt import plot

        return plot.plot_exploration(self._sorted_trials(), self.objective, inverse)

    def plot_exploitation(self, ax=None):
        """The objective per epoch of the exploitation phase, coloured by rate; returns the axes."""
        from tf_lropt import plot

        return plot.plot_exploitation(self.exploitation_history, self.objective, ax)
