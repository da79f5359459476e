"""The hyperparameter-robust recipe of Noguchi & Yamauchi (experiments 2, 3 and 4), through
the public ``tf_lropt.recipes.RobustRecipe``.

Baseline: NAG (lr 0.1, momentum 0.9, weight decay 1e-4), batch 128, 300 epochs, rate x0.1 at
epochs 150 and 225, standard pad-4 crop + flip. The recipe adds, one at a time: cosine decay
over the whole run, TrivialAugment, CutMix (alpha = probability = 1), weight decay off after
75 % of the epochs.

Weight decay, as the document defines it (equation 18: lambda/2 ||theta||^2 in the loss, i.e.
lambda*theta added to the gradient), for NAG is coupled to the gradient and goes through the
momentum buffer; Keras' SGD only has decoupled decay ``var -= lr * wd * var``. In steady state
the coupled form shrinks by lr * lambda / (1 - momentum) per step, so NAG gets
``weight_decay = lambda / (1 - momentum)`` (1e-3 for the document's 1e-4). The adaptive
optimizers use decoupled decay as the document does (AdamW's form, 1e-2), Adam none.
"""

from __future__ import annotations

from _harness import cli, models, results
from _harness.training import Method, Plan, run_methods
from tf_lropt.recipes import RobustRecipe
from tf_lropt.recipes.robust import NAG_MOMENTUM, PAPER_WEIGHT_DECAY, table_2_optimizer

__all__ = ["DEFAULT_WEIGHT_DECAY", "NAG_MOMENTUM", "SCALES", "learning_rate", "make_optimizer",
           "recipe", "run", "step_decay"]

# Scales shared by experiments 2-4: example counts, epochs, batch, ResNet width multiplier.
SCALES = {
    "full": dict(n_train=None, n_test=None, epochs=300, batch=128, width=1.0),
    "quick": dict(n_train=1000, n_test=500, epochs=5, batch=64, width=0.25),
    "smoke": dict(n_train=64, n_test=32, epochs=2, batch=32, width=0.25),
}

DEFAULT_WEIGHT_DECAY = {name: decay or None for name, decay in PAPER_WEIGHT_DECAY.items()}


def _recipe(plan: Plan, lr: float, cosine: bool, **kwargs) -> RobustRecipe:
    return RobustRecipe(plan.epochs, plan.steps_per_epoch, batch_size=plan.batch_size,
                        learning_rate=lr, cosine=cosine, cutmix=False, **kwargs)


def step_decay(lr: float, plan: Plan):
    """x0.1 at 50 % and 75 % of the run (epochs 150 and 225 of 300)."""
    return _recipe(plan, lr, cosine=False).learning_rate_schedule()


def learning_rate(lr: float, plan: Plan, cosine: bool):
    return _recipe(plan, lr, cosine).learning_rate_schedule()


def make_optimizer(name: str, rate, weight_decay: float | None):
    """The optimizers of table 2 by name; ``rate`` is a float or a schedule."""
    return table_2_optimizer(name, rate, weight_decay)


def recipe(name: str, optimizer: str, lr: float, weight_decay: float | None, *,
           cosine: bool = True, trivial_augment: bool = True, cutmix: bool = True,
           decay_off: bool = True) -> tuple[Method, object]:
    """A ``Method`` for one configuration and its input pipeline (batcher)."""
    switches = dict(optimizer=optimizer, weight_decay=weight_decay or 0.0,
                    trivial_augment=trivial_augment, weight_decay_off=decay_off)

    def planned(plan: Plan) -> RobustRecipe:
        return RobustRecipe(plan.epochs, plan.steps_per_epoch, batch_size=plan.batch_size,
                            learning_rate=lr, cosine=cosine, cutmix=cutmix, **switches)

    def batch(dataset, num_classes: int, batch_size: int, seed: int):
        augmenting = RobustRecipe(1, 1, batch_size=batch_size, cutmix=cutmix, seed=seed,
                                  **switches)
        return augmenting.augment(dataset, num_classes)

    config = {"optimizer": optimizer, "lr": lr, "weight_decay": weight_decay, "cosine": cosine,
              "trivial_augment": trivial_augment, "cutmix": cutmix, "decay_off": decay_off}
    return (Method(name, lambda plan: planned(plan).optimizer(),
                   lambda plan: planned(plan).callbacks(), config), batch)


def run(argv: list[str] | None, description: str, experiment: str, pairs: list,
        depth: dict[str, int], width: dict[str, float] | None = None):
    """Parses the command line, trains every (method, batcher) pair on CIFAR-10 with the
    CIFAR ResNet of ``depth[scale]`` and returns ``(args, runs, provenance line)``."""
    args = cli.parser(description).parse_args(argv)
    scale = SCALES[args.scale]
    epochs = args.epochs or scale["epochs"]
    depth, width = depth[args.scale], (width or {}).get(args.scale, scale["width"])
    splits = cli.load("cifar10", args, scale["n_train"], scale["n_test"])
    plan = Plan.for_data(len(splits.train[1]), scale["batch"], epochs)
    runs = run_methods(
        [m for m, _ in pairs], lambda: models.build_cifar_resnet(
            depth, splits.train[0].shape[1:], 10, width_scale=width), splits, plan,
        results.ResultsDir(args.results_dir, experiment), seed=args.seed,
        batchers={m.name: b for m, b in pairs}, verbose=args.verbose,
        run_config={"scale": args.scale, "synthetic": args.synthetic, "depth": depth,
                    "width": width},
        **cli.compile_options(args))
    detail = (f"ResNet-{depth} x{width:g} width, {epochs} epochs, "
              f"{len(splits.train[1])} training images")
    return args, runs, cli.provenance(args, detail)
