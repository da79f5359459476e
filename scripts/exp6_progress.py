"""Rewrite the in-progress section of experiment 6 at the paper's scale on docs/results_exp6.md.

The full search runs for days, resumed trial by trial. With ``--from`` this first copies what the
running script has finished into the committed records directory: the trial records, the
exploitation's progress (its history, read from the explorer's resumable ``exploit/state.npz``,
without the weights) and the finished budget runs (``runs/*.json`` and their per-epoch CSVs).
It then replaces the status paragraph and tables after the "## The paper's setting" heading's
protocol paragraph, up to the next heading, with what the records hold.

    python scripts/exp6_progress.py --from results/exp6_lr_explorer_vae \\
        docs/runs/exp6_full docs/results_exp6.md

With ``--table3 <results>/exp6_lr_explorer_vae`` it instead records the progress of the
exploitation by the document's table 3 (every found rate in turn up to 1,000 epochs): the
explorer's ``exploit/history.csv`` and a summary (epochs, best validation NLL and its epoch,
rate switches) go to ``<records>/table3_exploitation/``, and once it has finished its run record
(``run.json``: the test NLL with the best-validation weights) and the test NLL too; the page is
not touched.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import pathlib
import shutil

import numpy as np

HEADING = "## The paper's setting (issue 16)"
NEXT_HEADING = "## Our runs"
STATUS_START = "**Status:"
WORST_CASE_TRIALS = 69
PAPER_RATES = "0.00041 and 0.00038"
BUDGETS = (50, 100, 200, 400)
# The paper's table 6 at the end of each budget (validation NLL; cosine 200 lost in extraction).
PAPER_TABLE6 = {"cosine": {50: 233.74, 100: 233.30, 200: None, 400: 234.24},
                "fixed": {50: 235.11, 100: 234.16, 200: 233.66, 400: 233.53},
                "explorer": {50: 234.63, 100: 234.23, 200: 233.71, 400: 233.53}}
RESUME = ("Resume: copy `docs/runs/exp6_full/{explorer.json,trials}` into "
          "`<results>/exp6_lr_explorer_vae/explorer/` and run "
          "`python examples/exp6_lr_explorer_vae.py --keras-cache-dir ~/.keras/datasets "
          "--results-dir <results> --baseline-epochs 50 100 200 400` (finished budget runs are "
          "in `docs/runs/exp6_full/runs/`; copy them to `<results>/exp6_lr_explorer_vae/runs/` "
          "to skip them).")


def collect(live: pathlib.Path, records: pathlib.Path) -> None:
    """Copies the finished records of the running experiment ``live`` into ``records``."""
    explorer = live / "explorer"
    (records / "trials").mkdir(parents=True, exist_ok=True)
    for path in (explorer / "trials").glob("*.json"):
        shutil.copy(path, records / "trials")
    if (explorer / "explorer.json").exists():
        shutil.copy(explorer / "explorer.json", records)
    state = explorer / "exploit" / "state.npz"
    if state.exists():
        with np.load(state) as stored:
            run = json.loads(str(stored["run"]))
        (records / "exploitation.json").write_text(json.dumps(run, indent=1))
    (records / "runs").mkdir(exist_ok=True)
    for path in (live / "runs").glob("*.json"):
        if json.loads(path.read_text()).get("finished"):
            for finished in (path, path.with_suffix(".csv")):
                if finished.exists():
                    shutil.copy(finished, records / "runs")
    # A constant rate's run tests its best weights at each budget as it passes it.
    progress = records / "runs_in_progress"
    shutil.rmtree(progress, ignore_errors=True)
    for best in (live / "runs").glob("*.backup/best.npz"):
        with np.load(best) as stored:
            state = json.loads(str(stored["state"]))
        history = best.parent / "history.json"
        epochs = len(json.loads(history.read_text())) if history.exists() else None
        progress.mkdir(exist_ok=True)
        name = best.parent.name.removesuffix(".backup")
        # The harness's BestWeights names a test "test" and "best"; the records, as
        # exp6 writes them: "test_nll" and "best_val_nll".
        tested = {budget: {"test_nll": r["test"], "best_val_nll": r["best"],
                           "best_epoch": r["best_epoch"]}
                  for budget, r in state["tested"].items()}
        (progress / f"{name}.json").write_text(json.dumps(
            {"epochs_done": epochs, "tested_at": tested}, indent=1))


def load_trials(records: pathlib.Path) -> list[dict]:
    """Finished trials, by digit and then by falling rate (the order the search visits them)."""
    trials = [json.loads(p.read_text()) for p in (records / "trials").glob("*.json")]
    return sorted(trials, key=lambda t: (t["digit"], -t["rate"]))


def load_runs(records: pathlib.Path) -> dict[str, dict]:
    """Finished budget runs by run name ("cosine 400", "fixed 0.0003 400", ...)."""
    return {r["run"]: r for r in (json.loads(p.read_text())
                                  for p in (records / "runs").glob("*.json"))}


def tested_at(records: pathlib.Path, runs: dict[str, dict], prefix: str) -> tuple[str, dict]:
    """(rate, {budget: result}) of the constant-rate run whose name starts with ``prefix``:
    finished, else as far as it has got (the budgets it has passed)."""
    for name, run in runs.items():
        if name.startswith(prefix) and "tested_at" in run:
            return name.split(" ")[-2], {int(b): r for b, r in run["tested_at"].items()}
    for path in sorted((records / "runs_in_progress").glob(prefix.replace(" ", "_") + "*.json")):
        state = json.loads(path.read_text())
        return path.stem.split("_")[-2], {int(b): r for b, r in state["tested_at"].items()}
    return "", {}


def exploitation_text(records: pathlib.Path, runs: dict[str, dict]) -> list[str]:
    """A paragraph on the exploitation so far, or nothing before it starts."""
    path = records / "exploitation.json"
    if not path.exists():
        return []
    run = json.loads(path.read_text())
    history = run["history"]
    if not history:
        return []
    best = min(history, key=lambda h: h["val_loss"])
    switches = sum(1 for a, b in itertools.pairwise(history) if a["rate"] != b["rate"])
    rates = ", ".join(f"{r:g}" for r in run["rates"])
    finished = runs.get("explorer exploitation")
    if finished is None:
        end = (f"{run['epoch']} epochs so far, {run['failures']} epoch(s) without improvement "
               f"in a row (it stops after {len(run['rates'])})")
    else:
        end = (f"stopped by its rule after {run['epoch']} epochs (a pass over the found rates "
               f"without improvement); test NLL "
               f"**{finished['test_nll']:.2f}**")
    return ["", f"Exploitation with the found rates ({rates}): best validation NLL "
            f"{best['val_loss']:.2f} at epoch {best['epoch']}, {switches} rate switches; {end}."]


def budget_table(records: pathlib.Path, runs: dict[str, dict]) -> list[str]:
    """Ours (test NLL) next to the paper's table 6 (validation NLL), for the budgets passed."""
    _, fixed = tested_at(records, runs, "fixed 0.0003 ")
    rate, held = tested_at(records, runs, "explorer rate ")
    methods = [("cosine", "cosine annealing over the budget (peak 0.001)",
                lambda b: runs.get(f"cosine {b}")),
               ("fixed", "fixed 0.0003", fixed.get),
               ("explorer", f"explorer's best rate held constant (ours: {rate or 'not run yet'}; "
                "paper: 0.00041)", held.get)]
    if not any(find(b) for _, _, find in methods for b in BUDGETS):
        return []  # the cross-check waits for the first budget of the real table

    def cell(value) -> str:
        return "-" if value is None else f"{value:.2f}"

    header = " | ".join(f"ours {b} | paper {b}" for b in BUDGETS)
    lines = ["", "Budget runs (ours: test NLL with the best-validation weights up to the budget; "
             "a constant rate is one run over 400 epochs read at each budget; the paper's "
             "table 6: validation NLL; `-`: not reached yet or not in the paper):", "",
             f"| method | {header} |", "|---|" + "---|" * (2 * len(BUDGETS))]
    for key, label, find in methods:
        cells = " | ".join(f"{cell((find(b) or {}).get('test_nll'))} | "
                           f"{cell(PAPER_TABLE6[key][b])}" for b in BUDGETS)
        lines.append(f"| {label} | {cells} |")
    separate = [f"{name} epochs {r['test_nll']:.2f}" for name, r in sorted(
        runs.items(), key=lambda item: item[1].get("config", {}).get("epochs", 0))
        if name.startswith(("explorer rate ", "fixed 0.0003 ")) and "tested_at" not in r]
    if separate:
        lines += ["", "Cross-check, separate runs trained before the constant rates became one "
                  "run each (test NLL): " + "; ".join(separate) + "."]
    minutes = sum(r.get("seconds", 0) for r in runs.values()) / 60
    lines += ["", f"Finished training runs: {len(runs)}, {minutes:.0f} minutes of training."]
    return lines


def section_body(records: pathlib.Path) -> str:
    """The status paragraph, the exploitation and budget results, and the trial table."""
    trials = load_trials(records)
    if not trials:
        return f"{STATUS_START} no trial has finished yet.**\n"
    epochs = sum(t["epochs"] for t in trials)
    hours = sum(t["seconds"] for t in trials) / 3600
    best = sorted(trials, key=lambda t: t["score"])[:2]
    best_text = " and ".join(f"{t['key']} ({t['score']:.2f})" for t in best)
    runs = load_runs(records)
    exploitation = exploitation_text(records, runs)
    if not exploitation:
        stage = ("exploitation, the budget table and the verdict on \"the explorer reaches "
                 "NLL <= 235\" are not run yet")
    elif all(f"cosine {b}" in runs for b in BUDGETS) and all(
            tested_at(records, runs, prefix)[1].keys() >= set(BUDGETS)
            for prefix in ("fixed 0.0003 ", "explorer rate ")):
        stage = "the search, the exploitation and the budget runs have finished (verdict below)"
    else:
        done = ("exploitation has too" if "explorer exploitation" in runs
                else "exploitation is under way")
        stage = (f"the search has finished and {done}; the budget runs are under way; the "
                 "verdict on \"the explorer reaches NLL <= 235\" is not given yet")
    lines = [
        f"{STATUS_START} {len(trials)} of at most {WORST_CASE_TRIALS} trials finished "
        f"({epochs:,} epochs, {hours:.1f} h of trial wall time); {stage}.** Best trials: "
        f"{best_text} validation NLL after 50 epochs; the paper's explorer found {PAPER_RATES}.",
        *exploitation,
        *budget_table(records, runs),
        "",
        "| digit | rate | best val NLL | best epoch | epochs | wall (s) |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {t['digit']} | {t['key']} | {t['score']:.2f} | {t['best_epoch']} | "
              f"{t['epochs']} | {t['seconds']:.0f} |" for t in trials]
    lines += ["", RESUME]
    return "\n".join(lines) + "\n"


def rewrite(page: str, body: str) -> str:
    """``page`` with the old status paragraph and tables replaced by ``body``."""
    start = page.index(HEADING)
    status = page.index(STATUS_START, start, page.index(NEXT_HEADING, start))
    end = page.index("\n#", status) + 1  # up to the next heading (a verdict's survives)
    return page[:status] + body + "\n" + page[end:]


def record_table3(live: pathlib.Path, records: pathlib.Path, budget: int = 1000) -> dict:
    """Copies the table-3 exploitation's history from ``live`` and writes its summary."""
    history = live / "explorer" / "exploit" / "history.csv"
    with history.open(newline="") as f:
        rows = list(csv.DictReader(f))
    out = records / "table3_exploitation"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(history, out / "history.csv")
    losses = [float(r["val_loss"]) for r in rows]
    best = min(range(len(losses)), key=losses.__getitem__) if losses else None
    summary = {
        "epochs": len(rows), "budget": budget, "finished": len(rows) >= budget,
        "rates": sorted({float(r["rate"]) for r in rows}, reverse=True),
        "best_val_nll": None if best is None else losses[best],
        "best_epoch": None if best is None else best + 1,
        "switches": sum(a["rate"] != b["rate"] for a, b in itertools.pairwise(rows)),
        "improvements": sum(r["improved"] == "True" for r in rows),
    }
    # At the end the script saves the run (its test NLL with the best-validation weights).
    run = live / "runs" / "explorer_exploitation.json"
    if summary["finished"] and run.exists():
        record = json.loads(run.read_text())
        # The 0.x rule's record (no "exploit_patience" key) may sit under the same name.
        if record.get("finished") and "exploit_patience" in record.get("config", {}):
            shutil.copy(run, out / "run.json")
            summary["test_nll"] = record["test_nll"]
    (out / "progress.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="live", type=pathlib.Path, default=None,
                        help="the running experiment's directory (<results>/exp6_lr_explorer_vae)")
    parser.add_argument("--table3", type=pathlib.Path, default=None,
                        help="record the table-3 exploitation of this experiment directory")
    parser.add_argument("records", type=pathlib.Path, help="the committed records directory")
    parser.add_argument("page", type=pathlib.Path, nargs="?")
    args = parser.parse_args(argv)
    if args.table3 is not None:
        print(record_table3(args.table3, args.records))
        return
    if args.page is None:
        parser.error("the page to rewrite is required (only --table3 writes no page)")
    if args.live is not None:
        collect(args.live, args.records)
    args.page.write_text(rewrite(args.page.read_text(), section_body(args.records)))


if __name__ == "__main__":
    main()
