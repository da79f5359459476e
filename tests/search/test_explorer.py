"""LR explorer: the paper's candidate lists, search order, resume, exploitation, bad input."""

import importlib
import json
import sys

import keras
import numpy as np
import pytest

from tests.search.helpers import Counter as _Counter
from tests.search.helpers import build as _build
from tests.search.helpers import completed_rates, trial_files
from tests.search.helpers import data as _data
from tf_lropt.search import LRExplorer
from tf_lropt.search.candidates import rate_quantum, refine_rates
from tf_lropt.search.oracle import ExplorerOracle

# ------------------------------------------------------------ candidate lists


def _floats(rates):
    return [float(r) for r in rates]


@pytest.mark.backend_agnostic
def test_paper_second_digit_lists_from_0002_and_0001():
    coarse = [0.009, 0.008, 0.007, 0.006, 0.005, 0.004, 0.003, 0.002, 0.001]
    rates = _floats(refine_rates([(0.002, 0.001), (0.001, 0.001)], exclude=coarse))
    # 0.002 + 0.0001 n and 0.001 + 0.0001 n for n = 4 .. -10, descending, without the
    # tried 0.002 and 0.001, the duplicates 0.0014 .. 0.0011 and the non-positive 0.0.
    expected = [round(0.0024 - 0.0001 * i, 4) for i in range(24)]
    expected = [r for r in expected if r not in (0.002, 0.001) and r > 0]
    assert rates == expected
    assert rates[:5] == [0.0024, 0.0023, 0.0022, 0.0021, 0.0019]
    assert rates[-3:] == [0.0003, 0.0002, 0.0001]
    assert len(rates) == 22


@pytest.mark.backend_agnostic
def test_paper_third_digit_lists_from_00007_and_00004():
    rates = _floats(refine_rates([(0.0007, 0.0001), (0.0004, 0.0001)],
                                 exclude=[0.0007, 0.0004, 0.0006, 0.0003, 0.0005]))
    upper = [round(0.00074 - 0.00001 * i, 5) for i in range(15)]   # 0.00074 .. 0.00060
    lower = [round(0.00044 - 0.00001 * i, 5) for i in range(15)]   # 0.00044 .. 0.00030
    expected = [r for r in upper + lower if r not in (0.0007, 0.0004, 0.0006, 0.0003)]
    assert rates == expected
    # The paper's winners are on these lists, written exactly.
    assert 0.00041 in rates and 0.00038 in rates
    # Exact decimals at the third digit's place, and floats that print as written.
    exact = refine_rates([(0.0007, 0.0001)], offsets=(4, 0, -10))
    assert [format(r, "f") for r in exact] == ["0.00074", "0.0007", "0.0006"]
    assert [repr(r) for r in rates] == [f"{r:.5f}".rstrip("0") for r in expected]


@pytest.mark.backend_agnostic
def test_rounding_leaves_no_float_noise():
    # Naive float arithmetic would give 0.00034000000000000002 and 0.00030000000000000003.
    rates = _floats(refine_rates([(0.0003, 0.0001)], offsets=range(4, -4, -1)))
    assert [repr(r) for r in rates] == ["0.00034", "0.00033", "0.00032", "0.00031", "0.0003",
                                        "0.00029", "0.00028", "0.00027"]


@pytest.mark.backend_agnostic
def test_quantum_is_place_of_last_digit_and_duplicates_collapse():
    assert float(rate_quantum(0.003)) == 0.001
    assert float(rate_quantum(0.0025)) == 0.0001
    assert float(rate_quantum(0.1)) == 0.1
    rates = _floats(refine_rates([(0.2, 0.1), (0.2, 0.1), (0.1, 0.1)], offsets=[1, 0, -1, -2]))
    assert rates == [0.21, 0.2, 0.19, 0.18, 0.11, 0.1, 0.09, 0.08]


# ------------------------------------------------------------- with training


def _explorer(directory, counter=None, **overrides):
    train, val = _data()
    kwargs = dict(
        objective="val_loss", coarse_lrs=(0.3, 0.2, 0.1), epochs_per_trial=2, top_k=2,
        digits=2, refine_offsets=range(2, -3, -1), directory=str(directory), seed=1,
        batch_size=32, verbose=1, fit_kwargs={"callbacks": [counter]} if counter else None,
    )
    kwargs.update(overrides)
    return LRExplorer(_build, train, val, **kwargs)


def test_search_order_scores_and_persistence(tmp_path, capsys):
    counter = _Counter()
    explorer = _explorer(tmp_path, counter)
    found = explorer.search()
    out = capsys.readouterr().out
    assert "worst case 13 trials x 2 epochs = 26 epochs" in out
    frame = explorer.trials_dataframe()
    coarse = frame[frame.digit == 1]
    assert list(coarse.rate) == [0.3, 0.2, 0.1]
    # Each trial trained once; lines are printed in training order: descending per digit.
    assert counter.fits == len(frame)
    trained = [float(line.split("lr=")[1].split()[0]) for line in out.splitlines() if "lr=" in line]
    assert trained[:3] == [0.3, 0.2, 0.1]
    second = trained[3:]
    assert second == sorted(second, reverse=True) and len(second) == len(set(second))
    assert not set(second) & {0.3, 0.2, 0.1}
    # Each trial trains at its own rate, from the same initial weights.
    np.testing.assert_allclose(counter.rates, trained, rtol=1e-6)
    assert frame.score.nunique() == len(frame)
    # A trial's score is its best epoch; KerasTuner's trial files hold each trial's curve.
    files = trial_files(tmp_path)
    assert len(files) == len(frame) and {f["status"] for f in files.values()} == {"COMPLETED"}
    for record in explorer.trials.values():
        assert record["score"] == pytest.approx(min(record["curve"])) and len(record["curve"]) == 2
        assert record["worker"] == "tuner0"
    assert not (tmp_path / "trials").exists() and not (tmp_path / "explorer.json").exists()
    # The found rates are the best two of the second digit's list, in descending order. The
    # lists, by hand: each coarse winner w gives w + 0.02, w + 0.01, w, w - 0.01, w - 0.02.
    by_hand = {0.3: [0.32, 0.31, 0.3, 0.29, 0.28], 0.2: [0.22, 0.21, 0.2, 0.19, 0.18],
               0.1: [0.12, 0.11, 0.1, 0.09, 0.08]}
    winners = list(coarse.sort_values("score").rate[:2])
    pool = sorted({r for w in winners for r in by_hand[w]}, reverse=True)
    assert sorted(frame.rate) == sorted({0.3, 0.2, 0.1, *pool})
    scores = dict(zip(frame.rate, frame.score, strict=True))
    best_two = sorted(pool, key=lambda r: scores[r])[:2]
    assert found == sorted(best_two, reverse=True) and explorer.ranked_rates == best_two
    assert explorer.complete
    assert (tmp_path / "trials.csv").exists() and (tmp_path / "found_rates.json").exists()


SMALL = dict(coarse_lrs=(0.3, 0.1), top_k=1, refine_offsets=range(1, -2, -1), verbose=0)


def test_engine_argument_and_tuner_module_are_deprecated(tmp_path):
    with pytest.warns(DeprecationWarning, match="engine"):
        explorer = _explorer(tmp_path, engine="local", **SMALL)
    explorer.search()
    assert (tmp_path / "keras_tuner" / "oracle.json").exists()
    sys.modules.pop("tf_lropt.search.tuner", None)
    with pytest.warns(DeprecationWarning, match="tf_lropt.search.oracle"):
        tuner = importlib.import_module("tf_lropt.search.tuner")
    assert tuner.ExplorerOracle is ExplorerOracle


def test_directory_of_the_former_json_store_is_resumed_without_retraining(tmp_path):
    # tf_lropt 0.x kept one JSON record per trial in directory/trials; such a directory
    # (the committed experiment 6 search) is imported into KerasTuner's files once.
    reference = _explorer(tmp_path / "reference", **SMALL)
    expected = reference.search()
    legacy = tmp_path / "legacy" / "trials"
    legacy.mkdir(parents=True)
    first_digit = [t for t in reference.trials.values() if t["digit"] == 1]
    for record in first_digit:
        (legacy / f"{record['key']}.json").write_text(json.dumps(
            {k: v for k, v in record.items() if k != "worker"}))
    counter = _Counter()
    resumed = _explorer(tmp_path / "legacy", counter, **SMALL)
    assert resumed.search() == expected and resumed.ranked_rates == reference.ranked_rates
    assert counter.fits == len(reference.trials) - len(first_digit)
    columns = ["rate", "digit", "score", "best_epoch", "epochs"]
    assert resumed.trials_dataframe()[columns].equals(reference.trials_dataframe()[columns])
    again = _Counter()
    _explorer(tmp_path / "legacy", again, **SMALL).search()  # imported once, not twice
    assert again.fits == 0 and len(trial_files(tmp_path / "legacy")) == len(reference.trials)


@pytest.mark.backend_agnostic
def test_resume_after_interruption_does_not_retrain_finished_trials(tmp_path):
    reference = _explorer(tmp_path / "uninterrupted", **SMALL)
    expected = reference.search()
    total = len(reference.trials)
    assert total == 4  # 0.3, 0.1, then two new neighbours of the winner

    counter = _Counter(raise_in=4)
    with pytest.raises(RuntimeError, match="interrupted"):
        _explorer(tmp_path / "run", counter, **SMALL).search()
    assert len(completed_rates(tmp_path / "run")) == 3  # the 4th was in progress

    counter = _Counter()
    resumed = _explorer(tmp_path / "run", counter, **SMALL)
    assert resumed.search() == expected
    assert counter.fits == 1 == resumed.trained_this_run
    assert resumed.trials_dataframe().equals(reference.trials_dataframe().assign(
        seconds=resumed.trials_dataframe().seconds))
    again = _Counter()
    _explorer(tmp_path / "run", again, **SMALL).search()
    assert again.fits == 0


def test_max_trials_stops_and_later_run_continues(tmp_path):
    explorer = _explorer(tmp_path, **{**SMALL, "max_trials": 1})
    explorer.search()
    assert not explorer.complete and len(explorer.trials) == 1
    assert explorer.found_rates == [0.3]
    continued = _explorer(tmp_path, **SMALL)
    continued.search()
    assert continued.complete and continued.trained_this_run == len(continued.trials) - 1 == 3


def test_initial_weights_are_those_every_trial_starts_from(tmp_path):
    explorer = _explorer(tmp_path, **{**SMALL, "max_trials": 1})
    with pytest.raises(FileNotFoundError, match="initial_weights.npz does not exist yet"):
        explorer.initial_weights()
    explorer.search()
    weights = explorer.initial_weights()
    trial_start = explorer.runner.fresh_model(0.1).get_weights()
    assert len(weights) == len(trial_start) > 0
    for loaded, started in zip(weights, trial_start, strict=True):
        np.testing.assert_array_equal(loaded, started)
    reopened = _explorer(tmp_path, **SMALL).initial_weights()  # another process, same file
    np.testing.assert_array_equal(reopened[0], weights[0])


def test_time_budget_stops_before_the_next_trial(tmp_path):
    counter = _Counter()
    explorer = _explorer(tmp_path, counter, **{**SMALL, "time_budget": 1e-9})
    assert explorer.search() == [] and not explorer.complete and counter.fits == 0
    assert json.loads((tmp_path / "found_rates.json").read_text()) == {
        "found_rates": [], "complete": False}


def test_changed_configuration_on_same_directory_is_refused(tmp_path):
    _explorer(tmp_path, **{**SMALL, "max_trials": 1}).search()
    with pytest.raises(ValueError, match="another configuration"):
        _explorer(tmp_path, **{**SMALL, "top_k": 2}).search()


def test_exploitation_switches_rate_when_objective_worsens(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    explorer = _explorer(tmp_path, verbose=0)
    test_x = _data()[1][0]
    model = explorer.exploit(rates=[0.4, 0.01], max_epochs=12, test_data=(test_x, None),
                             patience=1)
    history = explorer.exploitation_history
    assert 1 <= len(history) <= 12 and history[0]["rate"] == 0.4 and history[0]["improved"]
    best = np.inf
    for previous, current in zip(history, history[1:], strict=False):
        switched = current["rate"] != previous["rate"]
        assert switched == (not previous["improved"])
    for h in history:
        assert h["improved"] == (h["val_loss"] < best)
        best = min(best, h["val_loss"])
    # With seed 1 this run stops early: 0.4 improves two epochs, then neither rate
    # improves (one epoch each), a whole pass without improvement.
    assert [h["improved"] for h in history] == [True, True, False, False]
    assert [h["rate"] for h in history[-2:]] == [0.4, 0.01]
    assert not history[-1]["improved"] and not history[-2]["improved"]
    assert explorer.best_score == pytest.approx(best)
    # The returned model carries the best weights; predictions were written for them.
    assert model.evaluate(*_data()[1], verbose=0) == pytest.approx(best, rel=1e-5)
    predictions = np.loadtxt(tmp_path / "exploit" / "predictions.csv", delimiter=",")
    np.testing.assert_allclose(predictions, model.predict(test_x, verbose=0)[:, 0], rtol=1e-5)
    assert (tmp_path / "exploit" / "history.csv").read_text().startswith("epoch,rate,val_loss")
    assert explorer.plot_exploitation() is not None


class _RaiseAtEpoch(keras.callbacks.Callback):
    """Raises at the end of the chosen (0-based, global) epoch: a kill mid-exploitation."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("killed")


def test_exploitation_resumes_and_ends_as_an_uninterrupted_run(tmp_path):
    # Shuffled batches and Adam's moments: a restart from the initial weights, a lost
    # optimizer state or a different shuffle order would each change the curve.
    def build(rate):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
                                  keras.layers.Dense(1)])
        model.compile(keras.optimizers.Adam(rate), "mse", run_eagerly=True)
        return model

    train, val = _data()

    def explorer(directory, *callbacks):
        return LRExplorer(build, train, val, directory=str(directory), seed=3, batch_size=32,
                          verbose=0, fit_kwargs={"callbacks": list(callbacks)})

    rates = [0.05, 0.003]
    whole = explorer(tmp_path / "whole")
    expected = whole.exploit(rates=rates, max_epochs=8)
    assert {h["rate"] for h in whole.exploitation_history} == set(rates)  # both rates used
    with pytest.raises(RuntimeError, match="killed"):
        explorer(tmp_path / "cut", _RaiseAtEpoch(4)).exploit(rates=rates, max_epochs=8)
    counter = _Counter()
    resumed = explorer(tmp_path / "cut", counter)
    model = resumed.exploit(rates=rates, max_epochs=8)
    assert counter.fits == len(whole.exploitation_history) - 4  # epochs 5.. only
    assert resumed.exploitation_history == whole.exploitation_history
    assert resumed.best_score == whole.best_score
    for a, b in zip(model.get_weights(), expected.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # A finished run is not trained again; other rates start over.
    again = _Counter()
    explorer(tmp_path / "cut", again).exploit(rates=rates, max_epochs=8)
    assert again.fits == 0
    other = _Counter()
    explorer(tmp_path / "cut", other).exploit(rates=[0.01], max_epochs=2)
    assert other.fits == 2


def test_exploitation_writes_predictions_of_a_model_with_dict_outputs(tmp_path):
    # The README's VAE predicts a dict; each output goes to its own CSV.
    def build(rate):
        inputs = keras.Input((4,))
        outputs = {"mean": keras.layers.Dense(1)(inputs), "code": keras.layers.Dense(3)(inputs)}
        model = keras.Model(inputs, outputs)
        # Every output has a loss and a target: Keras 3.5 cannot train one without.
        model.compile(keras.optimizers.SGD(rate), loss={"mean": "mse", "code": "mse"},
                      run_eagerly=True)
        return model

    train, val = _data()
    def targets(x, y):
        return {"mean": y, "code": np.zeros((len(x), 3), "float32")}

    explorer = LRExplorer(build, (train[0], targets(*train)), (val[0], targets(*val)),
                          directory=str(tmp_path), batch_size=32, verbose=0)
    model = explorer.exploit(rates=[0.05], max_epochs=2, test_data=(val[0],))
    expected = model.predict(val[0], verbose=0)
    for key, width in (("mean", 1), ("code", 3)):
        written = np.loadtxt(tmp_path / "exploit" / f"predictions_{key}.csv", delimiter=",",
                             ndmin=2)
        assert written.shape == (64, width)
        np.testing.assert_allclose(written, expected[key].reshape(64, width), rtol=1e-5,
                                   atol=1e-6)


def test_plot_exploration_one_panel_per_digit(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    explorer = _explorer(tmp_path, **SMALL)
    explorer.search()
    axes = explorer.plot_exploration()
    assert [a.get_title() for a in axes] == ["digit 1", "digit 2"]
    assert axes[0].get_ylabel() == "1/val_loss"


@pytest.mark.backend_agnostic
def test_paper_worst_case_budget(tmp_path):
    explorer = LRExplorer(_build, (np.zeros((4, 4)), np.zeros((4, 1))), (None, None),
                          directory=str(tmp_path))
    # 9 coarse + 2 digits x 2 winners x 15 offsets = 69 trials of 50 epochs; the paper's
    # 3,500 also counts the coarse rate 0.000, which cannot train.
    assert explorer.worst_case_trials() == 69
    assert explorer.worst_case_epochs() == 3450


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"coarse_lrs": ()}, "coarse_lrs"),
        ({"coarse_lrs": (0.01, 0.0)}, r"coarse_lrs\[1\]"),
        ({"coarse_lrs": (0.01, -0.1)}, r"coarse_lrs\[1\]"),
        ({"digits": 0}, "digits"),
        ({"top_k": 0}, "top_k"),
        ({"epochs_per_trial": 0}, "epochs_per_trial"),
        ({"refine_offsets": []}, "refine_offsets"),
        ({"direction": "up"}, "direction"),
    ],
)
def test_bad_arguments_raise_at_construction(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        _explorer(tmp_path, **overrides)
    assert not (tmp_path / "trials").exists()


def test_objective_not_produced_raises_before_training(tmp_path):
    counter = _Counter()
    with pytest.raises(ValueError, match="not produced by training"):
        _explorer(tmp_path, counter, objective="val_accuracy").search()
    assert counter.fits == 0
    train, _ = _data()
    with pytest.raises(ValueError, match="val_data"):
        LRExplorer(_build, train, None, objective="val_loss", directory=str(tmp_path))


def test_parent_that_wins_again_is_refined_one_digit_further(tmp_path):
    # One SGD step from w = 0 on (w - 1)^2 gives w = 2 lr: the loss after it is
    # (2 lr - 1)^2, exactly zero at lr = 0.5, so 0.5 wins every digit.
    def build(rate):
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(
            1, use_bias=False, kernel_initializer="zeros")])
        model.compile(keras.optimizers.SGD(rate), "mse", run_eagerly=True)
        return model

    ones = (np.ones((1, 1), "float32"), np.ones((1, 1), "float32"))
    explorer = LRExplorer(build, ones, ones, coarse_lrs=(0.6, 0.5, 0.4), epochs_per_trial=1,
                          top_k=1, digits=3, refine_offsets=(1, 0, -1), directory=str(tmp_path),
                          batch_size=1, verbose=0)
    assert explorer.search() == [0.5]
    frame = explorer.trials_dataframe()
    assert list(zip(frame.digit, frame.rate, strict=True)) == [
        (1, 0.6), (1, 0.5), (1, 0.4), (2, 0.51), (2, 0.49), (3, 0.501), (3, 0.499)]
    np.testing.assert_allclose(frame.score, (2 * frame.rate - 1) ** 2, atol=1e-6)
