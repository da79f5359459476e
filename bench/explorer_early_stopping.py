"""The explorer with and without early stopping on the Fashion-MNIST VAE: epochs, time, rates.

The same search (same data, initial weights, seed, candidates) runs once with every
trial training all its epochs (the paper) and once with ``early_stopping="median"``;
the table gives, for each, the trials, the epochs they trained, the trials stopped,
the wall time, the found rates and the best validation NLL of the search.

The model is the explorer document's VAE (``examples/_harness/models.build_vae``,
z_dim 10, Adam), its objective the validation negative ELBO on images carved from
the training set. Fashion-MNIST is read from Keras' cache (never downloaded).

    python bench/explorer_early_stopping.py                  # 10k images, 5 epochs, 2 digits
    python bench/explorer_early_stopping.py --out docs/benchmarks.md
    python bench/explorer_early_stopping.py --n-train 512 --n-val 128 --epochs-per-trial 2 \\
        --coarse-lrs 0.003 0.002 0.001 --offsets 1 -1 --top-k 1   # a check in a minute

Each mode searches in its own folder under ``--directory``; a rerun resumes its trials
(the wall time printed is then that of the rerun; the trials' own seconds are kept).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples"))

from _harness import data, models  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tf_lropt.search import PAPER_COARSE_LRS, LRExplorer  # noqa: E402
from tf_lropt.search.candidates import rate_key  # noqa: E402


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-train", type=int, default=10000)
    p.add_argument("--n-val", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--epochs-per-trial", type=int, default=5)
    p.add_argument("--coarse-lrs", type=float, nargs="+", default=list(PAPER_COARSE_LRS))
    p.add_argument("--digits", type=int, default=2)
    p.add_argument("--top-k", type=int, default=2)
    p.add_argument("--offsets", type=int, nargs=2, default=(4, -10), metavar=("FIRST", "LAST"))
    p.add_argument("--grace", type=int, default=1, help="early_stopping_grace")
    p.add_argument("--min-trials", type=int, default=3, help="early_stopping_min_trials")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--modes", nargs="+", default=["none", "median"], choices=("none", "median"))
    p.add_argument("--directory", default=os.path.join("results", "explorer_early_stopping"))
    p.add_argument("--out", default=None, help="append the table to this Markdown file")
    return p


def fashion_mnist(n_train: int, n_val: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation images (flat, in [0, 1]): a seeded shuffle of the train set."""
    x = data.load_fashion_mnist().train[0]
    index = np.random.default_rng(seed).permutation(len(x))[: n_train + n_val]
    images = (x[index].astype("float32") / 255.0).reshape(len(index), 784)
    return images[:n_train], images[n_train:]


def vae_builder(seed: int):
    """``build_model`` for the explorer: the VAE with Adam at the given rate."""
    def build(rate: float) -> keras.Model:
        model = models.build_vae(seed=seed)
        model.compile(optimizer=keras.optimizers.Adam(rate), jit_compile=False)
        return model

    return build


def search(args: argparse.Namespace, mode: str, x_train: np.ndarray,
           x_val: np.ndarray) -> dict:
    first, last = args.offsets
    explorer = LRExplorer(
        vae_builder(args.seed), x_train, (x_val,), objective="val_loss", direction="min",
        coarse_lrs=args.coarse_lrs, epochs_per_trial=args.epochs_per_trial, top_k=args.top_k,
        digits=args.digits, refine_offsets=range(first, last - 1, -1),
        directory=os.path.join(args.directory, mode), seed=args.seed,
        batch_size=args.batch_size, verbose=1,
        early_stopping=None if mode == "none" else mode, early_stopping_grace=args.grace,
        early_stopping_min_trials=args.min_trials)
    start = time.time()
    found = explorer.search()
    wall = time.time() - start
    trials = explorer.trials.values()
    return {"mode": mode, "trials": len(explorer.trials), "epochs": explorer.explored_epochs(),
            "stopped": sum(bool(t.get("stopped")) for t in trials), "wall": wall,
            "trial_seconds": sum(t["seconds"] for t in trials), "found": found,
            "ranked": explorer.ranked_rates,
            "best": explorer.trials[rate_key(explorer.ranked_rates[0])]["score"]
            if explorer.ranked_rates else float("nan"),
            "worst_case_epochs": explorer.worst_case_epochs()}


def table(args: argparse.Namespace, rows: list[dict]) -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    lines = [
        "# Explorer early stopping (`bench/explorer_early_stopping.py`)", "",
        f"_Run {stamp} on {platform.machine()} with {os.cpu_count()} logical cores, CPU only, "
        f"Keras {keras.__version__} ({keras.backend.backend()}); load average at the end "
        f"{load[0]:.1f} (a shared machine: wall times are only indicative). Fashion-MNIST, "
        f"{args.n_train} training and {args.n_val} validation images (seed {args.seed} "
        f"shuffle of the train set), the explorer document's VAE (z_dim 10, Adam, batch "
        f"{args.batch_size}); objective val_loss (validation NLL bound, nats); coarse rates "
        f"{' '.join(f'{r:g}' for r in args.coarse_lrs)}, offsets {args.offsets[0]}..."
        f"{args.offsets[1]}, {args.digits} digits, top {args.top_k}, {args.epochs_per_trial} "
        f"epochs per trial, seed {args.seed}; median rule: grace {args.grace} epoch(s), "
        f"at least {args.min_trials} finished trials of the digit; KerasTuner engine._", "",
        "| early stopping | trials | epochs trained | trials stopped | wall time (min) "
        "| trials' time (min) | found rates (descending) | ranked | best val NLL |",
        "|---|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['mode']} | {row['trials']} | {row['epochs']} | {row['stopped']} | "
            f"{row['wall'] / 60:.1f} | {row['trial_seconds'] / 60:.1f} | "
            f"{', '.join(f'{r:g}' for r in row['found'])} | "
            f"{', '.join(f'{r:g}' for r in row['ranked'])} | {row['best']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> str:
    args = parser().parse_args(argv)
    x_train, x_val = fashion_mnist(args.n_train, args.n_val, args.seed)
    rows = [search(args, mode, x_train, x_val) for mode in args.modes]
    text = table(args, rows)
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write("\n" + text)
    return text


if __name__ == "__main__":
    main()
