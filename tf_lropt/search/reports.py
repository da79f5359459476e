"""The explorer's reports: the trials table (CSV, DataFrame), the found rates, progress, plots.

All of them read the explorer's trial records (:func:`tf_lropt.search.oracle.trial_record`);
none is read back by the search.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tf_lropt._files import atomic_write
from tf_lropt.search._common import best_of

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TRIAL_COLUMNS", "plot_exploitation", "plot_exploration", "progress_line",
           "sorted_trials", "trials_dataframe", "write_found_rates", "write_trials_csv"]

TRIAL_COLUMNS = ("rate", "digit", "score", "best_epoch", "epochs", "stopped", "seconds",
                 "worker")


def sorted_trials(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records by digit, then descending rate (the training order)."""
    return sorted(records, key=lambda t: (t["digit"], -t["rate"]))


def write_trials_csv(path: str, records: Iterable[dict[str, Any]]) -> None:
    """One row per trial (``TRIAL_COLUMNS``); the csv module, so searching needs no pandas."""
    with atomic_write(path, newline="") as f:
        writer = csv.DictWriter(f, TRIAL_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(sorted_trials(records))


def write_found_rates(path: str, found_rates: Sequence[float], complete: bool) -> None:
    """``{"found_rates": [...], "complete": bool}`` as JSON."""
    with atomic_write(path) as f:
        json.dump({"found_rates": list(found_rates), "complete": complete}, f, indent=1)


def trials_dataframe(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per finished trial (``TRIAL_COLUMNS``), a pandas DataFrame."""
    import pandas as pd

    rows = [{c: t.get(c) for c in TRIAL_COLUMNS} for t in sorted_trials(records)]
    return pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))


def progress_line(values: dict[str, Any], curve: Sequence[float], objective: str,
                  direction: str, done: int, total: int, seconds: Sequence[float]) -> str:
    """``[####....] done/total digit d lr=... objective=... (best epoch b/e) s ETA m``.

    ``values`` are the trial's hyperparameters, ``curve`` its objective per epoch and
    ``seconds`` the durations of this run's trials, this one last.
    """
    width = 20
    filled = int(width * min(done / max(total, 1), 1.0))
    eta = max(total - done, 0) * (sum(seconds) / len(seconds)) if seconds else 0.0
    best, best_epoch = best_of(list(curve), direction)
    return (f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
            f"digit {values['digit']} lr={values['rate']} {objective}={best:.6g} "
            f"(best epoch {best_epoch}/{len(curve)}) {seconds[-1]:.1f}s ETA {eta / 60:.1f} min")


def plot_exploration(records: Iterable[dict[str, Any]], objective: str,
                     inverse: bool = True) -> list:
    """Score (1/score with ``inverse``) against rate, one panel per digit; returns the axes."""
    from tf_lropt.plot import plot_exploration as plot

    return plot(sorted_trials(records), objective, inverse)


def plot_exploitation(history: Sequence[dict[str, Any]], objective: str, ax: Any = None) -> Any:
    """The objective per exploitation epoch, coloured by rate; returns the axes."""
    from tf_lropt.plot import plot_exploitation as plot

    return plot(list(history), objective, ax)
