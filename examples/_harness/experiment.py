"""``Experiment``: what every experiment script shares, so that a script is its methods and table.

An ``Experiment`` parses the command line, picks a ``Scale`` (the paper's ``full`` protocol, the
``medium`` protocol that gives each method its own time scale on a CPU, the shorter ``reduced``
protocol, or a seconds-long ``smoke`` run for CI), loads the dataset (a fixed training subset,
the same for every method and seed), runs the plan (methods x seeds; finished runs are loaded,
interrupted ones resumed), and writes the results directory::

    <results-dir>/<experiment>_<dataset>/
        runs/<method> seed <s>.csv|.json   one per run (see results.py)
        table.md                            the table, laid out like the paper's, with provenance
        summary.json                        everything publish_results.py and claims.py read
        *.png                               curves

``Experiment.main`` is that whole path, so that a script is its methods, its model and its
tables. The default scale is ``full`` where the Keras backend sees a GPU and ``reduced``
elsewhere; ``medium`` is optional (``--medium`` where a script defines it).
``--publish-only`` trains nothing: it rebuilds the table and summary from the finished runs
(``not run`` where a run is missing). ``--list-runs`` trains nothing either: it prints the plan,
one ``run<TAB>seed<TAB>method`` line a run, and exits, so that a campaign can train and publish
one run at a time (examples/campaign.sh).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from _harness import data, results
from _harness.data import Splits
from _harness.training import PIPELINES, Method, Plan, plot_runs, run_methods

import keras
import numpy as np

DATASETS = ("fashion_mnist", "cifar10", "mnist")
SCALE_NAMES = ("full", "medium", "reduced", "smoke")
REQUIRED_SCALES = ("full", "reduced", "smoke")  # medium: where a script defines one
SCALE_LABELS = {"full": "full protocol", "medium": "MEDIUM protocol",
                "reduced": "REDUCED protocol", "smoke": "SMOKE TEST (meaningless numbers)"}
# Methods that share a network (``build_body``) and a plan: one ``Experiment.run``.
Group = tuple[list[Method], Callable[[tuple], keras.Model], Plan]
SUBSET_SEED = 0  # the fixed training subset does not change with the run's seed


@dataclass(frozen=True)
class Scale:
    """One protocol of an experiment, the same shape for every experiment.

    n_train / n_test: examples kept (None: all); epochs: evaluation periods; batch: batch size;
    width: multiplier on the network's channels; depth: the network's depth where it has one;
    seeds: the default seeds; period: batches per evaluation period (None: one pass over the
    training subset); factor: multiplier on the paper's iteration counts (iteration-counted
    experiments: every schedule length is scaled by it).
    """

    n_train: int | None
    n_test: int | None
    epochs: int
    batch: int
    width: float = 1.0
    depth: int | None = None
    seeds: tuple[int, ...] = (0,)
    period: int | None = None
    factor: float = 1.0

    def plan(self, num_examples: int, epochs: int | None = None) -> Plan:
        epochs = epochs or self.epochs
        if self.period is not None:
            return Plan(epochs, self.period, self.batch)
        return Plan.for_data(num_examples, self.batch, epochs)


def gpu_present() -> bool:
    try:
        return bool(results.accelerators())
    except Exception:  # no backend library for GPUs: a CPU machine
        return False


class Experiment:
    """The common path of an experiment script (module docstring)."""

    def __init__(self, name: str, description: str, scales: dict[str, Scale], *,
                 default_dataset: str = "fashion_mnist", datasets: Sequence[str] = DATASETS,
                 default_scale: str = "auto"):
        missing = set(REQUIRED_SCALES) - set(scales)
        if missing:
            raise ValueError(f"scales must define {REQUIRED_SCALES}, missing {sorted(missing)}")
        unknown = set(scales) - set(SCALE_NAMES)
        if unknown:
            raise ValueError(f"scales must be among {SCALE_NAMES}, got {sorted(unknown)}")
        self.name, self.description, self.scales = name, description, scales
        self.default_dataset, self.datasets = default_dataset, tuple(datasets)
        self.default_scale = default_scale
        self.args: argparse.Namespace | None = None
        self.splits: Splits | None = None
        self.plan: Plan | None = None

    # -- command line ---------------------------------------------------------------------
    def parser(self) -> argparse.ArgumentParser:
        p = argparse.ArgumentParser(description=self.description)
        scale = p.add_mutually_exclusive_group()
        scale.add_argument("--full", dest="scale", action="store_const", const="full",
                           help="the paper's protocol (meant for a GPU; default where one is)")
        scale.add_argument("--medium", dest="scale", action="store_const", const="medium",
                           help="the medium protocol of the docstring: each method's own time "
                                "scale on a CPU")
        scale.add_argument("--reduced", "--quick", dest="scale", action="store_const",
                           const="reduced", help="the reduced protocol of the docstring "
                           "(default on a CPU)")
        scale.add_argument("--smoke", dest="scale", action="store_const", const="smoke",
                           help="seconds: a few batches, for CI (numbers mean nothing)")
        p.set_defaults(scale=None)
        p.add_argument("--dataset", choices=self.datasets, default=self.default_dataset)
        p.add_argument("--seeds", type=int, nargs="+", default=None,
                       help="seeds to run (default: the scale's)")
        p.add_argument("--seed", type=int, default=None, help="one seed (same as --seeds S)")
        p.add_argument("--results-dir", default="results", help="default: ./results")
        p.add_argument("--keras-cache-dir", default=None,
                       help="Keras' datasets folder (default: $KERAS_HOME/datasets, "
                            "~/.keras/datasets)")
        p.add_argument("--data-dir", default=None, help="tensorflow-datasets data_dir")
        p.add_argument("--download", action="store_true",
                       help="let tensorflow-datasets download the data if it is not found")
        p.add_argument("--synthetic", action="store_true",
                       help="random images instead of the dataset (checks the pipeline only)")
        p.add_argument("--epochs", type=int, default=None, help="override the scale's epochs")
        p.add_argument("--methods", nargs="+", default=None, metavar="NAME",
                       help="run only these methods (the table says 'not run' for the rest)")
        p.add_argument("--publish-only", action="store_true",
                       help="train nothing; rebuild the table from the finished runs")
        p.add_argument("--list-runs", action="store_true",
                       help="print the runs of this command (run, seed, method; tab-separated) "
                            "and exit")
        p.add_argument("--mixed-precision", choices=["auto", "on", "off"], default="auto",
                       help="mixed_float16; auto = on at full scale when a GPU is present")
        p.add_argument("--xla", choices=["auto", "on", "off"], default="auto",
                       help="jit_compile; auto = Keras' choice (on for JAX, on a TF GPU)")
        p.add_argument("--pipeline", choices=PIPELINES, default="auto",
                       help="where the augmentation runs: a tf.data pipeline or the model; "
                            "auto = tf.data on a TensorFlow CPU, the model elsewhere")
        p.add_argument("--verbose", type=int, default=0, help="Keras fit verbosity")
        return p

    def parse(self, argv: list[str] | None = None,
              parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
        """Parses ``argv`` (with ``parser`` when a script added options) and resolves the scale
        and the seeds."""
        args = (parser or self.parser()).parse_args(argv)
        if args.scale is None:
            args.scale = self.default_scale if self.default_scale != "auto" else (
                "full" if gpu_present() else "reduced")
        if args.scale not in self.scales:
            raise ValueError(f"--{args.scale}: {self.name} has no {args.scale!r} protocol; its "
                             f"scales are {sorted(self.scales)}")
        if args.seed is not None and args.seeds is not None:
            raise ValueError(f"give --seed or --seeds, not both (got {args.seed} and "
                             f"{args.seeds})")
        scale = self.scales[args.scale]
        args.seeds = ([args.seed] if args.seed is not None else args.seeds) or list(scale.seeds)
        self.args = args
        return args

    @property
    def scale(self) -> Scale:
        return self.scales[self.args.scale]

    # -- data and results -----------------------------------------------------------------
    def load(self, n_train: int | None = None, n_test: int | None = None,
             dataset: str | None = None) -> Splits:
        """The dataset per the command line, cut to the scale's (or the given) example counts;
        the subset is drawn with a fixed seed, so it is the same for every method and seed."""
        args, scale = self.args, self.scale
        dataset = dataset or args.dataset
        n_train = n_train if n_train is not None else scale.n_train
        n_test = n_test if n_test is not None else scale.n_test
        if args.synthetic:
            splits = data.synthetic_images(dataset, n_train or 512, n_test or 256,
                                           seed=SUBSET_SEED)
        else:
            splits = data.load_dataset(dataset, args.data_dir, args.keras_cache_dir,
                                       args.download)
        return data.subset(splits, n_train, n_test, seed=SUBSET_SEED)

    @property
    def folder(self) -> str:
        return f"{self.name}_{self.args.dataset}"

    def results_dir(self) -> results.ResultsDir:
        return results.ResultsDir(self.args.results_dir, self.folder)

    def compile_options(self) -> dict:
        """``jit_compile`` / ``run_eagerly`` and the precision policy per the command line."""
        args = self.args
        full_on_gpu = args.scale == "full" and gpu_present()
        if args.mixed_precision == "on" or (args.mixed_precision == "auto" and full_on_gpu):
            keras.mixed_precision.set_global_policy("mixed_float16")
        jit = {"on": True, "off": False, "auto": "auto"}[args.xla]
        eager = args.scale == "smoke" and jit is not True and keras.backend.backend() != "jax"
        return {"jit_compile": jit if not eager else False, "run_eagerly": eager}

    def run_config(self, **extra) -> dict:
        """What identifies a run beyond its method: scale, dataset, data source."""
        return {"scale": self.args.scale, "dataset": self.args.dataset,
                "synthetic": self.args.synthetic, "protocol": dataclasses.asdict(self.scale),
                **extra}

    # -- the plan -------------------------------------------------------------------------
    def select(self, methods: list[Method]) -> list[Method]:
        """The methods ``--methods`` names (all without it); with ``--list-runs``, prints
        their runs (``run<TAB>seed<TAB>method``) and exits."""
        if self.args.methods:
            unknown = set(self.args.methods) - {m.name for m in methods}
            if unknown:
                raise ValueError(f"--methods must name methods of {self.name}: "
                                 f"{[m.name for m in methods]}; got {sorted(unknown)}")
            methods = [m for m in methods if m.name in self.args.methods]
        if self.args.list_runs:
            for seed in self.args.seeds:
                print("\n".join(f"run\t{seed}\t{m.name}" for m in methods))
            raise SystemExit(0)
        return methods

    def run(self, methods: list[Method], build_body: Callable[[tuple], keras.Model],
            splits: Splits, plan: Plan, *, x_label: str = "epoch",
            **options) -> dict[int, dict[str, tuple[dict, dict]]]:
        """The methods ``--methods`` selects (``select``), every seed (``train_seeds``, which
        takes ``options``), and their curves, mean over the seeds (``plot_runs``)."""
        by_seed = self.train_seeds(self.select(methods), build_body, splits, plan, **options)
        plot_runs(by_seed, self.results_dir(), x_label)
        return by_seed

    def train_seeds(self, methods: list[Method], build_body: Callable[[tuple], keras.Model],
                    splits: Splits, plan: Plan, *, pad_to: int | None = 32,
                    standardize: bool = True,
                    **run_config) -> dict[int, dict[str, tuple[dict, dict]]]:
        """Every one of ``methods`` for every seed: ``{seed: {method name: (history,
        summary)}}``.

        Runs are stored as ``"<method> seed <s>"``; with ``--publish-only`` a missing run is
        ``({}, {"not_run": True})``.
        """
        out = self.results_dir()
        by_seed = {}
        for seed in self.args.seeds:
            seeded = [dataclasses.replace(m, name=results.run_name(m.name, seed)) for m in methods]
            runs = run_methods(seeded, build_body, splits, plan, out, seed=seed,
                               standardize=standardize, pad_to=pad_to,
                               run_config=self.run_config(**run_config),
                               verbose=self.args.verbose, train_missing=not self.args.publish_only,
                               pipeline=self.args.pipeline, **self.compile_options())
            by_seed[seed] = {m.name: runs[s.name] for m, s in zip(methods, seeded, strict=True)}
        return by_seed

    # -- the whole path -------------------------------------------------------------------
    def main(self, argv: list[str] | None, *, title: str,
             methods: Callable[[Experiment], list[Method]],
             model: Callable[[Experiment], tuple[Callable[[tuple], keras.Model], str]],
             tables: Callable[[Experiment, dict], list[tuple[str, str]]],
             detail: str | Callable[[Experiment], str] = "",
             extra: Callable[[Experiment, dict], dict] | None = None,
             groups: Callable[[Experiment, list[Method]], list[Group]] | None = None,
             x_label: str = "epoch") -> str:
        """Parses ``argv``, loads the data, plans, trains ``methods(self)`` on the network of
        ``model(self)`` (``(build_body, name)``) and writes ``tables(self, runs)`` under
        ``title`` (the dataset is appended); returns the Markdown. ``self.splits`` and
        ``self.plan`` are set before ``methods`` and ``model`` are called.

        ``groups(self, methods)`` splits the methods into ``(methods, build_body, plan)``
        groups where they need other networks or run lengths (experiment 7's arms); by
        default they are one group on ``model``'s network and ``self.plan``, the plan the
        provenance names. ``detail`` is the provenance's last words, or a function of the
        experiment giving them."""
        self.parse(argv)
        self.splits = self.load()
        self.plan = self.scale.plan(len(self.splits.train[1]), self.args.epochs)
        body, name = model(self)
        chosen = self.select(methods(self))
        runs: dict[int, dict] = {}
        parts = groups(self, chosen) if groups else [(chosen, body, self.plan)]
        for group, build_body, plan in parts:
            for seed, by_method in self.train_seeds(group, build_body, self.splits,
                                                    plan).items():
                runs.setdefault(seed, {}).update(by_method)
        plot_runs(runs, self.results_dir(), x_label)  # once, every group's methods
        detail = detail(self) if callable(detail) else detail
        return self.write(f"{title} ({self.args.dataset})", tables(self, runs),
                          self.provenance(self.splits, self.plan, name, runs, detail), runs,
                          extra(self, runs) if extra else None)

    @property
    def steps_per_pass(self) -> int:
        """Optimizer steps in one pass over the training subset (an epoch as a paper counts
        it, whatever the evaluation period)."""
        return Plan.for_data(len(self.splits.train[1]), self.plan.batch_size, 1).steps_per_epoch

    # -- tables ---------------------------------------------------------------------------
    def provenance(self, splits: Splits, plan: Plan, model: str, runs: dict | None = None,
                   detail: str = "") -> dict:
        """What every table names beside it: dataset, protocol, model, seeds, hardware, time."""
        summaries = [summary for by_method in (runs or {}).values()
                     for _, summary in by_method.values() if not summary.get("not_run")]
        seconds = sum(summary.get("seconds", 0.0) for summary in summaries)
        hardware, backend = recorded_setting(summaries)
        # The seeds the table rests on: those with a finished run (a partial publish asks for
        # more than have run).
        seeds = list(self.args.seeds) if runs is None else [
            seed for seed, by_method in runs.items()
            if any(not summary.get("not_run") for _, summary in by_method.values())]
        return {
            "experiment": self.name, "dataset": self.args.dataset,
            "real_data": not self.args.synthetic, "scale": self.args.scale,
            "protocol": dataclasses.asdict(self.scale), "model": model,
            "train_examples": len(splits.train[1]), "test_examples": len(splits.test[1]),
            "periods": plan.epochs, "steps_per_period": plan.steps_per_epoch,
            "batch": plan.batch_size, "seeds": seeds,
            "hardware": hardware, "backend": backend,
            "train_seconds": seconds, "date": results.today(), "detail": detail,
        }

    def note(self, detail: str, summaries: Sequence[dict] = ()) -> str:
        """A provenance line for a table that is not one plan of classifier runs (exp6); the
        hardware and backend are those ``summaries`` (the table's runs) recorded, if any."""
        label = SCALE_LABELS[self.args.scale]
        source = "synthetic data" if self.args.synthetic else "real data"
        hardware, backend = recorded_setting(summaries)
        return (f"_{label}; {source}; {detail}; {hardware}, {backend} backend; "
                f"{results.today()}; seeds {', '.join(map(str, self.args.seeds))}._")

    def write(self, title: str, tables: list[tuple[str, str]], provenance: dict,
              runs: dict | None = None, extra: dict | None = None) -> str:
        """Writes table.md (printed too) and summary.json; returns the Markdown."""
        out = self.results_dir()
        summaries = {str(seed): {name: summary for name, (_, summary) in by_method.items()}
                     for seed, by_method in (runs or {}).items()}
        with open(out.file("summary.json"), "w") as stream:
            json.dump(results._jsonable({"title": title, "provenance": provenance,
                                         "runs": summaries, **(extra or {})}), stream, indent=1)
        return results.publish(out.file("table.md"), title, tables,
                               provenance_line(provenance))


def recorded_setting(summaries: Sequence[dict]) -> tuple[str, str]:
    """(hardware, backend) as the runs recorded them, else this process's: a table published
    on another machine or backend than its runs trained on must name where they trained."""

    current = results.where_ran()

    def where(key: str) -> str:
        return ", ".join(sorted({s[key] for s in summaries if key in s})) or current[key]

    return where("hardware"), where("backend")


def provenance_line(p: dict) -> str:
    """The italic line under every table (the same in table.md and docs/results.md)."""
    label = SCALE_LABELS[p["scale"]]
    source = "real data" if p["real_data"] else "synthetic data"
    hours = p["train_seconds"] / 3600
    return (f"_{label}; {p['dataset']} ({source}), {p['train_examples']} training / "
            f"{p['test_examples']} test images; {p['model']}; {p['periods']} evaluation periods of "
            f"{p['steps_per_period']} steps, batch {p['batch']}; seeds "
            f"{', '.join(map(str, p['seeds'])) or 'none finished'}"
            # A cell is a mean over the seeds its method finished: mid-campaign, some have fewer.
            f"{' (a cell without ± is one seed)' if len(p['seeds']) > 1 else ''}; "
            f"{p['hardware']}, {p['backend']} backend; "
            f"training wall time {hours:.2f} h; {p['date']}"
            f"{'; ' + p['detail'] if p['detail'] else ''}._")


def mean_std(values: Sequence[float | None]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (0 for one value) and count of the finite values."""
    finite = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if not len(finite):
        return float("nan"), float("nan"), 0
    return float(finite.mean()), float(finite.std(ddof=1)) if len(finite) > 1 else 0.0, \
        len(finite)


def format_mean_std(values: Sequence[float | None]) -> str:
    """``"91.23 ± 0.40"`` over the seeds, ``"91.23"`` for one seed, ``"not run"`` for none."""
    mean, std, n = mean_std(values)
    if n == 0:
        return "not run" if all(v is None for v in values) else "diverged"
    return f"{mean:.2f} ± {std:.2f}" if n > 1 else f"{mean:.2f}"


def per_seed(runs: dict, method: str, key: str = "final_test_accuracy",
             diverged: float = float("nan")) -> list[float | None]:
    """``key`` of ``method``'s summary for every seed: None where not run, ``diverged`` where
    the run diverged (or its value is not finite). ``runs`` maps seed -> method -> summary
    (summary.json's ``runs``) or -> (history, summary) (what ``Experiment.run`` returns): the
    one per-seed extractor of the tables and the claims."""
    found = []
    for by_method in runs.values():
        run = by_method.get(method)
        summary = (run[1] if isinstance(run, tuple) else run) or {}
        if summary.get("not_run") or key not in summary:
            found.append(None)
        elif summary.get("diverged") or not np.isfinite(summary[key]):
            found.append(diverged)
        else:
            found.append(float(summary[key]))
    return found
