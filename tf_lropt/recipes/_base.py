"""What every recipe shares: the run's length in optimizer steps and the printed summary."""

from __future__ import annotations

import math
from typing import Any

from tf_lropt import _validation as v


def steps_per_epoch_of(
    steps_per_epoch: int | None, num_examples: int | None, batch_size: int | None
) -> int:
    """``steps_per_epoch`` as given, or ``ceil(num_examples / batch_size)`` (what ``fit`` runs
    on arrays); exactly one of the two forms must be given."""
    if steps_per_epoch is not None:
        if num_examples is not None:
            raise ValueError(
                "Pass either `steps_per_epoch` or `num_examples` with `batch_size`, not both; "
                f"received steps_per_epoch={steps_per_epoch!r}, num_examples={num_examples!r}."
            )
        return v.check_int("steps_per_epoch", steps_per_epoch, 1)
    if num_examples is None or batch_size is None:
        raise ValueError(
            "Pass `steps_per_epoch`, or `num_examples` and `batch_size`; received "
            f"steps_per_epoch=None, num_examples={num_examples!r}, batch_size={batch_size!r}."
        )
    num_examples = v.check_int("num_examples", num_examples, 1)
    batch_size = v.check_int("batch_size", batch_size, 1)
    return math.ceil(num_examples / batch_size)


class Recipe:
    """Base of the recipes: ``describe()`` says what the recipe chose, ``summary()`` prints it."""

    def describe(self) -> dict[str, Any]:
        """What this recipe chose, as a dict of numbers and strings."""
        raise NotImplementedError

    def summary(self, print_fn=print) -> dict[str, Any]:
        """Prints :meth:`describe` one choice a line and returns the dict."""
        described = self.describe()
        width = max(len(key) for key in described)
        print_fn(type(self).__name__)
        for key, value in described.items():
            shown = f"{value:.6g}" if isinstance(value, float) else value
            print_fn(f"  {key:<{width}}  {shown}")
        return described

    def __repr__(self) -> str:
        choices = ", ".join(f"{k}={val!r}" for k, val in self.describe().items())
        return f"{type(self).__name__}({choices})"
