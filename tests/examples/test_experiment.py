"""The shared Experiment: command line, plan skipping, paired batches, resume, claims, pages."""

import json
import os

from _harness import claims, models
from _harness.experiment import Experiment, Scale, format_mean_std, per_seed
from _harness.results import ResultsDir
from _harness.training import Batches, BestWeights, Method, Plan, train

import keras
import numpy as np
import pytest

SCALES = {
    "full": Scale(None, None, 3, 16, seeds=(0, 1, 2)),
    "reduced": Scale(48, 16, 2, 16, seeds=(0, 1)),
    "smoke": Scale(32, 16, 1, 16),
}


def _experiment(**kwargs) -> Experiment:
    return Experiment("expT", "test", SCALES, default_dataset="mnist",
                      datasets=("mnist", "fashion_mnist"), **kwargs)


@pytest.mark.backend_agnostic
def test_parse_resolves_scale_and_seeds():
    experiment = _experiment(default_scale="reduced")
    args = experiment.parse([])
    assert args.scale == "reduced" and args.seeds == [0, 1] and args.dataset == "mnist"
    assert experiment.parse(["--quick"]).scale == "reduced"  # the old flag still works
    args = experiment.parse(["--smoke", "--seed", "4", "--dataset", "fashion_mnist"])
    assert args.seeds == [4] and args.scale == "smoke" and experiment.scale is SCALES["smoke"]
    assert experiment.parse(["--full", "--seeds", "5", "6"]).seeds == [5, 6]
    with pytest.raises(ValueError, match="--seed or --seeds"):
        experiment.parse(["--seed", "1", "--seeds", "2"])
    with pytest.raises(SystemExit):
        experiment.parse(["--dataset", "imagenet"])
    with pytest.raises(ValueError, match="missing"):
        Experiment("x", "x", {"full": SCALES["full"]})


@pytest.mark.backend_agnostic
def test_default_scale_is_reduced_without_a_gpu(monkeypatch):
    import _harness.experiment as experiment_module

    monkeypatch.setattr(experiment_module, "gpu_present", lambda: False)
    assert _experiment().parse([]).scale == "reduced"
    monkeypatch.setattr(experiment_module, "gpu_present", lambda: True)
    assert _experiment().parse([]).scale == "full"


@pytest.mark.backend_agnostic
def test_batches_are_paired_per_seed_and_cover_every_pass():
    x = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
    y = np.arange(10) % 3
    first, again = Batches(x, y, 4, 5, seed=7), Batches(x, y, 4, 5, seed=7)
    seen = np.concatenate([first.indices(step) for step in range(5)])  # 20 = two passes
    assert sorted(seen[:10]) == list(range(10)) and sorted(seen[10:]) == list(range(10))
    assert not np.array_equal(seen[:10], seen[10:])  # a fresh order for every pass
    again.period = 1  # period 1, batch 0 is global step 5, whatever ran before
    np.testing.assert_array_equal(again[0][0][:, 0, 0, 0], first.indices(5).astype("float32"))
    images, labels = first[0]
    assert images.dtype == np.float32 and labels.shape == (4, 3 + 7)  # one-hot, 10 classes
    other = Batches(x, y, 4, 5, seed=8)
    assert not np.array_equal(other.indices(0), first.indices(0))
    with pytest.raises(ValueError, match="batch_size"):
        Batches(x, y, 11, 1, seed=0)


def _mlp(shape):
    return models.build_mlp(shape, (8,), activation="relu")


def test_plan_skips_finished_runs_and_publish_only_trains_nothing(tmp_path, capsys):
    methods = [Method("sgd", lambda plan: keras.optimizers.SGD(0.05), config={"lr": 0.05}),
               Method("adam", lambda plan: keras.optimizers.Adam(1e-3), config={"lr": 1e-3})]
    argv = ["--reduced", "--synthetic", "--results-dir", str(tmp_path)]

    def run(extra=()):
        experiment = _experiment()
        experiment.parse([*argv, *extra])
        splits = experiment.load()
        plan = experiment.scale.plan(len(splits.train[1]))
        return experiment, splits, plan, experiment.run(methods, _mlp, splits, plan, pad_to=None)

    experiment, splits, plan, runs = run()
    assert sorted(runs) == [0, 1] and sorted(runs[0]) == ["adam", "sgd"]
    assert plan == Plan(2, 3, 16) and len(splits.train[1]) == 48
    assert runs[0]["sgd"][0]["epoch"] == [1, 2]
    # Where a run ran is stored with it, and the provenance line names that, not the publisher.
    assert runs[0]["sgd"][1]["backend"] == keras.backend.backend()
    for by_method in runs.values():
        for _, summary in by_method.values():
            summary.update(backend="elsewhere", hardware="a lent GPU")
    provenance = experiment.provenance(splits, plan, "mlp", runs)
    assert (provenance["backend"], provenance["hardware"]) == ("elsewhere", "a lent GPU")
    note = experiment.note("detail", [summary for _, summary in runs[0].values()])
    assert "a lent GPU, elsewhere backend" in note
    assert f"{keras.backend.backend()} backend" in experiment.note("detail")  # nothing recorded
    capsys.readouterr()
    _, _, _, again = run()
    assert capsys.readouterr().out.count("finished earlier, loaded") == 4
    assert again[1]["adam"][1]["final_test_accuracy"] == runs[1]["adam"][1][
        "final_test_accuracy"]
    publisher, _, _, partial = run(["--seeds", "0", "2", "--publish-only"])
    assert partial[2]["sgd"] == ({}, {"not_run": True})
    assert publisher.provenance(splits, plan, "mlp", partial)["seeds"] == [0]  # 2 never ran
    values = per_seed(partial, "sgd")
    assert values[0] == runs[0]["sgd"][1]["final_test_accuracy"] and values[1] is None
    assert format_mean_std([None, None]) == "not run"
    assert format_mean_std([80.0, 82.0]) == "81.00 ± 1.41"
    assert not os.path.exists(tmp_path / "expT_mnist" / "runs" / "sgd_seed_2.json")


@pytest.mark.backend_agnostic
def test_list_runs_prints_the_plan_and_trains_nothing(tmp_path, capsys):
    methods = [Method("sgd", lambda plan: keras.optimizers.SGD(0.05), config={"lr": 0.05}),
               Method("adam", lambda plan: keras.optimizers.Adam(1e-3), config={"lr": 1e-3})]
    experiment = _experiment()
    experiment.parse(["--reduced", "--synthetic", "--results-dir", str(tmp_path), "--methods",
                      "adam", "--list-runs"])
    splits = experiment.load()
    with pytest.raises(SystemExit) as exited:
        experiment.run(methods, _mlp, splits, experiment.scale.plan(len(splits.train[1])),
                       pad_to=None)
    assert exited.value.code == 0
    assert capsys.readouterr().out.splitlines() == ["run\t0\tadam", "run\t1\tadam"]
    assert os.listdir(tmp_path / "expT_mnist" / "runs") == []


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt


def test_interrupted_run_resumes_where_it_stopped(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 4, 4, 1)).astype("uint8")
    y = rng.integers(0, 3, 64)
    plan = Plan(4, 4, 16)

    def build():
        inputs = keras.Input((4, 4, 1))
        return keras.Model(inputs, _mlp((4, 4, 1))(keras.layers.Rescaling(1 / 255)(inputs)))

    def go(name, out, callbacks=()):
        return train(name, build, x, y, plan, out, {"name": "mlp"},
                     optimizer=lambda: keras.optimizers.Adam(1e-2),
                     summarize=lambda history, model: {
                         "weights": [w.tolist() for w in model.get_weights()]},
                     loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                     callbacks=callbacks, seed=3, run_eagerly=True)

    straight = go("straight", ResultsDir(str(tmp_path), "a"))[0]
    reference = json.loads((tmp_path / "a" / "runs" / "straight.json").read_text())["weights"]
    out = ResultsDir(str(tmp_path), "b")
    with pytest.raises(KeyboardInterrupt):
        go("cut", out, [_Interrupt()])
    assert os.path.isdir(tmp_path / "b" / "runs" / "cut.backup")
    capsys.readouterr()
    history, summary = go("cut", out)
    assert "resuming after period 1 of 4" in capsys.readouterr().out
    assert history["epoch"] == [1, 2, 3, 4] and history["step"] == straight["step"]
    assert history["seconds"] == sorted(history["seconds"])
    np.testing.assert_allclose(history["loss"], straight["loss"], rtol=1e-4)
    for resumed, uninterrupted in zip(summary["weights"], reference, strict=True):
        np.testing.assert_allclose(resumed, uninterrupted, rtol=1e-4, atol=1e-6)
    assert not os.path.exists(tmp_path / "b" / "runs" / "cut.backup")


class _Spoil(keras.callbacks.Callback):
    """Sets every weight far off at the start of each epoch: no later epoch can be the best."""

    def on_epoch_begin(self, epoch, logs=None):
        self.model.set_weights([np.full_like(w, 50.0) for w in self.model.get_weights()])


def test_best_weights_survive_a_resume_and_are_tested_at_checkpoints(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 4, 4, 1)).astype("uint8")
    y = rng.integers(0, 10, 64)
    validation = (x.astype("float32"), np.eye(10, dtype="float32")[y])
    tested = []

    def evaluate(model):
        tested.append(float(model.evaluate(*validation, verbose=0)))
        return tested[-1]

    def go(callbacks=()):
        best = BestWeights("val_loss", checkpoints=(1, 4), evaluate=evaluate)
        history, summary = train(
            "best", lambda: keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Rescaling(
                1 / 255), _mlp((4, 4, 1))]), x, y, Plan(4, 4, 16), out, {"name": "mlp"},
            optimizer=lambda: keras.optimizers.Adam(1e-2),
            summarize=lambda history, model: {
                "weights": [w.tolist() for w in model.get_weights()]},
            loss=keras.losses.CategoricalCrossentropy(from_logits=True),
            validation_data=validation, callbacks=callbacks,
            best_weights=best, seed=3, run_eagerly=True)
        return history, summary, best

    out = ResultsDir(str(tmp_path), "a")
    with pytest.raises(KeyboardInterrupt):
        go([_Interrupt()])
    with np.load(tmp_path / "a" / "runs" / "best.backup" / "best.npz") as stored:
        state = json.loads(str(stored["state"]))
        before = [stored[f"w{i}"] for i in range(state["n_weights"])]
    # The interruption came at the end of epoch 2, before its state was saved.
    assert state["best_epoch"] == 1 and list(state["tested"]) == ["1"]
    assert state["tested"]["1"]["test"] == tested[0]

    # Resumed with every later epoch spoiled: the best weights from before the interruption
    # are the ones tested at epoch 4 and the ones the run ends with.
    history, summary, best = go([_Spoil()])
    assert "resuming after period 1 of 4" in capsys.readouterr().out
    assert min(history["val_loss"][1:]) > state["best"] == best.best
    assert best.best_epoch == state["best_epoch"] and sorted(best.tested) == [1, 4]
    assert best.tested[4] == {"test": tested[-1], "best": state["best"],
                              "best_epoch": state["best_epoch"]}
    assert best.tested[4]["test"] == pytest.approx(state["best"], rel=1e-5)
    for ended, stored in zip(summary["weights"], before, strict=True):
        np.testing.assert_array_equal(np.array(ended, dtype=stored.dtype), stored)
    assert not os.path.exists(tmp_path / "a" / "runs" / "best.backup")
    with pytest.raises(ValueError, match="checkpoints \\[4\\] need an evaluate function"):
        BestWeights(checkpoints=(4,))


@pytest.mark.parametrize("other_deletes_its_lock", [False, True])
def test_a_run_another_process_is_training_is_waited_for_then_loaded(tmp_path, capsys,
                                                                     other_deletes_its_lock):
    fcntl = pytest.importorskip("fcntl")
    import threading

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (32, 4, 4, 1)).astype("uint8")
    y = rng.integers(0, 10, 32)
    out = ResultsDir(str(tmp_path), "a")
    built = []

    def go():
        def build():
            built.append(1)
            return keras.Sequential([keras.Input((4, 4, 1)), _mlp((4, 4, 1))])

        return train("shared", build, x, y, Plan(1, 2, 16), out, {"name": "mlp"},
                     optimizer=lambda: keras.optimizers.SGD(0.01), summarize=lambda h, m: {},
                     loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                     run_eagerly=True)

    # The "other process": holds the run's lock (a separate open file, as a process would).
    with open(tmp_path / "a" / "runs" / "shared.lock", "a") as other:
        fcntl.flock(other, fcntl.LOCK_EX)
        result = []
        waiter = threading.Thread(target=lambda: result.append(go()))
        waiter.start()
        waiter.join(timeout=1.0)
        assert waiter.is_alive() and not built  # waiting, not training into the same backup
        out.save_run("shared", {"name": "mlp"}, {"epoch": [1]}, {"by": "the other process"})
        if other_deletes_its_lock:  # as train() does: the waiter must lock the path anew
            os.remove(tmp_path / "a" / "runs" / "shared.lock")
        fcntl.flock(other, fcntl.LOCK_UN)
    waiter.join()
    log = capsys.readouterr().out
    assert "another process is training it; waiting" in log and "finished earlier" in log
    assert result[0][1]["by"] == "the other process" and not built  # loaded, not retrained
    assert not [f for f in os.listdir(tmp_path / "a" / "runs") if f.endswith(".lock")]


def test_a_backup_of_another_configuration_is_not_restored(tmp_path, capsys):
    from _harness.training import _resume_state

    backup = tmp_path / "run.backup"
    assert _resume_state(str(backup), {"lr": 0.1}) == []
    (backup / "training_metadata.json").write_text(json.dumps({"epoch": 1}))
    (backup / "history.json").write_text(json.dumps([{"epoch": 1}, {"epoch": 2}]))
    assert _resume_state(str(backup), {"lr": 0.1}) == [{"epoch": 1}]  # cut to the backup
    assert _resume_state(str(backup), {"lr": 0.2}) == []  # another run: backup removed
    assert not (backup / "history.json").exists()


@pytest.mark.backend_agnostic
def test_verdicts_on_hand_checkable_numbers():
    held = claims.compare([91.0, 92.0, 93.0], [90.0, 91.0, 92.0], "a", "b")
    assert held.verdict == claims.HELD  # gap +1 every seed: sd 0
    assert "gap +1.00" in held.ours and "3 seeds" in held.ours
    # differences 1, -1, 0.5: mean 0.17, sd 1.04 -> within two sd
    assert claims.compare([91, 90, 90.5], [90, 91, 90], "a", "b").verdict == claims.INCONCLUSIVE
    # differences -2, -2.5, -1.5: mean -2, sd 0.5 -> 2 sd = 1 < 2
    assert claims.compare([88, 88.5, 89.5], [90, 91, 91], "a", "b").verdict == claims.NOT_HELD
    assert claims.compare([91.0], [90.0], "a", "b").verdict == claims.INCONCLUSIVE  # one seed
    # Two seeds agreeing on a 1-point gap (sd 0.05) are not enough; on a 6-point gap they are.
    close = claims.compare([85.0, 86.3], [86.0, 87.2], "a", "b")
    assert close.verdict == claims.INCONCLUSIVE and "needs 3 seeds" in close.ours
    assert claims.compare([80.0, 81.3], [86.0, 87.2], "a", "b").verdict == claims.NOT_HELD
    assert claims.compare([87.0, 88.3], [86.0, 87.2], "a", "b").verdict == claims.INCONCLUSIVE
    assert claims.compare([None], [90.0], "a", "b").verdict == claims.NOT_RUN
    # "at least": -0.5 within noise holds; -2 with sd 0.5 does not
    assert claims.compare([89.5, 90.5, 89.5], [90, 90, 90], "a", "b",
                          at_least=True).verdict == claims.HELD
    assert claims.compare([88, 88.5, 87.5], [90, 90, 90], "a", "b",
                          at_least=True).verdict == claims.NOT_HELD
    assert claims.compare([88.9, 89.0, 89.1], [90, 90, 90], "a", "b", at_least=True,
                          margin=1.0).verdict == claims.HELD


@pytest.mark.backend_agnostic
def test_paper_column_is_derived_from_the_transcribed_tables():
    """The claims' paper column comes from ``_harness/papers.py``; the statistics the robust
    recipe document prints beside its tables (table 2's spreads and means, table 3's 25-cell
    mean 97.03 / variance 0.11) must come out of our transcription of its cells, so a mistyped
    cell fails here."""
    paper = {c.text: c.paper for c in claims.CLAIMS}
    assert paper["RAdaBeliefW has the smallest spread over lr 0.1 / 0.01 / 0.001"] == (
        "spread 2.19 (next smallest: AdaBelief 2.97)")
    assert paper["AdamW, RAdam and AdaBelief are less accurate at lr 0.1 than at 0.01"] == (
        "mean 90.74 at 0.1 vs 95.82 at 0.01")
    assert paper["Adam diverges at lr 0.1"] == "diverged"
    grid = next(p for t, p in paper.items() if t.startswith("RAdaBeliefW is robust"))
    assert grid == "25 cells: mean 97.03, variance 0.11, max - min 1.15"
    assert paper["exp_range beats fixed, in 60 % of the iterations"] == (
        "82.2 at 42,000 vs 81.4 at 70,000")
    assert paper["AdaGrad + triangular at 25,000 beats fixed at 70,000"] == (
        "76.0 at 25,000 vs 74.6 at 70,000")
    assert paper["+CutMix adds accuracy"] == "94.51 -> 95.11"
    with pytest.raises(KeyError, match="25,000"):  # table 2 reads fixed at 70,000 only
        claims.paper_read_at("fixed", 25_000)


def _summary(runs: dict, **extra) -> dict:
    """A summary.json as Experiment.write makes it, from {method: [accuracy per seed]}."""
    seeds = len(next(iter(runs.values())))
    by_seed = {str(s): {m: ({"diverged": True, "final_test_accuracy": float("nan")}
                            if values[s] is None else {"final_test_accuracy": values[s]})
                        for m, values in runs.items()} for s in range(seeds)}
    return {"title": "t", "provenance": {"scale": "reduced"}, "runs": by_seed, **extra}


@pytest.mark.backend_agnostic
def test_adam_divergence_needs_two_seeds_for_a_verdict():
    def verdict(per_seed):
        return claims._adam_diverges(_summary({"Adam lr=0.1": per_seed})).verdict

    assert verdict([57.1]) == claims.INCONCLUSIVE  # one seed that trained
    assert verdict([None]) == claims.INCONCLUSIVE  # one seed that diverged
    assert verdict([57.1, 60.0]) == claims.NOT_HELD
    assert verdict([None, None]) == claims.HELD
    assert verdict([None, 60.0, None]) == claims.INCONCLUSIVE


def _write(root, folder, summary):
    os.makedirs(root / folder, exist_ok=True)
    (root / folder / "summary.json").write_text(json.dumps(summary))
    (root / folder / "table.md").write_text("# title\n\n_provenance_\n\n## caption\n\n| a |\n")


def test_claims_and_publishing_from_fake_results(tmp_path):
    from publish_results import publish

    _write(tmp_path, "exp2_robust_ablation_fashion_mnist", _summary({
        "Baseline": [90.0, 90.2, 90.1], "+cosine decay": [90.1, 90.0, 90.3],
        "+TrivialAugment": [91.0, 91.1, 91.2], "+CutMix": [90.0, 90.2, 90.1],
        "+Weight Decay off": [91.5, 91.6, 91.7]}))
    spread = {f"{o} lr={lr:g}": [90.0, 90.0, 90.0] for o in claims.EXP3_OPTIMIZERS
              for lr in claims.EXP3_RATES}
    spread.update({"NAG lr=0.001": [80.0, 81.0, 82.0], "Adam lr=0.1": [None, None, None],
                   "RAdaBeliefW lr=0.1": [89.0, 89.0, 89.0]})  # its spread 1, all others 0
    _write(tmp_path, "exp3_robust_optimizers_fashion_mnist", _summary(spread))
    judged = {c.text: v for c, v in claims.judge_all(str(tmp_path))}
    assert judged["+TrivialAugment adds accuracy"].verdict == claims.HELD
    assert judged["+CutMix adds accuracy"].verdict == claims.NOT_HELD
    assert judged["+cosine decay adds accuracy to the baseline"].verdict == claims.INCONCLUSIVE
    assert judged["the whole recipe beats the baseline"].verdict == claims.HELD
    assert judged["NAG loses much accuracy at a small rate"].verdict == claims.HELD
    assert judged["Adam diverges at lr 0.1"].verdict == claims.HELD
    assert judged["Adam diverges at lr 0.1"].ours == "diverged in 3 of 3 seeds"
    smallest = judged["RAdaBeliefW has the smallest spread over lr 0.1 / 0.01 / 0.001"]
    assert smallest.verdict == claims.NOT_HELD and "1.00" in smallest.ours
    assert judged["w10AdaBound generalizes better than AdaBound"].verdict == claims.NOT_RUN

    page = tmp_path / "page.md"
    markers = "".join(f"<!-- results:{m} -->\nold\n<!-- /results:{m} -->\n"
                      for m in ("claims", "exp1", "exp2", "exp3", "exp4", "exp7"))
    page.write_text(f"# Results\n\nkept text\n\n{markers}\nmore kept text\n")
    text = publish(str(tmp_path), str(page))
    assert "kept text" in text and "more kept text" in text and "\nold\n" not in text
    assert "5 held, 2 did not hold, 2 inconclusive" in text
    assert text.count("| **held** |") == 5 and "#### caption" in text and "_provenance_" in text
    assert "- reduced (default on a CPU): ResNet-20 at half width" in text  # exp2's protocol
    assert "not run** on fashion_mnist yet" in text  # exp1, exp4, exp7
    with pytest.raises(ValueError, match="results:exp1"):
        (tmp_path / "bad.md").write_text("no markers")
        publish(str(tmp_path), str(tmp_path / "bad.md"))
