"""Closed-form learning-rate policies as functions of the global step.

This module is the only place in the package where a learning rate is computed.
The schedule classes, their callback twins and ``plot_schedule`` all call these
functions, so a schedule and its callback can never disagree.

Every function takes the step as a Python number or a scalar tensor of any
integer or float dtype, casts it to float32 before any arithmetic, and uses
``keras.ops`` only (one code path, ``ops.where`` instead of Python ``if``), so
it runs on every backend and compiles under XLA. The rate end points (``low``,
``high``, ``start`` ...) are plain values and are not validated here: the
callbacks reuse the same functions with momentum values, where the "low" end is
larger than the "high" end.

Float32 represents every integer step exactly up to 2**24 (about 16.7 million
iterations); the cycle arithmetic below is exact up to there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from keras import ops

CYCLICAL_MODES = ("triangular", "triangular2", "exp_range")
WINDOW_SHAPES = ("triangular", "welch", "hann")
SCALE_MODES = ("cycle", "iterations")
RANGE_TEST_MODES = ("linear", "exponential")


def as_float_step(step: Any) -> Any:
    """Casts an int or float step (Python or tensor) to a float32 tensor."""
    return ops.cast(step, "float32")


def cycle_and_position(step: Any, step_size_up: float, step_size_down: float) -> tuple[Any, Any]:
    """Returns ``(cycle, 1 - x)`` for the iteration ``step`` (counted from 0).

    ``cycle`` starts at 1. ``x`` is Smith's ``|i/step_size - 2*cycle + 1|``:
    1 at a cycle minimum and 0 at the maximum; ``1 - x``, the height in the cycle,
    is returned from exact step differences rather than as ``1 - x``, which would
    lose the digits of the small heights next to a minimum. With ``step_size_down`` different
    from ``step_size_up`` the rise and the fall have different lengths.
    The position inside the cycle is taken with ``mod`` in step units, which is
    exact for integer steps, so cycle boundaries land on exact iterations.
    """
    i = as_float_step(step)
    cycle_length = step_size_up + step_size_down
    position = ops.mod(i, cycle_length)
    cycle = (i - position) / cycle_length + 1.0
    rising = position / step_size_up
    falling = (cycle_length - position) / step_size_down
    return cycle, ops.where(position <= step_size_up, rising, falling)


def raised_cosine(fraction: Any) -> Any:
    """``(1 - cos(pi f)) / 2``: 0 at ``f = 0``, 1 at ``f = 1``, a half cosine between.

    Computed as ``sin(pi f / 2)**2``, the same number without cancellation near
    ``f = 0``: there the textbook ``(1 + cos(pi x)) / 2`` at ``x = 1 - f`` is the
    difference of two numbers near 1 and keeps only a fraction of its float32 digits
    (9 % relative error at the last of 5000 cosine steps). ``f`` itself must then come
    from a difference of exact step counts, ``(end - t) / length``, not as ``1 - x``.
    """
    return ops.square(ops.sin(0.5 * math.pi * fraction))


def window(height: Any, shape: str) -> Any:
    """The cycle's window ``w(x)`` for ``x`` in ``[0, 1]``; ``w(0) = 1``, ``w(1) = 0``.

    triangular: ``max(0, 1 - x)`` (Bartlett, Smith's choice); welch: ``1 - x**2``
    (parabolic); hann: ``(1 + cos(pi * x)) / 2`` (the raised sine). Each is computed
    from ``height = 1 - x`` without cancellation near ``x = 1``.
    """
    if shape == "triangular":
        return ops.maximum(0.0, height)
    if shape == "welch":
        return height * (2.0 - height)
    if shape == "hann":
        return raised_cosine(height)
    raise ValueError(f"Unknown window shape {shape!r}; valid: {WINDOW_SHAPES}.")


def named_scale(mode: str, gamma: float) -> tuple[Callable[[Any], Any], str]:
    """The amplitude scale of a named CLR policy and what it is evaluated on."""
    if mode == "triangular":
        return (lambda cycle: ops.ones_like(cycle)), "cycle"
    if mode == "triangular2":
        return (lambda cycle: ops.power(2.0, 1.0 - cycle)), "cycle"
    if mode == "exp_range":
        # gamma**i as exp(i * log(gamma)) with the log taken in float64: gamma itself
        # rounded to float32 (0.99994 -> 0.9999399781) drifts by 0.1 % at 30k steps.
        log_gamma = math.log(gamma)
        return (lambda iteration: ops.exp(iteration * log_gamma)), "iterations"
    raise ValueError(f"Unknown cyclical mode {mode!r}; valid: {CYCLICAL_MODES}.")


def cyclical(
    step: Any,
    low: float,
    high: float,
    step_size_up: float,
    step_size_down: float,
    shape: str,
    scale_fn: Callable[[Any], Any],
    scale_mode: str,
) -> Any:
    """Smith's cyclical rate: ``low + (high - low) * w(x) * scale``.

    ``scale_fn`` receives the float cycle number (from 1) when ``scale_mode`` is
    ``"cycle"`` and the float global iteration (from 0) when it is
    ``"iterations"``.
    """
    cycle, height = cycle_and_position(step, step_size_up, step_size_down)
    argument = cycle if scale_mode == "cycle" else as_float_step(step)
    scale = ops.cast(scale_fn(argument), "float32")
    return low + (high - low) * window(height, shape) * scale


def linear_warmup(step: Any, warmup_steps: float, start: Any, target: Any) -> Any:
    """Linear ramp from ``start`` at step 0 to ``target`` at ``warmup_steps``."""
    fraction = ops.minimum(as_float_step(step) / warmup_steps, 1.0)
    return start + (target - start) * fraction


def _double_float(values: list[float]) -> tuple[Any, Any]:
    """Float64 numbers as float32 pairs ``high + low`` (``high`` rounded, ``low`` the rest)."""
    high = np.asarray(values, "float32")
    low = (np.asarray(values, "float64") - high).astype("float32")
    return ops.convert_to_tensor(high), ops.convert_to_tensor(low)


def _restart_position(t: Any, restart_steps: float, restart_mult: float, length: float):
    """SGDR's period of the cosine step ``t`` in ``[0, length]``: ``(k, remaining)``.

    ``k`` counts periods from 0, period ``k`` lasting ``restart_steps * restart_mult**k``
    steps; ``remaining`` is the fraction of period ``k`` still ahead of ``t``. Period
    ends are exact sums in float64, kept as float32 pairs, so both the period of a step
    next to a boundary and the few steps left before it are right to float32 precision.
    (Keras' ``CosineDecayRestarts`` finds the period with ``log`` in float32.)
    """
    if restart_mult == 1.0:  # equal periods: exact with ``mod`` for integer steps
        position = ops.mod(t, restart_steps)
        return (t - position) / restart_steps, (restart_steps - position) / restart_steps
    ends, lengths = [], [float(restart_steps)]
    while not ends or ends[-1] < length:  # the periods that start before the end
        ends.append((ends[-1] if ends else 0.0) + lengths[-1])
        lengths.append(lengths[-1] * restart_mult)
    ends_high, ends_low = _double_float(ends)
    # t >= end, as t - high >= low: exact next to a boundary (Sterbenz).
    past_end = ops.expand_dims(t, -1) - ends_high[:-1] >= ends_low[:-1]
    k = ops.sum(ops.cast(past_end, "int32"), axis=-1)
    ahead = (ops.take(ends_high, k) - t) + ops.take(ends_low, k)
    period_length = ops.take(ops.convert_to_tensor(lengths[:-1], "float32"), k)
    return ops.cast(k, "float32"), ahead / period_length


def cosine(
    step: Any,
    initial: float,
    decay_steps: float,
    alpha: float = 0.0,
    warmup_steps: float = 0,
    warmup_start: float = 0.0,
    restart_steps: float | None = None,
    restart_mult: float = 1.0,
    restart_decay: float = 1.0,
) -> Any:
    """Cosine decay ``initial * ((1 - alpha) * (1 + cos(pi * t / T)) / 2 + alpha)``.

    ``decay_steps`` is the whole length, warm-up included: the cosine runs over
    ``t = step - warmup_steps`` in ``[0, T]`` with ``T = decay_steps -
    warmup_steps``, after a linear warm-up from ``warmup_start``. With
    ``restart_steps`` the cosine part restarts (SGDR): periods of
    ``restart_steps * restart_mult**k`` steps whose height above the floor is
    scaled by ``restart_decay**k``. From ``decay_steps`` on, the rate holds at the floor
    ``alpha * initial``.

    The values are Keras' ``CosineDecay`` (one period) and ``CosineDecayRestarts``
    (SGDR) on the shifted step, computed with `raised_cosine` on the steps left in
    the period, so they keep float32 precision up to the last step of every period.
    """
    i = as_float_step(step)
    cosine_length = decay_steps - warmup_steps
    t = ops.clip(i - warmup_steps, 0.0, cosine_length)
    floor = alpha * initial
    if restart_steps is None:
        height, remaining = initial - floor, (cosine_length - t) / cosine_length
    else:
        k, remaining = _restart_position(t, restart_steps, restart_mult, cosine_length)
        height = (initial - floor) * ops.exp(k * math.log(restart_decay))
    decayed = ops.where(i >= decay_steps, floor, floor + height * raised_cosine(remaining))
    if warmup_steps == 0:
        return decayed
    warm = linear_warmup(i, warmup_steps, warmup_start, initial)
    return ops.where(i < warmup_steps, warm, decayed)


def _half_cosine(end: Any, peak: Any, from_end: Any) -> Any:
    """``end`` at ``from_end = 0`` to ``peak`` at ``from_end = 1`` on half a cosine.

    ``from_end`` is the fraction of the way measured from ``end``, so the value there
    is ``end`` plus a small positive term: exact near the low end of a rate, where
    ``peak`` minus a nearly equal term would cancel.
    """
    return end + (peak - end) * raised_cosine(from_end)


def one_cycle(
    step: Any,
    total_steps: float,
    pct_start: float,
    start: float,
    peak: float,
    end: float,
) -> Any:
    """Smith's one-cycle policy with cosine annealing (PyTorch's OneCycleLR phases).

    Phase 1 anneals ``start -> peak`` over steps ``0 .. pct_start*total_steps - 1``;
    phase 2 anneals ``peak -> end`` up to step ``total_steps - 1``. Later steps hold
    the final value (PyTorch raises there).
    """
    i = ops.minimum(as_float_step(step), total_steps - 1.0)
    phase1_end = pct_start * total_steps - 1.0
    phase2_end = total_steps - 1.0
    # Each phase measured from its low end in exact step differences: the fall's last
    # steps are far below its start, where ``1 - fraction`` would have lost their digits.
    rising = _half_cosine(start, peak, i / phase1_end)
    falling = _half_cosine(end, peak, (phase2_end - i) / (phase2_end - phase1_end))
    return ops.where(i <= phase1_end, rising, falling)


def range_test(step: Any, num_steps: int, min_lr: float, max_lr: float, mode: str) -> Any:
    """The LR range test's rate at batch ``step`` (from 0) of ``num_steps`` batches.

    ``linear`` (Smith's): ``min_lr + (max_lr - min_lr) * f``; ``exponential``:
    ``min_lr * (max_lr / min_lr) ** f``, equal steps on a log scale for ranges spanning
    several decades; ``f = step / (num_steps - 1)``. Each half is measured from its own end
    in exact step differences, so the first and last batches get ``min_lr`` and ``max_lr``
    exactly (in float32) and the exponential's exponent never exceeds half the range.

    References:
        - [Smith, 2017. Cyclical Learning Rates for Training Neural Networks](
          https://arxiv.org/abs/1506.01186), section 3.3.
    """
    i = as_float_step(step)
    last = float(max(num_steps - 1, 1))
    from_start, from_end = i / last, (last - i) / last
    first_half = 2.0 * i <= last
    if mode == "linear":
        span = max_lr - min_lr
        return ops.where(first_half, min_lr + span * from_start, max_lr - span * from_end)
    if mode == "exponential":
        log_ratio = math.log(max_lr / min_lr)  # float64: the ratio may span many decades
        return ops.where(first_half, min_lr * ops.exp(from_start * log_ratio),
                         max_lr * ops.exp(-from_end * log_ratio))
    raise ValueError(f"Unknown range-test mode {mode!r}; valid: {RANGE_TEST_MODES}.")
