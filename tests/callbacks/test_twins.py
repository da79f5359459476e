"""The callback twins are derived from their schedules, so the two cannot drift apart."""

import csv
import inspect
import pydoc
import textwrap
import warnings

import keras
import numpy as np
import pytest

import tf_lropt.callbacks as callbacks_module
import tf_lropt.schedules as schedules_module
from tests.callbacks.probe import probe_data, probe_model
from tf_lropt.callbacks import (
    DEFAULT_BASE_MOMENTUM,
    DEFAULT_MAX_MOMENTUM,
    TWINS,
    CosineAnnealing,
    CosineCallback,
    CyclicalLearningRateCallback,
    CyclicLR,
    OneCycleCallback,
    ScheduleCallback,
    ScheduleTwin,
    WarmupCallback,
    WeightDecayScheduler,
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

SCHEDULES = [
    getattr(schedules_module, name)
    for name in schedules_module.__all__
    if isinstance(getattr(schedules_module, name), type)
    and issubclass(getattr(schedules_module, name), keras.optimizers.schedules.LearningRateSchedule)
]

# Keyword arguments that build each schedule (and, unchanged, its twin).
ARGUMENTS = {
    CyclicalLearningRate: dict(base_lr=0.01, max_lr=0.05, step_size=2, mode="triangular2",
                               shape="welch", step_size_down=3),
    Triangular: dict(base_lr=0.01, max_lr=0.05, step_size=2),
    Triangular2: dict(base_lr=0.01, max_lr=0.05, step_size=2),
    ExpRange: dict(base_lr=0.01, max_lr=0.05, step_size=2, gamma=0.9),
    Cosine: dict(initial_learning_rate=0.1, decay_steps=8, alpha=0.1, warmup_steps=2,
                 warmup_start_lr=0.01, restart_steps=3),
    OneCycle: dict(max_lr=0.1, total_steps=8, pct_start=0.4, div_factor=10.0),
    Warmup: dict(schedule=Cosine(0.1, 6), warmup_steps=2, start_lr=0.01),
}


def fit(model, callbacks, num_batches, epochs=1):
    x, y = probe_data(num_batches)
    return model.fit(x, y, batch_size=2, epochs=epochs, verbose=0, callbacks=callbacks)


def schedule_rates(schedule, steps):
    return np.asarray([float(schedule(int(i))) for i in steps])


@pytest.mark.backend_agnostic
def test_every_schedule_has_a_twin_named_after_it():
    assert set(TWINS) == set(SCHEDULES) == set(ARGUMENTS)
    for schedule_class, twin in TWINS.items():
        assert twin.__name__ == f"{schedule_class.__name__}Callback"
        assert getattr(callbacks_module, twin.__name__) is twin
        assert twin.__name__ in callbacks_module.__all__
        assert issubclass(twin, ScheduleCallback) and twin.schedule_class is schedule_class


@pytest.mark.backend_agnostic
def test_familiar_names_are_aliases():
    assert CyclicLR is CyclicalLearningRateCallback
    assert CosineAnnealing is CosineCallback


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("schedule_class", SCHEDULES, ids=lambda c: c.__name__)
def test_twin_signature_is_the_schedule_signature_then_the_callback_arguments(schedule_class):
    twin = TWINS[schedule_class]
    schedule_parameters = [
        p for name, p in inspect.signature(schedule_class).parameters.items() if name != "name"
    ]
    callback_parameters = list(inspect.signature(ScheduleCallback).parameters.values())[1:]
    got = list(inspect.signature(twin).parameters.values())
    assert got[: len(schedule_parameters)] == schedule_parameters
    tail = got[len(schedule_parameters):]
    assert [(p.name, p.default) for p in tail] == [
        (p.name, p.default) for p in callback_parameters
    ]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in tail)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("schedule_class", SCHEDULES, ids=lambda c: c.__name__)
def test_help_lists_every_argument(schedule_class):
    twin = TWINS[schedule_class]
    text = pydoc.render_doc(twin, renderer=pydoc.plaintext)
    for name in inspect.signature(twin).parameters:
        assert f"{name}:" in twin.__doc__, name
        assert f"{name}=" in text or f"{name}:" in text, name
    assert "Args:" in text and schedule_class.__name__ in text


@pytest.mark.backend_agnostic
def test_docstrings_come_from_one_template_with_the_shared_arguments():
    from tf_lropt.callbacks.schedule_callback import schedule_callback_keyword_args

    shared = inspect.cleandoc("        " + schedule_callback_keyword_args)
    names = [line.split(":")[0] for line in shared.splitlines()]
    assert names == list(inspect.signature(ScheduleCallback).parameters)[1:]
    for documented in (ScheduleCallback, *TWINS.values()):
        text = inspect.getdoc(documented)
        assert "{{" not in text and "}}" not in text, documented.__name__
        assert "\n" + textwrap.indent(shared, "    ") + "\n" in text, documented.__name__
    # The schedule's own entries and notes, as the schedule's docstring words them.
    cosine = inspect.getdoc(CosineCallback)
    assert cosine.startswith("Callback twin of ``tf_lropt.schedules.Cosine``.\n\nBuilds ``Cosine(")
    assert "    restart_decay: peak factor per restart, in ``(0, 1]``.\n" in cosine
    assert "\nArgument names:\n    ``warmup_start_lr`` here and ``Warmup``'s" in cosine
    assert "name:" not in cosine.replace("Argument names:", "")  # the schedule's display name


@pytest.mark.backend_agnostic
def test_momentum_defaults_are_the_same_everywhere():
    assert (DEFAULT_BASE_MOMENTUM, DEFAULT_MAX_MOMENTUM) == (0.85, 0.95)
    for callback_class in (ScheduleCallback, *TWINS.values()):
        parameters = inspect.signature(callback_class).parameters
        assert parameters["base_momentum"].default == DEFAULT_BASE_MOMENTUM
        assert parameters["max_momentum"].default == DEFAULT_MAX_MOMENTUM
    callback = CyclicLR(0.01, 0.05, 2, cycle_momentum=True)
    assert (callback.base_momentum, callback.max_momentum) == (0.85, 0.95)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("schedule_class", SCHEDULES, ids=lambda c: c.__name__)
def test_twin_builds_the_schedule_from_keywords_and_positions(schedule_class):
    kwargs = ARGUMENTS[schedule_class]
    want = schedule_class(**kwargs).get_config()
    by_keyword = TWINS[schedule_class](**kwargs, verbose=1)
    assert by_keyword.schedule.get_config() == want
    assert by_keyword.verbose == 1
    names = [name for name in inspect.signature(schedule_class).parameters if name != "name"]
    last = max(names.index(name) for name in kwargs)
    positional = [kwargs.get(name, inspect.signature(schedule_class).parameters[name].default)
                  for name in names[: last + 1]]
    by_position = TWINS[schedule_class](*positional)
    assert by_position.schedule.get_config() == want
    with pytest.raises(TypeError, match="no_such_argument"):
        TWINS[schedule_class](**kwargs, no_such_argument=1)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("twin", [OneCycleCallback, WarmupCallback], ids=lambda c: c.__name__)
def test_new_twins_drive_the_rate(twin):
    callback = twin(**ARGUMENTS[twin.schedule_class])
    fit(probe_model(keras.optimizers.SGD(0.0)), [callback], 8)
    want = schedule_rates(twin.schedule_class(**ARGUMENTS[twin.schedule_class]), range(8))
    np.testing.assert_allclose(callback.history["learning_rate"], want, rtol=1e-6)


def test_one_cycle_twin_cycles_momentum_with_the_shared_defaults():
    callback = OneCycleCallback(max_lr=0.1, total_steps=8, pct_start=0.375, cycle_momentum=True)
    fit(probe_model(keras.optimizers.SGD(0.0, momentum=0.9)), [callback], 8)
    momenta = callback.history["momentum"]
    assert momenta[0] == pytest.approx(0.95, rel=1e-6)
    assert min(momenta) == pytest.approx(0.85, rel=1e-6)  # at the peak rate, step 2


@pytest.mark.backend_agnostic
def test_a_new_schedule_argument_reaches_the_twin_without_an_edit():
    class Scaled(Triangular):
        """Triangular times a factor.

        Args:
            factor: multiplies the rate.
        """

        def __init__(self, base_lr, max_lr, step_size, factor=1.0):
            super().__init__(base_lr, max_lr, step_size)
            self.factor = factor

        def __call__(self, step):
            return self.factor * super().__call__(step)

    class ScaledCallback(ScheduleTwin):
        schedule_class = Scaled

    try:
        assert "factor" in inspect.signature(ScaledCallback).parameters
        assert "factor: multiplies the rate." in ScaledCallback.__doc__
        assert "base_lr: lower bound of the rate" in ScaledCallback.__doc__  # from a base
        assert ScaledCallback(0.1, 0.5, 2, factor=3.0).schedule.factor == 3.0
    finally:
        TWINS.pop(Scaled)

    class Custom(CyclicLR):  # a user's subclass with its own arguments keeps its signature
        def __init__(self, width, **kwargs):
            super().__init__(0.1, 0.1 + width, 2, **kwargs)

    assert list(inspect.signature(Custom).parameters) == ["width", "kwargs"]
    assert Custom(0.4, verbose=1).schedule.max_lr == pytest.approx(0.5)

    class Undocumented(Triangular):
        def __init__(self, base_lr, max_lr, step_size, secret=0):
            super().__init__(base_lr, max_lr, step_size)

    with pytest.raises(TypeError, match="`secret`"):
        type("UndocumentedCallback", (ScheduleTwin,), {"schedule_class": Undocumented})
    TWINS.pop(Undocumented, None)


def test_steps_per_execution_warns():
    model = probe_model(keras.optimizers.SGD(0.0), steps_per_execution=4)
    with pytest.warns(UserWarning, match="steps_per_execution=4.*only every 4 steps"):
        fit(model, [CyclicLR(0.01, 0.05, 2)], 8)
    decay = WeightDecayScheduler(off_fraction=None, schedule=Cosine(1.0, 8))
    model = probe_model(keras.optimizers.SGD(0.1, weight_decay=0.1), steps_per_execution=4)
    with pytest.warns(UserWarning, match="weight decay changes only every 4 steps"):
        fit(model, [decay], 8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(probe_model(keras.optimizers.SGD(0.0)), [CyclicLR(0.01, 0.05, 2)], 2)
    assert not [w for w in caught if "steps_per_execution" in str(w.message)]


@pytest.mark.backend_agnostic
def test_logged_rate_does_not_depend_on_the_callbacks_order(tmp_path):
    schedule = Triangular2(0.01, 0.05, 2)
    batch_logs = []
    spy = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: batch_logs.append(logs["learning_rate"])
    )
    path = tmp_path / "log.csv"
    callback = ScheduleCallback(schedule)
    # Listed after the loggers, which read the logs before this callback's hooks run.
    history = fit(probe_model(keras.optimizers.SGD(0.0)),
                  [spy, keras.callbacks.CSVLogger(str(path)), callback], 3, epochs=2)
    per_batch = schedule_rates(schedule, range(6))
    np.testing.assert_allclose(batch_logs, per_batch, rtol=1e-6)
    np.testing.assert_allclose(history.history["learning_rate"], per_batch[2::3], rtol=1e-6)
    with open(path) as handle:
        logged = [float(row["learning_rate"]) for row in csv.DictReader(handle)]
    np.testing.assert_allclose(logged, per_batch[2::3], rtol=1e-6)


@pytest.mark.backend_agnostic
def test_the_wrapper_is_removed_after_fit():
    model = probe_model(keras.optimizers.SGD(0.1))
    fit(model, [CyclicLR(0.01, 0.05, 2)], 2)
    batch_logs = []
    spy = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: batch_logs.append(dict(logs))
    )
    fit(model, [spy], 2)
    assert all("learning_rate" not in logs for logs in batch_logs)


def test_tensorboard_listed_first_records_the_per_batch_rate(tmp_path):
    schedule = Triangular2(0.01, 0.05, 2)
    board = keras.callbacks.TensorBoard(str(tmp_path), update_freq=1)
    fit(probe_model(keras.optimizers.SGD(0.0)), [board, ScheduleCallback(schedule)], 4)
    rates = _tensorboard_scalars(tmp_path / "train", "batch_learning_rate")
    np.testing.assert_allclose(rates, schedule_rates(schedule, range(4)), rtol=1e-6)


@pytest.mark.parametrize(
    ("make_optimizer", "shown"),
    [
        (lambda: keras.optimizers.SGD(0.1, momentum=0.9), "weight_decay=None"),
        (lambda: keras.optimizers.AdamW(0.1, weight_decay=0.0), "weight_decay=0.0"),
    ],
    ids=["SGD-None", "AdamW-0"],
)
def test_weight_decay_scheduler_names_the_missing_weight_decay(make_optimizer, shown):
    with pytest.raises(ValueError, match=f"{shown}.*non-zero weight_decay"):
        fit(probe_model(make_optimizer()), [WeightDecayScheduler()], 2)


def _tensorboard_scalars(directory, tag):
    import tensorflow as tf
    from tensorboard.backend.event_processing import event_accumulator

    accumulator = event_accumulator.EventAccumulator(
        str(directory), size_guidance={event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    return [float(tf.make_ndarray(e.tensor_proto)) for e in accumulator.Tensors(tag)]


def test_epoch_rate_of_tensorboard_is_one_step_ahead_of_history_for_a_schedule_inside(tmp_path):
    # What the LearningRateLogger docstring says: History holds the last update's rate,
    # TensorBoard's epoch_learning_rate the next one's.
    from tf_lropt.callbacks import LearningRateLogger

    schedule = Triangular2(0.01, 0.05, 2)
    board = keras.callbacks.TensorBoard(str(tmp_path))
    history = fit(probe_model(keras.optimizers.SGD(schedule)), [LearningRateLogger(), board],
                  3, epochs=2)
    np.testing.assert_allclose(history.history["learning_rate"],
                               schedule_rates(schedule, [2, 5]), rtol=1e-6)
    np.testing.assert_allclose(_tensorboard_scalars(tmp_path / "train", "epoch_learning_rate"),
                               schedule_rates(schedule, [3, 6]), rtol=1e-6)
