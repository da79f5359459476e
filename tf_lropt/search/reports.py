"""The explorer's reports: the trials table (CSV, DataFrame), the found rates, progress, plots.

All of them read the explorer's trial records (:func:`tf_lropt.search.oracle.trial_record`);
none is read back by the search.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

from tf_lropt._files import atomic_write

__all__ = ["TRIAL_COLUMNS", "progress_line", "sorted_trials", "trials_dataframe",
           "write_found_rates", "write_trials_csv"]

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


def trials_dataframe(records: Iterable[dict[str, Any]]):
    """One row per finished trial (``TRIAL_COLUMNS``), a pandas DataFrame."""
    import pandas as pd

    rows = [{c: t.get(c) for c in TRIAL_COLUMNS} for t in sorted_trials(records)]
    return pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))


def progress_line(record: dict[str, Any], objective: str, done: int, total: int,
                  seconds: Sequence[float]) -> str:
    """``[####....] done/total digit d lr=... objective=... (best epoch b/e) s ETA m``."""
    width = 20
    filled = int(width * min(done / max(total, 1), 1.0))
    eta = max(total - done, 0) * (sum(seconds) / len(seconds)) if seconds else 0.0
    return (f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
            f"digit {record['digit']} lr={record['key']} {objective}={record['score']:.6g} "
            f"(best epoch {record['best_epoch']}/{record['epochs']}) "
            f"{record['seconds']:.1f}s ETA {eta / 60:.1f} min")


def read_legacy_records(directory: str) -> list[dict[str, Any]]:
    """The JSON trial records of tf_lropt 0.x (``directory/trials/*.json``), to import once."""
    folder = os.path.join(directory, "trials")
    records = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if name.endswith(".json"):
            with open(os.path.join(folder, name)) as f:
                records.append(json.load(f))
    return records
