"""Experiment 6: LR explorer vs cosine annealing vs a fixed 0.0003 on the Fashion-MNIST VAE.

The explorer document (Fujiwara 2023, table 6) trains the course's VAE (z_dim = 10, Adam) and
reports the test NLL (negative ELBO, nats per image; target 235) reached by cosine annealing,
by the hand-tuned fixed rate 0.0003, and by the rates its explorer finds. This script runs
``tf_lropt.search.LRExplorer`` (exploration, then exploitation), then trains the same VAE
from the same initial weights with ``schedules.Cosine`` and with a fixed 0.0003 for as many
epochs as the exploitation phase used, and writes a table and plots. ``--baseline-epochs``
adds the paper's fixed budgets (50, 100, 200, 400 epochs): cosine annealing over each budget,
the fixed 0.0003, and the explorer's best found rate held constant, as in the paper's table. A
constant rate trains once, over the longest budget, and is tested at every budget with its best
weights so far (its run to 400 epochs holds its runs to 50, 100 and 200: same initial weights,
data order and rate; the paper's table reads the same run at 50-400 epochs too).

The explorer's objective is ``val_loss`` on a validation split carved from the training set;
every method's test NLL is measured on the test set with its best-validation weights.

    python examples/exp6_lr_explorer_vae.py              # the paper's setting (GPU, days)
    python examples/exp6_lr_explorer_vae.py --reduced    # minutes on 2 CPU cores
    python examples/exp6_lr_explorer_vae.py --smoke --synthetic   # seconds (CI)

Interrupting and re-running resumes: finished explorer trials and finished baseline runs are
loaded from ``<results-dir>/exp6_lr_explorer_vae`` instead of retrained.
"""

from __future__ import annotations

import time

from _harness import models, results
from _harness.experiment import Experiment, Scale
from _harness.training import BestWeights, Plan, train

import keras
import numpy as np

from tf_lropt import schedules
from tf_lropt.search import PAPER_COARSE_LRS, LRExplorer

EXPERIMENT = "exp6_lr_explorer_vae"
HAND_TUNED_LR = 0.0003  # the document's "手探り" (found by hand) rate
COSINE_PEAK_LR = 0.001  # Adam's default; the document does not state its peak rate

SCALES = {
    # The document's setting: 9 coarse rates, 50 epochs each, 3 digits, top 2.
    "full": dict(n_train=50000, n_val=10000, n_test=None, batch=128, epochs_per_trial=50,
                 coarse=PAPER_COARSE_LRS, digits=3, top_k=2, offsets=(4, -10),
                 exploit_epochs=1000),
    "reduced": dict(n_train=6000, n_val=1000, n_test=2000, batch=128, epochs_per_trial=2,
                  coarse=(0.003, 0.002, 0.001), digits=2, top_k=1, offsets=(2, -3),
                  exploit_epochs=5),
    "smoke": dict(n_train=256, n_val=64, n_test=64, batch=64, epochs_per_trial=1,
                  coarse=(0.002, 0.001), digits=2, top_k=1, offsets=(1, -1),
                  exploit_epochs=2),
}


# The shared shape of a protocol (data, exploitation epochs, batch); SCALES holds the rest.
PROTOCOLS = {name: Scale(s["n_train"], s["n_test"], s["exploit_epochs"], s["batch"])
             for name, s in SCALES.items()}


def _experiment() -> Experiment:
    # The full protocol stays the default, on a CPU too (a long campaign runs it so).
    return Experiment(EXPERIMENT, __doc__.splitlines()[0], PROTOCOLS,
                      datasets=("fashion_mnist",), default_scale="full")


def _parser(experiment: Experiment):
    p = experiment.parser()
    p.add_argument("--n-train", type=int, default=None, help="training images (rest: val split)")
    p.add_argument("--n-val", type=int, default=None)
    p.add_argument("--n-test", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--epochs-per-trial", type=int, default=None)
    p.add_argument("--coarse-lrs", type=float, nargs="+", default=None)
    p.add_argument("--digits", type=int, default=None)
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--offsets", type=int, nargs=2, default=None, metavar=("FIRST", "LAST"),
                   help="refine offsets n = FIRST .. LAST (the paper: 4 -10)")
    p.add_argument("--exploit-epochs", type=int, default=None, help="maximum exploitation epochs")
    p.add_argument("--time-budget", type=float, default=None, help="exploration seconds")
    p.add_argument("--baseline-epochs", type=int, nargs="+", default=[], metavar="N",
                   help="also train cosine annealing, the fixed 0.0003 and the explorer's "
                        "best rate held constant for N epochs each (the paper's budgets: "
                        "50 100 200 400)")
    p.add_argument("--cosine-only", action="store_true",
                   help="train only the cosine-annealing runs of --baseline-epochs (longest "
                        "first), from the initial weights of a search already started in the "
                        "same results directory, and write no table: a second process can take "
                        "them while the first trains the search and the constant rates (about "
                        "as many epochs); the full command then loads them (and waits for one "
                        "still training)")
    p.add_argument("--exploit-patience", type=int, default=None, metavar="PASSES",
                   help="stop the exploitation after this many passes over the found rates "
                        "without improvement (default: none, the document's table 3: the whole "
                        "--exploit-epochs budget; 1: the rule of tf_lropt 0.x)")
    p.add_argument("--exploit-only", action="store_true",
                   help="stop after the explorer's exploitation (resumable): print its test NLL, "
                        "epochs and rate switches, and train no baselines")
    return p


def _settings(args) -> dict:
    settings = dict(SCALES[args.scale])
    overrides = {"n_train": args.n_train, "n_val": args.n_val, "n_test": args.n_test,
                 "batch": args.batch_size, "epochs_per_trial": args.epochs_per_trial,
                 "coarse": args.coarse_lrs, "digits": args.digits, "top_k": args.top_k,
                 "offsets": args.offsets, "exploit_epochs": args.epochs or args.exploit_epochs}
    settings.update({k: v for k, v in overrides.items() if v is not None})
    settings["coarse"] = tuple(settings["coarse"])
    settings["offsets"] = tuple(settings["offsets"])
    return settings


def _images(x: np.ndarray) -> np.ndarray:
    return (x.astype("float32") / 255.0).reshape(len(x), 784)


def _split(experiment: Experiment, s):
    splits = experiment.load(s["n_train"] + s["n_val"], s["n_test"])
    x = _images(splits.train[0])
    return x[: s["n_train"]], x[s["n_train"]:], _images(splits.test[0])


def _baseline(name, optimizer, epochs, s, data, initial_weights, out, jit, seed, tested_at=()):
    """Trains the VAE from ``initial_weights`` for ``epochs`` with the shared loop and tests the
    weights of its best validation epoch; with ``tested_at`` also those of the best epoch up to
    each of these epochs (a constant rate's run to 400 epochs holds its runs to 50, 100, 200:
    same initial weights, data order and rate), in the summary's ``tested_at``."""
    config = {"method": name, "epochs": epochs, "batch": s["batch"], "seed": seed,
              "n_train": s["n_train"], "n_val": s["n_val"], "n_test": len(data[2])}
    if tested_at:  # absent otherwise, so the records of earlier runs still match
        config["tested_at"] = sorted(tested_at)

    def build() -> keras.Model:
        model = models.build_vae(seed=seed)
        model.set_weights(initial_weights)
        return model

    def test_nll(model: keras.Model) -> float:
        return float(model.evaluate(data[2], batch_size=s["batch"], verbose=0)[0])

    def summarize(history: dict, model: keras.Model) -> dict:
        # The last budget is the run's end: its checkpoint already tested these best weights
        # (one number for them, not two latent samples).
        nll = best.tested[epochs]["test"] if epochs in best.tested else test_nll(model)
        print(f"{name}: test NLL {nll:.2f} after {epochs} epochs")
        summary = {"test_nll": nll, "best_val_nll": float(min(history["val_loss"])),
                   "seconds": history["seconds"][-1]}
        if tested_at:
            summary["tested_at"] = {
                str(b): {"test_nll": best.tested[b]["test"], "best_val_nll": best.tested[b]["best"],
                         "best_epoch": best.tested[b]["best_epoch"],
                         "seconds": history["seconds"][b - 1]}
                for b in sorted(tested_at)}
        return summary

    best = BestWeights("val_loss", tested_at, test_nll)
    return train(name, build, data[0], None, Plan.for_data(len(data[0]), s["batch"], epochs),
                 out, config, optimizer=lambda: optimizer, summarize=summarize,
                 best_weights=best, validation_data=(data[1],), seed=seed, jit_compile=jit)


def _at(run: tuple, budget: int) -> dict:
    """The summary of ``run`` (history, summary) as it stood after ``budget`` epochs."""
    return run[1]["tested_at"][str(budget)]


def _cosine(budget: int, s, data, initial_weights, out, jit, seed) -> tuple:
    """(history, summary) of cosine annealing over ``budget`` epochs."""
    steps = Plan.for_data(len(data[0]), s["batch"], budget).total_steps
    return _baseline(f"cosine {budget}", keras.optimizers.Adam(
        schedules.Cosine(COSINE_PEAK_LR, steps)), budget, s, data, initial_weights, out, jit, seed)


def _constant(name: str, rate: float, budgets, s, data, initial_weights, out, jit, seed):
    """One run at a constant ``rate`` over the longest budget, tested at every budget."""
    return _baseline(f"{name} {max(budgets)}", keras.optimizers.Adam(rate), max(budgets), s,
                     data, initial_weights, out, jit, seed, tested_at=budgets)


def _initial_weights(explorer: LRExplorer) -> list[np.ndarray]:
    """The weights every explorer trial started from, which every baseline starts from too."""
    try:
        return explorer.initial_weights()
    except FileNotFoundError as error:
        raise SystemExit(f"{error}; start the search before --cosine-only.") from None


def _cosine_only(explorer, budgets, s, data, out, jit, seed) -> str:
    """--cosine-only: the cosine runs of the budgets; returns a summary line."""
    if not budgets:
        raise SystemExit("--cosine-only needs --baseline-epochs.")
    initial_weights = _initial_weights(explorer)
    done = []
    # Longest first: the full command takes the budgets in rising order after its constant
    # rates; where the two meet, the one that comes second waits for the run and loads it.
    for budget in sorted(budgets, reverse=True):
        cosine = _cosine(budget, s, data, initial_weights, out, jit, seed)
        done.append(f"cosine {budget}: {cosine[1]['test_nll']:.2f}")
    text = "test NLL: " + "; ".join(done)
    print(text)
    return text


def _row(label: str, summary: dict, epochs: str) -> list:
    """One line of the results table from a run's summary."""
    return [label, summary["test_nll"], summary["best_val_nll"], epochs,
            f"{summary['seconds'] / 60:.1f}"]


def main(argv: list[str] | None = None) -> str:
    experiment = _experiment()
    args = experiment.parse(argv, _parser(experiment))
    args.seed = args.seeds[0]
    s = _settings(args)
    jit = experiment.compile_options()["jit_compile"]
    x_train, x_val, x_test = _split(experiment, s)
    out = results.ResultsDir(args.results_dir, EXPERIMENT)
    print(f"Fashion-MNIST VAE: {len(x_train)} train / {len(x_val)} val / {len(x_test)} test "
          f"images, batch {s['batch']}; explorer {s}")

    def build(rate: float) -> keras.Model:
        model = models.build_vae(seed=args.seed)
        model.compile(optimizer=keras.optimizers.Adam(rate), jit_compile=jit)
        return model

    first, last = s["offsets"]
    explorer = LRExplorer(
        build, x_train, (x_val,), objective="val_loss", direction="min",
        coarse_lrs=s["coarse"], epochs_per_trial=s["epochs_per_trial"], top_k=s["top_k"],
        digits=s["digits"], refine_offsets=range(first, last - 1, -1),
        directory=out.file("explorer"), seed=args.seed, time_budget=args.time_budget,
        batch_size=s["batch"], verbose=1,
    )
    if args.cosine_only:
        return _cosine_only(explorer, args.baseline_epochs, s, (x_train, x_val, x_test), out, jit,
                            args.seed)
    found = explorer.search()
    # The rule is part of the record: the 0.x records (no key) stopped after one pass.
    run_config = {"found": found, "exploit_epochs": s["exploit_epochs"], "seed": args.seed,
                  "exploit_patience": args.exploit_patience}
    finished = out.load_finished("explorer exploitation", run_config)
    if finished is not None:
        print("explorer exploitation: finished earlier, loaded")
        curve, summary = finished
        explorer.exploitation_history = [
            {"epoch": int(e), "rate": r, "val_loss": v, "improved": bool(i)}
            for e, r, v, i in zip(curve["epoch"], curve["rate"], curve["val_loss"],
                                  curve["improved"], strict=True)]
        explorer.best_score = summary["best_val_nll"]
    else:
        start = time.time()
        model = explorer.exploit(max_epochs=s["exploit_epochs"], patience=args.exploit_patience)
        summary = {"test_nll": float(model.evaluate(x_test, batch_size=s["batch"], verbose=0)[0]),
                   "best_val_nll": float(explorer.best_score), "seconds": time.time() - start,
                   **results.where_ran()}
        history = explorer.exploitation_history
        curve = {key: [float(h[key]) for h in history]
                 for key in ("epoch", "rate", "val_loss", "improved")}
        out.save_run("explorer exploitation", run_config, curve, summary)
    explorer_test, exploit_seconds = summary["test_nll"], summary["seconds"]
    trials = explorer.trials_dataframe()
    search_epochs = int(trials["epochs"].sum())
    epochs = len(explorer.exploitation_history)
    switches = sum(a != b for a, b in zip(curve["rate"], curve["rate"][1:], strict=False))
    print(f"explorer: found {found}, exploitation {epochs} epochs, {switches} rate switches, "
          f"best val NLL {summary['best_val_nll']:.2f}, test NLL {explorer_test:.2f}")
    if args.exploit_only:
        return f"exploitation: {epochs} epochs, {switches} switches, test NLL {explorer_test:.2f}"

    data = (x_train, x_val, x_test)
    initial_weights = _initial_weights(explorer)
    cosine = _cosine(epochs, s, data, initial_weights, out, jit, args.seed)
    fixed = _baseline(f"fixed {HAND_TUNED_LR}", keras.optimizers.Adam(HAND_TUNED_LR), epochs, s,
                      data, initial_weights, out, jit, args.seed)
    runs = [summary, cosine[1], fixed[1]]
    baseline_rows = [_row(f"cosine annealing {epochs} (peak {COSINE_PEAK_LR:g})", cosine[1],
                          str(epochs)),
                     _row(f"fixed {HAND_TUNED_LR:g}", fixed[1], str(epochs))]
    budgets = sorted(args.baseline_epochs)
    if budgets:
        # The paper's table 6 also holds the explorer's best rate constant over each budget.
        # The constant rates go first: a --cosine-only process may be taking the cosine runs.
        best_rate = explorer.ranked_rates[0]
        held = _constant(f"explorer rate {best_rate:g}", best_rate, budgets, s, data,
                         initial_weights, out, jit, args.seed)
        budget_fixed = _constant(f"fixed {HAND_TUNED_LR}", HAND_TUNED_LR, budgets, s, data,
                                 initial_weights, out, jit, args.seed)
        runs += [held[1], budget_fixed[1]]
    for budget in budgets:
        budget_cosine = _cosine(budget, s, data, initial_weights, out, jit, args.seed)
        runs.append(budget_cosine[1])
        baseline_rows += [
            _row(f"cosine annealing {budget} (peak {COSINE_PEAK_LR:g})", budget_cosine[1],
                 str(budget)),
            _row(f"fixed {HAND_TUNED_LR:g}", _at(budget_fixed, budget), str(budget)),
            _row(f"explorer's best rate {best_rate:g}, constant", _at(held, budget),
                 str(budget))]

    found_text = ", ".join(f"{r:g}" for r in found)
    rows = [
        [f"LR explorer ({found_text})", explorer_test, float(explorer.best_score),
         f"{search_epochs} + {epochs}", f"{(trials['seconds'].sum() + exploit_seconds) / 60:.1f}"],
        *baseline_rows,
    ]
    table = results.markdown_table(
        ["method", "test NLL", "best val NLL", "epochs (search + training)", "minutes"], rows)
    trial_rows = [[f"{r.rate:g}", int(r.digit), float(r.score), int(r.best_epoch), int(r.epochs)]
                  for r in trials.itertuples()]
    trial_table = results.markdown_table(["rate", "digit", "best val NLL", "best epoch", "epochs"],
                                         trial_rows)
    detail = (f"{len(x_train)} train / {len(x_val)} val / {len(x_test)} test images, batch "
              f"{s['batch']}, Adam; explorer: coarse {list(s['coarse'])}, {s['epochs_per_trial']} "
              f"epochs per trial, {s['digits']} digits, top {s['top_k']}, offsets {first}..{last}, "
              f"at most {s['exploit_epochs']} exploitation epochs"
              f"{'' if explorer.complete else ' (exploration cut by the time budget)'}")
    text = results.write_table(
        out.file("table.md"), "Experiment 6: LR explorer vs cosine annealing vs fixed 0.0003 "
        "(Fashion-MNIST VAE, test NLL in nats, lower is better; target 235)",
        [("", table), ("Exploration trials", trial_table)], experiment.note(detail, runs))
    print(text)
    _plots(explorer, cosine[0], fixed[0], epochs, out)
    return text


def _plots(explorer, cosine_curve, fixed_curve, epochs, out) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    explorer.plot_exploration()
    plt.gcf().savefig(out.file("exploration.png"), dpi=100, bbox_inches="tight")
    explorer.plot_exploitation()
    plt.gcf().savefig(out.file("exploitation.png"), dpi=100, bbox_inches="tight")
    plt.close("all")
    exploit = {"epoch": [h["epoch"] for h in explorer.exploitation_history],
               "val_loss": [h["val_loss"] for h in explorer.exploitation_history]}
    results.plot_curves({"LR explorer (exploitation)": exploit, f"cosine {epochs}": cosine_curve,
                         "fixed 0.0003": fixed_curve}, "val_loss", out.file("val_loss.png"),
                        title="validation NLL per epoch")


if __name__ == "__main__":
    main()
