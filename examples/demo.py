"""The main demo: our optimizers and schedules against Keras' Adam on scikit-learn's digits.

Offline (the data ships with scikit-learn), about a minute or two on 2 CPU cores. Trains the same
small MLP with every method for a few seeds, prints a table of test accuracy and writes
``results/demo/table.md``, ``results/demo/val_accuracy.png`` and ``results/demo/loss.png``.

    pip install -e ".[examples]" && python examples/demo.py
"""

from __future__ import annotations

import argparse

from _harness import data, models, results  # first: it silences TensorFlow's start-up logs
from _harness.training import Method, Plan, train_classifier

import keras
import numpy as np

from tf_lropt import optimizers, schedules


def methods() -> list[Method]:
    """(name, optimizer for a plan): Keras baselines first, then ours."""

    def epochs_to_steps(plan: Plan, epochs: float) -> int:
        return max(1, int(epochs * plan.steps_per_epoch))

    table = {
        "Adam (Keras)": lambda plan: keras.optimizers.Adam(1e-3),
        "AdaBound": lambda plan: optimizers.AdaBound(1e-3, final_lr=0.1),
        "WarmupAdaBound (2 ep)": lambda plan: optimizers.WarmupAdaBound(
            1e-3, final_lr=0.1, warmup_steps=epochs_to_steps(plan, 2)),
        "RAdam": lambda plan: optimizers.RAdam(1e-3),
        "AdaBelief": lambda plan: optimizers.AdaBelief(1e-3),
        "RAdaBeliefW": lambda plan: optimizers.RAdaBeliefW(1e-3, weight_decay=1e-2),
        "RAdaBeliefW + Cosine": lambda plan: optimizers.RAdaBeliefW(
            schedules.Cosine(1e-3, plan.total_steps), weight_decay=1e-2),
        "SGD Nesterov (Keras)": lambda plan: keras.optimizers.SGD(
            0.05, momentum=0.9, nesterov=True),
        "SGD Nesterov + Cosine": lambda plan: keras.optimizers.SGD(
            schedules.Cosine(0.05, plan.total_steps), momentum=0.9, nesterov=True),
        "SGD Nesterov + Triangular2": lambda plan: keras.optimizers.SGD(
            schedules.Triangular2(0.005, 0.05, epochs_to_steps(plan, 2)),
            momentum=0.9, nesterov=True),
    }
    return [Method(name, make, config={"name": name}) for name, make in table.items()]


def build_model(input_shape: tuple = (8, 8, 1)) -> keras.Model:
    return models.build_mlp(input_shape=input_shape, hidden_units=(128, 64), activation="relu")


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)

    splits = data.load_digits(seed=0)
    plan = Plan.for_data(len(splits.train[1]), args.batch_size, args.epochs)
    out = results.ResultsDir(args.results_dir, "demo")
    print(f"digits: {len(splits.train[1])} train / {len(splits.test[1])} test images, "
          f"MLP 64-128-64-10, {args.epochs} epochs x {plan.steps_per_epoch} steps, "
          f"batch {args.batch_size}, seeds 0..{args.seeds - 1}")
    rows, curves = [], {}
    for method in methods():
        finals, bests, seconds = [], [], []
        for seed in range(args.seeds):
            seeded = Method(f"{method.name} seed{seed}", method.make_optimizer,
                            config=method.config)
            history, summary = train_classifier(seeded, build_model, splits, plan, out,
                                                seed=seed, jit_compile=False)
            finals.append(summary["final_test_accuracy"])
            bests.append(summary["best_test_accuracy"])
            seconds.append(summary["seconds"])
            if seed == 0:
                curves[method.name] = history
        rows.append([method.name, f"{np.mean(finals):.2f} ± {np.std(finals):.2f}",
                     float(np.mean(bests)), float(np.mean(seconds))])
    header = ["method", "final test accuracy % (mean ± std)", "best epoch % (mean)",
              "seconds / run"]
    table = results.markdown_table(header, rows)
    provenance = (f"_scikit-learn digits, {args.epochs} epochs, batch {args.batch_size}, "
                  f"{args.seeds} seeds; {results.hardware()}; {results.today()}._")
    results.write_table(out.file("table.md"), "Demo: optimizers and schedules on digits",
                        [("", table)], provenance)
    results.plot_curves(curves, "val_accuracy", out.file("val_accuracy.png"),
                        title="digits: test accuracy per epoch (seed 0)")
    results.plot_curves(curves, "loss", out.file("loss.png"), log_y=True,
                        title="digits: training loss per epoch (seed 0)")
    print(f"\n{table}\n\nwrote {out.file('table.md')}, val_accuracy.png, loss.png")
    return table


if __name__ == "__main__":
    main()
