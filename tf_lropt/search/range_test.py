"""The learning-rate range test (Smith, 2017, section 3.3): ``find_lr``.

Train for a few epochs while the learning rate rises from ``min_lr`` to
``max_lr``, one value per batch, and record the loss and the metrics of every
batch. The rate where accuracy starts to rise is a good lower bound (``base_lr``)
for a cyclical schedule, the rate where it stops rising or turns ragged a good
upper bound (``max_lr``).

This module runs the test on a compiled model (:func:`find_lr`). The callback
underneath is in ``range_test_callback`` (:class:`LRRangeTest`), the analysis of the
curves in ``range_test_result`` (:func:`suggest`, :class:`LRRangeTestResult`); their
public names are importable from here too.

References:
    - Smith, L. N. (2017). Cyclical Learning Rates for Training Neural Networks.
      WACV 2017. https://arxiv.org/abs/1506.01186 (section 3.3, figure 9).
"""

from __future__ import annotations

import math
import sys
from typing import Any

import keras

from tf_lropt._validation import check_choice, check_int
from tf_lropt.search._common import check_logged, split_xy
from tf_lropt.search.range_test_callback import (
    MODES,
    LRRangeTest,
    check_rate_range,
    range_test_rate,
)
from tf_lropt.search.range_test_result import (
    LRRangeTestResult,
    LRSuggestion,
    centered_moving_average,
    suggest,
)

__all__ = [
    "LRRangeTest",
    "LRRangeTestResult",
    "LRSuggestion",
    "centered_moving_average",
    "find_lr",
    "range_test_rate",
    "suggest",
]


def _array_batch_sizes(data: Any, batch_size: int | None) -> list[int] | None:
    """Sizes of the batches of one epoch over ``(x, y)`` arrays; None for other data."""
    if not (isinstance(data, tuple | list) and data):
        return None
    first = data[0]
    while isinstance(first, tuple | list | dict):
        first = next(iter(first.values())) if isinstance(first, dict) else first[0]
    size = batch_size or 32
    full, rest = divmod(len(first), size)
    return [size] * full + ([rest] if rest else [])


def _batches_per_epoch(data: Any, batch_size: int | None) -> int | None:
    sizes = _array_batch_sizes(data, batch_size)
    if sizes is not None:
        return len(sizes)
    if isinstance(data, keras.utils.PyDataset):
        return len(data)
    # A tf.data.Dataset exists only once TensorFlow is imported; never import it here.
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(data, tf.data.Dataset):
        cardinality = int(data.cardinality())
        return cardinality if cardinality > 0 else None
    try:
        return len(data)
    except TypeError:
        return None


def find_lr(
    model: keras.Model,
    data: Any,
    min_lr: float = 1e-7,
    max_lr: float = 1.0,
    epochs: int | None = None,
    steps: int | None = None,
    mode: str = "linear",
    monitor: str = "auto",
    batch_size: int | None = None,
    divergence_factor: float | None = 4.0,
    smoothing: float = 0.98,
    verbose: int = 0,
    **fit_kwargs: Any,
) -> LRRangeTestResult:
    """Runs an LR range test on a compiled model and returns its curves.

    The model's weights, optimizer state and rate are restored afterwards.

    Args:
        model: a compiled Keras model whose optimizer has a float rate.
        data: ``(x, y)`` arrays, a ``tf.data.Dataset`` or a ``PyDataset``.
        min_lr, max_lr: the rate range, ``0 < min_lr < max_lr``.
        epochs: length of the test in epochs (Smith: a few); default 1.
        steps: length in batches instead of ``epochs`` (exclusive with it).
        mode: ``"linear"`` (Smith) or ``"exponential"``.
        monitor: curve for Smith's base/max rule; ``"auto"`` picks an accuracy
            metric if compiled, else the loss.
        batch_size: batch size for array data.
        divergence_factor, smoothing: see :class:`LRRangeTest`.
        verbose: passed to ``fit``.
        **fit_kwargs: passed to ``fit`` (e.g. ``class_weight``).

    Returns:
        An :class:`LRRangeTestResult`.
    """
    check_rate_range(min_lr, max_lr)
    check_choice("mode", mode, MODES)
    if epochs is not None and steps is not None:
        raise ValueError(
            f"Pass either `epochs` or `steps`, not both; received epochs={epochs!r}, "
            f"steps={steps!r}."
        )
    if steps is not None:
        check_int("steps", steps, low=2)
    if epochs is not None:
        check_int("epochs", epochs, low=1)
    if getattr(model, "optimizer", None) is None:
        raise ValueError("find_lr needs a compiled model: call model.compile(...) first.")

    per_epoch = _batches_per_epoch(data, batch_size)
    if per_epoch is None:
        if steps is None:
            raise ValueError(
                "The number of batches per epoch of `data` is unknown; pass `steps` and a "
                "repeating dataset."
            )
        num_steps, fit_epochs, steps_per_epoch = steps, 1, steps
    else:
        num_steps = steps if steps is not None else per_epoch * (epochs or 1)
        fit_epochs, steps_per_epoch = math.ceil(num_steps / per_epoch), None
    check_int("number of range-test batches", num_steps, low=2)

    callback = LRRangeTest(min_lr, max_lr, num_steps, mode, divergence_factor, smoothing,
                           epoch_batch_sizes=_array_batch_sizes(data, batch_size))
    callbacks = [callback, *fit_kwargs.pop("callbacks", [])]
    x, y = split_xy(data)
    inputs = dict(x=x, y=y, batch_size=batch_size) if isinstance(data, tuple | list) else \
        dict(x=data)
    if monitor != "auto":
        check_logged(model, data, monitor, "monitor", batch_size)  # fails before training
    model.fit(**inputs, epochs=fit_epochs, callbacks=callbacks, verbose=verbose,
              **({} if steps_per_epoch is None else {"steps_per_epoch": steps_per_epoch}),
              **fit_kwargs)
    return callback.result(monitor=monitor)
