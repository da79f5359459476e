"""Wall time of the same explorer search with 1 and with 2 KerasTuner workers (one thread each).

For each worker count N it starts, as separate processes on 127.0.0.1, KerasTuner's
chief (which holds the explorer's Oracle and trains nothing) and N workers, each
process limited to one TensorFlow intra-op and one inter-op thread and no GPU, all
running the same ``LRExplorer(...).search()`` on a fresh directory (KerasTuner's
distributed mode: ``KERASTUNER_TUNER_ID``, ``KERASTUNER_ORACLE_IP``,
``KERASTUNER_ORACLE_PORT``). The wall time runs from starting the processes to the
last one's exit. It then checks that every run found the same rates with the same
scores (each trial's score depends only on its rate, not on who trained it) and
prints a table with the ratio to the first worker count.

The search is the Fashion-MNIST VAE of ``bench/explorer_early_stopping.py``
(Fashion-MNIST from Keras' cache), reduced:

    python bench/explorer_workers.py                          # 1 and 2 workers
    python bench/explorer_workers.py --out docs/benchmarks.md # and append the table
    python bench/explorer_workers.py --n-train 512 --n-val 128 --epochs-per-trial 1 \\
        --coarse-lrs 0.002 0.001 --offsets 1 -1 --top-k 1      # a check in a few minutes

Run it on a quiet machine: other work on the cores changes both wall times.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--n-train", type=int, default=10000)
    p.add_argument("--n-val", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--epochs-per-trial", type=int, default=3)
    p.add_argument("--coarse-lrs", type=float, nargs="+",
                   default=[0.009, 0.008, 0.007, 0.006, 0.005, 0.004, 0.003, 0.002, 0.001])
    p.add_argument("--digits", type=int, default=2)
    p.add_argument("--top-k", type=int, default=2)
    p.add_argument("--offsets", type=int, nargs=2, default=(2, -2), metavar=("FIRST", "LAST"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--directory", default=os.path.join("results", "explorer_workers"))
    p.add_argument("--timeout", type=float, default=3600, help="seconds, each run")
    p.add_argument("--out", default=None, help="append the table to this Markdown file")
    # Internal: one process of a run (the chief or a worker), started by the driver.
    p.add_argument("--process", metavar="DIRECTORY", default=None, help=argparse.SUPPRESS)
    return p


def one_process(args: argparse.Namespace) -> None:
    """The chief or a worker (KERASTUNER_TUNER_ID says which); the chief writes the result."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    sys.path.insert(0, BENCH)
    from explorer_early_stopping import fashion_mnist, vae_builder

    from tf_lropt.search import LRExplorer

    x_train, x_val = fashion_mnist(args.n_train, args.n_val, args.seed)
    first, last = args.offsets
    explorer = LRExplorer(
        vae_builder(args.seed), x_train, (x_val,), objective="val_loss", direction="min",
        coarse_lrs=args.coarse_lrs, epochs_per_trial=args.epochs_per_trial, top_k=args.top_k,
        digits=args.digits, refine_offsets=range(first, last - 1, -1), directory=args.process,
        seed=args.seed, batch_size=args.batch_size, verbose=1)
    found = explorer.search()
    tuner_id = os.environ["KERASTUNER_TUNER_ID"]
    if tuner_id == "chief":
        with open(os.path.join(args.process, "result.json"), "w") as f:
            json.dump({"found": found, "complete": explorer.complete,
                       "scores": {k: t["score"] for k, t in explorer.trials.items()}}, f)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args: argparse.Namespace, argv: list[str], workers: int) -> dict:
    """Chief + ``workers`` processes on a fresh directory; returns the wall time and result."""
    directory = os.path.join(args.directory, f"workers-{workers}")
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
           "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(_free_port()),
           "CUDA_VISIBLE_DEVICES": "", "TF_NUM_INTRAOP_THREADS": "1",
           "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, os.path.abspath(__file__), *argv, "--process", directory]
    start = time.time()
    processes = []
    for tuner_id in ["chief", *(f"tuner{i}" for i in range(workers))]:
        log = open(os.path.join(directory, f"{tuner_id}.log"), "w")
        processes.append(subprocess.Popen(command, env={**env, "KERASTUNER_TUNER_ID": tuner_id},
                                          stdout=log, stderr=subprocess.STDOUT))
    try:
        for process in processes:
            process.wait(timeout=max(args.timeout - (time.time() - start), 1))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    wall = time.time() - start
    failed = [p.args for p in processes if p.returncode != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} process(es) failed; see the logs in {directory}")
    with open(os.path.join(directory, "result.json")) as f:
        result = json.load(f)
    return {"workers": workers, "wall": wall, "trials": len(result["scores"]), **result}


def table(args: argparse.Namespace, rows: list[dict]) -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    lines = [
        "# Explorer workers (`bench/explorer_workers.py`)", "",
        f"_Run {stamp} on {platform.machine()} with {os.cpu_count()} logical cores, CPU only; "
        f"load average at the end {load[0]:.1f}. KerasTuner distributed mode on 127.0.0.1: a "
        f"chief (the Oracle) and N workers, one TensorFlow intra-op and one inter-op thread "
        f"each. Fashion-MNIST VAE (z_dim 10, Adam, batch {args.batch_size}), {args.n_train} "
        f"training and {args.n_val} validation images; coarse rates "
        f"{' '.join(f'{r:g}' for r in args.coarse_lrs)}, offsets {args.offsets[0]}..."
        f"{args.offsets[1]}, {args.digits} digits, top {args.top_k}, "
        f"{args.epochs_per_trial} epochs per trial, seed {args.seed}._", "",
        "| workers | trials | wall time (min) | speed-up | found rates |",
        "|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(f"| {row['workers']} | {row['trials']} | {row['wall'] / 60:.2f} | "
                     f"{rows[0]['wall'] / row['wall']:.2f} | "
                     f"{', '.join(f'{r:g}' for r in row['found'])} |")
    return "\n".join(lines) + "\n"


def same_result(a: dict, b: dict) -> bool:
    """The same found rates, trials and scores (to float32 noise)."""
    return (a["found"] == b["found"] and a["scores"].keys() == b["scores"].keys()
            and all(abs(a["scores"][k] - b["scores"][k]) <= 1e-4 * abs(a["scores"][k])
                    for k in a["scores"]))


def main(argv: list[str] | None = None) -> str | None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    if args.process:
        one_process(args)
        return None
    rows = []
    for workers in args.workers:
        rows.append(run(args, argv, workers))
        print(f"{workers} worker(s): {rows[-1]['wall']:.1f} s, found {rows[-1]['found']}",
              flush=True)
    text = table(args, rows)
    print(text)
    for row in rows[1:]:
        if not same_result(rows[0], row):
            print(f"WARNING: {row['workers']} workers found {row['found']} with other scores "
                  f"than {rows[0]['workers']}: {row['scores']} vs {rows[0]['scores']}")
    if args.out:
        with open(args.out, "a") as f:
            f.write("\n" + text)
    return text


if __name__ == "__main__":
    main()
