"""The results directory: one CSV and one JSON per run, Markdown tables, PNG plots.

Layout of ``<results_dir>/<experiment>/``::

    runs/<run>.csv     one row per evaluation period (epoch): step, lr, loss, accuracy, val_* ...
    runs/<run>.json    the run's configuration, final metrics and "finished": true
    table.md           the experiment's table, laid out like the paper's
    <metric>.png       one curve per method

A run whose JSON says finished, with the same configuration, is loaded instead of retrained.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import platform
import re

import numpy as np


def slug(name: str) -> str:
    """A file-name-safe form of a run name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")


def hardware() -> str:
    """The GPU names, or 'N of M CPU cores', for the provenance line (no TensorFlow needed)."""
    names = accelerators()
    if names:
        return ", ".join(names)
    return f"{usable_cores()} of {os.cpu_count()} CPU cores ({platform.machine()})"


def where_ran() -> dict:
    """The Keras backend and hardware of this process, as a run records them with its summary
    (the page may be published later, elsewhere)."""
    import keras

    return {"backend": keras.backend.backend(), "hardware": hardware()}


def usable_cores() -> int:
    """Cores this process may run on (fewer than the machine's when pinned with taskset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def accelerators() -> list[str]:
    """Names of the GPUs the Keras backend sees (empty on a CPU-only machine)."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    import tensorflow as tf

    return [tf.config.experimental.get_device_details(g).get("device_name", "GPU")
            for g in tf.config.list_physical_devices("GPU")]


def today() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def run_name(method: str, seed: int | str) -> str:
    """The name of ``method``'s run with ``seed`` (its files are ``runs/<slug>.*``)."""
    return f"{method} seed {seed}"


def run_file(folder: str, run: str, suffix: str) -> str:
    """The path of one of ``run``'s files in an experiment's ``folder``: ``runs/<slug>.csv``,
    ``.json``, ``.backup``, ``.lock``."""
    return os.path.join(folder, "runs", slug(run) + suffix)


class ResultsDir:
    """Where one experiment writes; see the module docstring for the layout."""

    def __init__(self, root: str, experiment: str):
        self.path = os.path.join(root, experiment)
        self.runs_path = os.path.join(self.path, "runs")
        os.makedirs(self.runs_path, exist_ok=True)

    def run_file(self, run: str, suffix: str) -> str:
        """``run_file`` in this experiment's folder."""
        return run_file(self.path, run, suffix)

    def _run_files(self, run: str) -> tuple[str, str]:
        return self.run_file(run, ".csv"), self.run_file(run, ".json")

    def load_finished(self, run: str, config: dict) -> tuple[dict, dict] | None:
        """(history, summary) of a finished run with this exact config, else None."""
        csv_path, json_path = self._run_files(run)
        if not (os.path.exists(csv_path) and os.path.exists(json_path)):
            return None
        with open(json_path) as stream:
            summary = json.load(stream)
        if not summary.get("finished") or summary.get("config") != _jsonable(config):
            return None
        return read_history(csv_path), summary

    def save_run(self, run: str, config: dict, history: dict, summary: dict) -> None:
        csv_path, json_path = self._run_files(run)
        write_history(csv_path, history)
        record = {"run": run, "config": _jsonable(config), **summary, "finished": True}
        with open(json_path, "w") as stream:
            json.dump(record, stream, indent=2)

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def write_history(path: str, history: dict) -> None:
    columns = list(history)
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(columns)
        writer.writerows(zip(*(history[c] for c in columns), strict=True))


def read_history(path: str) -> dict:
    with open(path, newline="") as stream:
        rows = list(csv.reader(stream))
    columns = rows[0]
    return {c: [float(row[i]) for row in rows[1:]] for i, c in enumerate(columns)}


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub Markdown table; floats are written with two decimals."""

    def cell(value) -> str:
        if value is None:
            return "-"
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def grid_array(cells: list[list[float | None]]) -> np.ndarray:
    """A grid of cells (None: not run) as a float array, NaN where not run."""
    return np.asarray([[np.nan if v is None else v for v in row] for row in cells], float)


def grid_statistics(cells: list[list[float | None]]) -> str:
    """Mean, population variance and max - min over a grid's cells (None: not run), the three
    numbers the robust-recipe document reports for its table 3."""
    flat = grid_array(cells)
    if np.isnan(flat).all():
        return "not run"
    return (f"mean {np.nanmean(flat):.2f}, variance {np.nanvar(flat):.2f}, "
            f"max - min {np.nanmax(flat) - np.nanmin(flat):.2f}")


def write_table(path: str, title: str, tables: list[tuple[str, str]], provenance: str) -> str:
    """Writes a Markdown file with a title, a provenance line and (caption, table) pairs."""
    parts = [f"# {title}", "", provenance, ""]
    for caption, table in tables:
        parts += [f"## {caption}" if caption else "", "", table, ""]
    text = "\n".join(parts)
    with open(path, "w") as stream:
        stream.write(text)
    return text


def publish(path: str, title: str, tables: list[tuple[str, str]], provenance: str) -> str:
    """``write_table`` and print the result: how every experiment script ends."""
    text = write_table(path, title, tables, provenance)
    print(text)
    return text


def plot_curves(curves: dict[str, dict], metric: str, path: str, x: str = "epoch",
                title: str = "", log_y: bool = False) -> str:
    """One line per method of ``history[metric]`` against ``history[x]``, shaded between
    ``history[metric + "_min"]`` and ``history[metric + "_max"]`` where given; saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    many = len(curves) > 6  # a legend inside would cover the curves: beside them
    figure, axes = plt.subplots(figsize=(10, 4.5) if many else (7, 4.5))
    if len(curves) > 10:  # past the default cycle's 10 colours, lines would share one
        axes.set_prop_cycle(color=plt.get_cmap("tab20").colors)
    for name, history in curves.items():
        if metric in history and history[metric]:
            (line,) = axes.plot(history[x], history[metric], label=name)
            if f"{metric}_min" in history:
                axes.fill_between(history[x], history[f"{metric}_min"],
                                  history[f"{metric}_max"], color=line.get_color(), alpha=0.2)
    axes.set_xlabel(x)
    axes.set_ylabel(metric)
    if log_y:
        axes.set_yscale("log")
    axes.set_title(title or metric)
    axes.grid(alpha=0.3)
    if axes.lines:
        axes.legend(fontsize=8, **({"loc": "center left", "bbox_to_anchor": (1.01, 0.5)}
                                   if many else {}))
    figure.tight_layout()
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path
