import keras
import numpy as np
import pytest

from tests.recipes._digits import NUM_TRAIN, digits, mlp, test_accuracy
from tf_lropt.callbacks import ScheduleCallback
from tf_lropt.recipes import CyclicalRecipe
from tf_lropt.schedules import CyclicalLearningRate

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


@pytest.mark.parametrize("max_epochs, step_size_epochs, cycles, epochs", [
    (4, 2, 1, 4),      # the shortest run: one cycle of 2 + 2 epochs
    (12, 2, 3, 12),    # too short for 4 cycles: Smith's smallest step size, 3 cycles
    (50, 6, 4, 48),    # 4 cycles of 12 epochs; the 2 epochs left over would end mid-cycle
    (100, 10, 5, 100),  # step size capped at Smith's 10 epochs, one more cycle fits
])
def test_step_size_in_smiths_range_and_run_ends_at_a_cycle_minimum(
        max_epochs, step_size_epochs, cycles, epochs):
    recipe = CyclicalRecipe(max_epochs, num_examples=50_000, batch_size=100)
    assert recipe.steps_per_epoch == 500
    assert (recipe.step_size_epochs, recipe.cycles, recipe.epochs) == (
        step_size_epochs, cycles, epochs)
    assert recipe.step_size == 500 * step_size_epochs
    assert recipe.range_test_epochs == step_size_epochs  # Smith: the test is one half cycle
    assert recipe.describe()["range_test"] == f"0.0001 to 1 linear over {step_size_epochs} epochs"


@pytest.mark.parametrize("kwargs, message", [
    (dict(max_epochs=3, steps_per_epoch=10), "max_epochs"),
    (dict(max_epochs=20, steps_per_epoch=10, step_size_epochs=1), "step_size_epochs"),
    (dict(max_epochs=30, steps_per_epoch=10, step_size_epochs=11), r"\[2, 10\]"),
    (dict(max_epochs=10, steps_per_epoch=10, step_size_epochs=6), "max_epochs=10"),
    (dict(max_epochs=10, steps_per_epoch=10, mode="cosine"), "mode"),
    (dict(max_epochs=10, steps_per_epoch=10, lr_range=(1.0, 0.1)), "lr_range"),
    (dict(max_epochs=10, steps_per_epoch=10, lr_range=(0.0, 0.1)), "lr_range"),
    (dict(max_epochs=10, steps_per_epoch=10, cycles=0), "cycles"),
])
def test_bad_arguments_name_argument_and_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CyclicalRecipe(**kwargs)


def test_schedule_needs_the_range_test_first():
    with pytest.raises(RuntimeError, match="find"):
        CyclicalRecipe(8, 10).schedule()


def test_range_test_then_cycles_on_digits(tmp_path):
    train, test = digits()
    model = mlp()
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), LOSS, metrics=["accuracy"])
    before = [w.copy() for w in model.get_weights()]
    recipe = CyclicalRecipe(12, num_examples=NUM_TRAIN, batch_size=32, lr_range=(1e-3, 1.0))
    lines = []
    recipe.summary = lambda print_fn=print, _summary=recipe.summary: _summary(lines.append)
    schedule, epochs = recipe.find(model, train)

    # The range test trained a copy of the run and put the model back.
    for restored, original in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(restored, original)
    assert int(model.optimizer.iterations) == 0
    chosen = recipe.describe()
    print("CyclicalRecipe on digits:", chosen)
    assert any("base_lr" in line for line in lines)
    # two epochs of ceil(NUM_TRAIN / 32) batches, counted as run (the partial ones too)
    assert chosen["range_test"] == f"0.001 to 1 linear over {2 * -(-NUM_TRAIN // 32)} batches"
    assert 1e-3 <= chosen["base_lr"] < chosen["max_lr"] <= 1.0
    assert isinstance(schedule, CyclicalLearningRate) and schedule.mode == "triangular2"
    assert (chosen["step_size_epochs"], chosen["cycles"], epochs) == (2, 3, 12)

    # The run ends at a cycle minimum: the rate of the step after the last is base_lr.
    total = epochs * recipe.steps_per_epoch
    assert float(schedule(total)) == pytest.approx(chosen["base_lr"], rel=1e-6)
    assert float(schedule(recipe.step_size)) == pytest.approx(chosen["max_lr"], rel=1e-6)

    (callback,) = recipe.callbacks()
    assert isinstance(callback, ScheduleCallback)
    model.fit(*train, batch_size=32, epochs=epochs, callbacks=[callback], verbose=0)
    assert len(callback.history["learning_rate"]) == total
    accuracy = test_accuracy(model, test)
    print(f"CyclicalRecipe digits test accuracy {accuracy:.4f}")
    assert accuracy >= 0.93  # measured 0.985 (12 epochs, this split, seed 1234)

    # The schedule inside an optimizer saves and reloads with the model.
    model.compile(keras.optimizers.SGD(recipe.schedule(), momentum=0.9), LOSS)
    model.fit(*train, batch_size=32, epochs=1, steps_per_epoch=3, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    reloaded = loaded.optimizer._learning_rate
    assert isinstance(reloaded, CyclicalLearningRate)
    assert reloaded.get_config() == recipe.schedule().get_config()


def test_plot_marks_the_bounds():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    train, _ = digits()
    model = mlp()
    model.compile(keras.optimizers.SGD(0.01), LOSS, metrics=["accuracy"])
    recipe = CyclicalRecipe(4, num_examples=NUM_TRAIN, batch_size=100, lr_range=(1e-3, 1.0))
    recipe.find(model, train, plot=True)
    axes = recipe.plot()
    labels = [line.get_label() for line in axes[-1].get_lines()]
    assert any(label.startswith("base_lr") for label in labels)
    assert any(label.startswith("max_lr") for label in labels)
