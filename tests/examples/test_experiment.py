"""The shared Experiment: command line, plan skipping, paired batches, resume, claims, pages."""

import importlib
import json
import os

from _harness import claims, models
from _harness.experiment import Experiment, Scale, format_mean_std, per_seed
from _harness.results import ResultsDir
from _harness.training import Batches, BestWeights, Method, Plan, train

import exp1_warmup_adabound as exp1
import exp3_robust_optimizers as exp3
import exp7_cyclical_caffe as exp7
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
    with pytest.raises(ValueError, match="'medium'"):  # a script without a medium protocol
        experiment.parse(["--medium"])
    with pytest.raises(ValueError, match="among"):
        Experiment("x", "x", {**SCALES, "huge": SCALES["full"]})
    medium = Scale(64, 16, 4, 16, seeds=(3,), period=5)
    experiment = Experiment("x", "x", {**SCALES, "medium": medium})
    assert experiment.parse(["--medium"]).seeds == [3] and experiment.scale is medium
    assert medium.plan(64) == Plan(4, 5, 16)  # periods of 5 steps, not passes over the data


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


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.data path")
def test_pipeline_batches_are_the_numpy_batches_then_the_recipe():
    from _harness.training import Augmentation, augmented_batches

    def centred(images):  # 28 -> 32: two zero rows and columns on each side, by hand
        return np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))

    x = np.random.default_rng(0).integers(0, 256, (40, 28, 28, 1), dtype=np.uint8)
    y = np.arange(40) % 10
    batches = Batches(x, y, 8, 5, seed=3)
    plain = list(augmented_batches(batches, 10, 4, Augmentation(), pad_to=32))
    assert len(plain) == 6  # steps 4..9: what a run resumed after 4 steps still has to train
    for step, (images, labels) in zip(range(4, 10), plain, strict=True):
        chosen = batches.indices(step)
        np.testing.assert_array_equal(images.numpy(), centred(x[chosen]))
        np.testing.assert_array_equal(labels.numpy(), np.eye(10)[y[chosen]])

    def recipe():
        return [(images.numpy(), labels.numpy()) for images, labels in augmented_batches(
            batches, 4, 0, Augmentation(crop_flip=True, trivial_augment=True, cutmix=True), 32)]

    mixed, again = recipe(), recipe()
    for (images, labels), (images_again, labels_again) in zip(mixed, again, strict=True):
        assert images.shape == (8, 32, 32, 1) and 0 <= images.min() <= images.max() <= 255
        np.testing.assert_allclose(labels.sum(axis=1), 1.0, atol=1e-6)  # mixed, not lost
        np.testing.assert_array_equal(images, images_again)  # seeded: the same every run
        np.testing.assert_array_equal(labels, labels_again)
    # CutMix with probability 1 pastes a box into every image: labels of two classes appear.
    assert any(((labels > 0).sum(axis=1) == 2).any() for _, labels in mixed)
    unaugmented = [centred(x[batches.indices(step)]) for step in range(4)]
    assert not any(np.array_equal(a, b) for (a, _), b in zip(mixed, unaugmented, strict=True))


@pytest.mark.backend_agnostic
def test_padding_centres_an_image_and_leaves_a_large_one_alone():
    from _harness.training import pad_images, padding

    assert padding(28, 28, 32) == ((2, 2), (2, 2))
    assert padding(27, 30, 32) == ((2, 3), (1, 1))  # an odd difference: the extra row below
    assert padding(32, 40, 32) == ((0, 0), (0, 0)) == padding(28, 28, None)
    padded = pad_images(np.ones((1, 27, 30, 1)), 32)
    assert padded.shape == (1, 32, 32, 1) and padded.sum() == 27 * 30
    assert padded[0, 2:29, 1:31].min() == 1  # the image sits where padding says


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
    # summary.json's shape (seed -> method -> summary) reads the same; a diverged run reads as
    # the value given for it.
    stored = {seed: {name: summary for name, (_, summary) in by_method.items()}
              for seed, by_method in partial.items()}
    assert per_seed(stored, "sgd") == values
    assert per_seed({0: {"sgd": {"final_test_accuracy": 12.0, "diverged": True}}}, "sgd",
                    diverged=10.0) == [10.0]
    assert format_mean_std([None, None]) == "not run"
    assert format_mean_std([80.0, 82.0]) == "81.00 ± 1.41"
    assert not os.path.exists(tmp_path / "expT_mnist" / "runs" / "sgd_seed_2.json")


def test_main_trains_each_group_on_its_own_plan_and_plots_them_all(tmp_path, monkeypatch):
    from _harness import experiment as experiment_module

    plotted = []
    monkeypatch.setattr(experiment_module, "plot_runs", lambda by_seed, *args: plotted.append(
        sorted(name for by_method in by_seed.values() for name in by_method)))
    methods = [Method("sgd", lambda plan: keras.optimizers.SGD(0.05), config={"lr": 0.05}),
               Method("adam", lambda plan: keras.optimizers.Adam(1e-3), config={"lr": 1e-3})]

    def groups(experiment, chosen):  # adam runs one period, sgd the whole plan
        short = experiment.scale.plan(len(experiment.splits.train[1]), 1)
        return [([m], _mlp, short if m.name == "adam" else experiment.plan) for m in chosen]

    def tables(experiment, runs):
        return [("periods", str({seed: {name: len(history["epoch"])
                                        for name, (history, _) in by_method.items()}
                                 for seed, by_method in runs.items()}))]

    text = _experiment().main(  # --methods naming both groups' methods: each group trains
        ["--reduced", "--synthetic", "--seeds", "0", "--results-dir", str(tmp_path),
         "--methods", "sgd", "adam"],
        title="T", methods=lambda e: methods, model=lambda e: (_mlp, "mlp"), tables=tables,
        detail=lambda e: f"{e.plan.total_steps} steps", groups=groups)
    assert "{0: {'sgd': 2, 'adam': 1}}" in text and "6 steps" in text
    assert plotted == [["adam", "sgd"]]  # once, with both groups
    summary = json.loads((tmp_path / "expT_mnist" / "summary.json").read_text())
    assert sorted(summary["runs"]["0"]) == ["adam", "sgd"]


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
    assert os.listdir(tmp_path) == []  # nothing written, not even the results folder


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
    # "at least": within noise is "not refuted", not "held"; beyond 2 sd either way decides
    assert claims.compare([89.5, 90.5, 89.5], [90, 90, 90], "a", "b",
                          at_least=True).verdict == claims.NOT_REFUTED  # -0.17, 2 sd 1.15
    assert claims.compare([90.5, 91.5, 90.5], [90, 90, 90], "a", "b",
                          at_least=True).verdict == claims.NOT_REFUTED  # +0.83, 2 sd 1.15
    assert claims.compare([91.5, 92.0, 91.0], [90, 90, 90], "a", "b",
                          at_least=True).verdict == claims.HELD  # +1.5, 2 sd 1.0: shown
    assert claims.compare([88, 88.5, 87.5], [90, 90, 90], "a", "b",
                          at_least=True).verdict == claims.NOT_HELD
    assert claims.compare([88.9, 89.0, 89.1], [90, 90, 90], "a", "b", at_least=True,
                          margin=1.0).verdict == claims.NOT_REFUTED  # 0 +- 0.2 with the margin
    assert claims.compare([89.4, 89.5, 89.6], [90, 90, 90], "a", "b", at_least=True,
                          margin=1.0).verdict == claims.HELD  # +0.5 with the margin, 2 sd 0.2


def _curve(accuracy: list[float], rates: list[float] | None = None) -> dict:
    """A run's history as claims reads it: test accuracy (fractions) and rate per evaluation."""
    return {"step": [100.0 * (i + 1) for i in range(len(accuracy))], "val_accuracy": accuracy,
            "lr": rates or [0.001] * len(accuracy)}


@pytest.mark.backend_agnostic
def test_last_quarter_gain_reads_the_last_quarter_or_since_the_last_rate_cut():
    # 8 evaluations: the last quarter opens at the 7th (index 6): 0.80 -> 0.83 = +3 points
    rising = _curve([0.5, 0.6, 0.7, 0.75, 0.78, 0.79, 0.80, 0.83])
    assert claims.last_quarter_gain(rising) == pytest.approx(3.0)
    # 12 evaluations: a quarter is 3, from index 9 (0.81) to the last (0.813)
    flat = _curve([0.5, 0.6, 0.7, 0.75, 0.78, 0.79, 0.80, 0.80, 0.80, 0.81, 0.812, 0.813])
    assert claims.last_quarter_gain(flat) == pytest.approx(0.3)
    # a x0.1 cut at index 10 inside the last quarter: measured from there, not across the jump
    stepped = _curve([0.5, 0.6, 0.7, 0.75, 0.78, 0.79, 0.80, 0.80, 0.80, 0.80, 0.84, 0.842],
                     [0.001] * 10 + [0.0001] * 2)
    assert claims.last_quarter_gain(stepped) == pytest.approx(0.2)
    # a cut on the last evaluation still leaves two points to compare
    late = _curve([0.5, 0.6, 0.7, 0.8, 0.84], [0.001] * 4 + [0.0001])
    assert claims.last_quarter_gain(late) == pytest.approx(4.0)
    # a slow decay (cosine: never below half the rate before) is not a cut
    cosine = _curve([0.5, 0.6, 0.7, 0.75, 0.78, 0.79, 0.80, 0.83], list(np.linspace(1, 0.6, 8)))
    assert claims.last_quarter_gain(cosine) == pytest.approx(3.0)
    assert claims.last_quarter_gain(_curve([0.5])) is None


@pytest.mark.backend_agnostic
def test_a_reaches_or_ablation_verdict_needs_a_converged_baseline():
    def summary(baseline_curve: list[float] | None) -> dict:
        found = _summary({"a": [91.5, 92.0, 91.0], "b": [90.0, 90.0, 90.0]})
        if baseline_curve is not None:
            found["curves"] = {str(s): {"b": _curve(baseline_curve)} for s in range(3)}
        return found

    judge = claims.converged(
        lambda s: claims.compare(claims.seed_values(s, "a"), claims.seed_values(s, "b"), "a",
                                 "b", at_least=True), "b")
    improving = judge(summary([0.5, 0.7, 0.8, 0.85, 0.87, 0.88, 0.89, 0.90]))  # +1 point
    assert improving.verdict == claims.STILL_IMPROVING and "b +1.00 points" in improving.ours
    settled = judge(summary([0.5, 0.7, 0.8, 0.85, 0.89, 0.898, 0.899, 0.90]))  # +0.1
    assert settled.verdict == claims.HELD and "(converged)" in settled.ours
    unknown = judge(summary(None))
    assert unknown.verdict == claims.INCONCLUSIVE and "curve not recorded" in unknown.ours
    # the gate applies to every ablation step and to experiment 7's "in fewer iterations"
    gated = {c.text for c in claims.all_claims() if hasattr(c.judge, "converged_baseline")}
    assert judge.converged_baseline == "b"
    assert "+CutMix adds accuracy" in gated and "the whole recipe beats the baseline" in gated
    assert "exp_range beats fixed, in 60 % of the iterations" in gated
    assert "triangular2 beats linear decay at 25,000 iterations" not in gated  # same count
    assert "NAG loses much accuracy at a small rate" not in gated


@pytest.mark.backend_agnostic
def test_range_test_bounds_verdicts():
    def verdict(bounds):
        return exp7.range_bounds({"range_test": bounds})

    near = verdict({"base_lr": 0.0019, "max_lr": 0.009, "iterations": 400})
    assert near.verdict == claims.HELD  # each within x2 of 0.001 / 0.006
    assert verdict({"base_lr": 0.0021, "max_lr": 0.009, "iterations": 400}).verdict == (
        claims.NOT_HELD)
    flat = verdict({"base_lr": None, "max_lr": None, "iterations": 800, "error": "no rise"})
    assert flat.verdict == claims.NOT_HELD and flat.ours == "no bounds: no rise"
    assert verdict(None).verdict == claims.NOT_RUN


@pytest.mark.backend_agnostic
def test_medium_claims_say_why_they_are_not_run(tmp_path):
    # a reduced summary in the medium folder is not taken for a medium one
    _write(tmp_path, "exp2_robust_ablation_fashion_mnist", _summary({"Baseline": [90.0]}))
    judged = {c.text: v for c, v in claims.judge_all(str(tmp_path), protocol="medium")}
    assert all(v.verdict == claims.NOT_RUN_MEDIUM for v in judged.values())
    assert judged["+CutMix adds accuracy"].ours == "its medium runs have not landed yet"
    cut = judged["AdaGrad + triangular at 25,000 beats fixed at 70,000"].ours
    assert cut.startswith("arm cut for the CPU budget")
    headline = "triangular2 reaches Caffe's standard run (0.001, x0.1 at 60,000 and 65,000) " \
               "in <= 40 % of its iterations"
    assert judged[headline].ours == "its medium runs have not landed yet"
    with pytest.raises(ValueError, match="protocol must be one of"):
        claims.judge_all(str(tmp_path), protocol="long")
    # a claim whose arms have not run yet, in an experiment that has medium runs
    medium = _summary({"AdaBound": [90.0], "w10AdaBound": [90.5]})
    medium["provenance"]["scale"] = "medium"
    _write(tmp_path, "exp1_warmup_adabound_fashion_mnist", medium)
    judged = {c.text: v for c, v in claims.judge_all(str(tmp_path), protocol="medium")}
    assert judged["w10AdaBound generalizes better than AdaBound"].verdict == claims.INCONCLUSIVE
    waiting = judged["w20AdaBound generalizes better than AdaBound"]
    assert (waiting.ours, waiting.verdict) == (claims.NOT_LANDED, claims.NOT_RUN_MEDIUM)


@pytest.mark.backend_agnostic
def test_paper_column_is_derived_from_the_transcribed_tables():
    """The claims' paper column comes from ``_harness/papers.py``; the statistics the robust
    recipe document prints beside its tables (table 2's spreads and means, table 3's 25-cell
    mean 97.03 / variance 0.11) must come out of our transcription of its cells, so a mistyped
    cell fails here."""
    paper = {c.text: c.paper for c in claims.all_claims()}
    for script in claims.CLAIM_SCRIPTS:  # each experiment's claims live in its script
        assert {c.experiment for c in importlib.import_module(script).CLAIMS} == {script}
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
        exp7.paper_read_at("fixed", 25_000)


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
        return exp3.adam_diverges(_summary({"Adam lr=0.1": per_seed})).verdict

    assert verdict([57.1]) == claims.INCONCLUSIVE  # one seed that trained
    assert verdict([None]) == claims.INCONCLUSIVE  # one seed that diverged
    assert verdict([57.1, 60.0]) == claims.NOT_HELD
    assert verdict([None, None]) == claims.HELD
    assert verdict([None, 60.0, None]) == claims.INCONCLUSIVE


@pytest.mark.backend_agnostic
def test_large_rate_claim_is_judged_on_the_group_members_that_ran():
    judge = next(c.judge for c in exp3.CLAIMS if c.text.startswith("AdamW, RAdam and AdaBelief"))
    radam = {"RAdam lr=0.01": [91.0, 91.5, 92.0], "RAdam lr=0.1": [88.0, 88.2, 88.1]}
    partial = judge(_summary(radam))  # the medium protocol's arms
    assert partial.verdict == claims.HELD
    assert partial.ours.startswith("RAdam only (AdamW and AdaBelief not run); RAdam at lr 0.01")
    whole = judge(_summary({**radam, **{f"{o} lr={lr:g}": [90.0, 90.0, 90.0]
                                        for o in ("AdamW", "AdaBelief") for lr in (0.1, 0.01)}}))
    assert whole.ours.startswith("mean at lr 0.01 90.50 ± 0.17 vs mean at lr 0.1 89.37")
    assert judge(_summary({"NAG lr=0.1": [90.0]})).verdict == claims.NOT_RUN


@pytest.mark.backend_agnostic
def test_spread_claim_names_the_optimizers_it_compared_with():
    judge = next(c.judge for c in exp3.CLAIMS if c.text.startswith("RAdaBeliefW has the"))
    medium = {f"{o} lr={lr:g}": [90.0 - i - 5 * (lr == 0.001)] * 2
              for i, o in enumerate(("RAdaBeliefW", "RAdam", "NAG")) for lr in exp3.RATES}
    medium["NAG lr=0.001"] = [70.0, 71.0]  # spreads: RAdaBeliefW 5, RAdam 5, NAG 18-19
    verdict = judge(_summary(medium))
    assert verdict.ours.startswith("compared with NAG, RAdam (Adam, AdamW, AdaBelief not run "
                                   "at every rate); smallest other spread (RAdam) 5.00")
    assert verdict.verdict == claims.INCONCLUSIVE  # equal spreads


@pytest.mark.backend_agnostic
def test_radam_best_claim_names_the_methods_it_compared_with():
    judge = next(c.judge for c in exp1.CLAIMS if c.text.startswith("RAdam is the most"))
    key = {"AdaBound": [90.0, 90.1, 90.2], "w10AdaBound": [90.5, 90.4, 90.6],
           "w20AdaBound": [89.0, 89.0, 89.0], "RAdam": [92.0, 92.1, 92.3]}
    verdict = judge(_summary(key))
    assert verdict.verdict == claims.HELD
    assert verdict.ours.startswith(
        "compared with AdaBound, w10AdaBound, w20AdaBound (w30AdaBound, w40AdaBound, "
        "w50AdaBound not run); RAdam 92.13 ± 0.15 vs best other (w10AdaBound) 90.50")
    every = judge(_summary({**key, **{f"w{w}AdaBound": [80.0] * 3 for w in (30, 40, 50)}}))
    assert every.ours.startswith("RAdam 92.13 ± 0.15 vs best other (w10AdaBound)")


@pytest.mark.backend_agnostic
def test_grid_claim_waits_for_the_whole_grid_and_counts_a_divergence_as_chance():
    import exp4_robust_grid as exp4

    rates, decays = exp4.grid("medium")
    names = [exp4.method_name(lr, wd) for lr in rates for wd in decays]
    grid = {"grid": {"rates": rates, "decays": decays}}
    partial = exp4.grid_robust(_summary({names[0]: [85.4]}, **grid))
    assert (partial.ours, partial.verdict) == (f"1 of {len(names)} cells run", claims.NOT_RUN)
    flat = {name: [90.0] for name in names}
    assert exp4.grid_robust(_summary(flat, **grid)).verdict == claims.HELD
    # the smallest rate 4-5 points down, weight decay moving its row by 1: the spread is the
    # rate's, and the row's and column's spreads say so
    rows = {name: [85.0 + 0.5 * (i % len(decays)) if i < len(decays) else 90.0]
            for i, name in enumerate(names)}
    low = exp4.grid_robust(_summary(rows, **grid))
    assert low.verdict == claims.NOT_HELD
    assert low.ours.endswith("max - min 5.00 (1 seed); max - min at one lr at most 1.00, "
                             "at one weight decay at most 5.00"), low.ours
    flat[names[-1]] = [None]  # diverged: chance accuracy, 80 points below the others
    assert exp4.grid_robust(_summary(flat, **grid)).verdict == claims.NOT_HELD


def _write(root, folder, summary):
    os.makedirs(root / folder, exist_ok=True)
    (root / folder / "summary.json").write_text(json.dumps(summary))
    (root / folder / "table.md").write_text("# title\n\n_provenance_\n\n## caption\n\n| a |\n")


def _converged_curves(summary: dict) -> dict:
    """Flat curves for every method and seed: every baseline converged."""
    summary["curves"] = {seed: {m: _curve([0.9] * 8) for m in by_method}
                         for seed, by_method in summary["runs"].items()}
    return summary


def test_claims_and_publishing_from_fake_results(tmp_path):
    from publish_results import build

    reduced = tmp_path / "exp10"  # and no medium/: nothing ran at the medium scale
    _write(reduced, "exp2_robust_ablation_fashion_mnist", _converged_curves(_summary({
        "Baseline": [90.0, 90.2, 90.1], "+cosine decay": [90.1, 90.0, 90.3],
        "+TrivialAugment": [91.0, 91.1, 91.2], "+CutMix": [90.0, 90.2, 90.1],
        "+Weight Decay off": [91.5, 91.6, 91.7]})))
    spread = {f"{o} lr={lr:g}": [90.0, 90.0, 90.0] for o in exp3.PAPER
              for lr in exp3.RATES}
    spread.update({"NAG lr=0.001": [80.0, 81.0, 82.0], "Adam lr=0.1": [None, None, None],
                   "RAdaBeliefW lr=0.1": [89.0, 89.0, 89.0]})  # its spread 1, all others 0
    _write(reduced, "exp3_robust_optimizers_fashion_mnist", _summary(spread))
    judged = {c.text: v for c, v in claims.judge_all(str(reduced))}
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

    page = "".join(f"<!-- results:{m} -->\nold\n<!-- /results:{m} -->\n"
                   for m in ("claims", "claims-reduced", "exp1", "exp2", "exp3", "exp4", "exp7"))
    text = build(f"# Results\n\nkept text\n\n{page}\nmore kept text\n", str(tmp_path),
                 verify_records=False)  # hand-made summaries have no run records
    assert "kept text" in text and "more kept text" in text and "\nold\n" not in text
    medium_block, reduced_block = (text.split(f"<!-- results:{m} -->")[1].split("<!-- /")[0]
                                   for m in ("claims", "claims-reduced"))
    assert "Protocol judged: **the medium protocols" in medium_block
    assert f"{len(claims.all_claims())} not run at medium scale" in medium_block
    # beside each medium verdict, the same claim's verdict on the short runs
    trivial = next(line for line in medium_block.splitlines()
                   if "| +TrivialAugment adds accuracy |" in line)
    assert trivial.endswith("| **not run at medium scale** | held |"), trivial
    assert "| verdict | verdict on the short runs |" in medium_block
    assert "verdict on the short runs" not in reduced_block
    judged_list = claims.judge_all(str(reduced))
    with pytest.raises(ValueError, match="short_runs"):
        claims.claims_table(judged_list, judged_list[1:])
    assert "Protocol judged: **the reduced protocols (short runs)**" in reduced_block
    assert "5 held, 2 did not hold, 2 inconclusive" in reduced_block
    assert reduced_block.count("| **held** |") == 5
    assert "##### caption" in text and "_provenance_" in text
    assert "- reduced (default on a CPU): ResNet-20 at half width" in text  # exp2's protocol
    assert "`python examples/exp2_robust_ablation.py --medium --dataset fashion_mnist`" in text
    assert "not run** on fashion_mnist yet" in text  # exp1, exp4, exp7
    with pytest.raises(ValueError, match="results:exp1"):
        build("no markers", str(tmp_path), verify_records=False)


@pytest.mark.backend_agnostic
def test_cost_table_counts_finished_runs_and_estimates_the_rest(tmp_path):
    from publish_results import cost_section

    summary = {"runs": {"0": {"A": {"seconds": 600.0}, "B": {"seconds": 1800.0}},
                        "1": {"A": {"seconds": 1200.0}, "B": {"not_run": True}}}}
    _write(tmp_path / "medium", "exp3_robust_optimizers_fashion_mnist", summary)
    text = cost_section({"medium": str(tmp_path / "medium")}, "fashion_mnist")
    # 3 of 4 runs, 1 hour in all, median 20 minutes: the one run left is 20 minutes.
    assert "| exp3_robust_optimizers | 3 / 4 | 1.00 | 20.0 (10.0-30.0) | 0.3 |" in text
    assert "| exp1_warmup_adabound | no run yet |" in text
    assert "| all | 3 / 4 | 1.00 | | 0.3, and 4 experiments with no run yet |" in text


REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))


def test_the_committed_page_recomputes_from_the_committed_records(capsys):
    """CI's guard: docs/results.md is what docs/runs/ gives, number for number."""
    from publish_results import main

    assert main(["--check"]) == 0, capsys.readouterr().out[-3000:]


def _copy_of_the_records(tmp_path):
    import shutil

    shutil.copytree(os.path.join(REPO, "docs", "runs"), tmp_path / "runs")
    shutil.copy(os.path.join(REPO, "docs", "results.md"), tmp_path / "results.md")
    return tmp_path / "runs", tmp_path / "results.md"


def test_check_fails_on_a_tampered_table(tmp_path, capsys):
    from publish_results import main

    runs, page = _copy_of_the_records(tmp_path)
    table = runs / "exp10" / "exp2_robust_ablation_fashion_mnist" / "table.md"
    table.write_text(table.read_text().replace("85.51 ± 1.83", "95.51 ± 1.83", 1))
    assert main(["--check", "--runs-dir", str(runs), "--page", str(page)]) == 1
    out = capsys.readouterr().out
    assert "-| Baseline | 93.95 | 85.51 ± 1.83" in out
    assert "+| Baseline | 93.95 | 95.51 ± 1.83" in out


def test_check_fails_on_a_tampered_run_record(tmp_path, capsys):
    from publish_results import main

    runs, page = _copy_of_the_records(tmp_path)
    curve = runs / "exp10" / "exp7_cyclical_caffe_fashion_mnist" / "runs" / "fixed_seed_1.csv"
    lines = curve.read_text().splitlines()
    cells = lines[-1].split(",")
    cells[-2] = str(float(cells[-2]) + 0.01)  # the last evaluation's accuracy, +1 point
    curve.write_text("\n".join([*lines[:-1], ",".join(cells)]) + "\n")
    assert main(["--check", "--runs-dir", str(runs), "--page", str(page)]) == 1
    err = capsys.readouterr().err
    assert "'fixed seed 1' final accuracy" in err and "read_at['fixed'][70000] seed 1" in err


def test_check_names_a_missing_curve(tmp_path, capsys):
    from publish_results import main

    runs, page = _copy_of_the_records(tmp_path)
    (runs / "exp10" / "exp2_robust_ablation_fashion_mnist" / "runs" / "Baseline_seed_0.csv"
     ).unlink()
    assert main(["--check", "--runs-dir", str(runs), "--page", str(page)]) == 1
    err = capsys.readouterr().err
    assert "no curve of 'Baseline seed 0' (Baseline_seed_0.csv)" in err
    assert "final accuracy" not in err


def test_check_recomputes_the_range_tests_bounds_from_its_curve(tmp_path, capsys):
    from publish_results import main

    runs, page = _copy_of_the_records(tmp_path)
    folder = runs / "exp10" / "exp7_cyclical_caffe_fashion_mnist"
    assert main(["--check", "--runs-dir", str(runs), "--page", str(page)]) == 0
    summary = json.loads((folder / "summary.json").read_text())
    summary["range_test"]["max_lr"] *= 1.01  # a bound the curve does not give
    (folder / "summary.json").write_text(json.dumps(summary))
    assert main(["--check", "--runs-dir", str(runs), "--page", str(page)]) == 1
    assert "range test bounds" in capsys.readouterr().err
    (folder / "lr_range_test.csv").unlink()
    assert main(["--check", "--runs-dir", str(runs), "--page", str(page)]) == 1
    assert "no curve of the range test (lr_range_test.csv)" in capsys.readouterr().err
