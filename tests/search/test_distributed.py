"""The explorer on KerasTuner's distributed mode: a chief and two workers on 127.0.0.1.

Whichever process is killed and however it is restarted, no finished trial trains again
and the search ends with the trials, scores and found rates of a one-process search.
Every process has a time limit, so no test can hang.
"""

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("keras_tuner")
# KerasTuner's TensorFlow path imports tensorboard's hparams plugin for every trial.
pytest.importorskip("tensorboard")

from tests.search import distributed_worker  # noqa: E402
from tests.search.helpers import completed_rates  # noqa: E402

LIMIT = 240  # seconds, each process
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.slow


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Cluster:
    """Starts chief, workers or a lone process of distributed_worker.py on one directory."""

    def __init__(self, directory, log):
        self.directory, self.log, self.processes = directory, log, []
        self.new_port()

    def new_port(self):
        self.port = str(_free_port())

    def start(self, tuner_id, *flags):
        env = {**os.environ, "PYTHONPATH": ROOT, "CUDA_VISIBLE_DEVICES": "",
               "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
        if tuner_id is not None:
            env.update(KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                       KERASTUNER_ORACLE_PORT=self.port)
        process = subprocess.Popen(
            [sys.executable, distributed_worker.__file__, str(self.directory), str(self.log),
             *flags], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.processes.append(process)
        return process

    def fits(self):
        """(tuner id, rate) of every training started so far."""
        if not self.log.exists():
            return []
        return [(t, float(r)) for t, r in (line.split() for line in self.log.read_text().split(
            "\n") if line)]

    def kill_all(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.communicate()


def _finish(process):
    output = process.communicate(timeout=LIMIT)[0]
    return process.returncode, output


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    explorer = distributed_worker.explorer(str(tmp_path_factory.mktemp("one")))
    found = explorer.search()
    return found, explorer.ranked_rates, {k: t["score"] for k, t in explorer.trials.items()}


def _check_result(directory, tuner_id, reference):
    found, ranked, scores = reference
    result = json.loads((directory / f"result-{tuner_id}.json").read_text())
    assert result["complete"] and result["found"] == found and result["ranked"] == ranked
    assert result["scores"].keys() == scores.keys()
    for key, score in scores.items():
        assert result["scores"][key] == pytest.approx(score, rel=1e-5)
    return result


def test_killed_worker_restarted_under_a_new_id_then_a_rerun_and_exploit(tmp_path, reference):
    directory, log = tmp_path / "shared", tmp_path / "fits.log"
    cluster = _Cluster(directory, log)
    try:
        chief, tuner0 = cluster.start("chief"), cluster.start("tuner0")
        dead = cluster.start("tuner1", "--die-in-first-trial")
        code, output = _finish(dead)
        assert code == 3, output[-3000:]
        # Restarted under another id, the dead worker's trial is not lost: once tuner1 has
        # been silent for worker_timeout, it goes to whichever worker asks next.
        replacement = cluster.start("tuner7")
        for process in (chief, tuner0, replacement):
            code, output = _finish(process)
            assert code == 0, output[-3000:]
        result = _check_result(directory, "chief", reference)
        fits = cluster.fits()
        killed_rate = next(rate for tuner, rate in fits if tuner == "tuner1")
        per_rate = collections.Counter(rate for _, rate in fits)
        assert sorted(per_rate) == sorted(float(k) for k in reference[2])
        # Each trial trained once, by a worker; the killed one's twice (started by tuner1).
        assert per_rate.pop(killed_rate) == 2 and set(per_rate.values()) == {1}
        # The dead worker's trial went to whichever worker asked first after the timeout;
        # the replacement did not hang (it stopped with the others, above).
        assert {t for t, _ in fits} <= {"tuner0", "tuner1", "tuner7"}
        assert [t for t, _ in fits].count("tuner1") == 1
        # Each trial records the worker that finished it: the last to start its rate.
        last = {rate: tuner for tuner, rate in fits}
        assert {float(k): w for k, w in result["workers"].items()} == last
        assert len(completed_rates(directory)) == len(reference[2])

        # A rerun of the finished search, chief and workers: nothing trains, all stop.
        cluster.new_port()
        rerun = [cluster.start("chief"), cluster.start("tuner0"), cluster.start("tuner5")]
        for process in rerun:
            code, output = _finish(process)
            assert code == 0, output[-3000:]
        assert len(cluster.fits()) == len(fits)
        # Then the documented path to the exploitation: the same script as one process.
        code, output = _finish(cluster.start(None, "--exploit"))
        assert code == 0, output[-3000:]
        alone = _check_result(directory, "alone", reference)
        assert alone["exploited"] == 2
        assert [t for t, _ in cluster.fits()[len(fits):]] == ["alone", "alone"]  # 2 epochs
    finally:
        cluster.kill_all()


def test_killed_chief_stops_the_workers_and_a_restart_retrains_nothing_finished(
        tmp_path, reference):
    directory, log = tmp_path / "shared", tmp_path / "fits.log"
    cluster = _Cluster(directory, log)
    try:
        chief = cluster.start("chief")
        workers = [cluster.start("tuner0", "--slow"), cluster.start("tuner1", "--slow")]
        deadline = time.time() + LIMIT
        while not (directory / "keras_tuner").exists() or not completed_rates(directory):
            assert time.time() < deadline and chief.poll() is None, "no trial finished"
            time.sleep(0.1)
        chief.send_signal(signal.SIGKILL)
        chief.communicate()
        finished_before = completed_rates(directory)
        # Without their chief the workers stop within chief_timeout (10 s) plus an epoch.
        for process in workers:
            code, output = _finish(process)
            assert code != 0 and "did not answer within 10 s" in output, output[-3000:]
        fits_before = cluster.fits()

        cluster.new_port()
        restarted = [cluster.start("chief"), cluster.start("tuner3"), cluster.start("tuner4")]
        for process in restarted:
            code, output = _finish(process)
            assert code == 0, output[-3000:]
        _check_result(directory, "chief", reference)
        retrained = [rate for _, rate in cluster.fits()[len(fits_before):]]
        assert not set(retrained) & set(finished_before)  # nothing finished trains again
        assert len(retrained) == len(set(retrained))
        assert completed_rates(directory) == sorted(float(k) for k in reference[2])
    finally:
        cluster.kill_all()
