"""One process of the distributed explorer tests: the chief, a worker, or a lone process.

    python distributed_worker.py DIRECTORY LOG [--die-in-first-trial] [--slow] [--exploit]

KerasTuner's environment variables (KERASTUNER_TUNER_ID, _ORACLE_IP, _ORACLE_PORT) say
which one it is (--slow: each epoch lasts a second longer, so a test can kill a process
mid-search); without them it is one process, which reads a finished search and, with
--exploit, exploits it. Every fit start is appended to LOG as "<tuner id> <rate>"; the
process writes the search's result to DIRECTORY/result-<tuner id>.json.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tests.search.helpers import build, data  # noqa: E402
from tf_lropt.search import LRExplorer  # noqa: E402

# The problem the tests also search in one process: 2 coarse rates, then the winner's two
# new neighbours, 4 trials of 2 epochs on a linear model. Short waits, so that a test sees
# a silent worker's trial handed on, and workers without a chief stop, within seconds.
SETTINGS = dict(objective="val_loss", coarse_lrs=(0.3, 0.1), epochs_per_trial=2, top_k=1,
                digits=2, refine_offsets=(1, 0, -1), seed=1, batch_size=32, verbose=0,
                worker_timeout=20.0, chief_timeout=10.0, idle_pause=0.2)


class Log(keras.callbacks.Callback):
    """Logs each training's start; with ``die``, the process dies in its first one."""

    def __init__(self, path, tuner_id, die, slow):
        super().__init__()
        self.path, self.tuner_id, self.die, self.slow = path, tuner_id, die, slow

    def on_train_begin(self, logs=None):
        rate = float(np.array(self.model.optimizer.learning_rate))
        with open(self.path, "a") as f:
            f.write(f"{self.tuner_id} {rate:.6g}\n")  # the rate was stored in float32

    def on_epoch_end(self, epoch, logs=None):
        if self.die:
            os._exit(3)  # a kill: no exception handling, no clean-up
        if self.slow:
            time.sleep(1.0)


def explorer(directory, callbacks=()):
    train, val = data()
    return LRExplorer(build, train, val, directory=directory,
                      fit_kwargs={"callbacks": list(callbacks)}, **SETTINGS)


def main(argv):
    directory, log = argv[1], argv[2]
    tuner_id = os.environ.get("KERASTUNER_TUNER_ID", "alone")
    search = explorer(directory, [Log(log, tuner_id, "--die-in-first-trial" in argv,
                                      "--slow" in argv)])
    found = search.search()
    result = {"found": found, "ranked": search.ranked_rates, "complete": search.complete,
              "scores": {k: t["score"] for k, t in search.trials.items()},
              "workers": {k: t["worker"] for k, t in search.trials.items()}}
    if "--exploit" in argv:
        search.exploit(max_epochs=2)
        result["exploited"] = len(search.exploitation_history)
    with open(os.path.join(directory, f"result-{tuner_id}.json"), "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv)
