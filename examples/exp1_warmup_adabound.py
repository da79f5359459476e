"""Experiment 1 (行木 & 山口, Chiba Inst. of Tech.): warm-up AdaBound against AdaBound, RAdam.

The document (Namiki & Yamaguchi, Chiba Institute of Technology) trains "a CNN" on CIFAR-10 with
AdaBound, RAdam and WarmupAdaBound whose upper bound is capped for the first 10, 20, 30, 40 and
50 epochs ("w10AdaBound" ...) and shows test-accuracy curves (figure 2): w10 and w20 above
AdaBound, RAdam best. It gives neither the network nor the run length; we use the harness's
plain CNN (2 x conv3x3-BN-ReLU + max-pool per stage, dropout, dense), lr 1e-3 and final_lr 0.1
(AdaBound's defaults), batch 128, and read the warm-up lengths as fractions of a 100-epoch run
(w10 = the first 10 % of the steps), so every scale keeps the paper's proportions.

Protocols (every method and seed sees the same data subset and, per seed, the same
initial weights and batch order):

- full (GPU): the whole training set, 100 epochs, filters 32-64-128, dense 256, seeds 0-2.
- reduced (default on a CPU): the CNN at a quarter of the width (filters 8-16-32, dense 64),
  a fixed 10,000-image training subset, the whole test set, 20 epochs, seeds 0-2 (on one
  CPU core, test evaluation included: 15 s an epoch on JAX, about 5 minutes a run; 38 s an
  epoch on TensorFlow, 29 s with XLA; 21 runs).
- smoke: 64 images, 2 epochs, a tiny CNN (CI only; numbers mean nothing).

Fashion-MNIST's 28x28x1 images are zero-padded to 32x32 inside the model (``--dataset cifar10``
where CIFAR-10 is in Keras' cache). No augmentation (the document names none).

    python examples/exp1_warmup_adabound.py                    # reduced on a CPU
    python examples/exp1_warmup_adabound.py --full --dataset cifar10
"""

from __future__ import annotations

from _harness import models, papers, results
from _harness.experiment import Experiment, Scale, format_mean_std, per_seed
from _harness.training import Method, Plan

from tf_lropt import optimizers

EXPERIMENT = "exp1_warmup_adabound"
PAPER_EPOCHS = 100
WARMUP_EPOCHS = (10, 20, 30, 40, 50)
METHODS = ("AdaBound", "RAdam", *(f"w{w}AdaBound" for w in WARMUP_EPOCHS))
SCALES = {
    "full": Scale(None, None, PAPER_EPOCHS, 128, seeds=(0, 1, 2)),
    "reduced": Scale(10_000, None, 20, 128, width=0.25, seeds=(0, 1, 2)),
    "smoke": Scale(64, 32, 2, 32, width=0.125),
}


def methods() -> list[Method]:
    found = [Method("AdaBound", lambda plan: optimizers.AdaBound(1e-3, final_lr=0.1),
                    config={"optimizer": "AdaBound"}),
             Method("RAdam", lambda plan: optimizers.RAdam(1e-3), config={"optimizer": "RAdam"})]
    for warmup in WARMUP_EPOCHS:
        fraction = warmup / PAPER_EPOCHS

        def make(plan: Plan, fraction: float = fraction):
            return optimizers.WarmupAdaBound(
                1e-3, final_lr=0.1, warmup_steps=max(1, round(fraction * plan.total_steps)))

        found.append(Method(f"w{warmup}AdaBound", make, config={
            "optimizer": "WarmupAdaBound", "warmup_fraction": fraction}))
    return found


def main(argv: list[str] | None = None) -> str:
    experiment = Experiment(EXPERIMENT, __doc__.splitlines()[0], SCALES)
    experiment.parse(argv)
    scale = experiment.scale
    splits = experiment.load()
    plan = scale.plan(len(splits.train[1]), experiment.args.epochs)
    filters = tuple(max(4, round(f * scale.width)) for f in (32, 64, 128))
    dense = max(8, round(256 * scale.width))

    def body(shape):
        return models.build_plain_cnn(shape, 10, filters, dense)

    runs = experiment.run(methods(), body, splits, plan)
    rows = [[name, papers.EXP1_FIGURE2.get(name, "curve only"),
             format_mean_std(per_seed(runs, name)),
             format_mean_std(per_seed(runs, name, "best_test_accuracy"))] for name in METHODS]
    table = results.markdown_table(
        ["optimizer", "paper (figure 2)", "ours: final test accuracy %", "ours: best epoch %"],
        rows)
    model = f"plain CNN {'-'.join(map(str, filters))}, dense {dense}"
    provenance = experiment.provenance(splits, plan, model, runs,
                                       "warm-up lengths as fractions of the run (w10 = 10 %)")
    return experiment.write(
        f"Experiment 1: warm-up AdaBound ({experiment.args.dataset})",
        [("Test accuracy, mean ± std over seeds", table)], provenance, runs)


if __name__ == "__main__":
    main()
