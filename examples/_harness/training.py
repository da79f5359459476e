"""One training loop for every experiment: seeded batches, augmentation where it is cheap, resume.

``train`` trains any compiled-on-the-spot model on NumPy arrays for a ``Plan`` (``epochs``
evaluation periods of ``steps_per_epoch`` batches), with the loss, metrics and callbacks it is
given, records one history row per period, summarizes the run with the function it is given and
stores both in the results directory; a finished run with the same configuration is loaded
instead. ``train_classifier`` is ``train`` for the image classifiers (one-hot labels and
cross-entropy, so that CutMix's mixed labels share the loss; test accuracy as the summary).

What makes the comparisons fair and the campaigns long-lived:

- **Paired seeds.** ``keras.utils.set_random_seed(seed)`` before the model is built gives every
  method of a seed the same initial weights, and the batches are a pure function of the seed and
  the step (a fresh permutation of the training set per pass, drawn from ``(seed, pass)``), so
  every method also sees the same data in the same order, however the run was interrupted.
  The augmentations draw from their layers' generators, seeded with the run's seed, in batch
  order (the pipeline maps them one batch at a time, so thread timing cannot reorder the
  draws); a resumed run reseeds them from ``(seed, first step)``.
- **Augmentation where it is cheapest** (``pipeline``, see ``resolve_pipeline``). On a CPU with
  the TensorFlow backend (``"tf.data"``): the recipe's layers (pad-4 crop, flip, TrivialAugment
  per image, then CutMix per batch, the paper's order) run in a ``tf.data`` pipeline with
  prefetch, and the model trains in graph mode on plain batches, so a step costs about what a
  bare ``model.fit`` of the same model costs (``bench/harness_step.py``, docs/benchmarks.md).
  Elsewhere (``"model"``: JAX, a GPU, no TensorFlow): batches are NumPy arrays from a
  ``keras.utils.PyDataset`` and the per-image augmentations are layers at the front of the
  model, active only in training, so they run on the device; CutMix, which mixes labels a model
  never sees, is applied to each NumPy batch before it enters the model, i.e. *before* the
  per-image augmentations.
- **28x28 images are zero-padded to 32x32** (``pad_to=32``; in the pipeline, else inside the
  model) so that the CIFAR networks apply unchanged and the crop/TrivialAugment geometry is
  CIFAR's; one channel works.
- **Resume.** ``keras.callbacks.BackupAndRestore`` writes the weights and optimizer state after
  every period to ``runs/<run>.backup``; a rerun after an interruption continues from the last
  finished period (the history so far is kept beside the backup), not from scratch. A
  ``BestWeights`` given to ``train`` keeps the best epoch's weights there too, so the run ends
  with (and is summarized on) its best epoch even when that came before an interruption.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from _harness.data import Splits
from _harness.results import ResultsDir, _jsonable, plot_curves, where_ran

import keras
import numpy as np


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
        """Whole batches only (the last partial one is dropped, as CutMix needs full batches)."""
        return cls(epochs, max(1, num_examples // batch_size), batch_size)


@dataclass(frozen=True)
class Augmentation:
    """Which of the recipe's augmentations a method trains with (all off: plain batches)."""

    crop_flip: bool = False
    trivial_augment: bool = False
    cutmix: bool = False

    def recipe(self, seed: int):
        from tf_lropt.recipes import RobustRecipe

        return RobustRecipe(1, 1, batch_size=2, trivial_augment=self.trivial_augment,
                            cutmix=self.cutmix, seed=seed)

    def layers(self, image_size: tuple[int, int], seed: int) -> list[keras.layers.Layer]:
        """The per-image augmentations as layers (the recipe's own), or none."""
        if not (self.crop_flip or self.trivial_augment):
            return []
        return self.recipe(seed).augment_layers(tuple(int(n) for n in image_size))


NO_AUGMENTATION = Augmentation()


@dataclass
class Method:
    """One row of a comparison: a name, its optimizer, its callbacks, its augmentation and the
    configuration that identifies it (a changed configuration is a new run)."""

    name: str
    make_optimizer: Callable[[Plan], keras.optimizers.Optimizer]
    make_callbacks: Callable[[Plan], list] = field(default=lambda plan: [])
    config: dict = field(default_factory=dict)
    augmentation: Augmentation = NO_AUGMENTATION


class Batches(keras.utils.PyDataset):
    """Training batches as NumPy arrays; batch ``i`` of period ``period`` is a pure function of
    ``seed`` and the global step ``period * steps + i`` (see the module docstring).

    ``x`` stays uint8 until a batch is cut (a float copy of CIFAR-10 would take 600 MB); ``y`` is
    ``None`` for unsupervised models (the VAE), else labels that are one-hot encoded per batch.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray | None, batch_size: int, steps: int,
                 seed: int, num_classes: int = 10, cutmix: keras.layers.Layer | None = None):
        super().__init__()
        if len(x) < batch_size:
            raise ValueError(f"batch_size must be at most the {len(x)} training examples, "
                             f"got {batch_size}")
        self.x, self.y, self.batch_size, self.steps = x, y, batch_size, steps
        self.seed, self.num_classes, self.cutmix = seed, num_classes, cutmix
        self.period = 0  # set by PeriodTracker at the start of every period
        self._orders: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self.steps

    def order(self, data_pass: int) -> np.ndarray:
        """The permutation of the training set used in pass ``data_pass``."""
        if data_pass not in self._orders:
            self._orders = {data_pass: np.random.default_rng([self.seed, data_pass]).permutation(
                len(self.x))}
        return self._orders[data_pass]

    def indices(self, step: int) -> np.ndarray:
        positions = np.arange(step * self.batch_size, (step + 1) * self.batch_size)
        passes, within = np.divmod(positions, len(self.x))
        return np.concatenate([self.order(int(p))[within[passes == p]]
                               for p in np.unique(passes)])

    def __getitem__(self, index: int):
        chosen = self.indices(self.period * self.steps + int(index))
        images = self.x[chosen].astype("float32")
        if self.y is None:
            return (images,)
        labels = np.eye(self.num_classes, dtype="float32")[self.y[chosen]]
        if self.cutmix is not None:
            mixed = self.cutmix({"images": images, "labels": labels}, training=True)
            images = keras.ops.convert_to_numpy(mixed["images"]).astype("float32")
            labels = keras.ops.convert_to_numpy(mixed["labels"]).astype("float32")
        return images, labels


PIPELINES = ("auto", "tf.data", "model")


def resolve_pipeline(pipeline: str = "auto") -> str:
    """Where the augmentation runs: ``"tf.data"`` (a ``tf.data`` pipeline beside a graph-mode
    model) or ``"model"`` (layers inside the model, CutMix on NumPy batches). ``"auto"`` takes
    ``"tf.data"`` on the TensorFlow backend without a GPU, where it was measured fastest
    (docs/benchmarks.md), and ``"model"`` elsewhere: on JAX or a GPU the augmentation compiles
    into the device's step."""
    if pipeline not in PIPELINES:
        raise ValueError(f"pipeline must be one of {PIPELINES}, got {pipeline!r}")
    if pipeline != "auto":
        return pipeline
    if keras.backend.backend() != "tensorflow":
        return "model"
    from _harness.results import accelerators

    return "model" if accelerators() else "tf.data"


def padding(height: int, width: int, pad_to: int | None) -> tuple[tuple[int, int], ...]:
    """Zero padding ``((top, bottom), (left, right))`` that centres an image in ``pad_to`` x
    ``pad_to`` (none where the image is that large already)."""
    if not pad_to:
        return (0, 0), (0, 0)
    rows, columns = max(0, pad_to - height), max(0, pad_to - width)
    return (rows // 2, rows - rows // 2), (columns // 2, columns - columns // 2)


def pad_images(images: np.ndarray, pad_to: int | None) -> np.ndarray:
    """``images`` (N, H, W, C) zero-padded as ``padding`` says."""
    return np.pad(images, ((0, 0), *padding(*images.shape[1:3], pad_to), (0, 0)))


def augmented_batches(batches: Batches, total_steps: int, first_step: int,
                      augmentation: Augmentation, pad_to: int | None = None):
    """The training batches of steps ``first_step .. total_steps - 1`` as a ``tf.data``
    pipeline: the images ``batches`` picks for each step (the same as the NumPy path's), padded
    to ``pad_to``, one-hot labels, then the recipe's layers (crop, flip, TrivialAugment per
    image, CutMix per batch, as switched) and prefetch.

    The layers are mapped one batch at a time, so their seeded generators draw in batch order
    whatever the threads do; they are seeded with the run's seed, or with ``(seed,
    first_step)`` after a resume."""
    import tensorflow as tf

    order = np.stack([batches.indices(step) for step in range(first_step, total_steps)])
    seed = batches.seed if first_step == 0 else int(
        np.random.SeedSequence([batches.seed, first_step]).generate_state(1)[0] >> 1)
    (top, bottom), (left, right) = padding(*batches.x.shape[1:3], pad_to)
    size = (batches.x.shape[1] + top + bottom, batches.x.shape[2] + left + right)
    layers = augmentation.layers(size, seed)
    cutmix = augmentation.recipe(seed).cutmix_layer() if augmentation.cutmix else None
    images_all = tf.constant(batches.x)
    labels_all = tf.constant(batches.y, tf.int32)

    def gather(indices):
        images = tf.cast(tf.gather(images_all, indices), tf.float32)
        images = tf.pad(images, [[0, 0], [top, bottom], [left, right], [0, 0]])
        return images, tf.one_hot(tf.gather(labels_all, indices), batches.num_classes)

    def augment(images, labels):
        for layer in layers:
            images = layer(images, training=True)
        if cutmix is not None:
            mixed = cutmix({"images": images, "labels": labels}, training=True)
            images, labels = mixed["images"], mixed["labels"]
        return tf.cast(images, tf.float32), tf.cast(labels, tf.float32)

    data = tf.data.Dataset.from_tensor_slices(order.astype("int32"))
    data = data.map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    if layers or cutmix is not None:
        data = data.map(augment)  # sequential: the draws follow the batch order
    return data.prefetch(tf.data.AUTOTUNE)


class PeriodTracker(keras.callbacks.Callback):
    """Tells the batch stream which period starts (right after a resume too) and records the
    optimizer's step, current rate, wall time and logs at the end of every period; with a
    ``history_path`` the rows are also written there, so that a resumed run keeps them."""

    def __init__(self, batches: Batches | None, history_path: str | None = None,
                 rows: list[dict] | None = None):
        super().__init__()
        self.batches, self.history_path = batches, history_path
        self.rows: list[dict] = list(rows or [])
        self._offset = self.rows[-1]["seconds"] if self.rows else 0.0

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        if self.batches is not None:
            self.batches.period = epoch

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        self.rows.append({
            "epoch": epoch + 1,
            "step": int(keras.ops.convert_to_numpy(optimizer.iterations)),
            "lr": float(keras.ops.convert_to_numpy(optimizer.learning_rate)),
            "seconds": self._offset + time.perf_counter() - self._start,
            **{k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"},
        })
        if self.history_path is not None:
            with open(self.history_path, "w") as stream:
                json.dump(self.rows, stream)


class BestWeights(keras.callbacks.Callback):
    """Keeps the weights of the best epoch so far by ``monitor`` and puts them back at the end
    of training; at each epoch of ``checkpoints`` it tests them with ``evaluate(model)`` (the
    results in ``tested``: epoch -> test value, best monitored value, best epoch).

    Given to ``train(best_weights=...)``, its state goes to ``best.npz`` in the run's backup as
    it changes, so a run resumed by BackupAndRestore keeps the best weights from before the
    interruption (Keras' ``EarlyStopping(restore_best_weights=True)`` would forget them and
    restore the best epoch since the resume)."""

    def __init__(self, monitor: str = "val_loss", checkpoints: Sequence[int] = (),
                 evaluate: Callable[[keras.Model], float] | None = None,
                 path: str | None = None):
        super().__init__()
        if checkpoints and evaluate is None:
            raise ValueError(f"checkpoints {sorted(checkpoints)} need an evaluate function, "
                             "got None")
        self.monitor, self.checkpoints, self.evaluate = monitor, set(checkpoints), evaluate
        self.path = path

    def on_train_begin(self, logs=None) -> None:
        self.best, self.best_epoch, self.best_weights = math.inf, 0, None
        self.tested: dict[int, dict] = {}
        if self.path is not None and os.path.exists(self.path):
            with np.load(self.path) as stored:
                state = json.loads(str(stored["state"]))
                self.best_weights = [stored[f"w{i}"] for i in range(state["n_weights"])]
            self.best, self.best_epoch = state["best"], state["best_epoch"]
            self.tested = {int(epoch): result for epoch, result in state["tested"].items()}

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        changed = float(logs[self.monitor]) < self.best
        if changed:
            self.best, self.best_epoch = float(logs[self.monitor]), epoch + 1
            self.best_weights = self.model.get_weights()
        if epoch + 1 in self.checkpoints:
            current = self.model.get_weights()
            self.model.set_weights(self.best_weights)
            self.tested[epoch + 1] = {"test": self.evaluate(self.model), "best": self.best,
                                      "best_epoch": self.best_epoch}
            self.model.set_weights(current)
            changed = True
        if changed and self.path is not None:
            state = {"n_weights": len(self.best_weights), "best": self.best,
                     "best_epoch": self.best_epoch, "tested": self.tested}
            partial = self.path + ".partial.npz"
            np.savez(partial, state=np.array(json.dumps(state)),
                     **{f"w{i}": w for i, w in enumerate(self.best_weights)})
            os.replace(partial, self.path)  # never a half-written state

    def on_train_end(self, logs=None) -> None:
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def _resume_state(backup_dir: str, config: dict) -> list[dict]:
    """History rows of an interrupted run with this configuration (a backup of another
    configuration is deleted, so that it is never restored into a different run)."""
    config_path = os.path.join(backup_dir, "config.json")
    if os.path.isdir(backup_dir):
        stored = None
        if os.path.exists(config_path):
            with open(config_path) as stream:
                stored = json.load(stream)
        if stored != _jsonable(config):
            shutil.rmtree(backup_dir)
    os.makedirs(backup_dir, exist_ok=True)
    with open(config_path, "w") as stream:
        json.dump(_jsonable(config), stream)
    metadata, history = (os.path.join(backup_dir, name)
                         for name in ("training_metadata.json", "history.json"))
    if not (os.path.exists(metadata) and os.path.exists(history)):
        return []
    with open(metadata) as stream:
        done = json.load(stream)["epoch"]
    with open(history) as stream:
        return json.load(stream)[:done]


@contextlib.contextmanager
def _exclusive(lock_path: str, name: str):
    """Holds the run's lock file while it trains: a second process given the same run waits for
    the first and then loads its result, instead of training into the same backup (two
    experiment-6 processes did, and one crashed on the backup's HDF5 file lock).

    The file is deleted when the run is done, while still locked, so no empty ``.lock`` files
    are left behind; a process that was waiting on the deleted file sees that its lock no longer
    guards the path and takes a new one."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; keep one process per results directory
        yield
        return
    told = False
    while True:
        handle = open(lock_path, "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not told:
                print(f"  {name}: another process is training it; waiting for it to finish")
                told = True
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            held = os.path.samestat(os.fstat(handle.fileno()), os.stat(lock_path))
        except FileNotFoundError:
            held = False
        if held:
            break
        handle.close()
    try:
        yield
    finally:
        os.remove(lock_path)
        handle.close()  # releases the lock


def train(name: str, build_model: Callable[[], keras.Model], x: np.ndarray,
          y: np.ndarray | None, plan: Plan, results: ResultsDir, config: dict, *,
          optimizer: Callable[[], keras.optimizers.Optimizer],
          summarize: Callable[[dict, keras.Model], dict],
          loss=None, metrics: Sequence = (), callbacks: Sequence = (),
          validation_data: tuple | None = None, num_classes: int = 10,
          cutmix: keras.layers.Layer | None = None, seed: int = 0,
          jit_compile: bool | str = "auto", run_eagerly: bool = False, resume: bool = True,
          train_missing: bool = True, best_weights: BestWeights | None = None,
          dataset: Callable[[int], object] | None = None, verbose: int = 0
          ) -> tuple[dict, dict]:
    """Trains ``build_model()`` (or loads the finished run ``name`` with this ``config``).

    ``summarize(history, model)`` turns the finished run into the summary stored beside its
    history (the trained model is there to evaluate). Returns ``(history, summary)``: history
    maps column names (epoch, step, lr, seconds and the logged metrics) to per-period lists.
    With ``train_missing=False`` an unfinished run is not trained: ``({}, {"not_run": True})``.
    With ``best_weights`` the model is summarized with its best epoch's weights (kept in the
    run's backup, so a resume keeps them). ``dataset(first_period)``, if given, makes the
    training batches from that period to the end (a ``tf.data`` pipeline, see
    ``augmented_batches``) in place of the NumPy ``Batches`` of ``x`` and ``y``.
    """
    lock = results.run_file(name, ".lock")
    with _exclusive(lock, name) if train_missing else contextlib.nullcontext():
        # Checked under the lock: another process may have just finished this run.
        finished = results.load_finished(name, config)
        if finished is not None:
            print(f"  {name}: finished earlier, loaded from {results.runs_path}")
            return finished
        if not train_missing:
            print(f"  {name}: not run")
            return {}, {"not_run": True}
        backup_dir = results.run_file(name, ".backup")
        rows = _resume_state(backup_dir, config) if resume else []
        if rows:
            print(f"  {name}: resuming after period {len(rows)} of {plan.epochs}")
        keras.utils.set_random_seed(seed)  # same initial weights for every method of a seed
        model = build_model()
        model.compile(optimizer=optimizer(), loss=loss, metrics=list(metrics),
                      jit_compile=jit_compile, run_eagerly=run_eagerly)
        if dataset is None:
            batches = Batches(x, y, plan.batch_size, plan.steps_per_epoch, seed, num_classes,
                              cutmix)
            data, steps_per_epoch = batches, None
        else:  # one iterator over the remaining steps (fit resumes at period len(rows))
            batches, data, steps_per_epoch = None, dataset(len(rows)), plan.steps_per_epoch
        history_path = os.path.join(backup_dir, "history.json") if resume else None
        tracker = PeriodTracker(batches, history_path, rows)
        # The tracker writes its row before BackupAndRestore saves the period it belongs to.
        extra = [keras.callbacks.BackupAndRestore(backup_dir)] if resume else []
        if best_weights is not None:
            best_weights.path = os.path.join(backup_dir, "best.npz") if resume else None
            extra.insert(0, best_weights)  # its state is saved before the period's backup
        model.fit(data, epochs=plan.epochs, steps_per_epoch=steps_per_epoch,
                  validation_data=validation_data,
                  validation_batch_size=max(plan.batch_size, 256), verbose=verbose, shuffle=False,
                  callbacks=[*callbacks, keras.callbacks.TerminateOnNaN(), tracker, *extra])
        if os.path.isdir(backup_dir):
            shutil.rmtree(backup_dir)
        history = {key: [row.get(key, float("nan")) for row in tracker.rows]
                   for key in tracker.rows[0]} if tracker.rows else {"epoch": []}
        summary = {**summarize(history, model), **where_ran()}
        results.save_run(name, config, history, summary)
        return history, summary


def classifier(build_body: Callable[[tuple], keras.Model], input_shape: tuple,
               x_train: np.ndarray, augmentation: Augmentation = NO_AUGMENTATION,
               seed: int = 0, pad_to: int | None = None, standardize: bool = True
               ) -> keras.Model:
    """``build_body(shape)`` behind the input path: float images 0-255 of ``input_shape`` are
    zero-padded to ``pad_to`` x ``pad_to`` (28x28 Fashion-MNIST to CIFAR's 32x32), augmented in
    training, and standardized per channel with the training set's statistics (or scaled to
    [0, 1] when ``standardize`` is False)."""
    inputs = keras.Input(input_shape)
    images = inputs
    height, width = input_shape[:2]
    if padding(height, width, pad_to) != ((0, 0), (0, 0)):
        images = keras.layers.ZeroPadding2D(padding(height, width, pad_to))(images)
    for layer in augmentation.layers(tuple(images.shape[1:3]), seed):
        images = layer(images)
    if standardize:
        pixels = x_train.reshape(-1, x_train.shape[-1]).astype("float64")
        mean, std = pixels.mean(axis=0), pixels.std(axis=0) + 1e-3 * 255
        images = keras.layers.Normalization(mean=mean, variance=std ** 2)(images)
    else:
        images = keras.layers.Rescaling(1.0 / 255)(images)
    body = build_body(tuple(images.shape[1:]))
    return keras.Model(inputs, body(images), name=body.name)


def accuracy_summary(history: dict, model: keras.Model, plan: Plan) -> dict:
    """Final and best test accuracy in percent, divergence, wall time and model size."""
    accuracy = [100.0 * a for a in history.get("val_accuracy", [])]
    return {
        "final_test_accuracy": accuracy[-1] if accuracy else float("nan"),
        "best_test_accuracy": max(accuracy) if accuracy else float("nan"),
        "diverged": len(accuracy) < plan.epochs or not np.isfinite(history["loss"][-1]),
        "seconds": history["seconds"][-1] if accuracy else 0.0,
        "parameters": model.count_params(),
    }


def train_classifier(method: Method, build_body: Callable[[tuple], keras.Model], splits: Splits,
                     plan: Plan, results: ResultsDir, *, num_classes: int = 10, seed: int = 0,
                     jit_compile: bool | str = "auto", run_eagerly: bool = False,
                     standardize: bool = True, pad_to: int | None = None,
                     run_config: dict | None = None, train_missing: bool = True,
                     pipeline: str = "auto", verbose: int = 0) -> tuple[dict, dict]:
    """Trains ``method`` on ``splits`` (or loads its finished run): ``build_body(shape)`` is the
    network, behind the input path of ``classifier``; ``pipeline`` says where the augmentation
    runs (``resolve_pipeline``). Returns ``(history, summary)``; the summary holds the final
    and best test accuracy in percent."""
    (x_train, y_train), (x_test, y_test) = splits
    pipeline = resolve_pipeline(pipeline)
    augmentation = method.augmentation
    config = {"method": method.config, "augmentation": asdict(augmentation),
              "plan": asdict(plan), "seed": seed, "train_examples": len(y_train),
              "test_examples": len(y_test), "pad_to": pad_to, **(run_config or {})}
    if pipeline == "tf.data":
        # Named only here, so that the runs of the in-model path keep their configuration.
        config["pipeline"] = pipeline
        x_test = pad_images(x_test, pad_to)

        def build():  # padded and augmented in the pipeline; statistics of the raw images
            return classifier(build_body, x_test.shape[1:], x_train, NO_AUGMENTATION, seed,
                              None, standardize)

        def dataset(first_period: int):
            batches = Batches(x_train, y_train, plan.batch_size, plan.steps_per_epoch, seed,
                              num_classes)
            return augmented_batches(batches, plan.total_steps,
                                     first_period * plan.steps_per_epoch, augmentation, pad_to)

        cutmix = None
    else:
        def build():
            return classifier(build_body, x_train.shape[1:], x_train, augmentation, seed,
                              pad_to, standardize)

        dataset = None
        cutmix = augmentation.recipe(seed).cutmix_layer() if augmentation.cutmix else None
    history, summary = train(
        method.name, build, x_train, y_train, plan, results, config,
        optimizer=lambda: method.make_optimizer(plan),
        summarize=lambda history, model: {**accuracy_summary(history, model, plan),
                                           "pipeline": pipeline},
        loss=keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["accuracy"],
        callbacks=method.make_callbacks(plan),
        validation_data=(x_test.astype("float32"),
                         np.eye(num_classes, dtype="float32")[y_test]),
        num_classes=num_classes, cutmix=cutmix, seed=seed, jit_compile=jit_compile,
        run_eagerly=run_eagerly, train_missing=train_missing, dataset=dataset, verbose=verbose)
    if history.get("seconds") and not summary.get("finished"):  # trained now, not loaded
        print(f"  {method.name}: test accuracy {summary['final_test_accuracy']:.2f}% "
              f"(best {summary['best_test_accuracy']:.2f}%) in {summary['seconds']:.0f} s")
    return history, summary


def run_methods(methods: list[Method], build_body: Callable[[tuple], keras.Model],
                splits: Splits, plan: Plan, results: ResultsDir, *, seed: int = 0,
                **options) -> dict[str, tuple[dict, dict]]:
    """Trains every method for one seed (skipping finished runs; ``options`` go to
    ``train_classifier``): ``{method name: (history, summary)}``."""
    print(f"{results.path}: {len(methods)} runs, {plan.epochs} x {plan.steps_per_epoch} steps, "
          f"batch {plan.batch_size}, {len(splits.train[1])} train / {len(splits.test[1])} test, "
          f"seed {seed}")
    return {method.name: train_classifier(method, build_body, splits, plan, results, seed=seed,
                                          **options)
            for method in methods}


CURVE_METRICS = (("val_accuracy", "test accuracy"), ("accuracy", "training accuracy"))


def seed_mean_curves(by_seed: dict[int, dict[str, tuple[dict, dict]]]) -> dict[str, dict]:
    """One curve per method over its seeds (``{seed: {method: (history, summary)}}``, runs
    that did not run left out): the mean of each accuracy metric, and with two seeds or more
    its band, ``<metric>_min`` and ``<metric>_max``; ``seeds`` counts them. Seeds are cut to
    the shortest run's periods."""
    histories: dict[str, list[dict]] = {}
    for by_method in by_seed.values():
        for name, (history, _) in by_method.items():
            if history:
                histories.setdefault(name, []).append(history)
    curves = {}
    for name, seeds in histories.items():
        length = min(len(history["epoch"]) for history in seeds)
        curve = {x: list(seeds[0][x][:length]) for x in ("epoch", "step") if x in seeds[0]}
        for metric, _ in CURVE_METRICS:
            if not all(history.get(metric) for history in seeds):
                continue
            values = np.array([history[metric][:length] for history in seeds], dtype=float)
            curve[metric] = values.mean(axis=0).tolist()
            if len(seeds) > 1:
                curve[f"{metric}_min"] = values.min(axis=0).tolist()
                curve[f"{metric}_max"] = values.max(axis=0).tolist()
        curves[name] = {**curve, "seeds": len(seeds)}
    return curves


def plot_runs(by_seed: dict[int, dict[str, tuple[dict, dict]]], results: ResultsDir,
              x_label: str = "epoch") -> None:
    """The test and training accuracy curves of the runs ``{seed: {method: (history,
    summary)}}``, the mean over seeds with its min-max band (``seed_mean_curves``), one PNG a
    metric in the results folder."""
    x = "step" if x_label == "iteration" else "epoch"
    curves = seed_mean_curves(by_seed)
    counts = {curve["seeds"] for curve in curves.values()}
    if len(counts) > 1:  # methods with different numbers of seeds: each label says its own
        curves = {f"{name} ({curve['seeds']} seeds)": curve for name, curve in curves.items()}
    seeds = "" if counts <= {1} else (f"mean of {counts.pop()} seeds" if len(counts) == 1
                                      else "mean over seeds")
    for metric, what in CURVE_METRICS:
        plot_curves(curves, metric, results.file(f"{metric}.png"), x=x,
                    title=f"{os.path.basename(results.path)}: {what}"
                          + (f"\n{seeds}, shaded from min to max" if seeds else ""))


__all__ = ["PIPELINES", "Augmentation", "Batches", "BestWeights", "Method", "NO_AUGMENTATION",
           "PeriodTracker", "Plan", "accuracy_summary", "augmented_batches", "classifier",
           "pad_images", "padding", "plot_runs", "resolve_pipeline", "run_methods",
           "seed_mean_curves", "train",
           "train_classifier"]
