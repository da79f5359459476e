"""The explorer's search settings, checked: what a search directory is bound to.

``SearchSettings.checked`` raises ``ValueError`` naming the argument, its value
and the valid range for anything wrong, before any training starts.
``as_config()`` is what the Oracle stores in KerasTuner's ``oracle.json`` and
compares on a reload, so a directory never mixes two searches.

References:
    - Fujiwara, T. (2023). A program development: anyone can obtain a good
      validation result by this Learning Rate Explorer. (table 2)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from tf_lropt._validation import check_choice, check_int, check_positive
from tf_lropt.search import _common
from tf_lropt.search.candidates import SearchPoint, rate_key, search_point, to_decimal
from tf_lropt.search.stopping import EARLY_STOPPING_RULES

__all__ = ["SearchSettings", "search_point_of"]


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    """What defines one digit-by-digit search (see ``LRExplorer`` for each field)."""

    objective: str
    direction: str
    coarse_lrs: tuple[Decimal, ...]
    epochs_per_trial: int
    top_k: int
    digits: int
    refine_offsets: tuple[int, ...]
    seed: int | None
    early_stopping: str | None = None
    early_stopping_grace: int = 1
    early_stopping_min_trials: int = 3

    @classmethod
    def checked(cls, objective: str, direction: str, coarse_lrs: Sequence[float],
                epochs_per_trial: int, top_k: int, digits: int, refine_offsets: Iterable[int],
                seed: int | None, early_stopping: str | None, early_stopping_grace: int,
                early_stopping_min_trials: int, has_val_data: bool) -> SearchSettings:
        coarse = list(coarse_lrs) if coarse_lrs is not None else []
        if not coarse:
            raise ValueError(f"Argument `coarse_lrs` must not be empty; received {coarse_lrs!r}.")
        for i, rate in enumerate(coarse):
            check_positive(f"coarse_lrs[{i}]", rate)
        offsets = list(refine_offsets)
        if not offsets:
            raise ValueError(
                f"Argument `refine_offsets` must not be empty; received {refine_offsets!r}.")
        for i, n in enumerate(offsets):
            check_int(f"refine_offsets[{i}]", n)
        if not isinstance(objective, str) or not objective:
            raise ValueError(f"Argument `objective` must be a metric name; received {objective!r}.")
        if objective.startswith("val_") and not has_val_data:
            raise ValueError(
                f"Argument `objective`={objective!r} is a validation metric, but `val_data` is "
                "None; pass val_data or a training objective.")
        return cls(
            objective=objective,
            direction=_common.resolve_direction(objective, direction),
            coarse_lrs=tuple(to_decimal(r).normalize() for r in coarse),
            epochs_per_trial=check_int("epochs_per_trial", epochs_per_trial, low=1),
            top_k=check_int("top_k", top_k, low=1),
            digits=check_int("digits", digits, low=1),
            refine_offsets=tuple(offsets),
            seed=seed,
            early_stopping=check_choice("early_stopping", early_stopping,
                                        (None, *EARLY_STOPPING_RULES)),
            early_stopping_grace=check_int("early_stopping_grace", early_stopping_grace, low=1),
            early_stopping_min_trials=check_int("early_stopping_min_trials",
                                                early_stopping_min_trials, low=1),
        )

    def as_config(self) -> dict[str, Any]:
        """The stored configuration (JSON types); early stopping only when it is on."""
        config = {
            "objective": self.objective,
            "direction": self.direction,
            "coarse_lrs": [rate_key(r) for r in self.coarse_lrs],
            "epochs_per_trial": self.epochs_per_trial,
            "top_k": self.top_k,
            "digits": self.digits,
            "refine_offsets": list(self.refine_offsets),
            "seed": self.seed,
        }
        if self.early_stopping is not None:  # absent by default: older directories still match
            config.update(early_stopping=self.early_stopping,
                          early_stopping_grace=self.early_stopping_grace,
                          early_stopping_min_trials=self.early_stopping_min_trials)
        return config

    def worst_case_trials(self) -> int:
        """Trials without any de-duplication: coarse + (digits-1) * top_k * offsets."""
        refined = (self.digits - 1) * self.top_k * len(self.refine_offsets)
        return len(set(self.coarse_lrs)) + refined

    def worst_case_epochs(self) -> int:
        """Exploration epochs in the worst case (the paper's setting: 3,500)."""
        return self.worst_case_trials() * self.epochs_per_trial


def search_point_of(config: Mapping[str, Any], scores: Mapping[str, float]) -> SearchPoint:
    """Where the search of ``config`` (``SearchSettings.as_config()``) stands on ``scores``
    (rate key -> score): :func:`tf_lropt.search.candidates.search_point`."""
    return search_point(config["coarse_lrs"], config["digits"], config["top_k"],
                        config["refine_offsets"], config["direction"], scores)
