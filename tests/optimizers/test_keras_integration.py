"""Every optimizer configuration inside Keras: fit, XLA, saving, mixed precision,
distribution and the base-class features.

One parametrized table (``tests/optimizers/cases.py``) drives every test here, so
a configuration added there is checked against all of Keras' machinery at once.
The algorithms' numbers are checked against float64 references elsewhere
(``test_golden.py``); here each test asserts that Keras' machinery around the
update keeps those numbers: a broken save, a dropped slot, a retraced constant or
a clip applied in the wrong place changes the weights and fails the comparison.
"""

from __future__ import annotations

import copy
import inspect

import keras
import numpy as np
import pytest
from keras import ops

from tests._distribute import mirrored_strategy
from tests.optimizers._integration_helpers import (
    assert_weights_close,
    classification_data,
    compile_tiny,
    digits_test_accuracy,
    slot_values,
    slot_variables,
    tiny_model,
)
from tests.optimizers.cases import PARAMS

TF_ONLY = keras.backend.backend() == "tensorflow"
BATCH = 16


def _step_count(optimizer) -> int:
    return int(ops.convert_to_numpy(optimizer.iterations))


def _fit(model, x, y, epochs, batch_size=BATCH, **kwargs):
    model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0, **kwargs)


# ---------------------------------------------------------------- XLA == eager


@pytest.mark.parametrize("case", PARAMS)
def test_jit_compiled_fit_equals_eager_fit(case):
    x, y = classification_data()
    eager = tiny_model()
    initial = eager.get_weights()
    compile_tiny(eager, case.factory(), run_eagerly=True)
    _fit(eager, x, y, epochs=2)

    xla = tiny_model()
    xla.set_weights(initial)
    compile_tiny(xla, case.factory(), jit_compile=True)
    assert xla.jit_compile
    _fit(xla, x, y, epochs=2)

    assert _step_count(xla.optimizer) == _step_count(eager.optimizer) == 8
    assert not np.allclose(xla.get_weights()[0], initial[0]), "no update happened"
    assert_weights_close(xla.get_weights(), eager.get_weights(), rtol=1e-4, atol=1e-5)
    assert_weights_close(
        slot_values(xla.optimizer), slot_values(eager.optimizer), rtol=1e-4, atol=1e-6
    )


# ------------------------------------------------- saving, resuming, export


def _schedule():
    return keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate=1e-2, decay_steps=4, decay_rate=0.8
    )


@pytest.mark.parametrize("case", PARAMS)
def test_save_load_resume_equals_uninterrupted(case, tmp_path):
    x, y = classification_data()
    interrupted = tiny_model()
    initial = interrupted.get_weights()
    compile_tiny(interrupted, case.factory(learning_rate=_schedule()))
    _fit(interrupted, x, y, epochs=3)
    path = tmp_path / "m.keras"
    interrupted.save(path)

    restored = keras.models.load_model(path)  # no custom_objects: registered classes
    saved_opt, loaded_opt = interrupted.optimizer, restored.optimizer
    assert type(loaded_opt) is type(saved_opt)
    assert isinstance(loaded_opt._learning_rate, keras.optimizers.schedules.ExponentialDecay)
    assert loaded_opt.get_config() == saved_opt.get_config()
    assert _step_count(loaded_opt) == _step_count(saved_opt) == 12
    saved_slots = slot_variables(saved_opt)
    loaded_slots = slot_variables(loaded_opt)
    assert len(loaded_slots) == len(saved_slots) > 0
    for saved, loaded in zip(saved_slots, loaded_slots, strict=True):
        np.testing.assert_array_equal(loaded.numpy(), saved.numpy(), err_msg=saved.path)
    _fit(restored, x, y, epochs=2)

    uninterrupted = tiny_model()
    uninterrupted.set_weights(initial)
    compile_tiny(uninterrupted, case.factory(learning_rate=_schedule()))
    _fit(uninterrupted, x, y, epochs=5)

    assert _step_count(restored.optimizer) == 20
    assert_weights_close(restored.get_weights(), uninterrupted.get_weights(), rtol=1e-6, atol=1e-7)

    if TF_ONLY:  # the reloaded, further-trained model also exports for serving
        _assert_export_serves_predict(restored, x, tmp_path / "exported")


def _assert_export_serves_predict(model, x, path):
    import tensorflow as tf

    # Keras 3.5 has no `verbose` here and prints its summary.
    quiet = {"verbose": False} if "verbose" in inspect.signature(model.export).parameters else {}
    model.export(str(path), **quiet)
    # Keep the loaded object alive: its functions reference its variables weakly.
    loaded = tf.saved_model.load(str(path))
    served = loaded.serve(ops.convert_to_tensor(x))
    np.testing.assert_allclose(served.numpy(), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


# -------------------------------------------------------------- config round trip


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("case", PARAMS)
@pytest.mark.parametrize("rate", ["float", "schedule"])
def test_config_round_trip(case, rate):
    kwargs = {"learning_rate": _schedule()} if rate == "schedule" else {}
    optimizer = case.factory(**kwargs)
    config = optimizer.get_config()

    # from_config deserializes the schedule in place: hand it a copy.
    rebuilt = type(optimizer).from_config(copy.deepcopy(config))
    assert type(rebuilt) is type(optimizer)
    assert rebuilt.get_config() == config

    serialized = keras.optimizers.serialize(optimizer)
    if type(optimizer).__module__.startswith("tf_lropt"):
        # Registered under the package, so load_model needs no custom_objects.
        assert serialized["registered_name"] == f"tf_lropt>{type(optimizer).__name__}"
    deserialized = keras.optimizers.deserialize(serialized)
    assert type(deserialized) is type(optimizer)
    assert deserialized.get_config() == config


# ------------------------------------------------------------ mixed precision


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("case", PARAMS)
def test_mixed_precision_trains_without_nan(case, policy):
    keras.mixed_precision.set_global_policy(policy)
    x, y = classification_data(n=128)
    model = tiny_model()
    # RAdam's rectification keeps early steps small: a larger rate shows a clear fall.
    compile_tiny(model, case.factory(learning_rate=5e-2))
    if policy == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    initial_loss = model.evaluate(x, y, verbose=0)
    history = model.fit(x, y, batch_size=32, epochs=6, shuffle=False, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.9 * initial_loss, (initial_loss, losses)
    for weight in model.get_weights():
        assert weight.dtype == np.float32
        assert np.all(np.isfinite(weight))
    inner = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    for slot in slot_variables(inner):
        assert slot.dtype == "float32", slot.path
        assert np.all(np.isfinite(slot.numpy())), slot.path


# ------------------------------------------------------------ MirroredStrategy


# On Keras 3.5 (TensorFlow 2.16.2) these two end 1e-3 away from the single-device run
# after 2 epochs (AdaBound and the others match); from Keras 3.9 they match. Not yet
# explained: kept running as a non-strict xfail so a fix or a regression shows.
MIRRORED_DIFFERS_BEFORE_KERAS_3_9 = {"warmup_adabound", "radabeliefw"}
KERAS_BEFORE_3_9 = tuple(int(p) for p in keras.__version__.split(".")[:2]) < (3, 9)
# Also seen on Keras 3.5.0 with TensorFlow 2.16.2 (up to 3 % apart); equal on Keras 3.8.0.
MIRRORED_DIFFERS_BEFORE_KERAS_3_8 = {"radam", "radam_threshold4", "adabelief_rectify"}
KERAS_BEFORE_3_8 = tuple(int(p) for p in keras.__version__.split(".")[:2]) < (3, 8)


@pytest.mark.skipif(not TF_ONLY, reason="tf.distribute needs TensorFlow")
@pytest.mark.parametrize("case", PARAMS)
def test_mirrored_strategy_equals_single_device(case, request):
    import tensorflow as tf

    if (KERAS_BEFORE_3_9 and case.id in MIRRORED_DIFFERS_BEFORE_KERAS_3_9) or (
            KERAS_BEFORE_3_8 and case.id in MIRRORED_DIFFERS_BEFORE_KERAS_3_8):
        request.applymarker(pytest.mark.xfail(
            reason=f"MirroredStrategy result differs on Keras {keras.__version__}",
            strict=False))
    x, y = classification_data()
    single = tiny_model()
    initial = single.get_weights()
    compile_tiny(single, case.factory())
    _fit(single, x, y, epochs=2)

    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    assert len(devices) == 2, "conftest should create two logical CPUs"
    strategy = mirrored_strategy(devices)
    with strategy.scope():
        mirrored = tiny_model()
        mirrored.set_weights(initial)
        # Keras turns XLA off under tf.distribute; say so explicitly.
        compile_tiny(mirrored, case.factory(), jit_compile=False)
    _fit(mirrored, x, y, epochs=2)

    assert _step_count(mirrored.optimizer) == _step_count(single.optimizer)
    assert_weights_close(mirrored.get_weights(), single.get_weights(), rtol=1e-4, atol=1e-5)


# --------------------------------------------------------- base-class features
# These drive ``apply_gradients`` directly on two variables, a "kernel" and a
# "bias", with fixed gradients; the plain optimizer's trajectory is the reference.

STEPS = 6


def _variables():
    rng = np.random.default_rng(7)
    kernel = keras.Variable(rng.normal(size=(4, 3)).astype("float32"), name="kernel")
    bias = keras.Variable(rng.normal(size=(3,)).astype("float32"), name="bias")
    return [kernel, bias]


def _gradients(steps=STEPS, scale=1.0):
    rng = np.random.default_rng(11)
    return [
        [
            (scale * rng.normal(size=(4, 3))).astype("float32"),
            (scale * rng.normal(size=(3,))).astype("float32"),
        ]
        for _ in range(steps)
    ]


def _run(optimizer, gradients, transform=None):
    """Applies each list of gradients; returns the variables' values after every step."""
    variables = _variables()
    trajectory = []
    for grads in gradients:
        if transform is not None:
            grads = transform(grads)
        tensors = [ops.convert_to_tensor(g) for g in grads]
        optimizer.apply_gradients(zip(tensors, variables, strict=True))
        trajectory.append([v.numpy().astype("float64") for v in variables])
    return optimizer, variables, trajectory


def _plain(case, **kwargs):
    # RAdaBeliefW decays by default; the reference trajectory must not.
    return case.factory(weight_decay=None, **kwargs)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("case", PARAMS)
def test_weight_decay_is_decoupled_and_scaled_by_learning_rate(case):
    lr, wd = 1e-2, 0.5
    grads = _gradients()
    _, _, plain = _run(_plain(case, learning_rate=lr), grads)
    _, _, decayed = _run(case.factory(learning_rate=lr, weight_decay=wd), grads)
    # Decoupled decay: x_t = x_{t-1} (1 - lr wd) - u_t, with the same update u_t as
    # without decay, because u_t depends only on the gradients.
    x0 = [v.numpy().astype("float64") for v in _variables()]
    expected = x0
    previous_plain = x0
    for step in range(STEPS):
        update = [p - q for p, q in zip(previous_plain, plain[step], strict=True)]
        expected = [e * (1 - lr * wd) - u for e, u in zip(expected, update, strict=True)]
        previous_plain = plain[step]
        assert_weights_close(decayed[step], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("case", PARAMS)
def test_excluded_variables_do_not_decay(case):
    grads = _gradients()
    _, _, plain = _run(_plain(case), grads)
    optimizer = case.factory(weight_decay=0.5)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    _, _, decayed = _run(optimizer, grads)
    np.testing.assert_allclose(decayed[-1][1], plain[-1][1], rtol=1e-6, atol=1e-7)
    assert not np.allclose(decayed[-1][0], plain[-1][0], rtol=1e-6, atol=1e-7)


def _assert_same_run(optimizer, trajectory, expected_optimizer, expected_trajectory):
    """Same variables after every step and the same slots at the end.

    The slots matter: Adam-like steps barely change when all gradients are scaled
    alike, but the first moment scales with them, so an unapplied clip or an
    unscaled gradient shows there.
    """
    for actual, expected in zip(trajectory, expected_trajectory, strict=True):
        assert_weights_close(actual, expected, rtol=1e-5, atol=1e-6)
    assert_weights_close(
        slot_values(optimizer), slot_values(expected_optimizer), rtol=1e-5, atol=1e-7
    )


def _norm(g):
    return float(np.sqrt(np.sum(np.square(g, dtype="float64"))))


def _clip_each_to_norm(gradients, clip=0.5):
    return [g * (clip / _norm(g)) for g in gradients]


def _clip_to_global_norm(gradients, clip=0.5):
    total = np.sqrt(sum(_norm(g) ** 2 for g in gradients))
    return [g * (clip / total) for g in gradients]


def _clip_values(gradients, clip=0.3):
    return [np.clip(g, -clip, clip) for g in gradients]


LOSS_SCALE = 1024.0  # a power of two: scaling and unscaling are exact in float32

# option -> (base-class arguments, gradient scale, what the option must amount to:
# the transform that, applied by hand for the plain optimizer, gives the same run,
# and the transform of the gradients fed to the optimizer with the option).
# The gradients are large (scale 10) where a norm clip must be active at every step.
GRADIENT_OPTIONS = {
    "clipnorm": ({"clipnorm": 0.5}, 10.0, _clip_each_to_norm, None),
    "global_clipnorm": ({"global_clipnorm": 0.5}, 10.0, _clip_to_global_norm, None),
    "clipvalue": ({"clipvalue": 0.3}, 1.0, _clip_values, None),
    "loss_scale_factor": (
        {"loss_scale_factor": LOSS_SCALE},
        1.0,
        None,
        lambda gs: [g * LOSS_SCALE for g in gs],
    ),
}


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("option", list(GRADIENT_OPTIONS))
@pytest.mark.parametrize("case", PARAMS)
def test_gradient_option_equals_transforming_the_gradients_by_hand(case, option):
    kwargs, scale, by_hand, fed = GRADIENT_OPTIONS[option]
    grads = _gradients(scale=scale)
    if by_hand is not None:  # the clip must change every step's gradients
        for step in grads:
            for g, transformed in zip(step, by_hand(step), strict=True):
                assert not np.allclose(g, transformed)
    with_option, _, trajectory = _run(case.factory(**kwargs), grads, transform=fed)
    plain, _, expected = _run(case.factory(), grads, transform=by_hand)
    _assert_same_run(with_option, trajectory, plain, expected)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("case", PARAMS)
def test_ema_tracks_the_moving_average_of_the_trajectory(case):
    momentum = 0.8
    grads = _gradients()
    _, _, plain = _run(case.factory(), grads)
    optimizer, variables, trajectory = _run(
        case.factory(use_ema=True, ema_momentum=momentum), grads
    )
    # EMA leaves the training trajectory alone ...
    assert_weights_close(trajectory[-1], plain[-1], rtol=1e-6, atol=1e-7)
    # ... and the average starts at the first iterate, then averages.
    average = plain[0]
    for values in plain[1:]:
        average = [momentum * a + (1 - momentum) * v for a, v in zip(average, values, strict=True)]
    optimizer.finalize_variable_values(variables)
    assert_weights_close([v.numpy() for v in variables], average, rtol=1e-5, atol=1e-6)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("case", PARAMS)
def test_gradient_accumulation_equals_one_step_on_the_mean(case):
    micro = _gradients(steps=2 * STEPS)
    mean = [
        [(a + b) / 2 for a, b in zip(micro[2 * i], micro[2 * i + 1], strict=True)]
        for i in range(STEPS)
    ]
    optimizer, _, accumulated = _run(case.factory(gradient_accumulation_steps=2), micro)
    direct_opt, _, direct = _run(case.factory(), mean)
    # The first micro-batch of each pair only accumulates: nothing moves ...
    before = [[v.numpy() for v in _variables()], *accumulated[1:-1:2]]
    for held, previous in zip(accumulated[0::2], before, strict=True):
        assert_weights_close(held, previous, rtol=0, atol=0)
    # ... and the second makes one step on the pair's mean.
    _assert_same_run(optimizer, accumulated[1::2], direct_opt, direct)
    assert _step_count(optimizer) == STEPS


# ------------------------------------------------------------------ slot memory


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("case", PARAMS)
def test_slot_memory_is_exactly_the_algorithms_moments(case):
    model = tiny_model()
    optimizer = case.factory()
    optimizer.build(model.trainable_variables)
    per_variable = case.n_slots
    config = optimizer.get_config()
    assert per_variable == (3 if config.get("amsbound") or config.get("amsgrad") else 2)
    slots = slot_variables(optimizer)
    assert len(slots) == per_variable * len(model.trainable_variables)
    n_params = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    assert sum(int(np.prod(s.shape)) for s in slots) == per_variable * n_params


# ------------------------------------------------------- training on real data

# Held-out accuracy (397 test digits) after DIGITS_EPOCHS epochs with each
# optimizer's default arguments, measured on TensorFlow 2.21 / Keras 3.15 CPU;
# Keras' Adam reaches 0.950 on the same run. A broken update (no step, wrong
# sign, exploding step) stays near chance (0.08). RAdam's rectification keeps its
# first hundreds of steps small, hence its lower mark after 440 steps.
DIGITS_EPOCHS = 10
MEASURED_DIGITS_ACCURACY: dict[str, float] = {
    "adabound": 0.952,
    "adabound_amsbound": 0.952,
    "warmup_adabound": 0.955,
    "radam": 0.872,
    "radam_threshold4": 0.872,
    "radam_no_sgd": 0.874,
    "radam_threshold4_no_sgd": 0.869,
    "adabelief": 0.960,
    "adabelief_amsgrad": 0.960,
    "adabelief_rectify": 0.917,
    "radabeliefw": 0.912,
}
# Cases added to the table later get the lowest mark until they are measured.
UNMEASURED = min(MEASURED_DIGITS_ACCURACY.values())
MARGIN = 0.03  # 12 of 397 test digits: room for another CPU's rounding, not for a bug


@pytest.mark.parametrize("case", PARAMS)
def test_trains_digits_to_measured_accuracy(case):
    accuracy = digits_test_accuracy(case.factory(), epochs=DIGITS_EPOCHS)
    expected = MEASURED_DIGITS_ACCURACY.get(case.id, UNMEASURED)
    assert accuracy >= expected - MARGIN, f"{case.id}: {accuracy:.4f}, measured {expected}"
