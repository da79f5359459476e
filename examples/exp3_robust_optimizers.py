"""Experiment 3 (Noguchi & Yamauchi, table 2): optimizers x learning rates, full recipe.

ResNet-56 on CIFAR-10 with the whole recipe (cosine decay, TrivialAugment, CutMix, weight decay
off at 75 %): NAG, Adam, AdamW, RAdam, AdaBelief and RAdaBeliefW (the document's proposal) at
lr 0.1, 0.01 and 0.001; weight decay 1e-4 for NAG, 1e-2 decoupled for the others, none for Adam.
Quick runs use ResNet-20 at a quarter of the width.

    python examples/exp3_robust_optimizers.py --quick
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _harness import results, robust  # noqa: E402

EXPERIMENT = "exp3_robust_optimizers"
RATES = (0.1, 0.01, 0.001)
PAPER = {  # accuracy % at lr 0.1, 0.01, 0.001; None: diverged
    "NAG": (95.73, 92.30, 78.08), "Adam": (None, 95.06, 94.15),
    "AdamW": (88.40, 95.66, 94.26), "RAdam": (90.97, 95.96, 94.40),
    "AdaBelief": (92.86, 95.83, 93.71), "RAdaBeliefW": (93.69, 95.88, 93.86),
}


def main(argv: list[str] | None = None) -> str:
    pairs = [robust.recipe(f"{name} lr={lr:g}", name, lr, robust.DEFAULT_WEIGHT_DECAY[name])
             for name in PAPER for lr in RATES]
    args, runs, provenance = robust.run(argv, __doc__.splitlines()[0], EXPERIMENT, pairs,
                                        {"full": 56, "quick": 20, "smoke": 8})

    def ours(name: str, lr: float) -> str:
        summary = runs[f"{name} lr={lr:g}"][1]
        return "diverged" if summary["diverged"] else f"{summary['final_test_accuracy']:.2f}"

    header = ["optimizer", *(f"paper η={lr:g}" for lr in RATES),
              *(f"ours η={lr:g}" for lr in RATES)]
    rows = [[name, *("diverged" if p is None else p for p in PAPER[name]),
             *(ours(name, lr) for lr in RATES)] for name in PAPER]
    return results.publish(
        os.path.join(args.results_dir, EXPERIMENT, "table.md"),
        "Experiment 3: table 2, optimizers x learning rates",
        [("Test accuracy % on CIFAR-10 (RAdaBeliefW is the document's proposal)",
          results.markdown_table(header, rows))], provenance)


if __name__ == "__main__":
    main()
