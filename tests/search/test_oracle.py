"""The explorer's Oracle alone (no training): what it hands out after kills and restarts."""

import time

import pytest

pytest.importorskip("keras_tuner")

from keras_tuner.engine.trial import TrialStatus  # noqa: E402

from tf_lropt.search.oracle import ExplorerOracle, read_trial_files  # noqa: E402
from tf_lropt.search.settings import SearchSettings  # noqa: E402

# Coarse 0.3, 0.2, 0.1 (one digit): three trials, handed out in descending order.
CONFIG = SearchSettings.checked("val_loss", "min", (0.3, 0.2, 0.1), 2, 1, 1, (1, 0, -1), 0, None,
                                1, 3, has_val_data=True).as_config()


def _oracle(directory, **kwargs):
    oracle = ExplorerOracle(CONFIG, **kwargs)
    oracle._set_project_dir(str(directory), "keras_tuner")
    oracle.load(str(directory))
    return oracle


def _train(oracle, trial, losses):
    for epoch, loss in enumerate(losses):
        oracle.update_trial(trial.trial_id, {"val_loss": loss, "trial_epochs": epoch + 1,
                                             "trial_stopped": 0.0, "trial_seconds": 1.0},
                            step=epoch)


def _finish(oracle, trial, losses):
    _train(oracle, trial, losses)
    trial.status = TrialStatus.COMPLETED
    oracle.end_trial(trial)


def _rate(trial):
    return trial.hyperparameters.values["rate"]


def test_a_reloaded_oracle_never_hands_out_a_finished_trial(tmp_path):
    oracle = _oracle(tmp_path)
    first, second = oracle.create_trial("w0"), oracle.create_trial("w1")
    assert (_rate(first), _rate(second)) == ("0.3", "0.2")
    _finish(oracle, first, [3.0, 2.0])
    # The chief dies as KerasTuner's own end_trial leaves it: oracle.json saved while the
    # finished trial was still listed as running (the trial file says COMPLETED).
    oracle.ongoing_trials["w0"] = first
    oracle.end_order.remove(first.trial_id)
    oracle.save()
    restarted = _oracle(tmp_path)
    handed = [_rate(restarted.create_trial(w)) for w in ("a", "b")]
    assert handed == ["0.2", "0.1"]  # w1's unfinished trial again, then the last rate
    assert restarted.create_trial("c").status == TrialStatus.IDLE
    records = {r["key"]: r for r in read_trial_files(str(tmp_path / "keras_tuner"), "val_loss")}
    assert records["0.3"]["score"] == 2.0 and records["0.3"]["worker"] == "w0"
    assert records["0.3"]["curve"] == [3.0, 2.0] and records["0.3"]["best_epoch"] == 2


def test_a_silent_workers_trial_goes_to_the_next_asker_and_restarts_its_curve(tmp_path):
    oracle = _oracle(tmp_path, worker_timeout=0.05)
    lost = oracle.create_trial("dead")
    _train(oracle, lost, [9.0])  # one epoch reported, then silence
    for worker, rate in (("w1", "0.2"), ("w2", "0.1")):
        assert _rate(oracle.create_trial(worker)) == rate
    assert oracle.create_trial("w3").status == TrialStatus.IDLE  # "dead" reported lately
    time.sleep(0.1)
    oracle._heard["w1"] = oracle._heard["w2"] = time.time()  # these two are alive
    taken = oracle.create_trial("w3")
    assert taken.trial_id == lost.trial_id and "dead" not in oracle.tuner_ids
    assert not taken.metrics.metrics  # the dead worker's epoch does not mix into the curve
    _finish(oracle, taken, [4.0, 1.0])
    late = oracle.trials[lost.trial_id]
    oracle.update_trial(lost.trial_id, {"val_loss": 0.5}, step=1)  # the "dead" one, late
    assert late.score == 1.0 and oracle.workers[lost.trial_id] == "w3"
    assert [o.mean() for o in late.metrics.get_history("val_loss")] == [4.0, 1.0]


def test_a_worker_restarted_under_its_id_gets_its_trial_with_an_empty_curve(tmp_path):
    oracle = _oracle(tmp_path)
    trial = oracle.create_trial("w0")
    _train(oracle, trial, [9.0, 8.0])
    again = oracle.create_trial("w0")
    assert again.trial_id == trial.trial_id and not again.metrics.metrics
