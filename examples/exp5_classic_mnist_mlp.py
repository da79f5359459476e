"""Experiment 5 (course notes "Section2: 学習率最適化手法"): Momentum, AdaGrad, RMSProp, Adam.

The notes' MNIST MLP, 784-40-20-10 with sigmoid units and N(0, 0.01^2) weights, pixels scaled to
[0, 1], lr 0.01, batch 100, 1,000 iterations, accuracy evaluated every 10 iterations; train and
test accuracy curves. Keras' optimizers with the notes' constants: momentum 0.9, AdaGrad from
h_0 = 0 with eps 1e-7, RMSProp decay 0.99, Adam betas 0.9 / 0.999. The notes' training accuracy
is that of the current batch; ours is the mean over the 10 batches since the last evaluation.
``--dataset fashion_mnist`` runs the same comparison on Fashion-MNIST when MNIST is not at hand.

    python examples/exp5_classic_mnist_mlp.py            # full scale; fine on a CPU
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
from _harness import cli, models, results  # noqa: E402
from _harness.training import Method, Plan, run_methods  # noqa: E402

LEARNING_RATE = 0.01
SCALES = {  # iterations, evaluation period, test examples (the notes use all 10,000)
    "full": dict(iterations=1000, period=10, n_test=None),
    "quick": dict(iterations=300, period=10, n_test=2000),
    "smoke": dict(iterations=20, period=10, n_test=64),
}
OPTIMIZERS = {
    "Momentum": lambda: keras.optimizers.SGD(LEARNING_RATE, momentum=0.9),
    "AdaGrad": lambda: keras.optimizers.Adagrad(LEARNING_RATE, initial_accumulator_value=0.0,
                                                epsilon=1e-7),
    "RMSProp": lambda: keras.optimizers.RMSprop(LEARNING_RATE, rho=0.99, epsilon=1e-7),
    "Adam": lambda: keras.optimizers.Adam(LEARNING_RATE),
}


def main(argv: list[str] | None = None) -> str:
    parser = cli.parser(__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="mnist")
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    iterations = args.epochs * scale["period"] if args.epochs else scale["iterations"]
    splits = cli.load(args.dataset, args, None if args.scale != "smoke" else 256, scale["n_test"])
    plan = Plan(iterations // scale["period"], scale["period"], 100)
    out = results.ResultsDir(args.results_dir, f"exp5_classic_{args.dataset}_mlp")
    methods = [Method(name, lambda plan, make=make: make(), config={"optimizer": name})
               for name, make in OPTIMIZERS.items()]
    runs = run_methods(
        methods, lambda: models.build_mlp(
            splits.train[0].shape[1:], kernel_initializer=keras.initializers.RandomNormal(
                stddev=0.01)),
        splits, plan, out, seed=args.seed, standardize=False, x_label="iteration",
        run_config={"scale": args.scale, "synthetic": args.synthetic, "dataset": args.dataset},
        verbose=args.verbose, **cli.compile_options(args))
    rows = [[name, 100 * history.get("accuracy", [float("nan")])[-1],
             summary["final_test_accuracy"]]
            for name, (history, summary) in runs.items()]
    table = results.markdown_table(
        ["optimizer", f"train accuracy % at {iterations}", f"test accuracy % at {iterations}"],
        rows)
    return results.publish(
        out.file("table.md"), f"Experiment 5: classic optimizers, {args.dataset} MLP 784-40-20-10",
        [("The notes show curves only: AdaGrad above Momentum but flat after ~400 iterations, "
          "RMSProp best of the three, Adam rising almost linearly", table)],
        cli.provenance(args, f"{iterations} iterations of batch 100, lr {LEARNING_RATE}"))


if __name__ == "__main__":
    main()
