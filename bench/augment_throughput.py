"""Input-pipeline throughput: our CIFAR augmentation against torchvision's, images per second.

Synthetic CIFAR-sized uint8 images (32x32x3), the same for every row, batches of
128, everything on the CPU. Rows:

- ``cifar_augment`` configurations (pad-4 crop + flip, + TrivialAugment, + CutMix)
  through ``tf.data`` with a thread pool of ``--cores`` threads;
- the TrivialAugment layer alone, mapped over batches in ``tf.data``;
- the in-model (device) path: TrivialAugment on a batch inside
  ``tf.function(jit_compile=True)``, here XLA on the CPU, one batch at a time;
- torchvision's ``RandomCrop(32, padding=4)`` + ``RandomHorizontalFlip`` +
  ``TrivialAugmentWide`` on the same images as PIL images (what torchvision's
  ``CIFAR10`` dataset yields, and its fastest path for 32x32 images), one image
  at a time on one thread (how a ``Dataset.__getitem__`` runs it), when
  torchvision is installed; the row is skipped otherwise.

Each row runs one untimed warm-up pass (tracing, compilation, autotuning), then
``--rounds`` timed passes; rows are timed round-robin, so a shared machine's
changing load hits every row alike, and each row reports its best pass and the
ratio to torchvision's best pass of the same run, in images per second of wall
time and in images per CPU-second (all threads of the process together: the
cost per image, which depends less on how many cores the other processes of a
shared machine leave free). Usage (torchvision's row needs an environment with torch and
torchvision beside TensorFlow; any environment with TensorFlow runs the rest):

    PYTHONPATH=$PWD python bench/augment_throughput.py [--images 10240] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

CONFIGS = {
    "crop+flip": {"trivial_augment": False, "cutmix": False},
    "crop+flip+TrivialAugment": {"trivial_augment": True, "cutmix": False},
    "crop+flip+CutMix": {"trivial_augment": False, "cutmix": True},
    "crop+flip+TrivialAugment+CutMix": {"trivial_augment": True, "cutmix": True},
}
TORCHVISION_ROW = "torchvision crop+flip+TrivialAugmentWide (1 thread)"


def _dataset_pass(make_dataset: Callable) -> Callable[[], int]:
    dataset = make_dataset()

    def run() -> int:
        count = 0
        for images, _ in dataset:
            count += int(images.shape[0])
        return count

    return run


def tensorflow_rows(images, labels, batch_size: int, cores: int) -> dict[str, Callable[[], int]]:
    import tensorflow as tf

    from tf_lropt.augment import TrivialAugment, cifar_augment

    options = tf.data.Options()
    options.threading.private_threadpool_size = cores
    source = tf.data.Dataset.from_tensor_slices((images, labels)).cache()
    rows = {}
    for name, config in CONFIGS.items():
        rows[f"ours: {name}"] = _dataset_pass(
            lambda config=config: cifar_augment(source, batch_size=batch_size, seed=0, **config)
            .with_options(options)
        )
    layer = TrivialAugment(seed=0)
    rows["ours: TrivialAugment alone (tf.data, batched)"] = _dataset_pass(
        lambda: tf.data.Dataset.from_tensor_slices(images)
        .batch(batch_size)
        .map(lambda x: (layer(x, training=True), x), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
        .with_options(options)
    )
    device_layer = TrivialAugment(seed=0)
    compiled = tf.function(lambda x: device_layer(x, training=True), jit_compile=True)
    batches = [tf.constant(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]

    def in_model() -> int:
        for batch in batches:
            out = compiled(batch)
        out.numpy()  # wait for the last batch
        return sum(int(b.shape[0]) for b in batches)

    try:
        compiled(batches[0])
    except Exception as error:  # noqa: BLE001 - an older version that does not compile
        print(f"in-model row skipped: {type(error).__name__}: {str(error)[:200]}")
    else:
        rows["ours: TrivialAugment in-model (XLA on CPU, jit)"] = in_model
    return rows


def torchvision_row(images) -> Callable[[], int] | None:
    try:
        import torch
        from PIL import Image
        from torchvision import transforms
    except ImportError:
        return None
    torch.set_num_threads(1)
    transform = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.TrivialAugmentWide(),
        ]
    )
    pictures = [Image.fromarray(image) for image in images]
    torch.manual_seed(0)

    def run() -> int:
        for picture in pictures:
            transform(picture)
        return len(pictures)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10240)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--cores", type=int, default=2, help="tf.data thread-pool size")
    args = parser.parse_args()

    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (args.images, 32, 32, 3)).astype("uint8")
    labels = rng.randint(0, 10, args.images)

    rows = {}
    torch_run = torchvision_row(images)
    if torch_run is not None:
        rows[TORCHVISION_ROW] = torch_run
    rows.update(tensorflow_rows(images, labels, args.batch_size, args.cores))
    for run in rows.values():  # warm-up: tracing, compilation, autotuning
        run()
    best = dict.fromkeys(rows, 0.0)
    per_cpu_second = dict.fromkeys(rows, 0.0)
    for _ in range(args.rounds):
        for name, run in rows.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            count = run()
            wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
            best[name] = max(best[name], count / wall)
            per_cpu_second[name] = max(per_cpu_second[name], count / cpu)

    import keras

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores visible; "
          f"Keras {keras.__version__} ({keras.backend.backend()}); {args.images} images "
          f"32x32x3 uint8 per pass, batches of {args.batch_size}, best of {args.rounds} passes")
    print("| pipeline | images/s | ratio to torchvision | images per CPU-second | ratio |")
    print("|---|---:|---:|---:|---:|")
    reference = best.get(TORCHVISION_ROW)
    cpu_reference = per_cpu_second.get(TORCHVISION_ROW)
    for name, rate in best.items():
        ratio = f"{rate / reference:.2f}" if reference else "-"
        cpu_rate = per_cpu_second[name]
        cpu_ratio = f"{cpu_rate / cpu_reference:.2f}" if cpu_reference else "-"
        print(f"| {name} | {rate:,.0f} | {ratio} | {cpu_rate:,.0f} | {cpu_ratio} |")
    if reference is None:
        print("(torchvision is not installed: its row is skipped)")


if __name__ == "__main__":
    main()
