"""Input-pipeline throughput of cifar_augment: images per second through tf.data.

Synthetic CIFAR-sized uint8 images (32x32x3), batches of 128, everything on the
CPU. Each configuration runs one warm-up epoch (tracing), then ``--epochs`` timed
epochs; the best epoch is reported. Usage:

    TF_CPP_MIN_LOG_LEVEL=2 python bench/augment_throughput.py [--images 10240] [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tf_lropt.augment import TrivialAugment, cifar_augment  # noqa: E402

CONFIGS = {
    "crop+flip": {"trivial_augment": False, "cutmix": False},
    "crop+flip+TrivialAugment": {"trivial_augment": True, "cutmix": False},
    "crop+flip+CutMix": {"trivial_augment": False, "cutmix": True},
    "crop+flip+TrivialAugment+CutMix": {"trivial_augment": True, "cutmix": True},
}


def images_per_second(dataset: tf.data.Dataset, epochs: int) -> float:
    for _ in dataset:  # warm-up: tracing and autotuning
        pass
    best = 0.0
    for _ in range(epochs):
        start, count = time.perf_counter(), 0
        for images, _ in dataset:
            count += int(images.shape[0])
        best = max(best, count / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10240)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()

    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (args.images, 32, 32, 3)).astype("uint8")
    labels = rng.randint(0, 10, args.images)
    source = tf.data.Dataset.from_tensor_slices((images, labels)).cache()

    print(f"cores visible: {os.cpu_count()}, images per epoch: {args.images}, "
          f"batch size: {args.batch_size}")
    print("| pipeline | images/s |")
    print("|---|---:|")
    for name, options in CONFIGS.items():
        dataset = cifar_augment(source, batch_size=args.batch_size, seed=0, **options)
        print(f"| {name} | {images_per_second(dataset, args.epochs):,.0f} |", flush=True)

    layer = TrivialAugment(seed=0)
    batched = tf.data.Dataset.from_tensor_slices(images).batch(args.batch_size)
    layer_only = batched.map(lambda x: (layer(x, training=True), x)).prefetch(tf.data.AUTOTUNE)
    print(f"| TrivialAugment layer alone (batched map) | "
          f"{images_per_second(layer_only, args.epochs):,.0f} |")


if __name__ == "__main__":
    main()
