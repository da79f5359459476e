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

Persistence: each finished trial is a JSON file in ``directory/trials``, written
at once (atomically). Candidate generation is a deterministic function of the
finished trials, so running the same explorer on the same directory replays the
search and trains only the missing trials. Exploitation, one continuing run, is
not resumed: called again, it starts over from the initial weights.

Why not KerasTuner's Oracle: the digits are barriers (a digit's candidates depend
on every score of the previous digit) and exploitation trains one continuing
model rather than independent trials; neither maps onto the Oracle's
trial-at-a-time ``populate_space``. A small JSON store keeps the package free of
that dependency and makes resuming exact.

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

__all__ = ["LRExplorer", "refine_rates", "rate_quantum"]

PAPER_COARSE_LRS = (0.009, 0.008, 0.007, 0.006, 0.005, 0.004, 0.003, 0.002, 0.001)
PAPER_REFINE_OFFSETS = tuple(range(4, -11, -1))


def _decimal(rate: float | str | Decimal) -> Decimal:
    # repr gives the shortest string that round-trips, so 0.003 is Decimal("0.003").
    return rate if isinstance(rate, Decimal) else Decimal(repr(rate) if isinstance(rate, float)
                                                          else str(rate))


def rate_quantum(rate: float | str | Decimal) -> Decimal:
    """Place value of the last significant digit of ``rate`` (0.003 -> 0.001, 0.0025 -> 0.0001)."""
    exponent = _decimal(rate).normalize().as_tuple().exponent
    return Decimal(1).scaleb(exponent)


def refine_rates(
    parents: Iterable[tuple[float | str | Decimal, float | str | Decimal]],
    offsets: Iterable[int] = PAPER_REFINE_OFFSETS,
    exclude: Iterable[float | str | Decimal] = (),
) -> list[Decimal]:
    """Candidates one digit finer than each ``(rate, quantum)`` parent.

    Each parent gives ``rate + n * quantum / 10`` for ``n`` in ``offsets``, exact in
    decimal. Non-positive rates, duplicates and rates in ``exclude`` are dropped;
    the rest is returned in descending order.
    """
    excluded = {_decimal(r).normalize() for r in exclude}
    found: set[Decimal] = set()
    for rate, quantum in parents:
        step = _decimal(quantum) / 10
        for n in offsets:
            candidate = (_decimal(rate) + n * step).quantize(step)
            if candidate > 0 and candidate.normalize() not in excluded:
                found.add(candidate.normalize())
    return sorted(found, reverse=True)


def _trial_key(rate: Decimal) -> str:
    return format(rate.normalize(), "f")


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
        self.direction = check_choice("direction", direction, ("min", "max"))
        self.coarse_lrs = [_decimal(r).normalize() for r in coarse]
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
        self.trials = {}
        if not os.path.isdir(self._trial_dir):
            return
        for name in sorted(os.listdir(self._trial_dir)):
            if name.endswith(".json"):
                with open(os.path.join(self._trial_dir, name)) as f:
                    record = json.load(f)
                self.trials[record["key"]] = record

    def _save_json(self, path: str, data: Any) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        partial = path + ".partial"
        with open(partial, "w") as f:
            json.dump(data, f, indent=1)
        os.replace(partial, path)

    def _check_config(self) -> None:
        config = {
            "objective": self.objective,
            "direction": self.direction,
            "coarse_lrs": [_trial_key(r) for r in self.coarse_lrs],
            "epochs_per_trial": self.epochs_per_trial,
            "top_k": self.top_k,
            "digits": self.digits,
            "refine_offsets": self.refine_offsets,
            "seed": self.seed,
        }
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
        if os.path.exists(path):
            with np.load(path) as stored:
                model.set_weights([stored[f"w{i}"] for i in range(len(stored.files))])
        else:
            os.makedirs(self.directory, exist_ok=True)
            partial = path + ".partial.npz"
            np.savez(partial, **{f"w{i}": w for i, w in enumerate(model.get_weights())})
            os.replace(partial, path)
        return model

    def _x_y(self, data: Any) -> tuple[Any, Any]:
        """``(x, y)`` or ``(x,)`` tuples of arrays; anything else is a dataset."""
        if isinstance(data, tuple) and len(data) in (1, 2):
            return data[0], data[1] if len(data) == 2 else None
        return data, None

    def _fit(self, model: keras.Model, epochs: int, initial_epoch: int = 0, callbacks=()):
        x, y = self._x_y(self.train_data)
        kwargs = dict(self.fit_kwargs)
        kwargs.setdefault("verbose", 0)
        return model.fit(
            x, y, batch_size=self.batch_size, epochs=epochs, initial_epoch=initial_epoch,
            validation_data=self.val_data, callbacks=[*kwargs.pop("callbacks", []), *callbacks],
            **kwargs,
        )

    def _check_objective(self, model: keras.Model) -> None:
        data = self.val_data if self.objective.startswith("val_") else self.train_data
        x, y = self._x_y(data)
        logs = model.evaluate(x, y, batch_size=self.batch_size, steps=1, verbose=0,
                              return_dict=True)
        name = self.objective[4:] if self.objective.startswith("val_") else self.objective
        if name not in logs:
            produced = sorted(logs) + sorted(f"val_{k}" for k in logs)
            raise ValueError(
                f"Argument `objective`={self.objective!r} is not produced by training; "
                f"the model reports {produced}."
            )

    def _better(self, a: float, b: float) -> bool:
        if not math.isfinite(a):
            return False
        if not math.isfinite(b):
            return True
        return a < b if self.direction == "min" else a > b

    def _rank(self, keys: Iterable[str]) -> list[str]:
        sign = 1.0 if self.direction == "min" else -1.0

        def order(key: str) -> tuple[float, float]:
            score = self.trials[key]["score"]
            value = sign * score if math.isfinite(score) else math.inf
            return value, -self.trials[key]["rate"]

        return sorted(keys, key=order)

    # ---------------------------------------------------------- exploration
    def _run_trial(self, rate: Decimal, quantum: Decimal, digit: int) -> dict[str, Any]:
        model = self._fresh_model(float(rate))
        start = time.time()
        history = self._fit(model, self.epochs_per_trial).history
        if self.objective not in history:
            raise ValueError(
                f"Argument `objective`={self.objective!r} is not produced by training; "
                f"history has {sorted(history)}."
            )
        curve = [float(v) for v in history[self.objective]]
        finite = [v for v in curve if math.isfinite(v)]
        best = (min if self.direction == "min" else max)(finite) if finite else math.nan
        record = {
            "key": _trial_key(rate),
            "rate": float(rate),
            "quantum": _trial_key(quantum),
            "digit": digit,
            "score": best,
            "best_epoch": curve.index(best) + 1 if finite else None,
            "epochs": len(curve),
            "seconds": time.time() - start,
            "curve": curve,
        }
        self._save_json(os.path.join(self._trial_dir, record["key"] + ".json"), record)
        # Without the garbage collection, which costs more than a small trial.
        keras.backend.clear_session(free_memory=False)
        return record

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
        seconds: list[float] = []
        if not self.trials:
            self._check_objective(self._fresh_model(float(self.coarse_lrs[0])))
            keras.backend.clear_session(free_memory=False)
        # (rate, quantum): the quantum is the place of the digit being searched, so a
        # parent that reappears in its own neighbourhood is refined one digit further.
        candidates = [(r, rate_quantum(r)) for r in sorted(set(self.coarse_lrs), reverse=True)]
        self.complete = False
        for digit in range(1, self.digits + 1):
            for rate, quantum in candidates:
                if _trial_key(rate) in self.trials:
                    continue
                if not self._budget_left(started):
                    self._finish(self._rank(self.trials)[: self.top_k])
                    return self.found_rates
                record = self._run_trial(rate, quantum, digit)
                self.trials[record["key"]] = record
                self.trained_this_run += 1
                seconds.append(record["seconds"])
                total = min(self.worst_case_trials(), self.max_trials or math.inf)
                self._report(record, len(self.trials), int(total), seconds)
            quantum_of = {_trial_key(rate): quantum for rate, quantum in candidates}
            winners = self._rank(quantum_of)[: self.top_k]
            if digit < self.digits:
                finer: dict[Decimal, Decimal] = {}
                for key in winners:  # each new rate takes the finer quantum of its parent
                    for rate in refine_rates([(Decimal(key), quantum_of[key])],
                                             self.refine_offsets):
                        finer.setdefault(rate, quantum_of[key] / 10)
                candidates = sorted(finer.items(), reverse=True)
        self.complete = True
        self._finish(winners)
        return self.found_rates

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

    _TRIAL_COLUMNS = ("rate", "digit", "score", "best_epoch", "epochs", "seconds")

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
        default ``model.predict``) to ``directory/exploit/predictions.csv``.
        """
        rates = list(rates if rates is not None else self.found_rates)
        if not rates:
            raise ValueError("No rates to exploit: run search() first or pass `rates`.")
        for i, rate in enumerate(rates):
            check_positive(f"rates[{i}]", rate)
        check_int("max_epochs", max_epochs, low=1)
        out = os.path.join(self.directory, "exploit")
        os.makedirs(out, exist_ok=True)
        best_path = os.path.join(out, "best.weights.h5")
        model = self._fresh_model(float(rates[0]))
        best = math.nan
        index, failures, epoch = 0, 0, 0
        self.exploitation_history = []
        while epoch < max_epochs and failures < len(rates):
            rate = rates[index % len(rates)]
            model.optimizer.learning_rate = float(rate)
            history = self._fit(model, epoch + 1, initial_epoch=epoch).history
            score = float(history[self.objective][-1])
            epoch += 1
            improved = self._better(score, best)
            self.exploitation_history.append(
                {"epoch": epoch, "rate": float(rate), self.objective: score, "improved": improved}
            )
            if improved:
                best, failures = score, 0
                model.save_weights(best_path)
                if test_data is not None:
                    self._write_predictions(model, test_data, predict_fn, out)
            else:
                failures += 1
                index += 1
            if self.verbose:
                print(f"exploit epoch {epoch} lr={rate:g} {self.objective}={score:.6g}"
                      f"{' *' if improved else ''}", flush=True)
        self.best_score = best
        with open(os.path.join(out, "history.csv"), "w", newline="") as f:
            writer = csv.DictWriter(f, ["epoch", "rate", self.objective, "improved"])
            writer.writeheader()
            writer.writerows(self.exploitation_history)
        if os.path.exists(best_path):
            model.load_weights(best_path)
        return model

    def _write_predictions(self, model, test_data, predict_fn, out: str) -> None:
        x, _ = self._x_y(test_data)
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
        """One row per finished trial: rate, digit, score, best epoch, epochs, seconds."""
        import pandas as pd

        rows = [{c: t[c] for c in self._TRIAL_COLUMNS} for t in self._sorted_trials()]
        return pd.DataFrame(rows, columns=list(self._TRIAL_COLUMNS))

    def plot_exploration(self, inverse: bool = True):
        """Score (1/score with ``inverse``, as in the paper) against rate, one panel per digit."""
        import matplotlib.pyplot as plt

        frame = self.trials_dataframe()
        digits = sorted(frame["digit"].unique()) or [1]
        _, axes = plt.subplots(1, len(digits), figsize=(4.5 * len(digits), 3.5), squeeze=False)
        for axis, digit in zip(axes[0], digits, strict=False):
            part = frame[frame["digit"] == digit]
            values = 1.0 / part["score"] if inverse else part["score"]
            axis.plot(part["rate"], values, "o-")
            axis.set_title(f"digit {digit}")
            axis.set_xlabel("learning rate")
            axis.set_ylabel(f"1/{self.objective}" if inverse else self.objective)
        return axes[0]

    def plot_exploitation(self, ax=None):
        """The objective per epoch of the exploitation phase, coloured by rate."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        history = self.exploitation_history
        for rate in dict.fromkeys(h["rate"] for h in history):
            points = [(h["epoch"], h[self.objective]) for h in history if h["rate"] == rate]
            ax.plot(*zip(*points, strict=True), "o", markersize=3, label=f"lr={rate:g}")
        ax.plot([h["epoch"] for h in history], [h[self.objective] for h in history],
                color="gray", linewidth=0.8)
        ax.set_xlabel("epoch")
        ax.set_ylabel(self.objective)
        ax.legend(fontsize="small")
        return ax
