"""Float64 NumPy references for the learning-rate schedules, from the papers.

Written from the equations (Smith 2017's code listing, equation 17 of source
document 001, SGDR's T_cur/T_i, PyTorch's OneCycleLR phases), one scalar step
at a time with plain Python control flow, never from tf_lropt's code.
"""

from __future__ import annotations

import math


def clr(
    i,
    base_lr,
    max_lr,
    step_size,
    mode="triangular",
    gamma=1.0,
    shape="triangular",
    step_size_down=None,
    scale_fn=None,
    scale_mode="cycle",
):
    """Smith's listing; the asymmetric case follows PyTorch's CyclicLR."""
    if step_size_down is None:
        cycle = math.floor(1 + i / (2 * step_size))
        x = abs(i / step_size - 2 * cycle + 1)
    else:
        total = step_size + step_size_down
        cycle = math.floor(1 + i / total)
        into = i - (cycle - 1) * total
        if into <= step_size:
            x = 1 - into / step_size
        else:
            x = (into - step_size) / step_size_down
    if shape == "triangular":
        w = max(0.0, 1 - x)
    elif shape == "welch":
        w = 1 - x * x
    else:  # hann: sin^2 over the cycle
        w = math.sin(math.pi * (1 - x) / 2) ** 2
    if scale_fn is not None:
        scale = scale_fn(cycle if scale_mode == "cycle" else i)
    elif mode == "triangular":
        scale = 1.0
    elif mode == "triangular2":
        scale = 1 / 2 ** (cycle - 1)
    else:
        scale = gamma**i
    return base_lr + (max_lr - base_lr) * w * scale


def cosine(i, eta, T, alpha=0.0, warmup=0, warmup_start=0.0, restart=None, mult=1.0, decay=1.0):
    """Equation 17 with a floor after a linear warm-up; SGDR restarts on request
    (period k: length restart * mult**k, height above the floor scaled by decay**k)."""
    floor = alpha * eta
    if i < warmup:
        return warmup_start + (eta - warmup_start) * i / warmup
    if i >= T:
        return floor
    t = i - warmup
    if restart is None:
        return floor + (eta - floor) * 0.5 * (1 + math.cos(math.pi * t / (T - warmup)))
    period, height = restart, eta - floor
    while t >= period:
        t -= period
        period *= mult
        height *= decay
    return floor + height * 0.5 * (1 + math.cos(math.pi * t / period))


def one_cycle(i, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    """PyTorch's OneCycleLR (cos, two phases); past the end holds the final rate."""
    initial = max_lr / div_factor
    final = initial / final_div_factor
    i = min(i, total_steps - 1)
    p = pct_start * total_steps - 1

    def anneal(start, end, f):
        return end + (start - end) / 2 * (math.cos(math.pi * f) + 1)

    if i <= p:
        return anneal(initial, max_lr, i / p)
    return anneal(max_lr, final, (i - p) / (total_steps - 1 - p))


def warmup(i, inner, warmup_steps, start):
    if i < warmup_steps:
        return start + (inner(0) - start) * i / warmup_steps
    return inner(i - warmup_steps)
