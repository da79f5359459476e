"""Experiment 3 (Noguchi & Yamauchi, table 2): optimizers x learning rates, full recipe.

Paper: ResNet-56 on CIFAR-10 with the whole recipe (cosine decay, TrivialAugment, CutMix,
weight decay off at 75 %), 300 epochs: NAG, Adam, AdamW, RAdam, AdaBelief and RAdaBeliefW (the
document's proposal) at lr 0.1, 0.01 and 0.001; weight decay 1e-4 for NAG (coupled, see
``_harness/robust.py``), 1e-2 decoupled for the others, none for Adam. Its claims: NAG loses
much accuracy at small rates, Adam diverges at 0.1, RAdaBeliefW varies least over the rates.

Protocols (the same methods and hyperparameters at every scale):

- full (GPU): ResNet-56, all training images, 300 epochs, seeds 0-2.
- reduced (default on a CPU): ResNet-20 at a quarter of the width (4-8-16 filters), a fixed
  5,000-image training subset, the whole test set, 10 epochs, seeds 0-2 (54 runs, narrower and
  shorter than experiment 2's; with JAX on one CPU core: 8-15 minutes a run, median 11.5,
  about 10 hours in all; docs/results.md has the measurements). Caveat: 390 steps are short of
  RAdam's rectification ramp (with beta_2 0.999 its factor r_t is 0.15 at step 50, 0.42 at
  step 390 and 0.83 at 2,000), so RAdam and RAdaBeliefW train at a fraction of the nominal
  rate here, most at lr 0.001; the paper's 300 x 391 steps are far past it.
- smoke: ResNet-8 at 1/4 width, 64 images, 2 epochs (CI only).

    python examples/exp3_robust_optimizers.py
"""

from __future__ import annotations

from _harness import papers, results, robust
from _harness.experiment import Experiment, Scale, format_mean_std, per_seed

EXPERIMENT = "exp3_robust_optimizers"
RATES = papers.EXP3_RATES
PAPER = papers.EXP3_TABLE2  # accuracy % at each of RATES; None: diverged


SCALES = {
    "full": Scale(None, None, 300, 128, depth=56, seeds=(0, 1, 2)),
    "reduced": Scale(5_000, None, 10, 128, width=0.25, depth=20, seeds=(0, 1, 2)),
    "smoke": Scale(64, 32, 2, 32, width=0.25, depth=8),
}


def method_name(optimizer: str, lr: float) -> str:
    return f"{optimizer} lr={lr:g}"


def methods():
    return [robust.recipe(method_name(name, lr), name, lr, robust.DEFAULT_WEIGHT_DECAY[name])
            for name in PAPER for lr in RATES]


def main(argv: list[str] | None = None) -> str:
    experiment = Experiment(EXPERIMENT, __doc__.splitlines()[0], SCALES)
    runs, splits, plan, model = robust.run(experiment, argv, methods())
    header = ["optimizer", *(f"paper η={lr:g}" for lr in RATES),
              *(f"ours η={lr:g}" for lr in RATES)]
    rows = [[name, *("diverged" if p is None else p for p in PAPER[name]),
             *(format_mean_std(per_seed(runs, method_name(name, lr))) for lr in RATES)]
            for name in PAPER]
    return experiment.write(
        f"Experiment 3: table 2, optimizers x learning rates ({experiment.args.dataset})",
        [("Test accuracy % (paper: ResNet-56 on CIFAR-10, 300 epochs; ours: mean ± std over "
          "seeds; RAdaBeliefW is the document's proposal)",
          results.markdown_table(header, rows))],
        experiment.provenance(splits, plan, model, runs, "whole recipe"), runs)


if __name__ == "__main__":
    main()
