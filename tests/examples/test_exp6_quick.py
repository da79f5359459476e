"""Experiment 6 end to end at smoke scale on synthetic images; a second run resumes."""

import json
import os
import re
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "examples")


@pytest.fixture
def exp6():
    sys.path.insert(0, os.path.abspath(EXAMPLES))
    try:
        import exp6_lr_explorer_vae

        yield exp6_lr_explorer_vae
    finally:
        sys.path.remove(os.path.abspath(EXAMPLES))


def test_exp6_smoke_writes_table_and_resumes(exp6, tmp_path, capsys):
    argv = ["--smoke", "--synthetic", "--results-dir", str(tmp_path), "--baseline-epochs", "1"]
    text = exp6.main(argv)
    out = tmp_path / "exp6_lr_explorer_vae"
    assert "LR explorer (" in text and "cosine annealing 2" in text and "fixed 0.0003" in text
    assert "cosine annealing 1 " in text and text.count("| fixed 0.0003 |") == 2
    assert text.count("explorer's best rate ") == 1  # the found rate held for the 1-epoch budget
    assert "SMOKE TEST" in text and "Exploration trials" in text
    for name in ("table.md", "exploration.png", "exploitation.png", "val_loss.png",
                 "explorer/trials.csv", "explorer/exploit/best.weights.h5"):
        assert (out / name).exists(), name
    trials = len(list((out / "explorer" / "keras_tuner").glob("trial_*/trial.json")))
    assert trials >= 3  # two coarse rates and at least one refined rate
    capsys.readouterr()

    again = exp6.main(argv)  # everything is loaded, nothing retrained
    log = capsys.readouterr().out
    assert f"({trials} trials already finished" in log
    assert re.search(r"\] \d+/\d+ digit", log) is None  # no trial line: nothing trained
    assert log.count("finished earlier, loaded") == 6
    assert again.split("## Exploration trials")[1] == text.split("## Exploration trials")[1]


def test_exp6_cosine_only_shares_the_budget_runs(exp6, tmp_path, capsys):
    argv = ["--smoke", "--synthetic", "--results-dir", str(tmp_path)]
    with pytest.raises(SystemExit, match="start the search"):  # no initial weights yet
        exp6.main([*argv, "--cosine-only", "--baseline-epochs", "3", "4"])
    exp6.main(argv)  # search, exploitation and the exploitation-length baselines only
    capsys.readouterr()

    side = exp6.main([*argv, "--cosine-only", "--baseline-epochs", "3", "4"])
    log = capsys.readouterr().out
    assert side.startswith("test NLL: cosine 4: ") and "; cosine 3: " in side
    assert "finished earlier, loaded" not in log  # the budget runs trained here
    assert not re.search(r"\] \d+/\d+ digit", log)  # and no search trial

    # (budgets longer than the smoke exploitation's 1-2 epochs, so no name is shared)
    text = exp6.main([*argv, "--baseline-epochs", "3", "4"])
    log = capsys.readouterr().out
    # exploitation, its cosine and fixed runs, and the side process's two cosine runs
    assert log.count("finished earlier, loaded") == 5
    assert "explorer rate " in log and "cosine annealing 3 " in text
    assert text.count("explorer's best rate ") == 2  # one run, a row per budget
    runs = tmp_path / "exp6_lr_explorer_vae" / "runs"
    # A constant rate's budgets are one run over the longest, tested at each budget.
    assert not (runs / "fixed_0.0003_3.json").exists()
    fixed = json.loads((runs / "fixed_0.0003_4.json").read_text())
    assert sorted(fixed["tested_at"]) == ["3", "4"]
    assert fixed["tested_at"]["3"]["best_epoch"] <= 3
    # The last budget is the run's end: the same best weights, tested once.
    assert fixed["tested_at"]["4"]["best_val_nll"] == fixed["best_val_nll"]
    assert fixed["tested_at"]["4"]["test_nll"] == fixed["test_nll"]

