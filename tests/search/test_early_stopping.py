"""The explorer's median-stopping rule, on scripted objectives whose stops are known by hand."""

import math

import keras
import numpy as np
import pytest

from tests.search.helpers import Counter as _Counter
from tests.search.helpers import build as _build
from tests.search.helpers import data as _data
from tests.search.helpers import trial_files
from tf_lropt.search import LRExplorer
from tf_lropt.search.stopping import median_rule_stops

# ------------------------------------------------------------------- the rule


@pytest.mark.backend_agnostic
def test_rule_compares_best_so_far_with_the_median_at_the_same_epoch():
    references = [[5, 4, 3, 2], [6, 5, 4, 3], [4, 3, 2, 1]]  # best up to epoch 2: 4, 5, 3
    assert median_rule_stops([9, 8], references, "min", grace_epochs=1, min_trials=2)
    assert not median_rule_stops([9, 4], references, "min", 1, 2)  # 4 ties the median: goes on
    assert not median_rule_stops([3.9, 9], references, "min", 1, 2)  # its best, not its last
    assert not median_rule_stops([9, 8], references, "min", grace_epochs=2, min_trials=2)
    assert not median_rule_stops([9, 8], references, "min", 1, min_trials=4)
    # References shorter than the epoch do not count: at epoch 3 two remain, median(4, 2) = 3
    # (counting the short one, median(4, 4, 2) = 4, would let 3.5 go on).
    short = [[5, 4], [6, 5, 4], [4, 3, 2]]
    assert median_rule_stops([9, 9, 3.5], short, "min", 1, 2)
    assert not median_rule_stops([9, 9, 3.5], short, "min", 1, 3)
    # "max": higher is better; the median of 0.5, 0.7, 0.9 is 0.7.
    accuracies = [[0.5, 0.5], [0.6, 0.7], [0.9, 0.8]]
    assert median_rule_stops([0.6, 0.65], accuracies, "max", 1, 3)
    assert not median_rule_stops([0.6, 0.75], accuracies, "max", 1, 3)
    # A diverged trial stops; diverged references count as the worst values.
    assert median_rule_stops([math.nan, math.nan], references, "min", 1, 2)
    assert not median_rule_stops([9, 8], [[math.nan] * 2] * 2 + [[1, 1]], "min", 1, 3)


# ------------------------------------------------------- in the explorer's search

# The objective each rate reports at epochs 1-4 (written over the real val_loss).
CURVES = {
    0.5: [5, 4, 3, 2],
    0.4: [6, 5, 4, 3],  # one reference only (min_trials=2): trains on
    0.3: [4, 3, 2, 1],  # better than the median of 0.5 and 0.4 at epochs 2 and 3
    0.2: [9, 8, 7, 6],  # epoch 2: best 8 > median(4, 5, 3) = 4: stops after 2 epochs
    0.1: [4.5, 4.4, 4.3, 0.1],  # epoch 2: 4.4 < median(4, 5, 3, 8) = 4.5 goes on; epoch 3:
    # 4.3 > median(3, 4, 2) = 3 (0.2 ran 2 epochs): stops, its late 0.1 never seen
    0.31: [7, 6, 5, 0.9],  # digit 2: no reference of its digit yet, trains on and wins
    0.29: [3, 2, 1.5, 1.2],  # one reference only
    0.11: [3, 2, 1, 0.5], 0.09: [3, 2, 1, 0.6],  # digit 2 without early stopping
}
EXPECTED = {  # rate: (epochs, score, stopped)
    0.5: (4, 2, False), 0.4: (4, 3, False), 0.3: (4, 1, False), 0.2: (2, 8, True),
    0.1: (3, 4.3, True), 0.31: (4, 0.9, False), 0.29: (4, 1.2, False)}


class _Scripted(keras.callbacks.Callback):
    """Replaces the logged val_loss by the rate's scripted value at that epoch."""

    def on_epoch_end(self, epoch, logs=None):
        rate = round(float(np.array(self.model.optimizer.learning_rate)), 6)
        logs["val_loss"] = CURVES[rate][epoch]


def _explorer(directory, counter=None, **overrides):
    train, val = _data()
    callbacks = [_Scripted()] + ([counter] if counter else [])
    kwargs = dict(objective="val_loss", coarse_lrs=(0.5, 0.4, 0.3, 0.2, 0.1), epochs_per_trial=4,
                  top_k=1, digits=2, refine_offsets=(1, 0, -1), directory=str(directory),
                  seed=1, batch_size=64, verbose=0, fit_kwargs={"callbacks": callbacks},
                  early_stopping="median", early_stopping_grace=1, early_stopping_min_trials=2)
    kwargs.update(overrides)
    return LRExplorer(_build, train, val, **kwargs)


def _outcome(explorer):
    return {t["rate"]: (t["epochs"], t["score"], t["stopped"]) for t in explorer.trials.values()}


def test_median_stopping_stops_the_known_trials_and_ranks_them_by_their_best(tmp_path):
    counter = _Counter()
    explorer = _explorer(tmp_path, counter)
    assert explorer.search() == [0.31] and explorer.complete
    assert _outcome(explorer) == EXPECTED
    assert counter.fits == 7 and explorer.explored_epochs() == 25  # 28 without stopping
    record = explorer.trials["0.1"]
    assert record["curve"] == [4.5, 4.4, 4.3] and record["best_epoch"] == 3
    # KerasTuner's trial file holds it: the objective per epoch and the stop.
    state = next(s for s in trial_files(tmp_path).values()
                 if s["hyperparameters"]["values"]["rate"] == "0.1")
    metrics = state["metrics"]["metrics"]
    assert [o["value"] for o in metrics["val_loss"]["observations"]] == [[4.5], [4.4], [4.3]]
    assert metrics["trial_stopped"]["observations"][-1]["value"] == [1.0]
    frame = explorer.trials_dataframe()
    assert list(frame[frame.stopped].rate) == [0.2, 0.1]
    config = explorer.oracle.get_state()["explorer_config"]
    assert (config["early_stopping"], config["early_stopping_grace"],
            config["early_stopping_min_trials"]) == ("median", 1, 2)


def test_without_early_stopping_every_trial_trains_all_epochs(tmp_path):
    explorer = _explorer(tmp_path, early_stopping=None)
    # 0.1's late 0.1 wins the first digit; then 0.11 (0.5) beats 0.1 and 0.09.
    assert explorer.search() == [0.1]
    assert {t["epochs"] for t in explorer.trials.values()} == {4}
    assert not any(t["stopped"] for t in explorer.trials.values())
    assert "early_stopping" not in explorer.oracle.get_state()["explorer_config"]


def test_interrupted_search_with_early_stopping_resumes_to_the_same_result(tmp_path):
    with pytest.raises(RuntimeError, match="interrupted"):
        _explorer(tmp_path, _Counter(raise_in=5)).search()  # in 0.1's trial
    counter = _Counter()
    resumed = _explorer(tmp_path, counter)
    assert resumed.search() == [0.31]
    assert counter.fits == 3 and _outcome(resumed) == EXPECTED  # 0.1, 0.31, 0.29
    with pytest.raises(ValueError, match="another configuration"):
        _explorer(tmp_path, early_stopping_grace=2).search()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"early_stopping": "halving"}, r"early_stopping.*None, 'median'.*'halving'"),
        ({"early_stopping_grace": 0}, r"early_stopping_grace.*0"),
        ({"early_stopping_min_trials": 0}, r"early_stopping_min_trials.*0"),
    ],
)
def test_bad_early_stopping_arguments_raise(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        _explorer(tmp_path, **overrides)
