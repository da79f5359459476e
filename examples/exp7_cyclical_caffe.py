"""Experiment 7 (cyclical learning rates, Smith 2017, as the fifth document reads it): Caffe's
CIFAR-10 network.

Table 2 setting: SGD with momentum 0.9 (Caffe's cifar10_full solver, weight decay 0.004 as a
coupled L2 term), batch 100 (500 iterations an epoch): fixed lr 0.001 (paper 81.4 % at 70,000),
triangular2 base 0.001 max 0.006 step 2,000 (81.4 % at 25,000), linear decay 0.007 -> 0.001 over
4,000 then fixed (78.5 % at 25,000), Caffe's exp policy 0.001 * 0.99994^i (79.1 % at 70,000) and
exp_range with gamma 0.99994 (82.2 % at 42,000). Every run goes to 70,000 iterations and is read
at the paper's count (a schedule's value never depends on the run's length). Then the LR range
test (linear from 1e-5 to 0.02 over 8 epochs) whose plot picks the bounds, and table 3:
Nesterov, Adam, RMSprop, AdaGrad, AdaDelta, each fixed at its base rate vs triangular at the
paper's bounds.

Protocols: every iteration count (run length, step sizes, the paper's read-out points) is
multiplied by the scale's ``factor`` and gamma raised to ``1 / factor``, so each schedule keeps
its shape over the shorter run; the range test always covers 8 epochs of the training data.

- full (GPU): all training images, factor 1 (70,000 iterations), evaluation every 1,000, seed 0.
- reduced (default on a CPU): a fixed 5,000-image training subset (50 iterations an epoch),
  the whole test set, factor 0.02 (1,400 iterations, step size 40, read at the evaluations
  nearest to 500 / 840 / 1,400), evaluation every 50 iterations, seeds 0-2 (with JAX on one
  CPU core: 9-11 minutes a run; the range test, 400 iterations, a few minutes).
- smoke: 64 images, factor 0.0002 (CI only).

Fashion-MNIST is zero-padded from 28x28x1 to 32x32x1 inside the model.

    python examples/exp7_cyclical_caffe.py
"""

from __future__ import annotations

import json
import os

from _harness import models, papers, results
from _harness.experiment import Experiment, Scale, format_mean_std, mean_std
from _harness.training import Batches, Method, classifier

import keras

from tf_lropt import schedules

EXPERIMENT = "exp7_cyclical_caffe"
SCALES = {  # period: iterations per evaluation; factor: on every iteration count
    "full": Scale(None, None, 70, 100, period=1000, factor=1.0),
    "reduced": Scale(5_000, None, 28, 100, period=50, factor=0.02, seeds=(0, 1, 2)),
    "smoke": Scale(64, 32, 3, 8, period=5, factor=0.0002),
}
MOMENTUM, WEIGHT_DECAY, GAMMA = 0.9, 0.004, 0.99994
TABLE2, TABLE3 = papers.EXP7_TABLE2, papers.EXP7_TABLE3  # see _harness/papers.py
OPTIMIZERS = {
    "SGD": lambda rate: keras.optimizers.SGD(rate, momentum=MOMENTUM),
    "Nesterov": lambda rate: keras.optimizers.SGD(rate, momentum=MOMENTUM, nesterov=True),
    "Adam": keras.optimizers.Adam, "RMSprop": keras.optimizers.RMSprop,
    "AdaGrad": keras.optimizers.Adagrad, "AdaDelta": keras.optimizers.Adadelta,
}


def table2_rates(f: float) -> dict:
    """The five policies of table 2, their iteration counts scaled by ``f``."""
    def steps(n: int) -> int:
        return max(1, round(n * f))

    return {
        "fixed": 0.001,
        "triangular2": schedules.Triangular2(0.001, 0.006, steps(2000)),
        "decay": keras.optimizers.schedules.PolynomialDecay(0.007, steps(4000), 0.001),
        "exp": keras.optimizers.schedules.ExponentialDecay(0.001, 1, GAMMA ** (1 / f)),
        "exp_range": schedules.ExpRange(0.001, 0.006, steps(2000), GAMMA ** (1 / f)),
    }


def methods(f: float) -> list[Method]:
    found = [Method(name, lambda plan, rate=rate: OPTIMIZERS["SGD"](rate),
                    config={"optimizer": "SGD", "policy": name, "factor": f})
             for name, rate in table2_rates(f).items()]
    for name, (base, peak, _) in TABLE3.items():
        triangular = schedules.Triangular(base, peak, max(1, round(2000 * f)))
        for policy, rate in (("fixed", base), ("triangular", triangular)):
            found.append(Method(f"{name} {policy}", lambda plan, n=name, r=rate: OPTIMIZERS[n](r),
                                config={"optimizer": name, "policy": policy, "factor": f}))
    return found


def accuracy_at(history: dict, iteration: int) -> float | None:
    """Test accuracy % at the evaluation nearest to ``iteration``."""
    if not history.get("step"):
        return None
    index = min(range(len(history["step"])), key=lambda i: abs(history["step"][i] - iteration))
    return 100.0 * history["val_accuracy"][index]


RANGE_TEST_EPOCHS, RANGE_MIN_LR, RANGE_MAX_LR = 8, 1e-5, 0.02


def body(shape):
    return models.build_caffe_cifar10(shape, weight_decay=WEIGHT_DECAY)


def range_test(experiment: Experiment, splits, out: results.ResultsDir) -> dict:
    """Smith's LR range test: lr rising linearly from 1e-5 to 0.02 over 8 epochs of the training
    data, SGD momentum 0.9; plot, CSV and the bounds Smith's rule reads off the accuracy."""
    from tf_lropt.lr_finder import find_lr

    seed, scale = experiment.args.seeds[0], experiment.scale
    keras.utils.set_random_seed(seed)
    x_train, y_train = splits.train
    model = classifier(body, x_train.shape[1:], x_train, seed=seed, pad_to=32)
    model.compile(OPTIMIZERS["SGD"](RANGE_MIN_LR),
                  keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["accuracy"],
                  **experiment.compile_options())
    steps = max(2, RANGE_TEST_EPOCHS * len(y_train) // scale.batch)
    batches = Batches(x_train, y_train, scale.batch, steps, seed)
    result = find_lr(model, batches, min_lr=RANGE_MIN_LR, max_lr=RANGE_MAX_LR, epochs=1,
                     mode="linear")
    result.to_csv(out.file("lr_range_test.csv"))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes = result.plot()
    axes[0].figure.savefig(out.file("lr_range_test.png"), dpi=110)
    plt.close(axes[0].figure)
    suggestion = result.suggestion
    return {"iterations": steps, "base_lr": suggestion.base_lr, "max_lr": suggestion.max_lr}


def main(argv: list[str] | None = None) -> str:
    experiment = Experiment(EXPERIMENT, __doc__.splitlines()[0], SCALES)
    args = experiment.parse(argv)
    scale = experiment.scale
    f = scale.factor
    splits = experiment.load()
    plan = scale.plan(len(splits.train[1]), args.epochs)
    runs = experiment.run(methods(f), body, splits, plan, x_label="iteration")

    def at(name: str, iteration: int) -> list[float | None]:
        found = []
        for by_method in runs.values():
            history, summary = by_method.get(name, ({}, {"not_run": True}))
            diverged = summary.get("diverged")
            found.append(float("nan") if diverged else accuracy_at(history, iteration))
        return found

    read_at = {name: {n: at(name, round(n * f)) for n in (25_000, 42_000, 70_000)}
               for name in (m.name for m in methods(f))}
    table2 = [[policy, n, paper, format_mean_std(read_at[policy][n]),
               format_mean_std(at(policy, plan.total_steps))] for policy, n, paper in TABLE2]
    table3 = [[name, f"{base:g} - {peak:g}", policy, n, paper,
               format_mean_std(read_at[f"{name} {policy}"][n])]
              for name, (base, peak, cells) in TABLE3.items()
              for (policy, n), paper in cells.items()]
    out = experiment.results_dir()
    bounds, stored = None, out.file("lr_range_test.json")
    if os.path.exists(stored):  # done by an earlier invocation (campaigns run it in parts)
        with open(stored) as stream:
            bounds = json.load(stream)
    if (bounds is None or bounds.get("scale") != args.scale) and not args.publish_only:
        bounds = {**range_test(experiment, splits, out), "scale": args.scale}
        with open(stored, "w") as stream:
            json.dump(bounds, stream)
    range_line = "not run" if bounds is None else (
        f"{bounds['iterations']} iterations, linear {RANGE_MIN_LR:g} -> {RANGE_MAX_LR:g}: "
        f"Smith's rule reads base_lr {bounds['base_lr']:.3g}, max_lr {bounds['max_lr']:.3g} "
        f"(paper: {papers.EXP7_BOUNDS[0]:g} and {papers.EXP7_BOUNDS[1]:g}); see lr_range_test.png")
    read_means = {name: {str(n): mean_std(values)[0] for n, values in cells.items()}
                  for name, cells in read_at.items()}
    provenance = experiment.provenance(
        splits, plan, "Caffe cifar10_full network", runs,
        f"iteration counts x{f:g} ({plan.total_steps} iterations, read at the paper's counts "
        f"x{f:g})")
    return experiment.write(
        f"Experiment 7: cyclical learning rates, Caffe CIFAR-10 network ({args.dataset})",
        [("Table 2: policies (SGD, momentum 0.9); ours: mean ± std over seeds",
          results.markdown_table(["policy", "paper iterations", "paper %",
                                  f"ours % at that iteration x{f:g}",
                                  f"ours % at {plan.total_steps}"], table2)),
         ("Table 3: optimizers, fixed vs triangular", results.markdown_table(
             ["optimizer", "base - max lr", "policy", "paper iterations", "paper %",
              f"ours % at that iteration x{f:g}"], table3)),
         ("LR range test", range_line)],
        provenance, runs,
        extra={"read_at": {name: {str(n): v for n, v in cells.items()}
                           for name, cells in read_at.items()},
               "read_at_mean": read_means, "range_test": bounds, "factor": f})


if __name__ == "__main__":
    main()
