"""Every experiment script end to end at smoke scale, on synthetic images.

Each run must finish, write its Markdown table (laid out like the paper's, with the paper's
numbers), one CSV and JSON per method and its PNG plots. The numbers are meaningless.
"""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._output import tensorflow_log_lines
from tf_lropt.optimizers import OPTIMIZER_CLASSES

ROOT = Path(__file__).resolve().parents[2]

SCRIPTS = {  # script: (methods it trains, words its table must contain)
    "exp1_warmup_adabound": (7, ["w10AdaBound", "w50AdaBound", "RAdam", "AdaBound"]),
    "exp2_robust_ablation": (5, ["Baseline", "93.95", "+Weight Decay off", "95.73"]),
    "exp3_robust_optimizers": (18, ["RAdaBeliefW", "diverged", "95.88", "ours η=0.001"]),
    "exp4_robust_grid": (9, ["mean 97.03, variance 0.11", "Ours", "η \\ λ", "97.47"]),
    "exp5_classic_mnist_mlp": (4, ["Momentum", "AdaGrad", "RMSProp", "Adam"]),
    "exp7_cyclical_caffe": (15, ["triangular2", "exp_range", "82.20", "AdaDelta", "LR range",
                                 "base_lr"]),
}


def _png(path) -> bool:
    with open(path, "rb") as stream:
        return stream.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_script_smoke_on_synthetic_data(script, tmp_path):
    module = importlib.import_module(script)
    runs, words = SCRIPTS[script]
    text = module.main(["--smoke", "--synthetic", "--results-dir", str(tmp_path)])
    (folder,) = os.listdir(tmp_path)
    out = tmp_path / folder
    assert folder.endswith("_mnist")  # the dataset is part of the folder's name
    assert (out / "table.md").read_text() == text
    assert "SMOKE TEST" in text and "synthetic data" in text and "seeds 0" in text
    for word in words:
        assert word in text, word
    for plot in ("val_accuracy.png", "accuracy.png"):
        assert _png(out / plot), plot
    summaries = sorted(p for p in os.listdir(out / "runs") if p.endswith(".json"))
    assert len(summaries) == runs and all(p.endswith("_seed_0.json") for p in summaries)
    assert len([p for p in os.listdir(out / "runs") if p.endswith(".csv")]) == runs
    assert not [p for p in os.listdir(out / "runs") if p.endswith(".backup")]  # cleaned up
    summary = json.loads((out / "runs" / summaries[0]).read_text())
    assert summary["finished"] and summary["config"]["scale"] == "smoke"
    assert summary["config"]["dataset"] in ("fashion_mnist", "mnist")
    overview = json.loads((out / "summary.json").read_text())
    assert overview["provenance"]["scale"] == "smoke" and overview["provenance"]["seeds"] == [0]
    assert sum(len(by_method) for by_method in overview["runs"].values()) == runs
    if script == "exp7_cyclical_caffe":
        assert _png(out / "lr_range_test.png")


def test_finished_runs_are_loaded_not_retrained(tmp_path, capsys):
    module = importlib.import_module("exp5_classic_mnist_mlp")
    argv = ["--smoke", "--synthetic", "--results-dir", str(tmp_path)]
    first = module.main(argv)
    csv = tmp_path / "exp5_classic_mlp_mnist" / "runs" / "Adam_seed_0.csv"
    stamp = csv.stat().st_mtime_ns
    capsys.readouterr()
    second = module.main(argv)
    assert capsys.readouterr().out.count("finished earlier, loaded") == 4
    assert csv.stat().st_mtime_ns == stamp
    assert first.split("\n", 3)[3] == second.split("\n", 3)[3]  # same table below the date line
    module.main([*argv, "--seed", "1"])  # another seed is another run, beside the first
    assert csv.stat().st_mtime_ns == stamp
    assert (csv.parent / "Adam_seed_1.csv").exists()


def test_demo_prints_its_table_quietly_and_leaves_only_its_results(tmp_path):
    # As a user runs it: its own process, its own working directory, no log switches set.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TF_CPP_", "TF_ENABLE_ONEDNN", "ABSL_", "TF_LROPT_EXAMPLES"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py"), "--epochs", "1", "--seeds", "1",
         "--results-dir", "results"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    assert not tensorflow_log_lines(done.stderr), done.stderr  # e.g. "E0000 ... cuInit"
    out = tmp_path / "results" / "demo"
    table = (out / "table.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(rows) == 11 and rows[0].startswith("| method |")  # header + 10 methods
    for row in rows:
        assert row in done.stdout, row  # the table is printed, not only written
    names = [cls.__name__ for cls in OPTIMIZER_CLASSES]
    for name in (*names, "Cosine", "Triangular2", "Adam (Keras)"):
        assert name in table, name
    assert _png(out / "val_accuracy.png") and _png(out / "loss.png")
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert not [p for p in left if p.endswith(".lock") or ".backup" in p], left
    assert os.listdir(tmp_path) == ["results"]  # nothing written beside the results
