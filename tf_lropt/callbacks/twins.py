"""Callback twins: one ``<ScheduleName>Callback`` per schedule, derived from the schedule.

A twin takes exactly the schedule's arguments (by keyword, or positionally in the
schedule's order), builds the schedule with them and drives it with
``ScheduleCallback``, whose own arguments (``cycle_momentum``, ``base_momentum``,
``max_momentum``, ``momentum_schedule``, ``verbose``) follow as keyword-only
arguments. Nothing is restated: the signature shown by ``help()`` and
``inspect.signature`` and the "Args" of the docstring are generated from the
schedule's signature and docstring and from ``ScheduleCallback``'s, so a new
schedule argument reaches its twin without an edit here.

``TWINS`` maps every schedule class to its twin. ``CyclicLR`` and
``CosineAnnealing`` are the familiar names of ``CyclicalLearningRateCallback`` and
``CosineCallback`` (the same class objects).
"""

from __future__ import annotations

import inspect
import re
import textwrap
from typing import Any, ClassVar

from tf_lropt.callbacks.schedule_callback import ScheduleCallback
from tf_lropt.schedules import (
    Cosine,
    CyclicalLearningRate,
    ExpRange,
    OneCycle,
    Triangular,
    Triangular2,
    Warmup,
)

# Schedule class -> its callback twin, filled in as each twin class is defined.
TWINS: dict[type, type[ScheduleTwin]] = {}

# Schedule arguments a callback has no use for (the schedule's display name).
_HIDDEN_SCHEDULE_ARGUMENTS = ("self", "name")
_SECTION = re.compile(r"^(\w[\w ]*):\s*$")
_ENTRY = re.compile(r"^    (\w+(?:, \w+)*):")


def _sections(cls: type) -> dict[str, list[str]]:
    """The docstring's Google-style sections (``Args``, ``References``, ...), as lines."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in (inspect.getdoc(cls) or "").splitlines():
        header = _SECTION.match(line)
        if header:
            current = sections.setdefault(header.group(1), [])
        elif current is not None:
            if line and not line.startswith(" "):
                current = None
            else:
                current.append(line)
    return {name: _strip(lines) for name, lines in sections.items()}


def _strip(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _argument_docs(cls: type) -> dict[str, list[str]]:
    """Each documented argument's lines from ``cls``'s docstring, then its bases'."""
    documented: dict[str, list[str]] = {}
    for klass in cls.__mro__:
        current: list[str] | None = None
        for line in _sections(klass).get("Args", []):
            entry = _ENTRY.match(line)
            if entry:
                current = [line]
                for name in entry.group(1).split(", "):
                    documented.setdefault(name, current)
            elif current is not None and line.strip():
                current.append(line)
    return documented


def _section(cls: type, name: str) -> list[str]:
    for klass in cls.__mro__:
        lines = _sections(klass).get(name)
        if lines:
            return lines
    return []


def _callback_parameters() -> list[inspect.Parameter]:
    parameters = list(inspect.signature(ScheduleCallback.__init__).parameters.values())
    return [
        parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for parameter in parameters
        if parameter.name not in ("self", "schedule")
    ]


CALLBACK_ARGUMENTS = tuple(parameter.name for parameter in _callback_parameters())


def _schedule_parameters(schedule_class: type) -> list[inspect.Parameter]:
    parameters = inspect.signature(schedule_class.__init__).parameters.values()
    return [p for p in parameters if p.name not in _HIDDEN_SCHEDULE_ARGUMENTS]


def _twin_docstring(twin: type, schedule_class: type) -> str:
    schedule_parameters = _schedule_parameters(schedule_class)
    schedule_docs = _argument_docs(schedule_class)
    callback_docs = _argument_docs(ScheduleCallback)
    arguments: list[str] = []
    for parameters, docs, owner in (
        (schedule_parameters, schedule_docs, schedule_class),
        (_callback_parameters(), callback_docs, ScheduleCallback),
    ):
        for parameter in parameters:
            lines = docs.get(parameter.name)
            if lines is None:
                raise TypeError(
                    f"{owner.__name__}'s docstring does not document argument "
                    f"`{parameter.name}`, so {twin.__name__} cannot list it."
                )
            if lines[0].startswith(f"    {parameter.name}:"):
                arguments.extend(lines)
            else:  # a shared entry such as "beta_1, beta_2: ..."
                arguments.append(f"    {parameter.name}: see {lines[0].strip()}")
    names = ", ".join(p.name for p in schedule_parameters)
    summary = (
        f"Builds ``{schedule_class.__name__}({names})`` from the same arguments and sets "
        "the optimizer's learning rate from it before every batch, at step "
        "``optimizer.iterations``: the rates are those of the schedule passed to the "
        "optimizer itself. The optimizer must be built with a float learning rate. "
        "``ScheduleCallback`` describes the step counter, ``steps_per_execution`` (warned "
        "about), the logged values (recorded by TensorBoard and CSVLogger whatever the "
        "order of the callbacks) and momentum cycling."
    )
    parts = [
        f"Callback twin of ``tf_lropt.schedules.{schedule_class.__name__}``.",
        "",
        textwrap.fill(summary, width=80, break_on_hyphens=False),
        "",
        "Args:",
        *arguments,
    ]
    for name in ("Argument names", "References"):
        lines = _section(schedule_class, name)
        if lines:
            parts += ["", f"{name}:", *lines]
    return "\n".join(parts) + "\n"


class ScheduleTwin(ScheduleCallback):
    """Base of the callback twins: builds ``schedule_class`` from the arguments it gets.

    A subclass only names its schedule::

        class OneCycleCallback(ScheduleTwin):
            schedule_class = OneCycle

    and receives the schedule's signature, its argument documentation and a place
    in ``TWINS``. Positional arguments and every keyword but ``ScheduleCallback``'s
    own go to the schedule.
    """

    schedule_class: ClassVar[type]

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        schedule_class = cls.__dict__.get("schedule_class")
        if schedule_class is None:
            if "__init__" in cls.__dict__:  # its own arguments: let inspect read them
                cls.__signature__ = None
            return
        cls.__signature__ = inspect.Signature(
            _schedule_parameters(schedule_class) + _callback_parameters()
        )
        cls.__doc__ = _twin_docstring(cls, schedule_class)
        TWINS[schedule_class] = cls

    def __init__(self, *args: Any, **kwargs: Any):
        callback_kwargs = {name: kwargs.pop(name) for name in CALLBACK_ARGUMENTS if name in kwargs}
        super().__init__(self.schedule_class(*args, **kwargs), **callback_kwargs)


class CyclicalLearningRateCallback(ScheduleTwin):
    schedule_class = CyclicalLearningRate


class TriangularCallback(ScheduleTwin):
    schedule_class = Triangular


class Triangular2Callback(ScheduleTwin):
    schedule_class = Triangular2


class ExpRangeCallback(ScheduleTwin):
    schedule_class = ExpRange


class CosineCallback(ScheduleTwin):
    schedule_class = Cosine


class OneCycleCallback(ScheduleTwin):
    schedule_class = OneCycle


class WarmupCallback(ScheduleTwin):
    schedule_class = Warmup


# The familiar names (Keras/Kaggle and PyTorch users): the same class objects.
CyclicLR = CyclicalLearningRateCallback
CosineAnnealing = CosineCallback
