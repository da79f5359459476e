"""The harness's training step against a bare ``model.fit`` of the same model, in one process.

Experiments 2 and 3 train a CIFAR ResNet with the whole robust recipe: pad-4 crop, flip,
TrivialAugment, CutMix (alpha = probability = 1), RAdaBeliefW with cosine decay and weight decay
off at 75 %. This script times, back to back in the same process and round after round (so
that the load of a shared machine hits both alike):

- **bare**: ``model.fit`` of the same model (the harness's input normalization and the ResNet)
  on cached, unaugmented batches from a ``tf.data`` pipeline, compiled as the harness compiles
  it (``--jit``; graph mode without XLA is the fastest on a CPU, see docs/benchmarks.md);
- **harness**: ``_harness.training.train_classifier`` with the recipe's method, i.e. the path
  every experiment script takes (augmentation where ``--pipeline`` puts it, the run's results
  and backups written to a temporary folder, the test set evaluated after every period).

Each side runs a warm-up period (tracing, the pipeline's first batches), then a timed period
of ``--steps`` steps; the harness's timed period excludes its test pass, which is timed on its
own and reported per step at one pass every ``--eval-every`` steps (the medium protocols'
spacing). Times are wall seconds and CPU seconds of the process (all its threads: the step and
the input pipeline); on a machine shared with other work the CPU seconds measure this
process's work whatever the others' load, so the last line is the median over rounds of the
per-round ratio of CPU seconds a training step, harness over bare (the wall-time ratio is
printed above it)::

    taskset -c 0 env PYTHONPATH=$PWD python bench/harness_step.py [--steps 40] [--rounds 3]

Pin it to one core (``taskset -c 0``) on a shared machine: TensorFlow then runs one thread per
pool, and the pipeline shares the core with the training step, as in a campaign.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                                "examples"))

from _harness import data, models, results, robust  # noqa: E402  (sets TensorFlow's logging)
from _harness.training import (  # noqa: E402
    NO_AUGMENTATION,
    PIPELINES,
    Method,
    Plan,
    classifier,
    pad_images,
    resolve_pipeline,
    train_classifier,
)

import keras  # noqa: E402
import numpy as np  # noqa: E402

PAD_TO = 32


def clocks() -> np.ndarray:
    """(wall seconds, CPU seconds of every thread of this process)."""
    return np.array([time.perf_counter(), time.process_time()])


class PeriodTimer(keras.callbacks.Callback):
    """Wall and CPU time of every epoch, split into training and the test pass after it."""

    def __init__(self):
        super().__init__()
        self.train_seconds: list[np.ndarray] = []
        self.test_seconds: list[np.ndarray] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._test = clocks(), np.zeros(2)

    def on_test_begin(self, logs=None):
        self._test_start = clocks()

    def on_test_end(self, logs=None):
        self._test += clocks() - self._test_start

    def on_epoch_end(self, epoch, logs=None):
        self.train_seconds.append(clocks() - self._start - self._test)
        self.test_seconds.append(self._test)


def recipe_method(timer: PeriodTimer) -> Method:
    """Experiment 3's RAdaBeliefW at lr 0.01 with the whole recipe, plus the timer."""
    method = robust.recipe("harness", "RAdaBeliefW", 1e-2, 1e-2)
    callbacks = method.make_callbacks
    method.make_callbacks = lambda plan: [*callbacks(plan), timer]
    return method


def bare_step(body, splits, steps: int, jit_compile: bool) -> np.ndarray:
    """(wall, CPU) seconds a step of ``model.fit`` on cached, unaugmented, padded batches."""
    import tensorflow as tf

    (x_train, y_train), _ = splits
    images = pad_images(x_train[:steps * 128], PAD_TO).astype("float32")
    labels = np.eye(10, dtype="float32")[y_train[:steps * 128]]
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(128, drop_remainder=True)
    batches = batches.cache().repeat().prefetch(tf.data.AUTOTUNE)
    keras.utils.set_random_seed(0)
    model = classifier(body, images.shape[1:], x_train, NO_AUGMENTATION, pad_to=None)
    plan = Plan(2, steps, 128)
    model.compile(optimizer=recipe_method(PeriodTimer()).make_optimizer(plan),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=jit_compile)
    timer = PeriodTimer()
    model.fit(batches, epochs=2, steps_per_epoch=steps, callbacks=[timer], verbose=0)
    return timer.train_seconds[-1] / steps


def harness_step(body, splits, steps: int, jit_compile: bool, pipeline: str, folder: str,
                 round_: int) -> tuple[np.ndarray, np.ndarray]:
    """(wall, CPU) seconds a training step and a test pass of the harness's timed period."""
    timer = PeriodTimer()
    train_classifier(recipe_method(timer), body, splits, Plan(2, steps, 128),
                     results.ResultsDir(folder, f"round{round_}"), jit_compile=jit_compile,
                     pad_to=PAD_TO, pipeline=pipeline)
    return timer.train_seconds[-1] / steps, timer.test_seconds[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps a period")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--width", type=float, default=1.0, help="width multiplier")
    parser.add_argument("--jit", choices=["on", "off"], default="off", help="jit_compile")
    parser.add_argument("--pipeline", choices=PIPELINES, default="auto")
    parser.add_argument("--threads", type=int, default=0,
                        help="TensorFlow intra- and inter-op threads (0: its default, one a "
                             "usable core)")
    parser.add_argument("--eval-every", type=int, default=250,
                        help="steps between test passes, for the all-in cost")
    parser.add_argument("--synthetic", action="store_true", help="random images")
    args = parser.parse_args()
    if keras.backend.backend() == "tensorflow" and args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    splits = (data.synthetic_images("fashion_mnist", 60_000, 10_000) if args.synthetic
              else data.load_dataset("fashion_mnist"))
    jit = args.jit == "on"
    pipeline = resolve_pipeline(args.pipeline)

    def body(shape):
        return models.build_cifar_resnet(args.depth, shape, 10, width_scale=args.width)

    print(f"ResNet-{args.depth} x{args.width:g} width, batch 128, Fashion-MNIST "
          f"{'(synthetic) ' if args.synthetic else ''}padded to 32x32x1; "
          f"{results.hardware()}, {os.cpu_count()} on the machine; load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"backend {keras.backend.backend()}, jit_compile={jit}, harness pipeline {pipeline}, "
          f"threads {args.threads or 'default (one a usable core)'}, "
          f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset (on)')}")
    bare_steps, harness_steps, tests = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(args.rounds):
            bare = bare_step(body, splits, args.steps, jit)
            harness, test = harness_step(body, splits, args.steps, jit, pipeline, folder,
                                         round_)
            bare_steps.append(bare)
            harness_steps.append(harness)
            tests.append(test)
            print(f"round {round_ + 1}: bare {bare[0]:.3f} s/step ({bare[1]:.3f} CPU-s), "
                  f"harness {harness[0]:.3f} s/step ({harness[1]:.3f} CPU-s), ratio "
                  f"{harness[0] / bare[0]:.2f} wall, {harness[1] / bare[1]:.2f} CPU; test pass "
                  f"{test[0]:.1f} s ({test[1]:.1f} CPU-s)")
    bare, harness, test = (np.median(np.array(values), axis=0)
                           for values in (bare_steps, harness_steps, tests))
    ratios = np.median(np.array(harness_steps) / np.array(bare_steps), axis=0)
    n_test = len(splits.test[1])
    evaluation = test[1] / args.eval_every
    print(f"median: bare {bare[0]:.3f} s/step ({bare[1]:.3f} CPU-s), harness {harness[0]:.3f} "
          f"s/step ({harness[1]:.3f} CPU-s); wall-time ratio {ratios[0]:.2f}x")
    print(f"evaluation: {test[1]:.1f} CPU-s a {n_test:,}-image test pass = {evaluation:.3f} "
          f"CPU-s/step at one pass every {args.eval_every} steps; all-in "
          f"{(harness[1] + evaluation) / bare[1]:.2f}x bare")
    # CPU seconds: on a shared machine they count this process's work, not the others' load.
    print(f"harness/bare: {ratios[1]:.2f}x")

if __name__ == "__main__":
    main()
