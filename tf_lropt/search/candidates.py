"""The explorer's candidate rates: exact decimals, one significant digit at a time.

Written once for both engines: ``LRExplorer``'s own loop and the KerasTuner
Oracle replay the same function on the same finished scores, so they ask for
the same rates in the same order and find the same winners.

References:
    - Fujiwara, T. (2023). A program development: anyone can obtain a good
      validation result by this Learning Rate Explorer. (tables 2-4)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from tf_lropt.search._common import rank_key

PAPER_COARSE_LRS = (0.009, 0.008, 0.007, 0.006, 0.005, 0.004, 0.003, 0.002, 0.001)
PAPER_REFINE_OFFSETS = tuple(range(4, -11, -1))


def to_decimal(rate: float | str | Decimal) -> Decimal:
    """The decimal a rate is written as (0.003 -> Decimal("0.003"), not its binary value)."""
    # repr gives the shortest string that round-trips, so 0.003 is Decimal("0.003").
    return rate if isinstance(rate, Decimal) else Decimal(repr(rate) if isinstance(rate, float)
                                                          else str(rate))


def rate_key(rate: float | str | Decimal) -> str:
    """A rate's name in stores and tables: plain decimal notation, no trailing zeros."""
    return format(to_decimal(rate).normalize(), "f")


def rate_quantum(rate: float | str | Decimal) -> Decimal:
    """Place value of the last significant digit of ``rate`` (0.003 -> 0.001, 0.0025 -> 0.0001)."""
    exponent = to_decimal(rate).normalize().as_tuple().exponent
    return Decimal(1).scaleb(exponent)


def refine_rates(
    parents: Iterable[tuple[float | str | Decimal, float | str | Decimal]],
    offsets: Iterable[int] = PAPER_REFINE_OFFSETS,
    exclude: Iterable[float | str | Decimal] = (),
) -> list[Decimal]:
    """Candidates one digit finer than each ``(rate, quantum)`` parent.

    Each parent gives ``rate + n * quantum / 10`` for ``n`` in ``offsets``, exact in
    decimal. Non-positive rates, duplicates and rates in ``exclude`` are dropped;
    the rest is returned in descending order.
    """
    excluded = {to_decimal(r).normalize() for r in exclude}
    offsets = list(offsets)
    found: set[Decimal] = set()
    for rate, quantum in parents:
        step = to_decimal(quantum) / 10
        for n in offsets:
            candidate = (to_decimal(rate) + n * step).quantize(step)
            if candidate > 0 and candidate.normalize() not in excluded:
                found.add(candidate.normalize())
    return sorted(found, reverse=True)


@dataclasses.dataclass(frozen=True)
class SearchPoint:
    """Where a digit-by-digit search stands, given the scores finished so far.

    Attributes:
        digit: the digit being searched (1 = the coarse list); ``digits`` when complete.
        candidates: that digit's ``(rate, quantum)`` list in training order (descending);
            the quantum is the place of the digit searched, so a parent that wins again
            is refined one digit further.
        missing: the candidates of ``digit`` without a score yet, in training order.
        winners: rate keys of the best ``top_k`` of the last digit, best first, once
            ``complete``; else empty.
        complete: every digit has all its scores.
    """

    digit: int
    candidates: list[tuple[Decimal, Decimal]]
    missing: list[tuple[Decimal, Decimal]]
    winners: list[str]
    complete: bool


def rank(keys: Iterable[str], scores: Mapping[str, float], direction: str) -> list[str]:
    """Rate keys best score first (ties: higher rate first; non-finite scores last)."""
    return sorted(keys, key=lambda key: rank_key(scores[key], float(key), direction))


def search_point(
    coarse: Sequence[float | str | Decimal],
    digits: int,
    top_k: int,
    offsets: Sequence[int],
    direction: str,
    scores: Mapping[str, float],
) -> SearchPoint:
    """Replays the search on ``scores`` (rate key -> score): a deterministic function.

    Digit 1 is the coarse list. The ``top_k`` best of a digit's whole list (rates
    already scored elsewhere reuse their score) are refined into the next digit's
    list, each new rate taking the finer quantum of its parent.
    """
    candidates = [(to_decimal(r).normalize(), rate_quantum(r))
                  for r in sorted({to_decimal(r).normalize() for r in coarse}, reverse=True)]
    for digit in range(1, digits + 1):
        missing = [c for c in candidates if rate_key(c[0]) not in scores]
        if missing:
            return SearchPoint(digit, candidates, missing, [], False)
        quantum_of = {rate_key(rate): quantum for rate, quantum in candidates}
        winners = rank(quantum_of, scores, direction)[:top_k]
        if digit < digits:
            finer: dict[Decimal, Decimal] = {}
            for key in winners:
                for rate in refine_rates([(Decimal(key), quantum_of[key])], offsets):
                    finer.setdefault(rate, quantum_of[key] / 10)
            candidates = sorted(finer.items(), reverse=True)
    return SearchPoint(digits, candidates, [], winners, True)
