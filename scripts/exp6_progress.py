"""Rewrite the in-progress section of experiment 6 at the paper's scale on docs/results_exp6.md.

The full search (issue 16) runs over many sittings. With ``--from`` this first copies what the
running script has finished into the committed records directory: the trial records, the
exploitation's progress (its history, read from the explorer's resumable ``exploit/state.npz``,
without the weights) and the finished budget runs (``runs/*.json`` and their per-epoch CSVs).
It then replaces the status paragraph and tables between the "## The paper's setting" heading's
protocol paragraph and "## Our runs" with what the records hold.

    python scripts/exp6_progress.py --from /work/runs/exp6/exp6_lr_explorer_vae \\
        docs/runs/exp6_full docs/results_exp6.md
"""

from __future__ import annotations

import argparse
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


def load_trials(records: pathlib.Path) -> list[dict]:
    """Finished trials, by digit and then by falling rate (the order the search visits them)."""
    trials = [json.loads(p.read_text()) for p in (records / "trials").glob("*.json")]
    return sorted(trials, key=lambda t: (t["digit"], -t["rate"]))


def load_runs(records: pathlib.Path) -> dict[str, dict]:
    """Finished budget runs by run name ("cosine 400", "fixed 0.0003 400", ...)."""
    return {r["run"]: r for r in (json.loads(p.read_text())
                                  for p in (records / "runs").glob("*.json"))}


def exploitation_text(records: pathlib.Path) -> list[str]:
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
    return ["", f"Exploitation with the found rates ({rates}): {run['epoch']} epochs so far, "
            f"best validation NLL {best['val_loss']:.2f} at epoch {best['epoch']}, "
            f"{switches} rate switches, {run['failures']} epoch(s) without improvement in a row "
            f"(it stops after {len(run['rates'])})."]


def budget_table(runs: dict[str, dict]) -> list[str]:
    """Ours (test NLL) next to the paper's table 6 (validation NLL), for the finished runs."""
    held = {int(name.rsplit(" ", 1)[1]): (name.split(" ")[2], r) for name, r in runs.items()
            if name.startswith("explorer rate ")}
    methods = [("cosine", "cosine annealing over the budget (peak 0.001)",
                lambda b: runs.get(f"cosine {b}")),
               ("fixed", "fixed 0.0003", lambda b: runs.get(f"fixed 0.0003 {b}")),
               ("explorer", "explorer's best rate held constant (ours: "
                + (", ".join(sorted({rate for rate, _ in held.values()})) or "not run yet")
                + "; paper: 0.00041)", lambda b: held.get(b, (None, None))[1])]
    if not any(find(b) for _, _, find in methods for b in BUDGETS):
        return []

    def cell(value) -> str:
        return "-" if value is None else f"{value:.2f}"

    header = " | ".join(f"ours {b} | paper {b}" for b in BUDGETS)
    lines = ["", "Budget runs (ours: test NLL with the best-validation weights; the paper's "
             "table 6: validation NLL; `-`: not run yet or not in the paper):", "",
             f"| method | {header} |", "|---|" + "---|" * (2 * len(BUDGETS))]
    for key, label, find in methods:
        cells = " | ".join(f"{cell((find(b) or {}).get('test_nll'))} | "
                           f"{cell(PAPER_TABLE6[key][b])}" for b in BUDGETS)
        lines.append(f"| {label} | {cells} |")
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
    exploitation = exploitation_text(records)
    stage = ("the search has finished; exploitation and the budget runs are under way; the "
             "verdict on \"the explorer reaches NLL <= 235\" is not given yet" if exploitation
             else "exploitation, the budget table and the verdict on \"the explorer reaches "
             "NLL <= 235\" are not run yet")
    lines = [
        f"{STATUS_START} {len(trials)} of at most {WORST_CASE_TRIALS} trials finished "
        f"({epochs:,} epochs, {hours:.1f} h of trial wall time); {stage}.** Best trials: "
        f"{best_text} validation NLL after 50 epochs; the paper's explorer found {PAPER_RATES}.",
        *exploitation,
        *budget_table(load_runs(records)),
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
    end = page.index(NEXT_HEADING, start)
    status = page.index(STATUS_START, start, end)
    return page[:status] + body + "\n" + page[end:]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="live", type=pathlib.Path, default=None,
                        help="the running experiment's directory (<results>/exp6_lr_explorer_vae)")
    parser.add_argument("records", type=pathlib.Path, help="the committed records directory")
    parser.add_argument("page", type=pathlib.Path)
    args = parser.parse_args(argv)
    if args.live is not None:
        collect(args.live, args.records)
    args.page.write_text(rewrite(args.page.read_text(), section_body(args.records)))


if __name__ == "__main__":
    main()
