"""Callback twins: one ``<ScheduleName>Callback`` per schedule, derived from the schedule.

A twin takes exactly the schedule's arguments (by keyword, or positionally in the
schedule's order), builds the schedule with them and drives it with
``ScheduleCallback``, whose own arguments (``cycle_momentum``, ``base_momentum``,
``max_momentum``, ``momentum_schedule``, ``verbose``) follow as keyword-only
arguments. Nothing is restated: the signature shown by ``help()`` and
``inspect.signature`` is the schedule's followed by ``ScheduleCallback``'s, and the
docstring is one template (``_TWIN_DOCSTRING``) whose placeholders take the
schedule's name, its arguments' entries and notes from its docstring, and
``schedule_callback_keyword_args``, the text ``ScheduleCallback``'s own docstring
uses (Keras documents its optimizers' shared arguments the same way). A new schedule
argument reaches its twin without an edit here.

``TWINS`` maps every schedule class to its twin. ``CyclicLR`` and
``CosineAnnealing`` are the familiar names of ``CyclicalLearningRateCallback`` and
``CosineCallback`` (the same class objects).
"""

from __future__ import annotations

import inspect
import re
import textwrap
from typing import Any, ClassVar

from tf_lropt.callbacks.schedule_callback import (
    ScheduleCallback,
    schedule_callback_keyword_args,
)
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
# The schedule's docstring sections a twin repeats after its arguments.
_REPEATED_SECTIONS = ("Argument names", "References")

# Every twin's docstring: the placeholders are filled from the schedule's signature and
# docstring, ``{{schedule_callback_keyword_args}}`` as in ``ScheduleCallback``'s own.
_TWIN_DOCSTRING = """Callback twin of ``tf_lropt.schedules.{{schedule}}``.

    {{summary}}

    Args:
        {{schedule_args}}
        {{schedule_callback_keyword_args}}
{{sections}}
    """
_TWIN_SUMMARY = (
    "Builds ``{{schedule}}({{arguments}})`` from the same arguments and sets the optimizer's "
    "learning rate from it before every batch, at step ``optimizer.iterations``: the rates "
    "are those of the schedule passed to the optimizer itself. The optimizer must be built "
    "with a float learning rate. ``ScheduleCallback`` describes the step counter, "
    "``steps_per_execution`` (warned about), the logged values (recorded by TensorBoard and "
    "CSVLogger whatever the order of the callbacks) and momentum cycling."
)


def _fill(template: str, **values: str) -> str:
    for name, value in values.items():
        template = template.replace("{{" + name + "}}", value)
    return template


def _sections(cls: type) -> dict[str, list[str]]:
    """The Google-style sections (``Args:``, ``References:`` ...) of ``cls``'s own docstring,
    as their indented lines."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in (inspect.getdoc(cls) or "").splitlines():
        if re.fullmatch(r"\w[\w ]*:", line):
            current = sections.setdefault(line[:-1], [])
        elif line and not line.startswith(" "):
            current = None
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines).rstrip().splitlines() for name, lines in sections.items()}


def _argument_entries(cls: type) -> dict[str, list[str]]:
    """Each argument's lines in the ``Args`` of ``cls``, or else of the nearest base."""
    entries: dict[str, list[str]] = {}
    for klass in cls.__mro__:
        own: dict[str, list[str]] = {}
        lines: list[str] | None = None
        for line in _sections(klass).get("Args", []):
            if re.match(r"    \w+:", line):  # an entry; its continuation is indented deeper
                lines = own.setdefault(line.split(":")[0].strip(), [])
            if lines is not None and line.strip():
                lines.append(line)
        for name, lines_of_name in own.items():
            entries.setdefault(name, lines_of_name)
    return entries


def _section(cls: type, name: str) -> list[str]:
    """Section ``name`` of the first docstring in ``cls``'s MRO that has it."""
    return next((lines for klass in cls.__mro__ if (lines := _sections(klass).get(name))), [])


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
    """``_TWIN_DOCSTRING`` filled for ``schedule_class``."""
    parameters = _schedule_parameters(schedule_class)
    entries = _argument_entries(schedule_class)
    arguments: list[str] = []
    for parameter in parameters:
        if parameter.name not in entries:
            raise TypeError(
                f"{schedule_class.__name__}'s docstring does not document argument "
                f"`{parameter.name}`, so {twin.__name__} cannot list it."
            )
        arguments += entries[parameter.name]
    sections: list[str] = []
    for name in _REPEATED_SECTIONS:
        lines = _section(schedule_class, name)
        if lines:
            sections += ["", f"{name}:", *lines]
    schedule = schedule_class.__name__
    summary = _fill(_TWIN_SUMMARY, schedule=schedule,
                    arguments=", ".join(p.name for p in parameters))
    return _fill(
        _TWIN_DOCSTRING,
        schedule=schedule,
        summary=textwrap.fill(summary, width=84, initial_indent="    ",
                              subsequent_indent="    ", break_on_hyphens=False).lstrip(),
        schedule_args=textwrap.indent("\n".join(arguments), "    ").lstrip(),
        schedule_callback_keyword_args=schedule_callback_keyword_args,
        sections=textwrap.indent("\n".join(sections), "    "),
    )


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
