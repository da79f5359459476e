"""The hyperparameter-robust recipe of the second source document (experiments 2, 3 and 4).

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

import keras

from _harness import cli, models, results
from _harness.training import Method, Plan, cifar_pipeline, run_methods

NAG_MOMENTUM = 0.9

# Scales shared by experiments 2-4: example counts, epochs, batch, ResNet width multiplier.
SCALES = {
    "full": dict(n_train=None, n_test=None, epochs=300, batch=128, width=1.0),
    "quick": dict(n_train=1000, n_test=500, epochs=5, batch=64, width=0.25),
    "smoke": dict(n_train=64, n_test=32, epochs=2, batch=32, width=0.25),
}


def step_decay(lr: float, plan: Plan):
    """x0.1 at 50 % and 75 % of the run (epochs 150 and 225 of 300)."""
    boundaries = [plan.total_steps // 2, (plan.total_steps * 3) // 4]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, [lr, lr / 10, lr / 100])


def learning_rate(lr: float, plan: Plan, cosine: bool):
    from tf_lropt.schedules import Cosine

    return Cosine(lr, plan.total_steps) if cosine else step_decay(lr, plan)


def make_optimizer(name: str, rate, weight_decay: float | None):
    """The optimizers of table 2 by name; ``rate`` is a float or a schedule."""
    from tf_lropt import optimizers

    if name == "NAG":
        return keras.optimizers.SGD(rate, momentum=NAG_MOMENTUM, nesterov=True,
                                    weight_decay=(weight_decay or 0) / (1 - NAG_MOMENTUM) or None)
    if name == "Adam":
        return keras.optimizers.Adam(rate)
    classes = {"AdamW": keras.optimizers.AdamW, "RAdam": optimizers.RAdam,
               "AdaBelief": optimizers.AdaBelief, "RAdaBeliefW": optimizers.RAdaBeliefW}
    return classes[name](rate, weight_decay=weight_decay)


DEFAULT_WEIGHT_DECAY = {"NAG": 1e-4, "Adam": None, "AdamW": 1e-2, "RAdam": 1e-2,
                        "AdaBelief": 1e-2, "RAdaBeliefW": 1e-2}


def recipe(name: str, optimizer: str, lr: float, weight_decay: float | None, *,
           cosine: bool = True, trivial_augment: bool = True, cutmix: bool = True,
           decay_off: bool = True) -> tuple[Method, object]:
    """A ``Method`` for one configuration and its input pipeline (batcher)."""

    def make(plan: Plan):
        return make_optimizer(optimizer, learning_rate(lr, plan, cosine), weight_decay)

    def callbacks(plan: Plan) -> list:
        if not (decay_off and weight_decay):
            return []
        from tf_lropt.callbacks import WeightDecayScheduler

        return [WeightDecayScheduler(off_fraction=0.75)]

    config = {"optimizer": optimizer, "lr": lr, "weight_decay": weight_decay, "cosine": cosine,
              "trivial_augment": trivial_augment, "cutmix": cutmix, "decay_off": decay_off}
    return Method(name, make, callbacks, config), cifar_pipeline(trivial_augment, cutmix)


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
