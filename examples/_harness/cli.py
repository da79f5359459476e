"""Command-line options shared by every experiment script.

Scales: full (the paper's epochs and data, meant for a GPU: mixed precision and XLA on when a
GPU is present), ``--quick`` (minutes on 2 CPU cores: data subsets, few epochs, narrower models)
and ``--smoke`` (seconds, for CI: a handful of batches; numbers mean nothing).
"""

from __future__ import annotations

import argparse

import keras

from _harness import data
from _harness.data import Splits


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    scale = p.add_mutually_exclusive_group()
    scale.add_argument("--quick", dest="scale", action="store_const", const="quick",
                       help="minutes on a 2-core CPU: data subset, few epochs")
    scale.add_argument("--smoke", dest="scale", action="store_const", const="smoke",
                       help="seconds: a few batches, for CI (numbers mean nothing)")
    p.set_defaults(scale="full")
    p.add_argument("--results-dir", default="results", help="default: ./results")
    p.add_argument("--data-dir", default=None, help="tensorflow-datasets data_dir")
    p.add_argument("--keras-cache-dir", default=None,
                   help="Keras' datasets cache folder (default: $KERAS_HOME/datasets, ...)")
    p.add_argument("--download", action="store_true",
                   help="let tensorflow-datasets download the data if it is not found")
    p.add_argument("--synthetic", action="store_true",
                   help="random images instead of the dataset (checks the pipeline only)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None, help="override the scale's epoch count")
    p.add_argument("--mixed-precision", choices=["auto", "on", "off"], default="auto",
                   help="mixed_float16; auto = on at full scale when a GPU is present")
    p.add_argument("--xla", choices=["auto", "on", "off"], default="auto",
                   help="jit_compile; auto = on at full scale when a GPU is present")
    p.add_argument("--verbose", type=int, default=0, help="Keras fit verbosity")
    return p


def _gpu_present() -> bool:
    try:
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    except ImportError:
        return False


def configure(args: argparse.Namespace) -> bool:
    """Applies the precision policy; returns the ``jit_compile`` value for ``compile``."""
    full_on_gpu = args.scale == "full" and _gpu_present()
    if args.mixed_precision == "on" or (args.mixed_precision == "auto" and full_on_gpu):
        keras.mixed_precision.set_global_policy("mixed_float16")
    return args.xla == "on" or (args.xla == "auto" and full_on_gpu)


def compile_options(args: argparse.Namespace) -> dict:
    """``configure`` plus ``run_eagerly`` for smoke runs (a few batches do not repay tracing)."""
    jit = configure(args)
    return {"jit_compile": jit, "run_eagerly": args.scale == "smoke" and not jit}


def load(name: str, args: argparse.Namespace, n_train: int | None = None,
         n_test: int | None = None) -> Splits:
    """The dataset ``name`` per the command line, cut to ``n_train`` / ``n_test`` examples."""
    if args.synthetic:
        splits = data.synthetic_images(name, n_train or 512, n_test or 256, seed=args.seed)
    elif name == "digits":
        splits = data.load_digits(seed=args.seed)
    else:
        splits = data.load_dataset(name, args.data_dir, args.keras_cache_dir, args.download)
    return data.subset(splits, n_train, n_test, seed=args.seed)


def provenance(args: argparse.Namespace, detail: str) -> str:
    """The line under every table: scale, hardware, date, and what was cut."""
    from _harness.results import hardware, today

    label = {"full": "full scale", "quick": "QUICK MODE (reduced)",
             "smoke": "SMOKE TEST (meaningless numbers)"}[args.scale]
    source = "synthetic data" if args.synthetic else "real data"
    return f"_{label}; {source}; {detail}; {hardware()}; {today()}; seed {args.seed}._"
