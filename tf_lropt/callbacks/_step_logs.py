"""Put values into every batch's logs whatever the callbacks' order, and warn about grouped steps.

Keras passes one ``logs`` dict per batch to the callbacks in the order they were
listed, so a value a callback writes in ``on_train_batch_end`` is missing for the
callbacks listed before it (``keras.callbacks.TensorBoard``, ``CSVLogger``). The
callbacks here instead wrap ``model.train_function`` for the duration of ``fit``:
the wrapper adds the values to the logs the train step returns, before any
callback sees them, and the epoch logs (taken from the last batch's logs) carry
them too. The wrapper is installed lazily before every batch (another callback's
``on_train_begin`` may rebuild the train function) and removed at ``on_train_end``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

_OWNER = "_tf_lropt_step_logs_owner"
_INNER = "_tf_lropt_step_logs_inner"


def _with_values(result: Any, values: dict[str, float]) -> Any:
    if isinstance(result, tuple):  # the JAX trainer returns (logs, state)
        logs, *rest = result
        return ({**logs, **values}, *rest)
    if isinstance(result, dict):
        return {**result, **values}
    return result


def install(model: Any, owner: Any, values: Callable[[], dict[str, float]]) -> None:
    """Makes ``model.train_function`` return ``values()`` in its logs (idempotent)."""
    function = getattr(model, "train_function", None)
    if function is None:
        return
    link = function
    while link is not None:
        if getattr(link, _OWNER, None) is owner:
            return
        link = getattr(link, _INNER, None)

    def train_function(*args: Any, **kwargs: Any) -> Any:
        return _with_values(getattr(train_function, _INNER)(*args, **kwargs), values())

    setattr(train_function, _OWNER, owner)
    setattr(train_function, _INNER, function)
    model.train_function = train_function


def remove(model: Any, owner: Any) -> None:
    """Unlinks ``owner``'s wrapper from ``model.train_function``, wherever it sits."""
    parent, link = None, getattr(model, "train_function", None)
    while link is not None:
        inner = getattr(link, _INNER, None)
        if getattr(link, _OWNER, None) is owner:
            if parent is None:
                model.train_function = inner
            else:
                setattr(parent, _INNER, inner)
            return
        parent, link = link, inner


def warn_steps_per_execution(model: Any, callback: str, what: str) -> None:
    """Warns that batch hooks run once per ``steps_per_execution`` steps."""
    steps = getattr(model, "steps_per_execution", 1) or 1
    if steps > 1:
        warnings.warn(
            f"{callback} sets the {what} in on_train_batch_begin, but the model was compiled "
            f"with steps_per_execution={steps}: Keras calls the batch hooks once per {steps} "
            f"steps, so the {what} changes only every {steps} steps (a cycle shorter than that "
            "is skipped). Compile with steps_per_execution=1, or pass the schedule to the "
            "optimizer itself.",
            UserWarning,
            stacklevel=2,
        )
