"""Experiment 1 (行木 & 山口, Chiba Inst. of Tech.): warm-up AdaBound against AdaBound, RAdam.

A CNN on CIFAR-10 trained with AdaBound, RAdam and WarmupAdaBound whose upper bound is capped
for the first 10, 20, 30, 40 and 50 epochs ("w10AdaBound" ...); test accuracy curves of all
seven. The document gives neither the network nor the epoch count (its result is a figure): we
use the harness's plain CNN, 100 epochs, batch 128, lr 1e-3, final_lr 0.1 (AdaBound's defaults).
Reduced scales shrink the warm-up lengths in proportion to their epoch count.

    python examples/exp1_warmup_adabound.py --quick      # minutes on a CPU
    python examples/exp1_warmup_adabound.py              # full scale (GPU)
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _harness import cli, models, results  # noqa: E402
from _harness.training import Method, Plan, run_methods  # noqa: E402

from tf_lropt import optimizers  # noqa: E402

PAPER_EPOCHS = 100
WARMUP_EPOCHS = (10, 20, 30, 40, 50)
SCALES = {  # train / test examples, epochs, batch size, CNN filters and dense units
    "full": dict(n_train=None, n_test=None, epochs=PAPER_EPOCHS, batch=128,
                 filters=(32, 64, 128), dense=256),
    "quick": dict(n_train=2000, n_test=1000, epochs=10, batch=64, filters=(16, 32), dense=64),
    "smoke": dict(n_train=64, n_test=32, epochs=2, batch=32, filters=(4,), dense=8),
}


def methods(epochs: int) -> list[Method]:
    scale = epochs / PAPER_EPOCHS
    found = [Method("AdaBound", lambda plan: optimizers.AdaBound(1e-3, final_lr=0.1),
                    config={"optimizer": "AdaBound"}),
             Method("RAdam", lambda plan: optimizers.RAdam(1e-3), config={"optimizer": "RAdam"})]
    for warmup in WARMUP_EPOCHS:
        def make(plan: Plan, warmup_epochs: float = warmup * scale):
            return optimizers.WarmupAdaBound(
                1e-3, final_lr=0.1,
                warmup_steps=max(1, round(warmup_epochs * plan.steps_per_epoch)))

        config = {"optimizer": "WarmupAdaBound", "warmup_epochs": warmup * scale}
        found.append(Method(f"w{warmup}AdaBound", make, config=config))
    return found


def main(argv: list[str] | None = None) -> str:
    args = cli.parser(__doc__.splitlines()[0]).parse_args(argv)
    scale = SCALES[args.scale]
    epochs = args.epochs or scale["epochs"]
    compile_options = cli.compile_options(args)
    splits = cli.load("cifar10", args, scale["n_train"], scale["n_test"])
    plan = Plan.for_data(len(splits.train[1]), scale["batch"], epochs)
    out = results.ResultsDir(args.results_dir, "exp1_warmup_adabound")

    def build():
        return models.build_plain_cnn(splits.train[0].shape[1:], 10, scale["filters"],
                                      scale["dense"])

    runs = run_methods(methods(epochs), build, splits, plan, out, seed=args.seed, **compile_options,
                       run_config={"scale": args.scale, "synthetic": args.synthetic},
                       verbose=args.verbose)
    rows = [[name, summary["final_test_accuracy"], summary["best_test_accuracy"]]
            for name, (_, summary) in runs.items()]
    table = results.markdown_table(["optimizer", "final test accuracy %", "best test accuracy %"],
                                   rows)
    return results.publish(
        out.file("table.md"), "Experiment 1: warm-up AdaBound on CIFAR-10 (plain CNN)",
        [("Test accuracy (the paper reports curves only: RAdam best, w10/w20 above AdaBound)",
          table)],
        cli.provenance(args, f"{epochs} epochs, {len(splits.train[1])} training images"))


if __name__ == "__main__":
    main()
