"""The explorer on KerasTuner's distributed mode: a chief and two workers on 127.0.0.1.

They must finish with the trials, scores and found rates of a one-process search,
each trial trained once, though one worker is killed in its first trial (restarted
with the same KERASTUNER_TUNER_ID, it is handed that trial again). Every process
has a time limit, so the test stops by itself.
"""

import collections
import json
import os
import socket
import subprocess
import sys

import pytest

pytest.importorskip("keras_tuner")
# KerasTuner's TensorFlow path imports tensorboard's hparams plugin for every trial.
pytest.importorskip("tensorboard")

from tests.search import distributed_worker  # noqa: E402

LIMIT = 240  # seconds, each process and the whole run


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chief_and_two_workers_match_one_process_and_survive_a_killed_worker(tmp_path):
    reference = distributed_worker.explorer(str(tmp_path / "one"), engine="local")
    expected = reference.search()
    expected_scores = {k: t["score"] for k, t in reference.trials.items()}

    directory, log = tmp_path / "shared", tmp_path / "fits.log"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    base = {**os.environ, "PYTHONPATH": root, "KERASTUNER_ORACLE_IP": "127.0.0.1",
            "KERASTUNER_ORACLE_PORT": str(_free_port()), "CUDA_VISIBLE_DEVICES": "",
            "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    script = distributed_worker.__file__

    def start(tuner_id, *flags):
        return subprocess.Popen([sys.executable, script, str(directory), str(log), *flags],
                                env={**base, "KERASTUNER_TUNER_ID": tuner_id},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    processes = [start("chief"), start("tuner0"), start("tuner1", "--die-in-first-trial")]
    try:
        killed_output = processes[2].communicate(timeout=LIMIT)[0]
        assert processes[2].returncode == 3, killed_output[-3000:]
        processes[2] = start("tuner1")  # the same id: it is handed its trial again
        outputs = [p.communicate(timeout=LIMIT)[0] for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]

    result = json.loads((directory / "result-chief.json").read_text())
    assert result["complete"] and result["found"] == expected
    assert result["ranked"] == reference.ranked_rates
    assert result["scores"].keys() == expected_scores.keys()
    for key, score in expected_scores.items():
        assert result["scores"][key] == pytest.approx(score, rel=1e-5)
    # Each trial trained once, by a worker (the chief only serves the Oracle), except the
    # trial the kill interrupted: trained again by the restarted worker, nothing else.
    fits = [line.split() for line in log.read_text().splitlines()]
    assert {tuner for tuner, _ in fits} == {"tuner0", "tuner1"}
    per_rate = collections.Counter(float(rate) for _, rate in fits)
    assert sorted(per_rate) == sorted(float(k) for k in expected_scores)
    killed_rate = float(fits[[t for t, _ in fits].index("tuner1")][1])
    assert per_rate.pop(killed_rate) == 2 and set(per_rate.values()) == {1}
    assert len(os.listdir(directory / "trials")) == len(expected_scores)
