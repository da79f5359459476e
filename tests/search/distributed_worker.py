"""One process of the distributed explorer test: the chief or a worker (see test_distributed).

    python distributed_worker.py DIRECTORY LOG [--die-in-first-trial]

KerasTuner's environment variables (KERASTUNER_TUNER_ID, _ORACLE_IP, _ORACLE_PORT) say
which one it is. Every fit start is appended to LOG as "<tuner id> <rate>"; the chief
writes the search's result to DIRECTORY/result-<tuner id>.json.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tf_lropt.search import LRExplorer  # noqa: E402

# The problem and explorer the test also searches in one process: 2 coarse rates, then the
# winner's two new neighbours, 4 trials of 2 epochs on a linear model.
SETTINGS = dict(objective="val_loss", coarse_lrs=(0.3, 0.1), epochs_per_trial=2, top_k=1,
                digits=2, refine_offsets=(1, 0, -1), seed=1, batch_size=32, verbose=0)


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(192, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [1.5]]) + 0.1 * rng.normal(size=(192, 1)))
    return (x[:128], y[:128].astype("float32")), (x[128:], y[128:].astype("float32"))


def build(rate):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(rate), "mse", run_eagerly=True)
    return model


class Log(keras.callbacks.Callback):
    """Logs each training's start; with ``die``, the process dies in its first one."""

    def __init__(self, path, tuner_id, die):
        super().__init__()
        self.path, self.tuner_id, self.die = path, tuner_id, die

    def on_train_begin(self, logs=None):
        rate = float(np.array(self.model.optimizer.learning_rate))
        with open(self.path, "a") as f:
            f.write(f"{self.tuner_id} {rate:.6g}\n")  # the rate was stored in float32

    def on_epoch_end(self, epoch, logs=None):
        if self.die:
            os._exit(3)  # a kill: no exception handling, no clean-up


def explorer(directory, callbacks=(), engine="auto"):
    train, val = data()
    return LRExplorer(build, train, val, directory=directory, engine=engine,
                      fit_kwargs={"callbacks": list(callbacks)}, **SETTINGS)


def main(argv):
    directory, log = argv[1], argv[2]
    tuner_id = os.environ["KERASTUNER_TUNER_ID"]
    search = explorer(directory, [Log(log, tuner_id, "--die-in-first-trial" in argv)])
    found = search.search()
    with open(os.path.join(directory, f"result-{tuner_id}.json"), "w") as f:
        json.dump({"found": found, "ranked": search.ranked_rates, "complete": search.complete,
                   "scores": {k: t["score"] for k, t in search.trials.items()}}, f)


if __name__ == "__main__":
    main(sys.argv)
