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

import keras
from keras import ops

CYCLICAL_MODES = ("triangular", "triangular2", "exp_range")
WINDOW_SHAPES = ("triangular", "welch", "hann")
SCALE_MODES = ("cycle", "iterations")


def as_float_step(step: Any) -> Any:
    """Casts an int or float step (Python or tensor) to a float32 tensor."""
    return ops.cast(step, "float32")


def cycle_and_position(step: Any, step_size_up: float, step_size_down: float) -> tuple[Any, Any]:
    """Returns ``(cycle, x)`` for the iteration ``step`` (counted from 0).

    ``cycle`` starts at 1. ``x`` is Smith's ``|i/step_size - 2*cycle + 1|``:
    1 at a cycle minimum and 0 at the maximum. With ``step_size_down`` different
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
    height = ops.where(position <= step_size_up, rising, falling)
    return cycle, 1.0 - height


def window(x: Any, shape: str) -> Any:
    """The cycle's window ``w(x)`` for ``x`` in ``[0, 1]``; ``w(0) = 1``, ``w(1) = 0``.

    triangular: ``max(0, 1 - x)`` (Bartlett, Smith's choice); welch: ``1 - x**2``
    (parabolic); hann: ``(1 + cos(pi * x)) / 2`` (the raised sine).
    """
    if shape == "triangular":
        return ops.maximum(0.0, 1.0 - x)
    if shape == "welch":
        return 1.0 - ops.square(x)
    if shape == "hann":
        return 0.5 * (1.0 + ops.cos(math.pi * x))
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
    cycle, x = cycle_and_position(step, step_size_up, step_size_down)
    argument = cycle if scale_mode == "cycle" else as_float_step(step)
    scale = ops.cast(scale_fn(argument), "float32")
    return low + (high - low) * window(x, shape) * scale


def linear_warmup(step: Any, warmup_steps: float, start: Any, target: Any) -> Any:
    """Linear ramp from ``start`` at step 0 to ``target`` at ``warmup_steps``."""
    fraction = ops.minimum(as_float_step(step) / warmup_steps, 1.0)
    return start + (target - start) * fraction


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

    The cosine part is Keras' own ``CosineDecay`` (one period) and
    ``CosineDecayRestarts`` (SGDR), evaluated on the shifted step.
    """
    i = as_float_step(step)
    cosine_length = decay_steps - warmup_steps
    t = ops.clip(i - warmup_steps, 0.0, cosine_length)
    if restart_steps is None:
        decayed = keras.optimizers.schedules.CosineDecay(initial, cosine_length, alpha=alpha)(t)
    else:
        decayed = keras.optimizers.schedules.CosineDecayRestarts(
            initial, restart_steps, t_mul=restart_mult, m_mul=restart_decay, alpha=alpha
        )(t)
        decayed = ops.where(i >= decay_steps, alpha * initial, decayed)
    if warmup_steps == 0:
        return decayed
    warm = linear_warmup(i, warmup_steps, warmup_start, initial)
    return ops.where(i < warmup_steps, warm, decayed)


def _cosine_anneal(start: Any, end: Any, fraction: Any) -> Any:
    # (1 + cos(pi f)) / 2 written as cos(pi f / 2)**2: no cancellation near f = 1.
    return end + (start - end) * ops.square(ops.cos(0.5 * math.pi * fraction))


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
    rising = _cosine_anneal(start, peak, i / phase1_end)
    falling = _cosine_anneal(peak, end, (i - phase1_end) / (phase2_end - phase1_end))
    return ops.where(i <= phase1_end, rising, falling)
