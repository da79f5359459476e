"""examples/campaign.sh names real scripts, methods and seeds.

The campaign runs for days under ``set -e``: a misspelt method name in a late step stops it
there (the script raises ValueError), hours after it was started. Its dry run lists every step's
command; each is checked against the methods and seeds the script plans at that scale.
"""

import contextlib
import importlib
import io
import os
import shlex
import subprocess

import pytest

from .conftest import EXAMPLES

CAMPAIGN = os.path.join(EXAMPLES, "campaign.sh")
EXPERIMENTS = {"exp1_warmup_adabound", "exp2_robust_ablation", "exp3_robust_optimizers",
               "exp4_robust_grid", "exp7_cyclical_caffe"}  # issue 10's five


def campaign_steps(results_dir, scale: str = "reduced") -> list[tuple[str, dict[str, list[str]]]]:
    """(script, {option: values}) for every step, from the campaign's dry run."""
    listed = subprocess.run(["bash", CAMPAIGN, str(results_dir)], check=True, text=True,
                            capture_output=True,
                            env={**os.environ, "DRY_RUN": "1", "SCALE": scale}).stdout
    steps = []
    for line in listed.splitlines():
        script, *words = shlex.split(line)
        options, option = {}, None
        for word in words:
            if word.startswith("--"):
                option = word
                options[option] = []
            else:
                options[option].append(word)
        steps.append((script, options))
    return steps


def method_names(module, scale: str, results_dir) -> set[str]:
    """The methods the script plans at ``scale``, from its ``--list-runs``."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), pytest.raises(SystemExit):
        module.main(["--list-runs", "--synthetic", f"--{scale}", "--results-dir",
                     str(results_dir)])
    return {line.split("\t")[2] for line in printed.getvalue().splitlines()
            if line.startswith("run\t")}


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("scale", ["reduced", "medium"])
def test_dry_run_runs_nothing(tmp_path, scale):
    steps = campaign_steps(tmp_path, scale)
    assert steps and not os.listdir(tmp_path)
    assert {script for script, _ in steps} == EXPERIMENTS


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("scale", ["reduced", "medium"])
def test_every_step_names_methods_and_seeds_its_script_has(tmp_path, scale):
    for script, options in campaign_steps(tmp_path, scale):
        module = importlib.import_module(script)
        assert scale in module.SCALES, (script, scale)  # else the step fails on --{scale}
        if "--methods" in options:
            unknown = set(options["--methods"]) - method_names(module, scale, tmp_path / "listed")
            assert not unknown, (script, unknown)
        seeds = {int(s) for s in options.get("--seeds", [])}
        assert seeds <= set(module.SCALES[scale].seeds), (script, seeds)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("finished", [False, True])
def test_publishes_a_run_only_when_it_finished(tmp_path, finished):
    # A stand-in for python: plans one run of experiment 3 and "trains" it, writing a period's
    # backup (as the other shard does while this one skips a finished run) and, when the run
    # finishes, its record. Only a record may publish: a backup is no new result.
    calls = tmp_path / "calls"
    python = tmp_path / "python"
    python.write_text(f"""#!/usr/bin/env bash
echo "$*" >> {calls}
runs={tmp_path}/results/exp3_robust_optimizers_fashion_mnist/runs
case "$*" in
    *exp3_robust_optimizers*"--seeds 0 --list-runs"*) printf 'run\\t0\\tNAG lr=0.1\\n' ;;
    *--list-runs*|*--publish-only*|*publish_results*) ;;
    *) mkdir -p "$runs/NAG_lr_0.1_seed_0.backup"
       touch "$runs/NAG_lr_0.1_seed_0.backup/history.json"
       {"touch $runs/NAG_lr_0.1_seed_0.json" if finished else ""} ;;
esac
""")
    python.chmod(0o755)
    subprocess.run(["bash", CAMPAIGN, str(tmp_path / "results")], check=True, text=True,
                   capture_output=True,
                   env={**os.environ, "SCALE": "medium", "PYTHON": str(python),
                        "ARCHIVE": str(tmp_path / "archive")})
    lines = calls.read_text().splitlines()
    assert sum("--methods NAG lr=0.1" in line for line in lines) == 1  # trained once
    published = [line for line in lines if "--publish-only" in line or "publish_results" in line]
    assert len(published) == (2 if finished else 0), published
