"""Experiment 5 (course notes "Section2: 学習率最適化手法"): Momentum, AdaGrad, RMSProp, Adam.

The notes' MNIST MLP, 784-40-20-10 with sigmoid units and N(0, 0.01^2) weights, pixels scaled to
[0, 1], lr 0.01, batch 100, 1,000 iterations, accuracy evaluated every 10 iterations; train and
test accuracy curves. Keras' optimizers with the notes' constants: momentum 0.9, AdaGrad from
h_0 = 0 with eps 1e-7, RMSProp decay 0.99, Adam betas 0.9 / 0.999. The notes' training accuracy
is that of the current batch; ours is the mean over the 10 batches since the last evaluation.
``--dataset fashion_mnist`` runs the same comparison on Fashion-MNIST when MNIST is not at hand.

    python examples/exp5_classic_mnist_mlp.py     # full protocol (the default); a CPU is enough
"""

from __future__ import annotations

from _harness import models, results
from _harness.experiment import Experiment, Scale, format_mean_std, per_seed
from _harness.training import Method

import keras

EXPERIMENT = "exp5_classic_mlp"
LEARNING_RATE = 0.01
SCALES = {  # periods of 10 iterations (evaluation every 10), batch 100; the notes use all data
    "full": Scale(None, None, 100, 100, period=10),
    "reduced": Scale(None, 2000, 30, 100, period=10),
    "smoke": Scale(256, 64, 2, 100, period=10),
}
OPTIMIZERS = {
    "Momentum": lambda: keras.optimizers.SGD(LEARNING_RATE, momentum=0.9),
    "AdaGrad": lambda: keras.optimizers.Adagrad(LEARNING_RATE, initial_accumulator_value=0.0,
                                                epsilon=1e-7),
    "RMSProp": lambda: keras.optimizers.RMSprop(LEARNING_RATE, rho=0.99, epsilon=1e-7),
    "Adam": lambda: keras.optimizers.Adam(LEARNING_RATE),
}


def main(argv: list[str] | None = None) -> str:
    experiment = Experiment(EXPERIMENT, __doc__.splitlines()[0], SCALES, default_dataset="mnist",
                            datasets=("mnist", "fashion_mnist"), default_scale="full")
    args = experiment.parse(argv)
    splits = experiment.load()
    plan = experiment.scale.plan(len(splits.train[1]), args.epochs)
    iterations = plan.total_steps
    methods = [Method(name, lambda plan, make=make: make(), config={"optimizer": name})
               for name, make in OPTIMIZERS.items()]

    def body(shape):
        return models.build_mlp(shape, kernel_initializer=keras.initializers.RandomNormal(
            stddev=0.01))

    runs = experiment.run(methods, body, splits, plan, pad_to=None, standardize=False,
                          x_label="iteration")

    def train_accuracy(name: str) -> list[float | None]:
        histories = [by_method.get(name, ({}, {}))[0] for by_method in runs.values()]
        return [100 * h["accuracy"][-1] if h else None for h in histories]

    rows = [[name, format_mean_std(train_accuracy(name)), format_mean_std(per_seed(runs, name))]
            for name in OPTIMIZERS]
    table = results.markdown_table(
        ["optimizer", f"train accuracy % at {iterations}", f"test accuracy % at {iterations}"],
        rows)
    return experiment.write(
        f"Experiment 5: classic optimizers, {args.dataset} MLP 784-40-20-10",
        [("The notes show curves only: AdaGrad above Momentum but flat after ~400 iterations, "
          "RMSProp best of the three, Adam rising almost linearly", table)],
        experiment.provenance(splits, plan, "MLP 784-40-20-10 (sigmoid)", runs,
                              f"lr {LEARNING_RATE}"), runs)


if __name__ == "__main__":
    main()
