"""Experiment 2 (Noguchi & Yamauchi, table 1): the robust recipe, one addition at a time.

Paper: ResNet-56 on CIFAR-10, NAG (lr 0.1, momentum 0.9, weight decay 1e-4), batch 128,
300 epochs, x0.1 at epochs 150 and 225, crop + flip; then + cosine decay, + TrivialAugment,
+ CutMix, + weight decay off at 75 %: 93.95, 93.99, 94.51, 95.11, 95.73 %. See
``_harness/robust.py`` for how NAG's coupled weight decay maps onto Keras; every schedule is a
fraction of the run (step decay at 50 % / 75 %, cosine over the run, decay off from 75 %).

Protocols (same methods and hyperparameters; every method of a seed starts from the same
weights and sees the same batches):

- full (GPU): ResNet-56, all training images, 300 epochs, seeds 0-2.
- reduced (default on a CPU): ResNet-20 at half width (8-16-32 filters), a fixed
  5,000-image training subset, the whole test set, 15 epochs, seeds 0-2 (about 1.25
  CPU-seconds a step with TrivialAugment and 14 per test evaluation: about 16 CPU-minutes a
  run, 15 runs).
- smoke: ResNet-8 at 1/4 width, 64 images, 2 epochs (CI only).

Fashion-MNIST is zero-padded from 28x28x1 to 32x32x1 inside the model; crop, flip and
TrivialAugment run there too, CutMix on the batches (``_harness/training.py``).

    python examples/exp2_robust_ablation.py                 # reduced on a CPU
"""

from __future__ import annotations

from _harness import papers, results, robust
from _harness.experiment import Experiment, Scale, format_mean_std, per_seed

EXPERIMENT = "exp2_robust_ablation"
PAPER = papers.EXP2_TABLE1  # test accuracy % per step of the recipe
SCALES = {
    "full": Scale(None, None, 300, 128, depth=56, seeds=(0, 1, 2)),
    "reduced": Scale(5_000, None, 15, 128, width=0.5, depth=20, seeds=(0, 1, 2)),
    "smoke": Scale(64, 32, 2, 32, width=0.25, depth=8),
}


def methods():
    return [robust.recipe(name, "NAG", 0.1, 1e-4, **robust.TABLE_1[name]) for name in PAPER]


def main(argv: list[str] | None = None) -> str:
    experiment = Experiment(EXPERIMENT, __doc__.splitlines()[0], SCALES)
    runs, splits, plan, model = robust.run(experiment, argv, methods())
    rows = [[name, PAPER[name], format_mean_std(per_seed(runs, name)),
             format_mean_std(per_seed(runs, name, "best_test_accuracy"))] for name in PAPER]
    table = results.markdown_table(
        ["method", "paper % (ResNet-56, CIFAR-10, 300 ep)", "ours: final %", "ours: best epoch %"],
        rows)
    return experiment.write(
        f"Experiment 2: table 1, the recipe one step at a time ({experiment.args.dataset})",
        [("Test accuracy, mean ± std over seeds", table)],
        experiment.provenance(splits, plan, model, runs, "NAG lr 0.1, weight decay 1e-4"), runs)


if __name__ == "__main__":
    main()
