"""Schedules inside an optimizer: XLA, the rate actually used, saved models (TensorFlow)."""

import keras
import numpy as np
import pytest

from tests.callbacks.probe import KernelRecorder, probe_data, probe_model
from tests.schedules.scale_functions import halve_every_other_cycle
from tf_lropt.schedules import (
    Cosine,
    CyclicalLearningRate,
    ExpRange,
    OneCycle,
    Triangular,
    Triangular2,
    Warmup,
)

# TensorFlow-only tests: the module is skipped where TensorFlow is not installed.
tf = pytest.importorskip("tensorflow")

ALL_SCHEDULES = [
    Triangular(0.001, 0.006, 20),
    Triangular2(0.001, 0.006, 20),
    ExpRange(0.001, 0.006, 20, 0.99),
    CyclicalLearningRate(0.0, 1.0, 7, shape="hann", step_size_down=13, mode="triangular2"),
    Cosine(0.1, 150, 0.1, 20, 0.01, 40, 2.0, 0.5),
    OneCycle(0.1, 120),
    Warmup(Triangular2(0.001, 0.006, 20), 15),
    CyclicalLearningRate(0.001, 0.006, 5, scale_fn=halve_every_other_cycle, name="custom"),
]


@pytest.mark.parametrize("schedule", ALL_SCHEDULES, ids=lambda s: s.name)
def test_xla_equals_eager_for_int_and_float_steps(schedule):
    steps = np.arange(0, 200)
    eager = np.asarray([float(schedule(int(i))) for i in steps])
    compiled = tf.function(lambda s: schedule(s), jit_compile=True)
    for dtype in (tf.int64, tf.int32, tf.float32):
        got = np.asarray([float(compiled(tf.constant(i, dtype))) for i in steps[::23]])
        np.testing.assert_allclose(got, eager[::23], rtol=1e-6)
    vector = compiled(tf.constant(steps, tf.int64)).numpy()
    # XLA's vectorised cos differs from the scalar kernel in the last float32 bits.
    np.testing.assert_allclose(vector, eager, rtol=5e-5)


def test_rate_actually_used_equals_schedule_under_jit():
    schedule = Triangular2(0.001, 0.006, 5)
    recorder = KernelRecorder()
    model = probe_model(keras.optimizers.SGD(learning_rate=schedule), jit_compile=True)
    model.fit(*probe_data(40), batch_size=2, epochs=1, verbose=0, callbacks=[recorder])
    used = -recorder.deltas()
    want = [float(schedule(i)) for i in range(40)]
    np.testing.assert_allclose(used, want, rtol=1e-4)


def test_saved_model_reloads_without_custom_objects_and_continues(tmp_path):
    schedule = Warmup(CyclicalLearningRate(0.001, 0.006, 4, mode="exp_range", gamma=0.9), 3)
    model = probe_model(keras.optimizers.SGD(learning_rate=schedule))
    x, y = probe_data(10)
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    again = reloaded.optimizer._learning_rate
    assert type(again) is Warmup and type(again.schedule) is CyclicalLearningRate
    assert int(reloaded.optimizer.iterations) == 10
    recorder = KernelRecorder()
    reloaded.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[recorder])
    want = [float(schedule(i)) for i in range(10, 20)]
    np.testing.assert_allclose(-recorder.deltas(), want, rtol=1e-4)


@pytest.mark.parametrize("schedule", ALL_SCHEDULES, ids=lambda s: s.name)
def test_every_schedule_survives_a_saved_model(schedule, tmp_path):
    model = probe_model(keras.optimizers.SGD(learning_rate=schedule))
    model.save(tmp_path / "model.keras")
    again = keras.models.load_model(tmp_path / "model.keras").optimizer._learning_rate
    assert type(again) is type(schedule)
    steps = np.arange(0, 300, 7)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(again(steps)), keras.ops.convert_to_numpy(schedule(steps))
    )
