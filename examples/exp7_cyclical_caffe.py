"""Experiment 7 (fifth document, Smith's cyclical learning rates): Caffe's CIFAR-10 network.

Table 2 setting: SGD with momentum 0.9 (Caffe's cifar10_full solver, weight decay 0.004 as a
coupled L2 term), batch 100 (500 iterations an epoch): fixed lr 0.001 (paper 81.4 % at 70,000),
triangular2 base 0.001 max 0.006 step 2,000 (81.4 % at 25,000), linear decay 0.007 -> 0.001 over
4,000 then fixed (78.5 % at 25,000), Caffe's exp policy 0.001 * 0.99994^i (79.1 % at 70,000) and
exp_range with gamma 0.99994 (82.2 % at 42,000). Every run goes to 70,000 iterations and is read
at the paper's count (a schedule's value never depends on the run's length). Then the LR range
test (linear, 8 epochs up to 0.02) whose plot picks the bounds, and table 3: Nesterov, Adam,
RMSprop, AdaGrad, AdaDelta, each fixed at its base rate vs triangular at the paper's bounds.
Reduced scales shrink every iteration count by the same factor (and raise gamma to 1/factor).

    python examples/exp7_cyclical_caffe.py --quick
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
from _harness import cli, models, results  # noqa: E402
from _harness.training import Method, Plan, make_datasets, run_methods  # noqa: E402

from tf_lropt import schedules  # noqa: E402

SCALES = {  # factor on every iteration count, evaluation period, data subset
    "full": dict(factor=1.0, period=1000, n_train=None, n_test=None, batch=100),
    "quick": dict(factor=0.005, period=10, n_train=5000, n_test=1000, batch=100),
    "smoke": dict(factor=0.0002, period=5, n_train=64, n_test=32, batch=8),
}
MOMENTUM, WEIGHT_DECAY, GAMMA = 0.9, 0.004, 0.99994
TABLE2 = [("fixed", 70_000, 81.4), ("triangular2", 25_000, 81.4), ("decay", 25_000, 78.5),
          ("exp", 70_000, 79.1), ("exp_range", 42_000, 82.2)]
TABLE3 = {  # optimizer: (base_lr, max_lr, {(policy, iterations): paper accuracy})
    "Nesterov": (0.001, 0.006, {("fixed", 70_000): 82.1, ("triangular", 25_000): 81.3}),
    "Adam": (0.0005, 0.002, {("fixed", 70_000): 81.4, ("triangular", 25_000): 79.8,
                             ("triangular", 70_000): 81.1}),
    "RMSprop": (0.0001, 0.0003, {("fixed", 70_000): 75.2, ("triangular", 25_000): 72.8,
                                 ("triangular", 70_000): 75.1}),
    "AdaGrad": (0.003, 0.035, {("fixed", 70_000): 74.6, ("triangular", 25_000): 76.0}),
    "AdaDelta": (0.01, 0.1, {("fixed", 70_000): 67.3, ("triangular", 25_000): 67.3}),
}
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


def range_test(args, scale: dict, splits, out: results.ResultsDir) -> str:
    """Smith's LR range test: lr rising linearly to 0.02 over 8 epochs; plot and suggestion."""
    try:
        from tf_lropt.lr_finder import find_lr
    except ImportError:
        return "LR range test skipped: tf_lropt.lr_finder is not available in this version."
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keras.utils.set_random_seed(args.seed)
    model = models.build_caffe_cifar10(splits.train[0].shape[1:], weight_decay=WEIGHT_DECAY)
    model.compile(OPTIMIZERS["SGD"](1e-5), keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], run_eagerly=args.scale == "smoke")
    train, _ = make_datasets(splits, 10, scale["batch"], args.seed)
    steps = max(2, round(8 * 500 * scale["factor"]))
    result = find_lr(model, train, min_lr=1e-5, max_lr=0.02, steps=steps, mode="linear",
                     shuffle=False)
    result.to_csv(out.file("lr_range_test.csv"))
    axes = result.plot()
    axes[0].figure.savefig(out.file("lr_range_test.png"), dpi=110)
    plt.close(axes[0].figure)
    s = result.suggestion
    return (f"LR range test ({steps} iterations, linear 1e-5 -> 0.02): Smith's rule suggests "
            f"base_lr {s.base_lr}, max_lr {s.max_lr} (paper: 0.001 and 0.006)")


def main(argv: list[str] | None = None) -> str:
    args = cli.parser(__doc__.splitlines()[0]).parse_args(argv)
    scale = SCALES[args.scale]
    f = scale["factor"]
    splits = cli.load("cifar10", args, scale["n_train"], scale["n_test"])
    iterations = (args.epochs * scale["period"]) if args.epochs else round(70_000 * f)
    plan = Plan(max(1, iterations // scale["period"]), scale["period"], scale["batch"])
    out = results.ResultsDir(args.results_dir, "exp7_cyclical_caffe")
    runs = run_methods(
        methods(f), lambda: models.build_caffe_cifar10(splits.train[0].shape[1:],
                                                       weight_decay=WEIGHT_DECAY),
        splits, plan, out, seed=args.seed, x_label="iteration",
        run_config={"scale": args.scale, "synthetic": args.synthetic}, verbose=args.verbose,
        **cli.compile_options(args))
    history = {name: h for name, (h, _) in runs.items()}
    table2 = [[policy, n, paper, accuracy_at(history[policy], round(n * f)),
               accuracy_at(history[policy], plan.total_steps)] for policy, n, paper in TABLE2]
    table3 = [[name, f"{base:g} - {peak:g}", policy, n, paper,
               accuracy_at(history[f"{name} {policy}"], round(n * f))]
              for name, (base, peak, cells) in TABLE3.items()
              for (policy, n), paper in cells.items()]
    range_line = range_test(args, scale, splits, out)
    return results.publish(
        out.file("table.md"), "Experiment 7: cyclical learning rates, Caffe CIFAR-10 network",
        [("Table 2: policies (SGD, momentum 0.9)", results.markdown_table(
            ["policy", "paper iterations", "paper %", "ours % at that iteration",
             f"ours % at {plan.total_steps}"], table2)),
         ("Table 3: optimizers, fixed vs triangular", results.markdown_table(
             ["optimizer", "base - max lr", "policy", "paper iterations", "paper %",
              "ours % at that iteration"], table3)),
         ("LR range test", range_line)],
        cli.provenance(args, f"iteration counts x{f:g} ({plan.total_steps} iterations), "
                             f"{len(splits.train[1])} training images"))


if __name__ == "__main__":
    main()
