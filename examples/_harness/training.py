"""One training loop for every classification experiment, with skip-if-finished.

A ``Method`` is a name plus a function that builds the optimizer for a ``Plan`` (so schedules can
be sized in steps) and optional callbacks. ``train_classifier`` trains one method, evaluates on
the test split after every period (an epoch, or ``steps_per_epoch`` iterations for the
iteration-counted experiments), and stores the history in the results directory.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import keras
import numpy as np

from _harness.data import Splits
from _harness.results import ResultsDir


@dataclass(frozen=True)
class Plan:
    """How long to train: ``epochs`` evaluation periods of ``steps_per_epoch`` batches each."""

    epochs: int
    steps_per_epoch: int
    batch_size: int

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    @classmethod
    def for_data(cls, num_examples: int, batch_size: int, epochs: int) -> Plan:
        return cls(epochs, max(1, math.ceil(num_examples / batch_size)), batch_size)


@dataclass
class Method:
    """One row of a comparison: a name, its optimizer, its callbacks, what identifies it."""

    name: str
    make_optimizer: Callable[[Plan], keras.optimizers.Optimizer]
    make_callbacks: Callable[[Plan], list] = field(default=lambda plan: [])
    config: dict = field(default_factory=dict)


def _normalizer(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pixels = x_train.reshape(-1, x_train.shape[-1]).astype("float64") / 255.0
    return pixels.mean(axis=0).astype("float32"), (pixels.std(axis=0) + 1e-3).astype("float32")


def batch_plain(dataset, num_classes: int, batch_size: int, seed: int):
    """Batches unbatched ``(uint8 image, int label)`` pairs as (float 0-255, one-hot) batches."""
    import tensorflow as tf

    def to_float(images, labels):
        return tf.cast(images, "float32"), tf.one_hot(labels, num_classes)

    return dataset.batch(batch_size, drop_remainder=True).map(to_float)


def cifar_pipeline(trivial_augment: bool = False, cutmix: bool = False) -> Callable:
    """Pad-4 crop + flip (+ TrivialAugment, + CutMix) from ``tf_lropt.augment.cifar_augment``."""
    try:
        from tf_lropt.augment import cifar_augment
    except ImportError as error:
        raise ImportError("tf_lropt.augment.cifar_augment is not available in this version of "
                          "tf_lropt; it is needed for the augmented CIFAR runs") from error

    def batch(dataset, num_classes: int, batch_size: int, seed: int):
        return cifar_augment(dataset, num_classes=num_classes, batch_size=batch_size,
                             trivial_augment=trivial_augment, cutmix=cutmix, seed=seed)

    return batch


def make_datasets(splits: Splits, num_classes: int, batch_size: int, seed: int,
                  batcher: Callable = batch_plain, standardize: bool = True):
    """tf.data pipelines: shuffled, repeated training batches made by ``batcher`` (which gets
    the unbatched uint8 pairs and returns float 0-255 images with one-hot labels: plain batching
    or an augmenting pipeline), standardized per channel with the training set's statistics
    (or only scaled to [0, 1] when ``standardize`` is False); and the test batches.
    One-hot labels let CutMix's mixed labels share the loss."""
    import tensorflow as tf

    (x_train, y_train), (x_test, y_test) = splits
    mean, std = _normalizer(x_train) if standardize else (0.0, 1.0)

    def normalize(images, labels):
        return (images / 255.0 - mean) / std, labels

    train = tf.data.Dataset.from_tensor_slices((x_train, y_train))
    train = train.shuffle(len(y_train), seed=seed, reshuffle_each_iteration=True).repeat()
    train = batcher(train, num_classes, batch_size, seed)
    train = train.map(normalize, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)
    test = tf.data.Dataset.from_tensor_slices((x_test, y_test))
    test = test.batch(max(batch_size, 256)).map(
        lambda x, y: (tf.cast(x, "float32"), tf.one_hot(y, num_classes)))
    return train, test.map(normalize).prefetch(2)


class _PeriodRecorder(keras.callbacks.Callback):
    """Records the optimizer's step, current rate and wall time at the end of every period."""

    def __init__(self):
        super().__init__()
        self.rows: list[dict] = []

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        self.rows.append({
            "epoch": epoch + 1,
            "step": int(keras.ops.convert_to_numpy(optimizer.iterations)),
            "lr": float(keras.ops.convert_to_numpy(optimizer.learning_rate)),
            "seconds": time.perf_counter() - self._start,
            **{k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"},
        })


def train_classifier(method: Method, build_model: Callable[[], keras.Model], splits: Splits,
                     plan: Plan, results: ResultsDir, *, num_classes: int = 10, seed: int = 0,
                     batcher: Callable = batch_plain, jit_compile: bool | str = "auto",
                     run_eagerly: bool = False, standardize: bool = True,
                     run_config: dict | None = None, verbose: int = 0) -> tuple[dict, dict]:
    """Trains ``method`` (or loads its finished run) and returns ``(history, summary)``.

    ``history`` maps column names (epoch, step, lr, loss, accuracy, val_loss, val_accuracy,
    seconds) to per-period lists; ``summary`` holds the final and best test accuracy in percent.
    """
    config = {"method": method.config, "plan": asdict(plan), "seed": seed,
              "train_examples": len(splits.train[1]), "test_examples": len(splits.test[1]),
              **(run_config or {})}
    finished = results.load_finished(method.name, config)
    if finished is not None:
        print(f"  {method.name}: finished earlier, loaded from {results.runs_path}")
        return finished

    keras.utils.set_random_seed(seed)
    model = build_model()
    model.compile(optimizer=method.make_optimizer(plan),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=jit_compile, run_eagerly=run_eagerly)
    train, test = make_datasets(splits, num_classes, plan.batch_size, seed, batcher, standardize)
    recorder = _PeriodRecorder()
    model.fit(train, epochs=plan.epochs, steps_per_epoch=plan.steps_per_epoch,
              validation_data=test, verbose=verbose, shuffle=False,
              callbacks=[*method.make_callbacks(plan), keras.callbacks.TerminateOnNaN(), recorder])
    history = {key: [row.get(key, float("nan")) for row in recorder.rows]
               for key in recorder.rows[0]} if recorder.rows else {"epoch": []}
    accuracy = [100.0 * a for a in history.get("val_accuracy", [])]
    summary = {
        "final_test_accuracy": accuracy[-1] if accuracy else float("nan"),
        "best_test_accuracy": max(accuracy) if accuracy else float("nan"),
        "diverged": len(accuracy) < plan.epochs or not np.isfinite(history["loss"][-1]),
        "seconds": history["seconds"][-1] if accuracy else 0.0,
        "parameters": model.count_params(),
    }
    results.save_run(method.name, config, history, summary)
    print(f"  {method.name}: test accuracy {summary['final_test_accuracy']:.2f}% "
          f"(best {summary['best_test_accuracy']:.2f}%) in {summary['seconds']:.0f} s")
    return history, summary


def run_methods(methods: list[Method], build_model: Callable[[], keras.Model], splits: Splits,
                plan: Plan, results: ResultsDir, *, seed: int = 0, jit_compile: bool | str = False,
                run_eagerly: bool = False, standardize: bool = True,
                batchers: dict[str, Callable] | None = None,
                run_config: dict | None = None, x_label: str = "epoch", verbose: int = 0
                ) -> dict[str, tuple[dict, dict]]:
    """Trains every method (skipping finished runs) and plots test and train accuracy curves.

    ``batchers`` maps a method name to its input pipeline (default: plain batching).
    """
    from _harness.results import plot_curves

    print(f"{results.path}: {len(methods)} runs, {plan.epochs} x {plan.steps_per_epoch} steps, "
          f"batch {plan.batch_size}, {len(splits.train[1])} train / {len(splits.test[1])} test")
    runs = {}
    for method in methods:
        batcher = (batchers or {}).get(method.name, batch_plain)
        runs[method.name] = train_classifier(
            method, build_model, splits, plan, results, seed=seed, batcher=batcher,
            jit_compile=jit_compile, run_eagerly=run_eagerly, standardize=standardize,
            run_config=run_config,
            verbose=verbose)
    curves = {name: history for name, (history, _) in runs.items()}
    x = "step" if x_label == "iteration" else "epoch"
    for metric, what in (("val_accuracy", "test accuracy"), ("accuracy", "training accuracy")):
        plot_curves(curves, metric, results.file(f"{metric}.png"), x=x,
                    title=f"{os.path.basename(results.path)}: {what}")
    return runs
