"""Experiment 7 (cyclical learning rates, Smith 2017, as the fifth document reads it): Caffe's
CIFAR-10 network.

Table 2 setting: SGD with momentum 0.9 (Caffe's cifar10_full solver, weight decay 0.004 as a
coupled L2 term), batch 100 (500 iterations an epoch on CIFAR-10). The table's "fixed" row
(81.4 % at 70,000) is Caffe's standard run (``train_full.sh``: lr 0.001, x0.1 at 60,000 and
again at 65,000); we run it as "Caffe standard" and, beside it, a truly constant 0.001
("fixed"). triangular2 (81.4 % at 25,000) is table 1's staged run: bounds 0.001-0.005 with
step size 2,000 from iteration 0, 0.0001-0.0005 with step 1,000 from 16,000, 0.00001-0.00005
with step 500 from 22,000 to 25,000, each stage a fresh triangular2 (amplitude halved every
cycle). Linear decay 0.007 -> 0.001 over 4,000 then fixed (78.5 % at 25,000), Caffe's exp
policy 0.001 * 0.99994^i (79.1 % at 70,000) and exp_range 0.001-0.006, step 2,000, gamma
0.99994 (82.2 % at 42,000). Then the LR range test (linear from 1e-5 to 0.02 over 8 epochs,
``tf_lropt.recipes.CyclicalRecipe.find``) whose plot picks the bounds, and table 3: Nesterov,
Adam, RMSprop, AdaGrad, AdaDelta, each fixed at its base rate vs triangular at the paper's
bounds. A run is read at the paper's iteration counts (a schedule's value never depends on the
run's length).

The network (medium and full) is the prototxt's: Gaussian weights (std 0.0001 conv1, 0.01
conv2, conv3, ip1), zero biases, decay multiplier 250 on the classifier's weights and 0 on its
bias, bias rate multiplier 2 (conv1, conv2, ip1), inputs mean-subtracted at the 0-255 scale
(the scale the 0.0001 filler is written for). Remaining differences: Fashion-MNIST instead of
CIFAR-10 (one channel, 28x28 zero-padded to 32x32, per-channel instead of per-pixel mean); the
rate multiplier is a reparameterization of the bias, exact for SGD and Nesterov, exact up to
epsilon for the adaptive optimizers; Keras' Adam/RMSprop/AdaGrad/AdaDelta constants
(epsilon 1e-7) instead of Caffe's.

Protocols: every iteration count (run lengths, step sizes, stage starts, drops, the paper's
read-out points) is multiplied by the scale's ``factor`` and gamma raised to ``1 / factor``, so
each schedule keeps its shape; the range test always covers 8 epochs of the training data.

- full (GPU): all training images, factor 1 (70,000 iterations), evaluation every 1,000 (the
  solver's test_interval), seed 0, every arm of tables 2 and 3.
- medium (CPU, each method at its own time scale): a fixed 10,000-image training subset (100
  iterations an epoch), the whole test set, factor 0.1: triangular2's first half cycle is 200
  iterations = 2 epochs (the document: 2-10 epochs; its run 4), the run lengths 7,000 (fixed,
  Caffe standard), 4,200 (exp_range) and 2,500 (triangular2, decay) iterations, each arm only
  as long as the paper reads it; evaluation every 100 iterations (test_interval x 0.1), seeds
  0-2. Arms cut for the budget: Caffe's exp policy and table 3 (ten 7,000-iteration arms would
  triple the cost); the headline claim needs only triangular2 and the two baselines. Measured
  on one pinned core of a 2-core machine (``taskset -c 1``, batch 100, the other core
  busy): TensorFlow graph mode 0.21 s an iteration and 5.3 s a 10,000-image test pass, JAX 0.39
  s and 11.5 s, TensorFlow with XLA 0.37 s and 6.7 s (with both cores loaded by other jobs:
  TensorFlow 0.41 s and 21 s, JAX 0.96 s); so run it with ``KERAS_BACKEND=tensorflow --xla
  off``. 23,200 iterations and 232 test passes a seed: about 1.7 CPU-hours a seed, 5.1 for
  three seeds (up to twice that on a fully loaded machine), plus the range test (800
  iterations, 3 minutes). Measured in the campaign (one pinned core, a ResNet run on the
  other): 999 s for fixed and 991 s for Caffe standard (7,000 iterations, 70 test passes
  each), 349 s for decay (2,500): about 0.14 s an iteration all-in, so about 0.9 CPU-hours a
  seed.
- reduced (the first campaign's short runs): a fixed 5,000-image training subset (50
  iterations an epoch), the whole test set, factor 0.02 (1,400 iterations, triangular2 a single
  stage 0.001-0.006 with step size 40 = 0.8 epoch, below the 2 epochs ``CyclicalRecipe``
  accepts; no Caffe standard arm), Keras' default initialisation and one weight decay on every
  kernel, evaluation every 50 iterations, seeds 0-2 (with JAX on one CPU core: 9-11
  minutes a run; the range test, 400 iterations, a few minutes).
- smoke: 64 images, factor 0.0002 (CI only).

    KERAS_BACKEND=tensorflow python examples/exp7_cyclical_caffe.py --medium --xla off
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from _harness import claims, models, papers, results
from _harness.experiment import Experiment, Group, Scale, format_mean_std, mean_std
from _harness.training import Batches, Method, classifier

import keras
import numpy as np

from tf_lropt import schedules
from tf_lropt.recipes import CyclicalRecipe

EXPERIMENT = "exp7_cyclical_caffe"
SCALES = {  # period: iterations per evaluation; factor: on every iteration count
    "full": Scale(None, None, 70, 100, period=1000, factor=1.0),
    "medium": Scale(10_000, None, 70, 100, period=100, factor=0.1, seeds=(0, 1, 2)),
    "reduced": Scale(5_000, None, 28, 100, period=50, factor=0.02, seeds=(0, 1, 2)),
    "smoke": Scale(64, 32, 3, 8, period=5, factor=0.0002),
}
CAFFE_NETWORK = ("full", "medium")  # scales with the prototxt's fillers and multipliers
MOMENTUM, WEIGHT_DECAY, GAMMA = 0.9, 0.004, 0.99994
TABLE2, TABLE3 = papers.EXP7_TABLE2, papers.EXP7_TABLE3  # see _harness/papers.py
CAFFE_STANDARD = papers.EXP7_CAFFE_STANDARD
# Table 1's triangular2 stages: (base_lr, max_lr, step size, first iteration); the run ends
# at 25,000.
TABLE1_STAGES = ((0.001, 0.005, 2000, 0), (0.0001, 0.0005, 1000, 16_000),
                 (0.00001, 0.00005, 500, 22_000))
# The medium protocol's arms and their run lengths (the paper's read-out iteration).
MEDIUM_ARMS = {"fixed": 70_000, CAFFE_STANDARD: 70_000, "exp_range": 42_000,
               "triangular2": 25_000, "decay": 25_000}
BIAS_LR_MULT = 2  # the prototxt's lr_mult on the biases of conv1, conv2 and ip1
LINEAR_OPTIMIZERS = ("SGD", "Nesterov")  # their step is linear in the gradient
OPTIMIZERS = {
    "SGD": lambda rate: keras.optimizers.SGD(rate, momentum=MOMENTUM),
    "Nesterov": lambda rate: keras.optimizers.SGD(rate, momentum=MOMENTUM, nesterov=True),
    "Adam": keras.optimizers.Adam, "RMSprop": keras.optimizers.RMSprop,
    "AdaGrad": keras.optimizers.Adagrad, "AdaDelta": keras.optimizers.Adadelta,
}


@keras.saving.register_keras_serializable(package="tf_lropt_examples")
class Staged(keras.optimizers.schedules.LearningRateSchedule):
    """Stage ``k`` (a schedule, or a constant rate) from iteration ``starts[k]`` on, counted
    from its own start: Caffe's way of continuing a run with another solver file (table 1's
    triangular2 stages, the standard run's x0.1 drops)."""

    def __init__(self, stages: list, starts: list[int]):
        if len(stages) != len(starts) or not stages or starts[0] != 0 or any(
                b <= a for a, b in zip(starts, starts[1:], strict=False)):
            raise ValueError(f"starts must begin at 0, rise strictly and give one start per "
                             f"stage; got starts={starts!r} for {len(stages)} stages")
        self.stages, self.starts = list(stages), [int(s) for s in starts]

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        rate = None
        for stage, start in zip(self.stages, self.starts, strict=True):
            value = stage(step - start) if callable(stage) else keras.ops.cast(stage, "float32")
            rate = value if rate is None else keras.ops.where(step >= start, value, rate)
        return rate

    def get_config(self) -> dict[str, Any]:
        return {"stages": [keras.optimizers.schedules.serialize(s) if callable(s) else s
                           for s in self.stages], "starts": self.starts}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Staged:
        stages = [keras.optimizers.schedules.deserialize(s) if isinstance(s, dict) else s
                  for s in config["stages"]]
        return cls(stages, config["starts"])


def steps(n: int, f: float) -> int:
    """The paper's iteration count ``n`` at factor ``f`` (at least 1)."""
    return max(1, round(n * f))


def table1_triangular2(f: float, first_step_size: int | None = None) -> Staged:
    """Table 1's three triangular2 stages at factor ``f``; ``first_step_size`` (the recipe's)
    sets stage 1's half cycle, the later stages keep the paper's ratios to it."""
    first = first_step_size or steps(TABLE1_STAGES[0][2], f)
    return Staged([schedules.Triangular2(base, peak, max(1, round(first * size / 2000)))
                   for base, peak, size, _ in TABLE1_STAGES],
                  [steps(start, f) if start else 0 for *_, start in TABLE1_STAGES])


def caffe_standard(f: float) -> Staged:
    """Caffe's standard cifar10_full run: 0.001, x0.1 at 60,000 and at 65,000 (scaled)."""
    return Staged([0.001, 0.0001, 0.00001], [0, steps(60_000, f), steps(65_000, f)])


def table2_rates(f: float, staged: bool, first_step_size: int | None = None) -> dict:
    """The policies of table 2, their iteration counts scaled by ``f``; ``staged``: table 1's
    triangular2 and the Caffe standard arm (else the single-stage short-run triangular2)."""
    rates = {
        "fixed": 0.001,
        "triangular2": (table1_triangular2(f, first_step_size) if staged
                        else schedules.Triangular2(0.001, 0.006, steps(2000, f))),
        "decay": keras.optimizers.schedules.PolynomialDecay(0.007, steps(4000, f), 0.001),
        "exp": keras.optimizers.schedules.ExponentialDecay(0.001, 1, GAMMA ** (1 / f)),
        "exp_range": schedules.ExpRange(0.001, 0.006, steps(2000, f), GAMMA ** (1 / f)),
    }
    if staged:
        rates[CAFFE_STANDARD] = caffe_standard(f)
    return rates


def methods(f: float, scale: str = "reduced", first_step_size: int | None = None
            ) -> list[Method]:
    """Every arm of the scale; a method's config names its network and schedule, so a run of
    another protocol is never taken for it."""
    staged = scale in CAFFE_NETWORK
    network = {"network": "caffe prototxt"} if staged else {}
    found = [Method(name, lambda plan, rate=rate: OPTIMIZERS["SGD"](rate),
                    config={"optimizer": "SGD", "policy": name, "factor": f, **network,
                            **({"schedule": keras.optimizers.schedules.serialize(rate)}
                               if staged and not isinstance(rate, float) else {})})
             for name, rate in table2_rates(f, staged, first_step_size).items()]
    for name, (base, peak, _) in TABLE3.items():
        triangular = schedules.Triangular(base, peak, steps(2000, f))
        for policy, rate in (("fixed", base), ("triangular", triangular)):
            found.append(Method(f"{name} {policy}", lambda plan, n=name, r=rate: OPTIMIZERS[n](r),
                                config={"optimizer": name, "policy": policy, "factor": f,
                                        **network}))
    if scale == "medium":
        found = [m for m in found if m.name in MEDIUM_ARMS]
    return found


def names_of(found: list[Method]) -> list[str]:
    return [m.name for m in found]


def run_length(name: str, scale: str) -> int:
    """The paper's iteration count a method runs to: its read-out point at medium scale."""
    return MEDIUM_ARMS[name] if scale == "medium" else 70_000


def accuracy_at(history: dict, iteration: int, period: int) -> float | None:
    """Test accuracy % at the evaluation nearest to ``iteration``; None where the run has no
    evaluation within half a period of it (it ended earlier)."""
    if not history.get("step"):
        return None
    index = min(range(len(history["step"])), key=lambda i: abs(history["step"][i] - iteration))
    if abs(history["step"][index] - iteration) > period / 2:
        return None
    return 100.0 * history["val_accuracy"][index]


RANGE_TEST_EPOCHS, RANGE_MIN_LR, RANGE_MAX_LR = 8, 1e-5, 0.02
READ_AT = (25_000, 42_000, 70_000)  # the paper's read-out iterations (scaled by the factor)


def pixel_scale(x_train: np.ndarray) -> float:
    """The training images' pixel standard deviation at the 0-255 scale (as ``classifier``
    standardizes them): the factor back to Caffe's mean-subtracted inputs."""
    return float(x_train.astype("float64").std() + 1e-3 * 255)


def body_for(scale: str, x_train: np.ndarray, optimizer: str = "SGD"):
    """``build_body(shape)`` of the scale: the prototxt's network on Caffe's input scale
    (medium, full), or the short runs' network."""
    if scale not in CAFFE_NETWORK:
        return lambda shape: models.build_caffe_cifar10(shape, weight_decay=WEIGHT_DECAY)
    bias_scale = math.sqrt(BIAS_LR_MULT) if optimizer in LINEAR_OPTIMIZERS else BIAS_LR_MULT
    to_caffe = pixel_scale(x_train)

    def build(shape):
        network = models.build_caffe_cifar10(shape, weight_decay=WEIGHT_DECAY,
                                             caffe_fillers=True, bias_lr_scale=bias_scale)
        inputs = keras.Input(shape)
        return keras.Model(inputs, network(keras.layers.Rescaling(to_caffe)(inputs)),
                           name=network.name)

    return build


def recipe_for(experiment: Experiment, num_examples: int) -> CyclicalRecipe:
    """Smith's procedure as the package offers it: the 8-epoch range test and, where the
    protocol's half cycle is whole epochs in 2-10, table 1's first stage (4 cycles)."""
    scale = experiment.scale
    per_epoch = max(1, num_examples // scale.batch)
    step_size = steps(TABLE1_STAGES[0][2], scale.factor)
    epochs = step_size / per_epoch
    whole = epochs == int(epochs) and 2 <= epochs <= 10
    return CyclicalRecipe(4 * 2 * int(epochs) if whole else 4, per_epoch,
                          step_size_epochs=int(epochs) if whole else 2, cycles=4,
                          mode="triangular2", lr_range=(RANGE_MIN_LR, RANGE_MAX_LR),
                          range_test_epochs=1)  # one pass over 8 epochs' batches (range_test)


def recipe_step_size(experiment: Experiment, num_examples: int) -> int | None:
    """Stage 1's half cycle from ``CyclicalRecipe`` where the protocol's is whole epochs in
    Smith's 2-10 (medium, full on CIFAR-10); None elsewhere (the paper's count scaled)."""
    recipe = recipe_for(experiment, num_examples)
    scaled = steps(TABLE1_STAGES[0][2], experiment.scale.factor)
    return recipe.step_size if recipe.step_size == scaled else None


def range_test(experiment: Experiment, splits, out: results.ResultsDir) -> dict:
    """Smith's LR range test through ``CyclicalRecipe.find``: lr rising linearly from 1e-5 to
    0.02 over 8 epochs of the training data (the harness's batches), SGD momentum 0.9; the
    curve (CSV), its plot and the bounds Smith's rule reads off the accuracy."""
    seed, scale = experiment.args.seeds[0], experiment.scale
    keras.utils.set_random_seed(seed)
    x_train, y_train = splits.train
    model = classifier(body_for(experiment.args.scale, x_train), x_train.shape[1:], x_train,
                       seed=seed, pad_to=32)
    model.compile(OPTIMIZERS["SGD"](RANGE_MIN_LR),
                  keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["accuracy"],
                  **experiment.compile_options())
    recipe = recipe_for(experiment, len(y_train))
    # 8 epochs of the harness's batches as one stream (Keras shuffles their order, seeded):
    # the rate rises linearly over all of them
    iterations = RANGE_TEST_EPOCHS * recipe.steps_per_epoch
    try:
        recipe.find(model, Batches(x_train, y_train, scale.batch, iterations, seed))
    except ValueError as error:  # no rise to read bounds from: a finding, not a crash
        return {"iterations": iterations, "base_lr": None, "max_lr": None, "error": str(error)}
    result = recipe.range_test
    result.to_csv(out.file("lr_range_test.csv"))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes = recipe.plot()
    axes[0].figure.savefig(out.file("lr_range_test.png"), dpi=110)
    plt.close(axes[0].figure)
    return {"iterations": iterations, "base_lr": recipe.base_lr, "max_lr": recipe.max_lr}


def range_test_line(bounds: dict | None) -> str:
    """The range test's line under the tables."""
    if bounds is None:
        return "not run"
    if bounds.get("base_lr") is None:
        return f"{bounds['iterations']} iterations: {bounds['error']}"
    return (f"{bounds['iterations']} iterations, linear {RANGE_MIN_LR:g} -> {RANGE_MAX_LR:g}: "
            f"Smith's rule reads base_lr {bounds['base_lr']:.3g}, max_lr "
            f"{bounds['max_lr']:.3g} (paper: {papers.EXP7_BOUNDS[0]:g} and "
            f"{papers.EXP7_BOUNDS[1]:g}); see lr_range_test.png and lr_range_test.csv")


# -- the document's claims (judged by _harness/claims.py on the records) ----------------------
def paper_read_at(method: str, iteration: int) -> float:
    """The paper's accuracy % of a method ("triangular2" of table 2, "Adam fixed" of table 3)
    at ``iteration``."""
    optimizer, _, policy = method.partition(" ")
    if optimizer in papers.EXP7_TABLE3:
        return papers.exp7_optimizer(optimizer, policy, iteration)
    paper_iterations, accuracy = papers.exp7_policy(method)
    if paper_iterations != iteration:
        raise KeyError(f"table 2 reports {method} at {paper_iterations:,}, not {iteration:,}")
    return accuracy


def _read_claim(text: str, method_a: str, at_a: int, method_b: str, at_b: int, *,
                at_least: bool = False, margin: float = 0.0, medium_cut: str | None = None
                ) -> claims.Claim:
    """A claim "``method_a`` at ``at_a`` beats (or, ``at_least``, reaches within ``margin``
    of) ``method_b`` at ``at_b``", with the paper's two numbers; a claim to reach or beat the
    baseline in fewer iterations waits for the baseline to converge."""
    def judge(summary: dict) -> claims.Verdict:
        return claims.compare(claims.read_at(summary, method_a, at_a),
                              claims.read_at(summary, method_b, at_b),
                              f"{method_a} at {at_a:,}", f"{method_b} at {at_b:,}",
                              at_least=at_least, margin=margin)

    paper = (f"{paper_read_at(method_a, at_a):.1f} at {at_a:,} vs "
             f"{paper_read_at(method_b, at_b):.1f} at {at_b:,}")
    if at_least or at_a < at_b:
        judge = claims.converged(judge, method_b)
    return claims.Claim("004", EXPERIMENT, text, paper, judge, medium_cut)


MEDIUM_CUT = ("arm cut for the CPU budget: the medium protocol runs triangular2, exp_range, "
              "decay, fixed and Caffe's standard run (experiment 7's docstring)")
BOUNDS_FACTOR = 2.0  # the range test's bounds are "near" the paper's within this factor


def range_bounds(summary: dict) -> claims.Verdict:
    """Held when both bounds the range test read are within ``BOUNDS_FACTOR`` of the paper's."""
    bounds = summary.get("range_test")
    if not bounds:
        return claims.Verdict(claims.NOT_RUN, claims.NOT_RUN)
    base, peak = bounds["base_lr"], bounds["max_lr"]
    if base is None or peak is None:  # the curve showed no rise to read bounds from
        return claims.Verdict(f"no bounds: {bounds.get('error', 'none read')}", claims.NOT_HELD)
    ours = f"base_lr {base:.3g}, max_lr {peak:.3g} ({bounds['iterations']} iterations, 1 run)"
    near = all(p / BOUNDS_FACTOR <= v <= p * BOUNDS_FACTOR
               for v, p in zip((base, peak), papers.EXP7_BOUNDS, strict=True))
    return claims.Verdict(ours, claims.HELD if near else claims.NOT_HELD)


CLAIMS = (
    _read_claim("triangular2 reaches the fixed rate's final accuracy in <= 40 % of its "
                "iterations (a constant 0.001)", "triangular2", 25_000, "fixed", 70_000,
                at_least=True),
    _read_claim("triangular2 reaches Caffe's standard run (0.001, x0.1 at 60,000 and 65,000) "
                "in <= 40 % of its iterations", "triangular2", 25_000, CAFFE_STANDARD,
                70_000, at_least=True),
    _read_claim("exp_range beats fixed, in 60 % of the iterations",
                "exp_range", 42_000, "fixed", 70_000),
    _read_claim("exp_range beats Caffe's standard run, in 60 % of the iterations",
                "exp_range", 42_000, CAFFE_STANDARD, 70_000),
    _read_claim("triangular2 beats linear decay at 25,000 iterations",
                "triangular2", 25_000, "decay", 25_000),
    _read_claim("exp_range beats Caffe's exp policy", "exp_range", 42_000, "exp", 70_000,
                medium_cut=MEDIUM_CUT),
    _read_claim("Nesterov + triangular at 25,000 comes within 1 point of fixed at 70,000",
                "Nesterov triangular", 25_000, "Nesterov fixed", 70_000,
                at_least=True, margin=1.0, medium_cut=MEDIUM_CUT),
    _read_claim("Adam + triangular at 70,000 comes within 1 point of fixed at 70,000",
                "Adam triangular", 70_000, "Adam fixed", 70_000, at_least=True, margin=1.0,
                medium_cut=MEDIUM_CUT),
    _read_claim("RMSprop + triangular at 70,000 comes within 1 point of fixed at 70,000",
                "RMSprop triangular", 70_000, "RMSprop fixed", 70_000, at_least=True,
                margin=1.0, medium_cut=MEDIUM_CUT),
    _read_claim("AdaGrad + triangular at 25,000 beats fixed at 70,000",
                "AdaGrad triangular", 25_000, "AdaGrad fixed", 70_000, medium_cut=MEDIUM_CUT),
    _read_claim("AdaDelta + triangular at 25,000 reaches fixed at 70,000",
                "AdaDelta triangular", 25_000, "AdaDelta fixed", 70_000, at_least=True,
                medium_cut=MEDIUM_CUT),
    claims.Claim("004", EXPERIMENT,
                 f"the range test's bounds are near the paper's (each within x{BOUNDS_FACTOR:g})",
                 f"base_lr {papers.EXP7_BOUNDS[0]:g}, max_lr {papers.EXP7_BOUNDS[1]:g}",
                 range_bounds),
)


def planned_methods(experiment: Experiment) -> list[Method]:
    """Every arm of the experiment's scale (``methods``), table 1's first stage from
    ``CyclicalRecipe`` where the protocol allows (``recipe_step_size``)."""
    first_step = recipe_step_size(experiment, len(experiment.splits.train[1]))
    return methods(experiment.scale.factor, experiment.args.scale, first_step)


def model(experiment: Experiment):
    """SGD's network of the scale and the tables' name for it (``Experiment.main``'s model);
    ``groups`` gives the adaptive optimizers theirs."""
    network = ("Caffe cifar10_full network (prototxt fillers and multipliers)"
               if experiment.args.scale in CAFFE_NETWORK else "Caffe cifar10_full network")
    return body_for(experiment.args.scale, experiment.splits.train[0]), network


def groups(experiment: Experiment, chosen: list[Method]) -> list[Group]:
    """The arms by run length (medium: each to the paper's read-out) and optimizer family
    (the bias rate multiplier's reparameterization differs): one plan and network each."""
    scale, n_train = experiment.scale, len(experiment.splits.train[1])
    found: dict[tuple[int, str], list[Method]] = {}
    for method in chosen:
        family = "SGD" if method.config["optimizer"] in LINEAR_OPTIMIZERS else "Adam"
        found.setdefault((run_length(method.name, experiment.args.scale), family),
                         []).append(method)
    return [(group, body_for(experiment.args.scale, experiment.splits.train[0], family),
             scale.plan(n_train, experiment.args.epochs or max(
                 1, round(steps(length, scale.factor) / scale.period))))
            for (length, family), group in found.items()]


def accuracy_per_seed(runs: dict, name: str, iteration: int, period: int
                      ) -> list[float | None]:
    """``name``'s test accuracy % per seed at ``iteration``: None where it did not run that
    far, NaN where it diverged."""
    found = []
    for by_method in runs.values():
        history, summary = by_method.get(name, ({}, {"not_run": True}))
        found.append(float("nan") if summary.get("diverged")
                     else accuracy_at(history, iteration, period))
    return found


def read_outs(experiment: Experiment, runs: dict) -> dict[str, dict[int, list]]:
    """Every arm's accuracy per seed at the paper's iteration counts (scaled)."""
    scale = experiment.scale
    return {name: {n: accuracy_per_seed(runs, name, round(n * scale.factor), scale.period)
                   for n in READ_AT}
            for name in names_of(planned_methods(experiment))}


def range_test_bounds(experiment: Experiment) -> dict | None:
    """The range test's bounds: stored by an earlier invocation (campaigns run the
    experiment in parts), else run now (not with ``--publish-only``)."""
    out = experiment.results_dir()
    bounds, stored = None, out.file("lr_range_test.json")
    if os.path.exists(stored):
        with open(stored) as stream:
            bounds = json.load(stream)
    if ((bounds is None or bounds.get("scale") != experiment.args.scale)
            and not experiment.args.publish_only):
        bounds = {**range_test(experiment, experiment.splits, out),
                  "scale": experiment.args.scale}
        with open(stored, "w") as stream:
            json.dump(bounds, stream)
    return bounds


def tables(experiment: Experiment, runs: dict) -> list[tuple[str, str]]:
    """Table 2 (policies), table 3 (optimizers) where its arms ran, and the range test."""
    f, scale_name = experiment.scale.factor, experiment.args.scale
    read_at = read_outs(experiment, runs)
    names = list(read_at)
    policies = [(p, n, paper) for p, n, paper in TABLE2 if p in names]
    if CAFFE_STANDARD in names:
        policies.insert(1, (CAFFE_STANDARD, *papers.exp7_policy(CAFFE_STANDARD)))

    def last(name: str) -> str:
        return format_mean_std(accuracy_per_seed(
            runs, name, round(run_length(name, scale_name) * f), experiment.scale.period))

    table2 = [[policy, n, paper, format_mean_std(read_at[policy][n]), last(policy)]
              for policy, n, paper in policies]
    table3 = [[name, f"{base:g} - {peak:g}", policy, n, paper,
               format_mean_std(read_at[f"{name} {policy}"][n])]
              for name, (base, peak, cells) in TABLE3.items()
              for (policy, n), paper in cells.items() if f"{name} {policy}" in names]
    found = [("Table 2: policies (SGD, momentum 0.9); ours: mean ± std over seeds",
              results.markdown_table(["policy", "paper iterations", "paper %",
                                      f"ours % at that iteration x{f:g}",
                                      "ours % at the run's end"], table2))]
    if table3:
        found.append(("Table 3: optimizers, fixed vs triangular", results.markdown_table(
            ["optimizer", "base - max lr", "policy", "paper iterations", "paper %",
             f"ours % at that iteration x{f:g}"], table3)))
    found.append(("LR range test", range_test_line(range_test_bounds(experiment))))
    return found


def detail(experiment: Experiment) -> str:
    """The provenance's note: the iteration scaling and, at medium scale, the run lengths."""
    f, longest = experiment.scale.factor, experiment.plan
    lengths = (f"; run lengths {', '.join(f'{n} {steps(k, f)}' for n, k in MEDIUM_ARMS.items())}"
               if experiment.args.scale == "medium" else "")
    return (f"iteration counts x{f:g} ({longest.total_steps} iterations, read at the paper's "
            f"counts x{f:g}){lengths}")


def extra(experiment: Experiment, runs: dict) -> dict:
    """summary.json's read-outs (what the claims judge), the range test and the factor."""
    read_at = read_outs(experiment, runs)
    return {"read_at": {name: {str(n): v for n, v in cells.items()}
                        for name, cells in read_at.items()},
            "read_at_mean": {name: {str(n): mean_std(values)[0] for n, values in cells.items()}
                             for name, cells in read_at.items()},
            "range_test": range_test_bounds(experiment), "factor": experiment.scale.factor}


def main(argv: list[str] | None = None) -> str:
    return Experiment(EXPERIMENT, __doc__.splitlines()[0], SCALES).main(
        argv, title="Experiment 7: cyclical learning rates, Caffe CIFAR-10 network",
        methods=planned_methods, model=model, tables=tables, detail=detail, extra=extra,
        groups=groups, x_label="iteration")

if __name__ == "__main__":
    main()
