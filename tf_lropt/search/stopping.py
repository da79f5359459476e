"""Stopping a hopeless explorer trial early: the median-stopping rule inside a digit.

Beyond the paper, whose every trial trains all its epochs. At the end of epoch
``e`` (after ``grace_epochs`` epochs, and never at the trial's last epoch, which
ends it anyway) a trial stops when its best objective so far is worse than the
median of the reference trials' best objectives up to their epoch ``e``. The
reference trials are the finished trials of the same digit that trained at least
``e`` epochs (so the ones stopped before ``e`` do not count), and the rule waits
until there are ``min_trials`` of them. A stopped trial keeps its best score and
is ranked with it, like any other.

Both engines train a digit's trials in the same order, so the references, hence
the stops and the results, are the same; with parallel workers a trial is
compared with the trials of its digit finished when it starts, which depends on
timing.

References:
    - Golovin, D. et al. (2017). Google Vizier: a service for black-box
      optimization. KDD. (the median stopping rule, section 3.2.2)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import keras

from tf_lropt.search._common import best_of, better

__all__ = ["EARLY_STOPPING_RULES", "MedianStopping", "median_rule_stops"]

EARLY_STOPPING_RULES = ("median",)


def median_rule_stops(curve: Sequence[float], references: Sequence[Sequence[float]],
                      direction: str, grace_epochs: int = 1, min_trials: int = 3) -> bool:
    """Whether a trial whose objective so far is ``curve`` (one value per epoch) stops now.

    ``references`` are the curves of the finished trials of the same digit. A
    non-finite best counts as the worst value: a diverged trial stops once the
    median is finite, and diverged references pull the median toward not stopping.
    """
    epoch = len(curve)
    if epoch <= grace_epochs:
        return False
    worst = math.inf if direction == "min" else -math.inf
    at_epoch = []
    for reference in references:
        if len(reference) >= epoch:
            best = best_of(list(reference[:epoch]), direction)[0]
            at_epoch.append(best if math.isfinite(best) else worst)
    if len(at_epoch) < min_trials:
        return False
    return better(statistics.median(at_epoch), best_of(list(curve), direction)[0], direction)


class MedianStopping(keras.callbacks.Callback):
    """Stops training by :func:`median_rule_stops` on ``objective``; ``stopped`` says if it did.

    Args:
        objective: the name of the logged objective.
        references: the curves of the finished trials of the same digit.
        direction: ``"min"`` or ``"max"``.
        epochs: the trial's length; the rule is not applied at its last epoch.
        grace_epochs, min_trials: see :func:`median_rule_stops`.
    """

    def __init__(self, objective: str, references: Sequence[Sequence[float]], direction: str,
                 epochs: int, grace_epochs: int, min_trials: int) -> None:
        super().__init__()
        self.objective, self.references, self.direction = objective, references, direction
        self.epochs, self.grace_epochs, self.min_trials = epochs, grace_epochs, min_trials
        self.curve: list[float] = []
        self.stopped = False

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        value = (logs or {}).get(self.objective)
        self.curve.append(math.nan if value is None else float(value))
        if len(self.curve) < self.epochs and median_rule_stops(
                self.curve, self.references, self.direction, self.grace_epochs, self.min_trials):
            self.stopped = True
            self.model.stop_training = True
