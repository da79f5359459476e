import keras
import numpy as np
import pytest

from tests.recipes._digits import NUM_TRAIN, digits, mlp, test_accuracy
from tf_lropt.optimizers import WarmupAdaBound
from tf_lropt.recipes import WarmupAdaBoundRecipe

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def test_warmup_epochs_become_steps():
    recipe = WarmupAdaBoundRecipe(100, num_examples=50_000, batch_size=128, warmup_epochs=10)
    assert recipe.steps_per_epoch == 391  # ceil(50000 / 128), as fit runs arrays
    assert recipe.warmup_steps == 3910
    optimizer = recipe.optimizer()
    assert isinstance(optimizer, WarmupAdaBound)
    assert optimizer.warmup_steps == 3910
    assert (optimizer.final_lr, optimizer.gamma) == (0.1, 1e-3)
    assert WarmupAdaBoundRecipe(10, 45, warmup_epochs=0.5).warmup_steps == 22  # round(22.5)
    described = recipe.summary(print_fn=lambda line: None)
    assert described["warmup_steps"] == 3910 and described["warmup_upper_bound"] == 0.1


@pytest.mark.parametrize("kwargs, argument", [
    (dict(epochs=0, steps_per_epoch=10), "epochs"),
    (dict(epochs=5, steps_per_epoch=10, warmup_epochs=6), "warmup_epochs"),
    (dict(epochs=5, steps_per_epoch=10, warmup_epochs=0), "warmup_epochs"),
    (dict(epochs=5, steps_per_epoch=0), "steps_per_epoch"),
    (dict(epochs=5, num_examples=100), "batch_size"),
    (dict(epochs=5, steps_per_epoch=10, warmup_epochs=1, final_lr=-1.0), "final_lr"),
    (dict(epochs=5, steps_per_epoch=10, warmup_epochs=1, warmup_upper_bound=0.0),
     "warmup_upper_bound"),
])
def test_bad_arguments_name_argument_and_value(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        WarmupAdaBoundRecipe(**kwargs)


def test_trains_digits_and_reloads(tmp_path):
    train, test = digits()
    recipe = WarmupAdaBoundRecipe(8, num_examples=NUM_TRAIN, batch_size=32, warmup_epochs=2)
    model = mlp()
    model.compile(recipe.optimizer(), LOSS, metrics=["accuracy"])
    model.fit(*train, batch_size=32, epochs=recipe.epochs, callbacks=recipe.callbacks(),
              verbose=0)
    assert int(model.optimizer.iterations) == recipe.epochs * recipe.steps_per_epoch
    accuracy = test_accuracy(model, test)
    print(f"WarmupAdaBoundRecipe digits test accuracy {accuracy:.4f}")
    assert accuracy >= 0.90  # measured 0.952 (8 epochs, this split, seed 1234)

    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.optimizer, WarmupAdaBound)
    assert loaded.optimizer.warmup_steps == recipe.warmup_steps
    np.testing.assert_array_equal(loaded.predict(test[0], verbose=0),
                                  model.predict(test[0], verbose=0))
